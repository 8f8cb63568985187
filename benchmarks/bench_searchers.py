"""Search quality of the search-library adapters against random search, same budget and seeds.

Run: ``python benchmarks/bench_searchers.py [--budget N] [--seeds S] [--out FILE]``.

Every searcher is driven through :class:`tunelab.search.SearchGenerator` (the path the
controller takes), one trial at a time, on synthetic objectives with known minima; the table
shows the best value found after the whole budget (median and worst over the seeds), the
median best after a third of the budget, and the cost of one suggestion. ``optuna native``
is the anchor: Optuna's own ``study.optimize`` with the same sampler, seed and budget; the
``OptunaSearch`` row must match it (the adapter must not change what Optuna does). On the
all-float objectives ``hyperopt native`` (hyperopt's ``fmin``) anchors ``HyperOptSearch``
the same way (its ms/suggest column includes the objective, which is negligible).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tunelab as tune
from tunelab.search import BasicVariantGenerator, SearchAlgorithm, Searcher, SearchGenerator


@dataclass
class Objective:
    name: str
    space: Callable[[], dict[str, Any]]
    function: Callable[[dict[str, Any]], float]
    minimum: float


def branin(config: dict[str, Any]) -> float:
    x1, x2 = config["x1"], config["x2"]
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


_H_A = [
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
]
_H_P = [
    [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
    [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
    [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
    [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
]
_H_ALPHA = [1.0, 1.2, 3.0, 3.2]


def hartmann6(config: dict[str, Any]) -> float:
    x = [config[f"x{i}"] for i in range(6)]
    total = 0.0
    for alpha, a_row, p_row in zip(_H_ALPHA, _H_A, _H_P):
        total += alpha * math.exp(-sum(a * (xi - p) ** 2 for a, xi, p in zip(a_row, x, p_row)))
    return -total


def mixed(config: dict[str, Any]) -> float:
    """Two floats (one log-scaled), an int and a category: a tuning-like landscape."""
    lr_term = (math.log10(config["lr"]) + 2.5) ** 2
    width_term = ((config["width"] - 96) / 64) ** 2
    bonus = {"adam": 0.0, "sgd": 0.6, "rmsprop": 0.3}[config["optimizer"]]
    return lr_term + width_term + (config["dropout"] - 0.2) ** 2 * 4 + bonus


OBJECTIVES = [
    Objective(
        "branin (2 floats)",
        lambda: {"x1": tune.uniform(-5, 10), "x2": tune.uniform(0, 15)},
        branin,
        0.397887,
    ),
    Objective(
        "hartmann6 (6 floats)",
        lambda: {f"x{i}": tune.uniform(0, 1) for i in range(6)},
        hartmann6,
        -3.32237,
    ),
    Objective(
        "mixed (log, int, category)",
        lambda: {
            "lr": tune.loguniform(1e-5, 1e-1),
            "width": tune.randint(16, 257),
            "optimizer": tune.choice(["adam", "sgd", "rmsprop"]),
            "dropout": tune.uniform(0, 0.6),
        },
        mixed,
        0.0,
    ),
]


def searchers(budget: int) -> dict[str, Callable[[int], Searcher | SearchAlgorithm]]:
    import nevergrad as ng
    import optuna

    from tunelab.search.bohb import TuneBOHB
    from tunelab.search.hyperopt import HyperOptSearch
    from tunelab.search.nevergrad import NevergradSearch
    from tunelab.search.optuna import OptunaSearch

    return {
        "random (BasicVariantGenerator)": lambda s: BasicVariantGenerator(random_state=s),
        "HyperOptSearch (TPE)": lambda s: HyperOptSearch(random_state_seed=s),
        "OptunaSearch (TPE)": lambda s: OptunaSearch(sampler=optuna.samplers.TPESampler(seed=s)),
        "NevergradSearch (TBPSA)": lambda s: NevergradSearch(
            ng.optimizers.TBPSA, optimizer_kwargs={"budget": budget}, random_state_seed=s
        ),
        "NevergradSearch (OnePlusOne)": lambda s: NevergradSearch(
            ng.optimizers.OnePlusOne, optimizer_kwargs={"budget": budget}, random_state_seed=s
        ),
        "TuneBOHB (one budget)": lambda s: TuneBOHB(seed=s),
    }


@dataclass
class Run:
    best: float
    best_third: float
    suggest_ms: float


def run_tunelab(
    make: Callable[[int], Searcher | SearchAlgorithm],
    objective: Objective,
    budget: int,
    seed: int,
    *,
    time_learning: bool = False,
) -> Run:
    """One search of ``budget`` one-result trials, driven as a tuner drives it: each trial's
    result (with its cost, ``time_total_s``, which FLAML's searchers weigh configurations
    by) goes to ``on_trial_result``, then ends the trial. ``suggest_ms`` times the
    suggestions, and with ``time_learning`` the searcher's learning from results too (where
    scikit-optimize and BayesOpt fit their models)."""
    made = make(seed)
    alg = SearchGenerator(made) if isinstance(made, Searcher) else made
    space = objective.space()
    alg.set_search_properties("value", "min", space)
    alg.add_configurations([{"name": "bench", "config": space, "num_samples": budget}])
    values: list[float] = []
    spent = 0.0
    while len(values) < budget:
        start = time.perf_counter()
        suggestion = alg.next_trial()
        spent += time.perf_counter() - start
        if suggestion is None:
            raise RuntimeError(f"{made!r} stopped after {len(values)} suggestions")
        began = time.perf_counter()
        value = objective.function(suggestion.config)
        took = time.perf_counter() - began
        values.append(value)
        trial_id = suggestion.trial_id or str(len(values))
        result = {"value": value, "training_iteration": 1, "time_total_s": took}
        start = time.perf_counter()
        alg.on_trial_result(trial_id, result)
        alg.on_trial_complete(trial_id, result)
        if time_learning:
            spent += time.perf_counter() - start
    return Run(min(values), min(values[: budget // 3]), 1000 * spent / budget)


def run_optuna_native(objective: Objective, budget: int, seed: int) -> Run:
    import optuna

    space = objective.space()

    def suggest(trial: optuna.Trial) -> dict[str, Any]:
        config: dict[str, Any] = {}
        for name, domain in space.items():
            sampler = type(domain.get_sampler()).__name__
            if isinstance(domain, tune.search.Categorical):
                config[name] = trial.suggest_categorical(name, domain.categories)
            elif isinstance(domain, tune.search.Integer):
                config[name] = trial.suggest_int(name, domain.lower, domain.upper - 1)
            else:
                log = sampler == "LogUniform"
                config[name] = trial.suggest_float(name, domain.lower, domain.upper, log=log)
        return config

    values: list[float] = []
    spent = [0.0]

    def target(trial: optuna.Trial) -> float:
        start = time.perf_counter()
        config = suggest(trial)
        spent[0] += time.perf_counter() - start
        value = objective.function(config)
        values.append(value)
        return value

    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(target, n_trials=budget)
    return Run(min(values), min(values[: budget // 3]), 1000 * spent[0] / budget)


def run_hyperopt_native(objective: Objective, budget: int, seed: int) -> Run:
    """hyperopt's own ``fmin`` with TPE (floats only: the anchor of the float objectives)."""
    import numpy as np
    from hyperopt import Trials, fmin, hp, tpe

    space = objective.space()
    hp_space = {name: hp.uniform(name, d.lower, d.upper) for name, d in space.items()}
    trials = Trials()
    start = time.perf_counter()
    fmin(
        objective.function,
        hp_space,
        algo=tpe.suggest,
        max_evals=budget,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    spent = time.perf_counter() - start
    values = [float(v) for v in trials.losses()]
    return Run(min(values), min(values[: budget // 3]), 1000 * spent / budget)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=60, help="trials per search")
    parser.add_argument("--seeds", type=int, default=5, help="repetitions (seeds 0..S-1)")
    parser.add_argument("--out", default=None, help="also write the table to this file")
    args = parser.parse_args()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")  # libraries' own warnings do not belong in the table
    seeds = range(args.seeds)
    lines = [
        f"budget {args.budget} trials, seeds 0..{args.seeds - 1}, one trial at a time; "
        f"best value found (lower is better)",
        "",
        f"{'objective':<28} {'searcher':<30} {'median best':>12} {'worst best':>11} "
        f"{'med @1/3':>9} {'ms/suggest':>10}",
    ]
    for objective in OBJECTIVES:
        rows: list[tuple[str, list[Run]]] = []
        for name, make in searchers(args.budget).items():
            rows.append((name, [run_tunelab(make, objective, args.budget, s) for s in seeds]))
        rows.append(
            (
                "optuna native (anchor, TPE)",
                [run_optuna_native(objective, args.budget, s) for s in seeds],
            )
        )
        if all(isinstance(d, tune.search.Float) for d in objective.space().values()):
            rows.append(
                (
                    "hyperopt native (anchor, TPE)",
                    [run_hyperopt_native(objective, args.budget, s) for s in seeds],
                )
            )
        for name, runs in rows:
            best = [r.best for r in runs]
            lines.append(
                f"{objective.name:<28} {name:<30} {statistics.median(best):>12.4f} "
                f"{max(best):>11.4f} {statistics.median(r.best_third for r in runs):>9.4f} "
                f"{statistics.median(r.suggest_ms for r in runs):>10.2f}"
            )
        lines.append(f"{'':<28} {'(known minimum)':<30} {objective.minimum:>12.4f}")
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
