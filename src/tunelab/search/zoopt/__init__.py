"""``tunelab.search.zoopt`` (Ray Tune's ``ray.tune.search.zoopt`` and 0.8-1.x's
``ray.tune.suggest.zoopt``): :class:`ZOOptSearch`.

Importing this module does not import zoopt; constructing :class:`ZOOptSearch` does, and
raises an ``ImportError`` naming ``pip install "tunelab[zoopt]"`` when it is missing.
"""

from __future__ import annotations

from tunelab.search.zoopt._search import ZOOptSearch

__all__ = ["ZOOptSearch"]
