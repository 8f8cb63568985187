"""Ray Tune's ``ray.tune.schedulers.hyperband`` path: the synchronous HyperBand scheduler.

The same objects as :mod:`tunelab.schedulers`.
"""

from __future__ import annotations

from tunelab.schedulers._hyperband import HyperBandScheduler

__all__ = ["HyperBandScheduler"]
