"""Ray Tune 2.x's ``ray.tune.logger.logger`` path: the :class:`LoggerCallback` and legacy
:class:`Logger` bases, :class:`LegacyLoggerCallback` and :func:`pretty_print`; the same
objects as :mod:`tunelab.logger`."""

from __future__ import annotations

from tunelab.logger._legacy import LegacyLoggerCallback, Logger, pretty_print
from tunelab.logger._logger_callback import LoggerCallback

__all__ = ["LegacyLoggerCallback", "Logger", "LoggerCallback", "pretty_print"]
