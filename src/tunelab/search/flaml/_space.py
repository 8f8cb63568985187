"""The FLAML searchers' spaces: tunelab domains rebuilt as ``flaml.tune`` domains, and the
way back from FLAML's configurations.

A tunelab space keeps its nested keys; each searched domain becomes the FLAML domain of the
same law and bounds (``randint``'s exclusive upper bound included). Categories that are not
plain values (``None``, bools, numbers, strings) reach FLAML as the labels ``"#0"``, ``"#1"``,
... and come back as the values themselves. Normal distributions raise ``ValueError`` (FLAML's
local search needs bounds), and so do domains inside lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab.search._convert import ParamSpec, parse_space, point_values
from tunelab.search._native import to_python
from tunelab.search._resolve import copy_tree

__all__ = ["TunelabFlamlSpace", "has_flaml_domain", "pythonize"]

_PRIMITIVE = (type(None), bool, int, float, str)


def has_flaml_domain(space: Any, sample: Any) -> bool:
    """True when ``space`` (nested dicts) holds a ``flaml.tune`` domain."""
    if isinstance(space, sample.Domain):
        return True
    if isinstance(space, dict):
        return any(has_flaml_domain(v, sample) for v in space.values())
    return False


class TunelabFlamlSpace:
    """A tunelab space as FLAML domains (see the module docstring)."""

    def __init__(self, config: Mapping[str, Any], sample: Any, where: str) -> None:
        self.where = where
        self.config = copy_tree(dict(config))
        self.specs = parse_space(self.config, where)
        self.labelled: set[str] = set()
        self.space: dict[str, Any] = {}
        for spec in self.specs:
            if not all(isinstance(key, str) for key in spec.path):
                raise ValueError(
                    f"{where} cannot search {spec.name!r}: FLAML searches nested dicts, not "
                    f"values inside lists"
                )
            _set(self.space, spec.path, self._domain(spec, sample))

    def _domain(self, spec: ParamSpec, sample: Any) -> Any:
        if spec.kind == "categorical":
            categories = spec.categories
            if not _plain(categories):
                self.labelled.add(spec.name)
                categories = [f"#{i}" for i in range(len(categories))]
            return sample.choice(list(categories))
        if spec.law == "normal":
            raise ValueError(
                f"{self.where} cannot search the normal distribution at {spec.name!r} "
                f"(tune.randn/qrandn): FLAML's local search needs bounds; use tune.uniform"
            )
        log = spec.law == "loguniform"
        if spec.kind == "int":
            lower, upper, q = int(spec.lower), int(spec.upper), int(spec.q or 1)
            if q > 1:
                return (sample.qlograndint if log else sample.qrandint)(lower, upper, q)
            return (sample.lograndint if log else sample.randint)(lower, upper + 1)
        if spec.q is not None:
            return (sample.qloguniform if log else sample.quniform)(spec.lower, spec.upper, spec.q)
        return (sample.loguniform if log else sample.uniform)(spec.lower, spec.upper)

    def decode(self, flaml_config: Mapping[str, Any]) -> dict[str, Any]:
        """FLAML's configuration with each searched value in its tunelab domain (keys FLAML
        adds, such as a resource, are kept)."""
        out: dict[str, Any] = pythonize(dict(flaml_config))
        for spec in self.specs:
            raw = _get(flaml_config, spec.path)
            if raw is _MISSING:
                continue
            raw = to_python(raw)
            if spec.kind == "categorical":
                value = spec.categories[int(raw[1:])] if spec.name in self.labelled else raw
            else:
                value = spec.finish(raw)
            _set(out, spec.path, value)
        return out

    def encode_point(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """A (partial) tunelab point as FLAML values (nested; labels for labelled
        categories). Values the space does not search are left out."""
        flat, _ = point_values(point, self.specs, self.config, self.where)
        by_name = {spec.name: spec for spec in self.specs}
        out: dict[str, Any] = {}
        for name, value in flat.items():
            spec = by_name[name]
            if name in self.labelled:
                index = spec.category_index(value)
                value = f"#{index}"
            _set(out, spec.path, value)
        return out


def pythonize(node: Any) -> Any:
    """Nested dicts and lists with numpy values as plain Python values (a copy)."""
    if isinstance(node, dict):
        return {key: pythonize(value) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return type(node)(pythonize(value) for value in node)
    return to_python(node)


def _plain(categories: list[Any]) -> bool:
    if not all(type(c) in _PRIMITIVE for c in categories):
        return False
    keys = [(type(c), c) for c in categories]
    return len(set(keys)) == len(keys)


_MISSING = object()


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node


def _set(out: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node = out
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = value
