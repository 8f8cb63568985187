"""Running again under an experiment's name starts a new experiment and never hides the
earlier one: its trials stay in ExperimentAnalysis and ``tunelab ls`` (issue 15's first
hour)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import Any

import pytest

import tunelab as tune
from tunelab.analysis import ExperimentAnalysis


def trainable(config: dict[str, Any]) -> None:
    tune.report({"score": config["a"]})


def _run(tmp_path: Any, values: list[int], **kwargs: Any) -> Any:
    return tune.run(
        trainable,
        config={"a": tune.grid_search(values)},
        storage_path=str(tmp_path),
        name="exp",
        verbose=0,
        **kwargs,
    )


def test_a_second_run_under_the_same_name_keeps_the_first_visible(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    first = _run(tmp_path, [1, 2, 3])
    with caplog.at_level(logging.WARNING, logger="tunelab"):
        second = _run(tmp_path, [10, 20])
    [message] = [r.getMessage() for r in caplog.records if "already held" in r.getMessage()]
    assert "(3 trials)" in message and "resume=True" in message
    assert len(second.trials) == 2  # the run returns its own trials
    experiment = os.path.join(str(tmp_path), "exp")
    archives = [n for n in os.listdir(experiment) if n.startswith("experiment_state-")]
    assert len(archives) == 1
    on_disk = ExperimentAnalysis(experiment)
    assert sorted(t.config["a"] for t in on_disk.trials) == [1, 2, 3, 10, 20]
    assert {t.trial_id for t in first.trials} < {t.trial_id for t in on_disk.trials}
    assert on_disk.get_best_config(metric="score", mode="max") == {"a": 20}
    listing = subprocess.run(
        [sys.executable, "-m", "tunelab", "ls", experiment],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert listing.count("TERMINATED") == 5

    # resume continues the newest experiment; a third new run keeps both earlier ones
    resumed = _run(tmp_path, [10, 20], resume=True)
    assert sorted(t.config["a"] for t in resumed.trials) == [10, 20]
    _run(tmp_path, [7])
    assert sorted(t.config["a"] for t in ExperimentAnalysis(experiment).trials) == [
        1,
        2,
        3,
        7,
        10,
        20,
    ]


def test_a_run_in_an_empty_or_fresh_directory_archives_nothing(tmp_path: Any) -> None:
    _run(tmp_path, [1])
    _run(tmp_path, [2], resume="AUTO")  # resumes: nothing is archived
    experiment = os.path.join(str(tmp_path), "exp")
    assert not [n for n in os.listdir(experiment) if n.startswith("experiment_state-")]


def test_a_run_refused_for_a_bad_setting_leaves_the_earlier_experiment_as_it_was(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(tmp_path, [1, 2])
    monkeypatch.setenv("TUNE_MAX_LEN_IDENTIFIER", "0")
    with pytest.raises(ValueError, match="MAX_LEN_IDENTIFIER"):
        _run(tmp_path, [10])
    assert sorted(p.name for p in (tmp_path / "exp").glob("experiment_state*.json")) == [
        "experiment_state.json"
    ]
    assert len(ExperimentAnalysis(str(tmp_path / "exp")).trials) == 2
