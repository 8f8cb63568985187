"""``tunelab.search.ax`` (Ray Tune's ``ray.tune.search.ax`` and 0.8-1.x's
``ray.tune.suggest.ax``): :class:`AxSearch`.

Importing this module does not import Ax; constructing :class:`AxSearch` does, and raises an
``ImportError`` naming ``pip install "tunelab[ax]"`` when it is missing.
"""

from __future__ import annotations

from tunelab.search.ax._search import AxSearch

__all__ = ["AxSearch"]
