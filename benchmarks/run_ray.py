"""Ray Tune side of benchmarks/compare.py (run with the anchor venv's python)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

T0 = time.perf_counter()
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "1")
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "0")

from ray import tune  # noqa: E402

IMPORT_S = time.perf_counter() - T0

import ray  # noqa: E402
from _workloads import RssSampler, mb  # noqa: E402


def _report(metrics):  # type: ignore[no-untyped-def]
    report = getattr(tune, "report", None)
    if report is not None:
        try:
            return report(metrics)
        except TypeError:
            return report(**metrics)
    from ray import train

    return train.report(metrics)


class FirstResult(tune.Callback):
    def __init__(self) -> None:
        self.at = None

    def on_trial_result(self, iteration, trials, trial, result, **info):  # type: ignore[no-untyped-def]
        if self.at is None:
            self.at = time.perf_counter()


class Counter(tune.Callback):
    def __init__(self) -> None:
        self.first = None
        self.last = 0.0
        self.count = 0

    def on_trial_result(self, iteration, trials, trial, result, **info):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        if self.first is None:
            self.first = t
        self.last = t
        self.count += 1


def one_report(config):  # type: ignore[no-untyped-def]
    _report({"score": 1.0})


def many_reports(config):  # type: ignore[no-untyped-def]
    for i in range(config["n"]):
        _report({"score": float(i)})


def main() -> None:
    workload = sys.argv[1]
    out = {"workload": workload, "import_s": round(IMPORT_S, 4)}
    storage = tempfile.mkdtemp(prefix="ray-bench-")
    tuner_kwargs = dict(run_config=tune.RunConfig(storage_path=storage, verbose=0))
    if workload == "import":
        pass
    elif workload == "first_result":
        cb = FirstResult()
        tune.Tuner(
            one_report, run_config=tune.RunConfig(storage_path=storage, verbose=0, callbacks=[cb])
        ).fit()
        out["first_result_s"] = round((cb.at or 0) - T0, 4)
    elif workload == "trivial_trials":
        n = int(sys.argv[2])
        with RssSampler() as rss:
            start = time.perf_counter()
            tune.Tuner(
                one_report,
                tune_config=tune.TuneConfig(num_samples=n, reuse_actors=True),
                **tuner_kwargs,
            ).fit()
            out["wall_s"] = round(time.perf_counter() - start, 3)
        out["driver_rss_mb"] = mb(rss.driver_peak)
        out["total_rss_mb"] = mb(rss.total_peak)
    elif workload == "throughput":
        trials, results, concurrency = (int(x) for x in sys.argv[2:5])
        cb = Counter()
        start = time.perf_counter()
        tune.Tuner(
            many_reports,
            param_space={"n": results},
            tune_config=tune.TuneConfig(num_samples=trials, max_concurrent_trials=concurrency),
            run_config=tune.RunConfig(storage_path=storage, verbose=0, callbacks=[cb]),
        ).fit()
        wall = time.perf_counter() - start
        span = (cb.last - (cb.first or cb.last)) or 1e-9
        out.update(
            results=cb.count,
            wall_s=round(wall, 3),
            results_per_s_wall=round(cb.count / wall),
            results_per_s_stream=round(cb.count / span),
        )
    else:
        raise SystemExit(f"unknown workload {workload!r}")
    ray.shutdown()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
