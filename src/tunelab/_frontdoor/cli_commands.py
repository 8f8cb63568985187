"""The commands of the ``tunelab`` command line (see :mod:`tunelab._frontdoor.cli` for the parser).

Each command takes the parsed arguments and returns the exit status; a problem the user
can fix is raised as :class:`~tunelab._frontdoor.cli.CLIError` (one line on standard error).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import io
import json
import operator
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import time
import tokenize
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tunelab._frontdoor.cli import CLIError

if TYPE_CHECKING:
    from pandas import DataFrame

    from tunelab._port import PortResult

__all__ = ["add_note", "dashboard", "load_experiment_specs", "ls", "lsx", "plot", "port", "run"]

#: Columns ``tunelab ls`` shows by default (then the metric and ``config/*``), as Ray Tune's
#: ``tune ls`` plus ``status``.
DEFAULT_TRIAL_COLUMNS = (
    "trainable_name",
    "experiment_tag",
    "trial_id",
    "status",
    "training_iteration",
    "time_total_s",
    "mean_accuracy",
    "mean_loss",
)
DEFAULT_PROJECT_COLUMNS = ("name", "total_trials", "last_updated")
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_FILTER = re.compile(r"^\s*(.+?)\s*(<=|>=|==|!=|<|>)\s*(.*?)\s*$")
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".p")


# -- tables ---------------------------------------------------------------------------------
def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _check_columns(frame: DataFrame, names: list[str], option: str) -> list[str]:
    """``names`` as columns of ``frame``: a short name of the progress table (``acc``,
    ``loss``, ``iter``, ``ts``, ``reward``) stands for its metric when no column has that
    name, so what the live table showed can be filtered and sorted by."""
    from tunelab.progress._table import DEFAULT_COLUMNS

    short = {alias: key for key, alias in DEFAULT_COLUMNS.items()}
    resolved = [
        name if name in frame.columns or short.get(name) not in frame.columns else short[name]
        for name in names
    ]
    missing = [name for name in resolved if name not in frame.columns]
    if missing:
        known = ", ".join(map(str, frame.columns))
        raise CLIError(f"{option}: unknown column(s) {missing}; columns are: {known}")
    return resolved


def _parse_value(text: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def _apply_filter(frame: DataFrame, expression: str) -> DataFrame:
    import pandas as pd

    match = _FILTER.match(expression)
    if match is None:
        raise CLIError(
            f'--filter: {expression!r} is not "<column> <op> <value>" with op one of '
            f"{' '.join(sorted(_OPS))}"
        )
    column, op, raw = match.groups()
    [column] = _check_columns(frame, [column], "--filter")
    value = _parse_value(raw)
    compare = _OPS[op]
    if isinstance(value, (int, float)):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        mask = compare(numbers, value) & numbers.notna()
    else:
        mask = compare(frame[column].astype(str), value)
    result: DataFrame = frame[mask]
    return result


def _shape_table(
    frame: DataFrame, args: argparse.Namespace, defaults: list[str], drop_empty: bool
) -> DataFrame:
    """Filter, sort, limit and pick the columns, as ``tune ls`` does."""
    for expression in args.filter or ():
        frame = _apply_filter(frame, expression)
    sort = _split(args.sort)
    if sort:
        sort = _check_columns(frame, sort, "--sort")
        frame = frame.sort_values(sort, ascending=not args.desc, na_position="last")
    if args.limit is not None:
        frame = frame.head(args.limit)
    columns = _split(args.columns)
    if columns:
        columns = _check_columns(frame, columns, "--columns")
    else:
        columns = [c for c in defaults if c in frame.columns]
        if drop_empty:
            columns = [c for c in columns if frame[c].notna().any()]
    shaped: DataFrame = frame[columns]
    return shaped


#: columns of names tunelab fills in: shown as they are (an id such as "00042" is not the
#: number 42), and not parsed as numbers cell by cell (most of a long table's cost)
_TEXT_COLUMNS = frozenset({"trainable_name", "trial_id", "status", "logdir", "name", "path"})


def _render(frame: DataFrame) -> list[str]:
    from tabulate import tabulate

    from tunelab._frontdoor.cli_table import psql_lines

    cells = frame.astype(object).where(frame.notna(), None).values.tolist()
    headers = [str(c) for c in frame.columns]
    text_columns = [i for i, name in enumerate(headers) if name in _TEXT_COLUMNS]
    lines = psql_lines(headers, cells, set(text_columns))  # tabulate's table, faster
    if lines is not None:
        return lines
    text = tabulate(
        cells, headers=headers, tablefmt="psql", missingval="", disable_numparse=text_columns
    )
    return text.splitlines()


def _print_table(frame: DataFrame, args: argparse.Namespace, empty_message: str) -> None:
    """Print ``frame`` (on a terminal, without the columns that do not fit) and write it
    to ``--output`` (with every column)."""
    if frame.empty:
        print(empty_message)
    else:
        shown = frame
        lines = _render(shown)
        dropped: list[str] = []
        if sys.stdout.isatty():
            width = shutil.get_terminal_size().columns
            while len(shown.columns) > 1 and max(len(line) for line in lines) > width:
                dropped.insert(0, str(shown.columns[-1]))
                shown = shown[shown.columns[:-1]]
                lines = _render(shown)
        print("\n".join(lines))
        if dropped:
            print(f"Columns left out to fit the terminal: {', '.join(dropped)}")
    if args.output:
        _write_output(frame, args.output)


def _write_output(frame: DataFrame, path: str) -> None:
    lower = path.lower()
    if lower.endswith(".csv"):
        frame.to_csv(path, index=False)
    elif lower.endswith(_PICKLE_SUFFIXES):
        frame.to_pickle(path)
    else:
        raise CLIError(f"--output: {path!r} must end with .csv, .pkl, .pickle or .p")
    print(f"Output saved at {path}")


# -- ls -------------------------------------------------------------------------------------
def _trial_rows(analysis: Any) -> list[dict[str, Any]]:
    from tunelab.analysis._io import flatten

    rows = []
    for trial in analysis.trials:
        last = {k: v for k, v in trial.last_result.items() if k != "config"}
        row: dict[str, Any] = {
            "trainable_name": trial.trainable_name,
            "experiment_tag": trial.experiment_tag or last.get("experiment_tag"),
            "trial_id": trial.trial_id,
            "status": trial.status.value,
        }
        for key, value in flatten(last).items():
            row.setdefault(key, value)
        row.update(flatten({"config": trial.config}))
        row["logdir"] = trial.local_path
        rows.append(row)
    return rows


def ls(args: argparse.Namespace) -> int:
    """``tunelab ls EXPERIMENT_PATH``: the trials of one experiment as a table."""
    from tunelab._json import paused_gc

    with paused_gc():  # a short command building many acyclic objects: see paused_gc
        return _ls(args)


def _ls(args: argparse.Namespace) -> int:
    import pandas as pd

    from tunelab.analysis import ExperimentAnalysis

    path = args.experiment_path
    if not os.path.exists(path):
        raise CLIError(f"{path!r} does not exist")
    _check_output_suffix(args.output)
    analysis = ExperimentAnalysis(path)
    frame = pd.DataFrame(_trial_rows(analysis))
    metric = analysis.default_metric
    defaults = [*DEFAULT_TRIAL_COLUMNS]
    if metric and metric not in defaults:
        defaults.append(metric)
    defaults += [c for c in frame.columns if str(c).startswith("config/")]
    frame = _shape_table(frame, args, defaults, drop_empty=True)
    _print_table(frame, args, f"No trials found in {path}")
    return 0


def _check_output_suffix(output: str | None) -> None:
    if output and not output.lower().endswith((".csv", *_PICKLE_SUFFIXES)):
        raise CLIError(f"--output: {output!r} must end with .csv, .pkl, .pickle or .p")


# -- lsx ------------------------------------------------------------------------------------
def _project_row(path: str, name: str) -> dict[str, Any]:
    total = 0
    newest = 0.0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith("checkpoint_")]
        total += files.count("result.json")
        for file in files:
            try:
                newest = max(newest, os.path.getmtime(os.path.join(root, file)))
            except OSError:
                continue
    updated = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(newest)) if newest else None
    return {"name": name, "total_trials": total, "last_updated": updated}


def lsx(args: argparse.Namespace) -> int:
    """``tunelab lsx PROJECT_PATH``: one row per experiment directory below it."""
    import pandas as pd

    path = args.project_path
    if not os.path.isdir(path):
        raise CLIError(f"{path!r} is not a directory")
    _check_output_suffix(args.output)
    names = sorted(
        name
        for name in os.listdir(path)
        if not name.startswith(".") and os.path.isdir(os.path.join(path, name))
    )
    rows = [_project_row(os.path.join(path, name), name) for name in names]
    frame = pd.DataFrame(rows, columns=list(DEFAULT_PROJECT_COLUMNS))
    frame = _shape_table(frame, args, list(DEFAULT_PROJECT_COLUMNS), drop_empty=False)
    _print_table(frame, args, f"No experiments found in {path}")
    return 0


# -- plot -----------------------------------------------------------------------------------
def plot(args: argparse.Namespace) -> int:
    """``tunelab plot EXPERIMENT_PATH``: learning curves, parallel coordinates, best so far."""
    from tunelab.analysis import ExperimentAnalysis

    path = args.experiment_path
    if not os.path.isdir(path):
        raise CLIError(f"{path!r} is not an experiment directory")
    kinds = set(args.kind or ["all"])
    if "all" in kinds:
        kinds = {"curves", "parallel", "best"}
    analysis = ExperimentAnalysis(path)
    metric = args.metric or analysis.default_metric
    if not metric:
        raise CLIError("the experiment has no default metric; pass --metric")
    mode = args.mode or analysis.default_mode
    if "best" in kinds and not mode:
        if args.kind and "best" in args.kind:
            raise CLIError("best_so_far needs a mode; pass --mode min or --mode max")
        print("best_so_far.png skipped: the experiment has no mode; pass --mode", file=sys.stderr)
        kinds.discard("best")
    out_dir = args.output_dir or path
    from tunelab import plot as plots

    params = _split(args.params) or None
    jobs: list[tuple[str, Callable[[str], Any]]] = []
    if "curves" in kinds:
        jobs.append(
            ("learning_curves.png", lambda p: plots.plot_learning_curves(analysis, metric, path=p))
        )
    if "parallel" in kinds:
        jobs.append(
            (
                "parallel_coordinates.png",
                lambda p: plots.plot_parallel_coordinates(
                    analysis, metric, params=params, path=p, mode=mode
                ),
            )
        )
    if "best" in kinds and mode:
        jobs.append(
            ("best_so_far.png", lambda p: plots.plot_best_so_far(analysis, metric, mode, path=p))
        )
    for filename, make in jobs:
        target = os.path.join(out_dir, filename)
        make(target)
        print(f"Wrote {target}")
    return 0


# -- run ------------------------------------------------------------------------------------
def _load_spec(path: str) -> Any:
    if not os.path.isfile(path):
        raise CLIError(f"spec file {path!r} does not exist")
    lower = path.lower()
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if lower.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CLIError(f"{path}: not valid JSON: {exc}") from None
    if lower.endswith((".yaml", ".yml")):
        from tunelab._errors import require

        yaml = require("yaml", extra="yaml", feature="tunelab run with a YAML spec")
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CLIError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    raise CLIError(f"spec file {path!r} must end with .yaml, .yml or .json")


def _import_object(reference: str, experiment: str) -> Any:
    module_name, _, attribute = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CLIError(
            f"experiment {experiment!r}: run={reference!r}: cannot import {module_name!r}: {exc}"
        ) from None
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise CLIError(
                f"experiment {experiment!r}: run={reference!r}: {module_name!r} has no "
                f"attribute {attribute!r}"
            ) from None
    return target


def _resolve_run(name: str, run: Any) -> Any:
    """``module:function`` / ``module:Class`` -> the object; registered names stay."""
    if not isinstance(run, str):
        raise CLIError(
            f"experiment {name!r}: run must be 'module:function', 'module:Class' or a "
            f"registered trainable name, got {run!r}"
        )
    if ":" in run:
        return _import_object(run, name)
    from tunelab import _registry

    if _registry.is_registered(run) or "." not in run:
        return run
    module_name, _, attribute = run.rpartition(".")
    return _import_object(f"{module_name}:{attribute}", name)


def _make_importable(*folders: str) -> None:
    """Put ``folders`` first on ``sys.path`` here and on ``PYTHONPATH`` for trial processes."""
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    for folder in reversed(folders):
        if folder not in sys.path:
            sys.path.insert(0, folder)
        if folder not in paths:
            paths.insert(0, folder)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)


def load_experiment_specs(path: str) -> dict[str, dict[str, Any]]:
    """The experiments of a YAML/JSON spec file, checked to hold only data.

    A spec file is data: a value that would be compiled or called (``{"eval": "..."}``) is a
    ``ValueError`` (:class:`~tunelab.search._resolve.UntrustedSpecError`) naming the file,
    the experiment and the key path (``config/lr``). ``run`` stays a reference to code that
    is already installed ("module:function" or a registered trainable name); it is imported,
    not evaluated. Parse errors are :class:`CLIError`.
    """
    from tunelab.search._resolve import check_data_only

    spec = _load_spec(path)
    if not isinstance(spec, dict) or not spec:
        raise CLIError(
            f"{path}: the spec must map experiment names to experiment specs "
            f"({{name: {{run: ..., config: ...}}}}), got {type(spec).__name__}"
        )
    experiments: dict[str, dict[str, Any]] = {}
    for name, entry in spec.items():
        if not isinstance(entry, dict):
            raise CLIError(f"experiment {name!r}: the spec must be a mapping, got {entry!r}")
        if "run" not in entry:
            raise CLIError(f"experiment {name!r}: the spec has no 'run' key")
        data = {key: value for key, value in entry.items() if key != "run"}
        check_data_only(data, source=f"the spec file {path} (experiment {str(name)!r})")
        experiments[str(name)] = entry
    return experiments


def run(args: argparse.Namespace) -> int:
    """``tunelab run SPEC``: ``run_experiments`` on a YAML/JSON spec file (resolved as
    untrusted: its configs may hold only data)."""
    from tunelab.search._resolve import untrusted_specs

    specs = load_experiment_specs(args.spec)
    _make_importable(os.getcwd(), os.path.dirname(os.path.abspath(args.spec)))
    experiments: dict[str, Any] = {}
    for name, entry in specs.items():
        experiments[name] = {**entry, "run": _resolve_run(name, entry["run"])}
    from tunelab import run_experiments

    with untrusted_specs(f"the spec file {args.spec}", prefix=("config",)):
        trials = run_experiments(experiments, verbose=args.verbose, raise_on_failed_trial=False)
    counts: dict[str, int] = {}
    for trial in trials:
        counts[trial.status.value] = counts.get(trial.status.value, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    paths = sorted({trial.experiment_path for trial in trials})
    print(f"{len(trials)} trials ({summary}); results in {', '.join(paths)}")
    failed = [t for t in trials if t.status.value == "ERROR"]
    if failed:
        files = ", ".join(str(t.error_file) for t in failed[:3])
        raise CLIError(f"{len(failed)} trial(s) failed; see {files}", status=1)
    return 0


# -- dashboard and add-note -----------------------------------------------------------------
def dashboard(args: argparse.Namespace) -> int:
    """``tunelab dashboard [PATH]``: serve the web dashboard."""
    from tunelab import _defaults

    path = args.path or _defaults.results_root()
    if "://" not in path and not os.path.isdir(path):
        raise CLIError(f"{path!r} is not a directory")
    try:
        # written separately (the server package); looked up at run time
        server = importlib.import_module("tunelab.server")
        dashboard_main = server.dashboard_main
    except (ImportError, AttributeError) as exc:
        raise CLIError(f"the dashboard is not available: {exc}") from None
    status = dashboard_main(path, args.host, args.port, not args.no_browser)
    return int(status)


def add_note(args: argparse.Namespace) -> int:
    """``tunelab add-note PATH``: edit ``PATH/<filename>`` with ``$EDITOR``."""
    if not os.path.isdir(args.path):
        raise CLIError(f"{args.path!r} is not a directory")
    if not args.filename or os.sep in args.filename or args.filename in (".", ".."):
        raise CLIError(f"--filename must be a plain file name, got {args.filename!r}")
    editor = os.environ.get("EDITOR") or "vim"
    command = [*shlex.split(editor), os.path.join(args.path, args.filename)]
    try:
        status = subprocess.call(command)
    except OSError as exc:
        raise CLIError(f"cannot start the editor {editor!r} (set $EDITOR): {exc}") from None
    if status != 0:
        raise CLIError(f"the editor {editor!r} exited with status {status}", status=1)
    return 0


# -- port -----------------------------------------------------------------------------------
def _read_script(path: str) -> tuple[str, str]:
    """The text of the Python file ``path`` (line endings kept) and its encoding."""
    if not os.path.exists(path):
        raise CLIError(f"{path!r} does not exist")
    if not os.path.isfile(path):
        raise CLIError(f"{path!r} is not a file")
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding), encoding
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        raise CLIError(f"{path}: cannot read it as Python source: {exc}") from None


def _modules_in(folder: str) -> dict[str, str]:
    """The modules directly in ``folder``: name -> the package directory, or ``""``."""
    found: dict[str, str] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(".py") and entry.is_file():
                found.setdefault(entry.name[:-3], "")
            elif entry.is_dir() and os.path.isfile(os.path.join(entry.path, "__init__.py")):
                found[entry.name] = entry.path
    return {name: path for name, path in found.items() if name.isidentifier()}


def _siblings(path: str, scripts: Sequence[str]) -> set[str]:
    """Module names importable from ``path``'s directory: its ``*.py`` files and packages,
    the packages' modules (``pkg.module``), and the scripts ported with it from there; not
    the script itself (``pbt_transformers/pbt_transformers.py`` imports its neighbours as
    ``ray.tune.examples.pbt_transformers.utils``)."""
    folder = os.path.dirname(os.path.abspath(path))
    names: set[str] = set()
    for name, package in _modules_in(folder).items():
        names.add(name)
        if package:
            names.update(f"{name}.{inner}" for inner in _modules_in(package))
    for script in scripts:
        if os.path.dirname(os.path.abspath(script)) == folder:
            names.add(os.path.splitext(os.path.basename(script))[0])
    names.discard(os.path.splitext(os.path.basename(path))[0])
    return names


def _port_script(path: str, scripts: Sequence[str]) -> tuple[PortResult, str, str]:
    from tunelab._port import port_source

    text, encoding = _read_script(path)
    try:
        return port_source(text, siblings=_siblings(path, scripts)), text, encoding
    except SyntaxError as exc:
        raise CLIError(f"{path}: line {exc.lineno}: syntax error: {exc.msg}") from None
    except ValueError as exc:  # a source Python cannot parse (null bytes, odd line endings)
        raise CLIError(f"{path}: {exc}") from None


def _diff(path: str, old: str, new: str) -> str:
    def lines(text: str) -> list[str]:
        return [line if line.endswith("\n") else line + "\n" for line in text.splitlines(True)]

    return "".join(difflib.unified_diff(lines(old), lines(new), f"a/{path}", f"b/{path}"))


def port(args: argparse.Namespace) -> int:
    """``tunelab port SCRIPT... [--write | --diff]``: rewrite Ray Tune imports to tunelab's.

    Every script is read and ported before anything is printed or written, so a bad script
    (missing, not Python) changes nothing. Without a flag, prints each changed line
    (``path:line: old -> new``) and what has no counterpart; ``--diff`` prints a unified
    diff (the findings go to standard error); ``--write`` also replaces each changed file
    atomically, keeping its encoding, line endings and permissions.
    """
    from tunelab._persistence.experiment_state import write_bytes_atomic

    scripts: list[str] = args.scripts
    ported = [(path, *_port_script(path, scripts)) for path in scripts]
    changed = found = 0
    for path, result, old, encoding in ported:
        changed += len(result.changes)
        found += len(result.findings)
        findings = [f"{path}:{f.line}: no counterpart: {f.message}" for f in result.findings]
        if args.diff:
            sys.stdout.write(_diff(path, old, result.source))
            for line in findings:
                print(line, file=sys.stderr)
            continue
        if not result.changes:
            print(f"{path}: no Ray import to change")
        for change in result.changes:
            print(f"{path}:{change.line}: {change.old.strip()} -> {change.new.strip()}")
        for line in findings:
            print(line)
        if args.write and result.changed:
            target = os.path.realpath(path)
            mode = stat.S_IMODE(os.stat(target).st_mode)
            write_bytes_atomic(target, result.source.encode(encoding), what="the ported script")
            os.chmod(target, mode)
    if not args.diff:
        done = "written" if args.write else "nothing written (--write to apply, --diff to see)"
        print(
            f"{len(ported)} file(s): {changed} line(s) changed, {found} without counterpart; {done}"
        )
    return 0
