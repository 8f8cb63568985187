"""Ray Tune 2.x's ``ray.tune.logger.tensorboardx`` path: :class:`TBXLoggerCallback` (and the
legacy :class:`TBXLogger`); the same classes as :mod:`tunelab.logger`."""

from __future__ import annotations

from tunelab.logger._tbx import TBXLogger, TBXLoggerCallback

__all__ = ["TBXLogger", "TBXLoggerCallback"]
