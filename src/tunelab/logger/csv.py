"""Ray Tune 2.x's ``ray.tune.logger.csv`` path: :class:`CSVLoggerCallback` (and the legacy
:class:`CSVLogger`); the same classes as :mod:`tunelab.logger`."""

from __future__ import annotations

from tunelab.logger._csv import CSVLoggerCallback
from tunelab.logger._legacy import CSVLogger

__all__ = ["CSVLogger", "CSVLoggerCallback"]
