"""Ray Tune's ``ray.tune.schedulers.pb2`` path: Population Based Bandits.

The same objects as :mod:`tunelab.schedulers`.
"""

from __future__ import annotations

from tunelab.schedulers._pb2 import PB2

__all__ = ["PB2"]
