"""The skeleton shared by the spaces of the adapters whose library takes categories as the
values themselves where it can and by label otherwise (Ax, HEBO).

- :class:`LabelledSpace`: a tunelab space for such a library. It parses the space, picks the
  categorical parameters searched by label (``"#0"``, ``"#1"``, ...: those whose categories
  are not :func:`~tunelab.search._native.kept_as_values`) and maps values both ways for the
  categories; the library's own description of each parameter and the mapping of numbers
  stay with the adapter.
- :class:`NativeSpace`: a library's own space with flat ``"a/b"`` names, which become nested
  keys of the config.

Nothing here imports numpy or a search library at module import.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from tunelab.search._convert import ParamSpec, build_suggestion, parse_space, point_values
from tunelab.search._native import flatten_point, kept_as_values, nest, to_python
from tunelab.search._resolve import copy_tree

__all__ = ["LabelledSpace", "NativeSpace"]


class LabelledSpace(ABC):
    """A tunelab space for a library that holds plain categories as values, others by label.

    Contract: ``LabelledSpace(config, where)`` copies ``config`` and parses it (``where``,
    such as ``"AxSearch()"``, names the adapter in error messages) and sets ``config``,
    ``specs`` (one :class:`ParamSpec` per searched parameter, in order), ``by_name``,
    ``names`` and ``labelled`` (the names of the categorical parameters the library sees as
    the labels ``"#0"``, ``"#1"``, ...). A subclass builds its library's parameter
    descriptions after ``super().__init__`` (with :meth:`category_choices` and
    :meth:`require_bounds`) and implements :meth:`_number_value` and :meth:`_library_number`
    for the float and int parameters; :meth:`values` and :meth:`library_values`, inverses
    of each other, handle the categories and call those two for the rest.
    """

    def __init__(self, config: Mapping[str, Any], where: str) -> None:
        self.where = where
        self.config = copy_tree(dict(config))
        self.specs = parse_space(self.config, where)
        self.by_name = {spec.name: spec for spec in self.specs}
        self.names = [spec.name for spec in self.specs]
        self.labelled = {
            spec.name
            for spec in self.specs
            if spec.kind == "categorical" and not kept_as_values(spec.categories)
        }

    def category_choices(self, spec: ParamSpec) -> list[Any]:
        """What the library chooses among for a categorical parameter: its labels when it is
        ``labelled``, else its categories."""
        if spec.name in self.labelled:
            return [f"#{i}" for i in range(len(spec.categories))]
        return list(spec.categories)

    def require_bounds(self, spec: ParamSpec, library: str) -> None:
        """``ValueError`` for a normal distribution, which ``library`` cannot search."""
        if spec.law == "normal":
            raise ValueError(
                f"{self.where} cannot search the normal distribution at {spec.name!r} (tune.randn/"
                f"qrandn): {library} needs bounds; use tune.uniform with bounds"
            )

    def values(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Config values by name for the library's values by name (numpy values as plain
        ones, labels as their categories)."""
        out: dict[str, Any] = {}
        for spec in self.specs:
            value = to_python(raw[spec.name])
            if spec.kind == "categorical":
                out[spec.name] = (
                    spec.categories[int(str(value)[1:])] if spec.name in self.labelled else value
                )
            else:
                out[spec.name] = self._number_value(spec, value)
        return out

    def library_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The library's values by name for config values (the inverse of :meth:`values`)."""
        out: dict[str, Any] = {}
        for name, value in values.items():
            spec = self.by_name[name]
            if spec.kind == "categorical":
                out[name] = f"#{spec.category_index(value)}" if name in self.labelled else value
            else:
                out[name] = self._library_number(spec, value)
        return out

    @abstractmethod
    def _number_value(self, spec: ParamSpec, raw: Any) -> Any:
        """The config value of the library's plain value ``raw`` of a float or int parameter."""

    @abstractmethod
    def _library_number(self, spec: ParamSpec, value: Any) -> Any:
        """The library's value of the config value of a float or int parameter."""

    def suggestion(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The config (constants and ``sample_from`` resolved) for config values by name."""
        return build_suggestion(self.config, {self.by_name[n].path: v for n, v in values.items()})

    def split_point(self, point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A point of ``points_to_evaluate`` as its searched values by name and a partial
        config of its other values."""
        flat, fixed = point_values(point, self.specs, self.config, self.where)
        return flat, build_suggestion(self.config, fixed)


class NativeSpace:
    """A library's own space, its parameters by flat ``"a/b"`` name.

    Contract: ``NativeSpace(names, where, holder)``: ``names`` are the parameter names,
    ``where`` the adapter and ``holder`` the library's space (``"the Ax experiment"``) in
    error messages. :meth:`suggestion` nests the names into a config; :meth:`split_point`
    rejects a point that sets other names. A subclass adds the library's space itself and
    its mapping of values.
    """

    def __init__(self, names: Sequence[str], where: str, holder: str) -> None:
        self.names = list(names)
        self.where = where
        self.holder = holder

    def suggestion(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return nest(values)

    def split_point(self, point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        flat = flatten_point(point)
        unknown = sorted(set(flat) - set(self.names))
        if unknown:
            raise ValueError(
                f"`points_to_evaluate` of {self.where} sets {unknown}, which are not parameters "
                f"of {self.holder} {self.names}"
            )
        return flat, {}
