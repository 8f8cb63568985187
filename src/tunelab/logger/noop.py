"""Ray Tune 2.x's ``ray.tune.logger.noop`` path: the legacy :class:`NoopLogger`."""

from __future__ import annotations

from tunelab.logger._legacy import NoopLogger

__all__ = ["NoopLogger"]
