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

from tunelab.search._convert import ParamSpec, build_suggestion, parse_space, point_values
from tunelab.search._native import flatten_point, kept_as_values, nest, to_python
from tunelab.search._resolve import copy_tree

__all__ = ["NativeDesign", "TunelabDesign"]

_WHERE = "HEBOSearch()"


class TunelabDesign:
    """A tunelab space as HEBO parameters (see the module docstring)."""

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
        self.records = [self._record(spec) for spec in self.specs]

    def _record(self, spec: ParamSpec) -> dict[str, Any]:
        if spec.kind == "categorical":
            categories = (
                [f"#{i}" for i in range(len(spec.categories))]
                if spec.name in self.labelled
                else list(spec.categories)
            )
            return {"name": spec.name, "type": "cat", "categories": categories}
        if spec.law == "normal":
            raise ValueError(
                f"{_WHERE} cannot search the normal distribution at {spec.name!r} (tune.randn/"
                f"qrandn): HEBO needs bounds; use tune.uniform with bounds"
            )
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

    def values(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Config values by name for a row HEBO suggested."""
        out = {}
        for spec in self.specs:
            raw = to_python(row[spec.name])
            if spec.kind == "categorical":
                out[spec.name] = (
                    spec.categories[int(str(raw)[1:])] if spec.name in self.labelled else raw
                )
            elif spec.kind == "int" and spec.law != "loguniform":
                out[spec.name] = spec.finish(round(float(raw)) * int(spec.q or 1))
            else:
                out[spec.name] = spec.finish(raw)
        return out

    def row(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """HEBO's row for config values (the inverse of :meth:`values`)."""
        out = {}
        for name, value in values.items():
            spec = self.by_name[name]
            if spec.kind == "categorical":
                if name in self.labelled:
                    index = spec.category_index(value)
                    value = f"#{index}"
            elif spec.kind == "int" and spec.law != "loguniform":
                value = int(value) // int(spec.q or 1)
            out[name] = value
        return out

    def suggestion(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return build_suggestion(self.config, {self.by_name[n].path: v for n, v in values.items()})

    def split_point(self, point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        flat, fixed = point_values(point, self.specs, self.config, _WHERE)
        return flat, build_suggestion(self.config, fixed)


class NativeDesign:
    """A ``hebo`` ``DesignSpace`` (see the module docstring)."""

    def __init__(self, design: Any) -> None:
        self.design = design
        self.names = list(design.para_names)

    def values(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return {name: to_python(row[name]) for name in self.names}

    def row(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return dict(values)

    def suggestion(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return nest(values)

    def split_point(self, point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        flat = flatten_point(point)
        unknown = sorted(set(flat) - set(self.names))
        if unknown:
            raise ValueError(
                f"`points_to_evaluate` of {_WHERE} sets {unknown}, which are not parameters of "
                f"the design space {self.names}"
            )
        return flat, {}
