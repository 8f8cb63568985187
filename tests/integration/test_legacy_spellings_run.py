"""Older Ray Tune spellings in real runs (local worker processes): a 0.5-style script (bare
spec lambdas, ``_setup(self)``, ``reward_attr``, ``get_best_config(metric)``, the checkpoint
as a path), the 0.x searcher signatures of Ray's own 0.8 examples, the 0.7 ``track`` API
inside a trial, and a 0.8 ``DurableTrainable`` whose checkpoints land in a bucket."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tunelab as tune
from tunelab import Trainable, track
from tunelab.schedulers import AsyncHyperBandScheduler, HyperBandForBOHB

hp = pytest.importorskip("hyperopt").hp
pytest.importorskip("nevergrad")

from nevergrad.optimization import optimizerlib  # noqa: E402

from tunelab.search.bohb import TuneBOHB  # noqa: E402
from tunelab.search.hyperopt import HyperOptSearch  # noqa: E402
from tunelab.search.nevergrad import NevergradSearch  # noqa: E402
from tunelab.trainable import DurableTrainable  # noqa: E402


def describe(config: dict[str, Any]) -> str:
    """A function kept in the config as data (2.x style): it must reach the trainable."""
    return f"alpha={config['alpha']:.3f}"


class Legacy05(Trainable):
    """The 0.5 class API: _setup without config, _train, _save returning a file path."""

    def _setup(self):  # type: ignore[override]
        self.alpha = self.config["alpha"]
        self.acc = 0.0

    def _train(self) -> dict[str, Any]:
        self.acc += self.alpha / 100
        return {
            "acc": self.acc,
            "beta_ok": self.config["beta"] == 2 * self.alpha,
            "described": self.config["describe"](self.config),
        }

    def _save(self, checkpoint_dir: str) -> str:
        path = os.path.join(checkpoint_dir, "checkpoint")
        with open(path, "w") as handle:
            handle.write(repr(self.acc))
        return path

    def _restore(self, path: str) -> None:
        with open(path) as handle:
            self.acc = float(handle.read())


def test_a_0x_script_runs_with_its_spellings(tmp_path: Path) -> None:
    with pytest.warns(FutureWarning, match="reward_attr"):
        scheduler = AsyncHyperBandScheduler(reward_attr="acc", grace_period=2, max_t=4)
    analysis = tune.run(
        Legacy05,
        name="legacy05",
        config={
            "alpha": lambda spec: np.random.uniform(1, 100),
            "beta": lambda spec: spec.config.alpha * 2,
            "describe": describe,
        },
        num_samples=3,
        stop={"training_iteration": 4},
        checkpoint_freq=1,
        scheduler=scheduler,
        storage_path=str(tmp_path),
        verbose=0,
    )
    trials = analysis.trials
    assert len(trials) == 3 and all(t.status == "TERMINATED" for t in trials)
    for trial in trials:
        alpha = trial.config["alpha"]
        assert isinstance(alpha, float) and 1 <= alpha <= 100
        assert trial.config["beta"] == 2 * alpha and trial.last_result["beta_ok"] is True
        assert trial.last_result["described"] == f"alpha={alpha:.3f}"
    # 0.8: get_best_config(metric) maximises; the best checkpoint is the path _save returned
    # (the file, as in 0.x-1.x), while .path is its directory
    best_config = analysis.get_best_config("acc")
    best = max(trials, key=lambda t: t.last_result["acc"])
    assert best_config == best.config
    checkpoint = analysis.get_best_checkpoint(best, "acc", "max")
    assert checkpoint is not None
    assert os.fspath(checkpoint) == os.path.join(checkpoint.path, "checkpoint")
    with open(checkpoint) as handle:
        assert float(handle.read()) == pytest.approx(best.last_result["acc"])


def _tracked(config: dict[str, Any]) -> None:
    session = track.get_session()
    for step in range(3):
        track.log(step=step, same_dir=track.trial_dir() == tune.get_trial_dir())
    session.log(step=3, name=track.trial_name(), trial_id=track.trial_id())
    session.shutdown()  # nothing to do inside a trial


def test_track_api_inside_a_trial(tmp_path: Path) -> None:
    analysis = tune.run(_tracked, name="track", storage_path=str(tmp_path), verbose=0)
    (trial,) = analysis.trials
    assert trial.status == "TERMINATED"
    assert trial.last_result["step"] == 3 and trial.last_result["training_iteration"] == 4
    assert trial.last_result["trial_id"] == trial.trial_id
    assert trial.last_result["name"] == str(trial)
    rows = analysis.trial_dataframes[trial.trial_id]
    assert list(rows["same_dir"].dropna()) == [True, True, True]


def easy_objective(config: dict[str, Any]) -> None:
    for step in range(3):
        tune.report(mean_loss=(0.1 + config["width"] * step / 100) ** -1 + config["height"] * 0.1)


def test_0_8_hyperopt_example_with_choice_indices(tmp_path: Path) -> None:
    space = {
        "width": hp.uniform("width", 0, 20),
        "height": hp.uniform("height", -100, 100),
        "activation": hp.choice("activation", ["relu", "tanh"]),
    }
    current_best_params = [
        {"width": 1, "height": 2, "activation": 0},  # the index of "relu"
        {"width": 4, "height": 2, "activation": 1},  # "tanh"
    ]
    algo = HyperOptSearch(
        space, metric="mean_loss", mode="min", points_to_evaluate=current_best_params
    )
    analysis = tune.run(
        easy_objective,
        search_alg=algo,
        num_samples=4,
        storage_path=str(tmp_path),
        max_concurrent_trials=1,
        verbose=0,
    )
    configs = [t.config for t in analysis.trials]
    assert len(configs) == 4 and all(t.status == "TERMINATED" for t in analysis.trials)
    assert (configs[0]["activation"], configs[0]["width"]) == ("relu", 1)
    assert (configs[1]["activation"], configs[1]["width"]) == ("tanh", 4)
    assert all(c["activation"] in ("relu", "tanh") for c in configs)


def test_0_8_nevergrad_example_signature(tmp_path: Path) -> None:
    optimizer = optimizerlib.OnePlusOne(2)
    algo = NevergradSearch(
        optimizer, ["height", "width"], metric="mean_loss", mode="min", max_concurrent=2
    )
    analysis = tune.run(
        easy_objective,
        search_alg=algo,
        scheduler=AsyncHyperBandScheduler(metric="mean_loss", mode="min"),
        num_samples=4,
        storage_path=str(tmp_path),
        verbose=0,
    )
    assert len(analysis.trials) == 4
    assert all(t.status == "TERMINATED" for t in analysis.trials)
    assert all(sorted(t.config) == ["height", "width"] for t in analysis.trials)


class BOHBTrainable(Trainable):
    def setup(self, config: dict[str, Any]) -> None:
        self.timestep = 0

    def step(self) -> dict[str, Any]:
        self.timestep += 1
        value = np.tanh(self.timestep / self.config["width"]) * self.config["height"] / 100
        return {"episode_reward_mean": float(value), "kind": self.config["kind"]}

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"timestep": self.timestep}

    def load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.timestep = checkpoint["timestep"]


def test_0_8_bohb_example_with_a_configuration_space(tmp_path: Path) -> None:
    CS = pytest.importorskip("ConfigSpace")
    config_space = CS.ConfigurationSpace()
    config_space.add(CS.UniformFloatHyperparameter("height", lower=10, upper=100))
    config_space.add(CS.UniformFloatHyperparameter("width", lower=1, upper=100))
    config_space.add(CS.Constant("kind", "mlp"))
    metrics = {"metric": "episode_reward_mean", "mode": "max"}
    bohb_hyperband = HyperBandForBOHB(
        time_attr="training_iteration", max_t=9, reduction_factor=3, **metrics
    )
    bohb_search = TuneBOHB(config_space, max_concurrent=2, **metrics)
    analysis = tune.run(
        BOHBTrainable,
        name="bohb_test",
        scheduler=bohb_hyperband,
        search_alg=bohb_search,
        num_samples=6,
        stop={"training_iteration": 9},
        storage_path=str(tmp_path),
        verbose=0,
    )
    assert len(analysis.trials) == 6
    assert all(t.status == "TERMINATED" for t in analysis.trials)
    for trial in analysis.trials:
        assert 10 <= trial.config["height"] <= 100 and 1 <= trial.config["width"] <= 100
        assert trial.last_result["kind"] == "mlp"


# -- DurableTrainable: 0.8 subclass, checkpoints in a bucket ---------------------------------
class Durable08(DurableTrainable):
    def __init__(self, remote_checkpoint_dir: Any, *args: Any, **kwargs: Any) -> None:
        self.remote_seen = remote_checkpoint_dir
        super().__init__(remote_checkpoint_dir, *args, **kwargs)

    def setup(self, config: dict[str, Any]) -> None:
        self.total = 0

    def step(self) -> dict[str, Any]:
        self.total += 1
        return {"total": self.total, "remote": self.remote_seen}

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"total": self.total}

    def load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.total = checkpoint["total"]


def test_durable_trainable_runs_locally(tmp_path: Path) -> None:
    analysis = tune.run(
        Durable08,
        name="durable",
        stop={"training_iteration": 3},
        checkpoint_freq=1,
        storage_path=str(tmp_path),
        verbose=0,
    )
    (trial,) = analysis.trials
    assert trial.status == "TERMINATED" and trial.last_result["total"] == 3
    assert trial.last_result["remote"] is None  # no remote storage
    assert analysis.get_last_checkpoint(trial) is not None


def test_durable_trainable_checkpoints_reach_the_bucket(
    tmp_path: Path, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("s3fs")
    from s3_helpers import remote_files

    monkeypatch.setenv("TUNELAB_RESULTS_DIR", str(tmp_path / "driver"))
    analysis = tune.run(
        Durable08,
        name="durable",
        stop={"training_iteration": 3},
        checkpoint_freq=1,
        storage_path=f"s3://{bucket}/root",
        verbose=0,
    )
    (trial,) = analysis.trials
    assert trial.status == "TERMINATED" and trial.last_result["total"] == 3
    trial_dir = os.path.basename(trial.local_path)
    files = remote_files(f"{bucket}/root/durable")
    assert any(p.startswith(f"{trial_dir}/checkpoint_") for p in files)
