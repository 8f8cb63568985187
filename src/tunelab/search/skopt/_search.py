"""SkOptSearch: scikit-optimize's ``Optimizer`` (ask and tell) behind tunelab's Searcher."""

from __future__ import annotations

import copy
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
    finite_objective,
    has_searchable,
    merge_suggestion,
)
from tunelab.search._native import check_rewards, is_finite_number
from tunelab.search._resolve import copy_tree
from tunelab.search.skopt._space import NamedDimensions, TunelabDimensions

__all__ = ["SkOptSearch"]

logger = logging.getLogger("tunelab.search")

_STATE_VERSION = 1
_Space = TunelabDimensions | NamedDimensions


class SkOptSearch(OwnConcurrencyLimit, LibrarySearcher):
    """Suggests configurations with a scikit-optimize ``Optimizer``
    (``pip install "tunelab[skopt]"``).

    Either ``space`` alone, and the optimizer is
    ``skopt.Optimizer(dimensions, **optimizer_kwargs)``; or ``optimizer``, an
    ``skopt.Optimizer`` instance, with ``space`` the list of parameter names for its
    dimensions. Results that are NaN or infinite, failed trials and trials without the
    metric are not told. scikit-optimize minimizes: with ``mode="max"`` it is told the
    negated metric (the rewards too). With trials running in parallel, a point
    scikit-optimize proposes again (it does until the running trials' results come in; Ray
    Tune ran it twice) is replaced by a new one from its constant-liar batch
    (``ask(n_points, strategy="cl_min")``).

    Args:
        optimizer: An ``skopt.Optimizer`` instance to use (``space`` is then the list of
            names of its dimensions). ``None`` (default): one is built from ``space``.
        space: A tunelab space (also accepted through ``param_space``/``config``, not both);
            or scikit-optimize's own format, a dict of ``(low, high)``,
            ``(low, high, "log-uniform")``, lists of categories or ``skopt.space``
            dimensions (``"a/b"`` names become nested keys); or, with ``optimizer``, the
            list of parameter names. ``None`` (default): the run's config.
        metric: The result key to optimize. ``None``: the run's ``metric``.
        mode: ``"min"`` or ``"max"``. ``None``: the run's ``mode``.
        points_to_evaluate: Configs to run first: dicts, or (0.8) lists of values in the
            order of the names; missing values are drawn at random. ``None`` (default): none.
        evaluated_rewards: One metric value per point of ``points_to_evaluate``: the points
            are then told to the optimizer instead of being run (each must set every
            parameter). ``None`` (default): run them.
        convert_to_python: Turn numpy values of a native space into plain Python values
            (default ``True``); suggestions from a tunelab space are always plain values.
        optimizer_kwargs: Arguments of ``skopt.Optimizer`` when the searcher builds it (a
            tunelab addition), e.g. ``{"n_initial_points": 5, "random_state": 0,
            "acq_func": "EI"}``. ``None`` (default): scikit-optimize's defaults.
        parameter_names: 0.8 spelling of the names of ``optimizer``'s dimensions (as in
            ``SkOptSearch(optimizer, parameter_names)``).
        max_concurrent: Older spelling: caps how many suggested trials run at once.
            ``None``/``0``: no limit.
        use_early_stopped_trials: 0.8 spelling, accepted as ``None`` or ``True``.
        reward_attr: 0.5-0.7 spelling: ``metric=reward_attr, mode="max"``.

    Raises:
        ImportError: scikit-optimize is not installed.
        TypeError: ``optimizer`` is not an ``skopt.Optimizer``, ``optimizer_kwargs`` is not a
            dict, ``convert_to_python`` is not a bool, ``space`` is of another kind,
            ``points_to_evaluate`` holds other than dicts and lists, or
            ``evaluated_rewards`` is not a list of numbers.
        ValueError: Both ``parameter_names`` and ``space``, an optimizer instance with
            ``optimizer_kwargs`` or without one name per dimension, an empty ``space``, or
            ``evaluated_rewards`` without one reward per point.
    """

    where = "SkOptSearch()"

    def __init__(
        self,
        optimizer: Any = None,
        space: Any = None,
        metric: str | None = None,
        mode: str | None = None,
        points_to_evaluate: list[Any] | None = None,
        evaluated_rewards: list[Any] | None = None,
        convert_to_python: bool = True,
        *,
        optimizer_kwargs: dict[str, Any] | None = None,
        parameter_names: list[str] | None = None,
        max_concurrent: int | None = None,
        use_early_stopped_trials: bool | None = None,
        reward_attr: str | None = None,
    ) -> None:
        self._sko = require("skopt", extra="skopt", feature="SkOptSearch")
        metric, mode = resolve_reward_attr(self.where, reward_attr, metric, mode)
        check_use_early_stopped_trials(self.where, use_early_stopped_trials)
        super().__init__(metric=metric, mode=mode)
        self.max_concurrent = check_max_concurrent(self.where, max_concurrent)
        if parameter_names is not None:
            if space is not None:
                raise ValueError(
                    f"{self.where} got both `parameter_names` ({parameter_names!r}) and `space` "
                    f"({space!r}); give the names once"
                )
            space = parameter_names
        if optimizer is not None and not isinstance(optimizer, self._sko.Optimizer):
            hint = " (a search space goes to `space=`)" if isinstance(optimizer, dict) else ""
            raise TypeError(
                f"`optimizer` of {self.where} must be an skopt.Optimizer instance, got "
                f"{optimizer!r}{hint}"
            )
        if optimizer_kwargs is not None and not isinstance(optimizer_kwargs, dict):
            raise TypeError(
                f"`optimizer_kwargs` of {self.where} must be a dict, got {optimizer_kwargs!r}"
            )
        if optimizer is not None and optimizer_kwargs:
            raise ValueError(
                f"{self.where} got an optimizer instance and `optimizer_kwargs`; configure the "
                f"instance itself"
            )
        if not isinstance(convert_to_python, bool):
            raise TypeError(
                f"`convert_to_python` of {self.where} must be a bool, got {convert_to_python!r}"
            )
        self.optimizer_kwargs = dict(optimizer_kwargs or {})
        self.convert_to_python = convert_to_python
        self._optimizer: Any = optimizer
        self._space: _Space | None = self._make_space(optimizer, space)
        self._points: list[Any] = _check_point_list(points_to_evaluate, self.where)
        self._rewards = check_rewards(evaluated_rewards, self._points, self.where)
        self._live: dict[str, list[Any]] = {}  # trial id -> the point to tell

    # -- space ----------------------------------------------------------------------------
    def _make_space(self, optimizer: Any, space: Any) -> _Space | None:
        if optimizer is not None:
            if space is None or isinstance(space, dict) or not _is_names(space):
                raise ValueError(
                    f"{self.where} got an optimizer instance: `space` must be the list of its "
                    f"parameter names (one per dimension), got {space!r}"
                )
            count = len(optimizer.space.dimensions)
            if len(space) != count:
                raise ValueError(
                    f"{self.where}: the optimizer has {count} dimensions but {len(space)} "
                    f"parameter names were given ({list(space)})"
                )
            return NamedDimensions(list(space), None)
        if space is None:
            return None
        if isinstance(space, dict):
            if not space:
                raise ValueError(f"`space` of {self.where} must not be empty")
            if has_searchable(space):
                return TunelabDimensions(space, self._sko.space)
            return NamedDimensions.from_dict(space)
        if _is_names(space):
            raise ValueError(
                f"`space` of {self.where} is a list of names ({list(space)}): pass the "
                f"skopt.Optimizer they name as `optimizer`, or give a dict space"
            )
        raise TypeError(
            f"`space` of {self.where} must be a dict (tunelab domains or scikit-optimize "
            f"dimensions) or, with an optimizer, a list of names, got {space!r}"
        )

    def _has_space(self) -> bool:
        return self._space is not None

    def _use_config(self, config: dict[str, Any]) -> None:
        self._space = TunelabDimensions(config, self._sko.space)

    def _get_optimizer(self) -> Any:
        if self._optimizer is None:
            assert self._space is not None and self._space.dimensions is not None
            try:
                self._optimizer = self._sko.Optimizer(
                    self._space.dimensions, **self.optimizer_kwargs
                )
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"{self.where} cannot build skopt.Optimizer from its space and "
                    f"`optimizer_kwargs` {self.optimizer_kwargs!r}: {exc}"
                ) from exc
        if self._rewards is not None:
            points, rewards = self._points, self._rewards
            self._points, self._rewards = [], None
            for point, reward in zip(points, rewards):
                x, _ = self._point(point, fill=False)
                self._optimizer.tell(x, self._sign() * reward)
        return self._optimizer

    # -- points ---------------------------------------------------------------------------
    def _point(self, point: Any, fill: bool) -> tuple[list[Any], dict[str, Any]]:
        """A point as the optimizer's values and the suggestion that runs it."""
        assert self._space is not None
        names = self._space.names
        if isinstance(point, list | tuple):
            if len(point) != len(names):
                raise ValueError(
                    f"`points_to_evaluate` of {self.where}: the list {point!r} needs one value "
                    f"per parameter {names}"
                )
            point = dict(zip(names, point))
        if isinstance(self._space, TunelabDimensions):
            encoded, fixed = self._space.encode_point(point)
        else:
            encoded, fixed = self._space.encode_point(point), {}
        missing = [n for n in names if n not in encoded]
        if missing and not fill:
            raise ValueError(
                f"{self.where}: the point {point!r} lacks {missing} (a point told to the "
                f"optimizer must set every parameter)"
            )
        if missing:
            optimizer = self._optimizer
            drawn = optimizer.space.rvs(random_state=optimizer.rng)[0]
            encoded = {n: encoded.get(n, d) for n, d in zip(names, drawn)}
        x = [encoded[n] for n in names]
        if self._optimizer is not None and x not in self._optimizer.space:
            raise ValueError(
                f"`points_to_evaluate` of {self.where}: {point!r} lies outside the optimizer's "
                f"space {self._optimizer.space.dimensions!r}"
            )
        if isinstance(self._space, TunelabDimensions):
            config = merge_suggestion(self._space.suggestion(encoded), fixed)
        else:
            config, _ = self._space.decode(x, self.convert_to_python)
        return x, config

    # -- searching ------------------------------------------------------------------------
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        self._check_ready()
        assert self._space is not None
        if self._at_own_limit():
            return None
        optimizer = self._get_optimizer()
        if self._points:
            x, config = self._point(self._points.pop(0), fill=True)
        else:
            # the optimizer is told the point it asked for (as in Ray Tune and
            # scikit-optimize's own loop), not its rounded or clipped config values
            x = self._ask(optimizer)
            if isinstance(self._space, TunelabDimensions):
                config, _ = self._space.decode(x)
            else:
                config, _ = self._space.decode(x, self.convert_to_python)
        self._live[trial_id] = list(x)
        return config

    def _ask(self, optimizer: Any) -> list[Any]:
        """The optimizer's next point. Asked again before the running trials' results came
        in, scikit-optimize proposes the same point again; a new one then comes from its
        constant-liar batch (``ask(n_points, strategy="cl_min")``, its own way to run in
        parallel)."""
        x = list(optimizer.ask())
        running = [list(point) for point in self._live.values()]
        if x in running:
            batch = optimizer.ask(n_points=len(running) + 1, strategy="cl_min")
            x = list(next((p for p in batch if list(p) not in running), batch[-1]))
        return x

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        x = self._live.pop(trial_id, None)
        value = finite_objective(result, self.metric, error)
        if x is None or value is None:
            return
        self._get_optimizer().tell(x, self._sign() * value)

    def add_evaluated_point(
        self,
        parameters: dict[str, Any],
        value: float,
        error: bool = False,
        pruned: bool = False,
        intermediate_values: list[float] | None = None,
    ) -> None:
        """Tell the optimizer a configuration evaluated elsewhere (failed and pruned ones,
        NaN and infinite values are skipped with a warning, as in Ray Tune).

        Args:
            parameters: A value for every parameter.
            value: Its metric value.
            error: ``True``: skipped.
            pruned: ``True``: skipped.
            intermediate_values: Not used (a warning says so).

        Raises:
            ValueError: ``parameters`` lacks a parameter or lies outside the space.
            RuntimeError: The searcher has no space, metric or mode yet.
        """
        self._check_ready()
        assert self._space is not None
        if intermediate_values:
            logger.warning("%s does not use intermediate_values; they are ignored", self.where)
        if error or pruned or not is_finite_number(value):
            logger.warning("%s is told only points that finished with a value", self.where)
            return
        if isinstance(self._space, NamedDimensions):
            parameters = {
                name: v for name, v in _flat(parameters).items() if name in self._space.names
            }
        optimizer = self._get_optimizer()
        x, _ = self._point(parameters, fill=False)
        optimizer.tell(x, self._sign() * float(value))

    # -- state ----------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The optimizer (only its last surrogate model: scikit-optimize keeps every model it
        fitted), the live trials and the points still to run, pickled together (signed with
        the experiment's key when saved for resume, see :mod:`tunelab._trust`)."""
        optimizer = self._optimizer
        if optimizer is not None:
            optimizer = copy.copy(optimizer)
            optimizer.models = list(self._optimizer.models[-1:])
        payload = (optimizer, dict(self._live), copy_tree(self._points), self._rewards)
        return {"version": _STATE_VERSION, "pickle": _trust.dumps_signed(payload)}

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`get_state`. On resume the pickle is unpickled only when its
        signature checks out (:class:`tunelab._trust.TrustError` otherwise, before anything
        changes).

        Args:
            state: What :meth:`get_state` returned.

        Raises:
            ValueError: ``state`` is not a state of this version.
        """
        self._check_state_version(state, _STATE_VERSION)
        optimizer, live, points, rewards = _trust.loads_signed(
            state["pickle"], "pickled scikit-optimize optimizer"
        )
        if optimizer is not None:
            self._optimizer = optimizer
        self._live = dict(live)
        self._points = list(points)
        self._rewards = rewards

    def __repr__(self) -> str:
        return (
            f"SkOptSearch(metric={self.metric!r}, mode={self.mode!r}, optimizer_kwargs="
            f"{self.optimizer_kwargs!r})"
        )


def _is_names(space: Any) -> bool:
    return (
        isinstance(space, list | tuple)
        and bool(space)
        and all(isinstance(name, str) for name in space)
    )


def _check_point_list(points: Any, where: str) -> list[Any]:
    """``points_to_evaluate``: dicts (1.x) or lists of values in the names' order (0.8)."""
    if points is None:
        return []
    if isinstance(points, dict | str) or not isinstance(points, list | tuple):
        raise TypeError(
            f"`points_to_evaluate` of {where} must be a list of dicts (or of value lists), got "
            f"{points!r}"
        )
    out = []
    for point in points:
        if not isinstance(point, dict | list | tuple):
            raise TypeError(
                f"`points_to_evaluate` of {where} must hold dicts or lists, got the element "
                f"{point!r}"
            )
        out.append(copy_tree(point))
    return out


def _flat(parameters: Mapping[str, Any]) -> dict[str, Any]:
    from tunelab.search._native import flatten_point

    return flatten_point(parameters)
