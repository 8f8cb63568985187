"""Behaviour that Ray Tune's own code relies on (issue 11, part 7): each test runs what a
Ray Tune script does and checks what Ray Tune does with it."""

from __future__ import annotations

import json
import os
import pickle
import time
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

import tunelab as tune
from tunelab.execution import LocalExecutor
from tunelab.logger import Logger
from tunelab.stopper import Stopper, TimeoutStopper


def _forever(config: dict[str, Any]) -> None:
    while True:
        time.sleep(0.01)
        tune.report(score=1.0)


# -- the experiment ends with trials still waiting ------------------------------------------
def test_time_budget_ends_waiting_trials_and_returns_normally(tmp_path: Path) -> None:
    analysis = tune.run(
        _forever,
        num_samples=3,
        time_budget_s=1.0,
        storage_path=str(tmp_path),
        verbose=0,
        executor=LocalExecutor(num_cpus=1),  # one trial at a time: two wait
    )
    # trials are created when a slot could take them: the one that ran and the one that
    # waited for its CPU exist (Ray Tune's basic generator would have made the third too)
    assert len(analysis.trials) >= 2
    assert all(t.status == "TERMINATED" for t in analysis.trials)
    ran = [t for t in analysis.trials if t.last_result.get("training_iteration")]
    assert len(ran) == 1  # the waiting trials ended without running


def test_a_stopper_ending_the_experiment_ends_waiting_trials(tmp_path: Path) -> None:
    class AfterFiveResults(Stopper):
        def __init__(self) -> None:
            self.seen = 0

        def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
            self.seen += 1
            return False

        def stop_all(self) -> bool:
            return self.seen >= 5

    analysis = tune.run(
        _forever,
        num_samples=3,
        stop=AfterFiveResults(),
        storage_path=str(tmp_path),
        verbose=0,
        executor=LocalExecutor(num_cpus=1),
    )
    assert len(analysis.trials) >= 2
    assert all(t.status == "TERMINATED" for t in analysis.trials)


# -- trial directories ---------------------------------------------------------------------
def test_a_repeating_trial_dirname_creator_gets_distinct_directories(tmp_path: Path) -> None:
    def report_id(config: dict[str, Any]) -> None:
        tune.report(x=config["x"])

    (tmp_path / "same" / "trial").mkdir(parents=True)  # taken before the run, too
    analysis = tune.run(
        report_id,
        name="same",
        config={"x": tune.grid_search([1, 2, 3])},
        trial_dirname_creator=lambda trial: "trial",
        storage_path=str(tmp_path),
        verbose=0,
    )
    dirs = [t.local_path for t in analysis.trials]
    assert len(set(dirs)) == 3
    assert all(os.path.basename(d).startswith("trial_") for d in dirs)
    assert os.listdir(tmp_path / "same" / "trial") == []  # nobody wrote into it
    for trial in analysis.trials:  # each directory holds its own trial's results only
        with open(os.path.join(trial.local_path, "result.json")) as fh:
            lines = [json.loads(line) for line in fh]
        assert [line["x"] for line in lines] == [trial.config["x"]]


# -- a checkpoint after the last report ----------------------------------------------------
def test_a_function_checkpoint_after_the_last_report_is_kept(tmp_path: Path) -> None:
    def train(config: dict[str, Any]) -> None:
        for step in range(3):
            tune.report(score=step)
        with tune.checkpoint_dir(step=3) as directory:  # 0.8/1.x, with no report after it
            Path(directory, "weights.txt").write_text("final")

    analysis = tune.run(
        train, metric="score", mode="max", storage_path=str(tmp_path), name="f", verbose=0
    )
    (trial,) = analysis.trials
    assert trial.checkpoint is not None
    assert Path(trial.checkpoint.path, "weights.txt").read_text() == "final"
    assert analysis.best_checkpoint is not None
    assert str(analysis.best_checkpoint.path) == str(trial.checkpoint.path)
    last = analysis.get_last_checkpoint()
    assert last is not None and str(last.path) == str(trial.checkpoint.path)


def test_a_class_save_at_the_end_is_kept(tmp_path: Path) -> None:
    class Counter(tune.Trainable):
        def step(self) -> dict[str, Any]:
            return {"score": self.iteration, "done": self.iteration >= 2}

        def save_checkpoint(self, checkpoint_dir: str) -> str:
            Path(checkpoint_dir, "it").write_text(str(self.iteration))
            return checkpoint_dir

        def load_checkpoint(self, checkpoint: Any) -> None:
            pass

    analysis = tune.run(
        Counter,
        checkpoint_at_end=True,
        metric="score",
        mode="max",
        storage_path=str(tmp_path),
        verbose=0,
    )
    (trial,) = analysis.trials
    assert trial.checkpoint is not None and analysis.best_checkpoint is not None
    assert Path(analysis.best_checkpoint.path, "it").read_text() == "3"


def test_callbacks_hear_of_every_saved_checkpoint(tmp_path: Path) -> None:
    """Ray calls ``on_trial_save`` (a LoggerCallback's ``log_trial_save``) and
    ``on_checkpoint`` for each checkpoint a trial saves."""
    heard: list[tuple[str, str, int]] = []

    class Hooks(tune.Callback):
        def on_trial_save(self, iteration: int, trials: Any, trial: Any, **info: Any) -> None:
            heard.append(("save", trial.trial_id, trial.last_result["training_iteration"]))

        def on_checkpoint(self, iteration: int, trials: Any, trial: Any, **info: Any) -> None:
            heard.append(("checkpoint", trial.trial_id, trial.last_result["training_iteration"]))

    class Saved(tune.logger.LoggerCallback):
        def log_trial_save(self, trial: Any) -> None:
            heard.append(("log_trial_save", trial.trial_id, 0))

    def train(config: dict[str, Any]) -> None:
        for step in range(1, 4):
            with tune.checkpoint_dir(step=step) as directory:
                Path(directory, "step").write_text(str(step))
            tune.report(score=step)

    analysis = tune.run(
        train,
        callbacks=[Hooks(), Saved()],
        storage_path=str(tmp_path),
        name="hooks",
        verbose=0,
    )
    (trial,) = analysis.trials
    saves = [h for h in heard if h[0] == "save"]
    checkpoints = [h for h in heard if h[0] == "checkpoint"]
    assert len(saves) == len(checkpoints) == 3
    assert {h[1] for h in heard} == {trial.trial_id}
    assert len([h for h in heard if h[0] == "log_trial_save"]) == 3


# -- 0.x experiment keys that were validated and dropped -----------------------------------
class _RecordingLogger(Logger):
    def on_result(self, result: dict[str, Any]) -> None:
        with open(os.path.join(self.logdir, "recorded.txt"), "a") as fh:
            fh.write(f"{result['score']}\n")


def _scored(config: dict[str, Any]) -> None:
    tune.report(score=2.0)


def test_run_experiments_honours_loggers_and_custom_loggers(tmp_path: Path) -> None:
    trials = tune.run_experiments(
        {
            "own": {"run": _scored, "local_dir": str(tmp_path), "loggers": [_RecordingLogger]},
            "extra": {
                "run": _scored,
                "local_dir": str(tmp_path),
                "custom_loggers": [_RecordingLogger],
            },
            "plain": {"run": _scored, "local_dir": str(tmp_path)},
        },
        verbose=0,
    )
    files = {t.experiment_name: set(os.listdir(t.local_path)) for t in trials}
    # loggers replace the default ones for that experiment (as in Ray Tune 0.x)
    assert "recorded.txt" in files["own"] and "result.json" not in files["own"]
    # custom_loggers run next to them
    assert {"recorded.txt", "result.json"} <= files["extra"]
    assert "recorded.txt" not in files["plain"] and "result.json" in files["plain"]


def test_export_formats_reach_the_class_trainables_export(tmp_path: Path) -> None:
    class Exports(tune.Trainable):
        def step(self) -> dict[str, Any]:
            return {"score": 1.0, "done": True}

        def _export_model(self, export_formats: list[str], export_dir: str) -> dict[str, str]:
            path = os.path.join(export_dir, "model.txt")
            Path(path).write_text(",".join(export_formats))
            return {"model": path}

    experiment = tune.Experiment(
        "exported", Exports, storage_path=str(tmp_path), export_formats=["model"]
    )
    (trial,) = tune.run_experiments(experiment, verbose=0)
    assert Path(trial.local_path, "model.txt").read_text() == "model"


def test_sync_function_copies_the_experiment_to_upload_dir(tmp_path: Path) -> None:
    calls: list[tuple[str, str]] = []
    remote = tmp_path / "remote"
    tune.run_experiments(
        tune.Experiment(
            "synced",
            _scored,
            local_dir=str(tmp_path / "local"),
            upload_dir=str(remote),
            sync_function=lambda local, target: calls.append((local, target)),
        ),
        verbose=0,
    )
    assert calls[-1] == (str(tmp_path / "local" / "synced"), f"{remote}/synced")
    # a 0.6 command template, run by the shell with the directories quoted in
    remote.mkdir()
    (trial,) = tune.run_experiments(
        {
            "by command": {
                "run": _scored,
                "local_dir": str(tmp_path / "local dir"),
                "upload_dir": str(remote),
                "sync_function": "cp -r {local_dir} {remote_dir}",
            }
        },
        verbose=0,
    )
    assert (remote / "by command" / trial.dirname / "result.json").exists()


def test_tune_run_sync_to_cloud_and_0x_sync_arguments(tmp_path: Path) -> None:
    calls: list[tuple[str, str]] = []
    with pytest.warns(UserWarning, match="sync_to_driver"):
        analysis = tune.run(
            _scored,
            name="cloud",
            local_dir=str(tmp_path),
            upload_dir=str(tmp_path / "remote"),
            sync_to_cloud=lambda source, target: calls.append((source, target)),
            sync_to_driver=lambda source, target: None,  # no other nodes: no effect
            global_checkpoint_period=0.5,
            verbose=0,
        )
    assert calls[-1] == (str(tmp_path / "cloud"), f"{tmp_path / 'remote'}/cloud")
    assert analysis.trials[0].status == "TERMINATED"


# -- resume_config reaches the run ---------------------------------------------------------
def _fails_once(config: dict[str, Any]) -> None:
    marker = Path(config["marker"])
    if not marker.exists():
        marker.write_text("failed once")
        raise RuntimeError("first attempt fails")
    tune.report(score=1.0)


@pytest.mark.parametrize("front_door", ["run", "run_experiments"])
def test_resume_config_reaches_the_run(tmp_path: Path, front_door: str) -> None:
    config = {"marker": str(tmp_path / "marker")}
    first = tune.run(
        _fails_once,
        name="exp",
        config=config,
        storage_path=str(tmp_path),
        verbose=0,
        raise_on_failed_trial=False,
    )
    assert first.trials[0].status == "ERROR"
    restart = tune.ResumeConfig(errored=tune.ResumeConfig.ResumeType.RESTART)
    if front_door == "run":
        trials = tune.run(
            _fails_once,
            name="exp",
            config=config,
            storage_path=str(tmp_path),
            verbose=0,
            resume_config=restart,
        ).trials
    else:
        spec = {"run": _fails_once, "config": config, "storage_path": str(tmp_path)}
        trials = tune.run_experiments({"exp": spec}, verbose=0, resume_config=restart)
    assert [t.status for t in trials] == ["TERMINATED"]
    assert trials[0].last_result["score"] == 1.0


# -- TimeoutStopper under a patched clock (as Ray Tune's own tests patch it) --------------
def test_timeout_stopper_follows_a_patched_time_time() -> None:
    now = [1000.0]
    with mock.patch("time.time", side_effect=lambda: now[0]):
        stopper = TimeoutStopper(timeout=60)
        assert not stopper.stop_all()
        now[0] += 40
        assert not stopper.stop_all()
        checkpoint = pickle.dumps(stopper)
        now[0] += 22
        assert stopper.stop_all()
        now[0] += 200  # resumed much later: the rest of the budget is left
        restored = pickle.loads(checkpoint)
        assert not restored.stop_all()
        now[0] += 21
        assert restored.stop_all()


def test_timeout_stopper_under_freezegun() -> None:
    freezegun = pytest.importorskip("freezegun")
    with freezegun.freeze_time() as frozen:
        stopper = TimeoutStopper(timeout=60)
        assert not stopper.stop_all()
        frozen.tick(40)
        assert not stopper.stop_all()
        frozen.tick(22)
        assert stopper.stop_all()


# -- verbose=True/False --------------------------------------------------------------------
def test_verbose_true_and_false(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tune.run(_scored, name="quiet", storage_path=str(tmp_path), verbose=False)
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    tune.run(_scored, name="loud", storage_path=str(tmp_path), verbose=True)
    loud = capsys.readouterr()
    assert "_scored" in loud.out + loud.err  # the status report and the trial's lines
    results = tune.Tuner(
        _scored,
        run_config=tune.RunConfig(name="tuner", storage_path=str(tmp_path), verbose=False),
    ).fit()
    assert len(results) == 1
    assert capsys.readouterr().out == ""


def test_a_legacy_logger_opens_its_file_in_init(tmp_path):
    """Ray's own Logger classes open their files in ``_init``: the trial's directory exists
    by then, also when no built-in logger runs before it."""
    import os

    from tunelab.logger import Logger

    class TextLogger(Logger):
        def _init(self):
            self.file = open(os.path.join(self.logdir, "lines.txt"), "a")  # noqa: SIM115

        def on_result(self, result):
            self.file.write(f"{result['training_iteration']}\n")

        def close(self):
            self.file.close()

    def train(config):
        for _ in range(3):
            tune.report({"loss": 1.0})

    analysis = tune.run(train, loggers=[TextLogger], storage_path=str(tmp_path), verbose=0)
    [trial] = analysis.trials
    with open(os.path.join(trial.local_path, "lines.txt")) as fh:
        assert fh.read().split() == ["1", "2", "3"]
