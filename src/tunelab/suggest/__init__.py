"""``tunelab.suggest``: the 0.8/1.x name of :mod:`tunelab.search` (the same objects).

``tunelab.suggest.sample`` and ``tunelab.suggest.variant_generator`` are the modules of
``tunelab.search``; Ray Tune 1.x's ``ray.tune.suggest.<basic_variant|suggestion|search|
search_generator|repeater|...>`` paths resolve to the ``tunelab.search`` package, and
``ray.tune.suggest.<hyperopt|optuna|nevergrad|bohb>`` to the adapter modules
``tunelab.search.<name>`` (importing those does not import the libraries themselves).
"""

from __future__ import annotations

import sys

import tunelab.search as _search
from tunelab.search import *  # noqa: F403
from tunelab.search import __all__ as _search_all
from tunelab.search import bohb as _bohb_module
from tunelab.search import hyperopt as _hyperopt_module
from tunelab.search import nevergrad as _nevergrad_module
from tunelab.search import optuna as _optuna_module
from tunelab.search import sample as _sample_module
from tunelab.search import variant_generator as _variant_generator_module

__all__ = list(_search_all)

_MODULES = {
    "sample": _sample_module,
    "variant_generator": _variant_generator_module,
    "bohb": _bohb_module,
    "hyperopt": _hyperopt_module,
    "nevergrad": _nevergrad_module,
    "optuna": _optuna_module,
}
_RAY_1X_PATHS = (
    "basic_variant",
    "concurrency_limiter",
    "repeater",
    "search",
    "search_algorithm",
    "search_generator",
    "searcher",
    "suggestion",
)
for _alias in _RAY_1X_PATHS:
    _MODULES.setdefault(_alias, _search)
for _alias, _module in _MODULES.items():
    sys.modules.setdefault(f"{__name__}.{_alias}", _module)
bohb = _bohb_module
hyperopt = _hyperopt_module
nevergrad = _nevergrad_module
optuna = _optuna_module
