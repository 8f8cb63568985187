"""NevergradSearch: gradient-free optimizers from nevergrad behind tunelab's Searcher."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tunelab import _trust
from tunelab._errors import require
from tunelab._legacy_args import (
    check_max_concurrent,
    check_use_early_stopped_trials,
    resolve_reward_attr,
)
from tunelab.search._convert import (
    LibrarySearcher,
    OwnConcurrencyLimit,
    ParamSpec,
    build_suggestion,
    check_points,
    check_seed,
    has_searchable,
    merge_suggestion,
    objective_value,
    parse_space,
    point_values,
)
from tunelab.search._resolve import copy_tree
from tunelab.search._searcher import pack_value, unpack_value

__all__ = ["NevergradSearch"]

logger = logging.getLogger("tunelab.search")

_STATE_VERSION = 1


class NevergradSearch(OwnConcurrencyLimit, LibrarySearcher):
    """Suggests configurations with a nevergrad optimizer (``pip install "tunelab[nevergrad]"``).

    Any of nevergrad's gradient-free optimizers (``OnePlusOne``, ``CMA``, ``DE``, ``NGOpt``,
    ...). Normal domains become unbounded scalars with that mean and spread; quantized and
    integer domains are rounded (nevergrad has no quantization). Failed trials, and trials
    whose last result lacks the metric or holds NaN, are not told to the optimizer.

    Args:
        optimizer: An optimizer class or configured optimizer (``ng.optimizers.OnePlusOne``,
            ``ng.optimizers.CMA``, ...), built once the space is known with
            ``optimizer_kwargs``; or an optimizer instance that carries its own
            parametrization (``space`` then stays ``None``, or is a list of names for the
            positional values of an array/instrumentation).
        optimizer_kwargs: Arguments of the optimizer's constructor when ``optimizer`` is a
            class (e.g. ``budget``; ``num_workers`` defaults to the concurrency limit when
            one is set). A list of names in this position is the 0.x
            ``NevergradSearch(optimizer, parameter_names)``. ``None`` (default): none.
        space: A tunelab space (also accepted through ``param_space``/``config``, not both)
            or an ``ng.p.Dict``/``ng.p.Instrumentation`` of keyword parameters (a name
            ``"a/b"`` in it stands for the nested key ``b`` of ``a``, as
            :meth:`convert_search_space` writes them); with an optimizer instance, ``None``
            or a list of names. ``None`` (default): the run's config.
        metric: The result key to optimize. ``None``: the run's ``metric``.
        mode: ``"min"`` or ``"max"``. ``None``: the run's ``mode``.
        points_to_evaluate: Configs told to the optimizer first, full or partial (missing
            values drawn at random). ``None`` (default): none.
        random_state_seed: Seeds the parametrization's random state (a tunelab addition);
            ``None`` (default): unseeded.
        parameter_names: 0.x spelling: the names of an optimizer instance's values (e.g.
            ``optimizerlib.OnePlusOne(2)`` with ``["height", "width"]``).
        max_concurrent: Older spelling (0.x-1.x): caps how many suggested trials run at
            once, like a :class:`~tunelab.search.ConcurrencyLimiter`. ``None``/``0``: no
            limit.
        reward_attr: 0.5-0.7 spelling: ``metric=reward_attr, mode="max"``.
        use_early_stopped_trials: 0.8 spelling, accepted as ``None`` or ``True``.

    Raises:
        ImportError: nevergrad is not installed.
        TypeError: ``optimizer`` is not a nevergrad optimizer class or instance,
            ``optimizer_kwargs`` is not a dict, ``parameter_names`` is not a list of str, or
            ``space`` is of another kind.
        ValueError: Both ``parameter_names`` and ``space`` were given, an optimizer
            instance came with ``optimizer_kwargs`` or with a space that is not a list of
            names, the names do not match the optimizer's number of values, or a dict
            ``space`` holds nothing to search.
    """

    where = "NevergradSearch()"

    def __init__(
        self,
        optimizer: Any = None,
        optimizer_kwargs: dict[str, Any] | None = None,
        space: Any = None,
        metric: str | None = None,
        mode: str | None = None,
        points_to_evaluate: list[dict[str, Any]] | None = None,
        random_state_seed: int | None = None,
        *,
        parameter_names: list[str] | None = None,
        max_concurrent: int | None = None,
        reward_attr: str | None = None,
        use_early_stopped_trials: bool | None = None,
    ) -> None:
        self._ng = require("nevergrad", extra="nevergrad", feature="NevergradSearch")
        metric, mode = resolve_reward_attr(self.where, reward_attr, metric, mode)
        check_use_early_stopped_trials(self.where, use_early_stopped_trials)
        super().__init__(metric=metric, mode=mode)
        base = self._ng.optimizers.base
        self.max_concurrent = check_max_concurrent(self.where, max_concurrent)
        if _is_name_list(optimizer_kwargs):
            # 0.x signature NevergradSearch(optimizer, parameter_names, ...)
            parameter_names, optimizer_kwargs = list(optimizer_kwargs or []), None
        if parameter_names is not None:
            if not _is_name_list(parameter_names):
                raise TypeError(
                    f"`parameter_names` of {self.where} must be a list of str, got "
                    f"{parameter_names!r}"
                )
            if space is not None:
                raise ValueError(
                    f"{self.where} got both `parameter_names` ({parameter_names!r}) and "
                    f"`space` ({space!r}); give the names once"
                )
            space = list(parameter_names)
        if optimizer_kwargs is not None and not isinstance(optimizer_kwargs, dict):
            raise TypeError(
                f"`optimizer_kwargs` of {self.where} must be a dict, got {optimizer_kwargs!r}"
            )
        self.optimizer_kwargs = dict(optimizer_kwargs or {})
        self.random_state_seed = check_seed(random_state_seed, "random_state_seed", self.where)
        self._points = check_points(points_to_evaluate, self.where)
        self._factory: Any = None
        self._optimizer: Any = None
        self._names: list[str] | None = None
        self._specs: list[ParamSpec] | None = None
        self._config: dict[str, Any] = {}
        self._parametrization: Any = None
        self._max_concurrent = 0
        if isinstance(optimizer, base.Optimizer):
            if self.optimizer_kwargs:
                raise ValueError(
                    f"{self.where} got an optimizer instance and `optimizer_kwargs`; configure "
                    f"the instance itself"
                )
            if space is not None and not _is_name_list(space):
                raise ValueError(
                    f"{self.where} got an optimizer instance, which carries its own "
                    f"parametrization; `space` must then be None or a list of parameter names, "
                    f"got {space!r}"
                )
            self._optimizer = optimizer
            self._names = list(space) if space is not None else None
            dimension = getattr(optimizer, "dimension", None)
            if (
                self._names is not None
                and isinstance(dimension, int)
                and _is_array(optimizer.parametrization, self._ng)
                and dimension != len(self._names)
            ):
                raise ValueError(
                    f"{self.where}: the optimizer searches {dimension} values but "
                    f"{len(self._names)} parameter names were given ({self._names}); give one "
                    f"name per value"
                )
            self._seed_parametrization(optimizer.parametrization)
        elif isinstance(optimizer, base.ConfiguredOptimizer) or (
            isinstance(optimizer, type) and issubclass(optimizer, base.Optimizer)
        ):
            self._factory = optimizer
            if space is not None:
                self._set_space(space)
        else:
            raise TypeError(
                f"`optimizer` of {self.where} must be a nevergrad optimizer class (e.g. "
                f"ng.optimizers.OnePlusOne) or instance, got {optimizer!r}"
            )
        self._live: dict[str, Any] = {}

    # -- space ----------------------------------------------------------------------------
    @staticmethod
    def convert_search_space(spec: dict[str, Any]) -> Any:
        """A tunelab search space as a nevergrad parametrization, as Ray Tune's method of the
        same name.

        Categories become ``ng.p.Choice``, floats ``ng.p.Scalar``/``ng.p.Log`` over the
        bounds, integers the same with integer casting, normal laws unbounded scalars with
        that mean and spread. nevergrad has no quantization: ``q`` is dropped (with a logged
        warning); pass the tunelab space itself to keep it.

        Args:
            spec: A tunelab search space.

        Returns:
            An ``ng.p.Dict`` with one parameter per searched domain of ``spec``, named by its
            path (``"a/b"``), ready to pass as ``space=``. Constants and ``sample_from``
            values are left out (the experiment's config keeps them).

        Raises:
            ImportError: nevergrad is not installed.
            TypeError: ``spec`` is not a dict.
            ValueError: ``spec`` holds a ``grid_search``.
        """
        ng = require("nevergrad", extra="nevergrad", feature="NevergradSearch")
        if not isinstance(spec, dict):
            raise TypeError(
                f"`spec` of NevergradSearch.convert_search_space() must be a dict search "
                f"space, got {spec!r}"
            )
        return ng.p.Dict(**{s.name: _native_parameter(s, ng) for s in parse_space(spec, "")})

    def _set_space(self, space: Any) -> None:
        p = self._ng.p
        if isinstance(space, dict):
            if not has_searchable(space):
                raise ValueError(
                    f"`space` of {self.where} as a dict must hold tunelab domains, got {space!r}"
                )
            self._config = copy_tree(space)
            self._specs = parse_space(self._config, self.where)
            self._parametrization = p.Dict(**{s.name: self._parameter(s) for s in self._specs})
        elif isinstance(space, p.Dict | p.Instrumentation):
            self._parametrization = space
        else:
            raise TypeError(
                f"`space` of {self.where} must be a dict of tunelab domains, an ng.p.Dict or "
                f"an ng.p.Instrumentation of keyword parameters, got {space!r}"
            )
        self._seed_parametrization(self._parametrization)

    def _seed_parametrization(self, parametrization: Any) -> None:
        if self.random_state_seed is not None:
            parametrization.random_state.seed(self.random_state_seed)

    def _parameter(self, spec: ParamSpec) -> Any:
        p = self._ng.p
        if spec.kind == "categorical":
            return p.Choice(list(range(len(spec.categories))))
        if spec.law == "normal":
            return p.Scalar(init=spec.mean).set_mutation(sigma=spec.sd)
        low, high = spec.lower, spec.upper
        if spec.kind == "int":
            half = (spec.q or 1) / 2 * (1 - 1e-6)
            low, high = low - half, high + half
        if spec.law == "loguniform":
            return p.Log(lower=low, upper=high)
        return p.Scalar(lower=low, upper=high)

    _space_attributes = ("_names", "_specs", "_config", "_parametrization")

    def _has_space(self) -> bool:
        return self._optimizer is not None or self._parametrization is not None

    def _use_config(self, config: dict[str, Any]) -> None:
        self._set_space(config)

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        """Told by a ``ConcurrencyLimiter``: the optimizer is built for that many workers,
        and the limiter's value replaces this searcher's own ``max_concurrent`` (as in Ray
        Tune); the limiter still does the limiting (returns False).

        Args:
            max_concurrent: The limiter's ``max_concurrent``.
        """
        self._max_concurrent = max_concurrent
        return super().set_max_concurrency(max_concurrent)

    def _get_optimizer(self) -> Any:
        if self._optimizer is None:
            kwargs = dict(self.optimizer_kwargs)
            workers = self._max_concurrent or self.max_concurrent
            if workers > 1:
                kwargs.setdefault("num_workers", workers)
            self._optimizer = self._factory(parametrization=self._parametrization, **kwargs)
        return self._optimizer

    # -- values <-> candidates ------------------------------------------------------------
    def _decode(self, candidate: Any) -> dict[str, Any]:
        if self._specs is not None:
            raw = candidate.value
            values = {}
            for spec in self._specs:
                value = raw[spec.name]
                if spec.kind == "categorical":
                    values[spec.path] = spec.categories[int(value)]
                else:
                    values[spec.path] = spec.finish(value)
            return build_suggestion(self._config, values)
        args, kwargs = _args_kwargs(candidate, self._ng)
        if self._names is not None:
            flat = list(args[0]) if len(args) == 1 and _is_sequence(args[0]) else list(args)
            if len(flat) != len(self._names):
                raise ValueError(
                    f"{self.where}: the optimizer gives {len(flat)} values for the "
                    f"{len(self._names)} names {self._names}"
                )
            return {name: _python(v) for name, v in zip(self._names, flat)}
        if args:
            raise ValueError(
                f"{self.where}: the optimizer's parametrization gives positional values "
                f"{args!r}; pass their names as `space` (a list of names)"
            )
        return _nest({key: _python(v) for key, v in kwargs.items()})

    def _value_for(self, point: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
        """The parametrization value of a (partial) point, and the values the suggestion must
        hold exactly (the point's own, not their round trip through the parametrization)."""
        optimizer = self._get_optimizer()
        parametrization = optimizer.parametrization
        if self._specs is not None:
            flat, fixed = point_values(point, self._specs, self._config, self.where)
            value = dict(parametrization.sample().value)
            for name, given in flat.items():
                spec = next(s for s in self._specs if s.name == name)
                if spec.kind == "categorical":
                    given = spec.category_index(given)
                value[name] = given
            exact = {spec.path: flat[spec.name] for spec in self._specs if spec.name in flat}
            return value, build_suggestion(self._config, {**exact, **fixed})
        if self._names is not None:
            missing = [n for n in self._names if n not in point]
            if missing:
                raise ValueError(
                    f"`points_to_evaluate` of {self.where} must set every name; missing {missing}"
                )
            array = [point[n] for n in self._names]
            if _is_instrumentation(parametrization, self._ng):
                return ((array,), {}), {}
            return array, {}
        sampled = parametrization.sample().value
        if _is_instrumentation(parametrization, self._ng):
            args, kwargs = sampled
            return (args, {**kwargs, **point}), {}
        return {**sampled, **point}, {}

    # -- searching ------------------------------------------------------------------------
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        self._check_ready()
        if self._at_own_limit():
            return None
        optimizer = self._get_optimizer()
        fixed: dict[str, Any] = {}
        if self._points:
            value, fixed = self._value_for(self._points.pop(0))
            if _is_instrumentation(optimizer.parametrization, self._ng):
                optimizer.suggest(*value[0], **value[1])
            else:
                optimizer.suggest(value)
        candidate = optimizer.ask()
        self._live[trial_id] = candidate
        config = self._decode(candidate)
        return merge_suggestion(config, fixed) if fixed else config

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        candidate = self._live.pop(trial_id, None)
        if candidate is None or error:
            return
        value = objective_value(result, self.metric)
        if value is None:
            return
        self._get_optimizer().tell(candidate, self._sign() * value)

    def add_evaluated_point(
        self,
        parameters: dict[str, Any],
        value: float,
        error: bool = False,
        pruned: bool = False,
        intermediate_values: list[float] | None = None,
    ) -> None:
        """Tell the optimizer about a configuration evaluated elsewhere (failed ones skipped).

        Args:
            parameters: The configuration (with a tunelab space, values it leaves out are
                drawn at random).
            value: Its metric value.
            error: ``True``: nothing is told.
            pruned: Not used by nevergrad.
            intermediate_values: Not used by nevergrad.

        Raises:
            RuntimeError: The searcher has no space, metric or mode yet.
        """
        self._check_ready()
        if error:
            return
        new_value, _ = self._value_for(parameters)
        optimizer = self._get_optimizer()
        candidate = optimizer.parametrization.spawn_child(new_value=new_value)
        optimizer.tell(candidate, self._sign() * float(value))

    # -- state ----------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The optimizer and the live candidates, pickled together (nevergrad's own format;
        signed with the experiment's key when saved for resume, see :mod:`tunelab._trust`)."""
        optimizer = self._optimizer
        if optimizer is None and self._has_space() and self._factory is not None:
            optimizer = self._get_optimizer()
        return {
            "version": _STATE_VERSION,
            "optimizer": _trust.dumps_signed((optimizer, self._live)),
            "points": pack_value(self._points),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`get_state`. On resume the pickled optimizer is unpickled only
        when its signature checks out (:class:`tunelab._trust.TrustError` otherwise, before
        anything changes).

        Args:
            state: What :meth:`get_state` returned.

        Raises:
            ValueError: ``state`` is not a state of this version.
        """
        self._check_state_version(state, _STATE_VERSION)
        optimizer, live = _trust.loads_signed(state["optimizer"], "pickled Nevergrad optimizer")
        points = list(unpack_value(state["points"]))
        if optimizer is not None:
            self._optimizer = optimizer
        self._live = dict(live)
        self._points = points

    def __repr__(self) -> str:
        return (
            f"NevergradSearch(optimizer={self._factory or self._optimizer!r}, "
            f"metric={self.metric!r}, mode={self.mode!r})"
        )


def _native_parameter(spec: ParamSpec, ng: Any) -> Any:
    """The nevergrad parameter of the same law as ``spec`` (``q`` dropped, see
    :meth:`NevergradSearch.convert_search_space`)."""
    p = ng.p
    if spec.kind == "categorical":
        return p.Choice(list(spec.categories))
    if spec.q is not None and not (spec.kind == "int" and spec.q == 1):
        logger.warning(
            "NevergradSearch.convert_search_space(): nevergrad has no quantization; q=%r of "
            "%r is dropped (pass the tunelab space itself to keep it)",
            spec.q,
            spec.name,
        )
    if spec.law == "normal":
        return p.Scalar(init=spec.mean).set_mutation(sigma=spec.sd)
    parameter = (
        p.Log(lower=spec.lower, upper=spec.upper)
        if spec.law == "loguniform"
        else p.Scalar(lower=spec.lower, upper=spec.upper)
    )
    return parameter.set_integer_casting() if spec.kind == "int" else parameter


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"a/b": 1}`` -> ``{"a": {"b": 1}}`` (names without ``/`` are kept as they are)."""
    out: dict[str, Any] = {}
    for name, value in flat.items():
        parts = name.split("/") if isinstance(name, str) else [name]
        node = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(
                    f"NevergradSearch(): the parameter {name!r} is nested below {part!r}, "
                    f"which is a value of its own ({child!r})"
                )
            node = child
        node[parts[-1]] = value
    return out


def _is_name_list(space: Any) -> bool:
    return isinstance(space, list | tuple) and all(isinstance(n, str) for n in space)


def _is_array(parametrization: Any, ng: Any) -> bool:
    """A plain array parametrization (``OnePlusOne(2)``: two unnamed values)."""
    return isinstance(parametrization, ng.p.Array)


def _is_sequence(value: Any) -> bool:
    return hasattr(value, "__len__") and not isinstance(value, str | bytes | dict)


def _is_instrumentation(parametrization: Any, ng: Any) -> bool:
    return isinstance(parametrization, ng.p.Instrumentation)


def _args_kwargs(candidate: Any, ng: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    value = candidate.value
    if isinstance(candidate, ng.p.Instrumentation):
        args, kwargs = value
        return tuple(args), dict(kwargs)
    if isinstance(value, dict):
        return (), dict(value)
    return (value,), {}


def _python(value: Any) -> Any:
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else value
