"""Ray Tune's ``ray.tune.result_grid`` path: :class:`ResultGrid`."""

from __future__ import annotations

from tunelab.analysis import ResultGrid

__all__ = ["ResultGrid"]
