"""Cost of journaling a learning searcher's state with every new trial (issue 10, point 2).

Run: ``python benchmarks/bench_search_journal.py [--trials 100 300 1000]``.

The controller writes the search algorithm's state in the journal line of each new trial,
so that a driver killed at any moment resumes the search exactly where it was. This drives
each searcher through :class:`tunelab.search.SearchGenerator` (the controller's path): it
creates N trials one at a time, completes each with a result, and at every creation times
``get_state`` plus :meth:`ExperimentStateWriter.record_trial` and the flush to disk, both
with the whole state in every line and with the deltas the writer now journals. The table
shows the mean cost of one suggestion, the mean cost of one journaled state (whole, delta)
and the size of the last journal line: the journal's cost per trial next to what choosing
the trial already costs.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
import warnings
from typing import Any

import tunelab as tune
from tunelab._experiment import Experiment
from tunelab._persistence.experiment_state import ExperimentStateWriter
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


class _Trial:
    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id

    def to_state(self, safe: bool = True) -> dict[str, Any]:
        return {"trial_id": self.trial_id, "status": "PENDING"}


def measure(make: Any, trials: int, full: bool) -> tuple[float, float, int]:
    """(s per suggestion, s per journaled state, journal bytes per trial at the end)."""
    generator = SearchGenerator(make())
    space = {"x": tune.uniform(-5, 5), "y": tune.loguniform(1e-4, 1.0), "z": tune.choice([1, 2])}
    generator.set_search_properties("loss", "min", space)
    generator.add_configurations(
        [Experiment("bench", lambda c: None, config=space, num_samples=trials)]
    )
    suggest_s = state_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        writer = ExperimentStateWriter(tmp, lambda safe=True: {"trials": []}, period_s=1e9)
        writer.start()
        journal = os.path.join(tmp, "experiment_state.journal")
        size = 0
        for i in range(trials):
            started = time.perf_counter()
            suggestion = generator.next_trial()
            suggest_s += time.perf_counter() - started
            assert suggestion is not None
            trial_id = suggestion.trial_id or str(i)
            before = os.path.getsize(journal) if os.path.exists(journal) else 0
            started = time.perf_counter()
            if full:  # every state whole (what the journal wrote before deltas)
                writer._search_seq = None
            writer.record_trial(_Trial(trial_id), generator.get_state())
            writer.flush()
            state_s += time.perf_counter() - started
            size = os.path.getsize(journal) - before
            config = suggestion.config
            loss = (config["x"] - 1) ** 2 + config["y"] + config["z"]
            generator.on_trial_result(trial_id, {"loss": loss, "training_iteration": 1})
            generator.on_trial_complete(trial_id, {"loss": loss, "training_iteration": 1})
        writer.close()
    return suggest_s / trials, state_s / trials, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, nargs="+", default=[100, 300, 1000])
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    print(
        "| searcher | trials | ms/suggest | ms/journaled state, whole | ms/journaled state, "
        "delta | journal line at the end, whole / delta |"
    )
    print("|---|---|---|---|---|---|")
    for name, make in _searchers().items():
        for n in args.trials:
            suggest, whole_s, whole_size = measure(make, n, full=True)
            _, delta_s, delta_size = measure(make, n, full=False)
            print(
                f"| {name} | {n} | {suggest * 1e3:.2f} | {whole_s * 1e3:.2f} | "
                f"{delta_s * 1e3:.2f} | {whole_size / 1024:.0f} KiB / {delta_size / 1024:.1f} KiB |"
            )


if __name__ == "__main__":
    main()
