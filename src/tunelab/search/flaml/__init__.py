"""``tunelab.search.flaml`` (Ray Tune 1.x's ``ray.tune.suggest.flaml``, 2.0's
``ray.tune.search.flaml``): FLAML's :class:`BlendSearch` and :class:`CFO`.

Importing this module does not import FLAML; constructing a searcher does, and raises an
``ImportError`` naming ``pip install "tunelab[flaml]"`` when it is missing.
"""

from __future__ import annotations

from tunelab.search.flaml._search import CFO, BlendSearch

__all__ = ["CFO", "BlendSearch"]
