"""TuneBOHB: the model-based half of BOHB (Falkner et al., 2018), written for tunelab.

BOHB pairs HyperBand's budgets with a TPE-like model: for each budget it keeps the results
observed at that budget; once a budget has enough of them, the best ``top_n_percent`` and
the rest are modelled by two kernel densities ``l(x)`` and ``g(x)``, and new configurations
are those maximizing ``l(x) / g(x)`` among ``num_samples`` draws from a widened ``l``. The
model of the largest budget that has one is used. This is an independent implementation (no
hpbandster/ConfigSpace); it needs numpy (``pip install "tunelab[bohb]"``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from tunelab._errors import require
from tunelab._legacy_args import check_max_concurrent, resolve_reward_attr
from tunelab.search._convert import (
    LibrarySearcher,
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
from tunelab.search.bohb._configspace import (
    configspace_seed,
    from_configspace,
    is_configspace,
    nest,
    to_configspace,
)
from tunelab.search.bohb._kde import Encoder, KernelDensity

__all__ = ["TuneBOHB"]

logger = logging.getLogger("tunelab.search")

_STATE_VERSION = 1
_DEFAULTS: dict[str, Any] = {
    "min_points_in_model": None,
    "top_n_percent": 15,
    "num_samples": 64,
    "random_fraction": 1 / 3,
    "bandwidth_factor": 3.0,
    "min_bandwidth": 1e-3,
}
_TIME_ATTR = "training_iteration"


class TuneBOHB(LibrarySearcher):
    """BOHB's search: a kernel-density model per budget (pair with ``HyperBandForBOHB``).

    Needs numpy (``pip install "tunelab[bohb]"``); no hpbandster or ConfigSpace. A result
    whose ``hyperband_info`` holds a ``budget`` (as
    :class:`~tunelab.schedulers.HyperBandForBOHB` adds) is an observation at that budget; the
    final result of every trial is one at its budget (else at its ``training_iteration``,
    else at budget 1). A trial's later result at the same budget replaces its earlier one.
    Failed trials, and trials whose last result lacks the metric, count as the worst result
    at their budget. New configurations come from the model of the largest budget that has
    one.

    Args:
        space: A tunelab space (also accepted through ``param_space``/``config``, not both),
            or a ``ConfigSpace.ConfigurationSpace`` as Ray Tune's TuneBOHB took (converted
            to the tunelab domains of the same laws; its ``"a/b"`` names become nested
            keys). ``None`` (default): the run's config.
        bohb_config: The model's settings, each optional: ``min_points_in_model`` (default:
            the number of parameters + 1; a budget gets a model once both its good and its
            bad set hold that many results), ``top_n_percent`` (15: the share of results
            modelled as good), ``num_samples`` (64 candidates per suggestion),
            ``random_fraction`` (1/3 of suggestions are random), ``bandwidth_factor`` (3,
            widening of the candidate draws), ``min_bandwidth`` (1e-3).
        metric: The result key to optimize. ``None``: the run's ``metric``.
        mode: ``"min"`` or ``"max"``. ``None``: the run's ``mode``.
        points_to_evaluate: Configs to run first, full or partial (missing values drawn at
            random). ``None`` (default): none.
        seed: Makes the search reproducible. ``None`` (default): a ConfigurationSpace's own
            seed when it has one (``cs.seed(n)``, as in Ray Tune), else unseeded.
        max_concurrent: Caps running trials; trials paused by the scheduler do not count.
            ``0`` (default) or ``None``: no limit. A
            :class:`~tunelab.search.ConcurrencyLimiter` around the searcher sets it.
        reward_attr: 0.5-0.7 spelling: ``metric=reward_attr, mode="max"``.

    Raises:
        ImportError: numpy is not installed.
        TypeError: ``bohb_config`` is not a dict, ``space`` is of another kind, or ``seed``
            is not an int.
        ValueError: ``bohb_config`` has an unknown key or a value out of range, ``space``
            holds nothing to search, or ``seed`` is negative.
    """

    where = "TuneBOHB()"

    def __init__(
        self,
        space: Any = None,
        bohb_config: dict[str, Any] | None = None,
        metric: str | None = None,
        mode: str | None = None,
        points_to_evaluate: list[dict[str, Any]] | None = None,
        seed: int | None = None,
        max_concurrent: int | None = 0,
        *,
        reward_attr: str | None = None,
    ) -> None:
        self._np = require("numpy", extra="bohb", feature="TuneBOHB")
        metric, mode = resolve_reward_attr(self.where, reward_attr, metric, mode)
        super().__init__(metric=metric, mode=mode)
        self.bohb_config = self._check_config(bohb_config)
        check_seed(seed, "seed", self.where)
        self.max_concurrent = check_max_concurrent(self.where, max_concurrent)
        self._points = check_points(points_to_evaluate, self.where)
        self._config: dict[str, Any] = {}
        self._specs: list[ParamSpec] | None = None
        self._encoder: Encoder | None = None
        #: ConfigSpace ``Constant`` values, part of every suggestion (as Ray Tune's were)
        self._constants: dict[str, Any] = {}
        if space is not None:
            if is_configspace(space):
                if seed is None:  # as Ray: cs.seed(n) makes the search reproducible
                    seed = configspace_seed(space)
                flat = from_configspace(space, self.where)
                self._constants = nest({k: v for k, v in flat.items() if not has_searchable([v])})
                space = nest(flat)  # "b/x" names are nested keys, as Ray's suggestions
            if not isinstance(space, dict):
                raise TypeError(
                    f"`space` of {self.where} must be a dict tunelab search space (tune.uniform, "
                    f"tune.choice, ...) or a ConfigSpace.ConfigurationSpace, got {space!r}"
                )
            if not has_searchable(space):
                raise ValueError(f"`space` of {self.where} holds no domain to search: {space!r}")
            self._set_space(space)
        self.seed = check_seed(seed, "seed", self.where)
        self._rng = self._np.random.default_rng(self.seed)
        self._observations: dict[float, dict[str, tuple[list[float], float]]] = {}
        self._models: dict[float, tuple[KernelDensity, KernelDensity]] = {}
        self._stale: set[float] = set()
        self._live: dict[str, list[float]] = {}
        self._running: set[str] = set()
        self._paused: set[str] = set()

    def _check_config(self, config: Any) -> dict[str, Any]:
        if config is None:
            return dict(_DEFAULTS)
        if not isinstance(config, dict):
            raise TypeError(f"`bohb_config` of {self.where} must be a dict, got {config!r}")
        unknown = sorted(set(config) - set(_DEFAULTS))
        if unknown:
            raise ValueError(
                f"`bohb_config` of {self.where} has unknown keys {unknown}; allowed: "
                f"{sorted(_DEFAULTS)}"
            )
        merged = {**_DEFAULTS, **config}
        rules: dict[str, Callable[[Any], bool]] = {
            "min_points_in_model": lambda v: v is None or (_is_int(v) and v >= 1),
            "top_n_percent": lambda v: _is_number(v) and 0 < v < 100,
            "num_samples": lambda v: _is_int(v) and v >= 1,
            "random_fraction": lambda v: _is_number(v) and 0 <= v <= 1,
            "bandwidth_factor": lambda v: _is_number(v) and v > 0,
            "min_bandwidth": lambda v: _is_number(v) and v > 0,
        }
        allowed = {
            "min_points_in_model": "None or an int >= 1",
            "top_n_percent": "a number in (0, 100)",
            "num_samples": "an int >= 1",
            "random_fraction": "a number in [0, 1]",
            "bandwidth_factor": "a number > 0",
            "min_bandwidth": "a number > 0",
        }
        for key, ok in rules.items():
            if not ok(merged[key]):
                raise ValueError(
                    f"`bohb_config[{key!r}]` of {self.where} must be {allowed[key]}, "
                    f"got {merged[key]!r}"
                )
        return merged

    # -- space ----------------------------------------------------------------------------
    @staticmethod
    def convert_search_space(spec: dict[str, Any]) -> Any:
        """A tunelab search space as a ``ConfigSpace.ConfigurationSpace``, as Ray Tune's
        method of the same name.

        Needs the ConfigSpace package; TuneBOHB itself takes the tunelab space directly
        (``space=spec``). ConfigSpace has no quantization (``q`` is dropped with a logged
        warning).

        Args:
            spec: A tunelab search space.

        Returns:
            A ``ConfigurationSpace`` with one hyperparameter per searched domain, named by
            its path (``"b/x"``; TuneBOHB nests such names again in its suggestions).

        Raises:
            ImportError: ConfigSpace is not installed.
            TypeError: ``spec`` is not a dict.
            ValueError: ``spec`` holds a ``grid_search`` or a normal law.
        """
        return to_configspace(spec, "TuneBOHB.convert_search_space()")

    def _set_space(self, config: dict[str, Any]) -> None:
        self._config = copy_tree(config)
        self._specs = parse_space(self._config, self.where)
        self._encoder = Encoder(self._specs)

    _space_attributes = ("_config", "_specs", "_encoder", "_constants")

    def _has_space(self) -> bool:
        return self._encoder is not None

    def _use_config(self, config: dict[str, Any]) -> None:
        self._set_space(config)

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        self.max_concurrent = max_concurrent
        return True

    @property
    def min_points(self) -> int:
        configured = self.bohb_config["min_points_in_model"]
        dims = self._encoder.dims if self._encoder is not None else 0
        return int(configured) if configured is not None else dims + 1

    # -- searching ------------------------------------------------------------------------
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        self._check_ready()
        assert self._encoder is not None and self._specs is not None
        if self.max_concurrent and len(self._running) >= self.max_concurrent:
            return None
        fixed: dict[Any, Any] = {}
        if self._points:
            flat, fixed = point_values(self._points.pop(0), self._specs, self._config, self.where)
            random_values = self._encoder.decode(self._encoder.random(self._rng))
            values = {**random_values, **flat}
            vector = self._encoder.encode(values)
        else:
            vector = self._propose()
            values = self._encoder.decode(vector)
        self._live[trial_id] = vector
        self._running.add(trial_id)
        by_path = {spec.path: values[spec.name] for spec in self._specs}
        suggestion = build_suggestion(self._config, by_path)
        if self._constants:
            suggestion = merge_suggestion(self._constants, suggestion)
        if fixed:
            suggestion = merge_suggestion(suggestion, build_suggestion(self._config, fixed))
        return suggestion

    def _propose(self) -> list[float]:
        assert self._encoder is not None
        config = self.bohb_config
        model = self._model()
        if model is None or self._rng.random() < config["random_fraction"]:
            return self._encoder.random(self._rng)
        good, bad = model
        candidates = good.sample(self._rng, int(config["num_samples"]), config["bandwidth_factor"])
        np = self._np
        score = np.maximum(good.pdf(candidates), 1e-32) / np.maximum(bad.pdf(candidates), 1e-32)
        best = candidates[int(np.argmax(score))]
        return [float(v) for v in best]

    def _model(self) -> tuple[KernelDensity, KernelDensity] | None:
        """The model of the largest budget that has one."""
        self._refit()
        return self._models[max(self._models)] if self._models else None

    def _refit(self) -> None:
        for budget in sorted(self._stale):
            fitted = self._fit(budget)
            if fitted is None:
                self._models.pop(budget, None)
            else:
                self._models[budget] = fitted
        self._stale.clear()

    def _fit(self, budget: float) -> tuple[KernelDensity, KernelDensity] | None:
        assert self._encoder is not None
        observed = sorted(self._observations[budget].values(), key=lambda item: item[1])
        minimum = self.min_points
        n_good = max(minimum, int(self.bohb_config["top_n_percent"] * len(observed) / 100))
        if len(observed) - n_good < minimum:
            return None
        cards = self._encoder.cardinalities
        minimum_bw = float(self.bohb_config["min_bandwidth"])
        # Numeric bandwidths stay above 1 / (observations + 1) (down to 1/100): a few
        # near-identical good results would otherwise collapse the model onto one spot.
        floor = 1.0 / min(100, len(observed) + 1)
        good_data = [v for v, _ in observed[:n_good]]
        bad_data = [v for v, _ in observed[n_good:]]
        good = KernelDensity(self._np, good_data, cards, minimum_bw, floor)
        bad = KernelDensity(self._np, bad_data, cards, minimum_bw, floor)
        return good, bad

    def model_budgets(self) -> list[float]:
        """Budgets that currently have a fitted model (for inspection and tests)."""
        self._refit()
        return sorted(self._models)

    # -- results --------------------------------------------------------------------------
    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        budget = _hyperband_budget(result)
        vector = self._live.get(trial_id)
        if budget is not None and vector is not None:
            self._observe(trial_id, budget, vector, objective_value(result, self.metric))

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        self._running.discard(trial_id)
        self._paused.discard(trial_id)
        vector = self._live.pop(trial_id, None)
        if vector is None:
            return
        budget = _hyperband_budget(result or {})
        if budget is None:
            iteration: Any = (result or {}).get(_TIME_ATTR)
            budget = float(iteration) if _is_number(iteration) else 1.0
        value = None if error else objective_value(result, self.metric)
        self._observe(trial_id, budget, vector, value)

    def _observe(
        self, trial_id: str, budget: float, vector: list[float], value: float | None
    ) -> None:
        loss = math.inf if value is None else self._sign() * value
        self._observations.setdefault(budget, {})[trial_id] = (vector, loss)
        self._stale.add(budget)

    def on_pause(self, trial_id: str) -> None:
        """The scheduler paused the trial: it no longer counts against ``max_concurrent``.

        Args:
            trial_id: The paused trial's id (others are ignored).
        """
        if trial_id in self._running:
            self._running.discard(trial_id)
            self._paused.add(trial_id)

    def on_unpause(self, trial_id: str) -> None:
        """A paused trial runs again (it counts against ``max_concurrent`` again).

        Args:
            trial_id: The trial's id (ids of trials not paused are ignored).
        """
        if trial_id in self._paused:
            self._paused.discard(trial_id)
            self._running.add(trial_id)

    def add_evaluated_point(
        self,
        parameters: dict[str, Any],
        value: float,
        error: bool = False,
        pruned: bool = False,
        intermediate_values: list[float] | None = None,
    ) -> None:
        """Record a configuration evaluated elsewhere, at budget ``len(intermediate_values)``
        (1 when not given).

        Args:
            parameters: A value for every searched parameter.
            value: Its metric value.
            error: ``True``: recorded as the worst result at its budget.
            pruned: Not used.
            intermediate_values: Only their number is used, as the budget.

        Raises:
            ValueError: ``parameters`` lacks a searched parameter or holds a value outside
                its domain.
            RuntimeError: The searcher has no space, metric or mode yet.
        """
        self._check_ready()
        assert self._encoder is not None and self._specs is not None
        flat, _ = point_values(parameters, self._specs, self._config, self.where)
        missing = sorted({s.name for s in self._specs} - set(flat))
        if missing:
            raise ValueError(f"{self.where}.add_evaluated_point(): `parameters` lacks {missing}")
        key = f"__evaluated_{sum(len(v) for v in self._observations.values())}"
        budget = float(len(intermediate_values)) if intermediate_values else 1.0
        self._observe(key, budget, self._encoder.encode(flat), None if error else float(value))

    # -- state ----------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The observations per budget, the random generator, the live, running and paused
        trials and the points still to run, as JSON."""
        return {
            "version": _STATE_VERSION,
            "rng": self._rng.bit_generator.state,
            "observations": [
                [budget, trial_id, vector, None if math.isinf(loss) else loss]
                for budget, seen in self._observations.items()
                for trial_id, (vector, loss) in seen.items()
            ],
            "live": dict(self._live),
            "running": sorted(self._running),
            "paused": sorted(self._paused),
            "points": pack_value(self._points),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`get_state` (the models are refitted from the observations).

        Args:
            state: What :meth:`get_state` returned.

        Raises:
            ValueError: ``state`` is not a state of this version.
        """
        self._check_state_version(state, _STATE_VERSION)
        self._rng.bit_generator.state = state["rng"]
        self._observations = {}
        for budget, trial_id, vector, loss in state["observations"]:
            entry = ([float(v) for v in vector], math.inf if loss is None else float(loss))
            self._observations.setdefault(float(budget), {})[str(trial_id)] = entry
        self._models = {}
        self._stale = set(self._observations)
        self._live = {str(k): [float(x) for x in v] for k, v in state["live"].items()}
        self._running = set(state["running"])
        self._paused = set(state["paused"])
        self._points = list(unpack_value(state["points"]))

    def __repr__(self) -> str:
        return (
            f"TuneBOHB(metric={self.metric!r}, mode={self.mode!r}, seed={self.seed!r}, "
            f"max_concurrent={self.max_concurrent}, bohb_config={self.bohb_config!r})"
        )


def _hyperband_budget(result: dict[str, Any]) -> float | None:
    info = result.get("hyperband_info")
    if isinstance(info, dict) and _is_number(info.get("budget")):
        return float(info["budget"])
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
