"""PB2: Population Based Bandits (Parker-Holder et al., 2020).

PB2 is PBT whose explore step is a GP bandit instead of random perturbation: every time a
trial passes a perturbation point, PB2 records how fast its score improved over the interval
with the hyperparameters it used; when a bottom-quantile trial clones a top one, its new
hyperparameters (within ``hyperparam_bounds``) maximise a GP upper confidence bound of that
improvement at the current time, away from what the other trials are running now (see
:mod:`._pb2_gp`). Exploit, quantiles, checkpoints, ``synch``, the policy log and state work
as in :class:`~tunelab.schedulers.PopulationBasedTraining`.

Needs numpy and scipy: ``pip install "tunelab[pb2]"``.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tunelab._errors import require
from tunelab.schedulers._pbt import PopulationBasedTraining, _TrialState
from tunelab.schedulers._pbt_explore import format_changes
from tunelab.schedulers._pbt_policy import PolicyLog

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = ["PB2"]

#: observations kept for the GP (the most recent; fitting is cubic in their number)
MAX_OBSERVATIONS = 100

Bound = tuple[tuple[str, ...], float, float]


def _flatten_bounds(bounds: Any, prefix: tuple[str, ...] = ()) -> list[Bound]:
    if not isinstance(bounds, Mapping):
        raise TypeError(
            "PB2: hyperparam_bounds must be a dict of key -> [lower, upper] (nested dicts "
            f"allowed), got {bounds!r}"
        )
    out: list[Bound] = []
    for key, value in bounds.items():
        path = (*prefix, key)
        name = "hyperparam_bounds[" + "][".join(repr(p) for p in path) + "]"
        if not isinstance(key, str):
            raise TypeError(f"PB2: hyperparam_bounds keys must be strings, got {key!r}")
        if isinstance(value, Mapping):
            out.extend(_flatten_bounds(value, path))
            continue
        if (
            not isinstance(value, list | tuple)
            or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, numbers.Real) for v in value)
        ):
            raise TypeError(f"PB2: {name} must be [lower, upper] (two numbers), got {value!r}")
        lo, hi = float(value[0]), float(value[1])
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"PB2: {name} needs finite lower < upper, got {value!r}")
        out.append((path, lo, hi))
    return out


def _get(config: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = config
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _set(config: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = config
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = value


class PB2(PopulationBasedTraining):
    """Population Based Bandits (Parker-Holder et al., 2020): PBT with a GP-bandit explore.

    PB2 is :class:`PopulationBasedTraining` whose explore step is a Gaussian-process
    bandit instead of random perturbation: every time a trial passes a perturbation point,
    PB2 records how fast its score improved over the interval with the hyperparameters it
    used; when a bottom-quantile trial clones a top one, its new hyperparameters (within
    ``hyperparam_bounds``) maximise an upper confidence bound of that improvement at the
    current time, away from what the other trials run now. Until two observations exist,
    values are drawn uniformly. It is meant for small populations, where PBT's random
    perturbations cover little ground, and tunes only numeric values within bounds.

    Exploit, quantiles, checkpoints, ``synch``, time-sharing, the policy files and the
    saved state work as in :class:`PopulationBasedTraining`. A value whose current value
    is an int and whose bounds are ints stays an int. Keys a new trial's config lacks are
    drawn uniformly within their bounds. Needs numpy and scipy: ``pip install
    "tunelab[pb2]"``.

    Args:
        time_attr: The result key that measures training progress (default
            ``"time_total_s"``); it must increase from result to result.
        metric: The result key to rank trials by. None: the run's ``metric``.
        mode: ``"min"`` or ``"max"``. None: the run's ``mode``.
        perturbation_interval: How much ``time_attr`` passes between two perturbations of
            a trial (> 0).
        hyperparam_bounds: Required: ``{key: [lower, upper]}`` (two finite numbers, lower
            below upper; nested dicts for nested config keys). These keys are the ones PB2
            changes.
        quantile_fraction: The fraction of the population in the top and in the bottom
            quantile (0 to 0.5).
        log_config: True: write ``pbt_global.txt`` and ``pbt_policy_<trial_id>.txt`` as
            PBT does. False: write nothing.
        require_attrs: True: a result without ``time_attr`` or ``metric`` raises
            :class:`~tunelab.TuneError`. False: such results are ignored.
        synch: True: the population waits at each perturbation point for its slowest live
            member. False: each trial is perturbed at its own pace.
        custom_explore_fn: ``fn(config) -> config``, applied after the bandit's choice.
            None: no extra step.
        seed: The random state of every choice: an int, or None for fresh entropy.
            tunelab addition.
        policy_log: Where exploits are recorded (as for :class:`PopulationBasedTraining`).
            None: the files in the experiment directory. tunelab addition.

    Raises:
        ImportError: numpy or scipy is missing (the message names the extra).
        TypeError: ``hyperparam_bounds`` is not a dict of string keys to two numbers, or
            another argument has the wrong type (as for :class:`PopulationBasedTraining`).
        ValueError: ``hyperparam_bounds`` is missing or empty, a bound is not finite or
            its lower value is not below its upper one, or another argument is out of its
            range.
    """

    _owner = "PB2"

    def __init__(
        self,
        time_attr: str = "time_total_s",
        metric: str | None = None,
        mode: str | None = None,
        perturbation_interval: float = 60.0,
        hyperparam_bounds: dict[str, Any] | None = None,
        quantile_fraction: float = 0.25,
        log_config: bool = True,
        require_attrs: bool = True,
        synch: bool = False,
        custom_explore_fn: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        *,
        seed: int | None = None,
        policy_log: PolicyLog | None = None,
    ) -> None:
        if not hyperparam_bounds:
            raise ValueError(
                "PB2: hyperparam_bounds is required: a dict of key -> [lower, upper], got "
                f"{hyperparam_bounds!r}"
            )
        self._bounds = _flatten_bounds(hyperparam_bounds)
        require("numpy", extra="pb2", feature="PB2")
        require("scipy", extra="pb2", feature="PB2")
        from tunelab.search._domain import Float

        mutations: dict[str, Any] = {}
        for path, lo, hi in self._bounds:
            _set(mutations, path, Float(lo, hi).uniform())
        super().__init__(
            time_attr=time_attr,
            metric=metric,
            mode=mode,
            perturbation_interval=perturbation_interval,
            hyperparam_mutations=mutations,
            quantile_fraction=quantile_fraction,
            log_config=log_config,
            require_attrs=require_attrs,
            synch=synch,
            custom_explore_fn=custom_explore_fn,
            seed=seed,
            policy_log=policy_log,
        )
        self.hyperparam_bounds = copy.deepcopy(hyperparam_bounds)
        #: observations: [time, [x...], improvement per unit of time]
        self._observations: list[list[Any]] = []
        #: per trial: (time, score) at the start of its current interval
        self._interval_start: dict[str, tuple[float, float]] = {}

    def debug_string(self) -> str:
        return f"PB2: {self._num_perturbations} perturbs, {len(self._observations)} observations"

    # -- scaling -------------------------------------------------------------------------------
    def _vector(self, config: Mapping[str, Any]) -> list[float] | None:
        out = []
        for path, lo, hi in self._bounds:
            value = _get(config, path)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                return None
            out.append(min(max((float(value) - lo) / (hi - lo), 0.0), 1.0))
        return out

    # -- data ----------------------------------------------------------------------------------
    def _record_score(
        self, trial: Trial, state: _TrialState, now: float, result: dict[str, Any]
    ) -> None:
        super()._record_score(trial, state, now, result)
        score = state.last_score
        if score is None:
            return
        start = self._interval_start.get(trial.trial_id)
        x = self._vector(trial.config)
        if start is not None and x is not None and now > start[0]:
            rate = (score - start[1]) / (now - start[0])
            if math.isfinite(rate):
                self._observations.append([now, x, rate])
                del self._observations[:-MAX_OBSERVATIONS]
        self._interval_start[trial.trial_id] = (now, score)

    def _note_exploit(
        self, trial: Trial, state: _TrialState, donor: Trial, new_config: dict[str, Any]
    ) -> None:
        super()._note_exploit(trial, state, donor, new_config)
        donor_score = self._states[donor.trial_id].last_score
        if donor_score is not None:
            self._interval_start[trial.trial_id] = (state.last_perturbation_time, donor_score)

    # -- explore -------------------------------------------------------------------------------
    def _explore_for(self, trial: Trial, donor: Trial) -> tuple[dict[str, Any], str]:
        x = self._select(trial)
        new_config = copy.deepcopy(donor.config)
        changes: dict[str, Any] = {}
        for (path, lo, hi), unit in zip(self._bounds, x):
            value: Any = lo + unit * (hi - lo)
            old = _get(donor.config, path)
            if isinstance(old, int) and not isinstance(old, bool) and lo.is_integer():
                value = min(max(round(value), int(lo)), math.floor(hi))
            _set(new_config, path, value)
            changes["/".join(path)] = value
        if self.custom_explore_fn is not None:
            result = self.custom_explore_fn(new_config)
            if not isinstance(result, dict):
                raise TypeError(
                    "custom_explore_fn must return the (modified) config dict, got "
                    f"{type(result).__name__}: {result!r}"
                )
            new_config = result
        return new_config, format_changes(changes)

    def _select(self, trial: Trial) -> list[float]:
        """The next hyperparameters of ``trial`` in [0, 1]^d."""
        d = len(self._bounds)
        if len(self._observations) < 2:
            return [self._rng.random() for _ in range(d)]
        np = require("numpy", extra="pb2", feature="PB2")
        scipy = require("scipy", extra="pb2", feature="PB2")
        from tunelab.schedulers._pb2_gp import select_next

        pending = []
        for tid, other in self._trials.items():
            if tid == trial.trial_id or tid in self._finished:
                continue
            x = self._vector(other.config)
            if x is not None:
                pending.append(x)
        now = self._states[trial.trial_id].last_train_time
        times = [float(o[0]) for o in self._observations]
        return select_next(
            np,
            scipy,
            times,
            [list(o[1]) for o in self._observations],
            [float(o[2]) for o in self._observations],
            pending,
            max(now, max(times)),
            self._rng.getrandbits(32),
        )

    # -- state ---------------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["observations"] = [list(o) for o in self._observations]
        state["interval_start"] = {k: list(v) for k, v in self._interval_start.items()}
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        if not state:
            return
        self._observations = [list(o) for o in state.get("observations", [])]
        self._interval_start = {
            k: (float(v[0]), float(v[1])) for k, v in state.get("interval_start", {}).items()
        }
