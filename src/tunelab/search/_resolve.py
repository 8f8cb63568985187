"""Resolution of a search space into concrete configs.

A search space is any nesting of dicts, lists and tuples whose leaves are plain values or
*unresolved leaves*: domains (``uniform(...)``, ``sample_from(f)``, ...), grid markers
(``{"grid_search": [...]}``, ``Categorical(...).grid()``) and legacy ``{"eval": "expr"}``
markers. One *sample* of a space is resolved as follows:

1. grid leaves, sorted by path, take every combination of their values (the first grid leaf
   varies fastest); a grid value that itself holds unresolved leaves is resolved in turn;
2. plain domains are drawn in path order from the sample's ``random.Random``;
3. ``sample_from`` functions and ``eval`` expressions run in passes: one that reads a value not
   resolved yet is retried in the next pass, so dependent values resolve in dependency order;
   a pass that resolves nothing ends with :class:`RecursiveDependencyError` (a cycle).

With ``constant_grid_search=True`` steps 2 and 3 run once per sample (for what does not depend
on grid values) and the values are held over the grid.

**Bare functions in a config.** Ray Tune 0.5-0.6 evaluated a bare function found in a config
(``"alpha": lambda spec: np.random.uniform(100)``, ``"beta": lambda spec: spec.config.alpha *
2``) during variant generation; later generations pass bare functions through to the
trainable untouched (only ``sample_from`` is called), and configs of that code hold functions
as data (``"model_fn": make_model``, ``"activation": torch.relu``). Both stay correct under
one rule, by signature: a plain Python function or lambda whose only parameter is a
positional one named ``spec`` (the name every 0.x document and example used) is resolved as
``sample_from(f)`` would be; every other callable (other parameter names or counts, builtins,
classes, methods, ``functools.partial``, callable objects) reaches the trainable as it is.
``function(f)`` (0.6's ``tune.function``) escapes the rule: the config holds a
:class:`LiteralFunction` marker, replaced by ``f`` itself when the config is resolved (not
called, not part of the experiment tag).

**Trust.** ``eval`` expressions and ``sample_from`` functions are code. They are accepted only
from the driver's own Python code. A space that came from outside it (a REST request body, a
YAML/JSON spec file) is resolved *untrusted*: ``SpacePlan(space, trusted=False)``, or any plan
built inside an :func:`untrusted_specs` scope, first checks that the space holds only data and
raises :class:`UntrustedSpecError` naming the key path of the first code-bearing value
(``config/lr``); nothing is compiled or called. :func:`find_code` lists those values.
"""

from __future__ import annotations

import builtins
import contextlib
import contextvars
import copy
import importlib
import inspect
import logging
import math
import re
from collections.abc import Callable, Iterator, Mapping
from types import CodeType, FunctionType
from typing import Any

from tunelab._errors import TuneError
from tunelab.search._common import (
    DomainBase,
    Draw,
    SpecView,
    UnresolvedValueError,
    is_eval_spec,
    is_grid_spec,
    is_unresolved,
    spec_view,
    unwrap,
)
from tunelab.search._domain import Domain, Function

__all__ = [
    "MAX_UNTRUSTED_DEPTH",
    "LiteralFunction",
    "Path",
    "RecursiveDependencyError",
    "SpacePlan",
    "UntrustedSpecError",
    "apply_point",
    "check_data_only",
    "contains_unresolved",
    "copy_tree",
    "count_grid_variants",
    "find_code",
    "find_unresolved",
    "flatten_resolved_vars",
    "format_vars",
    "is_legacy_spec_function",
    "iter_sample",
    "path_sort_key",
    "set_path",
    "untrusted_specs",
]

logger = logging.getLogger("tunelab.search")

Path = tuple[Any, ...]
Lazy = Function | CodeType


class RecursiveDependencyError(TuneError, ValueError):
    """``sample_from``/``eval`` values that depend on each other (or on nothing resolvable).

    Raised while a config is resolved, e.g. for ``{"a": sample_from(lambda c: c["b"]),
    "b": sample_from(lambda c: c["a"])}``. A ``ValueError`` (and a
    :class:`~tunelab.error.TuneError`).
    """


class UntrustedSpecError(TuneError, ValueError):
    """A spec from outside the driver's code (REST API, spec file) holds code.

    ``path`` is the key path of the offending value (``"config/lr"``), ``source`` names where
    the spec came from (``"POST /trials"``, a file name)."""

    def __init__(self, message: str, path: str = "", source: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.source = source


# -- bare functions in a config (see the module docstring) ---------------------------------
_VARIADIC = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS


def is_legacy_spec_function(value: Any) -> bool:
    """True for a plain function or lambda whose only parameter is a positional ``spec``
    without a default: the 0.5-0.6 spelling of a value computed from the spec."""
    if type(value) is not FunctionType:
        return False
    code = value.__code__
    return (
        code.co_argcount == 1
        and code.co_kwonlyargcount == 0
        and not code.co_flags & _VARIADIC
        and code.co_varnames[0] == "spec"
        and not value.__defaults__
    )


class LiteralFunction(Function):
    """``function(f)``: ``f`` reaches the trainable as it is (never called while resolving).

    Calling the marker calls ``f``, so code that receives it unresolved still works.
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        Domain.__init__(self)
        if not callable(func):
            raise TypeError(f"`func` of function() must be callable, got {func!r}")
        self.func = func
        self.pass_config = False
        self.__wrapped__ = func

    def call(self, view: Any) -> Any:
        return self.func

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    @property
    def domain_str(self) -> str:
        name = getattr(self.func, "__qualname__", None) or repr(self.func)
        return f"function({name})"

    def __repr__(self) -> str:
        return f"LiteralFunction({self.domain_str})"


# -- trust: what may come from outside the driver -------------------------------------------
#: How deep an untrusted spec may nest (deeper is refused before anything walks it).
MAX_UNTRUSTED_DEPTH = 64


def find_code(spec: Any, *, max_depth: int = MAX_UNTRUSTED_DEPTH) -> list[tuple[Path, str]]:
    """Every value of ``spec`` that would run code when resolved, as ``(path, what)`` in
    document order: ``{"eval": "..."}`` expressions, ``sample_from``/``function`` domains
    and any other callable (a function, a class). Grid values are searched too. A value
    nested deeper than ``max_depth`` is reported as well (nothing below it is looked at).
    Walks without recursion, so any input that was parsed can be checked."""
    found: list[tuple[Path, str]] = []
    stack: list[tuple[Path, Any]] = [((), spec)]
    while stack:
        path, node = stack.pop()
        if len(path) > max_depth:
            found.append((path, f"a value nested more than {max_depth} levels deep"))
            continue
        if isinstance(node, dict):
            if is_eval_spec(node):
                found.append((path, f"{{'eval': {node['eval']!r:.80}}} (a Python expression)"))
                continue
            children = list(node.items())
        elif isinstance(node, list | tuple):
            children = list(enumerate(node))
        elif isinstance(node, Function):
            found.append((path, "a sample_from() function"))
            continue
        elif isinstance(node, DomainBase):
            continue  # a domain object holds data (bounds, categories)
        elif callable(node):
            found.append((path, f"a callable ({type(node).__name__})"))
            continue
        else:
            continue
        for key, value in reversed(children):
            stack.append(((*path, key), value))
    return found


def check_data_only(spec: Any, *, source: str, prefix: Path = ()) -> None:
    """Raise :class:`UntrustedSpecError` when ``spec`` (which came from ``source``) holds
    code; the message and ``path`` name the first such value's key path below ``prefix``."""
    found = find_code(spec)
    if not found:
        return
    path, what = found[0]
    where = _path_str((*prefix, *path))
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    raise UntrustedSpecError(
        f"{where}: {what} is not accepted in {source}{more}: it may hold only data (numbers, "
        "strings, lists, dicts, {'grid_search': [...]}); expressions and functions are "
        "accepted only from the driver's Python code",
        where,
        source,
    )


class _Untrusted:
    __slots__ = ("prefix", "source")

    def __init__(self, source: str, prefix: Path) -> None:
        self.source = source
        self.prefix = prefix


_UNTRUSTED: contextvars.ContextVar[_Untrusted | None] = contextvars.ContextVar(
    "tunelab_untrusted_spec", default=None
)


@contextlib.contextmanager
def untrusted_specs(source: str, prefix: Path = ()) -> Iterator[None]:
    """Resolve every search space planned in this scope as untrusted (see the module
    docstring): for the paths that expand a spec from ``source`` through code that builds
    its own :class:`SpacePlan` (a variant generator). ``prefix`` starts the key paths
    named in errors (``("config",)``)."""
    token = _UNTRUSTED.set(_Untrusted(source, tuple(prefix)))
    try:
        yield
    finally:
        _UNTRUSTED.reset(token)


# -- paths and trees -----------------------------------------------------------------------
def path_sort_key(path: Path) -> tuple[tuple[int, Any], ...]:
    """Sort key for paths whose keys mix strings and list indices."""
    return tuple(
        (0, key) if isinstance(key, int) and not isinstance(key, bool) else (1, str(key))
        for key in path
    )


def find_unresolved(spec: Any) -> list[tuple[Path, Any]]:
    """Every unresolved leaf of ``spec`` with its path, in document order."""
    found: list[tuple[Path, Any]] = []
    _walk(spec, (), found)
    return found


def _walk(node: Any, path: Path, found: list[tuple[Path, Any]]) -> None:
    if isinstance(node, dict):
        if len(node) == 1 and is_unresolved(node):
            found.append((path, node))
            return
        for key, value in node.items():
            _walk(value, (*path, key), found)
    elif isinstance(node, list | tuple):
        for index, value in enumerate(node):
            _walk(value, (*path, index), found)
    elif isinstance(node, DomainBase):
        found.append((path, node))
    elif type(node) is FunctionType and is_legacy_spec_function(node):
        found.append((path, Function(node)))


def contains_unresolved(value: Any) -> bool:
    if isinstance(value, dict | list | tuple):
        return bool(find_unresolved(value))
    return isinstance(value, DomainBase) or is_legacy_spec_function(value)


_PLAIN = (dict, list, tuple)


def copy_tree(node: Any) -> Any:
    """Copy every dict, list and tuple of ``node``; other objects are shared."""
    kind = type(node)
    if kind is dict:
        return {k: copy_tree(v) if type(v) in _PLAIN else v for k, v in node.items()}
    if kind is list:
        return [copy_tree(v) if type(v) in _PLAIN else v for v in node]
    if kind is tuple:
        return tuple(copy_tree(v) if type(v) in _PLAIN else v for v in node)
    if isinstance(node, dict):
        copied = copy.copy(node)
        for key in list(copied):
            copied[key] = copy_tree(copied[key])
        return copied
    if isinstance(node, list):
        copied_list = copy.copy(node)
        copied_list[:] = [copy_tree(v) for v in node]
        return copied_list
    if isinstance(node, tuple):
        return _rebuild_tuple(node, [copy_tree(v) for v in node])
    return node


def _rebuild_tuple(original: tuple[Any, ...], items: list[Any]) -> tuple[Any, ...]:
    if type(original) is tuple:
        return tuple(items)
    if hasattr(original, "_fields"):  # namedtuple
        rebuilt: tuple[Any, ...] = type(original)(*items)
        return rebuilt
    return type(original)(items)


def set_path(root: Any, path: Path, value: Any) -> Any:
    """Set ``value`` at ``path`` inside ``root`` (tuples are rebuilt); returns the new root."""
    if not path:
        return value
    return _set(root, path, 0, value)


def _set(node: Any, path: Path, depth: int, value: Any) -> Any:
    key = path[depth]
    child = value if depth == len(path) - 1 else _set(node[key], path, depth + 1, value)
    if isinstance(node, tuple):
        items = list(node)
        items[key] = child
        return _rebuild_tuple(node, items)
    node[key] = child
    return node


def _get_path(root: Any, path: Path) -> Any:
    for key in path:
        root = root[key]
    return root


def _is_under(path: Path, prefixes: list[Path]) -> bool:
    return any(path[: len(prefix)] == prefix for prefix in prefixes)


# -- compiled plan of one space ------------------------------------------------------------
class _Grid:
    __slots__ = ("nested", "path", "values")

    def __init__(self, path: Path, values: list[Any]) -> None:
        self.path = path
        self.values = values
        self.nested = [contains_unresolved(value) for value in values]


class _Pending(DomainBase):
    """Stands in a plan's skeleton where an unresolved leaf was (reading it means "later")."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unresolved>"


_PENDING = _Pending()


class SpacePlan:
    """The unresolved leaves of one search space, found once and reused for every sample.

    ``skeleton`` is the space with every unresolved leaf replaced by a placeholder, so copying
    it for a new config never copies grid value lists or domains.
    """

    __slots__ = (
        "grids",
        "lazies",
        "leaves",
        "samples",
        "simple",
        "skeleton",
        "template",
        "trusted",
    )

    def __init__(self, template: Any, *, trusted: bool | None = None) -> None:
        """``trusted=False``: ``template`` came from outside the driver's code and must hold
        only data (:class:`UntrustedSpecError` otherwise, before anything is compiled).
        ``None`` (the default): untrusted inside an :func:`untrusted_specs` scope, trusted
        outside one."""
        scope = _UNTRUSTED.get()
        if trusted is None:
            trusted = scope is None
        if not trusted:
            check_data_only(
                template,
                source=scope.source if scope is not None else "an untrusted spec",
                prefix=scope.prefix if scope is not None else (),
            )
        self.trusted = trusted
        self.template = template
        self.grids: list[_Grid] = []
        self.samples: list[tuple[Path, Draw]] = []
        self.lazies: list[tuple[Path, Lazy]] = []
        found = sorted(find_unresolved(template), key=lambda item: path_sort_key(item[0]))
        self.leaves = dict(found)
        literals: list[tuple[Path, Any]] = []
        for path, leaf in found:
            if isinstance(leaf, LiteralFunction):
                literals.append((path, leaf.func))
            elif is_grid_spec(leaf):
                self.grids.append(_Grid(path, _grid_values(path, leaf["grid_search"])))
            elif is_eval_spec(leaf):
                self.lazies.append((path, _compile_eval(path, leaf["eval"], trusted)))
            elif isinstance(leaf, Function):
                self.lazies.append((path, leaf))
            elif isinstance(leaf, Domain) and leaf.is_grid():
                self.grids.append(_Grid(path, list(getattr(leaf, "categories", []))))
            elif isinstance(leaf, Domain):
                self.samples.append((path, leaf.drawer()))
        skeleton = copy_tree(template)
        for path, _ in found:
            skeleton = set_path(skeleton, path, _PENDING)
        for path, func in literals:  # function(f): f itself, not a resolved variable
            skeleton = set_path(skeleton, path, func)
        self.skeleton = skeleton
        # paths of length one below a top-level dict are set without walking
        self.simple = type(template) is dict

    def build(self, values: Mapping[Path, Any], keep_leaves: bool = False) -> Any:
        """A fresh config with ``values`` set; other leaves are placeholders, or the original
        leaves with ``keep_leaves=True``."""
        config = copy_tree(self.skeleton)
        if keep_leaves:
            values = {**{p: v for p, v in self.leaves.items() if p not in values}, **values}
        simple = self.simple
        for path, value in values.items():
            if simple and len(path) == 1:
                config[path[0]] = value
            else:
                config = set_path(config, path, value)
        return config


def _grid_values(path: Path, values: Any) -> list[Any]:
    if not isinstance(values, list | tuple) or not values:
        raise ValueError(
            f"grid_search at {_path_str(path)} needs a non-empty list of values, got {values!r}"
        )
    return list(values)


_EVAL_CACHE: dict[str, CodeType] = {}


def _compile_eval(path: Path, expression: str, trusted: bool) -> CodeType:
    if not trusted:  # never reached after check_data_only; kept as the last line of defence
        raise UntrustedSpecError(
            f"{_path_str(path)}: {{'eval': ...}} is not accepted from an untrusted spec",
            _path_str(path),
        )
    code = _EVAL_CACHE.get(expression)
    if code is None:
        try:
            code = compile(expression, f"<eval at {_path_str(path)}>", "eval")
        except SyntaxError as exc:
            raise ValueError(
                f"{{'eval': ...}} at {_path_str(path)} is not a Python expression: {expression!r}"
            ) from exc
        _EVAL_CACHE[expression] = code
    return code


def _path_str(path: Path) -> str:
    return "/".join(map(str, path)) or "<root>"


# -- resolution ----------------------------------------------------------------------------
def iter_sample(
    plan: SpacePlan, rng: Any, constant_grid_search: bool = False
) -> Iterator[tuple[dict[Path, Any], Any]]:
    """Yield ``(resolved_vars, config)`` for every grid combination of one sample."""
    if not plan.grids:
        yield _resolve(plan, rng, {})
        return
    held: dict[Path, Any] = {}
    if constant_grid_search:
        for path, draw in plan.samples:
            held[path] = draw(rng)
        if plan.lazies:
            config = plan.build(held)
            _resolve_lazies(config, plan.lazies, rng, held, allow_fail=True)
    grids = plan.grids
    sizes = [len(grid.values) for grid in grids]
    index = [0] * len(grids)
    while True:
        preset: dict[Path, Any] = {}
        nested: list[Path] = []
        for grid, position in zip(grids, index):
            preset[grid.path] = copy_tree(grid.values[position])
            if grid.nested[position]:
                nested.append(grid.path)
        preset.update(held)
        if nested:
            yield from _resolve_nested(plan, rng, preset, nested, constant_grid_search)
        else:
            yield _resolve(plan, rng, preset)
        position_to_bump = 0
        while position_to_bump < len(index):
            index[position_to_bump] += 1
            if index[position_to_bump] < sizes[position_to_bump]:
                break
            index[position_to_bump] = 0
            position_to_bump += 1
        else:
            return


def _resolve(plan: SpacePlan, rng: Any, preset: dict[Path, Any]) -> tuple[dict[Path, Any], Any]:
    if preset:
        resolved = dict(preset)
        for path, draw in plan.samples:
            if path not in resolved:
                resolved[path] = draw(rng)
    else:
        resolved = {path: draw(rng) for path, draw in plan.samples}
    config = plan.build(resolved)
    if plan.lazies:
        pending = (
            [item for item in plan.lazies if item[0] not in resolved] if preset else plan.lazies
        )
        config = _resolve_lazies(config, pending, rng, resolved, allow_fail=False)
    return resolved, config


def _resolve_nested(
    plan: SpacePlan,
    rng: Any,
    preset: dict[Path, Any],
    nested: list[Path],
    constant_grid_search: bool,
) -> Iterator[tuple[dict[Path, Any], Any]]:
    inner_plan = SpacePlan(plan.build(preset, keep_leaves=True), trusted=plan.trusted)
    for inner_vars, config in iter_sample(inner_plan, rng, constant_grid_search):
        resolved = {path: value for path, value in preset.items() if path not in nested}
        for path in nested:
            resolved[path] = _get_path(config, path)
        for path, value in inner_vars.items():
            if not _is_under(path, nested):
                resolved[path] = value
        yield resolved, config


def _resolve_lazies(
    config: Any,
    pending: list[tuple[Path, Lazy]],
    rng: Any,
    resolved: dict[Path, Any],
    allow_fail: bool,
) -> Any:
    waiting_for: dict[Path, Path] = {}
    while pending:
        still: list[tuple[Path, Lazy]] = []
        for path, lazy in pending:
            try:
                value = _evaluate(lazy, config, rng)
            except UnresolvedValueError as exc:
                still.append((path, lazy))
                waiting_for[path] = exc.path
                continue
            except Exception as exc:
                _add_note(exc, f"while resolving the config value at {_path_str(path)}")
                raise
            config = set_path(config, path, value)
            resolved[path] = value
        if len(still) == len(pending):
            break
        pending = still
    if pending and not allow_fail:
        details = ", ".join(
            f"{_path_str(path)} (reads {_path_str(waiting_for[path])})" for path, _ in pending
        )
        raise RecursiveDependencyError(
            f"could not resolve sample_from/eval values {details}: they depend on each other "
            f"or on values that never resolve"
        )
    return config


_NUMPY: list[Any] = []


def _numpy() -> Any:
    if not _NUMPY:
        try:
            _NUMPY.append(importlib.import_module("numpy"))
        except ImportError:  # pragma: no cover - numpy is optional
            _NUMPY.append(None)
    return _NUMPY[0]


_SCALARS = frozenset((int, float, str, bool, type(None)))


def _evaluate(lazy: Lazy, config: Any, rng: Any) -> Any:
    view = SpecView(config) if type(config) is dict else spec_view(config)
    if type(lazy) is Function or isinstance(lazy, Function):
        value = lazy.call(view)
    else:
        scope = {"spec": view, "np": _numpy(), "random": rng, "__builtins__": builtins}
        value = eval(lazy, scope)
    return value if type(value) in _SCALARS else unwrap(value)


def _add_note(exc: BaseException, note: str) -> None:
    add_note: Callable[[str], None] | None = getattr(exc, "add_note", None)
    if add_note is not None:
        add_note(note)


# -- counting, points and tags -------------------------------------------------------------
def count_grid_variants(spec: Any) -> int:
    """How many configs one sample of ``spec`` yields: the product of the grid sizes.

    A grid value that itself holds grids counts as many configs as it expands to. A space
    without grids counts 1. ``num_samples`` multiplies this number.

    Args:
        spec: The search space (``grid_search`` values and :class:`Categorical` domains
            with a ``Grid`` sampler count; other domains do not).

    Returns:
        The number of grid combinations, at least 1.
    """
    total = 1
    for path, leaf in find_unresolved(spec):
        if is_grid_spec(leaf):
            values = _grid_values(path, leaf["grid_search"])
        elif isinstance(leaf, Domain) and leaf.is_grid():
            values = list(getattr(leaf, "categories", []))
        else:
            continue
        total *= sum(count_grid_variants(v) if contains_unresolved(v) else 1 for v in values)
    return total


def apply_point(template: Any, point: Mapping[str, Any], path: Path = ()) -> Any:
    """The space with the (possibly partial, nested) ``point`` written over it.

    Values outside their domain or grid, and values that differ from a constant of the space,
    only log a warning (the point's value is used); keys the space lacks are added.
    """
    if not isinstance(template, dict) or is_unresolved(template):
        return copy_tree(dict(point))
    merged = dict(template)
    for key, value in point.items():
        current = merged.get(key)
        here = (*path, key)
        if key not in merged:
            logger.warning(
                "points_to_evaluate sets %s, which is not in the search space; it is added",
                _path_str(here),
            )
        elif (
            isinstance(value, dict)
            and isinstance(current, dict)
            and not is_unresolved(current)
            and not is_unresolved(value)
        ):
            merged[key] = apply_point(current, value, here)
            continue
        else:
            _warn_if_outside(here, current, value)
        merged[key] = copy_tree(value)
    return merged


def _warn_if_outside(path: Path, leaf: Any, value: Any) -> None:
    outside = False
    if is_grid_spec(leaf):
        try:
            outside = not any(value == v for v in leaf["grid_search"])
        except Exception:
            outside = False
    elif isinstance(leaf, Domain) and not leaf.is_function():
        outside = not leaf.is_valid(value)
    elif not is_unresolved(leaf) and not callable(leaf) and not contains_unresolved(leaf):
        try:
            differs = bool(leaf != value)
        except Exception:
            differs = False
        if differs:
            logger.warning(
                "points_to_evaluate value %r for %s differs from the constant %r of the "
                "config; the point's value is used",
                value,
                _path_str(path),
                leaf,
            )
        return
    if outside:
        logger.warning(
            "points_to_evaluate value %r for %s is outside its search space %r",
            value,
            _path_str(path),
            leaf,
        )


_INVALID_TAG_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


def clean_value(value: Any) -> str:
    """A value as it appears in an experiment tag: floats with 4 decimals as in Ray Tune
    (``0.0123``), except below 0.0005 in size, where 4 decimals keep at most one digit:
    there 4 significant digits (``8.153e-05``, where Ray Tune wrote ``0.0001``, and
    ``1e-06`` for its ``0.0000``)."""
    if isinstance(value, float):
        if value != 0 and abs(value) < 0.0005 and math.isfinite(value):
            return f"{value:.4g}"
        return f"{value:.4f}"
    if type(value) is int:
        return str(value)
    return _INVALID_TAG_CHARS.sub("_", str(value)).strip("_")


_TAG_ORDERS: dict[tuple[Path, ...], list[tuple[Path, str]]] = {}


def _tag_order(paths: tuple[Path, ...]) -> list[tuple[Path, str]]:
    """Paths sorted for a tag, with their display names (cached: a space reuses its paths)."""
    order = _TAG_ORDERS.get(paths)
    if order is None:
        if len(_TAG_ORDERS) > 10_000:
            _TAG_ORDERS.clear()
        order = [
            (path, clean_value(path[-1] if path else "value"))
            for path in sorted(paths, key=path_sort_key)
        ]
        _TAG_ORDERS[paths] = order
    return order


def format_vars(resolved_vars: Mapping[Path, Any]) -> str:
    """``k=v`` pairs (last key of each path), sorted by path, joined with commas."""
    return ",".join(
        f"{name}={clean_value(resolved_vars[path])}"
        for path, name in _tag_order(tuple(resolved_vars))
    )


def flatten_resolved_vars(resolved_vars: Mapping[Path, Any]) -> dict[str, Any]:
    """Resolved values keyed by their path joined with ``/`` (a trial's ``evaluated_params``).

    Args:
        resolved_vars: Paths (tuples of keys) to values, as :func:`generate_variants`
            yields them.

    Returns:
        A dict keyed by ``/``-joined paths; ``{("a", "b"): 1}`` becomes ``{"a/b": 1}``.
    """
    names = _FLAT_NAMES
    flat = {}
    for path, value in resolved_vars.items():
        name = names.get(path)
        if name is None:
            if len(names) > 100_000:
                names.clear()
            name = names[path] = "/".join(map(str, path))
        flat[name] = value
    return flat


_FLAT_NAMES: dict[Path, str] = {}
