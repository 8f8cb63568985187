"""``CSVLoggerCallback``: ``progress.csv`` per trial."""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tunelab._persistence.rollback import truncate_progress_csv
from tunelab.logger._logger_callback import (
    _MAX_BUFFERED_LINES,
    _FileLoggerCallback,
    _LineFile,
    _OpenFiles,
    _TrialLog,
)

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = ["EXPR_PROGRESS_FILE", "CSVLoggerCallback", "flatten_dict"]

EXPR_PROGRESS_FILE = "progress.csv"


def flatten_dict(
    value: Mapping[Any, Any], delimiter: str = "/", prefix: str = ""
) -> dict[Any, Any]:
    """Flatten nested dicts: ``{"a": {"b": 1}, "c": 2}`` -> ``{"a/b": 1, "c": 2}``.

    Keys keep their place; nested keys become ``"<outer><delimiter><inner>"`` strings.
    Empty nested dicts disappear.

    Args:
        value: The mapping to flatten.
        delimiter: What joins an outer and an inner key.
        prefix: Put before every top-level key (default: nothing).

    Returns:
        A new flat dict.
    """
    out: dict[Any, Any] = {}
    _flatten_into(out, value, prefix, delimiter)
    return out


def _flatten_into(out: dict[Any, Any], value: Mapping[Any, Any], prefix: str, delim: str) -> None:
    for key, item in value.items():
        name = f"{prefix}{key}" if prefix else key
        if isinstance(item, dict):
            _flatten_into(out, item, f"{name}{delim}", delim)
        else:
            out[name] = item


class _Sink:
    """The file object ``csv.writer`` writes rows into: a list's ``append``."""

    __slots__ = ("write",)

    def __init__(self, lines: list[str]) -> None:
        self.write = lines.append


def _read_header(path: str) -> list[str] | None:
    # a damaged byte must not stop a resume: it becomes U+FFFD in a column name
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        return next(csv.reader(fh), None)


class _CsvTrialLog(_TrialLog):
    """``progress.csv`` of one trial.

    Columns come from the first result (or from the header already in the file when a trial
    resumes): ``config`` is dropped, nested dicts are flattened with "/"; keys that appear
    only later are dropped, missing ones are left empty. Rows are built by looking the
    columns up in the result (one ``map`` over a precomputed key list); only results whose
    first row had nested dicts pay for flattening.
    """

    def __init__(
        self, trial_dir: str, files: _OpenFiles | None, owner: str = "", delimiter: str = "/"
    ) -> None:
        self._delim = delimiter
        what = f"the progress table of {owner or 'the trial in ' + trial_dir}"
        self.file = _LineFile(os.path.join(trial_dir, EXPR_PROGRESS_FILE), files, what)
        self._file_header = _read_header(self.file.path) if self.file.existing_size() else None
        self._keys: list[Any] | None = None
        self._nested: tuple[Any, ...] = ()
        self._lines = self.file.lines
        self._writer = csv.writer(_Sink(self._lines), lineterminator="\n")

    @property
    def columns(self) -> list[str] | None:
        return None if self._keys is None else [str(key) for key in self._keys]

    def _init_columns(self, result: Mapping[Any, Any]) -> list[Any]:
        """Columns for ``result`` (given without its ``config``)."""
        self._nested = tuple(key for key, value in result.items() if isinstance(value, dict))
        if self._file_header is not None:
            return list(self._file_header)
        return list(flatten_dict(result, self._delim))

    def write(self, result: dict[str, Any]) -> None:
        keys = self._keys
        if keys is None:
            keys = self._init_columns({k: v for k, v in result.items() if k != "config"})
            if not keys:
                return
            self._keys = keys
            if self._file_header is None:
                self._writer.writerow([str(key) for key in keys])
        if self._nested:
            flat = dict(result)
            for top in self._nested:
                value = result.get(top)
                if isinstance(value, dict):
                    _flatten_into(flat, value, f"{top}{self._delim}", self._delim)
            self._writer.writerow(map(flat.get, keys))
        else:
            self._writer.writerow(map(result.get, keys))
        if len(self._lines) >= _MAX_BUFFERED_LINES:
            self.file.flush()


class CSVLoggerCallback(_FileLoggerCallback[_CsvTrialLog]):
    """Writes each trial's results to ``progress.csv`` in its directory.

    ``config`` is left out; nested dicts are flattened with "/" (``info/lr``). The header
    is the first result's keys; keys that appear only in later results are dropped and
    missing ones written empty. A file that already has content (a resumed trial) is
    appended to under its existing header. Rows are buffered and written in
    ``on_step_end``, on checkpoint and at trial end. When a trial reruns iterations from a
    checkpoint, the rows after that checkpoint's iteration are cut first. With the
    :class:`~tunelab.execution.LocalExecutor`, the worker running the trial writes the
    same rows itself, before it sends each batch of results.

    One is part of the default loggers; passing your own instance in ``callbacks``
    replaces the default one.

    Args:
        delimiter: What joins the keys of nested dicts in column names (default ``"/"``:
            ``{"info": {"lr": 0.1}}`` becomes the column ``info/lr``). The default logger
            uses ``TUNELAB_RESULT_DELIM`` (Ray Tune's ``TUNE_RESULT_DELIM``).

    Raises:
        TypeError: ``delimiter`` is not a non-empty string.
    """

    def __init__(self, delimiter: str = "/") -> None:
        super().__init__()
        if not isinstance(delimiter, str) or not delimiter:
            raise TypeError(f"delimiter must be a non-empty str, got {delimiter!r}")
        self._delimiter = delimiter

    _truncate = staticmethod(truncate_progress_csv)

    @property
    def delimiter(self) -> str:
        """What joins the keys of nested dicts in column names."""
        return self._delimiter

    def _new_log(self, trial: Trial, trial_dir: str) -> _CsvTrialLog:
        return _CsvTrialLog(trial_dir, self._files, f"trial {trial}", self._delimiter)
