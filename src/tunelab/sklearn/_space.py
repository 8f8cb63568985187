"""Parameter spaces of the scikit-learn searches: checks and conversions.

Three consumers, three forms:

- :func:`grid_candidates` turns ``TuneGridSearchCV``'s ``param_grid`` into the candidate list in
  scikit-learn's :class:`~sklearn.model_selection.ParameterGrid` order (so that ties are broken
  as ``GridSearchCV`` breaks them);
- :func:`random_candidates` draws ``TuneSearchCV``'s ``n_trials`` candidates for
  ``search_optimization="random"`` with :class:`~sklearn.model_selection.ParameterSampler` (the
  same candidates as ``RandomizedSearchCV`` for the same ``random_state``); tunelab domains
  (``tunelab.uniform(...)``) are drawn next to lists and scipy distributions;
- :func:`searcher_space` gives a model-based searcher its space: a tunelab space (lists become
  ``choice``, ``(low, high[, prior])`` tuples become ``uniform``/``loguniform``/``randint``),
  or, when a value is one of the searcher library's own objects (a hyperopt expression, an
  Optuna distribution, a ConfigSpace hyperparameter), the library's space with every other
  value converted to the library's form.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tunelab.search._common import is_grid_spec
from tunelab.search._domain import Domain, Function

__all__ = [
    "check_warm_start_params",
    "grid_candidates",
    "is_all_lists",
    "random_candidates",
    "searcher_space",
]

_PRIORS = ("uniform", "log-uniform")


# -- grid ------------------------------------------------------------------------------
def grid_candidates(param_grid: Any) -> list[dict[str, Any]]:
    """Every combination of ``param_grid`` (a dict or a list of dicts of value lists or
    ``tunelab.grid_search`` markers), in ``ParameterGrid`` order."""
    from sklearn.model_selection import ParameterGrid

    grids = _as_dict_list(param_grid, "param_grid")
    unwrapped = [
        {key: (value["grid_search"] if is_grid_spec(value) else value) for key, value in g.items()}
        for g in grids
    ]
    for grid in unwrapped:
        for key, value in grid.items():
            if isinstance(value, Domain):
                raise TypeError(
                    f"param_grid[{key!r}] is a tunelab domain ({value!r}); a grid takes a list "
                    "of values (or tunelab.grid_search([...])); use TuneSearchCV to sample domains"
                )
    return [dict(candidate) for candidate in ParameterGrid(unwrapped)]


# -- random ----------------------------------------------------------------------------
class _DomainDistribution:
    """A tunelab domain with the ``rvs`` method ``ParameterSampler`` draws from."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain

    def rvs(self, random_state: Any = None) -> Any:
        return self.domain.sample(random_state=random_state)


class _Deferred:
    """A ``sample_from`` function, evaluated once the other values are drawn."""

    def __init__(self, domain: Function) -> None:
        self.domain = domain

    def rvs(self, random_state: Any = None) -> Any:
        return self


def random_candidates(
    param_distributions: Any, n_trials: int, random_state: Any
) -> list[dict[str, Any]]:
    """``n_trials`` candidates drawn as ``RandomizedSearchCV`` draws them (fewer when every
    value is a list and the grid they span is smaller: each combination once)."""
    from sklearn.model_selection import ParameterSampler

    dicts = _as_dict_list(param_distributions, "param_distributions")
    wrapped: list[dict[str, Any]] = []
    for dist in dicts:
        entry: dict[str, Any] = {}
        for key, value in dist.items():
            entry[key] = _random_value(key, value)
        wrapped.append(entry)
    if is_all_lists(wrapped):
        n_trials = min(n_trials, _grid_size(wrapped))
    candidates = []
    for drawn in ParameterSampler(wrapped, n_trials, random_state=random_state):
        resolved = {k: v for k, v in drawn.items() if not isinstance(v, _Deferred)}
        for key, value in drawn.items():
            if isinstance(value, _Deferred):
                resolved[key] = value.domain.sample(config=resolved)
        candidates.append({key: resolved[key] for key in drawn})
    return candidates


def _random_value(key: str, value: Any) -> Any:
    if isinstance(value, Function):
        return _Deferred(value)
    if isinstance(value, Domain):
        return _DomainDistribution(value)
    if isinstance(value, list) or hasattr(value, "rvs"):
        if isinstance(value, list) and not value:
            raise ValueError(f"param_distributions[{key!r}] is an empty list")
        return value
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.size:
        return list(value)
    raise TypeError(
        f"param_distributions[{key!r}] must be a list of values, a distribution with an rvs "
        f"method (scipy.stats) or a tunelab domain for search_optimization='random', "
        f"got {value!r}"
    )


def is_all_lists(dicts: Sequence[Mapping[str, Any]]) -> bool:
    return all(isinstance(v, list) for d in dicts for v in d.values())


def _grid_size(dicts: Sequence[Mapping[str, Any]]) -> int:
    total = 0
    for d in dicts:
        size = 1
        for v in d.values():
            size *= len(v)
        total += size
    return total


# -- model-based searchers ---------------------------------------------------------------
def searcher_space(param_distributions: Any, library: str | None) -> tuple[str, Any]:
    """The space for a model-based searcher of ``library`` (``"hyperopt"``, ``"optuna"``,
    ``"bohb"``, ``"skopt"`` or None for a searcher given as an object).

    Returns ``("tunelab", space)`` (to pass as the run's config) or ``("native", space)``
    (to pass as the searcher's ``space`` argument).
    """
    if library == "bohb" and _is_configspace(param_distributions):
        return "native", param_distributions
    if not isinstance(param_distributions, Mapping):
        raise TypeError(
            "param_distributions must be a dict for a model-based search_optimization "
            f"(a list of dicts is for 'random' only), got {type(param_distributions).__name__}"
        )
    items = list(param_distributions.items())
    for key, _ in items:
        if not isinstance(key, str):
            raise TypeError(f"param_distributions keys must be str, got {key!r}")
    native = [key for key, value in items if _is_native(value, library)]
    if not native:
        return "tunelab", {key: _to_domain(key, value) for key, value in items}
    domains = [key for key, value in items if isinstance(value, Domain)]
    if domains:
        raise TypeError(
            f"param_distributions mixes {library} objects ({native[0]!r}) with tunelab domains "
            f"({domains[0]!r}); use one kind (lists and (low, high) tuples go with either)"
        )
    if library == "hyperopt":
        return "native", _hyperopt_space(items)
    if library == "optuna":
        return "native", _optuna_space(items)
    if library == "bohb":
        return "native", _configspace(items)
    return "native", dict(items)  # skopt takes lists, tuples and its dimensions as they are


def _is_native(value: Any, library: str | None) -> bool:
    module = type(value).__module__ or ""
    if library == "hyperopt":
        return module.startswith("hyperopt")
    if library == "optuna":
        return module.startswith("optuna")
    if library == "bohb":
        return module.startswith("ConfigSpace")
    if library == "skopt":
        return module.startswith("skopt")
    return False


def _bounds(key: str, value: tuple[Any, ...]) -> tuple[Any, Any, str]:
    if not 2 <= len(value) <= 3:
        raise ValueError(
            f"param_distributions[{key!r}] must be (low, high) or (low, high, prior), got {value!r}"
        )
    low, high = value[0], value[1]
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, numbers.Real):
            raise TypeError(f"param_distributions[{key!r}]: bounds must be numbers, got {value!r}")
    prior = value[2] if len(value) == 3 else "uniform"
    if prior not in _PRIORS:
        raise ValueError(
            f"param_distributions[{key!r}]: prior must be one of {_PRIORS}, got {prior!r}"
        )
    if not low < high:
        raise ValueError(f"param_distributions[{key!r}]: low must be < high, got {value!r}")
    return low, high, prior


def _is_int_bounds(low: Any, high: Any) -> bool:
    return isinstance(low, numbers.Integral) and isinstance(high, numbers.Integral)


def _to_domain(key: str, value: Any) -> Any:
    """A list, a (low, high[, prior]) tuple or a tunelab domain as a tunelab domain."""
    from tunelab.search import sample

    if isinstance(value, Domain):
        return value
    if is_grid_spec(value):
        raise TypeError(
            f"param_distributions[{key!r}] is a grid_search marker; model-based searchers "
            "sample, use a list (tunelab.choice) or TuneGridSearchCV"
        )
    if isinstance(value, tuple):
        low, high, prior = _bounds(key, value)
        if _is_int_bounds(low, high):  # inclusive integer range, as scikit-optimize reads it
            if prior == "log-uniform":
                return sample.lograndint(int(low), int(high) + 1)
            return sample.randint(int(low), int(high) + 1)
        if prior == "log-uniform":
            return sample.loguniform(float(low), float(high))
        return sample.uniform(float(low), float(high))
    if isinstance(value, (list, np.ndarray)):
        values = list(value)
        if not values:
            raise ValueError(f"param_distributions[{key!r}] is an empty list")
        return sample.choice(values)
    raise TypeError(
        f"param_distributions[{key!r}] must be a list of values, a (low, high[, prior]) tuple "
        f"or a tunelab domain for a model-based search, got {value!r}"
        + (
            " (scipy distributions are for search_optimization='random'; use "
            "tunelab.uniform/loguniform/randint)"
            if hasattr(value, "rvs")
            else ""
        )
    )


def _hyperopt_space(items: list[tuple[str, Any]]) -> dict[str, Any]:
    from hyperopt import hp

    space: dict[str, Any] = {}
    for key, value in items:
        if _is_native(value, "hyperopt"):
            space[key] = value
        elif isinstance(value, tuple):
            low, high, prior = _bounds(key, value)
            if _is_int_bounds(low, high) and prior == "uniform":
                space[key] = hp.randint(key, int(low), int(high) + 1)
            elif prior == "log-uniform":
                space[key] = hp.loguniform(key, np.log(low), np.log(high))
            else:
                space[key] = hp.uniform(key, float(low), float(high))
        elif isinstance(value, (list, np.ndarray)) and len(value):
            space[key] = hp.choice(key, list(value))
        else:
            raise TypeError(
                f"param_distributions[{key!r}] must be a list, a (low, high[, prior]) tuple or "
                f"a hyperopt expression for search_optimization='hyperopt', got {value!r}"
            )
    return space


def _optuna_space(items: list[tuple[str, Any]]) -> dict[str, Any]:
    from optuna import distributions as od

    space: dict[str, Any] = {}
    for key, value in items:
        if _is_native(value, "optuna"):
            space[key] = value
        elif isinstance(value, tuple):
            low, high, prior = _bounds(key, value)
            log = prior == "log-uniform"
            if _is_int_bounds(low, high):
                space[key] = od.IntDistribution(int(low), int(high), log=log)
            else:
                space[key] = od.FloatDistribution(float(low), float(high), log=log)
        elif isinstance(value, (list, np.ndarray)) and len(value):
            space[key] = od.CategoricalDistribution(list(value))
        else:
            raise TypeError(
                f"param_distributions[{key!r}] must be a list, a (low, high[, prior]) tuple or "
                f"an Optuna distribution for search_optimization='optuna', got {value!r}"
            )
    return space


def _is_configspace(value: Any) -> bool:
    return type(value).__name__ == "ConfigurationSpace" and (
        type(value).__module__ or ""
    ).startswith("ConfigSpace")


def _configspace(items: list[tuple[str, Any]]) -> Any:
    import ConfigSpace as CS

    space = CS.ConfigurationSpace()
    for key, value in items:
        if _is_native(value, "bohb"):
            space.add(value)
        elif isinstance(value, tuple):
            low, high, prior = _bounds(key, value)
            log = prior == "log-uniform"
            if _is_int_bounds(low, high):
                space.add(CS.UniformIntegerHyperparameter(key, int(low), int(high), log=log))
            else:
                space.add(CS.UniformFloatHyperparameter(key, float(low), float(high), log=log))
        elif isinstance(value, (list, np.ndarray)) and len(value):
            space.add(CS.CategoricalHyperparameter(key, list(value)))
        else:
            raise TypeError(
                f"param_distributions[{key!r}] must be a list, a (low, high[, prior]) tuple or "
                f"a ConfigSpace hyperparameter for search_optimization='bohb', got {value!r}"
            )
    return space


# -- shared ----------------------------------------------------------------------------
def _as_dict_list(value: Any, argument: str) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, Sequence) and not isinstance(value, str) and value:
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise TypeError(f"{argument}[{index}] must be a dict, got {item!r}")
        return list(value)
    raise TypeError(f"{argument} must be a dict or a non-empty list of dicts, got {value!r}")


def check_warm_start_params(
    dicts: Any, resource_param: str | None, estimator_name: str | None
) -> None:
    """Early stopping by warm start owns ``max_iter``/``n_estimators``: the space must not
    set it (for a pipeline, the final step's ``<step>__<param>``)."""
    if resource_param is None or _is_configspace(dicts):
        return
    name = f"{estimator_name}__{resource_param}" if estimator_name else resource_param
    for d in _as_dict_list(dicts, "param space"):
        if name in d:
            raise ValueError(
                f"early stopping by warm start grows {name!r} itself, so the search space "
                f"cannot set it; remove {name!r} from the space or set early_stopping=False"
            )
