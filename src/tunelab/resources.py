"""Ray Tune 0.x/1.x's ``ray.tune.resources`` path: the :class:`Resources` record.

Accepted wherever resources are (``resources_per_trial``, ``default_resource_request``, a
resource-changing scheduler's allocation function); it becomes a
:class:`~tunelab.PlacementGroupFactory`.
"""

from __future__ import annotations

from tunelab._resources import Resources

__all__ = ["Resources"]
