"""``tunelab.search.hyperopt`` (Ray Tune's ``ray.tune.search.hyperopt``): :class:`HyperOptSearch`.

Importing this module does not import hyperopt; constructing :class:`HyperOptSearch` does, and
raises an ``ImportError`` naming ``pip install "tunelab[hyperopt]"`` when it is missing.
"""

from __future__ import annotations

from tunelab.search.hyperopt._search import HyperOptSearch

__all__ = ["HyperOptSearch"]
