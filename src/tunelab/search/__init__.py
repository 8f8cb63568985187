"""Search spaces and search algorithms (Ray Tune's ``ray.tune.search``).

Search space: the sampling functions (``uniform``, ``loguniform``, ``randint``, ``choice``,
``grid_search``, ``sample_from``, ...) and domain classes (``Float``, ``Integer``,
``Categorical``, ``Function``). Search algorithms: :class:`BasicVariantGenerator` (grid and
random search, the default), the :class:`Searcher` base for model-based searchers with its
wrappers :class:`ConcurrencyLimiter` and :class:`Repeater`, :class:`SearchGenerator` (adapts a
``Searcher`` to the controller) and :func:`create_searcher`. :class:`SearchAlgorithm` and
:class:`TrialSuggestion` are the contract the controller drives.

Ray Tune's module paths ``ray.tune.search.<basic_variant|searcher|search_algorithm|
search_generator|concurrency_limiter|repeater>`` resolve to this package as
``tunelab.search.<same name>``.
"""

from __future__ import annotations

import sys

from tunelab.search._resolve import RecursiveDependencyError
from tunelab.search._sample import (
    Categorical,
    Domain,
    Float,
    Function,
    Grid,
    Integer,
    LogUniform,
    Normal,
    Quantized,
    Sampler,
    Uniform,
    choice,
    function,
    grid_search,
    lograndint,
    loguniform,
    qlograndint,
    qloguniform,
    qrandint,
    qrandn,
    quniform,
    randint,
    randn,
    sample_from,
    uniform,
)
from tunelab.search._search_algorithm import SearchAlgorithm, TrialSuggestion
from tunelab.search._searcher import Searcher, SearchGenerator, create_searcher
from tunelab.search._variant_generator import (
    BasicVariantGenerator,
    count_grid_variants,
    flatten_resolved_vars,
    generate_variants,
)
from tunelab.search._wrappers import ConcurrencyLimiter, Repeater

__all__ = [
    "BasicVariantGenerator",
    "Categorical",
    "ConcurrencyLimiter",
    "Domain",
    "Float",
    "Function",
    "Grid",
    "Integer",
    "LogUniform",
    "Normal",
    "Quantized",
    "RecursiveDependencyError",
    "Repeater",
    "Sampler",
    "SearchAlgorithm",
    "SearchGenerator",
    "Searcher",
    "TrialSuggestion",
    "Uniform",
    "choice",
    "count_grid_variants",
    "create_searcher",
    "flatten_resolved_vars",
    "function",
    "generate_variants",
    "grid_search",
    "lograndint",
    "loguniform",
    "qlograndint",
    "qloguniform",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "sample_from",
    "uniform",
]

_RAY_MODULE_ALIASES = (
    "basic_variant",
    "concurrency_limiter",
    "repeater",
    "search_algorithm",
    "search_generator",
    "searcher",
)
for _alias in _RAY_MODULE_ALIASES:
    sys.modules.setdefault(f"{__name__}.{_alias}", sys.modules[__name__])
