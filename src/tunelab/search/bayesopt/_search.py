"""BayesOptSearch: Gaussian-process Bayesian optimization through bayesian-optimization."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from tunelab._errors import require
from tunelab._legacy_args import (
    check_max_concurrent,
    check_use_early_stopped_trials,
    resolve_reward_attr,
)
from tunelab.search._convert import (
    LibrarySearcher,
    OwnConcurrencyLimit,
    check_points,
    finite_objective,
    has_searchable,
    merge_suggestion,
)
from tunelab.search._native import (
    is_finite_number,
    random_state_from_json,
    random_state_to_json,
)
from tunelab.search._searcher import Searcher, pack_value, unpack_value
from tunelab.search.bayesopt._space import NativeBounds, TunelabBounds, is_bounds_dict

__all__ = ["BayesOptSearch"]

logger = logging.getLogger("tunelab.search")

_STATE_VERSION = 1
_Space = TunelabBounds | NativeBounds
_DEFAULT_UTILITY = {"kind": "ucb", "kappa": 2.576, "xi": 0.0}


class BayesOptSearch(OwnConcurrencyLimit, LibrarySearcher):
    """Suggests configurations with bayesian-optimization's Gaussian process
    (``pip install "tunelab[bayesopt]"``).

    Floats are searched between their bounds (log-uniform ones on the log scale), integers
    and quantized values are rounded; categories and normal distributions raise
    ``ValueError``. The first ``random_search_steps`` suggestions are drawn at random
    (``points_to_evaluate`` first); the Gaussian process takes over once all of them have
    finished. Results that are NaN or infinite, failed trials and trials without the metric
    are not learned from.

    A configuration suggested again is skipped when ``skip_duplicate``: ``suggest`` returns
    ``None`` while other trials run, or asks the model again; once one configuration has
    come up more than ``patience`` times the search has converged and ends
    (``Searcher.FINISHED``), possibly before ``num_samples``.

    Args:
        space: bayesian-optimization's own format, ``{"name": (low, high)}`` (``"a/b"``
            names become nested keys), or a tunelab space (also accepted through
            ``param_space``/``config``, not both). ``None`` (default): the run's config.
        metric: The result key to optimize. ``None``: the run's ``metric``.
        mode: ``"min"`` or ``"max"``. ``None``: the run's ``mode``.
        points_to_evaluate: Configs to run first (partial ones completed at random); they
            count among the ``random_search_steps``. A dict in this position is the 0.8
            positional order ``BayesOptSearch(space, metric, mode, utility_kwargs)`` and is
            read as ``utility_kwargs``. ``None`` (default): none.
        utility_kwargs: The acquisition function: ``kind`` (``"ucb"``, ``"ei"`` or
            ``"poi"``), ``kappa``, ``xi``, ``kappa_decay``, ``kappa_decay_delay``
            (arguments of ``bayes_opt.UtilityFunction``). ``None`` (default): UCB with
            ``kappa=2.576``, ``xi=0.0``.
        random_state: An int seed or a numpy ``RandomState`` (default 42, as in Ray Tune);
            ``None``: unseeded.
        random_search_steps: How many suggestions are random before the model is used
            (>= 0; default 10).
        verbose: bayesian-optimization's verbosity (>= 0; default 0).
        patience: How many times one configuration may come up before the search ends
            (>= 1; default 5).
        skip_duplicate: Skip configurations suggested before (default ``True``).
        analysis: An :class:`~tunelab.ExperimentAnalysis` (or anything with ``.trials``)
            whose finished trials are registered before the first suggestion.
        repeat_float_precision: The decimals to which floats are compared when looking for
            duplicates (>= 0; default 5).
        max_concurrent: Older spelling (0.8): caps how many suggested trials run at once.
            ``None``/``0``: no limit.
        use_early_stopped_trials: 0.8 spelling, accepted as ``None`` or ``True``.
        reward_attr: 0.5-0.7 spelling: ``metric=reward_attr, mode="max"``.

    Raises:
        ImportError: bayesian-optimization is not installed.
        TypeError: ``space``, ``utility_kwargs``, ``random_state``, ``skip_duplicate`` or
            one of the int arguments is of the wrong type.
        ValueError: ``utility_kwargs`` are not ``UtilityFunction`` arguments, a negative
            seed, an int argument below its minimum, or a space with categories or normal
            distributions.
    """

    where = "BayesOptSearch()"
    state_is_json = True  # registered points, random states and counters (see get_state)

    def __init__(
        self,
        space: dict[str, Any] | None = None,
        metric: str | None = None,
        mode: str | None = None,
        points_to_evaluate: list[dict[str, Any]] | None = None,
        utility_kwargs: dict[str, Any] | None = None,
        random_state: Any = 42,
        random_search_steps: int = 10,
        verbose: int = 0,
        patience: int = 5,
        skip_duplicate: bool = True,
        analysis: Any = None,
        repeat_float_precision: int = 5,
        *,
        max_concurrent: int | None = None,
        use_early_stopped_trials: bool | None = None,
        reward_attr: str | None = None,
    ) -> None:
        self._byo = require("bayes_opt", extra="bayesopt", feature="BayesOptSearch")
        metric, mode = resolve_reward_attr(self.where, reward_attr, metric, mode)
        check_use_early_stopped_trials(self.where, use_early_stopped_trials)
        super().__init__(metric=metric, mode=mode)
        self.max_concurrent = check_max_concurrent(self.where, max_concurrent)
        if isinstance(points_to_evaluate, dict) and utility_kwargs is None:
            # Ray Tune 0.8: BayesOptSearch(space, metric, mode, utility_kwargs, ...)
            points_to_evaluate, utility_kwargs = None, points_to_evaluate
        self.utility_kwargs = self._check_utility(utility_kwargs)
        self.random_state = self._check_random_state(random_state)
        self.random_search_steps = _check_int(random_search_steps, "random_search_steps", 0)
        self.verbose = _check_int(verbose, "verbose", 0)
        self.patience = _check_int(patience, "patience", 1)
        self.repeat_float_precision = _check_int(
            repeat_float_precision, "repeat_float_precision", 0
        )
        if not isinstance(skip_duplicate, bool):
            raise TypeError(
                f"`skip_duplicate` of {self.where} must be a bool, got {skip_duplicate!r}"
            )
        self.skip_duplicate = skip_duplicate
        self._analysis = analysis
        self._points = check_points(points_to_evaluate, self.where)
        self._space: _Space | None = None
        if space is not None:
            self._space = self._make_space(space)
        self._optimizer: Any = None
        self._utility: Any = None
        self._history: list[tuple[dict[str, float], float]] = []  # registered (point, target)
        self._restored: dict[str, Any] | None = None  # random states waiting for the optimizer
        self._live: dict[str, dict[str, Any]] = {}  # trial id -> searched values
        self._random_live: set[str] = set()  # live trials of the random phase
        self._issued = 0
        self._counter: dict[str, int] = {}
        self._warned_duplicate = False

    # -- construction helpers -------------------------------------------------------------
    def _check_utility(self, utility_kwargs: Any) -> dict[str, Any]:
        if utility_kwargs is None:
            return dict(_DEFAULT_UTILITY)
        if not isinstance(utility_kwargs, dict):
            raise TypeError(
                f"`utility_kwargs` of {self.where} must be a dict (kind, kappa, xi, kappa_decay, "
                f"kappa_decay_delay), got {utility_kwargs!r}"
            )
        try:
            self._byo.UtilityFunction(**{**_DEFAULT_UTILITY, **utility_kwargs})
        except (TypeError, NotImplementedError) as exc:
            raise ValueError(
                f"`utility_kwargs` of {self.where} must be arguments of bayes_opt."
                f"UtilityFunction (kind 'ucb'/'ei'/'poi', kappa, xi, kappa_decay, "
                f"kappa_decay_delay), got {utility_kwargs!r}: {exc}"
            ) from exc
        return {**_DEFAULT_UTILITY, **utility_kwargs}

    def _check_random_state(self, random_state: Any) -> Any:
        if random_state is None:
            return None
        if isinstance(random_state, int) and not isinstance(random_state, bool):
            if random_state < 0:
                raise ValueError(f"`random_state` of {self.where} must be >= 0, got {random_state}")
            return random_state
        import numpy as np

        if isinstance(random_state, np.random.RandomState):
            return random_state
        raise TypeError(
            f"`random_state` of {self.where} must be None, an int seed or a numpy RandomState, "
            f"got {random_state!r}"
        )

    def _make_space(self, space: Any) -> _Space:
        if not isinstance(space, dict):
            raise TypeError(
                f"`space` of {self.where} must be a dict ({{name: (low, high)}} or tunelab "
                f"domains), got {space!r}"
            )
        if has_searchable(space):
            return TunelabBounds(space)
        if not is_bounds_dict(space):
            raise TypeError(
                f"`space` of {self.where} must map each name to (low, high) or hold tunelab "
                f"domains, got {space!r}"
            )
        return NativeBounds(space)

    def _has_space(self) -> bool:
        return self._space is not None

    def _use_config(self, config: dict[str, Any]) -> None:
        self._space = TunelabBounds(config)
        self._optimizer = None

    # -- the optimizer --------------------------------------------------------------------
    def _get_optimizer(self) -> Any:
        if self._optimizer is None:
            assert self._space is not None  # _check_ready ran
            byo = self._byo
            optimizer = byo.BayesianOptimization(
                f=None,
                pbounds=self._space.pbounds,
                random_state=self.random_state,
                verbose=self.verbose,
            )
            self._utility = byo.UtilityFunction(**self.utility_kwargs)
            for point, target in self._history:
                _register(optimizer, point, target, byo)
            restored, self._restored = self._restored, None
            if restored is not None:
                if restored["rng"] is not None:
                    optimizer._random_state.set_state(random_state_from_json(restored["rng"]))
                if restored["space_rng"] is not None:
                    optimizer.space.random_state.set_state(
                        random_state_from_json(restored["space_rng"])
                    )
                self._utility.kappa = float(restored["utility"]["kappa"])
                self._utility._iters_counter = int(restored["utility"]["iters"])
            self._optimizer = optimizer
            if self._analysis is not None:
                analysis, self._analysis = self._analysis, None
                self.register_analysis(analysis)
        return self._optimizer

    def register_analysis(self, analysis: Any) -> None:
        """Register the finished trials of an earlier experiment with their last value of
        the metric.

        Args:
            analysis: An :class:`~tunelab.ExperimentAnalysis` or anything with ``.trials``.

        Raises:
            RuntimeError: The searcher has no space, metric or mode yet.
        """
        self._check_ready()
        self.add_evaluated_trials(analysis, self.metric)

    # -- searching ------------------------------------------------------------------------
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        self._check_ready()
        assert self._space is not None
        if self._at_own_limit():
            return None
        optimizer = self._get_optimizer()
        while True:
            random_phase = self._issued < self.random_search_steps
            if not self._points and not random_phase and self._random_live:
                return None  # the model starts once every random trial has finished
            values, fixed = self._next_values(optimizer, random_phase)
            verdict = self._count(values)
            if verdict == "finished":
                logger.warning(
                    "%s ends the search: a configuration was suggested more than patience=%d "
                    "times (the Gaussian process has converged); raise `patience`, set "
                    "skip_duplicate=False or widen the space to search on",
                    self.where,
                    self.patience,
                )
                return Searcher.FINISHED
            if verdict == "duplicate":
                if not self._warned_duplicate:
                    self._warned_duplicate = True
                    logger.warning(
                        "%s skips configurations suggested before (the Gaussian process may "
                        "have converged); the search ends when one comes up more than "
                        "patience=%d times",
                        self.where,
                        self.patience,
                    )
                if self._live:
                    return None  # the running trials' results may move the model
                continue
            break
        if random_phase:
            self._random_live.add(trial_id)
        self._issued += 1
        self._live[trial_id] = values
        suggestion = self._space.suggestion(values)
        return merge_suggestion(suggestion, fixed) if fixed else suggestion

    def _next_values(self, optimizer: Any, random_phase: bool) -> tuple[dict[str, Any], Any]:
        assert self._space is not None
        space = optimizer.space
        if self._points:
            given, fixed = self._space.split_point(self._points.pop(0))
            values = dict(given)
            if set(given) != set(self._space.pbounds):
                drawn = self._space.values(space.array_to_params(space.random_sample()))
                values = {name: values.get(name, drawn[name]) for name in drawn}
            return values, fixed
        if random_phase:
            return self._space.values(space.array_to_params(space.random_sample())), {}
        self._utility.update_params()
        return self._space.values(optimizer.suggest(self._utility)), {}

    def _count(self, values: Mapping[str, Any]) -> str:
        """'new', 'duplicate' (skip it) or 'finished' (patience exhausted)."""
        key = _config_hash(values, self.repeat_float_precision)
        seen = key in self._counter
        self._counter[key] = self._counter.get(key, 0) + 1
        if self._counter[key] > self.patience:
            return "finished"
        return "duplicate" if seen and self.skip_duplicate else "new"

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        values = self._live.pop(trial_id, None)
        self._random_live.discard(trial_id)
        value = finite_objective(result, self.metric, error)
        if values is None or value is None:
            return
        self._learn(values, value)

    def _learn(self, values: Mapping[str, Any], value: float) -> None:
        assert self._space is not None
        point = self._space.raw(values)
        target = -self._sign() * value  # bayesian-optimization maximizes
        if _register(self._get_optimizer(), point, target, self._byo):
            self._history.append((point, target))

    def add_evaluated_point(
        self,
        parameters: dict[str, Any],
        value: float,
        error: bool = False,
        pruned: bool = False,
        intermediate_values: list[float] | None = None,
    ) -> None:
        """Register a configuration evaluated elsewhere (failed ones and NaN/infinite values
        are skipped).

        Args:
            parameters: A value for every searched parameter.
            value: Its metric value.
            error: ``True``: skipped.
            pruned: Not used.
            intermediate_values: Not used.

        Raises:
            ValueError: ``parameters`` lacks a searched parameter.
            RuntimeError: The searcher has no space, metric or mode yet.
        """
        self._check_ready()
        assert self._space is not None
        if error or not is_finite_number(value):
            return
        if isinstance(self._space, NativeBounds):
            flat = {k: v for k, v in _flat(parameters).items() if k in self._space.pbounds}
            given, _ = self._space.split_point(flat)
        else:
            given, _ = self._space.split_point(parameters)
        missing = sorted(set(self._space.pbounds) - set(given))
        if missing:
            raise ValueError(
                f"{self.where}.add_evaluated_point(): `parameters` lacks {missing} (a "
                f"registered point must set every searched parameter)"
            )
        self._learn(given, float(value))

    # -- state ----------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The registered points, the random states, the acquisition's counters, the live
        trials and the duplicate counts, as JSON."""
        optimizer = self._optimizer
        rng: list[Any] | None
        space_rng: list[Any] | None
        if optimizer is not None:
            rng = random_state_to_json(optimizer._random_state.get_state())
            space_rng = random_state_to_json(optimizer.space.random_state.get_state())
            utility = {"kappa": float(self._utility.kappa), "iters": self._utility._iters_counter}
        elif self._restored is not None:
            rng, space_rng = self._restored["rng"], self._restored["space_rng"]
            utility = dict(self._restored["utility"])
        else:
            rng = space_rng = None
            utility = {"kappa": float(self.utility_kwargs.get("kappa", 2.576)), "iters": 0}
        return {
            "version": _STATE_VERSION,
            "history": [[dict(point), target] for point, target in self._history],
            "rng": rng,
            "space_rng": space_rng,
            "utility": utility,
            "live": {tid: dict(values) for tid, values in self._live.items()},
            "random_live": sorted(self._random_live),
            "issued": self._issued,
            "counter": dict(self._counter),
            "points": pack_value(self._points),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`get_state` (the optimizer is rebuilt from the registered
        points and its random states, so it suggests what the saved one would have).

        Args:
            state: What :meth:`get_state` returned.

        Raises:
            ValueError: ``state`` is not a state of this version.
        """
        self._check_state_version(state, _STATE_VERSION)
        points = list(unpack_value(state["points"]))
        self._history = [
            ({str(k): float(v) for k, v in point.items()}, float(target))
            for point, target in state["history"]
        ]
        self._restored = {
            "rng": state["rng"],
            "space_rng": state["space_rng"],
            "utility": dict(state["utility"]),
        }
        self._live = {str(tid): dict(values) for tid, values in state["live"].items()}
        self._random_live = {str(tid) for tid in state["random_live"]}
        self._issued = int(state["issued"])
        self._counter = {str(k): int(v) for k, v in state["counter"].items()}
        self._points = points
        self._optimizer = None
        self._analysis = None  # its trials are in the history already

    def __repr__(self) -> str:
        return (
            f"BayesOptSearch(metric={self.metric!r}, mode={self.mode!r}, utility_kwargs="
            f"{self.utility_kwargs!r}, random_state={self.random_state!r}, "
            f"random_search_steps={self.random_search_steps})"
        )


def _register(optimizer: Any, point: dict[str, float], target: float, byo: Any) -> bool:
    """Register one observation; False when bayesian-optimization holds the point already."""
    try:
        optimizer.register(params=point, target=target)
    except byo.util.NotUniqueError:
        return False
    return True


def _config_hash(values: Mapping[str, Any], precision: int) -> str:
    shown = {
        name: f"{value:.{precision}f}" if isinstance(value, float) else value
        for name, value in values.items()
    }
    return json.dumps(shown, sort_keys=True, default=str)


def _flat(parameters: Mapping[str, Any]) -> dict[str, Any]:
    from tunelab.search._native import flatten_point

    return flatten_point(parameters)


def _check_int(value: Any, name: str, minimum: int) -> int:
    where = BayesOptSearch.where
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` of {where} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` of {where} must be >= {minimum}, got {value}")
    return value
