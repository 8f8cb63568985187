"""The search-library adapters in real experiments: local worker processes, two trials at a
time, a quadratic objective; each finds a better optimum than random search would, and a
resumed experiment continues the same search."""

from __future__ import annotations

import statistics
from typing import Any

import pytest

import tunelab as tune

hyperopt = pytest.importorskip("hyperopt")
optuna = pytest.importorskip("optuna")
ng = pytest.importorskip("nevergrad")
pytest.importorskip("numpy")

from tunelab.search.bohb import TuneBOHB  # noqa: E402
from tunelab.search.hyperopt import HyperOptSearch  # noqa: E402
from tunelab.search.nevergrad import NevergradSearch  # noqa: E402
from tunelab.search.optuna import OptunaSearch  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)

NUM_SAMPLES = 40
# Random search over [-5, 5]^2 with 40 samples finds a loss below 0.5 with probability
# 1 - (1 - pi * 0.5 / 100) ** 40 = 47%: 0.5 is the typical (median) random result. Random
# search's later trials are no better than its first ones; a searcher's are.
BETTER_THAN_RANDOM = 0.5


def quadratic(config: dict[str, Any]) -> None:
    for step in range(3):
        value = (config["x"] - 1) ** 2 + (config["y"] + 2) ** 2
        tune.report({"loss": value + (2 - step) * 0.01, "step": step})


def space() -> dict[str, Any]:
    return {"x": tune.uniform(-5, 5), "y": tune.uniform(-5, 5), "tag": "fixed"}


SEARCHERS = {
    "hyperopt": lambda: HyperOptSearch(random_state_seed=0, n_initial_points=10),
    "optuna": lambda: OptunaSearch(seed=0),
    "nevergrad": lambda: NevergradSearch(
        ng.optimizers.TBPSA, optimizer_kwargs={"budget": NUM_SAMPLES}, random_state_seed=0
    ),
    "bohb": lambda: TuneBOHB(seed=0),
}


def losses(trials: list[Any]) -> list[float]:
    return [float(t.last_result["loss"]) for t in trials]


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_adapter_beats_random_search_with_two_workers(name, tmp_path):
    analysis = tune.run(
        quadratic,
        config=space(),
        search_alg=SEARCHERS[name](),
        metric="loss",
        mode="min",
        num_samples=NUM_SAMPLES,
        max_concurrent_trials=2,
        storage_path=str(tmp_path),
        verbose=0,
    )
    assert len(analysis.trials) == NUM_SAMPLES
    assert all(t.status == "TERMINATED" for t in analysis.trials)
    assert all(t.config["tag"] == "fixed" and -5 <= t.config["x"] < 5 for t in analysis.trials)
    values = losses(analysis.trials)
    assert min(values) < BETTER_THAN_RANDOM
    assert statistics.median(values[-10:]) < 0.6 * statistics.median(values[:10])


def test_tuner_with_an_adapter_space_in_param_space(tmp_path):
    tuner = tune.Tuner(
        quadratic,
        param_space=space(),
        tune_config=tune.TuneConfig(
            search_alg=OptunaSearch(seed=1),
            metric="loss",
            mode="min",
            num_samples=20,
            max_concurrent_trials=2,
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
    )
    grid = tuner.fit()
    assert len(grid) == 20 and grid.num_errors == 0
    assert grid.get_best_result().metrics["loss"] < 2.0


def test_space_given_twice_is_rejected_before_any_trial(tmp_path):
    with pytest.raises(ValueError, match="already has a search space"):
        tune.run(
            quadratic,
            config=space(),
            search_alg=HyperOptSearch(space(), metric="loss", mode="min"),
            num_samples=2,
            storage_path=str(tmp_path),
            verbose=0,
        )
    assert not list(tmp_path.glob("*/*/result.json"))


@pytest.mark.parametrize("name", ["hyperopt", "bohb"])
def test_resumed_experiment_continues_the_same_search(name, tmp_path):
    kwargs: dict[str, Any] = {
        "config": space(),
        "metric": "loss",
        "mode": "min",
        "max_concurrent_trials": 2,
        "storage_path": str(tmp_path),
        "name": "resumable",
        "verbose": 0,
    }
    first = tune.run(quadratic, search_alg=SEARCHERS[name](), num_samples=8, **kwargs)
    assert len(first.trials) == 8
    searcher = SEARCHERS[name]()
    second = tune.run(quadratic, search_alg=searcher, num_samples=16, resume=True, **kwargs)
    assert len(second.trials) == 16
    assert [t.config for t in second.trials[:8]] == [t.config for t in first.trials]
    state = searcher.get_state()
    if name == "hyperopt":  # the restored history holds the first run's trials too
        assert len(state["docs"]) == 16
    else:
        assert len({row[1] for row in state["observations"]}) == 16


def resumable_quadratic(config: dict[str, Any]) -> None:
    start = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        start = checkpoint.to_dict()["step"]
    for step in range(start + 1, 10):
        value = (config["x"] - 1) ** 2 + (config["y"] + 2) ** 2 + 1.0 / step
        tune.report({"loss": value}, checkpoint=tune.Checkpoint.from_dict({"step": step}))


def test_tune_bohb_with_hyperband_for_bohb_learns_per_budget(tmp_path):
    from tunelab.schedulers import HyperBandForBOHB

    searcher = TuneBOHB(seed=0, bohb_config={"min_points_in_model": 2})
    scheduler = HyperBandForBOHB(max_t=9, reduction_factor=3)
    scheduler.attach_searcher(searcher)
    analysis = tune.run(
        resumable_quadratic,
        config=space(),
        search_alg=searcher,
        scheduler=scheduler,
        metric="loss",
        mode="min",
        num_samples=16,
        storage_path=str(tmp_path),
        verbose=0,
    )
    assert len(analysis.trials) == 16
    assert all(t.status == "TERMINATED" for t in analysis.trials)
    budgets = {row[0] for row in searcher.get_state()["observations"]}
    assert len(budgets) >= 2  # results at several HyperBand milestones
    assert searcher.model_budgets()
    assert searcher.get_state()["running"] == [] and searcher.get_state()["paused"] == []


def test_the_front_door_tells_a_repeater_the_number_of_samples(tmp_path, caplog):
    import logging

    from tunelab.search import Repeater
    from tunelab.search.hyperopt import HyperOptSearch

    with caplog.at_level(logging.WARNING, logger="tunelab.search"):
        tune.run(
            lambda config: {"loss": config["x"]},
            config={"x": tune.uniform(0, 1)},
            search_alg=Repeater(HyperOptSearch(random_state_seed=0), repeat=3),
            num_samples=4,
            metric="loss",
            mode="min",
            storage_path=str(tmp_path),
            verbose=0,
        )
    assert "num_samples=4 is not a multiple of Repeater(repeat=3)" in caplog.text
