"""Checkpoint retention, retries, worker and driver kills, Ctrl+C and resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tunelab as tune
from tunelab import Checkpoint, Trainable

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "scripts", "long_experiment.py")


def iterations(trial_dir):
    with open(os.path.join(trial_dir, "result.json")) as fh:
        return [json.loads(line)["training_iteration"] for line in fh]


def csv_iterations(trial_dir):
    import csv

    with open(os.path.join(trial_dir, "progress.csv")) as fh:
        rows = list(csv.DictReader(fh))
    return [int(r["training_iteration"]) for r in rows]


def test_num_to_keep_keeps_the_best_and_the_latest(tmp_path):
    def train(config):
        for i, score in enumerate([5, 9, 1, 7, 3]):
            tune.report({"score": score}, checkpoint=Checkpoint.from_dict({"i": i}))

    grid = tune.Tuner(
        train,
        tune_config=tune.TuneConfig(metric="score", mode="max"),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path),
            verbose=0,
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=2, checkpoint_score_attribute="score"
            ),
        ),
    ).fit()
    result = grid[0]
    kept = sorted(d for d in os.listdir(result.path) if d.startswith("checkpoint_"))
    # best two (9 at iteration 2, 7 at iteration 4) and the latest (iteration 5)
    assert kept == ["checkpoint_000002", "checkpoint_000004", "checkpoint_000005"]
    scores = sorted(m["score"] for _, m in result.best_checkpoints)
    assert scores == [3, 7, 9]
    assert result.checkpoint.to_dict() == {"i": 4}


def test_num_to_keep_zero_is_a_clear_error():
    with pytest.raises(ValueError, match="num_to_keep"):
        tune.CheckpointConfig(num_to_keep=0)


def test_failure_is_retried_from_the_latest_checkpoint_without_duplicates(tmp_path):
    marker = tmp_path / "failed_once"

    def flaky(config):
        start = 0
        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            start = checkpoint.to_dict()["step"]
        for step in range(start + 1, 7):
            if step == 5 and not marker.exists():
                marker.write_text("x")
                tune.report({"step": step})  # logged, then rolled back on retry
                raise RuntimeError("transient failure")
            checkpoint = Checkpoint.from_dict({"step": step}) if step % 2 == 0 else None
            tune.report({"step": step}, checkpoint=checkpoint)

    analysis = tune.run(flaky, max_failures=1, storage_path=str(tmp_path), verbose=0)
    (trial,) = analysis.trials
    assert trial.status == "TERMINATED"
    assert trial.num_failures == 1
    assert iterations(trial.local_path) == [1, 2, 3, 4, 5, 6]
    assert csv_iterations(trial.local_path) == [1, 2, 3, 4, 5, 6]
    with open(os.path.join(trial.local_path, "result.json")) as fh:
        steps = [json.loads(line)["step"] for line in fh]
    assert steps == [1, 2, 3, 4, 5, 6]
    assert "transient failure" in Path(os.path.join(trial.local_path, "error.txt")).read_text()


def test_worker_killed_by_sigkill_is_noticed_and_retried(tmp_path):
    marker = tmp_path / "killed"

    def suicidal(config):
        tune.report({"a": 1})
        if not marker.exists():
            marker.write_text("x")
            time.sleep(0.1)
            os.kill(os.getpid(), signal.SIGKILL)
        tune.report({"a": 2})

    start = time.time()
    analysis = tune.run(suicidal, max_failures=2, storage_path=str(tmp_path), verbose=0)
    assert time.time() - start < 15
    (trial,) = analysis.trials
    assert trial.status == "TERMINATED" and trial.num_failures == 1
    assert "SIGKILL" in Path(os.path.join(trial.local_path, "error.txt")).read_text()
    assert iterations(trial.local_path) == [1, 2]


def test_max_failures_exhausted_marks_error(tmp_path):
    def always(config):
        raise ValueError("always broken")

    analysis = tune.run(
        always, max_failures=2, storage_path=str(tmp_path), verbose=0, raise_on_failed_trial=False
    )
    (trial,) = analysis.trials
    assert trial.status == "ERROR" and trial.num_failures == 3
    assert Path(trial.error_file).read_text().count("always broken") >= 3


def test_fail_fast_stops_the_experiment_and_raise_reraises(tmp_path):
    def maybe(config):
        if config["x"] == 0:
            raise KeyError("first one fails")
        time.sleep(2)
        tune.report({"ok": 1})

    with pytest.raises(tune.TuneError):
        tune.run(
            maybe,
            config={"x": tune.grid_search([0, 1, 2, 3])},
            fail_fast=True,
            storage_path=str(tmp_path),
            verbose=0,
            max_concurrent_trials=1,
        )
    with pytest.raises(tune.TuneError, match="first one fails"):
        tune.run(
            maybe,
            config={"x": tune.grid_search([0, 1])},
            fail_fast="raise",
            storage_path=str(tmp_path),
            verbose=0,
            max_concurrent_trials=1,
        )


class Corruptible(Trainable):
    def setup(self, config):
        self.value = 0
        self.marker = config["marker"]

    def step(self):
        self.value += 1
        if self.value == 4 and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            raise RuntimeError("crash after checkpoints")
        return {"value": self.value}

    def save_checkpoint(self, checkpoint_dir):
        with open(os.path.join(checkpoint_dir, "state.json"), "w") as fh:
            json.dump({"value": self.value}, fh)

    def load_checkpoint(self, checkpoint_dir):
        with open(os.path.join(checkpoint_dir, "state.json")) as fh:
            self.value = json.load(fh)["value"]


def test_corrupt_checkpoint_names_the_file_and_falls_back(tmp_path):
    marker = tmp_path / "crashed"

    class CorruptLatest(tune.Callback):
        def on_trial_recover(self, trial, **info):
            path = os.path.join(trial.checkpoint.path, "state.json")
            with open(path, "w") as fh:
                fh.write("{not json")

    analysis = tune.run(
        Corruptible,
        config={"marker": str(marker)},
        checkpoint_freq=1,
        stop={"training_iteration": 6},
        max_failures=1,
        callbacks=[CorruptLatest()],
        storage_path=str(tmp_path),
        verbose=0,
    )
    (trial,) = analysis.trials
    assert trial.status == "TERMINATED"
    errors = Path(os.path.join(trial.local_path, "error.txt")).read_text()
    assert "checkpoint_000003" in errors and "Falling back" in errors
    assert iterations(trial.local_path) == [1, 2, 3, 4, 5, 6]
    assert trial.last_result["value"] == 6


def _run_driver(storage, name, *extra, step_sleep=0.05):
    return subprocess.Popen(
        [sys.executable, SCRIPT, str(storage), name, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TUNELAB_STATE_PERIOD_S": "0.5", "STEP_SLEEP": str(step_sleep)},
    )


def _wait_for_results(exp_dir, minimum, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        total = 0
        if exp_dir.exists():
            for trial in exp_dir.iterdir():
                path = trial / "result.json"
                if path.exists():
                    total += len(path.read_text().splitlines())
        if total >= minimum:
            return
        time.sleep(0.05)
    raise AssertionError("the driver produced no results")


def _check_exactly_once(exp_dir):
    trial_dirs = [p for p in exp_dir.iterdir() if p.is_dir()]
    assert len(trial_dirs) == 4
    for trial in trial_dirs:
        assert iterations(trial) == list(range(1, 21)), trial.name
        assert csv_iterations(trial) == list(range(1, 21)), trial.name


def test_driver_sigkill_then_resume_logs_every_iteration_exactly_once(tmp_path):
    exp_dir = tmp_path / "killed_exp"
    driver = _run_driver(tmp_path, "killed_exp")
    _wait_for_results(exp_dir, 12)
    driver.kill()
    driver.communicate()
    resumed = _run_driver(tmp_path, "killed_exp", "resume")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert "STATUSES ['TERMINATED', 'TERMINATED', 'TERMINATED', 'TERMINATED']" in out
    _check_exactly_once(exp_dir)


def test_ctrl_c_stops_gracefully_and_tuner_restore_finishes(tmp_path, monkeypatch):
    exp_dir = tmp_path / "interrupted"
    driver = _run_driver(tmp_path, "interrupted")
    _wait_for_results(exp_dir, 8)
    driver.send_signal(signal.SIGINT)
    out, err = driver.communicate(timeout=60)
    assert driver.returncode == 0, err
    assert "stopping gracefully" in err
    assert "resume=True" in err or "Tuner.restore" in err
    assert "PAUSED" in out
    assert tune.Tuner.can_restore(str(exp_dir))
    # the results of an interrupted run say so
    assert tune.ExperimentAnalysis(str(exp_dir)).interrupted

    monkeypatch.syspath_prepend(os.path.dirname(SCRIPT))
    from long_experiment import train

    grid = tune.Tuner.restore(
        str(exp_dir), trainable=train, param_space={"x": tune.grid_search([1, 2, 3, 4])}
    ).fit()
    assert grid.num_terminated == 4 and not grid.interrupted
    _check_exactly_once(exp_dir)
    for result in grid:
        assert result.metrics["step"] == result.metrics["training_iteration"] == 20


def test_tuner_restore_without_arguments_uses_the_saved_tuner(tmp_path):
    marker = tmp_path / "fail"
    marker.write_text("x")
    marker_path = str(marker)

    def train(config):
        for i in range(3):
            if i == 1 and os.path.exists(marker_path):
                raise RuntimeError("fails until the marker is gone")
            tune.report({"i": i})

    tuner = tune.Tuner(
        train, run_config=tune.RunConfig(name="restore_me", storage_path=str(tmp_path), verbose=0)
    )
    grid = tuner.fit()
    assert grid.num_errors == 1
    marker.unlink()
    moved = tmp_path / "moved"
    os.rename(tmp_path / "restore_me", moved)
    restored = tune.Tuner.restore(str(moved), restart_errored=True)
    assert restored.get_results().num_errors == 1
    grid = restored.fit()
    assert grid.num_errors == 0 and grid.num_terminated == 1
    assert iterations(grid[0].path) == [1, 2, 3]


def test_resume_true_without_state_is_an_error_and_auto_starts_new(tmp_path):
    with pytest.raises(ValueError, match="no experiment state"):
        tune.run(
            lambda c: tune.report(a=1),
            name="none",
            storage_path=str(tmp_path),
            resume=True,
            verbose=0,
        )
    analysis = tune.run(
        lambda c: tune.report(a=1),
        name="none",
        storage_path=str(tmp_path),
        resume="AUTO",
        verbose=0,
    )
    assert len(analysis.trials) == 1


def test_0_8_checkpoint_dir_forms_and_legacy_retention(tmp_path):
    marker = tmp_path / "failed"

    def train(config, checkpoint_dir=None):
        start = 0
        if checkpoint_dir is not None:
            start = int(Path(checkpoint_dir, "step.txt").read_text())
        for step in range(start + 1, 6):
            with tune.checkpoint_dir(step=step) as d:
                Path(d, "step.txt").write_text(str(step))
            tune.report(loss=float(step))
            if step == 3 and not marker.exists():
                marker.write_text("x")
                raise RuntimeError("once")

    analysis = tune.run(
        train,
        max_failures=1,
        keep_checkpoints_num=1,
        checkpoint_score_attr="min-loss",
        storage_path=str(tmp_path),
        verbose=0,
    )
    (trial,) = analysis.trials
    assert trial.status == "TERMINATED"
    assert iterations(trial.local_path) == [1, 2, 3, 4, 5]
    kept = sorted(d for d in os.listdir(trial.local_path) if d.startswith("checkpoint_"))
    # the best by min-loss (iteration 1) and the latest (iteration 5); no temp dirs left
    assert kept == ["checkpoint_000001", "checkpoint_000005"]


def test_resume_errored_only(tmp_path):
    marker = tmp_path / "broken"
    marker.write_text("x")
    marker_path = str(marker)

    def train(config):
        if config["x"] == 1 and os.path.exists(marker_path):
            raise RuntimeError("broken until fixed")
        tune.report(v=config["x"])

    kwargs = dict(
        config={"x": tune.grid_search([0, 1])},
        name="eo",
        storage_path=str(tmp_path),
        verbose=0,
        raise_on_failed_trial=False,
    )
    first = tune.run(train, **kwargs)
    assert sorted(t.status.value for t in first.trials) == ["ERROR", "TERMINATED"]
    marker.unlink()
    second = tune.run(train, resume="ERRORED_ONLY", **kwargs)
    assert sorted(t.status.value for t in second.trials) == ["TERMINATED", "TERMINATED"]
    assert len(second.trials) == 2


def test_ten_random_driver_kills_still_give_the_uninterrupted_results(tmp_path):
    import random

    rng = random.Random(1234)
    exp_dir = tmp_path / "chaos"
    kills = 0
    resume = []
    while kills < 10:
        driver = _run_driver(tmp_path, "chaos", *resume, step_sleep=0.25)
        time.sleep(rng.uniform(0.3, 1.5))
        if driver.poll() is not None:  # finished before the kill
            driver.communicate()
            break
        driver.kill()
        driver.communicate()
        kills += 1
        resume = ["resume"]
    final = _run_driver(tmp_path, "chaos", "resume")
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    assert "STATUSES ['TERMINATED', 'TERMINATED', 'TERMINATED', 'TERMINATED']" in out
    assert kills == 10
    _check_exactly_once(exp_dir)
    # the same final results as an uninterrupted run: step 20 of each config
    finals = sorted(
        (
            json.loads(Path(t, "result.json").read_text().splitlines()[-1])["x"],
            json.loads(Path(t, "result.json").read_text().splitlines()[-1])["step"],
        )
        for t in exp_dir.iterdir()
        if t.is_dir()
    )
    assert finals == [(1, 20), (2, 20), (3, 20), (4, 20)]


def test_ctrl_c_then_tune_run_resume_by_name(tmp_path):
    exp_dir = tmp_path / "by_name"
    driver = _run_driver(tmp_path, "by_name")
    _wait_for_results(exp_dir, 8)
    driver.send_signal(signal.SIGINT)
    out, _ = driver.communicate(timeout=60)
    assert "PAUSED" in out
    resumed = _run_driver(tmp_path, "by_name", "resume")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert "STATUSES ['TERMINATED', 'TERMINATED', 'TERMINATED', 'TERMINATED']" in out
    _check_exactly_once(exp_dir)
