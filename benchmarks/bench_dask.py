"""DaskExecutor next to LocalExecutor: per-trial overhead and result throughput.

``python benchmarks/bench_dask.py [TRIALS] [RESULTS]`` (defaults 500 and 5000) runs, with
each executor:

* trivial trials: TRIALS trials that report once (``reuse_actors=True``), and TRIALS/10
  to get the marginal cost of one more trial (without the run's fixed start-up);
* throughput: 2 trials reporting RESULTS results each, 2 at a time;

on a 2-worker ``LocalCluster`` (one thread per worker, worker processes) and on a
``LocalExecutor(num_cpus=2)``, and prints one JSON line per measurement and a table.
Each executor first runs a few trials untimed (imports in warm workers).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from typing import Any

import tunelab as tune
from tunelab.execution import LocalExecutor
from tunelab.execution.dask import DaskExecutor


class Counter(tune.Callback):
    def __init__(self) -> None:
        self.first: float | None = None
        self.last = 0.0
        self.count = 0

    def on_trial_result(self, **info: Any) -> None:
        t = time.perf_counter()
        if self.first is None:
            self.first = t
        self.last = t
        self.count += 1


def one_report(config: dict[str, Any]) -> None:
    tune.report({"score": 1.0})


def many_reports(config: dict[str, Any]) -> None:
    report = tune.report
    for i in range(config["n"]):
        report({"score": float(i)})


def trivial(executor: Any, trials: int) -> dict[str, Any]:
    storage = tempfile.mkdtemp(prefix="tunelab-bench-dask-")
    start = time.perf_counter()
    tune.run(
        one_report,
        num_samples=trials,
        storage_path=storage,
        verbose=0,
        reuse_actors=True,
        executor=executor,
    )
    wall = time.perf_counter() - start
    return {
        "trials": trials,
        "wall_s": round(wall, 3),
        "ms_per_trial": round(wall / trials * 1e3, 3),
        "trials_per_s": round(trials / wall, 1),
    }


def throughput(executor: Any, results: int) -> dict[str, Any]:
    storage = tempfile.mkdtemp(prefix="tunelab-bench-dask-")
    counter = Counter()
    cpu = time.process_time()
    start = time.perf_counter()
    tune.run(
        many_reports,
        config={"n": results},
        num_samples=2,
        max_concurrent_trials=2,
        storage_path=storage,
        verbose=0,
        callbacks=[counter],
        executor=executor,
    )
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    span = (counter.last - (counter.first or counter.last)) or 1e-9
    return {
        "results": counter.count,
        "wall_s": round(wall, 3),
        "results_per_s_wall": round(counter.count / wall),
        "results_per_s_stream": round(counter.count / span),
        "driver_cpu_us_per_result": round(cpu / max(counter.count, 1) * 1e6, 2),
    }


def main() -> None:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    results = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = Client(cluster, set_as_default=False)
    cluster_s = time.perf_counter() - start
    print(json.dumps({"localcluster_start_s": round(cluster_s, 3)}))
    rows: list[tuple[str, str, Any, Any]] = []
    measured: dict[str, dict[str, dict[str, Any]]] = {}
    try:
        executors = {
            "local": lambda: LocalExecutor(num_cpus=2),
            "dask": lambda: DaskExecutor(client),
        }
        for name, make in executors.items():
            trivial(make(), 4)  # warm-up
            small, full = trivial(make(), max(1, trials // 10)), trivial(make(), trials)
            # the marginal cost of one more trial, without the run's fixed start-up
            # (the local executor starts its worker processes in every run)
            extra = full["trials"] - small["trials"]
            full["marginal_ms_per_trial"] = round(
                (full["wall_s"] - small["wall_s"]) / max(extra, 1) * 1e3, 3
            )
            measured[name] = {"trivial": full, "throughput": throughput(make(), results)}
            for workload, values in measured[name].items():
                print(json.dumps({"executor": name, "workload": workload, **values}))
    finally:
        client.close()
        cluster.close()
    for workload, metric in (
        ("trivial", "ms_per_trial"),
        ("trivial", "marginal_ms_per_trial"),
        ("trivial", "trials_per_s"),
        ("throughput", "results_per_s_stream"),
        ("throughput", "results_per_s_wall"),
        ("throughput", "driver_cpu_us_per_result"),
    ):
        rows.append(
            (
                workload,
                metric,
                measured["local"][workload][metric],
                measured["dask"][workload][metric],
            )
        )
    print()
    print(f"| workload ({trials} trivial trials; 2x{results} results) | metric | local | dask |")
    print("|---|---|---|---|")
    for workload, metric, local, dask in rows:
        print(f"| {workload} | {metric} | {local} | {dask} |")


if __name__ == "__main__":
    main()
