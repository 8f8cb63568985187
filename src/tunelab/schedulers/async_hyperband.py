"""Ray Tune's ``ray.tune.schedulers.async_hyperband`` path: ASHA (async successive halving).

The same objects as :mod:`tunelab.schedulers`.
"""

from __future__ import annotations

from tunelab.schedulers._async_hyperband import ASHAScheduler, AsyncHyperBandScheduler

__all__ = ["ASHAScheduler", "AsyncHyperBandScheduler"]
