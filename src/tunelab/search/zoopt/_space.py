"""ZOOptSearch's spaces: ZOOpt dimensions (``Dimension2`` entries) and the way between a
configuration and a ZOOpt solution.

- :class:`TunelabDims`: a tunelab space. Uniform floats are ``CONTINUOUS`` (quantized ones with
  their step as the precision), integers ``DISCRETE`` (stepped integers by index), categories
  ``GRID`` over their indices (so any value can be a category); log-uniform domains are
  searched as ``CONTINUOUS`` on the log scale (Ray Tune rejects them) and rounded back.
  Normal distributions raise ``ValueError``: ZOOpt needs bounds.
- :class:`NativeDims`: ZOOpt's own ``dim_dict`` (``name -> (ValueType.CONTINUOUS, [low,
  high], precision)``, ``(ValueType.DISCRETE, [low, high], has_order)`` or
  ``(ValueType.GRID, [values])``); ``"a/b"`` names become nested keys of the config.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tunelab.search._convert import ParamSpec, build_suggestion, parse_space, point_values
from tunelab.search._native import to_python
from tunelab.search._native_space import NativeSpace
from tunelab.search._resolve import copy_tree

__all__ = ["NativeDims", "TunelabDims"]

_WHERE = "ZOOptSearch()"
_FLOAT_PRECISION = 1e-12  # Ray Tune's precision for unquantized floats
_CONTINUOUS, _DISCRETE, _GRID = 1, 0, 2  # zoopt.ValueType


class TunelabDims:
    """A tunelab space as ZOOpt dimensions (see the module docstring)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = copy_tree(dict(config))
        self.specs = parse_space(self.config, _WHERE)
        self.names = [spec.name for spec in self.specs]
        self.dims = [_dim(spec) for spec in self.specs]

    def values(self, x: Sequence[Any]) -> dict[str, Any]:
        """Config values by name for a ZOOpt solution's ``x``."""
        return {spec.name: _value(spec, to_python(raw)) for spec, raw in zip(self.specs, x)}

    def suggestion(self, values: Mapping[str, Any]) -> dict[str, Any]:
        by_name = {spec.name: spec for spec in self.specs}
        return build_suggestion(self.config, {by_name[n].path: v for n, v in values.items()})

    def split_point(self, point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A point's searched values (by name) and its other values as a partial config."""
        flat, fixed = point_values(point, self.specs, self.config, _WHERE)
        return flat, build_suggestion(self.config, fixed)

    def encode(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """ZOOpt values by name for config values (the inverse of :meth:`values`)."""
        by_name = {spec.name: spec for spec in self.specs}
        return {name: _encode(by_name[name], value) for name, value in values.items()}


def _log_searched(spec: ParamSpec) -> bool:
    return spec.law == "loguniform"


def _dim(spec: ParamSpec) -> tuple[Any, ...]:
    if spec.kind == "categorical":
        return (_GRID, list(range(len(spec.categories))))
    if spec.law == "normal":
        raise ValueError(
            f"{_WHERE} cannot search the normal distribution at {spec.name!r} (tune.randn/"
            f"qrandn): ZOOpt needs bounds; use tune.uniform with bounds"
        )
    lower, upper = float(spec.lower), float(spec.upper)
    if _log_searched(spec):
        if spec.kind == "int":
            lower, upper = max(lower - 0.5, lower / 2), upper + 0.5
        return (_CONTINUOUS, [math.log(lower), math.log(upper)], _FLOAT_PRECISION)
    if spec.kind == "int":
        q = int(spec.q or 1)
        return (_DISCRETE, [int(spec.lower) // q, int(spec.upper) // q], True)
    return (_CONTINUOUS, [lower, upper], spec.q or _FLOAT_PRECISION)


def _value(spec: ParamSpec, raw: Any) -> Any:
    if spec.kind == "categorical":
        return spec.categories[int(raw)]
    if _log_searched(spec):
        return spec.finish(math.exp(float(raw)))
    if spec.kind == "int":
        return spec.finish(int(raw) * int(spec.q or 1))
    return spec.finish(float(raw))


def _encode(spec: ParamSpec, value: Any) -> Any:
    if spec.kind == "categorical":
        return spec.category_index(value)
    if _log_searched(spec):
        return math.log(float(value))
    if spec.kind == "int":
        return int(value) // int(spec.q or 1)
    return float(value)


class NativeDims(NativeSpace):
    """ZOOpt's own ``dim_dict`` (see the module docstring)."""

    def __init__(self, dim_dict: Mapping[str, Any]) -> None:
        flat = _flatten_dims(dim_dict)
        for name, dim in flat.items():
            if not _is_dim(dim):
                raise TypeError(
                    f"`dim_dict` of {_WHERE} maps each name to (ValueType.CONTINUOUS, [low, "
                    f"high], precision), (ValueType.DISCRETE, [low, high], has_order) or "
                    f"(ValueType.GRID, [values]), got {name!r}: {dim!r}"
                )
        super().__init__(list(flat), _WHERE, "`dim_dict`")
        self.dims = [tuple(dim) for dim in flat.values()]

    def values(self, x: Sequence[Any]) -> dict[str, Any]:
        return {name: to_python(raw) for name, raw in zip(self.names, x)}

    def encode(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return dict(values)


def _is_dim(dim: Any) -> bool:
    if not isinstance(dim, tuple | list) or len(dim) not in (2, 3):
        return False
    kind, region = dim[0], dim[1]
    if kind not in (_CONTINUOUS, _DISCRETE, _GRID) or not isinstance(region, list | tuple):
        return False
    if kind == _GRID:
        return len(dim) == 2 and len(region) > 0
    return len(dim) == 3 and len(region) == 2


def _flatten_dims(space: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in space.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten_dims(value, name + "/"))
        else:
            flat[name] = value
    return flat
