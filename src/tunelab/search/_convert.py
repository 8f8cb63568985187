"""Shared plumbing of the search-library adapters (hyperopt, optuna, nevergrad, BOHB).

- :func:`parse_space` reads a tunelab search space into :class:`ParamSpec` records (one per
  searchable domain), the form every adapter translates into its own library's space.
  ``sample_from`` and ``eval`` leaves are not searched: :class:`SearchGenerator` resolves them
  after the suggestion, so they may read suggested values. ``grid_search`` cannot be searched
  by a model-based searcher and raises ``ValueError``.
- :class:`LibrarySearcher` is the common base of the adapters: metric/mode handling, the space
  given to the constructor or through ``param_space``/``config`` (both at once is an error),
  ``points_to_evaluate`` validation, the checks before the first suggestion and the version
  check of a saved state.
- :class:`OwnConcurrencyLimit` is the mixin of the adapters that keep Ray Tune's older
  ``max_concurrent`` argument: the cap in ``suggest`` and ``set_max_concurrency``.
"""

from __future__ import annotations

import importlib
import math
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunelab.search._common import decimals, is_eval_spec, is_grid_spec, is_real, snap
from tunelab.search._domain import (
    Categorical,
    Domain,
    Float,
    Function,
    Integer,
    LogUniform,
    Normal,
    Quantized,
)
from tunelab.search._resolve import Path, copy_tree, find_unresolved
from tunelab.search._searcher import Searcher

__all__ = [
    "LibrarySearcher",
    "OwnConcurrencyLimit",
    "ParamSpec",
    "build_suggestion",
    "check_points",
    "check_seed",
    "has_searchable",
    "merge_suggestion",
    "objective_value",
    "parse_space",
    "path_name",
    "point_values",
]


@dataclass(frozen=True)
class ParamSpec:
    """One searchable hyperparameter of a tunelab space, in library-neutral terms.

    ``kind`` is ``"float"``, ``"int"`` or ``"categorical"``; ``law`` is ``"uniform"``,
    ``"loguniform"`` or ``"normal"``. Bounds are the *reachable* values: for floats
    ``[lower, upper)`` (quantized: the multiples of ``q`` in ``[lower, upper]``); for ints
    ``[lower, upper]`` inclusive (already translated from tunelab's exclusive upper bound).
    """

    path: Path
    name: str
    kind: str
    law: str = "uniform"
    lower: float = -math.inf
    upper: float = math.inf
    q: float | None = None
    mean: float = 0.0
    sd: float = 1.0
    categories: list[Any] = field(default_factory=list)

    def finish(self, value: Any) -> Any:
        """Bring a library's raw value into the domain (round to ``q``, clip, cast ints)."""
        if self.kind == "categorical":
            return value
        number = float(value)
        if self.q is not None:
            number = round(number / self.q) * self.q
            digits = decimals(self.q)
            if digits is not None:
                number = round(number, digits)
        if self.kind == "int":
            return int(min(max(round(number), self.lower), self.upper))
        if math.isfinite(self.lower):
            number = max(number, self.lower)
        if math.isfinite(self.upper):
            # unquantized float domains exclude their upper bound, as tunelab's sampler does
            top = self.upper if self.q is not None else math.nextafter(self.upper, -math.inf)
            number = min(number, top)
        return number

    def category_index(self, value: Any) -> int:
        """The position of ``value`` among the categories (identity first, then ``==``;
        ``StopIteration`` when it is none of them). The adapters that hand a library
        category positions map values back with this."""
        return next(i for i, c in enumerate(self.categories) if c is value or _equal(c, value))

    def contains(self, value: Any) -> bool:
        if self.kind == "categorical":
            return any(value is c or _equal(value, c) for c in self.categories)
        if not is_real(value):
            return False
        if self.kind == "int" and float(value) != int(value):
            return False
        return bool(self.lower <= value <= self.upper)


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False


def path_name(path: Path) -> str:
    """A path as one flat parameter name: keys joined with ``/``."""
    return "/".join(map(str, path))


def has_searchable(config: Any) -> bool:
    """True when ``config`` holds a domain or grid a searcher would have to search."""
    if not isinstance(config, dict | list | tuple):
        return False
    return any(
        is_grid_spec(leaf) or (isinstance(leaf, Domain) and not isinstance(leaf, Function))
        for _, leaf in find_unresolved(config)
    )


def parse_space(config: Mapping[str, Any], library: str) -> list[ParamSpec]:
    """The searchable domains of ``config`` as :class:`ParamSpec` records, in document order."""
    specs: list[ParamSpec] = []
    for path, leaf in find_unresolved(dict(config)):
        if isinstance(leaf, Function) or is_eval_spec(leaf):
            continue  # resolved by SearchGenerator after the suggestion
        if is_grid_spec(leaf) or (isinstance(leaf, Domain) and leaf.is_grid()):
            raise ValueError(
                f"{library} cannot search grid_search values (at {path_name(path)!r}); use "
                f"tune.choice([...]) to let it choose, or BasicVariantGenerator for grids"
            )
        specs.append(_spec(path, leaf, library))
    return specs


def _spec(path: Path, domain: Any, library: str) -> ParamSpec:
    name = path_name(path)
    sampler = domain.get_sampler()
    q: float | None = None
    if isinstance(sampler, Quantized):
        q, sampler = sampler.q, sampler.get_sampler()
    law = "loguniform" if isinstance(sampler, LogUniform) else "uniform"
    if isinstance(domain, Categorical):
        return ParamSpec(path, name, "categorical", categories=list(domain.categories))
    if isinstance(domain, Float):
        if isinstance(sampler, Normal):
            return ParamSpec(path, name, "float", "normal", q=q, mean=sampler.mean, sd=sampler.sd)
        lower, upper = domain.lower, domain.upper
        if q is not None:
            lower, upper = snap(lower, upper, q)
        return ParamSpec(path, name, "float", law, lower, upper, q)
    if isinstance(domain, Integer):
        q_int = int(q) if q is not None else 1
        if q_int > 1:
            first, last = -(-domain.lower // q_int), domain.upper // q_int
            return ParamSpec(path, name, "int", law, first * q_int, last * q_int, q_int)
        return ParamSpec(path, name, "int", law, domain.lower, domain.upper - 1)
    raise ValueError(f"{library} cannot search the domain {domain!r} at {name!r}")


def build_suggestion(space: Mapping[str, Any], values: Mapping[Path, Any]) -> dict[str, Any]:
    """A (partial) config holding ``values`` at their paths, for :class:`SearchGenerator`.

    Paths made of dict keys become nested dicts. A path through a list or tuple takes the
    whole list from ``space`` (with the values written in), because a config's lists are
    replaced, not merged, when the suggestion is laid over the experiment's config.
    """
    out: dict[str, Any] = {}
    for path, value in values.items():
        cut = next(
            (i for i, key in enumerate(path) if not isinstance(key, str)),
            len(path),
        )
        if cut == len(path):
            _set_nested(out, path, value)
            continue
        head = path[:cut]
        container = _get_nested(out, head)
        if container is None:
            container = copy_tree(_get_from(space, head))
            _set_nested(out, head, container)
        _set_nested(out, head, _set_inside(container, path[cut:], value))
    return out


def merge_suggestion(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` written over a copy of ``base`` (nested dicts merged key by key)."""
    out: dict[str, Any] = copy_tree(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_suggestion(out[key], value)
        else:
            out[key] = copy_tree(value)
    return out


def _set_nested(out: dict[str, Any], path: Path, value: Any) -> None:
    node = out
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def _get_nested(out: dict[str, Any], path: Path) -> Any:
    node: Any = out
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _get_from(root: Any, path: Path) -> Any:
    for key in path:
        root = root[key]
    return root


def _set_inside(node: Any, path: Path, value: Any) -> Any:
    from tunelab.search._resolve import set_path

    return set_path(node, path, value)


# -- points_to_evaluate --------------------------------------------------------------------
def check_points(points: Any, where: str) -> list[dict[str, Any]]:
    """Validate ``points_to_evaluate``: ``None`` or a list of config dicts (copied)."""
    if points is None:
        return []
    if isinstance(points, dict) or not isinstance(points, Sequence) or isinstance(points, str):
        raise TypeError(
            f"`points_to_evaluate` of {where} must be a list of config dicts, got {points!r}"
        )
    out = []
    for point in points:
        if not isinstance(point, dict):
            raise TypeError(
                f"`points_to_evaluate` of {where} must hold dicts, got the element {point!r}"
            )
        out.append(copy_tree(point))
    return out


def point_values(
    point: Mapping[str, Any], specs: Sequence[ParamSpec], space: Any, where: str
) -> tuple[dict[str, Any], dict[Path, Any]]:
    """Split a point into searched values (by parameter name) and other fixed values (by path).

    A point may be nested like a config or use flat ``a/b`` keys. Values of searched
    parameters must lie in their domain; keys the space holds but does not search (constants,
    ``sample_from``) are fixed as given; keys the space lacks raise ``ValueError`` (a typo
    would otherwise be silently ignored).
    """
    by_name = {spec.name: spec for spec in specs}
    flat: dict[str, Any] = {}
    fixed: dict[Path, Any] = {}
    _split_point(point, (), by_name, space, flat, fixed, where)
    for name, value in flat.items():
        spec = by_name[name]
        if not spec.contains(value):
            raise ValueError(
                f"`points_to_evaluate` of {where}: the value {value!r} of {name!r} is outside "
                f"its domain ({_describe(spec)})"
            )
    return flat, fixed


def _split_point(
    node: Mapping[Any, Any],
    prefix: Path,
    by_name: dict[str, ParamSpec],
    space: Any,
    flat: dict[str, Any],
    fixed: dict[Path, Any],
    where: str,
) -> None:
    for key, value in node.items():
        path = (*prefix, key)
        name = path_name(path)
        if name in by_name:
            flat[name] = value
            continue
        below = any(n.startswith(name + "/") for n in by_name)
        if below and isinstance(value, dict):
            _split_point(value, path, by_name, space, flat, fixed, where)
        elif below and isinstance(value, list | tuple):
            _split_point(dict(enumerate(value)), path, by_name, space, flat, fixed, where)
        elif isinstance(key, str) and "/" in key and not prefix:
            _split_point(_nest_flat_key(key, value), (), by_name, space, flat, fixed, where)
        elif _lookup(space, path) is not _MISSING:
            fixed[path] = copy_tree(value)
        else:
            raise ValueError(
                f"`points_to_evaluate` of {where} sets {name!r}, which is not in the search "
                f"space; searched parameters: {sorted(by_name)}"
            )


def _nest_flat_key(key: str, value: Any) -> dict[str, Any]:
    parts = key.split("/")
    nested: dict[str, Any] = {parts[-1]: value}
    for part in reversed(parts[:-1]):
        nested = {part: nested}
    return nested


_MISSING = object()


def _lookup(root: Any, path: Path) -> Any:
    for key in path:
        in_dict = isinstance(root, dict) and key in root
        in_list = isinstance(root, list | tuple) and isinstance(key, int) and 0 <= key < len(root)
        if not (in_dict or in_list):
            return _MISSING
        root = root[key]
    return root


def _describe(spec: ParamSpec) -> str:
    if spec.kind == "categorical":
        return f"one of {spec.categories!r}"
    if spec.law == "normal":
        return "any real number"
    return f"{spec.kind} in [{spec.lower}, {spec.upper}]"


def objective_value(result: Mapping[str, Any] | None, metric: str) -> float | None:
    """The result's value of ``metric`` as a float, or ``None`` when missing or NaN."""
    if not result or metric not in result:
        return None
    value = result[metric]
    if not is_real(value):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def finite_objective(
    result: Mapping[str, Any] | None, metric: str, error: bool = False
) -> float | None:
    """What a model-based searcher learns from a finished trial: the result's ``metric`` as
    a float, or ``None`` when the trial failed (``error``) or the value is missing, NaN or
    infinite (the searchers skip those, as in Ray Tune)."""
    value = None if error else objective_value(result, metric)
    return value if value is not None and math.isfinite(value) else None


def check_seed(value: Any, name: str, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` of {where} must be None or an int seed, got {value!r}")
    if value < 0:
        raise ValueError(f"`{name}` of {where} must be >= 0, got {value!r}")
    return value


# -- the common base -----------------------------------------------------------------------
#: marks a file written by :meth:`LibrarySearcher.save`
_SAVE_FORMAT = "tunelab_library_searcher_file"


@dataclass(frozen=True)
class _ModuleByName:
    """A module attribute of a pickled :class:`LibrarySearcher` (modules do not pickle)."""

    name: str


class LibrarySearcher(Searcher):
    """Common base of the library adapters.

    Subclasses implement :meth:`_has_space` and :meth:`_use_config` (take a tunelab space
    from ``param_space``/``config``). The search space may come either from the constructor
    or from the experiment's config, not both: ``set_search_properties`` returns False (and
    keeps its own space) when the searcher already has one, and the front doors then raise
    ``ValueError`` for a config that still holds domains to search (as in Ray Tune).
    """

    where = "LibrarySearcher()"
    multi_objective = False

    def __getstate__(self) -> dict[str, Any]:
        """The instance for pickle and ``copy.deepcopy``: the library modules the adapters
        hold (``self._optuna``, ``self._hyperopt``, ...) are kept by name and imported again
        on load, so a searcher can be copied or sent elsewhere like any Ray Tune searcher."""
        state = self.__dict__.copy()
        for key, value in state.items():
            if isinstance(value, types.ModuleType):
                state[key] = _ModuleByName(value.__name__)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            if isinstance(value, _ModuleByName):
                state[key] = importlib.import_module(value.name)
        self.__dict__.update(state)

    def __init__(self, metric: Any = None, mode: Any = None) -> None:
        super().__init__(metric=metric, mode=mode)
        self._check_objective()

    def _check_objective(self) -> None:
        metric, mode = self.metric, self.mode
        if not self.multi_objective:
            if isinstance(metric, list):
                raise ValueError(
                    f"`metric` of {self.where} must be one metric name, got the list {metric!r}"
                )
            if isinstance(mode, list):
                raise ValueError(f"`mode` of {self.where} must be 'min' or 'max', got {mode!r}")
            return
        if isinstance(metric, list) or isinstance(mode, list):
            if not (isinstance(metric, list) and isinstance(mode, list)):
                raise ValueError(
                    f"{self.where}: a multi-objective search needs lists for both `metric` and "
                    f"`mode`, got metric={metric!r}, mode={mode!r}"
                )
            if len(metric) != len(mode):
                raise ValueError(
                    f"{self.where}: `metric` and `mode` must have the same length, got "
                    f"metric={metric!r}, mode={mode!r}"
                )

    def _has_space(self) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    #: the attributes that hold the search space: :meth:`save` writes them next to the
    #: state, :meth:`restore` takes them back
    _space_attributes: tuple[str, ...] = ()

    def _space_restored(self) -> None:
        """Called after :meth:`restore` took the saved space (drop what derives from it)."""

    def save(self, checkpoint_path: str) -> None:
        """Write the searcher to the file ``checkpoint_path``, as Ray Tune's searchers do: the
        state of :meth:`get_state` together with the metric, the mode and the search space,
        so that a searcher built without them (``HyperOptSearch()``) continues the search
        after :meth:`restore`. The file is a (cloud)pickle: restore only files you trust.

        The per-trial state tunelab journals for resume is :meth:`get_state` alone (the
        space comes from the run then), so saving the space here costs nothing per trial.
        """
        import cloudpickle

        payload = {
            _SAVE_FORMAT: 1,
            "state": self.get_state(),
            "metric": self.metric,
            "mode": self.mode,
            "space": {name: getattr(self, name) for name in self._space_attributes},
        }
        with open(checkpoint_path, "wb") as handle:
            cloudpickle.dump(payload, handle)

    def restore(self, checkpoint_path: str) -> None:
        """Continue from a file :meth:`save` wrote, as Ray Tune's searchers restore: the saved
        search space, metric and mode replace this searcher's (a saved ``None`` keeps this
        searcher's value), then the search state is set, so ``HyperOptSearch().restore(path)``
        suggests as the saved searcher would. A file holding only a :meth:`get_state`
        pickle (the base class's format) sets the state alone. The file is unpickled:
        restore only files you trust."""
        import pickle

        with open(checkpoint_path, "rb") as handle:
            payload = pickle.load(handle)
        if isinstance(payload, dict) and payload.get(_SAVE_FORMAT):
            if payload.get("metric") is not None:
                self._metric = payload["metric"]
            if payload.get("mode") is not None:
                self._mode = payload["mode"]
            self._check_objective()
            space = payload.get("space") or {}
            if any(value is not None for value in space.values()):
                for name, value in space.items():
                    setattr(self, name, value)
                self._space_restored()
            payload = payload["state"]
        self.set_state(payload)

    def _use_config(self, config: dict[str, Any]) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        if self._has_space():
            # as Ray: False says "the space given to the constructor stays"; the front door
            # raises when the experiment's config still holds domains to search
            super().set_search_properties(metric, mode, config, **spec)
            self._check_objective()
            return False
        super().set_search_properties(metric, mode, config, **spec)
        self._check_objective()
        if not has_searchable(config):
            return False
        self._use_config(config)
        return True

    def _check_ready(self) -> None:
        """Raise ``RuntimeError`` when a suggestion is asked for without space, metric, mode.

        A ``mode`` without a ``metric`` (here or from the run) searches the anonymous metric
        ``"_metric"`` (``tune.result.DEFAULT_METRIC``), which a trainable reports by returning
        or reporting a bare value, as Ray Tune's searchers do.
        """
        if self.metric is None and isinstance(self.mode, str):
            from tunelab.result import DEFAULT_METRIC

            self._metric = DEFAULT_METRIC
        missing = [
            what
            for what, ok in (
                ("a search space", self._has_space()),
                ("`metric`", self.metric is not None),
                ("`mode`", self.mode is not None),
            )
            if not ok
        ]
        if missing:
            raise RuntimeError(
                f"{self.where} cannot suggest a configuration without {', '.join(missing)}: "
                f"pass them to {self.where} or to TuneConfig/tune.run "
                f"(metric=, mode=, param_space=/config=)"
            )

    def _sign(self) -> float:
        """+1 for ``mode='min'``, -1 for ``'max'`` (libraries that only minimize)."""
        return -1.0 if self.mode == "max" else 1.0

    def _check_state_version(self, state: Any, version: int) -> None:
        """Raise ``ValueError`` unless ``state`` is a dict of :meth:`get_state` with this
        ``"version"`` (what every adapter's ``set_state`` checks first)."""
        if not isinstance(state, dict) or state.get("version") != version:
            raise ValueError(
                f"`state` of {self.where}.set_state() must be a state of version "
                f"{version}, got {state!r}"
            )


class OwnConcurrencyLimit:
    """Mixin of the adapters that keep Ray Tune's older ``max_concurrent`` argument: a cap
    on the suggested trials running at once, which a ``ConcurrencyLimiter`` replaces.

    Contract: the adapter sets ``self.max_concurrent`` (an int, ``0`` for no limit: see
    :func:`tunelab._legacy_args.check_max_concurrent`) and ``self._live`` (trial id -> what
    it keeps for a running trial) in its constructor, adds each suggested trial to
    ``_live`` and removes it when the trial completes; its ``suggest`` returns ``None``
    (ask again later) while :meth:`_at_own_limit` is true. The mixin keeps no state of its
    own (pickling and ``get_state``/``set_state`` stay the adapter's). It comes before
    :class:`LibrarySearcher` among the bases, so that its :meth:`set_max_concurrency`
    overrides :meth:`Searcher.set_max_concurrency`; an adapter that also reacts to the
    limiter overrides it and calls ``super().set_max_concurrency``.
    """

    max_concurrent: int
    _live: Mapping[str, Any]

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        """A ``ConcurrencyLimiter`` around this searcher replaces its own ``max_concurrent``
        (as in Ray Tune); the limiter still does the limiting (returns False)."""
        if self.max_concurrent:
            self.max_concurrent = max_concurrent
        return False

    def _at_own_limit(self) -> bool:
        """Whether ``max_concurrent`` is set and that many suggested trials are running."""
        return bool(self.max_concurrent) and len(self._live) >= self.max_concurrent
