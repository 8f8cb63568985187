"""``tunelab.search.optuna`` (Ray Tune's ``ray.tune.search.optuna``): :class:`OptunaSearch`.

Importing this module does not import optuna; constructing :class:`OptunaSearch` does, and
raises an ``ImportError`` naming ``pip install "tunelab[optuna]"`` when it is missing.
``param`` records ``param.suggest_*(...)`` calls for the Ray Tune 1.x list-of-calls space.
"""

from __future__ import annotations

from tunelab.search.optuna._search import OptunaSearch
from tunelab.search.optuna._space import param

__all__ = ["OptunaSearch", "param"]
