"""Ray Tune's ``ray.tune.error`` path: :class:`TuneError`, the root of tunelab's errors."""

from __future__ import annotations

from tunelab._errors import TuneError

__all__ = ["TuneError"]
