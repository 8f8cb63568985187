"""Ray Tune 2.x's ``ray.tune.logger.unified`` path: the legacy :class:`UnifiedLogger`."""

from __future__ import annotations

from tunelab.logger._legacy import UnifiedLogger

__all__ = ["UnifiedLogger"]
