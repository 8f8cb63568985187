"""Ray Tune 0.8-1.x's ``ray.tune.session`` names in ``tunelab.session``: the process-wide
session of ``init``/``shutdown``/``get_session``, ``checkpoint_dir``, and 0.8.6's
``make_checkpoint_dir``/``save_checkpoint``."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tunelab
from tunelab import session
from tunelab._session_legacy import SAVED_PATH_FILE, saved_checkpoint_path


class RecordingReporter:
    """A reporter as Ray 1.x's ``session.init`` took: callable, with trial facts."""

    def __init__(self, logdir: str) -> None:
        self.logdir = logdir
        self.trial_name = "my_trial"
        self.trial_id = "abc_00001"
        self.trial_resources = tunelab.PlacementGroupFactory([{"CPU": 2}])
        self.reports: list[dict[str, Any]] = []
        self.checkpoints: list[str] = []

    def __call__(self, _metric: Any = None, **kwargs: Any) -> None:
        self.reports.append(dict(kwargs, **({"_metric": _metric} if _metric is not None else {})))

    def set_checkpoint(self, checkpoint: str) -> None:
        self.checkpoints.append(checkpoint)


@pytest.fixture
def reporter(tmp_path: Path) -> Iterator[RecordingReporter]:
    recording = RecordingReporter(str(tmp_path))
    session.init(recording)
    try:
        yield recording
    finally:
        session.shutdown()


def test_the_1x_names_are_in_tunelab_session() -> None:
    for name in (
        "report",
        "checkpoint_dir",
        "get_trial_dir",
        "get_trial_name",
        "get_trial_id",
        "get_trial_resources",
        "is_session_enabled",
        "init",
        "shutdown",
        "get_session",
        "make_checkpoint_dir",
        "save_checkpoint",
    ):
        assert name in session.__all__ and callable(getattr(session, name)), name
    assert session.checkpoint_dir is tunelab.checkpoint_dir
    assert session.report is tunelab.report
    assert tunelab.make_checkpoint_dir is session.make_checkpoint_dir
    assert tunelab.save_checkpoint is session.save_checkpoint
    assert tunelab.EarlyStopping is tunelab.stopper.EarlyStopping
    # session.init is the trial session's, not ray.init's counterpart
    assert session.init is not tunelab.init and session.shutdown is not tunelab.shutdown
    # legacy names are reachable, not advertised
    assert not {"EarlyStopping", "make_checkpoint_dir", "save_checkpoint"} & set(tunelab.__all__)


def test_init_routes_reports_and_trial_facts_to_the_reporter(
    reporter: RecordingReporter, tmp_path: Path
) -> None:
    assert session.is_session_enabled()
    tunelab.report(mean_loss=0.5, acc=1)
    session.report(0.25)
    assert reporter.reports == [{"mean_loss": 0.5, "acc": 1}, {"_metric": 0.25}]
    assert session.get_trial_dir() == str(tmp_path)
    assert (session.get_trial_name(), session.get_trial_id()) == ("my_trial", "abc_00001")
    assert session.get_trial_resources() == tunelab.PlacementGroupFactory([{"CPU": 2}])
    current = session.get_session()
    assert current is not None
    assert (current.logdir, current.trial_name, current.trial_id) == (
        str(tmp_path),
        "my_trial",
        "abc_00001",
    )
    current(via_session=True)
    assert reporter.reports[-1] == {"via_session": True}


def test_a_second_init_warns_or_raises(
    reporter: RecordingReporter, caplog: pytest.LogCaptureFixture
) -> None:
    other = RecordingReporter("/elsewhere")
    with caplog.at_level(logging.WARNING, logger="tunelab"):
        session.init(other)
    assert "session already exists" in caplog.text
    with pytest.raises(ValueError, match="session already exists"):
        session.init(other, ignore_reinit_error=False)
    tunelab.report(x=1)
    assert reporter.reports == [{"x": 1}] and other.reports == []


def test_shutdown_removes_the_session(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    recording = RecordingReporter(str(tmp_path))
    session.init(recording)
    session.shutdown()
    assert not session.is_session_enabled()
    with caplog.at_level(logging.WARNING, logger="tunelab"):
        assert session.get_session() is None
    assert "outside a trial" in caplog.text
    session.shutdown()  # twice is fine


def test_init_none_installs_nothing_and_a_non_callable_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="tunelab"):
        session.init(None)
    assert "no session is installed" in caplog.text and not session.is_session_enabled()
    with pytest.raises(TypeError, match=r"`reporter` must be callable .* got 3"):
        session.init(3)
    assert not session.is_session_enabled()


def test_checkpoint_dir_is_handed_to_the_reporter_with_the_next_report(
    reporter: RecordingReporter, tmp_path: Path
) -> None:
    with session.checkpoint_dir(step=2) as directory:
        Path(directory, "weights").write_text("w")
    assert reporter.checkpoints == []
    tunelab.report(loss=1.0)
    assert reporter.checkpoints == [directory]
    assert os.path.dirname(directory) == str(tmp_path)


def test_make_checkpoint_dir_and_save_checkpoint(reporter: RecordingReporter) -> None:
    tunelab.report(step=0)
    directory = tunelab.make_checkpoint_dir(step=7)
    assert os.path.isdir(directory) and os.path.dirname(directory) == reporter.logdir
    assert tunelab.make_checkpoint_dir() != directory  # default: the last iteration, 1
    nested = Path(directory, "sub")
    nested.mkdir()
    path = nested / "model.pt"
    path.write_text("weights")
    tunelab.save_checkpoint(str(path))
    assert Path(directory, SAVED_PATH_FILE).is_file()
    assert saved_checkpoint_path(directory) == str(path)
    tunelab.report(step=1)
    assert reporter.checkpoints == [directory]
    # the directory itself may be saved too (then the restore hands over the directory)
    tunelab.save_checkpoint(directory)
    assert saved_checkpoint_path(directory) == directory


def test_save_checkpoint_refuses_paths_it_cannot_restore(
    reporter: RecordingReporter, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tunelab.save_checkpoint(str(tmp_path / "missing.pt"))
    stray = tmp_path / "stray.pt"
    stray.write_text("x")
    with pytest.raises(ValueError, match="not inside a directory made by make_checkpoint_dir"):
        tunelab.save_checkpoint(str(stray))
    outside = Path(os.path.dirname(tmp_path)) / f"{tmp_path.name}-other.pt"
    outside.write_text("x")
    try:
        with pytest.raises(ValueError, match="not inside a directory made by"):
            tunelab.save_checkpoint(str(outside))
    finally:
        outside.unlink()
    with pytest.raises(TypeError, match=r"`step` must be an int or None, got 'last'"):
        tunelab.make_checkpoint_dir("last")  # type: ignore[arg-type]


def test_a_marker_pointing_outside_its_checkpoint_is_ignored(tmp_path: Path) -> None:
    Path(tmp_path, SAVED_PATH_FILE).write_text('{"path": "../../etc/passwd"}')
    assert saved_checkpoint_path(str(tmp_path)) is None
    Path(tmp_path, SAVED_PATH_FILE).write_text("not json")
    assert saved_checkpoint_path(str(tmp_path)) is None
    assert saved_checkpoint_path(str(tmp_path / "nowhere")) is None


def test_outside_a_trial_make_checkpoint_dir_is_the_current_directory() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the one-time "outside a trial" warning
        assert tunelab.make_checkpoint_dir(3) == os.path.abspath("./")
        tunelab.save_checkpoint("anything")  # does nothing
