"""REST API soak: thousands of generated requests against a live experiment's server.

The requests are those of the chaos suite's fuzz test (``tests/chaos/test_rest_fuzz.py``:
random and unknown methods, traversal paths and odd encodings, query strings, JSON bodies of
any shape, deeply nested, huge numbers, NaN, ``eval``/``sample_from`` forms, wrong and missing
tokens), without shrinking: every answer is recorded and the run goes on.

usage: python benchmarks/soak_rest.py [--requests 5000] [--seed N] [--out DIR]

Prints the requests sent, the status code histogram, the failures (5xx, timeouts, dropped
connections, the experiment ending early), whether any payload was evaluated, and whether
the experiment finished afterwards. Exits 1 when anything failed.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "chaos"))

from hypothesis import HealthCheck, Phase, given, seed, settings
from test_rest_fuzz import (
    Request,
    is_stop_experiment,
    probe,
    requests,
    send,
    serve_experiment,
)


def soak(storage: Path, count: int, random_seed: int) -> dict[str, Any]:
    marker = storage / "evaluated-marker"
    strategy = requests(marker)
    strategy.validate()
    failures: collections.Counter[str] = collections.Counter()
    examples: dict[str, str] = {}
    started = time.perf_counter()
    with serve_experiment(storage) as served:

        @seed(random_seed)
        @settings(
            max_examples=count,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def one(request: Request) -> None:
            if is_stop_experiment(request) or not served.running:
                return
            try:
                probe(served, request)
                return
            except AssertionError as exc:
                kind, error = "5xx or a non-JSON error", exc
            except TimeoutError as exc:
                kind, error = "timeout", exc
            except OSError as exc:
                kind, error = f"connection: {type(exc).__name__}", exc
            failures[kind] += 1
            examples.setdefault(kind, f"{request!r:.300} -> {error!r:.300}")

        one()
        still_running = served.running
        if not still_running:
            failures["the experiment ended early"] += 1
        elapsed = time.perf_counter() - started
        status, _ = send(served, "PUT", "/stop_experiment", b"", count=False)
        served.thread.join(60)
    analysis = served.outcome.get("analysis")
    return {
        "requests_sent": sum(served.counts.values()),
        "seconds": round(elapsed, 1),
        "status_histogram": dict(sorted(served.counts.items())),
        "failures": dict(failures),
        "failure_examples": examples,
        "payload_evaluated": marker.exists(),
        "experiment_finished": not served.running and "error" not in served.outcome,
        "trials_at_end": len(analysis.trials) if analysis is not None else None,
        "stop_status": status,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    storage = Path(args.out or tempfile.mkdtemp(prefix="tunelab-soak-rest-"))
    report = soak(storage, args.requests, args.seed)
    print(json.dumps(report, indent=2))
    ok = not report["failures"] and not report["payload_evaluated"]
    sys.exit(0 if ok and report["experiment_finished"] else 1)


if __name__ == "__main__":
    main()
