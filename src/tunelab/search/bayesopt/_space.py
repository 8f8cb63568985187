"""BayesOptSearch's two kinds of space, as the bounds (``pbounds``) bayesian-optimization
searches and the way back from its points to configurations.

- :class:`TunelabBounds`: a tunelab space. Floats are searched between their bounds
  (log-uniform ones on the log scale), integers and quantized values over their range and
  rounded; categories and normal distributions cannot be searched by a box-bounded Gaussian
  process and raise ``ValueError`` (as in Ray Tune).
- :class:`NativeBounds`: bayesian-optimization's own format, ``{"name": (low, high)}``
  (``"a/b"`` names become nested keys of the config).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from tunelab.search._convert import ParamSpec, build_suggestion, parse_space, point_values
from tunelab.search._native import flatten_point, is_finite_number, nest, to_python
from tunelab.search._resolve import copy_tree

__all__ = ["NativeBounds", "TunelabBounds", "is_bounds_dict"]

_WHERE = "BayesOptSearch()"


def is_bounds_dict(space: Mapping[str, Any]) -> bool:
    """True for ``{"name": (low, high), ...}`` (bayesian-optimization's ``pbounds``)."""
    return bool(space) and all(_is_pair(v) for v in flatten_point(space).values())


def _is_pair(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(is_finite_number(v) for v in value)
    )


class TunelabBounds:
    """A tunelab space as ``pbounds`` (see the module docstring)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = copy_tree(dict(config))
        self.specs = parse_space(self.config, _WHERE)
        self.by_name = {spec.name: spec for spec in self.specs}
        self.pbounds = {spec.name: _bounds(spec) for spec in self.specs}

    def values(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The config value of each parameter for a point of the optimizer."""
        out = {}
        for spec in self.specs:
            number = float(raw[spec.name])
            if spec.law == "loguniform":
                number = math.exp(number)
            out[spec.name] = spec.finish(number)
        return out

    def suggestion(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return build_suggestion(self.config, {self.by_name[n].path: v for n, v in values.items()})

    def raw(self, values: Mapping[str, Any]) -> dict[str, float]:
        """The optimizer's point for config values (the inverse of :meth:`values`)."""
        out = {}
        for name, value in values.items():
            number = float(value)
            out[name] = math.log(number) if self.by_name[name].law == "loguniform" else number
        return out

    def split_point(self, point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A point's searched values (by name) and the rest of it as a partial config."""
        flat, fixed = point_values(point, self.specs, self.config, _WHERE)
        return flat, build_suggestion(self.config, fixed)


def _bounds(spec: ParamSpec) -> tuple[float, float]:
    if spec.kind == "categorical":
        raise ValueError(
            f"{_WHERE} cannot search the categorical parameter {spec.name!r} "
            f"({spec.categories!r}): bayesian-optimization searches numbers within bounds; use "
            f"tune.uniform/tune.randint, or a searcher with categories (Optuna, HyperOpt, HEBO)"
        )
    if spec.law == "normal":
        raise ValueError(
            f"{_WHERE} cannot search the normal distribution at {spec.name!r} (tune.randn/"
            f"qrandn): bayesian-optimization needs bounds; use tune.uniform with bounds"
        )
    lower, upper = float(spec.lower), float(spec.upper)
    if spec.kind == "int":
        half = (spec.q or 1) / 2
        lower, upper = lower - half, upper + half
        if spec.law == "loguniform":
            lower = max(lower, float(spec.lower) / 2)
    if spec.law == "loguniform":
        return (math.log(lower), math.log(upper))
    return (lower, upper)


class NativeBounds:
    """bayesian-optimization's ``{"name": (low, high)}`` (see the module docstring)."""

    def __init__(self, space: Mapping[str, Any]) -> None:
        flat = flatten_point(space)
        self.pbounds: dict[str, tuple[float, float]] = {}
        for name, pair in flat.items():
            if not _is_pair(pair):
                raise TypeError(
                    f"`space` of {_WHERE} in bayesian-optimization's format maps each name to "
                    f"(low, high), got {name!r}: {pair!r}"
                )
            low, high = float(pair[0]), float(pair[1])
            if not low < high:
                raise ValueError(
                    f"`space` of {_WHERE}: the bounds of {name!r} must have low < high, got "
                    f"{pair!r}"
                )
            self.pbounds[name] = (low, high)

    def values(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {name: float(to_python(raw[name])) for name in self.pbounds}

    def suggestion(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return nest(values)

    def raw(self, values: Mapping[str, Any]) -> dict[str, float]:
        return {name: float(value) for name, value in values.items()}

    def split_point(self, point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        flat = flatten_point(point)
        unknown = sorted(set(flat) - set(self.pbounds))
        if unknown:
            raise ValueError(
                f"`points_to_evaluate` of {_WHERE} sets {unknown}, which are not in the space "
                f"{sorted(self.pbounds)}"
            )
        for name, value in flat.items():
            low, high = self.pbounds[name]
            if not is_finite_number(value) or not low <= float(value) <= high:
                raise ValueError(
                    f"`points_to_evaluate` of {_WHERE}: the value {value!r} of {name!r} is "
                    f"outside its bounds ({low}, {high})"
                )
        return {name: float(value) for name, value in flat.items()}, {}
