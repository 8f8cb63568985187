"""The ``tunelab`` command line."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="tunelab", description="Hyperparameter tuning in local worker processes."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("demo", help="run a real tuning demo (scikit-learn digits)", add_help=False)
    ls = sub.add_parser("ls", help="list the trials of an experiment directory")
    ls.add_argument("experiment_path")
    ls.add_argument("--sort", default=None, help="column(s) to sort by, comma separated")
    ls.add_argument("--desc", action="store_true", help="sort in descending order")
    ls.add_argument("--limit", type=int, default=None, help="show at most N rows")
    ls.add_argument("--columns", default=None, help="columns to show, comma separated")
    if argv[:1] == ["demo"]:
        from tunelab._demo import main as demo_main

        return demo_main(argv[1:])
    args = parser.parse_args(argv)
    if args.version:
        from tunelab import __version__

        print(__version__)
        return 0
    if args.command == "ls":
        return _ls(args)
    parser.print_help()
    return 0


def _ls(args: argparse.Namespace) -> int:
    import os

    from tunelab.analysis import ExperimentAnalysis

    if not os.path.isdir(args.experiment_path):
        print(f"tunelab ls: {args.experiment_path!r} is not a directory", file=sys.stderr)
        return 2
    frame = ExperimentAnalysis(args.experiment_path).dataframe()
    if args.columns:
        wanted = [c.strip() for c in args.columns.split(",") if c.strip()]
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            print(f"tunelab ls: unknown columns {missing}", file=sys.stderr)
            return 2
        frame = frame[wanted]
    else:
        keep = [
            c
            for c in frame.columns
            if c in ("trial_id", "training_iteration", "time_total_s", "mean_accuracy", "mean_loss")
            or c.startswith("config/")
        ]
        frame = frame[keep] if keep else frame
    if args.sort:
        frame = frame.sort_values(
            [c.strip() for c in args.sort.split(",")], ascending=not args.desc
        )
    if args.limit is not None:
        frame = frame.head(args.limit)
    from tabulate import tabulate

    rows = frame.to_dict(orient="records")
    print(tabulate(rows, headers="keys", tablefmt="psql", showindex=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
