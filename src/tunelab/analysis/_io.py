"""Reading experiment and trial directories for the analysis layer.

Everything here is plain Python (``json``, ``csv``, ``os``); pandas is imported only by
:meth:`TrialFiles.dataframe`, when a caller asks for a DataFrame.

The layout read here is the one the controller and the file loggers write (see
``docs/architecture.md``)::

    <experiment>/experiment_state.json   {"version": 1, "name", "metric", "mode", "trials": [...]}
    <experiment>/<trial dir>/result.json one JSON object per line
                            /progress.csv flattened results, "/" as delimiter
                            /params.json  the trial's config
                            /error.txt    traceback(s) of failures
                            /checkpoint_<N>/
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import numbers
import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeGuard

from tunelab._errors import json_problem, loads_line
from tunelab._trial import Trial, TrialStatus

if TYPE_CHECKING:
    from pandas import DataFrame

logger = logging.getLogger("tunelab.analysis")

DELIMITER = "/"
EXPERIMENT_STATE_FILE = "experiment_state.json"
RESULT_FILE = "result.json"
PROGRESS_FILE = "progress.csv"
PARAMS_FILE = "params.json"
ERROR_FILE = "error.txt"
CHECKPOINT_DIR_NAME = "checkpoint_dir_name"

_CHECKPOINT_DIR = re.compile(r"^checkpoint_(\d+)$")


# -- values ---------------------------------------------------------------------------------
def is_number(value: Any) -> TypeGuard[float]:
    """True for real numbers (ints, floats, numpy scalars), False for bools and the rest."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_nan_or_inf(value: Any) -> bool:
    return is_number(value) and not math.isfinite(float(value))


def flatten(data: dict[str, Any], delimiter: str = DELIMITER) -> dict[str, Any]:
    """Flatten nested dicts into one level, joining keys with ``delimiter``.

    ``{"a": {"b": 1}, "c": 2}`` becomes ``{"a/b": 1, "c": 2}``. Lists are kept as values;
    empty nested dicts disappear.
    """
    out: dict[str, Any] = {}
    for key, value in data.items():
        if type(value) is dict:
            prefix = key + delimiter
            for inner_key, inner_value in flatten(value, delimiter).items():
                out[prefix + inner_key] = inner_value
        else:
            out[key] = value
    return out


def lookup(data: dict[str, Any], metric: str, delimiter: str = DELIMITER) -> Any:
    """The value of ``metric`` in ``data``; ``"a/b/c"`` reaches into nested dicts.

    A key spelled exactly like ``metric`` (as in flattened rows) wins. Returns ``None``
    when the metric is absent.
    """
    if metric in data:
        return data[metric]
    if delimiter not in metric:
        return None
    node: Any = data
    for part in metric.split(delimiter):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _parse_csv_value(text: str) -> Any:
    if text == "":
        return None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text in ("True", "False"):
        return text == "True"
    return text


# -- files ----------------------------------------------------------------------------------
def read_json_lines(path: str) -> list[dict[str, Any]] | None:
    """The JSON objects in ``path`` (one a line), or ``None`` when there is no such file.

    Blank lines are skipped, and so is a truncated last line (a run killed mid-write). A
    damaged line elsewhere is reported with a warning naming the file and the line: bytes
    that are not UTF-8 are read as U+FFFD (the line's other values are kept), a line that
    is not JSON even so is skipped (the lines after it are kept).
    """
    try:
        with open(path, encoding="utf-8") as handle:  # the common case
            lines = handle.readlines()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        with open(path, "rb") as handle:
            return _json_rows(path, handle.read().split(b"\n"))
    return _json_rows(path, lines)


def _json_rows(path: str, lines: list[Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    loads = json.loads
    last = len(lines)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = loads(line)
        except ValueError:
            raw = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line
            torn = number == last and not raw.endswith(b"\n")
            row = _damaged_line(path, number, raw, torn=torn)
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _damaged_line(path: str, number: int, line: bytes, *, torn: bool) -> Any:
    """A line ``json.loads`` refused, read leniently (see :func:`loads_line`), or None."""
    try:
        row, note = loads_line(line)
    except ValueError as exc:
        if torn:  # no newline after it: a run killed mid-write
            logger.warning("Skipping the incomplete last line of %s (line %d)", path, number)
        else:
            logger.warning("Skipping line %d of %s: %s", number, path, json_problem(exc)[1])
        return None
    if note is not None:
        logger.warning("Line %d of %s: %s", number, path, note)
    return row


def _last_json_line(path: str) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(lines):
        if line.strip():
            try:
                row, _ = loads_line(line)
            except ValueError:
                continue
            return row if isinstance(row, dict) else None
    return None


def read_csv_rows(path: str) -> list[dict[str, Any]] | None:
    """The rows of a ``progress.csv`` with numbers parsed, or ``None`` when it is missing.
    Bytes that are not UTF-8 are read as U+FFFD, with a warning naming the line."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        logger.warning(
            "Line %d of %s: byte 0x%02x is not UTF-8 (read as U+FFFD)",
            data[: exc.start].count(b"\n") + 1,
            path,
            data[exc.start],
        )
        text = data.decode("utf-8", "replace")
    return [
        {key: _parse_csv_value(value) for key, value in row.items() if key is not None}
        for row in csv.DictReader(io.StringIO(text, newline=""))
    ]


def read_json(path: str) -> Any:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    try:
        return json.loads(data)
    except ValueError as exc:
        line, problem = json_problem(exc)
        where = f"line {line} of {path}" if line is not None else path
        logger.warning("Could not parse %s as JSON: %s", where, problem)
        return None


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def checkpoint_dirs(trial_dir: str) -> list[tuple[int, str]]:
    """``(N, path)`` of every ``checkpoint_<N>`` directory in ``trial_dir``, by increasing N."""
    if not trial_dir:
        return []
    try:
        entries = list(os.scandir(trial_dir))
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for entry in entries:
        match = _CHECKPOINT_DIR.match(entry.name)
        if match and entry.is_dir():
            found.append((int(match.group(1)), entry.path))
    found.sort()
    return found


class TrialFiles:
    """Lazy, cached reader of one trial directory.

    Nothing is read until a method asks for it; results are cached until :meth:`clear`.
    Checkpoint directories are listed afresh on every call (they change while a run goes on).
    """

    def __init__(self, path: str, remote_checkpoints: Iterable[str] = ()) -> None:
        self.path = path
        # checkpoints workers uploaded straight to remote storage (URIs, from the trial's
        # record): listed with the local checkpoint directories
        self.remote_checkpoints = [p for p in remote_checkpoints if "://" in p]
        self._rows: list[dict[str, Any]] | None = None
        self._flat: list[dict[str, Any]] | None = None
        self._found = False

    def clear(self) -> None:
        self._rows = None
        self._flat = None
        self._found = False

    def _load(self) -> list[dict[str, Any]]:
        if self._rows is None:
            rows: list[dict[str, Any]] | None = None
            if self.path:
                rows = read_json_lines(os.path.join(self.path, RESULT_FILE))
                if rows is None:
                    rows = read_csv_rows(os.path.join(self.path, PROGRESS_FILE))
            self._found = rows is not None
            self._rows = rows or []
        return self._rows

    def has_results(self) -> bool:
        """True when the directory holds ``result.json`` or ``progress.csv``."""
        self._load()
        return self._found

    def rows(self) -> list[dict[str, Any]]:
        """Every result, oldest first: ``result.json`` lines, else parsed ``progress.csv``."""
        return self._load()

    def last_row(self) -> dict[str, Any] | None:
        """The last result, parsing only the last line of ``result.json`` when possible."""
        if self._rows is None and self.path:
            tail = _last_json_line(os.path.join(self.path, RESULT_FILE))
            if tail is not None:
                return tail
        rows = self._load()
        return rows[-1] if rows else None

    def flat_rows(self) -> list[dict[str, Any]]:
        """:meth:`rows` flattened with ``"/"`` (nested config included as ``config/...``)."""
        if self._flat is None:
            self._flat = [flatten(row) for row in self._load()]
        return self._flat

    def dataframe(self) -> DataFrame | None:
        """All results as a DataFrame with flattened columns; ``None`` without a result file."""
        if not self.has_results():
            return None
        import pandas as pd

        frame: DataFrame = pd.DataFrame(self.flat_rows())
        return frame

    def checkpoint_results(self) -> list[tuple[int, str, dict[str, Any]]]:
        """``(N, path, metrics)`` of each ``checkpoint_<N>`` directory, oldest first.

        ``metrics`` is the result that reported the checkpoint (its ``checkpoint_dir_name``
        names the directory), else the last result of ``training_iteration`` N, else just
        ``{"training_iteration": N}``.
        """
        found = self.checkpoints()
        if not found:
            return []
        by_name: dict[str, dict[str, Any]] = {}
        by_iteration: dict[Any, dict[str, Any]] = {}
        for row in self._load():
            name = row.get(CHECKPOINT_DIR_NAME)
            if isinstance(name, str):
                by_name[name] = row
            iteration = row.get("training_iteration")
            if isinstance(iteration, int):
                by_iteration[iteration] = row
        out = []
        for number, path in found:
            match = by_name.get(os.path.basename(path)) or by_iteration.get(number)
            out.append((number, path, dict(match) if match else {"training_iteration": number}))
        return out

    def checkpoints(self) -> list[tuple[int, str]]:
        found = checkpoint_dirs(self.path)
        if self.remote_checkpoints:
            local = {os.path.basename(path) for _, path in found}
            for uri in self.remote_checkpoints:
                match = _CHECKPOINT_DIR.match(uri.rstrip("/").rsplit("/", 1)[-1])
                if match and match.group(0) not in local:
                    found.append((int(match.group(1)), uri))
            found.sort()
        return found

    def params(self) -> dict[str, Any] | None:
        data = read_json(os.path.join(self.path, PARAMS_FILE)) if self.path else None
        return dict(data) if isinstance(data, dict) else None

    def error_text(self, error_file: str | None = None) -> str | None:
        """The text of ``error_file`` (when given and present), else of ``error.txt``."""
        if error_file:
            text = read_text(error_file)
            if text is not None:
                return text
        return read_text(os.path.join(self.path, ERROR_FILE)) if self.path else None


# -- experiments ----------------------------------------------------------------------------
def resolve_experiment_path(path: str) -> tuple[str, str | None]:
    """``(experiment directory, state file or None)`` for a directory or a state file.

    ``None`` means the directory has no ``experiment_state.json`` (its trial directories are
    then scanned; that also reads experiments written by Ray Tune). Raises ``ValueError``
    when ``path`` does not exist.
    """
    if os.path.isfile(path):
        return os.path.dirname(os.path.abspath(path)), path
    if not os.path.isdir(path):
        raise ValueError(
            f"experiment_checkpoint_path must be an experiment directory or its "
            f"{EXPERIMENT_STATE_FILE}, got {path!r}, which does not exist"
        )
    main = os.path.join(path, EXPERIMENT_STATE_FILE)
    return path, (main if os.path.isfile(main) else None)


def load_state(state_file: str) -> dict[str, Any]:
    """Read an ``experiment_state.json``; ``ValueError`` when it is not one."""
    from tunelab._persistence.experiment_state import STATE_VERSION
    from tunelab._persistence.experiment_state import load_state as load_with_journal

    data: Any = None
    if os.path.basename(state_file) == EXPERIMENT_STATE_FILE:
        data = load_with_journal(os.path.dirname(os.path.abspath(state_file)))
    if data is None:
        data = read_json(state_file)
    if not isinstance(data, dict) or not isinstance(data.get("trials"), list):
        raise ValueError(
            f"{state_file!r} is not a tunelab experiment state file "
            f'(a JSON object with a "trials" list)'
        )
    version = data.get("version", STATE_VERSION)
    if not isinstance(version, int) or version > STATE_VERSION:
        logger.warning(
            "%s has state version %r; this tunelab reads version %d, trying anyway",
            state_file,
            version,
            STATE_VERSION,
        )
    return data


def earlier_trials(experiment_path: str) -> list[Trial]:
    """The trials of the earlier experiments kept in ``experiment_path`` when new runs
    started there under the same name (``experiment_state-<date>.json``), oldest first; a
    file that cannot be read is skipped with a warning."""
    from tunelab._persistence.experiment_state import archived_states

    trials: list[Trial] = []
    for path in archived_states(experiment_path):
        try:
            state = load_state(path)
        except (OSError, ValueError) as exc:
            logger.warning("Could not read the earlier experiment state %s: %s", path, exc)
            continue
        trials.extend(trials_from_state(state, experiment_path))
    return trials


def trials_from_state(state: dict[str, Any], experiment_path: str) -> list[Trial]:
    from tunelab._json import paused_gc

    with paused_gc():  # many acyclic objects: see paused_gc
        return [Trial.from_state(entry, experiment_path) for entry in state["trials"]]


def scan_trials(experiment_path: str) -> tuple[list[Trial], dict[str, TrialFiles]]:
    """Rebuild trials from the trial directories below ``experiment_path``.

    Used when there is no state file (a hand-made or old experiment). A trial directory is one
    holding ``result.json``, ``progress.csv`` or ``params.json``; its trial is TERMINATED, its
    id comes from its last result (else the directory name) and its config from
    ``params.json`` (else the last result's ``"config"``). Returns the trials and the
    readers already filled while scanning.
    """
    trials: list[Trial] = []
    files: dict[str, TrialFiles] = {}
    markers = {RESULT_FILE, PROGRESS_FILE, PARAMS_FILE}
    for root, dirs, names in os.walk(experiment_path):
        dirs.sort()
        if root == experiment_path or not markers.intersection(names):
            dirs[:] = [d for d in dirs if not _CHECKPOINT_DIR.match(d)]
            continue
        dirs[:] = []  # a trial directory: do not look inside it for more trials
        reader = TrialFiles(root)
        last = reader.last_row() or {}
        dirname = os.path.relpath(root, experiment_path)
        trial_id = str(last.get("trial_id") or os.path.basename(root))
        config = reader.params()
        if config is None:
            config = last.get("config") if isinstance(last.get("config"), dict) else {}
        base = os.path.basename(root)
        marker = f"_{trial_id}"
        trainable = base.split(marker, 1)[0] if marker in base else ""
        trial = Trial(
            trainable,
            trial_id=trial_id,
            config=config,
            experiment_path=experiment_path,
            dirname=dirname,
            trial_name=None if trainable else base,
        )
        trial.status = TrialStatus.TERMINATED
        if last:
            trial.update_last_result(last)
        trials.append(trial)
        files[trial_id] = reader
    return trials, files
