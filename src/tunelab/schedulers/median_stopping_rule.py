"""Ray Tune's ``ray.tune.schedulers.median_stopping_rule`` path: the median stopping rule.

The same objects as :mod:`tunelab.schedulers`.
"""

from __future__ import annotations

from tunelab.schedulers._median_stopping import MedianStoppingRule

__all__ = ["MedianStoppingRule"]
