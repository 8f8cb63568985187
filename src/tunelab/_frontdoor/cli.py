"""The ``tunelab`` command line: ``ls``, ``lsx``, ``plot``, ``run``, ``dashboard``,
``add-note``, ``port`` and ``demo``.

This module builds the argument parser and turns errors into one line on standard error
and a non-zero exit status (2: bad input, 1: the work failed, 130: interrupted). The
commands themselves live in :mod:`tunelab._frontdoor.cli_commands`; heavy imports (pandas,
matplotlib, the controller) happen only inside the command that needs them, so ``tunelab
--help`` is instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

__all__ = ["main"]

_PROG = "tunelab"


class CLIError(Exception):
    """A problem to report as one line, with the exit status to use."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (with a pointer to ``--help``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


_TRUE = ("1", "true", "yes", "y", "on")
_FALSE = ("0", "false", "no", "n", "off")


def _desc_flags(argv: list[str]) -> list[str]:
    """Ray Tune's ``--desc BOOL`` / ``--desc=BOOL`` rewritten as the flag ``--desc``."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            out.extend(argv[i:])
            break
        value: str | None = None
        if arg.startswith("--desc="):
            value = arg.split("=", 1)[1]
        elif arg == "--desc" and i + 1 < len(argv) and argv[i + 1].lower() in _TRUE + _FALSE:
            value = argv[i + 1]
            i += 1
        if value is None:
            out.append(arg)
        elif value.lower() in _TRUE:
            out.append("--desc")
        elif value.lower() not in _FALSE:
            out.append(arg)  # let the parser report it
        i += 1
    return out


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {value}")
    return value


def _add_table_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sort", metavar="COLS", help="sort by these columns (comma separated), ascending"
    )
    parser.add_argument(
        "--desc",
        action="store_true",
        help="sort in descending order (Ray Tune's --desc true/false is accepted too)",
    )
    parser.add_argument(
        "--filter",
        action="append",
        metavar='"COL OP VALUE"',
        help="keep rows where COL OP VALUE holds, OP one of < <= == != >= > "
        '(e.g. --filter "mean_accuracy >= 0.9"); repeat to combine',
    )
    parser.add_argument("--columns", metavar="COLS", help="columns to show (comma separated)")
    parser.add_argument("--limit", type=_positive_int, metavar="N", help="show at most N rows")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="also write the table to FILE: .csv, or .pkl/.pickle/.p (a pandas pickle)",
    )


_LS_HELP = """\
Lists the trials of one experiment: one row per trial, from the experiment's state file
(or its trial directories). Default columns: trainable_name, experiment_tag, trial_id,
status, training_iteration, time_total_s, mean_accuracy, mean_loss, the experiment's
metric and every config/* column (empty ones left out). Options are applied in the order
filter, sort, limit, columns. On a terminal, columns that do not fit are left out (named
below the table); pipe the output or use --columns to see them.

examples:
  tunelab ls ~/tunelab_results/my_exp --sort mean_accuracy --desc --limit 5
  tunelab ls ~/tunelab_results/my_exp --filter "config/lr < 0.01" --output trials.csv
"""

_LSX_HELP = """\
Lists the experiments in a project directory (such as ~/tunelab_results): one row per
sub-directory with its name, total_trials (result.json files below it) and last_updated
(the newest file's time). Same table options as `tunelab ls`.
"""

_PLOT_HELP = """\
Writes PNG plots of an experiment: learning_curves.png (the metric per iteration, one
line per trial), parallel_coordinates.png (parameters and metric, one line per trial) and
best_so_far.png (best metric against the number of trials). The metric and mode default
to the experiment's own. Needs the `plot` extra: pip install "tunelab[plot]".
"""

_RUN_HELP = """\
Runs the experiments of a run_experiments spec file (YAML or JSON):

  my_experiment:
    run: my_package.train:train_fn     # module:function, module:Class or a registered name
    stop: {training_iteration: 10}
    num_samples: 2
    config:
      lr: {grid_search: [0.01, 0.1]}
    storage_path: ./results             # relative paths are relative to the current directory

The current directory and the spec file's directory are importable, by this process and
by the trial processes. YAML needs the `yaml` extra: pip install "tunelab[yaml]".
Exit status 1 when a trial failed.
"""

_PORT_HELP = """\
Rewrites the imports of Ray Tune scripts to tunelab's: ray.tune -> tunelab,
ray.tune.<sub> -> tunelab.<sub>, ray.<other> -> tunelab.<other>, `import ray` ->
`import tunelab as ray`. Only import statements change; comments, whitespace and lines are
kept. An import of a Ray Tune example helper that lies next to the script
(`from ray.tune.examples.mnist_pytorch import train`) becomes an import of that file
(`from mnist_pytorch import train`). Prints every changed line and what has no counterpart
in tunelab (ray.rllib, ray.remote, ...) with its line number; changes nothing on disk
unless --write is given.

examples:
  tunelab port train.py              # show what would change
  tunelab port --diff train.py       # as a unified diff
  tunelab port --write *.py          # rewrite the files in place
"""


def _build_parser() -> _Parser:
    parser = _Parser(
        prog=_PROG,
        description="Hyperparameter tuning in local worker processes.",
        epilog="Run `tunelab COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    raw = argparse.RawDescriptionHelpFormatter

    sub.add_parser("demo", help="run a real tuning demo (scikit-learn digits)", add_help=False)

    ls = sub.add_parser(
        "ls",
        aliases=["list-trials"],
        help="list the trials of an experiment",
        description=_LS_HELP,
        formatter_class=raw,
    )
    ls.add_argument("experiment_path", metavar="EXPERIMENT_PATH")
    _add_table_options(ls)

    lsx = sub.add_parser(
        "lsx",
        aliases=["list-experiments"],
        help="list the experiments in a project directory",
        description=_LSX_HELP,
        formatter_class=raw,
    )
    lsx.add_argument("project_path", metavar="PROJECT_PATH")
    _add_table_options(lsx)

    plot = sub.add_parser(
        "plot", help="write PNG plots of an experiment", description=_PLOT_HELP, formatter_class=raw
    )
    plot.add_argument("experiment_path", metavar="EXPERIMENT_PATH")
    plot.add_argument("--metric", help="the metric to plot (default: the experiment's)")
    plot.add_argument("--mode", choices=("min", "max"), help="min or max (for best_so_far)")
    plot.add_argument(
        "--kind",
        action="append",
        choices=("curves", "parallel", "best", "all"),
        help="which plot(s) to write (default: all; repeat to pick several)",
    )
    plot.add_argument("--params", metavar="COLS", help="parameters of the parallel plot")
    plot.add_argument(
        "--output-dir", metavar="DIR", help="where to write the PNG files (default: the experiment)"
    )

    run = sub.add_parser(
        "run",
        help="run the experiments of a YAML or JSON spec file",
        description=_RUN_HELP,
        formatter_class=raw,
    )
    run.add_argument("spec", metavar="SPEC", help="a .yaml/.yml or .json file")
    run.add_argument("--verbose", type=int, choices=(0, 1, 2, 3), help="verbosity 0-3 (default: 1)")

    dashboard = sub.add_parser(
        "dashboard",
        help="serve the web dashboard for the experiments under a directory",
        description="Serves the web dashboard (experiments, trials, curves) over HTTP.",
    )
    dashboard.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="a results directory or one experiment (default: TUNELAB_RESULTS_DIR or "
        "~/tunelab_results)",
    )
    dashboard.add_argument("--host", default="127.0.0.1", help="address to listen on")
    dashboard.add_argument("--port", type=_port, default=8265, help="port (default: 8265)")
    dashboard.add_argument("--no-browser", action="store_true", help="do not open a web browser")

    note = sub.add_parser(
        "add-note",
        help="edit a note file in an experiment or trial directory with $EDITOR",
        description="Opens PATH/FILENAME in $EDITOR (default: vim); PATH must be a directory.",
    )
    note.add_argument("path", metavar="PATH")
    note.add_argument("--filename", default="note.txt", help="the note's file name")

    port = sub.add_parser(
        "port",
        help="rewrite the imports of Ray Tune scripts to tunelab's",
        description=_PORT_HELP,
        formatter_class=raw,
    )
    port.add_argument("scripts", nargs="+", metavar="SCRIPT", help="Python files to port")
    how = port.add_mutually_exclusive_group()
    how.add_argument("--write", action="store_true", help="rewrite the files in place")
    how.add_argument("--diff", action="store_true", help="print a unified diff")
    return parser


def _one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    lines = text.splitlines()
    extra = f" (+{len(lines) - 1} more lines)" if len(lines) > 1 else ""
    return lines[0] + extra


def _commands() -> dict[str, Callable[[argparse.Namespace], int]]:
    from tunelab._frontdoor import cli_commands as commands

    return {
        "ls": commands.ls,
        "list-trials": commands.ls,
        "lsx": commands.lsx,
        "list-experiments": commands.lsx,
        "plot": commands.plot,
        "run": commands.run,
        "dashboard": commands.dashboard,
        "add-note": commands.add_note,
        "port": commands.port,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tunelab`` command line.

    Errors are printed as one line on standard error, never as a traceback.

    Args:
        argv: The arguments after the program name; None: ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success, 2 for bad input, 1 when the work failed (for example,
        a trial of ``tunelab run`` failed), 130 on Ctrl+C.

    Raises:
        SystemExit: From argparse: ``--help`` (status 0) and malformed options (status 2).
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["demo"]:
        from tunelab._frontdoor.demo import main as demo_main

        return demo_main(args_list[1:])
    parser = _build_parser()
    if args_list[:1] and args_list[0] in ("ls", "list-trials", "lsx", "list-experiments"):
        args_list = _desc_flags(args_list)
    args = parser.parse_args(args_list)
    if args.version:
        from tunelab import __version__

        print(__version__)
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    prog = f"{_PROG} {args.command}"
    from tunelab._errors import TuneError

    try:
        return _commands()[args.command](args)
    except CLIError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except TuneError as exc:
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 2 if isinstance(exc, (ValueError, TypeError)) else 1  # bad input, or failed
    except (ValueError, TypeError, ImportError, OSError) as exc:
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
