"""``tunelab.search.bayesopt`` (Ray Tune's ``ray.tune.search.bayesopt`` and 1.x's
``ray.tune.suggest.bayesopt``): :class:`BayesOptSearch`.

Importing this module does not import bayesian-optimization; constructing
:class:`BayesOptSearch` does, and raises an ``ImportError`` naming
``pip install "tunelab[bayesopt]"`` when it is missing.
"""

from __future__ import annotations

from tunelab.search.bayesopt._search import BayesOptSearch

__all__ = ["BayesOptSearch"]
