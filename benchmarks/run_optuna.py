"""Optuna side of benchmarks/compare.py: in-process trials (Optuna has no worker processes),
the floor a process-free tuner sets for per-trial and per-report overhead."""

from __future__ import annotations

import json
import sys
import time

T0 = time.perf_counter()
import optuna  # noqa: E402

IMPORT_S = time.perf_counter() - T0
optuna.logging.set_verbosity(optuna.logging.WARNING)


def main() -> None:
    workload = sys.argv[1]
    out = {"workload": workload, "import_s": round(IMPORT_S, 4)}
    if workload == "import":
        pass
    elif workload == "first_result":
        study = optuna.create_study()
        first = []

        def objective(trial):  # type: ignore[no-untyped-def]
            trial.suggest_float("x", 0, 1)
            trial.report(1.0, 0)
            first.append(time.perf_counter())
            return 1.0

        study.optimize(objective, n_trials=1)
        out["first_result_s"] = round(first[0] - T0, 4)
    elif workload == "trivial_trials":
        n = int(sys.argv[2])
        study = optuna.create_study()
        start = time.perf_counter()
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=n)
        out["wall_s"] = round(time.perf_counter() - start, 3)
    elif workload == "throughput":
        trials, results, _concurrency = (int(x) for x in sys.argv[2:5])
        study = optuna.create_study()

        def objective(trial):  # type: ignore[no-untyped-def]
            for i in range(results):
                trial.report(float(i), i)
            return 0.0

        start = time.perf_counter()
        study.optimize(objective, n_trials=trials)
        wall = time.perf_counter() - start
        count = trials * results
        out.update(
            results=count,
            wall_s=round(wall, 3),
            results_per_s_wall=round(count / wall),
            results_per_s_stream=round(count / wall),
        )
    else:
        raise SystemExit(f"unknown workload {workload!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
