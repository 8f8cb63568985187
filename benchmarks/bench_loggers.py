"""Micro-benchmark of the file loggers: microseconds per result for each logger.

Run: ``python benchmarks/bench_loggers.py [--results N] [--trials T]``. Results go
through the same calls the controller makes (``on_trial_result`` for every result,
``on_step_end`` after every batch of 64 results), into a temporary directory.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from collections.abc import Callable
from typing import Any

from tunelab._callback import Callback, CallbackList
from tunelab._trial import Trial
from tunelab.logger import CSVLoggerCallback, JsonLoggerCallback


def _result(config: dict[str, Any], i: int, trial_id: str) -> dict[str, Any]:
    # A fresh config dict per result, as results arriving from a worker process have.
    return {
        "loss": 1.0 / (i + 1),
        "mean_accuracy": 0.5 + i * 1e-6,
        "training_iteration": i + 1,
        "time_this_iter_s": 0.00123,
        "time_total_s": 0.00123 * (i + 1),
        "timestamp": 1_700_000_000 + i,
        "date": "2024-01-01_12-00-00",
        "done": False,
        "trial_id": trial_id,
        "experiment_tag": "1_lr=0.001,batch_size=64",
        "pid": 12345,
        "hostname": "host",
        "node_ip": "127.0.0.1",
        "config": copy.deepcopy(config),
        "iterations_since_restore": i + 1,
        "time_since_restore": 0.00123 * (i + 1),
    }


def bench(logger: Callback, n_results: int, n_trials: int, root: str) -> float:
    config = {"lr": 0.001, "batch_size": 64, "momentum": 0.9, "layers": [64, 32], "act": "relu"}
    trials = [
        Trial("bench", trial_id=f"t{i:05d}", config=config, experiment_path=root, dirname=f"t{i}")
        for i in range(n_trials)
    ]
    for trial in trials:
        logger.on_trial_start(iteration=0, trials=trials, trial=trial)
    results = [_result(config, i, trials[i % n_trials].trial_id) for i in range(n_results)]
    start = time.perf_counter()
    for i, result in enumerate(results):
        logger.on_trial_result(
            iteration=i, trials=trials, trial=trials[i % n_trials], result=result
        )
        if i % 64 == 63:
            logger.on_step_end(iteration=i, trials=trials)
    logger.on_step_end(iteration=n_results, trials=trials)
    elapsed = time.perf_counter() - start
    logger.on_experiment_end(trials=trials)
    return elapsed / n_results * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=8)
    args = parser.parse_args()
    cases: list[tuple[str, Callable[[], Callback]]] = [
        ("JsonLoggerCallback", JsonLoggerCallback),
        ("CSVLoggerCallback", CSVLoggerCallback),
        ("both (CallbackList)", lambda: CallbackList([JsonLoggerCallback(), CSVLoggerCallback()])),
    ]
    for name, factory in cases:
        with tempfile.TemporaryDirectory() as root:
            us = bench(factory(), args.results, args.trials, root)
        print(f"{name:20s} {us:6.2f} us/result  ({1e6 / us:,.0f} results/s)")


if __name__ == "__main__":
    main()
