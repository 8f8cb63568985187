"""PBT's explore step: validating ``hyperparam_mutations`` and mutating configs within them.

A mutation spec maps config keys (nested dicts allowed) to one of:

* a list or tuple of values: the value moves one index left or right (clamped at the ends),
  or, with probability ``resample_probability`` or when the current value is not in the list,
  is drawn again from the list;
* a :class:`~tunelab.search.Categorical` domain: treated like the list of its categories;
* another search-space domain (``uniform``, ``loguniform``, ``randint``, ``quniform`` ...):
  with probability ``resample_probability`` the value is drawn again from the domain, else it
  is multiplied by a factor drawn from ``perturbation_factors``; the result is clamped into
  the domain's bounds (and onto its quantization grid), ints stay ints;
* a callable taking no argument: like a domain, but resampling calls it and nothing clamps
  the perturbed value.

Ints stay ints (a multiplication that rounds back to the same int moves it one step in the
factor's direction), bools stay bools (they are only ever resampled). Everything here is
pure: randomness comes from the :class:`random.Random` passed in.
"""

from __future__ import annotations

import copy
import math
import numbers
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tunelab.search._domain import Categorical, Domain, Float, Integer, Quantized, Uniform

__all__ = [
    "explore",
    "fill_missing",
    "format_changes",
    "validate_factors",
    "validate_mutations",
]

Path = tuple[str, ...]


# -- validation ----------------------------------------------------------------------------
def validate_mutations(
    mutations: Any,
    *,
    argument: str = "hyperparam_mutations",
    owner: str = "PopulationBasedTraining",
) -> dict[str, Any]:
    """A checked copy of a mutation spec (``TypeError``/``ValueError`` naming the bad key)."""
    if mutations is None:
        return {}
    if not isinstance(mutations, Mapping):
        raise TypeError(
            f"{owner}: {argument} must be a dict of key -> list, domain, callable or nested "
            f"dict, got {mutations!r}"
        )
    checked: dict[str, Any] = {}
    for key, spec in mutations.items():
        name = f"{argument}[{key!r}]"
        if not isinstance(key, str):
            raise TypeError(f"{owner}: {argument} keys must be strings, got {key!r}")
        if isinstance(spec, Mapping):
            if set(spec) == {"grid_search"}:
                raise ValueError(
                    f"{owner}: {name} is a grid_search; PBT mutations take a list, a domain "
                    "(tune.uniform(...)) or a callable instead"
                )
            checked[key] = validate_mutations(spec, argument=name, owner=owner)
        elif isinstance(spec, list | tuple):
            if not spec:
                raise ValueError(f"{owner}: {name} is an empty list; give at least one value")
            checked[key] = list(spec)
        elif isinstance(spec, Domain) or callable(spec):
            checked[key] = spec
        else:
            raise TypeError(
                f"{owner}: {name} must be a list, a search-space domain (tune.uniform(...)), a "
                f"callable or a nested dict, got {spec!r}"
            )
    return checked


def validate_factors(factors: Any, *, owner: str = "PopulationBasedTraining") -> tuple[float, ...]:
    if isinstance(factors, str | bytes) or not isinstance(factors, Sequence) or not factors:
        raise ValueError(
            f"{owner}: perturbation_factors must be a non-empty tuple of positive numbers, "
            f"got {factors!r}"
        )
    out = []
    for factor in factors:
        if (
            isinstance(factor, bool)
            or not isinstance(factor, numbers.Real)
            or not math.isfinite(float(factor))
            or factor <= 0
        ):
            raise ValueError(
                f"{owner}: perturbation_factors must be positive finite numbers, got {factors!r}"
            )
        out.append(float(factor))
    return tuple(out)


# -- sampling and clamping -----------------------------------------------------------------
def _sample(spec: Any, rng: random.Random) -> Any:
    if isinstance(spec, list):
        return spec[int(rng.random() * len(spec))]
    if isinstance(spec, Domain):
        return spec.sample(None, random_state=rng)
    return spec()


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def clamp_to_domain(domain: Any, value: float, as_int: bool) -> Any:
    """``value`` moved into ``domain`` (bounds, quantization); ints stay ints."""
    if isinstance(domain, Float):
        sampler = domain.get_sampler()
        q = sampler.q if isinstance(sampler, Quantized) else None
        lo, hi = domain.lower, domain.upper
        if q is not None:
            from tunelab.search._domain import quantized_bounds

            lo_q, hi_q = quantized_bounds(lo, hi, q)
            if math.isfinite(value / q):
                value = round(value / q) * q
            value = min(max(value, lo_q), hi_q)
        elif isinstance(sampler, Uniform) and math.isfinite(hi):
            # uniform draws never reach the upper bound: keep mutated values below it too
            value = min(max(value, lo), math.nextafter(hi, -math.inf))
        else:
            value = min(max(value, lo), hi)
        return round(float(value)) if as_int else float(value)
    if isinstance(domain, Integer):
        sampler = domain.get_sampler()
        q = int(sampler.q) if isinstance(sampler, Quantized) else 1
        integer = round(float(value))
        if q > 1:
            first, last = -(-domain.lower // q), domain.upper // q
            return min(max(round(float(value) / q), first), last) * q
        return min(max(integer, domain.lower), domain.upper - 1)
    return round(float(value)) if as_int else value


def _perturb_number(
    spec: Any, value: Any, factors: Sequence[float], rng: random.Random
) -> tuple[Any, str]:
    factor = factors[int(rng.random() * len(factors))]
    as_int = _is_int(value)
    new: Any = value * factor
    if as_int:
        new = round(float(new))
        if new == value and factor != 1.0:
            new = value + (1 if factor > 1.0 else -1)
    if isinstance(spec, Domain):
        new = clamp_to_domain(spec, new, as_int)
    return new, f"* {factor:g}"


def _mutate_one(
    spec: Any,
    value: Any,
    present: bool,
    resample_probability: float,
    factors: Sequence[float],
    rng: random.Random,
) -> tuple[Any, str]:
    """(new value, description of the operation) for one leaf of the mutation spec."""
    if isinstance(spec, Categorical):
        spec = list(spec.categories)
    if isinstance(spec, list):
        index = _index_of(spec, value) if present else None
        if index is None or rng.random() < resample_probability:
            return _sample(spec, rng), "resample"
        shift = -1 if rng.random() < 0.5 else 1
        new_index = min(max(index + shift, 0), len(spec) - 1)
        return spec[new_index], f"shift {'left' if shift < 0 else 'right'}"
    if not present or not _is_number(value) or rng.random() < resample_probability:
        return _sample(spec, rng), "resample"
    return _perturb_number(spec, value, factors, rng)


def _index_of(values: list[Any], value: Any) -> int | None:
    for index, candidate in enumerate(values):
        try:
            if candidate is value or bool(candidate == value):
                mixed = type(candidate) is not type(value)
                if mixed and (type(candidate) is bool or type(value) is bool):
                    continue  # True == 1, but a bool is not the int 1 here
                return index
        except Exception:
            continue
    return None


# -- the explore step ----------------------------------------------------------------------
def explore(
    config: Mapping[str, Any],
    mutations: Mapping[str, Any],
    *,
    resample_probability: float,
    perturbation_factors: Sequence[float],
    custom_explore_fn: Callable[[dict[str, Any]], Any] | None,
    rng: random.Random,
) -> tuple[dict[str, Any], dict[str, tuple[Any, str]]]:
    """A mutated deep copy of ``config`` and ``{"a/b": (new value, operation)}``.

    Keys are visited in the order of ``mutations`` (so a seed gives the same result);
    ``custom_explore_fn`` is applied last, to the mutated copy, and must return a dict.
    """
    new_config = copy.deepcopy(dict(config))
    changes: dict[str, tuple[Any, str]] = {}
    _explore_into(
        new_config, mutations, (), resample_probability, perturbation_factors, rng, changes
    )
    if custom_explore_fn is not None:
        result = custom_explore_fn(new_config)
        if not isinstance(result, dict):
            raise TypeError(
                "custom_explore_fn must return the (modified) config dict, got "
                f"{type(result).__name__}: {result!r}"
            )
        new_config = result
    return new_config, changes


def _explore_into(
    config: dict[str, Any],
    mutations: Mapping[str, Any],
    prefix: Path,
    resample_probability: float,
    factors: Sequence[float],
    rng: random.Random,
    changes: dict[str, tuple[Any, str]],
) -> None:
    for key, spec in mutations.items():
        path = (*prefix, key)
        if isinstance(spec, Mapping):
            child = config.get(key)
            if not isinstance(child, dict):
                child = config[key] = {}
            _explore_into(child, spec, path, resample_probability, factors, rng, changes)
            continue
        present = key in config
        new, operation = _mutate_one(
            spec, config.get(key), present, resample_probability, factors, rng
        )
        config[key] = new
        changes["/".join(path)] = (new, operation)


def fill_missing(
    config: dict[str, Any], mutations: Mapping[str, Any], rng: random.Random
) -> dict[str, Any]:
    """Sample the mutated keys ``config`` lacks (in place); return ``{"a/b": value}`` added."""
    added: dict[str, Any] = {}
    _fill_into(config, mutations, (), rng, added)
    return added


def _fill_into(
    config: dict[str, Any],
    mutations: Mapping[str, Any],
    prefix: Path,
    rng: random.Random,
    added: dict[str, Any],
) -> None:
    for key, spec in mutations.items():
        path = (*prefix, key)
        if isinstance(spec, Mapping):
            child = config.get(key)
            if not isinstance(child, dict):
                child = config[key] = {}
            _fill_into(child, spec, path, rng, added)
        elif key not in config:
            leaf = list(spec.categories) if isinstance(spec, Categorical) else spec
            config[key] = _sample(leaf, rng)
            added["/".join(path)] = config[key]


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.5g}"
    return str(value)


def format_changes(changes: Mapping[str, tuple[Any, str]] | Mapping[str, Any]) -> str:
    """``"@perturbed[lr=0.02,momentum=0.9]"`` (empty string when nothing changed)."""
    if not changes:
        return ""
    parts = []
    for key, entry in changes.items():
        value = entry[0] if isinstance(entry, tuple) else entry
        parts.append(f"{key}={_format_value(value)}")
    return "@perturbed[" + ",".join(parts) + "]"
