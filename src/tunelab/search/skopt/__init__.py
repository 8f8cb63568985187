"""``tunelab.search.skopt`` (Ray Tune's ``ray.tune.search.skopt`` and 1.x's
``ray.tune.suggest.skopt``): :class:`SkOptSearch`.

Importing this module does not import scikit-optimize; constructing :class:`SkOptSearch`
does, and raises an ``ImportError`` naming ``pip install "tunelab[skopt]"`` when it is
missing.
"""

from __future__ import annotations

from tunelab.search.skopt._search import SkOptSearch

__all__ = ["SkOptSearch"]
