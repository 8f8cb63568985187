"""``from tunelab.air.checkpoint import Checkpoint`` (the ``ray.air.checkpoint`` path)."""

from __future__ import annotations

from tunelab._checkpoint import Checkpoint

__all__ = ["Checkpoint"]
