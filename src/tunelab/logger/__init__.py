"""Result loggers (``from tunelab.logger import ...``, as ``ray.tune.logger``).

Callbacks (current API): :class:`LoggerCallback` (the base to subclass),
:class:`JsonLoggerCallback` (``params.json``, ``params.pkl``, ``result.json``) and
:class:`CSVLoggerCallback` (``progress.csv``).

Legacy API (Ray Tune 0.x/1.x): :class:`Logger` and its built-ins :class:`JsonLogger`,
:class:`CSVLogger`, :class:`NoopLogger`, :class:`UnifiedLogger`, :data:`DEFAULT_LOGGERS`,
run as a callback by :class:`LegacyLoggerCallback`. :func:`pretty_print` formats a result.
"""

from __future__ import annotations

from tunelab.logger._csv import CSVLoggerCallback
from tunelab.logger._json import JsonLoggerCallback
from tunelab.logger._legacy import (
    DEFAULT_LOGGERS,
    CSVLogger,
    JsonLogger,
    LegacyLoggerCallback,
    Logger,
    NoopLogger,
    UnifiedLogger,
    pretty_print,
)
from tunelab.logger._logger_callback import LoggerCallback

__all__ = [
    "DEFAULT_LOGGERS",
    "CSVLogger",
    "CSVLoggerCallback",
    "JsonLogger",
    "JsonLoggerCallback",
    "LegacyLoggerCallback",
    "Logger",
    "LoggerCallback",
    "NoopLogger",
    "UnifiedLogger",
    "pretty_print",
]
