"""Long chaos soak: hundreds of driver SIGKILLs at random moments, each followed by a
resume, over learning searchers, ASHA and PBT; every experiment is then checked as the
chaos suite checks it (exact trial counts, unique ids, tags and configurations, every
iteration logged once, restarts from the newest checkpoint).

usage: python benchmarks/soak_chaos.py [--kills-per-run 10] [--rounds 5] [--out DIR]

Prints one line per experiment and the totals (kills survived, trials and iterations
checked, restarts checked to begin at the newest checkpoint).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "chaos"))

from kill_loop import check_experiment, kill_and_resume

CASES = [
    # (searcher, scheduler, num_samples, unique configs, contiguous iterations)
    ("optuna", "fifo", 16, True, True),
    ("hyperopt", "fifo", 16, True, True),
    ("nevergrad", "fifo", 16, True, True),
    ("bohb", "hb_bohb", 16, True, True),
    ("random", "asha", 16, True, True),
    ("random", "pbt", 6, False, False),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills-per-run", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    root = Path(args.out or tempfile.mkdtemp(prefix="tunelab-soak-"))
    totals = {"experiments": 0, "kills": 0, "trials": 0, "iterations": 0, "restarts": 0}
    started = time.perf_counter()
    for round_ in range(args.rounds):
        for searcher, scheduler, n, unique, contiguous in CASES:
            storage = root / f"{round_}-{searcher}-{scheduler}"
            storage.mkdir(parents=True)
            report = kill_and_resume(
                storage,
                searcher=searcher,
                scheduler=scheduler,
                num_samples=n,
                kills=args.kills_per_run,
                seed=round_,
                max_new_steps=4,
                timeout_s=600,
            )
            counts = check_experiment(
                storage, report, num_samples=n, unique_configs=unique, contiguous=contiguous
            )
            totals["experiments"] += 1
            totals["kills"] += report.kills
            for key in ("trials", "iterations", "restarts"):
                totals[key] += counts[key]
            print(
                f"round {round_} {searcher:9s} {scheduler:7s}: {report.kills} kills, "
                f"{counts['trials']} trials, {counts['iterations']} iterations, "
                f"{counts['restarts']} restarts checked",
                flush=True,
            )
    print(f"TOTAL {totals} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
