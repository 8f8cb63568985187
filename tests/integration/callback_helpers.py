"""What the framework-callback tests (Keras, PyTorch Lightning, Hugging Face, XGBoost and
LightGBM) share: reading a trial's results, and the ASHA and PBT runs with the checks on
them. Each test trains a model that learns (a learning rate > 0) beside one that cannot
(learning rate 0.0).

The checks here carry their values in their messages: pytest rewrites the asserts of test
modules and conftest files only."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import tunelab as tune
from tunelab.schedulers import ASHAScheduler, PopulationBasedTraining

Lines = list[dict[str, Any]]


def read_results(trial_dir: str) -> Lines:
    """The results a trial reported, from its ``result.json``."""
    with open(os.path.join(trial_dir, "result.json")) as fh:
        return [json.loads(line) for line in fh]


# -- ASHA ------------------------------------------------------------------------------------


def run_asha(
    trainable: Callable[[dict[str, Any]], None], lrs: Sequence[float], storage_path: str
) -> Any:
    """One trial per ``config["lr"]`` in ``lrs`` under ASHA (rungs at 1, 2, 4 of 4
    iterations, minimizing ``"loss"``), 2 at a time; no trial may error. The result grid."""
    grid = tune.Tuner(
        trainable,
        param_space={"lr": tune.grid_search(list(lrs))},
        tune_config=tune.TuneConfig(
            metric="loss",
            mode="min",
            scheduler=ASHAScheduler(max_t=4, grace_period=1, reduction_factor=2),
            max_concurrent_trials=2,
        ),
        run_config=tune.RunConfig(name="asha", storage_path=storage_path, verbose=0),
    ).fit()
    assert grid.num_errors == 0, [r.error for r in grid if r.error]
    return grid


def assert_asha_stopped_the_two_that_cannot_learn(
    lr_and_iterations: Iterable[tuple[float, int]],
) -> None:
    """Of four trials, given as ``(learning rate, last training_iteration)``, the two good
    ones ran first and filled rung 1; the two with learning rate 0.0 arrived there with a
    worse metric and were stopped after one iteration, the others went on."""
    iterations = sorted(lr_and_iterations)
    assert iterations[:2] == [(0.0, 1), (0.0, 1)], iterations
    assert all(it > 1 for _, it in iterations[2:]), iterations


# -- PBT -------------------------------------------------------------------------------------


def run_pbt(
    trainable: Callable[[dict[str, Any]], None],
    lrs: Sequence[float],
    mutations: Sequence[float],
    storage_path: str,
) -> list[Lines]:
    """One trial per ``config["lr"]`` in ``lrs`` under synchronous PBT (perturbing every 2
    iterations, ``"lr"`` explored among ``mutations``, minimizing ``"loss"``, seed 0); no
    trial may error. Each trial's results."""
    pbt = PopulationBasedTraining(
        time_attr="training_iteration",
        perturbation_interval=2,
        hyperparam_mutations={"lr": list(mutations)},
        synch=True,
        seed=0,
    )
    grid = tune.Tuner(
        trainable,
        param_space={"lr": tune.grid_search(list(lrs))},
        tune_config=tune.TuneConfig(metric="loss", mode="min", scheduler=pbt),
        run_config=tune.RunConfig(name="pbt", storage_path=storage_path, verbose=0),
    ).fit()
    assert grid.num_errors == 0, [r.error for r in grid if r.error]
    return [read_results(r.path) for r in grid]


def pbt_donor_and_taker(
    results: Sequence[Lines], *, key: str, donor_lr: float, iterations: int
) -> tuple[Lines, Lines]:
    """The results of the trial that started with learning rate (``config[key]``)
    ``donor_lr`` and of the one that started with 0.0; every trial reports iterations
    1..``iterations`` once, though trials were restarted from a checkpoint."""
    donor = next(lines for lines in results if lines[0]["config"][key] == donor_lr)
    taker = next(lines for lines in results if lines[0]["config"][key] == 0.0)
    for lines in results:
        reported = [r["training_iteration"] for r in lines]
        assert reported == list(range(1, iterations + 1)), reported
    return donor, taker


def assert_taker_continued_from_the_donor(
    donor: Lines, taker: Lines, *, at: int, key: str, mutations: Sequence[float], metric: str
) -> None:
    """The trial that could not learn was exploited after result ``at - 1`` (0-based): result
    ``at`` has an explored learning rate and, trained on from the donor's checkpoint, a
    ``metric`` nearer the donor's result ``at - 1`` than its own before."""
    assert taker[at]["config"][key] in mutations, taker[at]["config"]
    before, after, donors = taker[at - 1][metric], taker[at][metric], donor[at - 1][metric]
    assert abs(after - donors) < abs(after - before), (before, after, donors)
