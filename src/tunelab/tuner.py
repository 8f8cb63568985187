"""Ray Tune's ``ray.tune.tuner`` path: :class:`Tuner`."""

from __future__ import annotations

from tunelab._frontdoor.tuner import Tuner

__all__ = ["Tuner"]
