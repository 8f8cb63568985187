"""ZOOptSearch: ZOOpt's asynchronous sequential RACOS (``SRacosTune``) behind tunelab's
Searcher."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
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
    check_points,
    check_seed,
    finite_objective,
    has_searchable,
    merge_suggestion,
)
from tunelab.search._searcher import Searcher
from tunelab.search.zoopt._space import NativeDims, TunelabDims

__all__ = ["ZOOptSearch"]

logger = logging.getLogger("tunelab.search")

_STATE_VERSION = 1
_ALGOS = ("asracos", "sracos")
_MAX_NOT_DISTINCT = 100  # ZOOpt's max_distinct_repeat_times
_Space = TunelabDims | NativeDims


class ZOOptSearch(OwnConcurrencyLimit, LibrarySearcher):
    """Suggests configurations with ZOOpt's sequential RACOS (``pip install
    "tunelab[zoopt]"``).

    ZOOpt draws from numpy's global random generator; this searcher gives it a generator of
    its own (seeded with ``random_state_seed``) for each of its calls, so that the search is
    reproducible and nothing else's random draws change it. A failed trial, or one without
    the metric (or with a NaN or infinite value), counts as the worst possible value (ZOOpt
    waits for every suggestion's value; Ray Tune's searcher stalled on one). A sample that
    repeats an earlier one is drawn again, up to 100 times in a search, as ZOOpt's own loop
    does (Ray Tune's searcher ended the search on the first); the search ends early
    (``Searcher.FINISHED``) after that, or when a discrete space is exhausted.

    Args:
        algo: ``"asracos"`` (default) or ``"sracos"`` (the same algorithm; case-insensitive).
        budget: Required: the number of trials ZOOpt plans for (an int >= 3); give the same
            number as ``num_samples``. It sets how many initial random samples come first
            (4 up to a budget of 50, 6 up to 100, 12 up to 1000, then 22).
        dim_dict: ZOOpt's own space (``name -> (ValueType.CONTINUOUS, [low, high],
            precision)``, ``(ValueType.DISCRETE, [low, high], has_order)`` or
            ``(ValueType.GRID, [values])``; ``"a/b"`` names become nested keys) or a tunelab
            space (also accepted through ``param_space``/``config``, not both). ``None``
            (default): the run's config.
        metric: The result key to optimize. ``None``: the run's ``metric``.
        mode: ``"min"`` or ``"max"``. ``None``: the run's ``mode``.
        points_to_evaluate: Configs to run first (missing values as ZOOpt draws them).
            ``None`` (default): none.
        parallel_num: After the initial samples, at most this many suggested trials run at
            once (``suggest`` returns ``None`` beyond); an int >= 1 (default 1).
        random_state_seed: Seed of ZOOpt's random generator (a tunelab addition); ``None``
            (default): unseeded.
        max_concurrent: Older spelling (0.8): caps how many suggested trials run at once.
            ``None``/``0``: no limit.
        use_early_stopped_trials: 0.8 spelling, accepted as ``None`` or ``True``.
        reward_attr: 0.5-0.7 spelling: ``metric=reward_attr, mode="max"``.
        **kwargs: Further arguments of ``zoopt.Parameter`` (e.g. ``exploration_rate``).

    Raises:
        ImportError: ZOOpt is not installed.
        TypeError: ``budget`` is not an int, ``dim_dict`` is of another kind, or
            ``points_to_evaluate`` is not a list of dicts.
        ValueError: ``budget`` is missing or below 3, ``algo`` is unknown, ``parallel_num``
            is not an int >= 1, a negative seed, or ``kwargs`` that ``zoopt.Parameter``
            does not take.
    """

    where = "ZOOptSearch()"

    def __init__(
        self,
        algo: str = "asracos",
        budget: int | None = None,
        dim_dict: dict[str, Any] | None = None,
        metric: str | None = None,
        mode: str | None = None,
        points_to_evaluate: list[dict[str, Any]] | None = None,
        parallel_num: int = 1,
        *,
        random_state_seed: int | None = None,
        max_concurrent: int | None = None,
        use_early_stopped_trials: bool | None = None,
        reward_attr: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._zoopt = require("zoopt", extra="zoopt", feature="ZOOptSearch")
        metric, mode = resolve_reward_attr(self.where, reward_attr, metric, mode)
        check_use_early_stopped_trials(self.where, use_early_stopped_trials)
        super().__init__(metric=metric, mode=mode)
        self.max_concurrent = check_max_concurrent(self.where, max_concurrent)
        if not isinstance(algo, str) or algo.lower() not in _ALGOS:
            raise ValueError(f"`algo` of {self.where} must be one of {list(_ALGOS)}, got {algo!r}")
        self.algo = algo.lower()
        if budget is None:
            raise ValueError(
                f"`budget` of {self.where} is required: the number of trials ZOOpt plans for "
                f"(give the same number as num_samples)"
            )
        if isinstance(budget, bool) or not isinstance(budget, int):
            raise TypeError(f"`budget` of {self.where} must be an int >= 3, got {budget!r}")
        if budget < 3:  # zoopt itself calls sys.exit() on a smaller budget
            raise ValueError(f"`budget` of {self.where} must be >= 3, got {budget}")
        if isinstance(parallel_num, bool) or not isinstance(parallel_num, int) or parallel_num < 1:
            raise ValueError(
                f"`parallel_num` of {self.where} must be an int >= 1, got {parallel_num!r}"
            )
        self.budget = budget
        self.parallel_num = parallel_num
        self.random_state_seed = check_seed(random_state_seed, "random_state_seed", self.where)
        self.parameter_kwargs = dict(kwargs)
        try:
            self._zoopt.Parameter(budget=budget, **self.parameter_kwargs)
        except TypeError as exc:
            raise ValueError(
                f"{self.where}: the keyword arguments {sorted(kwargs)} must be arguments of "
                f"zoopt.Parameter: {exc}"
            ) from exc
        import numpy as np

        self._rng_state: Any = np.random.RandomState(self.random_state_seed).get_state()
        self._precisions: list[Any] = []
        self._points = check_points(points_to_evaluate, self.where)
        self._space: _Space | None = None
        if dim_dict is not None:
            self._space = self._make_space(dim_dict)
        self._optimizer: Any = None
        self._live: dict[str, Any] = {}  # trial id -> zoopt Solution
        self._not_distinct = 0  # samples that repeated an earlier one, in this search

    # -- space ----------------------------------------------------------------------------
    def _make_space(self, dim_dict: Any) -> _Space:
        if not isinstance(dim_dict, dict) or not dim_dict:
            raise TypeError(
                f"`dim_dict` of {self.where} must be a non-empty dict (ZOOpt dimensions or "
                f"tunelab domains), got {dim_dict!r}"
            )
        if has_searchable(dim_dict):
            return TunelabDims(dim_dict)
        return NativeDims(dim_dict)

    def _has_space(self) -> bool:
        return self._space is not None

    def _use_config(self, config: dict[str, Any]) -> None:
        self._space = TunelabDims(config)
        self._optimizer = None

    # -- ZOOpt's global state ---------------------------------------------------------------
    @contextmanager
    def _zoopt_globals(self) -> Iterator[None]:
        """Run ZOOpt with this searcher's random generator and float precisions (ZOOpt keeps
        both as process-wide globals)."""
        import numpy as np

        gl = importlib.import_module("zoopt.utils.zoo_global").gl
        outer_state, outer_precisions = np.random.get_state(), gl.float_precisions
        np.random.set_state(self._rng_state)
        gl.float_precisions = self._precisions
        try:
            yield
        finally:
            self._rng_state = np.random.get_state()
            self._precisions = gl.float_precisions
            np.random.set_state(outer_state)
            gl.float_precisions = outer_precisions

    def _get_optimizer(self) -> Any:
        if self._optimizer is None:
            assert self._space is not None  # _check_ready ran
            sracos = importlib.import_module("zoopt.algos.opt_algorithms.racos.sracos")
            zoopt = self._zoopt
            with self._zoopt_globals():
                dimension = zoopt.Dimension2(self._space.dims)  # sets the float precisions
                parameter = zoopt.Parameter(budget=self.budget, **self.parameter_kwargs)
                self._optimizer = sracos.SRacosTune(
                    dimension=dimension, parameter=parameter, parallel_num=self.parallel_num
                )
        return self._optimizer

    def _run_point(self, solution: Any) -> dict[str, Any]:
        """Turn ZOOpt's next solution into the next point of ``points_to_evaluate`` (values
        the point lacks are the solution's own). ZOOpt's ``init_samples`` are dropped once a
        first trial completes, so the points are laid over its suggestions instead."""
        assert self._space is not None
        given, fixed = self._space.split_point(self._points.pop(0))
        encoded = self._space.encode(given)
        x = [encoded.get(name, own) for name, own in zip(self._space.names, solution.get_x())]
        solution.set_x(x)
        values = {**self._space.values(x), **given}
        return merge_suggestion(self._space.suggestion(values), fixed)

    # -- searching ------------------------------------------------------------------------
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        self._check_ready()
        assert self._space is not None
        if self._at_own_limit():
            return None
        optimizer = self._get_optimizer()
        with self._zoopt_globals():
            solution = optimizer.suggest()
            while _is_finished(solution) and self._not_distinct < _MAX_NOT_DISTINCT - 1:
                # SRacosTune ends on the first sample that repeats an earlier one; ZOOpt's own
                # loop (SRacos.opt) draws again, up to 100 times in a search: so do we
                self._not_distinct += 1
                solution = optimizer.suggest()
            if solution is None and not self._live:
                # ZOOpt pauses once after its initial samples until they have all finished;
                # when they finished before it was asked, nothing would resume it
                train_size = optimizer._parameter.get_train_size()
                if optimizer.semaphore == 0 and optimizer.complete_num >= train_size:
                    optimizer.semaphore = 1
                    solution = optimizer.suggest()
        if _is_finished(solution):
            return Searcher.FINISHED
        if solution is None:
            # nothing to run now; with no trial running nothing will change: the space is
            # exhausted
            return None if self._live else Searcher.FINISHED
        self._live[trial_id] = solution
        if self._points:
            return self._run_point(solution)
        return self._space.suggestion(self._space.values(list(solution.get_x())))

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        solution = self._live.pop(trial_id, None)
        if solution is None:
            return
        value = finite_objective(result, self.metric, error)
        target = None if value is None else self._sign() * value
        with self._zoopt_globals():
            self._optimizer.complete(solution, float("inf") if target is None else target)

    def best_solution(self) -> dict[str, Any] | None:
        """The best configuration ZOOpt has seen (``None`` before its first completion)."""
        optimizer = self._optimizer
        best = getattr(optimizer, "_best_solution", None) if optimizer is not None else None
        if best is None or self._space is None:
            return None
        return self._space.suggestion(self._space.values(list(best.get_x())))

    # -- state ----------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The ZOOpt optimizer, its random generator and float precisions, the live trials
        and the points still to run, pickled together (signed with the experiment's key when
        saved for resume, see :mod:`tunelab._trust`)."""
        payload = {
            "optimizer": self._optimizer,
            "rng": self._rng_state,
            "precisions": list(self._precisions),
            "live": dict(self._live),
            "points": list(self._points),
            "not_distinct": self._not_distinct,
        }
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
        payload = _trust.loads_signed(state["pickle"], "pickled ZOOpt optimizer")
        if payload["optimizer"] is not None:
            self._optimizer = payload["optimizer"]
        self._rng_state = payload["rng"]
        self._precisions = list(payload["precisions"])
        self._live = dict(payload["live"])
        self._points = list(payload["points"])
        self._not_distinct = int(payload["not_distinct"])

    def __repr__(self) -> str:
        return (
            f"ZOOptSearch(algo={self.algo!r}, budget={self.budget}, metric={self.metric!r}, "
            f"mode={self.mode!r}, parallel_num={self.parallel_num})"
        )


def _is_finished(solution: Any) -> bool:
    return isinstance(solution, str) and solution == "FINISHED"
