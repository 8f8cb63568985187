"""Ray Tune's ``ray.tune.schedulers.hb_bohb`` path: HyperBand for BOHB.

The same objects as :mod:`tunelab.schedulers`.
"""

from __future__ import annotations

from tunelab.schedulers._hb_bohb import HyperBandForBOHB

__all__ = ["HyperBandForBOHB"]
