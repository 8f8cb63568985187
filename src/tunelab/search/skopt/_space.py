"""SkOptSearch's spaces: a list of scikit-optimize dimensions plus the way between a
configuration and a point of the optimizer.

- :class:`TunelabDimensions`: a tunelab space. Floats become ``Real`` and integers
  ``Integer`` (``log-uniform`` prior for log-uniform domains), quantized values are rounded
  (stepped integers are searched by their index), categories are searched by index with
  ``Categorical`` (so any value can be a category). Normal distributions raise
  ``ValueError``: scikit-optimize needs bounds.
- :class:`NamedDimensions`: parameter names with scikit-optimize's own dimensions (``(low,
  high)``, ``(low, high, "log-uniform")``, a list of categories or a ``Dimension``), from a
  dict space or from names given with an ``Optimizer`` instance; ``"a/b"`` names become
  nested keys of the config.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tunelab.search._convert import ParamSpec, build_suggestion, parse_space, point_values
from tunelab.search._native import flatten_point, nest, to_python
from tunelab.search._resolve import copy_tree

__all__ = ["NamedDimensions", "TunelabDimensions"]

_WHERE = "SkOptSearch()"


class TunelabDimensions:
    """A tunelab space as scikit-optimize dimensions (see the module docstring)."""

    def __init__(self, config: Mapping[str, Any], space_module: Any) -> None:
        self.config = copy_tree(dict(config))
        self.specs = parse_space(self.config, _WHERE)
        self.names = [spec.name for spec in self.specs]
        self.dimensions = [_dimension(spec, space_module) for spec in self.specs]

    def decode(self, x: Sequence[Any]) -> tuple[dict[str, Any], list[Any]]:
        """The suggestion for a point, and the point of the values it holds (to tell)."""
        values: dict[Any, Any] = {}
        told = []
        for spec, raw in zip(self.specs, x):
            value = _value(spec, to_python(raw))
            values[spec.path] = value
            told.append(_encode(spec, value))
        return build_suggestion(self.config, values), told

    def encode_point(self, point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A point's searched values as the optimizer's (by name), and its other values as a
        partial config."""
        flat, fixed = point_values(point, self.specs, self.config, _WHERE)
        by_name = {spec.name: spec for spec in self.specs}
        return (
            {name: _encode(by_name[name], value) for name, value in flat.items()},
            build_suggestion(self.config, fixed),
        )

    def suggestion(self, encoded: Mapping[str, Any]) -> dict[str, Any]:
        """The config values of optimizer values given by name."""
        by_name = {spec.name: spec for spec in self.specs}
        return build_suggestion(
            self.config,
            {by_name[n].path: _value(by_name[n], v) for n, v in encoded.items()},
        )


def _dimension(spec: ParamSpec, space: Any) -> Any:
    if spec.kind == "categorical":
        return space.Categorical(list(range(len(spec.categories))), name=spec.name)
    if spec.law == "normal":
        raise ValueError(
            f"{_WHERE} cannot search the normal distribution at {spec.name!r} (tune.randn/"
            f"qrandn): scikit-optimize needs bounds; use tune.uniform with bounds"
        )
    prior = "log-uniform" if spec.law == "loguniform" else "uniform"
    if spec.kind == "int":
        q = int(spec.q or 1)
        if q > 1 and prior == "uniform":  # the multiples of q, by index
            return space.Integer(int(spec.lower) // q, int(spec.upper) // q, name=spec.name)
        return space.Integer(int(spec.lower), int(spec.upper), prior=prior, name=spec.name)
    return space.Real(float(spec.lower), float(spec.upper), prior=prior, name=spec.name)


def _stepped_by_index(spec: ParamSpec) -> bool:
    return spec.kind == "int" and int(spec.q or 1) > 1 and spec.law != "loguniform"


def _value(spec: ParamSpec, raw: Any) -> Any:
    """The config value of an optimizer value."""
    if spec.kind == "categorical":
        return spec.categories[int(raw)]
    if _stepped_by_index(spec):
        return spec.finish(int(raw) * int(spec.q or 1))
    return spec.finish(raw)


def _encode(spec: ParamSpec, value: Any) -> Any:
    """The optimizer value of a config value (the inverse of :func:`_value`)."""
    if spec.kind == "categorical":
        return spec.category_index(value)
    if _stepped_by_index(spec):
        return int(value) // int(spec.q or 1)
    if spec.kind == "int":
        return int(value)
    number = float(value)
    if spec.q is not None and spec.law == "loguniform":
        number = min(max(number, spec.lower), spec.upper)
    return number if math.isfinite(number) else value


class NamedDimensions:
    """Names with scikit-optimize's own dimensions (see the module docstring)."""

    def __init__(self, names: Sequence[str], dimensions: Sequence[Any] | None) -> None:
        self.names = list(names)
        self.dimensions = list(dimensions) if dimensions is not None else None

    @classmethod
    def from_dict(cls, space: Mapping[str, Any]) -> NamedDimensions:
        flat = _flatten_dims(space)
        return cls(list(flat), list(flat.values()))

    def decode(self, x: Sequence[Any], convert: bool) -> tuple[dict[str, Any], list[Any]]:
        values = [to_python(v) if convert else v for v in x]
        return nest(dict(zip(self.names, values))), list(x)

    def encode_point(self, point: Mapping[str, Any]) -> dict[str, Any]:
        flat = flatten_point(point)
        unknown = sorted(set(flat) - set(self.names))
        if unknown:
            raise ValueError(
                f"`points_to_evaluate` of {_WHERE} sets {unknown}, which are not among the "
                f"parameters {self.names}"
            )
        return flat


def _flatten_dims(space: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flat ``a/b`` names; a dict value is a nested group unless it is empty."""
    flat: dict[str, Any] = {}
    for key, value in space.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten_dims(value, name + "/"))
        else:
            flat[name] = value
    return flat
