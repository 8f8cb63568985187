"""Ray Tune's ``ray.tune.tune_config`` path: :class:`TuneConfig`."""

from __future__ import annotations

from tunelab._config import TuneConfig

__all__ = ["TuneConfig"]
