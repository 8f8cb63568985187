"""The workers write the default loggers' result files (issue 14), with real worker
processes: the controller encodes no result, and a trial that reruns iterations (a retry,
a pause and resume on another worker) still logs each iteration once, in one event file."""

from __future__ import annotations

import csv
import glob
import json
import os
from pathlib import Path
from typing import Any

import pytest

import tunelab as tune
from tunelab import train
from tunelab.logger._csv import _CsvTrialLog
from tunelab.logger._json import _JsonTrialLog
from tunelab.train import Checkpoint


def iterations(trial_dir: str) -> tuple[list[int], list[int]]:
    """``training_iteration`` of each line of result.json and each row of progress.csv."""
    with open(os.path.join(trial_dir, "result.json")) as fh:
        lines = [json.loads(line)["training_iteration"] for line in fh]
    with open(os.path.join(trial_dir, "progress.csv"), newline="") as fh:
        rows = [int(row["training_iteration"]) for row in csv.DictReader(fh)]
    return lines, rows


def reports(config: dict[str, Any]) -> None:
    for i in range(config["n"]):
        tune.report({"score": float(i) * config["x"]})


def test_the_controller_encodes_no_result_of_the_default_loggers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(self: Any, result: Any) -> None:
        raise AssertionError("the controller encoded a result")

    # the workers are new processes: only the controller has these patched
    monkeypatch.setattr(_JsonTrialLog, "write", never)
    monkeypatch.setattr(_CsvTrialLog, "write", never)
    analysis = tune.run(
        reports,
        config={"n": 300, "x": tune.grid_search([1, 2])},
        storage_path=str(tmp_path),
        name="e",
        verbose=0,
    )
    assert {t.status for t in analysis.trials} == {"TERMINATED"}
    for trial in analysis.trials:
        lines, rows = iterations(trial.local_path)
        assert lines == rows == list(range(1, 301))
        with open(os.path.join(trial.local_path, "result.json")) as fh:
            last = json.loads(fh.readlines()[-1])
        assert last["config"] == trial.config
        assert last["experiment_tag"] == trial.experiment_tag
        assert last["score"] == trial.last_result["score"] == 299.0 * trial.config["x"]
    frame = analysis.dataframe()
    assert sorted(frame["score"]) == [299.0, 598.0]
    assert len(analysis.trial_dataframes) == 2


def fails_once(config: dict[str, Any]) -> None:
    start = 0
    checkpoint = train.get_checkpoint()
    if checkpoint is not None:
        with open(os.path.join(checkpoint.to_directory(), "it")) as fh:
            start = int(fh.read())
    for it in range(start + 1, 9):
        if it == 6 and not os.path.exists(config["marker"]):
            Path(config["marker"]).touch()
            raise RuntimeError("fails once at iteration 6")
        folder = os.path.join(config["scratch"], f"it{it}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "it"), "w") as fh:
            fh.write(str(it))
        train.report({"loss": 1.0 / it}, checkpoint=Checkpoint.from_directory(folder))


def test_a_retried_trial_logs_each_iteration_once(tmp_path: Path) -> None:
    pytest.importorskip("tensorboardX")
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator"
    )
    scratch = tmp_path / "scratch"
    analysis = tune.run(
        fails_once,
        config={"marker": str(tmp_path / "failed"), "scratch": str(scratch)},
        storage_path=str(tmp_path),
        name="retry",
        max_failures=1,
        checkpoint_freq=0,
        verbose=0,
    )
    [trial] = analysis.trials
    assert trial.status == "TERMINATED" and trial.num_failures == 1
    lines, rows = iterations(trial.local_path)
    assert lines == rows == list(range(1, 9))
    files = glob.glob(os.path.join(trial.local_path, "events.out.tfevents.*"))
    assert len(files) == 1  # both runs (two workers) and the controller's hparams
    acc = event_accumulator.EventAccumulator(trial.local_path, size_guidance={"scalars": 0})
    acc.Reload()
    assert [e.step for e in acc.Scalars("ray/tune/loss")] == list(range(1, 9))
    assert acc.PluginTagToContent("hparams")


class Steps(tune.Trainable):
    def setup(self, config: dict[str, Any]) -> None:
        self.value = 0.0

    def step(self) -> dict[str, Any]:
        self.value += self.config["lr"]
        return {"value": self.value}

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"value": self.value}

    def load_checkpoint(self, checkpoint: Any) -> None:
        self.value = checkpoint["value"]


def test_paused_and_resumed_trials_log_each_iteration_once(tmp_path: Path) -> None:
    analysis = tune.run(
        Steps,
        config={"lr": tune.grid_search([0.1, 0.2, 0.3, 0.4])},
        scheduler=tune.schedulers.HyperBandScheduler(
            time_attr="training_iteration", max_t=9, reduction_factor=3
        ),
        metric="value",
        mode="max",
        stop={"training_iteration": 9},
        storage_path=str(tmp_path),
        name="hb",
        max_concurrent_trials=2,
        verbose=0,
    )
    paused_before = 0
    for trial in analysis.trials:
        lines, rows = iterations(trial.local_path)
        assert lines == rows == list(range(1, lines[-1] + 1)), trial
        assert lines[-1] == trial.last_result["training_iteration"]
        with open(os.path.join(trial.local_path, "result.json")) as fh:
            restarts = sum(json.loads(line)["iterations_since_restore"] == 1 for line in fh)
        paused_before += restarts > 1
        # one event file per trial (none without tensorboardX), whichever workers ran it
        events = glob.glob(os.path.join(trial.local_path, "events.out.tfevents.*"))
        assert len(events) <= 1, events
    assert paused_before, "no trial was paused and resumed"
