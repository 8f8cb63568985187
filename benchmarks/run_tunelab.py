"""tunelab side of benchmarks/compare.py: ``python run_tunelab.py WORKLOAD [ARGS]``.

Prints one JSON line with the measurements of the workload.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

T0 = time.perf_counter()

# BENCH_LOGGERS=default (the default): the loggers a user gets, JSON, CSV and TensorBoard
# when tensorboardX is installed (as Ray Tune's anchor, whose ray[tune] brings tensorboardX);
# BENCH_LOGGERS=jsoncsv: JSON and CSV only (the automatic loggers off)
if os.environ.get("BENCH_LOGGERS", "default") != "default":
    os.environ["TUNELAB_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"

import tunelab as tune  # noqa: E402

IMPORT_S = time.perf_counter() - T0

from _workloads import RssSampler, mb  # noqa: E402


class FirstResult(tune.Callback):
    def __init__(self) -> None:
        self.at: float | None = None

    def on_trial_result(self, **info):  # type: ignore[no-untyped-def]
        if self.at is None:
            self.at = time.perf_counter()


class Counter(tune.Callback):
    def __init__(self) -> None:
        self.first: float | None = None
        self.last = 0.0
        self.count = 0

    def on_trial_result(self, **info):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        if self.first is None:
            self.first = t
        self.last = t
        self.count += 1


def one_report(config):  # type: ignore[no-untyped-def]
    tune.report({"score": 1.0})


def many_reports(config):  # type: ignore[no-untyped-def]
    report = tune.report
    for i in range(config["n"]):
        report({"score": float(i)})


def loggers() -> list[tune.Callback]:
    """BENCH_LOGGERS=default (the default): the loggers a user gets (JSON, CSV, and
    TensorBoard when tensorboardX is installed); =jsoncsv: JSON and CSV only."""
    if os.environ.get("BENCH_LOGGERS", "default") == "default":
        return []
    from tunelab.logger import CSVLoggerCallback, JsonLoggerCallback

    return [JsonLoggerCallback(), CSVLoggerCallback()]


def main() -> None:
    workload = sys.argv[1]
    out: dict[str, object] = {"workload": workload, "import_s": round(IMPORT_S, 4)}
    storage = tempfile.mkdtemp(prefix="tunelab-bench-")
    if workload == "import":
        pass
    elif workload == "first_result":
        cb = FirstResult()
        tune.run(one_report, storage_path=storage, verbose=0, callbacks=[cb, *loggers()])
        out["first_result_s"] = round((cb.at or 0) - T0, 4)
    elif workload == "trivial_trials":
        n = int(sys.argv[2])
        with RssSampler() as rss:
            start = time.perf_counter()
            tune.run(
                one_report,
                num_samples=n,
                storage_path=storage,
                verbose=0,
                reuse_actors=True,
                callbacks=loggers(),
            )
            out["wall_s"] = round(time.perf_counter() - start, 3)
        out["driver_rss_mb"] = mb(rss.driver_peak)
        out["total_rss_mb"] = mb(rss.total_peak)
    elif workload == "throughput":
        trials, results, concurrency = (int(x) for x in sys.argv[2:5])
        cb = Counter()
        start = time.perf_counter()
        cpu = time.process_time()
        tune.run(
            many_reports,
            config={"n": results},
            num_samples=trials,
            max_concurrent_trials=concurrency,
            storage_path=storage,
            verbose=0,
            callbacks=[cb, *loggers()],
        )
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - start
        span = (cb.last - (cb.first or cb.last)) or 1e-9
        out.update(
            driver_cpu_us_per_result=round(cpu / max(cb.count, 1) * 1e6, 2),
            results_per_driver_cpu_s=round(cb.count / max(cpu, 1e-9)),
            results=cb.count,
            wall_s=round(wall, 3),
            results_per_s_wall=round(cb.count / wall),
            results_per_s_stream=round(cb.count / span),
        )
    elif workload == "per_result_cost":
        # time spent by the controller handling result batches, per result
        from tunelab._core.events import Events

        trials, results = int(sys.argv[2]), int(sys.argv[3])
        spent = [0.0]
        original = Events._on_results

        def timed(self, *args):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            original(self, *args)
            spent[0] += time.perf_counter() - t0

        Events._on_results = timed  # type: ignore[method-assign]
        cb = Counter()
        start = time.perf_counter()
        tune.run(
            many_reports,
            config={"n": results},
            num_samples=trials,
            storage_path=storage,
            verbose=0,
            callbacks=[cb, *loggers()],
        )
        wall = time.perf_counter() - start
        out.update(
            controller_us_per_result=round(spent[0] / max(cb.count, 1) * 1e6, 2),
            trials=trials,
            results=cb.count,
            wall_s=round(wall, 3),
            us_per_result=round(wall / max(cb.count, 1) * 1e6, 2),
        )
    else:
        raise SystemExit(f"unknown workload {workload!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
