"""The legacy (Ray Tune 0.x/1.x) logger API: ``Logger`` classes and ``LegacyLoggerCallback``.

A legacy logger is one object per trial, built as ``cls(config, logdir, trial)``; the
controller drives it through :class:`LegacyLoggerCallback`.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tunelab._errors import writing
from tunelab._json import json_safe, make_encoder
from tunelab._persistence.rollback import truncate_progress_csv, truncate_result_json
from tunelab.logger._csv import _CsvTrialLog
from tunelab.logger._json import _JsonTrialLog
from tunelab.logger._logger_callback import LoggerCallback, _each

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = [
    "DEFAULT_LOGGERS",
    "CSVLogger",
    "JsonLogger",
    "LegacyLoggerCallback",
    "Logger",
    "NoopLogger",
    "UnifiedLogger",
    "pretty_print",
]

_log = logging.getLogger("tunelab.logger")


class Logger:
    """Legacy per-trial logger (Ray Tune 0.x/1.x): one instance per trial.

    Subclasses override :meth:`on_result` (called once per result, in order) and may
    override ``_init`` (called at the end of the constructor, to open files),
    :meth:`update_config` (the trial runs again, perhaps with a new config),
    :meth:`flush` and :meth:`close` (the trial ended; called once), and the class methods
    :meth:`rollback_files` and :meth:`wait_for_closed`. Pass the classes to
    ``tune.run(loggers=[...])`` (they then replace the default loggers) or drive them with
    :class:`LegacyLoggerCallback`. New code should write a
    :class:`~tunelab.logger.LoggerCallback` instead.

    Args:
        config: The trial's config (kept as ``self.config``).
        logdir: The trial's directory (``self.logdir``). It may not exist yet when the
            logger is built: create it before writing into it.
        trial: The trial itself (``self.trial``), or None when built outside a run.
    """

    def __init__(self, config: dict[str, Any], logdir: str, trial: Trial | None = None) -> None:
        self.config = config
        self.logdir = logdir
        self.trial = trial
        self._init()

    def _init(self) -> None:
        """Set up files; called by the constructor."""

    def on_result(self, result: dict[str, Any]) -> None:
        """Log one result.

        Args:
            result: The reported result with the keys tunelab fills in.

        Raises:
            NotImplementedError: A subclass did not override it.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement on_result(result)")

    def update_config(self, config: dict[str, Any]) -> None:
        """The trial runs again, maybe with a changed config (a PBT exploit).

        Args:
            config: The trial's config now; the default stores it as ``self.config``.
        """
        self.config = config

    def flush(self) -> None:
        """Push buffered output to disk."""

    def close(self) -> None:
        """Release resources; the trial ended."""

    @classmethod
    def wait_for_closed(cls) -> None:
        """Wait for what closed loggers of this class left running in the background (a
        tracker's helper thread, which ``close`` does not wait for, so that a trial's end
        never stalls the run), so that everything is logged when the run returns.

        Called once per class at the end of the experiment, after every instance was
        closed. The default does nothing.
        """

    @classmethod
    def rollback_files(cls, logdir: str, to_iteration: int) -> None:
        """Drop what loggers of this class wrote for the iterations after ``to_iteration``.

        The trial is about to rerun them from a checkpoint. Called with no instance (the
        trial's loggers may not exist yet, after a resume), once their output is flushed.
        The default does nothing.

        Args:
            logdir: The trial's directory.
            to_iteration: The ``training_iteration`` of the checkpoint the trial restarts
                from (0: from scratch).
        """


class NoopLogger(Logger):
    """A logger that writes nothing.

    Args:
        config: The trial's config.
        logdir: The trial's directory.
        trial: The trial, or None.
    """

    def on_result(self, result: dict[str, Any]) -> None:
        """Ignore ``result``.

        Args:
            result: The reported result.
        """


class JsonLogger(Logger):
    """Writes ``params.json``, ``params.pkl`` and ``result.json`` (one line per result).

    The files are those of :class:`~tunelab.logger.JsonLoggerCallback`; every result is
    flushed to the OS.

    Args:
        config: The trial's config (written to ``params.json`` and ``params.pkl``).
        logdir: The trial's directory (created when missing).
        trial: The trial, or None.
    """

    def _init(self) -> None:
        owner = f"trial {self.trial}" if self.trial is not None else ""
        with writing(f"the directory of {owner or 'a trial'}", self.logdir):
            os.makedirs(self.logdir, exist_ok=True)
        self._log = _JsonTrialLog(self.logdir, None, make_encoder(), owner)
        self._log.update_config(self.config)

    def on_result(self, result: dict[str, Any]) -> None:
        """Append ``result`` to ``result.json``.

        Args:
            result: The reported result.
        """
        self._log.write(result)
        self._log.file.flush()

    def update_config(self, config: dict[str, Any]) -> None:
        """Rewrite ``params.json``/``params.pkl`` when ``config`` changed.

        Args:
            config: The trial's config now.
        """
        self.config = config
        self._log.update_config(config)

    def flush(self) -> None:
        self._log.file.flush()

    def close(self) -> None:
        self._log.file.close()

    @classmethod
    def rollback_files(cls, logdir: str, to_iteration: int) -> None:
        """Cut the lines after ``to_iteration`` from ``result.json``.

        Args:
            logdir: The trial's directory.
            to_iteration: The last iteration to keep.
        """
        truncate_result_json(logdir, to_iteration)


class CSVLogger(Logger):
    """Writes ``progress.csv`` into ``logdir``; every result is flushed to the OS.

    The columns are those of :class:`~tunelab.logger.CSVLoggerCallback` (nested keys joined
    with ``"/"``).

    Args:
        config: The trial's config (not written).
        logdir: The trial's directory (created when missing).
        trial: The trial, or None.
    """

    def _init(self) -> None:
        owner = f"trial {self.trial}" if self.trial is not None else ""
        with writing(f"the directory of {owner or 'a trial'}", self.logdir):
            os.makedirs(self.logdir, exist_ok=True)
        self._log = _CsvTrialLog(self.logdir, None, owner)

    def on_result(self, result: dict[str, Any]) -> None:
        """Append ``result`` as a row of ``progress.csv``.

        Args:
            result: The reported result.
        """
        self._log.write(result)
        self._log.file.flush()

    def flush(self) -> None:
        self._log.file.flush()

    def close(self) -> None:
        self._log.file.close()

    @classmethod
    def rollback_files(cls, logdir: str, to_iteration: int) -> None:
        """Cut the rows after ``to_iteration`` from ``progress.csv``.

        Args:
            logdir: The trial's directory.
            to_iteration: The last iteration to keep.
        """
        truncate_progress_csv(logdir, to_iteration)


#: The loggers :class:`UnifiedLogger` uses when given none.
DEFAULT_LOGGERS: tuple[type[Logger], ...] = (JsonLogger, CSVLogger)


def _check_logger_classes(name: str, classes: Any) -> tuple[type[Logger], ...]:
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Iterable):
        raise TypeError(f"{name} must be a list of Logger subclasses, got {classes!r}")
    out = tuple(classes)
    for cls in out:
        if not (isinstance(cls, type) and issubclass(cls, Logger)):
            raise TypeError(
                f"{name} must hold subclasses of tunelab.logger.Logger, got {cls!r} in {classes!r}"
            )
    return out


def _flush(logger: Logger) -> None:
    logger.flush()


def _close(logger: Logger) -> None:
    logger.close()


def _wait_for_closed(logger_class: type[Logger]) -> None:
    logger_class.wait_for_closed()


class UnifiedLogger(Logger):
    """Forwards every call to one instance of each class in ``loggers``.

    A class whose constructor fails is skipped with a warning.

    Args:
        config: The trial's config, handed to every logger.
        logdir: The trial's directory, handed to every logger.
        trial: The trial, or None.
        loggers: The :class:`Logger` classes to build (default
            :data:`~tunelab.logger.DEFAULT_LOGGERS`: JSON, CSV, and TensorBoard when
            tensorboardX is installed).

    Raises:
        TypeError: ``loggers`` holds something that is not a :class:`Logger` subclass.
    """

    def __init__(
        self,
        config: dict[str, Any],
        logdir: str,
        trial: Trial | None = None,
        loggers: Iterable[type[Logger]] | None = None,
    ) -> None:
        self._logger_classes = (
            DEFAULT_LOGGERS if loggers is None else _check_logger_classes("loggers", loggers)
        )
        self._loggers: list[Logger] = []
        super().__init__(config, logdir, trial)

    def _init(self) -> None:
        for cls in self._logger_classes:
            try:
                self._loggers.append(cls(self.config, self.logdir, self.trial))
            except Exception as exc:
                _log.warning("Could not instantiate %s: %s", cls.__name__, exc)

    def on_result(self, result: dict[str, Any]) -> None:
        """Hand ``result`` to every logger.

        Args:
            result: The reported result.
        """
        for logger in self._loggers:
            logger.on_result(result)

    def update_config(self, config: dict[str, Any]) -> None:
        """Hand the new ``config`` to every logger.

        Args:
            config: The trial's config now.
        """
        self.config = config
        for logger in self._loggers:
            logger.update_config(config)

    def flush(self) -> None:
        _each(self._loggers, _flush)

    def close(self) -> None:
        _each(self._loggers, _close)

    @classmethod
    def rollback_files(cls, logdir: str, to_iteration: int) -> None:
        """Cut the files of the default loggers after ``to_iteration``.

        Args:
            logdir: The trial's directory.
            to_iteration: The last iteration to keep.
        """
        for logger_class in DEFAULT_LOGGERS:  # what the callbacks build it with
            logger_class.rollback_files(logdir, to_iteration)


class LegacyLoggerCallback(LoggerCallback):
    """Drives legacy :class:`Logger` classes as a callback.

    One instance of each class per trial, built at trial start as ``cls(trial.config,
    trial.local_path, trial)``; results go to ``on_result``, a restarted trial's config to
    ``update_config``, checkpoints and step ends to ``flush``, the trial's end to ``close``,
    a rollback to each class's ``rollback_files``, and the experiment's end to each
    class's ``wait_for_closed``. ``tune.run(loggers=[...])`` builds one.

    Args:
        logger_classes: The :class:`Logger` subclasses to run for every trial.

    Raises:
        TypeError: ``logger_classes`` is not a list of :class:`Logger` subclasses.
    """

    def __init__(self, logger_classes: Iterable[type[Logger]]) -> None:
        self.logger_classes = _check_logger_classes("logger_classes", logger_classes)
        self._trial_loggers: dict[Trial, list[Logger]] = {}

    def log_trial_start(self, trial: Trial) -> None:
        loggers = self._trial_loggers.get(trial)
        if loggers is None:
            self._trial_loggers[trial] = [
                cls(trial.config, trial.local_path, trial) for cls in self.logger_classes
            ]
        else:
            for logger in loggers:
                logger.update_config(trial.config)

    def log_trial_result(self, iteration: int, trial: Trial, result: dict[str, Any]) -> None:
        if trial not in self._trial_loggers:
            self.log_trial_start(trial)
        for logger in self._trial_loggers[trial]:
            logger.on_result(result)

    def log_trial_save(self, trial: Trial) -> None:
        for logger in self._trial_loggers.get(trial, ()):
            logger.flush()

    def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
        _each(self._trial_loggers.pop(trial, ()), _close)

    def log_trial_rollback(self, trial: Trial, to_iteration: int) -> None:
        self.log_trial_save(trial)  # flushed before the cut
        if trial.local_path:
            for cls in self.logger_classes:
                cls.rollback_files(trial.local_path, to_iteration)

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        _each(
            [logger for loggers in self._trial_loggers.values() for logger in loggers],
            _flush,
        )

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        loggers, self._trial_loggers = self._trial_loggers, {}
        try:
            _each([logger for each in loggers.values() for logger in each], _close)
        finally:
            _each(self.logger_classes, _wait_for_closed)


# ---------------------------------------------------------------------------------------
# pretty_print: a YAML-style view of a result
# ---------------------------------------------------------------------------------------
_PLAIN = re.compile(r"^[A-Za-z_/][\w ./()\-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "none", "~", "y", "n"}


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED and not text.endswith(" "):
        return text
    return "'" + text.replace("'", "''") + "'"


def _yaml_lines(value: Any, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        for key in sorted(value, key=str):
            item = value[key]
            label = f"{pad}{_scalar(str(key))}:"
            if isinstance(item, dict) and item:
                out.append(label)
                _yaml_lines(item, indent + 2, out)
            elif isinstance(item, list) and item:
                out.append(label)
                _yaml_lines(item, indent, out)
            else:
                out.append(f"{label} {_inline(item)}")
    else:
        for item in value:
            if isinstance(item, (dict, list)) and item:
                sub: list[str] = []
                _yaml_lines(item, 0, sub)
                out.append(f"{pad}- {sub[0]}")
                out.extend(f"{pad}  {line}" for line in sub[1:])
            else:
                out.append(f"{pad}- {_inline(item)}")


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def pretty_print(result: Mapping[str, Any], exclude: Iterable[str] | None = None) -> str:
    """A YAML-style multi-line text of ``result`` (sorted keys, nested dicts indented).

    ``config``, ``hist_stats``, keys in ``exclude`` and ``None`` values are left out.

    Args:
        result: A result dict (or any mapping of string keys).
        exclude: More top-level keys to leave out (default: none).

    Returns:
        The text, ending with a newline (``"{}\\n"`` when nothing is left).
    """
    excluded = {"config", "hist_stats", *(exclude or ())}
    data = json_safe({k: v for k, v in result.items() if v is not None and k not in excluded})
    lines: list[str] = []
    _yaml_lines(data, 0, lines)
    return "\n".join(lines) + "\n" if lines else "{}\n"
