"""``tunelab.suggest``: the 0.x/1.x name of :mod:`tunelab.search` (the same objects).

``tunelab.suggest.sample`` and ``tunelab.suggest.variant_generator`` are the modules of
``tunelab.search``; Ray Tune 1.x's ``ray.tune.suggest.<basic_variant|suggestion|search|
search_generator|repeater|...>`` paths resolve to the ``tunelab.search`` package, and
``ray.tune.suggest.<library>`` to the adapter modules ``tunelab.search.<library>``
(importing those does not import the libraries themselves; constructing a searcher whose
library is missing raises an ``ImportError`` naming the extra to install; ``dragonfly`` and
``sigopt``, whose libraries cannot run here, raise an ``ImportError`` that says why).

The searcher classes are also attributes of this package, as in Ray Tune 0.6/0.7
(``from tunelab.suggest import HyperOptSearch``); they are imported on first use.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import tunelab.search as _search
from tunelab.search import *  # noqa: F403
from tunelab.search import __all__ as _search_all
from tunelab.search import sample as _sample_module
from tunelab.search import variant_generator as _variant_generator_module

__all__ = list(_search_all)

# Ray's adapter module under ray.tune.suggest -> the searcher classes it holds.
_ADAPTERS = {
    "ax": ("AxSearch",),
    "bayesopt": ("BayesOptSearch",),
    "bohb": ("TuneBOHB",),
    "dragonfly": ("DragonflySearch",),
    "flaml": ("BlendSearch", "CFO"),
    "hebo": ("HEBOSearch",),
    "hyperopt": ("HyperOptSearch",),
    "nevergrad": ("NevergradSearch",),
    "optuna": ("OptunaSearch",),
    "sigopt": ("SigOptSearch",),
    "skopt": ("SkOptSearch",),
    "zoopt": ("ZOOptSearch",),
}
_SEARCHER_MODULE = {cls: module for module, classes in _ADAPTERS.items() for cls in classes}

_MODULES = {"sample": _sample_module, "variant_generator": _variant_generator_module}
for _adapter in _ADAPTERS:
    _MODULES[_adapter] = importlib.import_module(f"tunelab.search.{_adapter}")
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
    globals()[_alias] = _module


def __getattr__(name: str) -> Any:
    # The 0.6/0.7 names: the searcher classes, from their adapter modules on first use.
    module = _SEARCHER_MODULE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(_MODULES[module], name)
