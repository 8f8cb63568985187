"""GeneticSearch (Ray Tune 0.x-1.x's ray.tune.automl) in real experiments: local worker
processes, generation after generation, with a scheduler as in Ray's genetic_example."""

from __future__ import annotations

from typing import Any

import pytest

import tunelab as tune
from tunelab.automl import ContinuousSpace, DiscreteSpace, GeneticSearch, SearchSpace
from tunelab.schedulers import AsyncHyperBandScheduler

pytest.importorskip("numpy")


def space() -> SearchSpace:
    return SearchSpace(
        {
            ContinuousSpace("x", -4, 4, 33),
            ContinuousSpace("model.y", -2, 2, 17),
            DiscreteSpace("bonus", [0, 1, 2]),
        }
    )


def objective(config: dict[str, Any], reporter: Any) -> None:
    """A 0.x function trainable: the reward peaks at x=1, y=-1, bonus=2."""
    score = -((config["x"] - 1) ** 2) - (config["model"]["y"] + 1) ** 2 + config["bonus"]
    reporter(reward=score, fixed=config["fixed"])


def test_generations_run_as_trials_and_the_best_survives(tmp_path):
    search = GeneticSearch(
        space(), reward_attr="reward", max_generation=3, population_size=8, seed=0
    )
    analysis = tune.run(
        objective,
        config={"fixed": "kept"},
        search_alg=search,
        storage_path=str(tmp_path),
        verbose=0,
    )
    trials = analysis.trials
    assert len(trials) == 8 + 7 + 6
    assert all(t.status == "TERMINATED" for t in trials)
    choices = {p.name: p.choices for p in space().param_list}
    for trial in trials:
        assert trial.config["fixed"] == "kept"
        assert trial.config["x"] in choices["x"]
        assert trial.config["model"]["y"] in choices["model.y"]
        assert trial.config["bonus"] in (0, 1, 2)
        assert trial.last_result["fixed"] == "kept"
    rewards = [t.last_result["reward"] for t in trials]
    generations = [rewards[:8], rewards[8:15], rewards[15:]]
    # the best genes pass unchanged to the next generation: the best never gets worse
    assert max(generations[1]) >= max(generations[0])
    assert max(generations[2]) >= max(generations[1])
    best = search.get_best_trial()
    assert best is not None and best.best_result["reward"] == max(rewards)
    best_config = analysis.get_best_config(metric="reward", mode="max")
    assert best_config["x"] == best.param_config["x"]
    assert best_config["model"] == {"y": best.param_config["model.y"]}


def multi_step(config: dict[str, Any]) -> None:
    for step in range(1, 5):
        tune.report(neg_mean_loss=-abs(config["x"] - 1) - 1 / step, timesteps_total=step)


def test_with_a_scheduler_and_the_run_metric_as_in_rays_example(tmp_path):
    search = GeneticSearch(space(), "neg_mean_loss", max_generation=2, population_size=5, seed=3)
    analysis = tune.run(
        multi_step,
        metric="neg_mean_loss",
        mode="max",
        name="my_exp",
        search_alg=search,
        scheduler=AsyncHyperBandScheduler(grace_period=1, max_t=4),
        stop={"training_iteration": 100},
        storage_path=str(tmp_path),
        verbose=0,
    )
    assert len(analysis.trials) == 5 + 4
    assert all(t.status == "TERMINATED" for t in analysis.trials)
    iterations = [t.last_result["training_iteration"] for t in analysis.trials]
    assert max(iterations) == 4 and min(iterations) < 4  # ASHA stopped some trials early
    # each trial's reward grows with its steps: the search's best is the best last result
    best = search.get_best_trial()
    last = [t.last_result["neg_mean_loss"] for t in analysis.trials]
    assert best is not None and best.best_result["neg_mean_loss"] == max(last)


def test_tuner_takes_it_as_search_alg(tmp_path):
    tuner = tune.Tuner(
        objective,
        param_space={"fixed": 1},
        tune_config=tune.TuneConfig(
            search_alg=GeneticSearch(space(), "reward", population_size=4, seed=1)
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
    )
    grid = tuner.fit()
    assert len(grid) == 4 + 3 and grid.num_errors == 0
