"""BlendSearch and CFO: FLAML's searchers behind tunelab's Searcher interface."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

from tunelab import _trust
from tunelab._errors import ExtraNotInstalledError, require
from tunelab.search._convert import (
    LibrarySearcher,
    check_points,
    finite_objective,
    has_searchable,
    objective_value,
)
from tunelab.search._native import check_rewards, is_finite_number
from tunelab.search._resolve import copy_tree
from tunelab.search._searcher import Searcher
from tunelab.search.flaml._space import TunelabFlamlSpace, has_flaml_domain, pythonize

__all__ = ["CFO", "BlendSearch"]

logger = logging.getLogger("tunelab.search")

_STATE_VERSION = 1
_RETRIES = 20  # FLAML answers None once when a local search thread converges


def _import_flaml(feature: str) -> Any:
    with warnings.catch_warnings():
        # flaml's __init__ warns when its AutoML part (not used here) lacks its extras
        warnings.filterwarnings("ignore", message=r"flaml\.automl is not available")
        flaml = require("flaml", extra="flaml", feature=feature)
        require("flaml.tune", extra="flaml", feature=feature)
    return flaml


class _FlamlSearcher(LibrarySearcher):
    """The common adapter of FLAML's BlendSearch and CFO (see :class:`BlendSearch`)."""

    _flaml_name = "BlendSearch"
    where = "BlendSearch()"
    needs_optuna = True

    def __init__(
        self,
        metric: str | None = None,
        mode: str | None = None,
        space: dict[str, Any] | None = None,
        low_cost_partial_config: dict[str, Any] | None = None,
        cat_hp_cost: dict[str, Any] | None = None,
        points_to_evaluate: list[dict[str, Any]] | None = None,
        evaluated_rewards: list[Any] | None = None,
        time_budget_s: float | None = None,
        num_samples: int | None = None,
        resource_attr: str | None = None,
        min_resource: float | None = None,
        max_resource: float | None = None,
        reduction_factor: float | None = None,
        global_search_alg: Any = None,
        config_constraints: list[tuple[Callable[[dict[str, Any]], float], str, float]]
        | None = None,
        metric_constraints: list[tuple[str, str, float]] | None = None,
        seed: int | None = 20,
        cost_attr: str | None = "auto",
        cost_budget: float | None = None,
        experimental: bool = False,
        lexico_objectives: dict[str, Any] | None = None,
        use_incumbent_result_in_evaluation: bool = False,
        allow_empty_config: bool = False,
    ) -> None:
        flaml = _import_flaml(type(self).__name__)
        if self.needs_optuna and global_search_alg is None:
            require("optuna", extra="flaml", feature=f"{type(self).__name__} (its global search)")
        self._flaml_class = getattr(flaml, self._flaml_name)
        self._sample = flaml.tune.sample
        super().__init__(metric=metric, mode=mode)
        for name, value in (
            ("low_cost_partial_config", low_cost_partial_config),
            ("cat_hp_cost", cat_hp_cost),
            ("lexico_objectives", lexico_objectives),
        ):
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"`{name}` of {self.where} must be a dict, got {value!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"`seed` of {self.where} must be an int, got {seed!r}")
        self._points = check_points(points_to_evaluate, self.where)
        # FLAML: the first len(evaluated_rewards) points are evaluated, the others are run
        evaluated = len(evaluated_rewards) if isinstance(evaluated_rewards, list | tuple) else 0
        self._rewards = check_rewards(evaluated_rewards, self._points[:evaluated], self.where)
        self._low_cost = copy_tree(low_cost_partial_config) if low_cost_partial_config else None
        self._constraints = list(config_constraints) if config_constraints else None
        self._options: dict[str, Any] = {
            "cat_hp_cost": cat_hp_cost,
            "time_budget_s": time_budget_s,
            "num_samples": num_samples,
            "resource_attr": resource_attr,
            "min_resource": min_resource,
            "max_resource": max_resource,
            "reduction_factor": reduction_factor,
            "global_search_alg": global_search_alg,
            "metric_constraints": metric_constraints,
            "seed": seed,
            "cost_attr": cost_attr,
            "cost_budget": cost_budget,
            "experimental": experimental,
            "lexico_objectives": lexico_objectives,
            "use_incumbent_result_in_evaluation": use_incumbent_result_in_evaluation,
            "allow_empty_config": allow_empty_config,
        }
        self.seed = seed
        self._tunelab_space: TunelabFlamlSpace | None = None
        self._native_space: dict[str, Any] | None = None
        if space is not None:
            self._set_space(space)
        self._searcher: Any = None
        self._live: dict[str, dict[str, Any]] = {}  # trial id -> FLAML's configuration

    # -- space ----------------------------------------------------------------------------
    def _set_space(self, space: Any) -> None:
        if not isinstance(space, dict) or not space:
            raise TypeError(
                f"`space` of {self.where} must be a non-empty dict of tunelab or flaml.tune "
                f"domains, got {space!r}"
            )
        if has_searchable(space):
            self._tunelab_space = TunelabFlamlSpace(space, self._sample, self.where)
        elif has_flaml_domain(space, self._sample):
            self._native_space = space
        else:
            raise TypeError(
                f"`space` of {self.where} must hold tunelab domains (tune.uniform, ...) or "
                f"flaml.tune domains, got {space!r}"
            )

    def _has_space(self) -> bool:
        return self._tunelab_space is not None or self._native_space is not None

    def _use_config(self, config: dict[str, Any]) -> None:
        self._set_space(config)

    def _decode(self, config: dict[str, Any]) -> dict[str, Any]:
        if self._tunelab_space is not None:
            return self._tunelab_space.decode(config)
        decoded: dict[str, Any] = pythonize(config)
        return decoded

    def _encode(self, point: dict[str, Any]) -> dict[str, Any]:
        if self._tunelab_space is not None:
            return self._tunelab_space.encode_point(point)
        copied: dict[str, Any] = copy_tree(point)
        return copied

    def _get_searcher(self) -> Any:
        if self._searcher is None:
            space = (
                self._tunelab_space.space
                if self._tunelab_space is not None
                else copy_tree(self._native_space)
            )
            constraints = self._constraints
            if constraints and self._tunelab_space is not None:
                decode = self._decode
                constraints = [
                    (_decoded(function, decode), sign, bound)
                    for function, sign, bound in constraints
                ]
            points = [self._encode(p) for p in self._points]
            low_cost = self._encode(self._low_cost) if self._low_cost else None
            try:
                self._searcher = self._flaml_class(
                    metric=self.metric,
                    mode=self.mode,
                    space=space,
                    low_cost_partial_config=low_cost,
                    points_to_evaluate=points or None,
                    evaluated_rewards=self._rewards,
                    config_constraints=constraints,
                    **self._options,
                )
            except ImportError as exc:  # optuna, for BlendSearch's global search
                raise ExtraNotInstalledError(
                    type(self).__name__, "flaml", getattr(exc, "name", None) or "optuna"
                ) from exc
            self._points, self._rewards = [], None
        return self._searcher

    _BUDGET_KEYS = ("time_budget_s", "num_samples", "metric_target")

    def set_search_properties(  # type: ignore[override]
        self,
        metric: str | None = None,
        mode: str | None = None,
        config: dict[str, Any] | None = None,
        **spec: Any,
    ) -> bool:
        """As for any searcher; also FLAML's keywords (all optional), and its budget settings
        ``time_budget_s``/``num_samples``/``metric_target`` given as ``spec`` or, as Ray
        Tune 1.x's example does, as a ``config`` that holds nothing else.

        Args:
            metric: The run's ``metric``.
            mode: The run's ``mode``.
            config: The experiment's config (or only FLAML's budget settings).
            **spec: Further properties; ``time_budget_s``, ``num_samples`` and
                ``metric_target`` are passed to FLAML.

        Returns:
            ``True`` when the searcher took ``config`` as its space.
        """
        config = dict(config or {})
        if config and set(config) <= set(self._BUDGET_KEYS) and not has_searchable(config):
            spec = {**config, **spec}
            config = {}
        budget = {k: v for k, v in spec.items() if k in self._BUDGET_KEYS}
        if budget:
            if self._searcher is not None:
                self._searcher.set_search_properties(**budget)
            else:
                self._options.update(
                    {k: v for k, v in budget.items() if k in ("time_budget_s", "num_samples")}
                )
        return super().set_search_properties(metric, mode, config, **spec)

    # -- searching ------------------------------------------------------------------------
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        self._check_ready()
        searcher = self._get_searcher()
        config = None
        for _ in range(_RETRIES if not self._live else 1):
            config = searcher.suggest(trial_id)
            if config is not None:
                break
        if isinstance(config, str) and config == Searcher.FINISHED:
            return Searcher.FINISHED
        if config is None:
            # nothing now; with no trial running nothing will change FLAML's mind
            return None if self._live else Searcher.FINISHED
        self._live[trial_id] = config
        return self._decode(config)

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        config = self._live.get(trial_id)
        if config is None or self._searcher is None:
            return
        value = objective_value(result, self.metric)
        if value is None or not is_finite_number(value):
            return
        self._searcher.on_trial_result(trial_id, {**result, "config": config})

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        config = self._live.pop(trial_id, None)
        if config is None or self._searcher is None:
            return
        value = finite_objective(result, self.metric, error)
        if value is None:
            # FLAML learns nothing from it (and forgets the configuration it reserved)
            self._searcher.on_trial_complete(trial_id, {"config": config}, error=True)
            return
        self._searcher.on_trial_complete(trial_id, {**(result or {}), "config": config})

    # -- state ----------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """FLAML's searcher and the live configurations, pickled together (signed with the
        experiment's key when saved for resume, see :mod:`tunelab._trust`)."""
        payload = {
            "searcher": self._searcher,
            "live": copy_tree(self._live),
            "points": copy_tree(self._points),
            "rewards": self._rewards,
        }
        return {"version": _STATE_VERSION, "pickle": _trust.dumps_signed(payload)}

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`get_state`. On resume the pickle is unpickled only when its
        signature checks out (:class:`tunelab._trust.TrustError` otherwise, before anything
        changes)."""
        self._check_state_version(state, _STATE_VERSION)
        payload = _trust.loads_signed(state["pickle"], f"pickled FLAML {self._flaml_name}")
        if payload["searcher"] is not None:
            self._searcher = payload["searcher"]
        self._live = dict(payload["live"])
        self._points = list(payload["points"])
        self._rewards = payload["rewards"]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(metric={self.metric!r}, mode={self.mode!r}, seed={self.seed})"
        )


def _decoded(
    function: Callable[[dict[str, Any]], float], decode: Callable[[dict[str, Any]], dict[str, Any]]
) -> Callable[[dict[str, Any]], float]:
    def constraint(config: dict[str, Any]) -> float:
        return function(decode(config))

    return constraint


class BlendSearch(_FlamlSearcher):
    """FLAML's BlendSearch: a local search (CFO) blended with a global one (Optuna's TPE),
    economical with costly trials (``pip install "tunelab[flaml]"``).

    The arguments are FLAML's (Ray Tune 1.x re-exported FLAML's own class); this tunelab
    searcher wraps FLAML's. Categories may be any values; normal distributions cannot be
    searched. Failed trials, and trials without the metric or with a NaN/infinite value,
    teach FLAML nothing. When FLAML has nothing to suggest and no trial is running, the
    search ends (``Searcher.FINISHED``), possibly before ``num_samples``.
    ``get_state``/``set_state`` pickle FLAML's searcher (signed for resume).

    Args:
        metric: The result key to optimize. ``None``: the run's ``metric``.
        mode: ``"min"`` or ``"max"``. ``None``: the run's ``mode``.
        space: Tunelab domains (also accepted through ``param_space``/``config``, not both)
            or ``flaml.tune`` domains. ``None`` (default): the run's config.
        low_cost_partial_config: Where the local search starts: values of the parameters
            whose cost grows with them, at their cheap end (``{"n_estimators": 4}``).
            ``None`` (default): no cost information.
        cat_hp_cost: Relative costs of the categories of categorical parameters
            (``{"tree_method": [1, 1, 2]}``). ``None`` (default): equal costs.
        points_to_evaluate: Configs to start from. ``None`` (default): none.
        evaluated_rewards: Metric values of the first ``len(evaluated_rewards)`` points of
            ``points_to_evaluate``: those are told to FLAML instead of being run; the
            other points are run. ``None`` (default): run every point.
        time_budget_s: The time budget (seconds) FLAML plans its search for. ``None``
            (default): none.
        num_samples: The number of trials FLAML plans for (``-1``: no limit). ``None``
            (default): none.
        resource_attr: For multi-fidelity search: the config key of the resource (e.g. the
            sample size), searched between ``min_resource`` and ``max_resource``.
        min_resource: The smallest resource value.
        max_resource: The largest resource value (where results count fully).
        reduction_factor: The ratio between successive resource values.
        global_search_alg: A FLAML searcher for the global part. ``None`` (default):
            Optuna's TPE.
        config_constraints: ``[(function, "<=" or ">=", bound), ...]``: configurations
            whose ``function(config)`` breaks a constraint are not tried.
        metric_constraints: ``[(metric, "<=" or ">=", bound), ...]`` on reported metrics.
        seed: FLAML's random seed (default 20).
        cost_attr: The result key that measures a trial's cost (``"auto"``, the default:
            FLAML chooses; ``None``: costs are ignored).
        cost_budget: The total cost budget, in units of ``cost_attr``.
        experimental: Use FLAML's experimental features (default ``False``).
        lexico_objectives: Lexicographic multi-objective settings (``metrics``,
            ``modes``, ``tolerances``, ``targets``); replaces ``metric``/``mode``.
        use_incumbent_result_in_evaluation: FLAML's switch of the same name (default
            ``False``).
        allow_empty_config: Accept a space with nothing to search (default ``False``).

    Raises:
        ImportError: FLAML (or, for BlendSearch, Optuna) is not installed.
        TypeError: ``low_cost_partial_config``, ``cat_hp_cost`` or ``lexico_objectives`` is
            not a dict, ``seed`` is not an int, ``points_to_evaluate`` is not a list of
            dicts, or ``evaluated_rewards`` does not hold numbers.
        ValueError: More ``evaluated_rewards`` than points.
    """

    _flaml_name = "BlendSearch"
    where = "BlendSearch()"
    needs_optuna = True


class CFO(_FlamlSearcher):
    """FLAML's CFO (cost-frugal optimization): BlendSearch's local search alone
    (``pip install "tunelab[flaml]"``; no Optuna needed).

    CFO starts from ``low_cost_partial_config`` and moves towards costlier configurations
    only when they improve the metric. It takes the same arguments as
    :class:`BlendSearch`, and behaves the same way with failed trials, missing values and
    resume.

    Args:
        metric: The result key to optimize. ``None``: the run's ``metric``.
        mode: ``"min"`` or ``"max"``. ``None``: the run's ``mode``.
        space: Tunelab domains (or through ``param_space``/``config``) or ``flaml.tune``
            domains. ``None`` (default): the run's config.
        low_cost_partial_config: Where the search starts: the cheap end of costly
            parameters.
        cat_hp_cost: Relative costs of the categories of categorical parameters.
        points_to_evaluate: Configs to start from.
        evaluated_rewards: Metric values of the first points of ``points_to_evaluate``
            (told instead of run).
        time_budget_s: The time budget (seconds) CFO plans for.
        num_samples: The number of trials CFO plans for.
        resource_attr: The config key of the resource, for multi-fidelity search.
        min_resource: The smallest resource value.
        max_resource: The largest resource value.
        reduction_factor: The ratio between successive resource values.
        global_search_alg: Accepted as FLAML's CFO accepts it; CFO suggests from its
            local search only.
        config_constraints: ``[(function, "<=" or ">=", bound), ...]`` on configurations.
        metric_constraints: ``[(metric, "<=" or ">=", bound), ...]`` on reported metrics.
        seed: The random seed (default 20).
        cost_attr: The result key that measures a trial's cost (default ``"auto"``).
        cost_budget: The total cost budget.
        experimental: Use FLAML's experimental features (default ``False``).
        lexico_objectives: Lexicographic multi-objective settings (supported by CFO).
        use_incumbent_result_in_evaluation: FLAML's switch of the same name.
        allow_empty_config: Accept a space with nothing to search (default ``False``).

    Raises:
        ImportError: FLAML is not installed.
        TypeError: As for :class:`BlendSearch`.
        ValueError: More ``evaluated_rewards`` than points.
    """

    _flaml_name = "CFO"
    where = "CFO()"
    needs_optuna = False
