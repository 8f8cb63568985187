"""I/O failures are explained (issue 10, point 9).

* A full disk or an I/O error while tunelab writes anything (result.json, progress.csv,
  TensorBoard events, params.json/pkl, experiment_state.json and its journal, error.txt,
  checkpoints) stops the experiment with one line naming the file and what was being
  written (:class:`StorageError`, no chained tracebacks), leaves no temp files, and a
  resume once space is free continues from the trials' checkpoints with every iteration
  logged exactly once.
* Damaged inputs (bytes that are not UTF-8 in result.json, a corrupt experiment state, a
  damaged journal line in the middle) are explained with the file and the line.

The end-to-end tests mount a small tmpfs as the storage path (they skip, saying why, where
mounting is not permitted); the unit tests inject OSError(ENOSPC/EIO) into each writer.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tunelab._checkpoint import Checkpoint, make_temp_checkpoint_dir, persist_checkpoint
from tunelab._errors import (
    CorruptFileError,
    StorageError,
    TuneError,
    storage_error_in_report,
    writing,
)
from tunelab._persistence import experiment_state as state_mod
from tunelab._persistence.experiment_state import (
    ExperimentStateWriter,
    load_state,
    write_json_atomic,
)
from tunelab._persistence.rollback import rollback_trial_logs
from tunelab._trial import Trial
from tunelab.analysis import ExperimentAnalysis
from tunelab.analysis import _io as analysis_io
from tunelab.logger import CSVLoggerCallback, JsonLoggerCallback
from tunelab.logger import _logger_callback as logger_mod
from tunelab.logger._json import write_params

ROOT = Path(__file__).resolve().parents[2]
ERRNOS = [errno.ENOSPC, errno.EIO]


# -- helpers ---------------------------------------------------------------------------------
def leftovers(root: Path) -> list[str]:
    """Temp files and half-written checkpoint directories below ``root``."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if ".tmp" in name or ".partial-" in name or name.startswith("tunelab_checkpoint_"):
                found.append(os.path.join(dirpath, name))
    return found


def assert_one_line(error: BaseException, *parts: str) -> None:
    """``error`` is a StorageError whose message is one line holding ``parts``, and whose
    traceback shows no chain."""
    assert isinstance(error, StorageError), repr(error)
    assert isinstance(error, OSError) and isinstance(error, TuneError)
    message = str(error)
    assert "\n" not in message
    assert message.startswith("tunelab: could not write") or " could not write" in message
    for part in parts:
        assert part in message, (part, message)
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    assert "During handling of the above exception" not in text
    assert "The above exception was the direct cause" not in text


def make_trial(tmp_path: Path, name: str = "t") -> Trial:
    trial = Trial("train", trial_id=name, config={"lr": 0.1}, experiment_path=str(tmp_path))
    trial.dirname = name
    return trial


def failing_write(code: int, after: int = 0) -> Any:
    """A stand-in for ``write_fully`` that writes ``after`` bytes, then fails with ``code``."""

    def write_fully(handle: Any, data: bytes) -> None:
        if after:
            handle.write(data[:after])
        raise OSError(code, os.strerror(code))

    return write_fully


def failing_fd_write(code: int, after: int = 0) -> Any:
    """:func:`failing_write` for ``write_fd_fully`` (a file descriptor)."""

    def write_fd_fully(fd: int, data: bytes) -> None:
        if after:
            os.write(fd, data[:after])
        raise OSError(code, os.strerror(code))

    return write_fd_fully


# -- the one-line error ----------------------------------------------------------------------
@pytest.mark.parametrize("code", ERRNOS)
def test_writing_turns_a_storage_failure_into_one_line(code: int) -> None:
    with pytest.raises(StorageError) as info, writing("the results of trial t", "/e/result.json"):
        raise OSError(code, os.strerror(code))
    assert_one_line(info.value, "the results of trial t", "/e/result.json", f"[Errno {code}]")
    assert info.value.errno == code and info.value.path == "/e/result.json"
    assert info.value.__suppress_context__


def test_other_os_errors_pass_through_unchanged() -> None:
    with pytest.raises(PermissionError), writing("x", "/p"):
        raise PermissionError(errno.EACCES, "Permission denied")


def test_storage_error_pickles() -> None:
    import pickle

    error = StorageError.from_os_error(OSError(errno.ENOSPC, "full"), "a checkpoint", "/c")
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) and copy.errno == errno.ENOSPC and copy.path == "/c"


def test_worker_reports_are_recognised() -> None:
    error = StorageError.from_os_error(
        OSError(errno.EIO, "Input/output error"), "a checkpoint", "/e/c"
    )
    try:
        raise error
    except StorageError:
        text = traceback.format_exc()
    rebuilt = storage_error_in_report(text, "trial t")
    assert rebuilt is not None and str(rebuilt) == str(error)
    assert rebuilt.errno == errno.EIO and rebuilt.path == "/e/c"
    # the trial's own code meeting a full disk stops the experiment too
    full = storage_error_in_report(
        "Traceback ...\nOSError: [Errno 28] No space left on device: '/data/x'", "trial t"
    )
    assert full is not None and "trial t could not write to /data/x" in str(full)
    bare = storage_error_in_report("OSError: [Errno 28] No space left on device", "trial t", "/e/t")
    assert bare is not None and "/e/t" in str(bare)
    # ... but an I/O error of its own (reading a dataset) or a bug stays a trial failure
    assert storage_error_in_report("OSError: [Errno 5] Input/output error: '/d'", "t") is None
    assert storage_error_in_report("ValueError: boom", "t") is None
    assert storage_error_in_report("", "t") is None


# -- each writer, with ENOSPC / EIO injected -------------------------------------------------
@pytest.mark.parametrize("code", ERRNOS)
@pytest.mark.parametrize("logger_cls", [JsonLoggerCallback, CSVLoggerCallback])
def test_result_loggers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, logger_cls: Any
) -> None:
    trial = make_trial(tmp_path)
    callback = logger_cls()
    trials = [trial]
    callback.on_trial_start(iteration=0, trials=trials, trial=trial)
    for i in (1, 2):
        callback.on_trial_result(
            iteration=i,
            trials=trials,
            trial=trial,
            result={"training_iteration": i, "loss": 1.0 / i},
        )
    callback.on_step_end(iteration=2, trials=trials)
    name = "result.json" if logger_cls is JsonLoggerCallback else "progress.csv"
    path = Path(trial.local_path) / name
    before = path.read_bytes()
    callback.on_trial_result(
        iteration=3, trials=trials, trial=trial, result={"training_iteration": 3, "loss": 0.3}
    )
    monkeypatch.setattr(logger_mod, "write_fully", failing_write(code, after=5))
    with pytest.raises(StorageError) as info:
        callback.on_step_end(iteration=3, trials=trials)
    what = "the results of trial t" if name == "result.json" else "the progress table of trial t"
    assert_one_line(info.value, what, str(path), f"[Errno {code}]")
    # the file is broken now: nothing more is appended after its torn part, nothing raises
    callback.on_trial_result(
        iteration=4, trials=trials, trial=trial, result={"training_iteration": 4, "loss": 0.2}
    )
    callback.on_step_end(iteration=4, trials=trials)
    callback.on_experiment_end(trials=trials)
    torn = path.read_bytes()
    assert torn.startswith(before) and len(torn) == len(before) + 5  # 5 bytes made it
    monkeypatch.undo()
    # the next run (resume) drops the torn part and appends whole lines
    rollback_trial_logs(trial.local_path, 2)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("code", ERRNOS)
def test_tensorboard_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    pytest.importorskip("tensorboardX")
    from tunelab.logger import TBXLoggerCallback, _logger_callback

    trial = make_trial(tmp_path)
    callback = TBXLoggerCallback()
    trials = [trial]
    callback.on_trial_start(iteration=0, trials=trials, trial=trial)
    callback.on_trial_result(
        iteration=1, trials=trials, trial=trial, result={"training_iteration": 1, "loss": 1.0}
    )
    monkeypatch.setattr(_logger_callback, "write_fully", failing_write(code))
    with pytest.raises(StorageError) as info:
        callback.on_step_end(iteration=1, trials=trials)
    assert_one_line(
        info.value, "the TensorBoard events of trial t", "events.out.tfevents", f"[Errno {code}]"
    )
    callback.on_trial_complete(iteration=2, trials=trials, trial=trial)  # no second error
    callback.on_experiment_end(trials=trials)


@pytest.mark.parametrize("code", ERRNOS)
def test_params_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    write_params(str(tmp_path), {"lr": 1}, "trial t")
    before = (tmp_path / "params.json").read_bytes(), (tmp_path / "params.pkl").read_bytes()
    monkeypatch.setattr(state_mod, "write_fully", failing_write(code, after=3))
    with pytest.raises(StorageError) as info:
        write_params(str(tmp_path), {"lr": 2}, "trial t")
    assert_one_line(info.value, "the config of trial t", str(tmp_path / "params.json"))
    assert (
        (tmp_path / "params.json").read_bytes(),
        (tmp_path / "params.pkl").read_bytes(),
    ) == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("code", ERRNOS)
def test_new_params_files_are_written_in_place_and_removed_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    monkeypatch.setattr(state_mod, "write_fd_fully", failing_fd_write(code, after=3))
    with pytest.raises(StorageError) as info:
        write_params(str(tmp_path), {"lr": 1}, "trial t")
    assert_one_line(info.value, "the config of trial t", str(tmp_path / "params.json"))
    assert sorted(os.listdir(tmp_path)) == []  # no torn params.json, no temp file
    monkeypatch.undo()
    # a symlink planted where a new file goes is never followed
    (tmp_path / "elsewhere").write_text("keep")
    os.symlink(tmp_path / "elsewhere", tmp_path / "params.json")
    write_params(str(tmp_path), {"lr": 1}, "trial t")
    assert (tmp_path / "elsewhere").read_text() == "keep"
    assert json.loads((tmp_path / "params.json").read_text()) == {"lr": 1}
    assert not (tmp_path / "params.json").is_symlink()


@pytest.mark.parametrize("code", ERRNOS)
def test_experiment_state_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    documents = [{"trials": [{"trial_id": "a", "status": "RUNNING"}]}]
    writer = ExperimentStateWriter(
        str(tmp_path), lambda safe=True: json.loads(json.dumps(documents[-1]))
    )
    writer.start()
    before = (tmp_path / "experiment_state.json").read_bytes()
    documents.append({"trials": [{"trial_id": "a", "status": "TERMINATED"}]})
    monkeypatch.setattr(state_mod, "write_fully", failing_write(code, after=10))
    with pytest.raises(StorageError) as info:
        writer.write()
    assert_one_line(info.value, "the experiment state", str(tmp_path / "experiment_state.json"))
    assert (tmp_path / "experiment_state.json").read_bytes() == before
    assert leftovers(tmp_path) == []
    writer.stop(write=True)  # never raises
    monkeypatch.undo()
    assert load_state(str(tmp_path))["trials"][0]["status"] == "RUNNING"


@pytest.mark.parametrize("code", ERRNOS)
def test_experiment_state_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    writer = ExperimentStateWriter(str(tmp_path), lambda safe=True: {"trials": []})
    writer.start()
    writer.record({"trial_id": "a", "status": "PENDING"})
    writer.flush()
    writer.record({"trial_id": "a", "status": "TERMINATED"})
    monkeypatch.setattr(state_mod, "write_fully", failing_write(code, after=7))
    with pytest.raises(StorageError) as info:
        writer.flush()
    assert_one_line(
        info.value, "the experiment state journal", str(tmp_path / "experiment_state.journal")
    )
    monkeypatch.undo()
    # nothing is appended after the torn part; the state on disk loads (the torn line ignored)
    writer.record({"trial_id": "b", "status": "PENDING"})
    writer.flush()
    writer.stop(write=False)
    state = load_state(str(tmp_path))
    assert [(t["trial_id"], t["status"]) for t in state["trials"]] == [("a", "PENDING")]


@pytest.mark.parametrize("code", ERRNOS)
def test_write_json_atomic_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    def fsync(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(StorageError, match="the tuner file"):
        write_json_atomic(str(tmp_path / "x.json"), {"a": 1}, what="the tuner file")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("code", ERRNOS)
def test_error_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    from tunelab._core import error_report as _error_report

    trial = make_trial(tmp_path)

    def fail_open(*args: Any, **kwargs: Any) -> Any:
        raise OSError(code, os.strerror(code))

    reports = _error_report.ErrorReports(print_errors=False, verbose=0)
    monkeypatch.setattr(_error_report, "open", fail_open, raising=False)
    with pytest.raises(StorageError) as info:
        reports.write(trial, "Traceback ...\nValueError: boom\n")
    assert_one_line(info.value, "the error report of trial t", "error.txt")


@pytest.mark.parametrize("code", ERRNOS)
def test_dict_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    import cloudpickle

    def dump(obj: Any, handle: Any, protocol: int | None = None) -> None:
        handle.write(b"partial")
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(cloudpickle, "dump", dump)
    dest = tmp_path / "trial" / "checkpoint_000001"
    with pytest.raises(StorageError) as info:
        persist_checkpoint(Checkpoint.from_dict({"step": 1}), dest)
    assert_one_line(info.value, "a checkpoint", str(dest), f"[Errno {code}]")
    assert not dest.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("code", ERRNOS)
@pytest.mark.parametrize("owned", [False, True])
def test_directory_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, owned: bool
) -> None:
    source = Path(make_temp_checkpoint_dir()) if owned else tmp_path / "mine"
    source.mkdir(exist_ok=True)
    for name in "abc":
        (source / name).write_bytes(b"x" * 1000)
    real_copy = shutil.copyfile
    copied = []

    def copyfile(src: str, dst: str, **kwargs: Any) -> Any:
        if copied:
            raise OSError(code, os.strerror(code))
        copied.append(src)
        return real_copy(src, dst, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", copyfile)
    real_rename = os.rename

    def rename(src: Any, dst: Any) -> None:  # the temp dir is on another file system
        if os.path.realpath(src) == os.path.realpath(source):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    dest = tmp_path / "trial" / "checkpoint_000002"
    try:
        with pytest.raises(StorageError) as info:
            persist_checkpoint(Checkpoint(str(source)), dest)
        assert_one_line(info.value, "a checkpoint", str(dest), f"[Errno {code}]")
        assert not dest.exists() and leftovers(tmp_path / "trial") == []
        assert sorted(os.listdir(source)) == ["a", "b", "c"]  # the source is whole
    finally:
        shutil.rmtree(source, ignore_errors=True)


# -- corrupt inputs --------------------------------------------------------------------------
def _result_lines(n: int) -> list[bytes]:
    return [
        json.dumps({"training_iteration": i, "note": "ok"}).encode() + b"\n"
        for i in range(1, n + 1)
    ]


def test_non_utf8_result_json_is_read_by_the_analysis(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    trial_dir = tmp_path / "exp" / "t"
    trial_dir.mkdir(parents=True)
    lines = _result_lines(4)
    lines[1] = b'{"training_iteration": 2, "note": "caf\xe9"}\n'  # Latin-1, not UTF-8
    lines[2] = b"\x00\xff garbage\n"
    (trial_dir / "result.json").write_bytes(b"".join(lines))
    with caplog.at_level(logging.WARNING):
        rows = analysis_io.read_json_lines(str(trial_dir / "result.json"))
    assert [r["training_iteration"] for r in rows] == [1, 2, 4]
    assert rows[1]["note"] == "caf\ufffd"
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "Line 2 of" in messages and "Skipping line 3 of" in messages
    assert str(trial_dir / "result.json") in messages
    frame = ExperimentAnalysis(str(tmp_path / "exp")).trial_dataframes
    assert list(next(iter(frame.values()))["training_iteration"]) == [1, 2, 4]


def test_non_utf8_progress_csv_is_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "progress.csv"
    path.write_bytes(b"training_iteration,note\n1,a\n2,caf\xe9\n3,c\n")
    with caplog.at_level(logging.WARNING):
        rows = analysis_io.read_csv_rows(str(path))
    assert [r["training_iteration"] for r in rows] == [1, 2, 3]
    assert any("Line 3 of" in r.getMessage() for r in caplog.records)


def test_rollback_keeps_everything_around_a_damaged_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = _result_lines(6)
    lines[1] = b'{"training_iteration": 2, "note": "caf\xe9"}\n'
    lines[2] = b'{"training_iteration": 3, "no\xff\x00te": ]\n'  # not JSON, iteration readable
    (tmp_path / "result.json").write_bytes(b"".join(lines))
    rows = b"training_iteration,note\n" + b"".join(f"{i},x\n".encode() for i in range(1, 7))
    (tmp_path / "progress.csv").write_bytes(
        rows.replace(b"2,x", b"2,caf\xe9").replace(b"4,x", b"four,x")
    )
    with caplog.at_level(logging.WARNING):
        last = rollback_trial_logs(str(tmp_path), 5)
    assert last is not None and last["training_iteration"] == 5
    kept = (tmp_path / "result.json").read_bytes()
    assert kept == b"".join(lines[:5])  # only iteration 6 is cut, the damaged lines stay
    csv_lines = (tmp_path / "progress.csv").read_bytes().splitlines()
    assert [line.split(b",")[0] for line in csv_lines[1:]] == [b"1", b"2", b"3", b"four", b"5"]
    messages = [r.getMessage() for r in caplog.records]
    assert any("result.json, line 2" in m and "not UTF-8" in m for m in messages)
    assert any("result.json, line 3" in m and "training_iteration 3" in m for m in messages)
    assert any("progress.csv, line 5" in m for m in messages)


def test_a_quoted_newline_in_progress_csv_is_not_a_torn_row(tmp_path: Path) -> None:
    (tmp_path / "progress.csv").write_text(
        'training_iteration,note\n1,"a\nb"\n2,c\n3,d\n', encoding="utf-8"
    )
    rollback_trial_logs(str(tmp_path), 2)
    assert (tmp_path / "progress.csv").read_text() == 'training_iteration,note\n1,"a\nb"\n2,c\n'


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"trials": [\n  {"trial_id": "a"},\n  oops\n]}', "line 3: not valid JSON"),
        (b'{"name": "caf\xe9", "trials": []}', "line 1: byte 0xe9 is not UTF-8"),
        (b"[1, 2]", "not a tunelab experiment state file (a JSON array"),
        (b'{"trials": "many"}', '"trials" is a string'),
        (b'{"trials": [{"status": "RUNNING"}]}', "entry 0 of"),
    ],
)
def test_corrupt_experiment_state_is_an_error_naming_file_and_line(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "experiment_state.json"
    path.write_bytes(content)
    with pytest.raises(CorruptFileError) as info:
        load_state(str(tmp_path))
    assert str(path) in str(info.value) and problem in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ValueError, match=r"experiment_state\.json"):
        ExperimentAnalysis(str(tmp_path))


def test_corrupt_experiment_state_stops_a_resume_with_the_file_named(tmp_path: Path) -> None:
    import tunelab as tune

    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "experiment_state.json").write_text('{"trials": [}')
    with pytest.raises(CorruptFileError, match=r"experiment_state.json, line 1"):
        tune.run(
            lambda config: None, name="exp", storage_path=str(tmp_path), resume=True, verbose=0
        )


def test_damaged_journal_lines_in_the_middle_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "experiment_state.json").write_text(json.dumps({"trials": [], "journal_seq": 0}))
    entries = [
        {"seq": 1, "trial": {"trial_id": "a", "status": "PENDING"}},
        {"seq": 2, "trial": {"trial_id": "b", "status": "PENDING"}},
        {"seq": 3, "trial": {"trial_id": "a", "status": "RUNNING"}},
        {"seq": 4, "trial": {"trial_id": "b", "status": "TERMINATED"}},
        {"seq": 5, "trial": {"trial_id": "c", "status": "PENDING"}},
    ]
    lines = [json.dumps(e).encode() + b"\n" for e in entries]
    lines[2] = b'{"seq": 3, "trial": {"trial_id": "a", "sta\n'  # damaged, not torn
    lines[3] = lines[3].replace(b"TERMINATED", b"TERMIN\xc0TED")  # not UTF-8
    journal = tmp_path / "experiment_state.journal"
    journal.write_bytes(b"".join(lines) + b'{"seq": 6, "trial": {"tri')  # + a torn last line
    with caplog.at_level(logging.WARNING):
        state = load_state(str(tmp_path))
    assert [(t["trial_id"], t["status"]) for t in state["trials"]] == [
        ("a", "PENDING"),
        ("b", "PENDING"),
        ("c", "PENDING"),
    ]
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(messages) == 2  # the torn last line is normal after a kill: no warning
    assert f"{journal}, line 3: not valid JSON" in messages[0]
    assert f"{journal}, line 4: byte 0xc0 is not UTF-8" in messages[1]


def test_journaled_checkpoints_are_applied(tmp_path: Path) -> None:
    writer = ExperimentStateWriter(str(tmp_path), lambda safe=True: {"trials": []})
    writer.start()
    writer.record({"trial_id": "a", "status": "RUNNING", "checkpoint_history": []})
    writer.record_checkpoint("a", "a/checkpoint_000001", {"loss": 1}, {"iteration": 1})
    writer.record_checkpoint("a", "a/checkpoint_000002", {"loss": 0.5}, {"iteration": 2})
    writer.record_checkpoint(
        "a", "a/checkpoint_000003", {"loss": 0.2}, {"iteration": 3}, ["a/checkpoint_000001"]
    )
    writer.record_checkpoint("zzz", "zzz/checkpoint_000001", {}, None)  # unknown: ignored
    writer.close()
    (trial,) = load_state(str(tmp_path))["trials"]
    assert trial["checkpoint"] == "a/checkpoint_000003"
    assert trial["restore_state"] == {"iteration": 3}
    assert [p for p, _ in trial["checkpoint_history"]] == [
        "a/checkpoint_000002",
        "a/checkpoint_000003",
    ]


# -- a real experiment on a small, full file system ------------------------------------------
_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    import tunelab as tune
    from tunelab import session
    from tunelab.air.checkpoint import Checkpoint

    MODE, ITERATIONS, RESUME = sys.argv[2], 8, len(sys.argv) > 3


    def size(step, big):
        # small writes first (a few steps are logged and checkpointed), then big ones
        return 1_000 if step <= 3 else big


    def wait_until_recorded(trial_dir, step):
        # before the big writes of the first run, wait until the experiment state records
        # the checkpoint before them (however slow the machine): a resume has one to go on
        if RESUME or step != 4:
            return
        mark = os.path.basename(trial_dir) + f"/checkpoint_{step - 1:06d}"
        deadline = time.time() + 60
        while time.time() < deadline:
            text = ""
            for name in ("experiment_state.journal", "experiment_state.json"):
                try:
                    with open(os.path.join(os.path.dirname(trial_dir), name), "rb") as fh:
                        text += fh.read().decode("utf-8", "replace")
                except OSError:
                    pass
            if mark in text:
                return
            time.sleep(0.02)


    def train(config):
        start = 0
        checkpoint = session.get_checkpoint()
        if checkpoint is not None:
            start = checkpoint.to_dict()["step"]
        for step in range(start + 1, ITERATIONS + 1):
            wait_until_recorded(session.get_trial_dir(), step)
            metrics = {"step": step, "score": step * config["x"], "resumed_from": start}
            if MODE == "results":  # the logs fill the disk
                metrics["padding"] = "r" * size(step, 12_000)
            time.sleep(0.1)  # several controller steps
            blob_size = size(step, 60_000) if MODE == "checkpoints" else 100
            blob = Checkpoint.from_dict({"step": step, "blob": os.urandom(blob_size)})
            session.report(metrics, checkpoint=blob)


    class Train(tune.Trainable):
        def setup(self, config):
            self.step_count = 0

        def step(self):
            time.sleep(0.1)  # several controller steps
            self.step_count += 1
            wait_until_recorded(self.logdir, self.step_count)
            return {"step": self.step_count, "done": self.step_count >= ITERATIONS}

        def save_checkpoint(self, checkpoint_dir):
            with open(os.path.join(checkpoint_dir, "state.bin"), "wb") as fh:
                # the trainable's own write meets the full disk
                fh.write(os.urandom(size(self.step_count, 60_000)))
                fh.write(str(self.step_count).encode().rjust(8))

        def load_checkpoint(self, checkpoint_dir):
            with open(os.path.join(checkpoint_dir, "state.bin"), "rb") as fh:
                self.step_count = int(fh.read()[-8:])


    trainable = Train if MODE == "class" else train
    tune.run(
        trainable,
        config={"x": tune.grid_search([1, 2, 3])},
        storage_path=sys.argv[1],
        name="exp",
        keep_checkpoints_num=2 if MODE == "checkpoints" else None,
        checkpoint_freq=1 if MODE == "class" else 0,
        verbose=0,
        resume=RESUME,
    )
    print("FINISHED")
    """
)


def _mount_tmpfs(path: Path, size: str) -> None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (these tests fill a small file system)")
    if shutil.which("mount") is None:
        pytest.skip("no mount command to create a small file system")
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode})")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "2m")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def _fill(disk: Path, leave: int) -> Path:
    """A filler file that leaves ``leave`` bytes free on ``disk``."""
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    filler = disk / "filler"
    filler.write_bytes(b"\0" * max(0, free - leave))
    return filler


def _run(disk: Path, mode: str, *resume: str) -> subprocess.CompletedProcess[str]:
    script = disk.parent / "experiment.py"
    script.write_text(_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, str(script), str(disk), mode, *resume],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=str(disk.parent),
    )


@pytest.mark.parametrize(
    ("mode", "leave"),
    [("checkpoints", 300_000), ("results", 200_000), ("class", 250_000)],
)
def test_a_full_disk_stops_with_one_line_and_resumes_with_nothing_lost(
    small_disk: Path, mode: str, leave: int
) -> None:
    filler = _fill(small_disk, leave)
    first = _run(small_disk, mode)
    assert first.returncode != 0, first.stdout + first.stderr
    err = first.stderr
    assert err.count("Traceback (most recent call last)") == 1, err
    assert "During handling of the above exception" not in err, err
    assert "The above exception was the direct cause" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("tunelab._errors.StorageError: tunelab: "), err
    assert "could not write" in last and "[Errno 28] No space left on device" in last, last
    assert str(small_disk) in last, last
    assert leftovers(small_disk) == []
    results_before = {
        p.parent.name: p.read_bytes() for p in (small_disk / "exp").glob("*/result.json")
    }

    filler.unlink()  # space is free again
    second = _run(small_disk, mode, "resume")
    assert second.returncode == 0 and "FINISHED" in second.stdout, second.stderr
    assert leftovers(small_disk) == []
    trial_dirs = sorted(p for p in (small_disk / "exp").iterdir() if p.is_dir())
    assert len(trial_dirs) == 3
    resumed = 0
    for trial_dir in trial_dirs:
        lines = (trial_dir / "result.json").read_bytes().splitlines(keepends=True)
        rows = [json.loads(line) for line in lines]
        assert [r["training_iteration"] for r in rows] == list(range(1, 9)), trial_dir
        csv_rows = (trial_dir / "progress.csv").read_text().splitlines()[1:]
        assert [int(row.split(",")[0]) for row in csv_rows] == list(range(1, 9)), trial_dir
        # the last run of the trial started after iteration k (its checkpoint): what the
        # first run logged up to k is still there, byte for byte
        k = next(
            r["training_iteration"] - 1
            for r in reversed(rows)
            if r["iterations_since_restore"] == 1
        )
        before = results_before.get(trial_dir.name, b"").splitlines(keepends=True)
        kept = [line for line in before if line.endswith(b"\n")][:k]
        assert lines[: len(kept)] == kept, trial_dir
        resumed += k > 0
    assert resumed, "no trial continued from a checkpoint"
    state = load_state(str(small_disk / "exp"))
    assert state is not None and {t["status"] for t in state["trials"]} == {"TERMINATED"}


def test_a_full_disk_at_the_first_snapshot_leaves_nothing_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import tunelab as tune

    def start(self: ExperimentStateWriter, seq: int = 0) -> None:
        raise StorageError.from_os_error(
            OSError(errno.ENOSPC, "No space left on device"), "the experiment state", self.path
        )

    tune.run(lambda config: tune.report(x=1), storage_path=str(tmp_path), name="warm", verbose=0)
    threads = threading.active_count()
    monkeypatch.setattr(ExperimentStateWriter, "start", start)
    with pytest.raises(StorageError, match="could not write the experiment state"):
        tune.run(lambda config: tune.report(x=1), storage_path=str(tmp_path), name="e", verbose=0)
    assert threading.active_count() <= threads


def test_a_descriptor_write_goes_on_after_short_writes_and_fails_when_nothing_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import types

    from tunelab import _errors

    taken: list[bytes] = []
    capacity = [10]

    def write(fd: int, data: Any) -> int:  # a device that takes 3 bytes at a time
        chunk = bytes(data[: min(3, capacity[0])])
        capacity[0] -= len(chunk)
        taken.append(chunk)
        return len(chunk)

    monkeypatch.setattr(_errors, "os", types.SimpleNamespace(write=write))
    _errors.write_fd_fully(7, b"abcdefgh")
    assert b"".join(taken) == b"abcdefgh"
    with pytest.raises(OSError, match="accepted no more bytes"):
        _errors.write_fd_fully(7, b"ijklmn")  # 2 bytes of room left
    assert b"".join(taken) == b"abcdefghij"
