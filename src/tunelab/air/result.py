"""Ray AIR's ``ray.air.result`` path: :class:`Result` (the same class as ``tunelab.Result``)."""

from __future__ import annotations

from tunelab.analysis import Result

__all__ = ["Result"]
