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

from tunelab.search._convert import ParamSpec
from tunelab.search._native import to_python
from tunelab.search._native_space import LabelledSpace, NativeSpace

__all__ = ["NativeParameters", "TunelabParameters"]

_WHERE = "AxSearch()"


class TunelabParameters(LabelledSpace):
    """A tunelab space as Ax parameters (see the module docstring)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config, _WHERE)
        self.parameters = [self._parameter(spec) for spec in self.specs]

    def _parameter(self, spec: ParamSpec) -> dict[str, Any]:
        if spec.kind == "categorical":
            if len(spec.categories) < 2:
                raise ValueError(
                    f"{_WHERE} cannot search {spec.name!r} with one category "
                    f"({spec.categories!r}): Ax choices need two values; use a constant"
                )
            values = self.category_choices(spec)
            return {"name": spec.name, "type": "choice", "values": values, "is_ordered": False}
        self.require_bounds(spec, "Ax")
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

    def parameterization(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Ax's parameterization of config values (the inverse of :meth:`values`)."""
        return self.library_values(values)

    def _number_value(self, spec: ParamSpec, raw: Any) -> Any:
        if _by_index(spec):
            return spec.finish(int(raw) * int(spec.q or 1))
        return spec.finish(raw)

    def _library_number(self, spec: ParamSpec, value: Any) -> Any:
        if _by_index(spec):
            return int(value) // int(spec.q or 1)
        if spec.kind == "int":
            return int(value)
        if spec.kind == "float":
            return float(value)
        return value


def _by_index(spec: ParamSpec) -> bool:
    return spec.kind == "int" and int(spec.q or 1) > 1 and spec.law != "loguniform"


class NativeParameters(NativeSpace):
    """Ax's own parameter dicts (see the module docstring)."""

    def __init__(self, parameters: Sequence[Mapping[str, Any]] | None, names: Sequence[str]):
        super().__init__(names, _WHERE, "the Ax experiment")
        self.parameters = [dict(p) for p in parameters] if parameters is not None else None

    def values(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        return {name: to_python(value) for name, value in parameters.items()}

    def parameterization(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return dict(values)


def is_parameter_list(space: Any) -> bool:
    return (
        isinstance(space, list | tuple)
        and bool(space)
        and all(isinstance(p, Mapping) and "name" in p and "type" in p for p in space)
    )
