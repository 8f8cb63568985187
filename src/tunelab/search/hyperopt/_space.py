"""Translation between configs and hyperopt's trial values (``misc["vals"]``).

Two codecs share one interface (``space``, ``labels``, ``decode(vals)``, ``encode(point)``):

- :class:`TunelabCodec` for a tunelab space: one flat hyperopt label per searched parameter
  (``a/b`` for nested keys); categoricals are ``hp.choice`` over indices so that any Python
  object can be a category; integers and quantized floats are ``quniform``/``qloguniform``
  whose raw values already are the domain's values.
- :class:`NativeCodec` for a space written with ``hp.*`` expressions (nested and conditional
  spaces included): decoding is ``hyperopt.space_eval``; encoding walks the space to turn a
  config into label values (``hp.choice`` categories become their index).
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Mapping
from typing import Any

from tunelab.search._common import is_grid_spec
from tunelab.search._convert import (
    ParamSpec,
    build_suggestion,
    parse_space,
    path_name,
    point_values,
)
from tunelab.search._domain import Domain, Function
from tunelab.search._resolve import copy_tree

__all__ = ["NativeCodec", "TunelabCodec", "is_hyperopt_expression", "to_hyperopt_space"]

_WHERE = "HyperOptSearch()"

logger = logging.getLogger("tunelab.search")


def is_hyperopt_expression(value: Any) -> bool:
    """True for a pyll expression (what ``hp.uniform`` and friends return)."""
    cls = type(value)
    return cls.__module__.startswith("hyperopt.pyll") and hasattr(value, "pos_args")


class TunelabCodec:
    """A tunelab search space seen through hyperopt (flat labels)."""

    def __init__(self, config: Mapping[str, Any], hp: Any) -> None:
        self.config = copy_tree(dict(config))
        self.specs = parse_space(self.config, _WHERE)
        self.by_name = {spec.name: spec for spec in self.specs}
        self.space = {spec.name: _expression(spec, hp) for spec in self.specs}
        self.labels = [spec.name for spec in self.specs]

    def decode(self, vals: Mapping[str, Any]) -> dict[str, Any]:
        values = {}
        for spec in self.specs:
            raw = vals[spec.name]
            if spec.kind == "categorical":
                values[spec.path] = spec.categories[int(raw)]
            else:
                values[spec.path] = spec.finish(raw)
        return build_suggestion(self.config, values)

    def encode(self, point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[Any, Any]]:
        """``(label values, other fixed values by path)`` of a (partial) point."""
        flat, fixed = point_values(point, self.specs, self.config, _WHERE)
        vals: dict[str, Any] = {}
        for name, value in flat.items():
            spec = self.by_name[name]
            if spec.kind == "categorical":
                vals[name] = next(
                    i for i, c in enumerate(spec.categories) if c is value or _same(c, value)
                )
            else:
                vals[name] = value
        return vals, fixed

    def active_labels(self, vals: Mapping[str, Any]) -> set[str]:
        return set(self.labels)

    def fixed_suggestion(self, fixed: Mapping[Any, Any]) -> dict[str, Any]:
        return build_suggestion(self.config, fixed)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False


def _expression(spec: ParamSpec, hp: Any) -> Any:
    name = spec.name
    if spec.kind == "categorical":
        return hp.choice(name, list(range(len(spec.categories))))
    if spec.kind == "int":
        step = spec.q or 1
        half = step / 2 - step * 1e-6
        if spec.law == "loguniform":
            low, high = math.log(spec.lower - step / 2), math.log(spec.upper + half)
            return hp.qloguniform(name, low, high, step)
        return hp.quniform(name, spec.lower - half, spec.upper + half, step)
    if spec.law == "normal":
        if spec.q is not None:
            return hp.qnormal(name, spec.mean, spec.sd, spec.q)
        return hp.normal(name, spec.mean, spec.sd)
    if spec.law == "loguniform":
        low, high = math.log(spec.lower), math.log(spec.upper)
        if spec.q is not None:
            return hp.qloguniform(name, low, high, spec.q)
        return hp.loguniform(name, low, high)
    if spec.q is not None:
        return hp.quniform(name, spec.lower, spec.upper, spec.q)
    return hp.uniform(name, spec.lower, spec.upper)


def to_hyperopt_space(config: Any, hyperopt: Any, path: tuple[Any, ...] = ()) -> Any:
    """``config`` with every tunelab domain replaced by the ``hp.*`` expression of the same
    law, labelled with its path (``"a/b"``); constants, ``sample_from`` values and ``hp.*``
    expressions already there are kept. Categories are ``hp.choice`` over the categories,
    whose own domains are converted too (labelled ``"<name>/<index>/..."``). Integers are
    ``hp.uniformint`` (``int(quniform)`` with ``q``, ``int(qloguniform)`` when log-scaled).
    ``grid_search`` raises ``ValueError``."""
    if isinstance(config, dict) and not is_grid_spec(config):
        return {
            key: to_hyperopt_space(value, hyperopt, (*path, key)) for key, value in config.items()
        }
    if isinstance(config, list | tuple):
        items = [to_hyperopt_space(value, hyperopt, (*path, i)) for i, value in enumerate(config)]
        return tuple(items) if isinstance(config, tuple) else items
    if is_grid_spec(config) or (isinstance(config, Domain) and config.is_grid()):
        raise ValueError(
            f"{_WHERE} cannot search grid_search values (at {path_name(path) or 'the top'!r}); "
            f"use tune.choice([...]), or BasicVariantGenerator for grids"
        )
    if not isinstance(config, Domain) or isinstance(config, Function):
        return copy_tree(config)
    name = path_name(path)
    spec = parse_space({"value": config}, _WHERE)[0]
    hp = hyperopt.hp
    if spec.kind == "categorical":
        return hp.choice(
            name,
            [
                to_hyperopt_space(category, hyperopt, (*path, i))
                for i, category in enumerate(spec.categories)
            ],
        )
    return _native_expression(spec, name, hyperopt)


def _native_expression(spec: ParamSpec, name: str, hyperopt: Any) -> Any:
    hp, scope = hyperopt.hp, hyperopt.pyll.scope
    if spec.kind == "int":
        step = spec.q or 1
        if spec.law == "loguniform":
            low, high = math.log(spec.lower), math.log(spec.upper)
            return scope.int(hp.qloguniform(name, low, high, step))
        if step == 1:
            return hp.uniformint(name, spec.lower, spec.upper)
        return scope.int(hp.quniform(name, spec.lower, spec.upper, step))
    if spec.law == "normal":
        if spec.q is not None:
            return hp.qnormal(name, spec.mean, spec.sd, spec.q)
        return hp.normal(name, spec.mean, spec.sd)
    if spec.law == "loguniform":
        low, high = math.log(spec.lower), math.log(spec.upper)
        if spec.q is not None:
            return hp.qloguniform(name, low, high, spec.q)
        return hp.loguniform(name, low, high)
    if spec.q is not None:
        return hp.quniform(name, spec.lower, spec.upper, spec.q)
    return hp.uniform(name, spec.lower, spec.upper)


class NativeCodec:
    """A space written with hyperopt's own ``hp.*`` expressions."""

    def __init__(self, space: Any, hyperopt: Any) -> None:
        self.space = space
        self._hyperopt = hyperopt
        self.labels = sorted(_all_labels(space))
        if not self.labels:
            raise ValueError(
                f"`space` of {_WHERE} holds no hyperopt expression (hp.uniform, hp.choice, "
                f"...) and no tunelab domain, got {space!r}"
            )

    def decode(self, vals: Mapping[str, Any]) -> dict[str, Any]:
        config = self._hyperopt.space_eval(self.space, dict(vals))
        if not isinstance(config, dict):
            raise TypeError(
                f"the hyperopt space of {_WHERE} must evaluate to a dict config, got {config!r}"
            )
        return dict(copy_tree(config))

    def encode(self, point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[Any, Any]]:
        vals: dict[str, Any] = {}
        _encode(self.space, point, vals, ())
        return vals, {}

    def active_labels(self, vals: Mapping[str, Any]) -> set[str]:
        found: set[str] = set()
        _active(self.space, vals, found)
        return found

    def fixed_suggestion(self, fixed: Mapping[Any, Any]) -> dict[str, Any]:
        return {}


# -- walking pyll graphs -------------------------------------------------------------------
def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, list | tuple):
        return list(node)
    if is_hyperopt_expression(node):
        return list(node.pos_args) + [arg for _, arg in node.named_args]
    return []


def _param_label(node: Any) -> str | None:
    if is_hyperopt_expression(node) and node.name == "hyperopt_param":
        return str(node.pos_args[0].obj)
    return None


def _all_labels(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        label = _param_label(current)
        if label is not None:
            found.add(label)
        stack.extend(_children(current))
    return found


def _active(node: Any, vals: Mapping[str, Any], found: set[str]) -> None:
    label = _param_label(node)
    if label is not None:
        found.add(label)
    if is_hyperopt_expression(node) and node.name == "switch":
        index_label = _param_label(node.pos_args[0])
        if index_label is not None and index_label in vals:
            found.add(index_label)
            options = node.pos_args[1:]
            chosen = int(vals[index_label])
            if 0 <= chosen < len(options):
                _active(options[chosen], vals, found)
            return
    for child in _children(node):
        _active(child, vals, found)


def _is_index(value: Any, count: int) -> bool:
    """An int (numpy ints included, bools not) that is a position among ``count`` options."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        return False
    return 0 <= int(value) < count


def _leaf_label(node: Any) -> str | None:
    """The label of a parameter expression wrapped in value-preserving casts."""
    while is_hyperopt_expression(node):
        label = _param_label(node)
        if label is not None:
            return label
        if node.name not in ("float", "int") or not node.pos_args:
            return None
        node = node.pos_args[0]
    return None


def _encode(space: Any, value: Any, vals: dict[str, Any], path: tuple[Any, ...]) -> None:
    where = "/".join(map(str, path)) or "the config"
    if is_hyperopt_expression(space) and space.name == "switch":
        label = _param_label(space.pos_args[0])
        if label is None:
            raise ValueError(f"{_WHERE} cannot map a points_to_evaluate value at {where}")
        options = space.pos_args[1:]
        for index, option in enumerate(options):
            trial: dict[str, Any] = {}
            try:
                _encode(option, value, trial, path)
            except ValueError:
                continue
            vals[label] = index
            vals.update(trial)
            return
        if _is_index(value, len(options)):
            # Ray Tune before 1.2 took the index of the category: {"activation": 0}
            logger.warning(
                "points_to_evaluate of %s: %r at %s is none of the choices of hp.choice(%r); "
                "read as the index of the choice %d (the Ray Tune 0.x-1.1 spelling). Give the "
                "category itself instead.",
                _WHERE,
                value,
                where,
                label,
                value,
            )
            vals[label] = int(value)
            return
        raise ValueError(
            f"`points_to_evaluate` of {_WHERE}: {value!r} at {where} is none of the choices"
        )
    if is_hyperopt_expression(space) and space.name == "dict":
        if not isinstance(value, Mapping):
            raise ValueError(f"`points_to_evaluate` of {_WHERE}: expected a dict at {where}")
        named = dict(space.named_args)
        _encode_mapping(named, value, vals, path)
        return
    if isinstance(space, Mapping):
        if not isinstance(value, Mapping):
            raise ValueError(f"`points_to_evaluate` of {_WHERE}: expected a dict at {where}")
        _encode_mapping(space, value, vals, path)
        return
    if is_hyperopt_expression(space) and space.name == "literal":
        if not _same(space.obj, value):
            raise ValueError(f"{value!r} differs from the constant at {where}")
        return
    label = _leaf_label(space)
    if label is not None:
        vals[label] = value
        return
    if is_hyperopt_expression(space):
        raise ValueError(
            f"`points_to_evaluate` of {_WHERE}: cannot map a value at {where} onto the "
            f"expression {space.name!r}"
        )
    if not _same(space, value):
        raise ValueError(f"{value!r} differs from the constant at {where}")


def _encode_mapping(
    space: Mapping[str, Any], value: Mapping[str, Any], vals: dict[str, Any], path: tuple[Any, ...]
) -> None:
    for key, item in value.items():
        if key not in space:
            where = "/".join(map(str, (*path, key)))
            raise ValueError(
                f"`points_to_evaluate` of {_WHERE} sets {where!r}, which is not in the space"
            )
        _encode(space[key], item, vals, (*path, key))
