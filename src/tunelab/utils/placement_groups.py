"""Ray Tune 1.x's ``ray.tune.utils.placement_groups`` path: :class:`PlacementGroupFactory`.

The same class as ``tunelab.PlacementGroupFactory``.
"""

from __future__ import annotations

from tunelab._resources import PlacementGroupFactory

__all__ = ["PlacementGroupFactory"]
