"""Run Ray Tune's example scripts against a tunelab checkout and print the table, without
pytest.

    python tests/compat/run_examples.py [--generation 1.13.0 ...] [--jobs 2]
                                        [--only pbt_function.py ...] [--timeout 180]
                                        [--report compat-report.md] [--keep]

The scripts run with this interpreter and the tunelab it imports, so
``PYTHONPATH=/other/checkout/src python tests/compat/run_examples.py`` measures another
checkout (when that checkout has no porter, this checkout's ``tunelab/_port.py`` ports the
scripts). Exit status: 0 when no script failed, 1 otherwise, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import compat_examples as compat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--generation",
        action="append",
        choices=sorted(compat.EXAMPLES),
        help="a Ray version to run (repeatable; default: all)",
    )
    parser.add_argument("--only", action="append", help="a script name (repeatable)")
    parser.add_argument("--jobs", type=int, default=2, help="scripts run at a time (2)")
    parser.add_argument(
        "--timeout", type=float, default=compat.DEFAULT_TIMEOUT_S, help="seconds per script"
    )
    parser.add_argument("--report", type=Path, help="also write the markdown (and .json) here")
    parser.add_argument("--keep", action="store_true", help="keep the run directories")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    try:
        selection = compat.selection_for(args.generation, args.only)
    except ValueError as error:
        parser.error(str(error))
    work_dir = Path(tempfile.mkdtemp(prefix="tunelab-compat-"))
    outcomes: list[compat.Outcome] = []
    started = time.monotonic()
    try:
        for outcome in compat.run_examples(
            selection, work_dir, jobs=args.jobs, timeout_s=args.timeout
        ):
            outcomes.append(outcome)
            note = outcome.detail if outcome.status != "passed" else ""
            print(f"{outcome.generation} {outcome.script}: {outcome.status} {note}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work_dir, ignore_errors=True)
    print()
    print(compat.format_report(outcomes))
    print(f"total time: {time.monotonic() - started:.0f} s with --jobs {args.jobs}")
    if args.keep:
        print(f"run directories: {work_dir}")
    if args.report:
        markdown, as_json = compat.write_report(outcomes, args.report)
        print(f"report: {markdown} (and {as_json})")
    return 1 if any(o.status == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
