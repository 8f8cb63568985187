"""HEBOSearch's spaces: HEBO parameter records (``DesignSpace().parse(...)``) and the way
between a configuration and a row of HEBO's data frames.

- :class:`TunelabDesign`: a tunelab space. Uniform floats are ``num``, log-uniform ones
  ``pow``; integers ``int`` (stepped ones by index), log-uniform integers ``pow_int``;
  quantized values are rounded (Ray Tune drops the step); categories are ``cat`` (unless all
  are unique values of one type among bool, int, float and str, they reach HEBO as the labels
  ``"#0"``, ``"#1"``, ...).
  Normal distributions raise ``ValueError``: HEBO needs bounds.
- :class:`NativeDesign`: a ``hebo`` ``DesignSpace``; ``"a/b"`` names become nested keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab.search._convert import ParamSpec
from tunelab.search._native import to_python
from tunelab.search._native_space import LabelledSpace, NativeSpace

__all__ = ["NativeDesign", "TunelabDesign"]

_WHERE = "HEBOSearch()"


class TunelabDesign(LabelledSpace):
    """A tunelab space as HEBO parameters (see the module docstring); :meth:`values` reads a
    row HEBO suggested."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config, _WHERE)
        self.records = [self._record(spec) for spec in self.specs]

    def _record(self, spec: ParamSpec) -> dict[str, Any]:
        if spec.kind == "categorical":
            categories = self.category_choices(spec)
            return {"name": spec.name, "type": "cat", "categories": categories}
        self.require_bounds(spec, "HEBO")
        log = spec.law == "loguniform"
        if spec.kind == "int":
            q = int(spec.q or 1)
            if log:
                return {"name": spec.name, "type": "pow_int", "lb": spec.lower, "ub": spec.upper}
            return {
                "name": spec.name,
                "type": "int",
                "lb": int(spec.lower) // q,
                "ub": int(spec.upper) // q,
            }
        return {
            "name": spec.name,
            "type": "pow" if log else "num",
            "lb": spec.lower,
            "ub": spec.upper,
        }

    def row(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """HEBO's row for config values (the inverse of :meth:`values`)."""
        return self.library_values(values)

    def _number_value(self, spec: ParamSpec, raw: Any) -> Any:
        if spec.kind == "int" and spec.law != "loguniform":
            return spec.finish(round(float(raw)) * int(spec.q or 1))
        return spec.finish(raw)

    def _library_number(self, spec: ParamSpec, value: Any) -> Any:
        if spec.kind == "int" and spec.law != "loguniform":
            return int(value) // int(spec.q or 1)
        return value


class NativeDesign(NativeSpace):
    """A ``hebo`` ``DesignSpace`` (see the module docstring)."""

    def __init__(self, design: Any) -> None:
        super().__init__(list(design.para_names), _WHERE, "the design space")
        self.design = design

    def values(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return {name: to_python(row[name]) for name in self.names}

    def row(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return dict(values)
