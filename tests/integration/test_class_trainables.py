"""Class trainables (new and 0.x method names), run_experiments specs, resources."""

import itertools
import json
import os

import pytest

import tunelab as tune
from tunelab import Trainable
from tunelab._errors import ResourceError


def read_lines(trial_dir):
    with open(os.path.join(trial_dir, "result.json")) as fh:
        return [json.loads(line) for line in fh]


class NewStyle(Trainable):
    def setup(self, config):
        self.value = config["start"]
        self.seen_name = self.trial_name

    def step(self):
        self.value += 1
        return {
            "value": self.value,
            "logdir_ok": os.path.isdir(self.logdir),
            "name": self.seen_name,
            "iteration_seen": self.iteration,
        }

    def save_checkpoint(self, checkpoint_dir):
        return {"value": self.value}

    def load_checkpoint(self, checkpoint):
        self.value = checkpoint["value"]


class OldStyle(Trainable):
    def _setup(self, config):
        self.value = 0
        self.stopped_marker = config["marker"]

    def _train(self):
        self.value += 2
        return {"value": self.value}

    def _save(self, checkpoint_dir):
        path = os.path.join(checkpoint_dir, "state.txt")
        with open(path, "w") as fh:
            fh.write(str(self.value))
        return path

    def _restore(self, path):
        with open(path) as fh:
            self.value = int(fh.read())

    def _stop(self):
        with open(self.stopped_marker, "a") as fh:
            fh.write("stopped\n")


def test_new_style_class_trainable(tmp_path):
    analysis = tune.run(
        NewStyle,
        config={"start": tune.grid_search([0, 10])},
        stop={"training_iteration": 3},
        storage_path=str(tmp_path),
        name="cls",
        verbose=0,
    )
    values = sorted(t.last_result["value"] for t in analysis.trials)
    assert values == [3, 13]
    for trial in analysis.trials:
        lines = read_lines(trial.local_path)
        assert [r["training_iteration"] for r in lines] == [1, 2, 3]
        assert lines[0]["logdir_ok"] is True
        assert lines[0]["name"] == str(trial)
        assert [r["iteration_seen"] for r in lines] == [0, 1, 2]


def test_old_style_names_and_checkpoint_freq(tmp_path):
    marker = tmp_path / "stopped.txt"
    analysis = tune.run(
        OldStyle,
        config={"marker": str(marker)},
        stop={"training_iteration": 4},
        checkpoint_freq=2,
        checkpoint_at_end=True,
        storage_path=str(tmp_path),
        name="old",
        verbose=0,
    )
    trial = analysis.trials[0]
    assert trial.last_result["value"] == 8
    dirs = sorted(d for d in os.listdir(trial.local_path) if d.startswith("checkpoint_"))
    assert dirs == ["checkpoint_000002", "checkpoint_000004"]
    assert (tmp_path / "stopped.txt").read_text() == "stopped\n"


def test_restore_continues_iterations(tmp_path):
    trainable = NewStyle({"start": 5})
    trainable.train()
    trainable.train()
    path = trainable.save(str(tmp_path / "ckpt"))
    other = NewStyle({"start": 0})
    other.restore(path)
    result = other.train()
    assert result["value"] == 8
    assert result["training_iteration"] == 3
    assert result["iterations_since_restore"] == 1


def test_run_experiments_0x_spec(tmp_path):
    def train(config, reporter):
        for i in range(5):
            reporter(mean_accuracy=config["lr"] * i, timesteps_this_iter=10)

    trials = tune.run_experiments(
        {
            "zero_x": {
                "run": train,
                "stop": {"mean_accuracy": 0.3},
                "config": {"lr": tune.grid_search([0.1, 0.2])},
                "trial_resources": {"cpu": 1, "gpu": 0},
                "repeat": 1,
                "local_dir": str(tmp_path),
            }
        },
        verbose=0,
    )
    assert len(trials) == 2
    for trial in trials:
        last = trial.last_result
        assert last["mean_accuracy"] >= 0.3 or last["training_iteration"] == 5
        assert last["timesteps_total"] == 10 * last["training_iteration"]
    assert os.path.isdir(tmp_path / "zero_x")


def test_unknown_spec_key_is_an_error():
    with pytest.raises(ValueError, match="stopp"):
        tune.run_experiments({"e": {"run": lambda c: None, "stopp": {}}}, verbose=0)


def test_resources_that_never_fit_fail_before_trials(tmp_path):
    with pytest.raises(ResourceError, match="GPU"):
        tune.run(
            lambda c: None, resources_per_trial={"gpu": 64}, storage_path=str(tmp_path), verbose=0
        )
    # the same request through with_resources (the 2.x spelling), before any trial exists
    tuner = tune.Tuner(
        tune.with_resources(lambda c: None, {"gpu": 64}),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
    )
    with pytest.raises(ResourceError, match="GPU"):
        tuner.fit()
    assert not list(tmp_path.glob("*/*/result.json"))


def test_max_concurrent_trials_bounds_parallelism(tmp_path):
    def slow(config):
        import time

        start = time.time()
        time.sleep(0.2)
        tune.report(start=start, end=time.time())

    analysis = tune.run(
        slow,
        num_samples=4,
        max_concurrent_trials=1,
        storage_path=str(tmp_path),
        name="mct",
        verbose=0,
    )
    spans = sorted((t.last_result["start"], t.last_result["end"]) for t in analysis.trials)
    for (_s1, e1), (s2, _) in itertools.pairwise(spans):
        assert s2 >= e1 - 0.01


def test_validate_save_restore():
    from tunelab.utils import validate_save_restore

    assert validate_save_restore(NewStyle, {"start": 1}) is True

    class NoSave(Trainable):
        def step(self):
            return {"x": 1}

    with pytest.raises(NotImplementedError, match="save_checkpoint"):
        validate_save_restore(NoSave)
