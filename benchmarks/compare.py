"""Run the core workloads against tunelab and, where installed, Ray Tune and Optuna, side by
side on this machine, and print a table with the ratios.

    python benchmarks/compare.py            # tunelab only, plus anchors found in
                                            # benchmarks/.venv-anchor (see README)
    python benchmarks/compare.py --quick    # smaller sizes

Anchors live in a separate virtual environment (never project dependencies):
    python3 -m venv benchmarks/.venv-anchor
    benchmarks/.venv-anchor/bin/pip install "ray[tune]" optuna psutil
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ANCHOR_PY = os.path.join(HERE, ".venv-anchor", "bin", "python")


def run(python: str, script: str, *args: str, timeout: float = 900) -> dict[str, object]:
    start = time.perf_counter()
    proc = subprocess.run(
        [python, os.path.join(HERE, script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=HERE,
        env={**os.environ, "PYTHONPATH": HERE},
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    line = proc.stdout.strip().splitlines()[-1]
    data: dict[str, object] = json.loads(line)
    data["process_s"] = round(elapsed, 3)
    return data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-anchors", action="store_true")
    args = parser.parse_args()
    n_trivial = "200" if args.quick else "1000"
    per_trial = "1000" if args.quick else "5000"
    workloads = [
        ("import", []),
        ("first_result", []),
        ("trivial_trials", [n_trivial]),
        ("throughput", ["2", per_trial, "2"]),
        ("throughput", ["16", "500", "2"]),
    ]
    runners = [
        ("tunelab", sys.executable, "run_tunelab.py"),
        ("floor", sys.executable, "run_floor.py"),
    ]
    if not args.no_anchors and os.path.exists(ANCHOR_PY):
        runners += [("ray", ANCHOR_PY, "run_ray.py"), ("optuna", ANCHOR_PY, "run_optuna.py")]
    rows = []
    for workload, wargs in workloads:
        row: dict[str, object] = {"workload": " ".join([workload, *wargs])}
        for name, python, script in runners:
            row[name] = run(python, script, workload, *wargs)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if "--quick" not in sys.argv:
        for trials in ("100", "10000"):
            data = run(sys.executable, "run_tunelab.py", "per_result_cost", trials, "20")
            print(
                json.dumps({"workload": f"per_result_cost {trials} trials x 20", "tunelab": data})
            )
    print()
    print(render(rows, [r[0] for r in runners]))


def _key_metric(data: dict[str, object]) -> tuple[str, object]:
    # results/s from fit() start to end (issue 14), not the stream between the first and
    # the last result, which leaves out the start
    for key in ("results_per_s_wall", "wall_s", "first_result_s", "import_s"):
        if key in data:
            return key, data[key]
    return "error", data.get("error")


def render(rows: list[dict[str, object]], names: list[str]) -> str:
    lines = [
        "| workload | metric | " + " | ".join(names) + " | ratio vs tunelab |",
        "|---|---|" + "---|" * len(names) + "---|",
    ]
    for row in rows:
        base = row["tunelab"]
        assert isinstance(base, dict)
        metric, value = _key_metric(base)
        cells = []
        ratios = []
        for name in names:
            data = row[name]
            assert isinstance(data, dict)
            v = data.get(metric, data.get("error", "-" if "skipped" in data else None))
            cells.append(str(v))
            if (
                name != "tunelab"
                and isinstance(v, (int, float))
                and isinstance(value, (int, float))
                and value
            ):
                ratio = v / value if metric != "results_per_s_wall" else value / v
                ratios.append(f"{name} {ratio:.1f}x")
        lines.append(
            f"| {row['workload']} | {metric} | "
            + " | ".join(cells)
            + " | "
            + ", ".join(ratios)
            + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
