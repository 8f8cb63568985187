"""``Result``: what one trial produced (metrics, checkpoints, error, directory)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab._errors import TrialError
from tunelab._trial import Trial, TrialStatus
from tunelab.analysis import _io

if TYPE_CHECKING:
    from pandas import DataFrame

    from tunelab._checkpoint import Checkpoint

__all__ = ["Result"]


class _Lazy:
    """Marker of a field read from the trial directory on first access."""

    def __repr__(self) -> str:
        return "<lazy>"


_LAZY: Any = _Lazy()


def _checkpoint(path: str) -> Checkpoint:
    from tunelab._checkpoint import Checkpoint

    return Checkpoint(path)


def validate_mode(mode: Any, argument: str = "mode") -> str:
    if mode not in ("min", "max"):
        raise ValueError(f'`{argument}` must be "min" or "max", got {mode!r}')
    return str(mode)


class Result:
    """The outcome of one trial, as :class:`ResultGrid` hands it out.

    Attributes:
      ``metrics``: the last reported result (an unflattened dict, auto-filled keys and
        ``"config"`` included); ``{}`` before the first result.
      ``checkpoint``: the latest checkpoint (a :class:`~tunelab.Checkpoint`) or ``None``.
      ``error``: a :class:`~tunelab.TuneError` (``TrialError``) when the trial failed,
        else ``None``.
      ``path``: the trial directory (``log_dir`` is the same as a :class:`pathlib.Path`).
      ``metrics_dataframe``: every result of the trial, columns flattened with ``"/"``.
      ``best_checkpoints``: ``(Checkpoint, metrics)`` for each checkpoint kept on disk,
        oldest first, with the result reported at the checkpoint's iteration.

    Results built by :class:`ResultGrid` or :meth:`from_path` read the trial directory only
    when ``checkpoint``, ``error``, ``metrics_dataframe`` or ``best_checkpoints`` is first
    accessed, and keep what they read. The constructor builds a result from values you
    give (as Ray's ``Result(...)``); each argument is also the attribute of that name.

    Args:
        metrics: The last reported result (default ``{}``).
        checkpoint: The latest checkpoint, or None.
        error: The trial's error, or None.
        path: The trial directory.
        metrics_dataframe: Every result of the trial, or None.
        best_checkpoints: ``(Checkpoint, metrics)`` pairs, or None.
        log_dir: The 2.0-2.6 name of ``path`` (keyword only; give one of the two).

    Raises:
        TypeError: ``metrics`` is not a dict, or ``error`` not an exception.
        ValueError: ``path`` and ``log_dir`` name different directories.
    """

    def __init__(
        self,
        metrics: dict[str, Any] | None = None,
        checkpoint: Checkpoint | None = None,
        error: BaseException | None = None,
        path: str | os.PathLike[str] | None = None,
        metrics_dataframe: DataFrame | None = None,
        best_checkpoints: list[tuple[Checkpoint, dict[str, Any]]] | None = None,
        *,
        log_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if metrics is not None and not isinstance(metrics, dict):
            raise TypeError(f"`metrics` must be a dict or None, got {type(metrics).__name__}")
        if error is not None and not isinstance(error, BaseException):
            raise TypeError(f"`error` must be an exception or None, got {type(error).__name__}")
        if path is not None and log_dir is not None and os.fspath(path) != os.fspath(log_dir):
            raise ValueError(
                f"`path` and `log_dir` name the same directory; got {path!r} and {log_dir!r}"
            )
        where = path if path is not None else log_dir
        self.metrics: dict[str, Any] = metrics if metrics is not None else {}
        self.path: str = os.fspath(where) if where is not None else ""
        self._checkpoint: Any = checkpoint
        self._error: Any = error
        self._metrics_dataframe: Any = metrics_dataframe
        self._best_checkpoints: Any = best_checkpoints
        self._files = _io.TrialFiles(self.path)
        self._trial: Trial | None = None
        self._config: dict[str, Any] | None = None

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def _from_trial(cls, trial: Trial, files: _io.TrialFiles | None = None) -> Result:
        """A lazy result of a trial record (what :class:`ResultGrid` hands out)."""
        result = cls(metrics=dict(trial.last_result), path=trial.local_path)
        if files is not None:
            result._files = files
        result._trial = trial
        result._config = trial.config
        result._checkpoint = _LAZY
        result._error = _LAZY
        result._metrics_dataframe = _LAZY
        result._best_checkpoints = _LAZY
        return result

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> Result:
        """Rebuild the result of the trial whose directory is ``path``.

        ``metrics`` is the last line of ``result.json`` (else of ``progress.csv``), the config
        comes from ``params.json`` when the results lack it, ``error`` is set when the
        directory holds ``error.txt``.

        Args:
            path: A trial directory.

        Returns:
            A :class:`Result` that reads the rest of the directory when asked.

        Raises:
            ValueError: ``path`` is not a directory, or holds neither ``result.json`` nor
                ``progress.csv``.
        """
        where = os.fspath(path)
        if not os.path.isdir(where):
            raise ValueError(f"`path` must be a trial directory, got {where!r}, not a directory")
        files = _io.TrialFiles(where)
        if not files.has_results():
            raise ValueError(
                f"`path` must be a trial directory holding {_io.RESULT_FILE} or "
                f"{_io.PROGRESS_FILE}; {where!r} holds neither"
            )
        rows = files.rows()
        result = cls(metrics=dict(rows[-1]) if rows else {}, path=where)
        result._files = files
        result._config = files.params()
        result._checkpoint = _LAZY
        result._error = _LAZY
        result._metrics_dataframe = _LAZY
        result._best_checkpoints = _LAZY
        return result

    # -- fields -----------------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any] | None:
        """The trial's config: ``metrics["config"]``, else the config the trial started with."""
        config = self.metrics.get("config")
        if isinstance(config, dict):
            return config
        return self._config

    @property
    def log_dir(self) -> Path | None:
        """The trial directory as a :class:`pathlib.Path` (the 2.0-2.6 name of ``path``)."""
        return Path(self.path) if self.path else None

    @property
    def checkpoint(self) -> Checkpoint | None:
        """The trial's latest checkpoint, or None."""
        if self._checkpoint is _LAZY:
            self._checkpoint = self._load_checkpoint()
        return self._checkpoint  # type: ignore[no-any-return]

    @checkpoint.setter
    def checkpoint(self, value: Checkpoint | None) -> None:
        self._checkpoint = value

    @property
    def error(self) -> BaseException | None:
        """The trial's error (a ``TrialError`` holding its traceback) when it failed, else
        None."""
        if self._error is _LAZY:
            self._error = self._load_error()
        return self._error  # type: ignore[no-any-return]

    @error.setter
    def error(self, value: BaseException | None) -> None:
        self._error = value

    @property
    def metrics_dataframe(self) -> DataFrame | None:
        """Every result of the trial, one row each, columns flattened with ``"/"`` (None
        without a result file)."""
        if self._metrics_dataframe is _LAZY:
            self._metrics_dataframe = self._files.dataframe()
        return self._metrics_dataframe  # type: ignore[no-any-return]

    @metrics_dataframe.setter
    def metrics_dataframe(self, value: DataFrame | None) -> None:
        self._metrics_dataframe = value

    @property
    def best_checkpoints(self) -> list[tuple[Checkpoint, dict[str, Any]]] | None:
        """``(Checkpoint, metrics)`` for each checkpoint kept on disk, oldest first, with the
        result reported with it."""
        if self._best_checkpoints is _LAZY:
            self._best_checkpoints = [
                (_checkpoint(path), metrics)
                for _, path, metrics in self._files.checkpoint_results()
            ]
        return self._best_checkpoints  # type: ignore[no-any-return]

    @best_checkpoints.setter
    def best_checkpoints(self, value: list[tuple[Checkpoint, dict[str, Any]]] | None) -> None:
        self._best_checkpoints = value

    # -- queries ----------------------------------------------------------------------------
    def get_best_checkpoint(self, metric: str, mode: str) -> Checkpoint:
        """The checkpoint in ``best_checkpoints`` whose ``metric`` is the best for ``mode``.

        Checkpoints whose metrics lack ``metric`` (or hold NaN) are ignored; ties go to the
        oldest.

        Args:
            metric: The result key to rank by (nested keys written with ``"/"``).
            mode: ``"min"`` or ``"max"``.

        Returns:
            The best :class:`~tunelab.Checkpoint`.

        Raises:
            ValueError: ``mode`` or ``metric`` is invalid.
            RuntimeError: No checkpoint exists, or none has a number for ``metric``.
        """
        validate_mode(mode)
        if not isinstance(metric, str) or not metric:
            raise ValueError(f"`metric` must be a non-empty string, got {metric!r}")
        candidates = self.best_checkpoints or []
        if not candidates:
            raise RuntimeError(f"No checkpoint exists in the trial directory {self.path!r}")
        best: Any = None
        best_value = 0.0
        for checkpoint, metrics in candidates:
            value = _io.lookup(metrics, metric)
            if not _io.is_number(value) or math.isnan(float(value)):
                continue
            value = float(value)
            if best is None or (value > best_value if mode == "max" else value < best_value):
                best, best_value = checkpoint, value
        if best is None:
            available = sorted({key for _, metrics in candidates for key in _io.flatten(metrics)})
            raise RuntimeError(
                f"No checkpoint of {self.path!r} has a numeric value for metric {metric!r}; "
                f"metrics present: {available}"
            )
        return best  # type: ignore[no-any-return]

    # -- loading ----------------------------------------------------------------------------
    def _load_checkpoint(self) -> Checkpoint | None:
        trial = self._trial
        if trial is not None and trial.checkpoint is not None:
            from tunelab._checkpoint import Checkpoint as _Checkpoint

            latest = trial.checkpoint
            if not isinstance(latest, _Checkpoint) and isinstance(latest, (str, os.PathLike)):
                return _checkpoint(os.fspath(latest))
            return latest  # type: ignore[no-any-return]
        found = self._files.checkpoints()
        return _checkpoint(found[-1][1]) if found else None

    def _load_error(self) -> BaseException | None:
        trial = self._trial
        trial_id = ""
        if trial is not None:
            if trial.status is not TrialStatus.ERROR:
                return None
            trial_id = trial.trial_id
            text = self._files.error_text(trial.error_file)
            message = text or trial.error_msg or f"Trial {trial_id} errored"
        else:
            text = self._files.error_text()
            if text is None:
                return None
            trial_id = str(self.metrics.get("trial_id", ""))
            message = text
        return TrialError(message.rstrip("\n"), trial_id=trial_id, traceback=text or "")

    def __repr__(self) -> str:
        shown = {key: value for key, value in self.metrics.items() if key != "config"}
        parts = [f"metrics={shown!r}", f"path={self.path!r}"]
        if self._trial is not None:
            parts.append(f"status={self._trial.status.value}")
        return f"Result({', '.join(parts)})"
