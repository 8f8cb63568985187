"""AxSearch's spaces: Ax parameter dicts (``AxClient.create_experiment(parameters=...)``) and
the way from Ax's parameterizations back to configurations.

- :class:`TunelabParameters`: a tunelab space. Floats and integers are ``range`` parameters
  (``log_scale`` for log-uniform domains; quantized values are rounded, Ray Tune drops the
  step), stepped integers are searched by index, categories are ``choice`` parameters
  (values Ax cannot hold, anything but unique bools, numbers and strings of one type, reach
  it as the labels ``"#0"``, ``"#1"``, ...). One-category choices and normal distributions
  raise ``ValueError``.
- :class:`NativeParameters`: Ax's own list of parameter dicts; ``"a/b"`` names become nested
  keys of the config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tunelab.search._convert import ParamSpec, build_suggestion, parse_space, point_values
from tunelab.search._native import flatten_point, kept_as_values, nest, to_python
from tunelab.search._resolve import copy_tree

__all__ = ["NativeParameters", "TunelabParameters"]

_WHERE = "AxSearch()"


class TunelabParameters:
    """A tunelab space as Ax parameters (see the module docstring)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = copy_tree(dict(config))
        self.specs = parse_space(self.config, _WHERE)
        self.by_name = {spec.name: spec for spec in self.specs}
        self.names = [spec.name for spec in self.specs]
        self.labelled = {
            spec.name
            for spec in self.specs
            if spec.kind == "categorical" and not kept_as_values(spec.categories)
        }
        self.parameters = [self._parameter(spec) for spec in self.specs]

    def _parameter(self, spec: ParamSpec) -> dict[str, Any]:
        if spec.kind == "categorical":
            if len(spec.categories) < 2:
                raise ValueError(
                    f"{_WHERE} cannot search {spec.name!r} with one category "
                    f"({spec.categories!r}): Ax choices need two values; use a constant"
                )
            values = (
                [f"#{i}" for i in range(len(spec.categories))]
                if spec.name in self.labelled
                else list(spec.categories)
            )
            return {"name": spec.name, "type": "choice", "values": values, "is_ordered": False}
        if spec.law == "normal":
            raise ValueError(
                f"{_WHERE} cannot search the normal distribution at {spec.name!r} (tune.randn/"
                f"qrandn): Ax needs bounds; use tune.uniform with bounds"
            )
        log = spec.law == "loguniform"
        if spec.kind == "int":
            q = int(spec.q or 1)
            lower, upper = (int(spec.lower), int(spec.upper))
            if q > 1 and not log:
                lower, upper = lower // q, upper // q
            return {
                "name": spec.name,
                "type": "range",
                "bounds": [lower, upper],
                "value_type": "int",
                "log_scale": log,
            }
        return {
            "name": spec.name,
            "type": "range",
            "bounds": [float(spec.lower), float(spec.upper)],
            "value_type": "float",
            "log_scale": log,
        }

    def values(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """Config values by name for Ax's parameterization."""
        out = {}
        for spec in self.specs:
            raw = to_python(parameters[spec.name])
            if spec.kind == "categorical":
                out[spec.name] = (
                    spec.categories[int(str(raw)[1:])] if spec.name in self.labelled else raw
                )
            elif _by_index(spec):
                out[spec.name] = spec.finish(int(raw) * int(spec.q or 1))
            else:
                out[spec.name] = spec.finish(raw)
        return out

    def parameterization(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Ax's parameterization of config values (the inverse of :meth:`values`)."""
        out = {}
        for name, value in values.items():
            spec = self.by_name[name]
            if name in self.labelled:
                index = spec.category_index(value)
                value = f"#{index}"
            elif _by_index(spec):
                value = int(value) // int(spec.q or 1)
            elif spec.kind == "int":
                value = int(value)
            elif spec.kind == "float":
                value = float(value)
            out[name] = value
        return out

    def suggestion(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return build_suggestion(self.config, {self.by_name[n].path: v for n, v in values.items()})

    def split_point(self, point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        flat, fixed = point_values(point, self.specs, self.config, _WHERE)
        return flat, build_suggestion(self.config, fixed)


def _by_index(spec: ParamSpec) -> bool:
    return spec.kind == "int" and int(spec.q or 1) > 1 and spec.law != "loguniform"


class NativeParameters:
    """Ax's own parameter dicts (see the module docstring)."""

    def __init__(self, parameters: Sequence[Mapping[str, Any]] | None, names: Sequence[str]):
        self.parameters = [dict(p) for p in parameters] if parameters is not None else None
        self.names = list(names)

    def values(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        return {name: to_python(value) for name, value in parameters.items()}

    def parameterization(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return dict(values)

    def suggestion(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return nest(values)

    def split_point(self, point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        flat = flatten_point(point)
        unknown = sorted(set(flat) - set(self.names))
        if unknown:
            raise ValueError(
                f"`points_to_evaluate` of {_WHERE} sets {unknown}, which are not parameters of "
                f"the Ax experiment {self.names}"
            )
        return flat, {}


def is_parameter_list(space: Any) -> bool:
    return (
        isinstance(space, list | tuple)
        and bool(space)
        and all(isinstance(p, Mapping) and "name" in p and "type" in p for p in space)
    )
