"""Ray Tune 2.x's ``ray.tune.logger.json`` path: :class:`JsonLoggerCallback` (and the legacy
:class:`JsonLogger`); the same classes as :mod:`tunelab.logger`."""

from __future__ import annotations

from tunelab.logger._json import JsonLoggerCallback
from tunelab.logger._legacy import JsonLogger

__all__ = ["JsonLogger", "JsonLoggerCallback"]
