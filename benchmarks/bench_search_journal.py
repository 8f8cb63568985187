"""Cost of journaling a learning searcher's state with every new trial (issue 10, point 2).

Run: ``python benchmarks/bench_search_journal.py [--trials 100 300 1000]``.

The controller writes the search algorithm's state in the journal line of each new trial,
so that a driver killed at any moment resumes the search exactly where it was. This drives
each searcher through :class:`tunelab.search.SearchGenerator` (the controller's path): it
creates N trials one at a time, completes each with a result, and at every creation times
``get_state`` plus the JSON encoding the journal does (C encoder). The table shows, at the
end of the run, the mean cost of one suggestion, the mean cost of one journaled state and
the size of the last state: the journal's cost per trial next to what choosing the trial
already costs.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings
from typing import Any

import tunelab as tune
from tunelab._experiment import Experiment
from tunelab._json import json_default
from tunelab.search import SearchGenerator


def _searchers() -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        from tunelab.search.optuna import OptunaSearch

        out["OptunaSearch (TPE)"] = lambda: OptunaSearch(seed=0)
    except ImportError:
        pass
    try:
        from tunelab.search.hyperopt import HyperOptSearch

        out["HyperOptSearch"] = lambda: HyperOptSearch(random_state_seed=0)
    except ImportError:
        pass
    try:
        import nevergrad as ng

        from tunelab.search.nevergrad import NevergradSearch

        out["NevergradSearch (OnePlusOne)"] = lambda: NevergradSearch(
            optimizer=ng.optimizers.OnePlusOne, random_state_seed=0
        )
    except ImportError:
        pass
    try:
        from tunelab.search.bohb import TuneBOHB

        out["TuneBOHB"] = lambda: TuneBOHB(seed=0)
    except ImportError:
        pass
    return out


def measure(make: Any, trials: int) -> tuple[float, float, int]:
    generator = SearchGenerator(make())
    space = {"x": tune.uniform(-5, 5), "y": tune.loguniform(1e-4, 1.0), "z": tune.choice([1, 2])}
    generator.set_search_properties("loss", "min", space)
    generator.add_configurations(
        [Experiment("bench", lambda c: None, config=space, num_samples=trials)]
    )
    suggest_s = state_s = 0.0
    size = 0
    for i in range(trials):
        started = time.perf_counter()
        suggestion = generator.next_trial()
        suggest_s += time.perf_counter() - started
        assert suggestion is not None
        started = time.perf_counter()
        state = generator.get_state()
        try:
            text = json.dumps(state)
        except (TypeError, ValueError):
            text = json.dumps(state, default=json_default)
        state_s += time.perf_counter() - started
        size = len(text)
        config = suggestion.config
        loss = (config["x"] - 1) ** 2 + config["y"] + config["z"]
        trial_id = suggestion.trial_id or str(i)
        generator.on_trial_result(trial_id, {"loss": loss, "training_iteration": 1})
        generator.on_trial_complete(trial_id, {"loss": loss, "training_iteration": 1})
    return suggest_s / trials, state_s / trials, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, nargs="+", default=[100, 300, 1000])
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    print("| searcher | trials | ms/suggest | ms/journaled state | state size |")
    print("|---|---|---|---|---|")
    for name, make in _searchers().items():
        for n in args.trials:
            suggest, state, size = measure(make, n)
            print(
                f"| {name} | {n} | {suggest * 1e3:.2f} | {state * 1e3:.2f} "
                f"| {size / 1024:.0f} KiB |"
            )


if __name__ == "__main__":
    main()
