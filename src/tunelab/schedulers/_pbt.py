"""Population Based Training (``PopulationBasedTraining``); its replay lives in
:mod:`._pbt_replay` (re-exported here).

PBT trains a population of trials in parallel. Every ``perturbation_interval`` units of
``time_attr`` (after ``burn_in_period``) a trial is ranked against the other live trials by
their latest scores (finished trials take no part): a trial in the bottom
``quantile_fraction`` *exploits* a random trial of the top quantile (it continues from that
trial's checkpoint) and *explores* (its config is the donor's, mutated within
``hyperparam_mutations``, see :mod:`._pbt_explore`); a trial in the top quantile saves a
checkpoint (:attr:`Decision.SAVE`) so that it can be cloned.

Mechanics in tunelab: the exploit is a :class:`Reconfigure` decision (the controller ends the
trial's run and restarts it from the donor's checkpoint with the new config, appending
``@perturbed[...]`` to its tag). Only donors that have a persisted checkpoint are cloned.
Every result is a decision point (:meth:`decision_points` returns None).

``synch=True``: a trial reaching the next perturbation point is paused until every live
trial has reached it; then the bottom quantile of the paused population is exploited (asked
of the controller through ``runner.reconfigure_trial``: each restarts from a donor's
checkpoint with its explored config) and all of them resume (:meth:`choose_trial_to_run`).

The policy log (``pbt_global.txt``, ``pbt_policy_<trial_id>.txt``) is written through a
:class:`~._pbt_policy.PolicyLog` object (default: files in each trial's experiment
directory); nothing else here touches files. Randomness comes from ``seed``; the lineage,
perturbation times, scores and the random state are part of :meth:`get_state`.
"""

from __future__ import annotations

import copy
import logging
import math
import numbers
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tunelab._errors import TuneError
from tunelab._json import json_safe
from tunelab._legacy_args import resolve_reward_attr
from tunelab._trial import TrialStatus
from tunelab.schedulers._pbt_explore import (
    explore,
    fill_missing,
    format_changes,
    validate_factors,
    validate_mutations,
)
from tunelab.schedulers._pbt_policy import FilePolicyLog, PolicyLog
from tunelab.schedulers._pbt_replay import PopulationBasedTrainingReplay
from tunelab.schedulers._trial_scheduler import (
    Decision,
    DecisionPoints,
    FIFOScheduler,
    Reconfigure,
    RunnerView,
)

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = ["PopulationBasedTraining", "PopulationBasedTrainingReplay"]

logger = logging.getLogger("tunelab")

#: result time attributes -> the key of the same counter in a trial's checkpoint state
_CHECKPOINT_COUNTERS = {
    "training_iteration": "iteration",
    "time_total_s": "time_total",
    "timesteps_total": "timesteps_total",
    "episodes_total": "episodes_total",
}
_STATE_VERSION = 1


def _check_number(owner: str, name: str, value: Any, *, low: float, high: float = math.inf,
                  low_open: bool = False) -> float:  # fmt: skip
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number, got {value!r}")
    number = float(value)
    too_low = number <= low if low_open else number < low
    if math.isnan(number) or too_low or number > high:
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        if high != math.inf:
            bound += f" and <= {high:g}"
        raise ValueError(f"{owner}: {name} must be {bound}, got {value!r}")
    return number


def _check_bool(owner: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")
    return value


class _TrialState:
    """What PBT remembers of one trial."""

    __slots__ = ("last_perturbation_time", "last_score", "last_train_time", "lineage", "orig_tag")

    def __init__(self, orig_tag: str) -> None:
        self.orig_tag = orig_tag
        self.last_score: float | None = None
        self.last_perturbation_time = 0.0
        self.last_train_time = 0.0
        self.lineage: list[list[Any]] = []

    def to_state(self) -> dict[str, Any]:
        return {
            "orig_tag": self.orig_tag,
            "last_score": self.last_score,
            "last_perturbation_time": self.last_perturbation_time,
            "last_train_time": self.last_train_time,
            "lineage": json_safe(self.lineage),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> _TrialState:
        entry = cls(str(state.get("orig_tag", "")))
        entry.last_score = state.get("last_score")
        entry.last_perturbation_time = float(state.get("last_perturbation_time", 0.0))
        entry.last_train_time = float(state.get("last_train_time", 0.0))
        entry.lineage = [list(line) for line in state.get("lineage", [])]
        return entry


class PopulationBasedTraining(FIFOScheduler):
    """Population Based Training (Jaderberg et al., 2017): trials copy the best and mutate.

    A population of trials trains in parallel. Every ``perturbation_interval`` units of
    ``time_attr`` (after ``burn_in_period``) a trial is ranked against the other live
    trials by their latest scores. A trial in the bottom ``quantile_fraction`` *exploits* a
    random trial of the top quantile: it continues from that trial's latest checkpoint with
    that trial's config, *explored* (mutated within ``hyperparam_mutations``, then passed
    to ``custom_explore_fn``); its tag gets ``@perturbed[...]`` and the exploit is logged.
    A trial in the top quantile saves a checkpoint (``SAVE``) so that it can be cloned.
    Only donors that have a checkpoint are cloned. Every result is a decision point.

    How a mutation works, per key of ``hyperparam_mutations``: a list (or
    ``tune.choice``) value moves one step left or right in the list, or is drawn again
    from it with probability ``resample_probability`` (or when the current value is not in
    the list); a search-space domain (``tune.uniform``, ``tune.loguniform``,
    ``tune.randint``, ...) is multiplied by a factor drawn from ``perturbation_factors``
    (ints stay ints), clamped into the domain, or drawn again from the domain with
    probability ``resample_probability``; a callable is called for a new value with
    probability ``resample_probability``, else multiplied like a domain (not clamped).
    Keys a new trial's config lacks are sampled from their mutation spec.

    Trials need checkpoints: class trainables save when asked (``save_checkpoint``);
    function trainables must report them (``tune.report(..., checkpoint=...)``, every
    iteration or at least at each perturbation point) and load ``tune.get_checkpoint()``
    when they start. A population larger than the resources is time-shared, as in Ray
    Tune: at a perturbation point a trial pauses while other trials wait, and the waiting
    trial that has trained least runs next, so the whole population advances together
    (the controller creates up to 200 trials ahead of free resources for this).

    With ``synch=True``, a trial reaching the next perturbation point is paused until every
    live trial has reached it; then the bottom quantile of the paused population exploits
    the top one and all of them resume.

    Files: with ``log_config=True``, every exploit appends a line to ``pbt_global.txt`` in
    the experiment directory and rewrites ``pbt_policy_<trial_id>.txt`` (the exploited
    trial's lineage), the files :class:`PopulationBasedTrainingReplay` reads. A line is
    ``[target_tag, donor_tag, target_iteration, donor_iteration, donor_config,
    new_config]``.

    Args:
        time_attr: The result key that measures training progress (default
            ``"time_total_s"``, seconds of training); it must increase from result to
            result. ``"training_iteration"`` makes the schedule independent of speed.
        metric: The result key to rank trials by. None: the run's ``metric``.
        mode: ``"min"`` or ``"max"``. None: the run's ``mode``.
        perturbation_interval: How much ``time_attr`` passes between two perturbations of
            a trial (> 0). Make the trainable's checkpoint frequency divide it.
        burn_in_period: No perturbation before ``time_attr`` reaches it (>= 0).
        hyperparam_mutations: ``{key: spec}``: the config keys PBT may change and how; a
            spec is a list or tuple of values, a search-space domain (``tune.uniform``,
            ``tune.choice``, ...), a callable returning a value, or a nested dict of
            those. ``grid_search`` is not allowed. None or empty: ``custom_explore_fn``
            must be given.
        quantile_fraction: The fraction of the population in the top and in the bottom
            quantile (0 to 0.5). 0 disables exploits.
        resample_probability: The probability that a mutated value is drawn again from its
            spec instead of perturbed (0 to 1).
        perturbation_factors: The factors a numeric value is multiplied by, one drawn at
            random (positive numbers; default ``(1.2, 0.8)``).
        custom_explore_fn: ``fn(config) -> config``, applied to the mutated config (after
            ``hyperparam_mutations``); it must return the config dict. None: no extra step.
        log_config: True: write the policy files (see above). False: write nothing.
        require_attrs: True: a result without ``time_attr`` or ``metric`` raises
            :class:`~tunelab.TuneError`, which ends the run. False: such results are
            ignored (with one warning). (The run's own check of the metric comes first
            unless ``TUNELAB_DISABLE_STRICT_METRIC_CHECKING=1``.)
        synch: False (asynchronous PBT): each trial is perturbed at its own pace. True:
            the population waits at each perturbation point for its slowest live member.
        seed: The random state of every choice (donor, mutations, sampled keys): an int,
            or None for fresh entropy. tunelab addition.
        policy_log: Where exploits are recorded: an instance of a subclass of
            ``tunelab.schedulers._pbt_policy.PolicyLog`` (one method,
            ``record(experiment_path, trial_id, line, lineage)``). None: the files above.
            tunelab addition.
        reward_attr: 0.5-0.7 spelling: ``reward_attr=name`` means ``metric=name,
            mode="max"`` (with a ``FutureWarning``).

    Raises:
        TypeError: A parameter has the wrong type: ``metric`` or ``time_attr`` not a
            string, a number not a number, a flag not a bool, ``custom_explore_fn`` not
            callable, ``seed`` not an int, ``policy_log`` not a ``PolicyLog``, or
            ``hyperparam_mutations`` not a dict of string keys to lists, domains,
            callables or dicts.
        ValueError: ``mode`` is not ``"min"``/``"max"``/None, a number is out of its
            range, ``perturbation_factors`` is empty or holds a non-positive number, a
            mutation is an empty list or a ``grid_search``, neither
            ``hyperparam_mutations`` nor ``custom_explore_fn`` is given, or
            ``reward_attr`` is given with ``metric``/``mode``; at the first trial, when no
            metric/mode is set anywhere.
    """

    _owner = "PopulationBasedTraining"
    pending_trials_ahead = 200  # the population exists from the start (Ray Tune: 200 too)

    def __init__(
        self,
        time_attr: str = "time_total_s",
        metric: str | None = None,
        mode: str | None = None,
        perturbation_interval: float = 60.0,
        burn_in_period: float = 0.0,
        hyperparam_mutations: dict[str, Any] | None = None,
        quantile_fraction: float = 0.25,
        resample_probability: float = 0.25,
        perturbation_factors: tuple[float, ...] = (1.2, 0.8),
        custom_explore_fn: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        log_config: bool = True,
        require_attrs: bool = True,
        synch: bool = False,
        *,
        seed: int | None = None,
        policy_log: PolicyLog | None = None,
        reward_attr: str | None = None,
    ) -> None:
        owner = self._owner
        metric, mode = resolve_reward_attr(f"{owner}()", reward_attr, metric, mode, stacklevel=3)
        super().__init__(metric=metric, mode=mode)
        if metric is not None and not isinstance(metric, str):
            raise TypeError(f"{owner}: metric must be a string or None, got {metric!r}")
        if not isinstance(time_attr, str) or not time_attr:
            raise TypeError(f"{owner}: time_attr must be a result key (str), got {time_attr!r}")
        self.time_attr = time_attr
        self.perturbation_interval = _check_number(
            owner, "perturbation_interval", perturbation_interval, low=0, low_open=True
        )
        self.burn_in_period = _check_number(owner, "burn_in_period", burn_in_period, low=0)
        self.quantile_fraction = _check_number(
            owner, "quantile_fraction", quantile_fraction, low=0, high=0.5
        )
        self.resample_probability = _check_number(
            owner, "resample_probability", resample_probability, low=0, high=1
        )
        self.perturbation_factors = validate_factors(perturbation_factors, owner=owner)
        if custom_explore_fn is not None and not callable(custom_explore_fn):
            raise TypeError(
                f"{owner}: custom_explore_fn must be a function config -> config or None, "
                f"got {custom_explore_fn!r}"
            )
        self.custom_explore_fn = custom_explore_fn
        self.hyperparam_mutations = self._validate_search_space(hyperparam_mutations)
        self.log_config = _check_bool(owner, "log_config", log_config)
        self.require_attrs = _check_bool(owner, "require_attrs", require_attrs)
        self.synch = _check_bool(owner, "synch", synch)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"{owner}: seed must be an int or None, got {seed!r}")
        self.seed = seed
        if policy_log is not None and not isinstance(policy_log, PolicyLog):
            raise TypeError(f"{owner}: policy_log must be a PolicyLog or None, got {policy_log!r}")
        self.policy_log = policy_log if policy_log is not None else FilePolicyLog()
        self._rng = random.Random(seed)
        self._states: dict[str, _TrialState] = {}
        self._trials: dict[str, Trial] = {}
        self._num_perturbations = 0
        self._num_checkpoints = 0
        self._warned_missing = False
        # synch mode: the next perturbation point and the trials paused at it
        self._next_sync = max(self.perturbation_interval, self.burn_in_period)
        self._waiting: dict[str, None] = {}
        self._finished: set[str] = set()

    def _validate_search_space(self, mutations: Any) -> dict[str, Any]:
        checked = validate_mutations(mutations, owner=self._owner)
        if not checked and self.custom_explore_fn is None:
            raise ValueError(
                f"{self._owner}: give hyperparam_mutations (a dict of key -> list, domain or "
                f"callable) or custom_explore_fn; got hyperparam_mutations={mutations!r} and "
                "no custom_explore_fn"
            )
        return checked

    # -- protocol ------------------------------------------------------------------------------
    def decision_points(self) -> DecisionPoints | None:
        return None  # perturbation points depend on each trial's own time: every result

    def debug_string(self) -> str:
        return (
            f"PopulationBasedTraining: {self._num_checkpoints} checkpoints, "
            f"{self._num_perturbations} perturbs"
        )

    def on_trial_add(self, runner: RunnerView, trial: Trial) -> None:
        if self._metric is None or self._mode is None:
            raise ValueError(
                f"{self._owner}: metric and mode must be set (in the scheduler or in "
                f"tune.run/TuneConfig), got metric={self._metric!r}, mode={self._mode!r}"
            )
        self._trials[trial.trial_id] = trial
        if trial.status.is_finished():
            self._finished.add(trial.trial_id)
        else:
            self._finished.discard(trial.trial_id)
        if trial.trial_id in self._states:  # resumed: the state came from set_state
            return
        self._states[trial.trial_id] = _TrialState(trial.experiment_tag or trial.trial_id)
        if not trial.last_result:
            # a new trial: mutated keys its config lacks are sampled (it has not started),
            # and it starts with them (the runner carries the change out)
            config = copy.deepcopy(trial.config)
            if fill_missing(config, self._fill_spec(), self._rng):
                runner.reconfigure_trial(trial, Reconfigure(config=config))

    def _fill_spec(self) -> dict[str, Any]:
        return self.hyperparam_mutations

    def on_trial_result(
        self, runner: RunnerView, trial: Trial, result: dict[str, Any]
    ) -> Decision | Reconfigure:
        state = self._states.get(trial.trial_id)
        if state is None:
            self.on_trial_add(runner, trial)
            state = self._states[trial.trial_id]
        metric = self._metric or ""
        if self.time_attr not in result or metric not in result:
            missing = [k for k in (self.time_attr, metric) if k not in result]
            if self.require_attrs:
                raise TuneError(
                    f"{self._owner}: the result of trial {trial} has no {missing}; report "
                    f"them, or pass require_attrs=False to ignore such results"
                )
            if not self._warned_missing:
                self._warned_missing = True
                logger.warning("%s: results without %s are ignored", self._owner, missing)
            return Decision.CONTINUE
        now = float(result[self.time_attr])
        state.last_train_time = now
        if self.synch:
            return self._synch_result(trial, state, now, result)
        if now - state.last_perturbation_time < self.perturbation_interval:
            return Decision.CONTINUE
        if now < self.burn_in_period:
            return Decision.CONTINUE
        self._record_score(trial, state, now, result)
        lower, upper = self._quantiles()
        # others wait for resources: this trial yields its place (saving when it pauses)
        yields = self._others_waiting(runner, trial)
        if trial.trial_id in upper:
            self._num_checkpoints += 1
            return Decision.PAUSE if yields else Decision.SAVE
        if trial.trial_id in lower:
            change = self._exploit(trial, state, upper)
            if change is not None:
                return change
        return Decision.PAUSE if yields else Decision.CONTINUE

    @staticmethod
    def _others_waiting(runner: RunnerView, trial: Trial) -> bool:
        if any(True for _ in runner.pending_trials()):
            return True
        return any(t is not trial for t in runner.paused_trials())

    def _record_score(
        self, trial: Trial, state: _TrialState, now: float, result: dict[str, Any]
    ) -> None:
        value = float(result[self._metric or ""])
        state.last_score = value if self._mode == "max" else -value
        state.last_perturbation_time = now

    # -- ranking and exploiting ----------------------------------------------------------------
    def _quantiles(self) -> tuple[list[str], list[str]]:
        """(bottom, top) ids of the live trials by latest score (finished trials, and trials
        whose last result is their last, take no part); empty while fewer than two are
        scored."""
        scored = [
            (s.last_score, tid)
            for tid, s in self._states.items()
            if s.last_score is not None and tid not in self._finished and not self._done(tid)
        ]
        if len(scored) <= 1:
            return [], []
        scored.sort(key=lambda pair: pair[0])  # stable: ties keep insertion order
        count = math.ceil(len(scored) * self.quantile_fraction)
        count = min(count, len(scored) // 2)
        if count == 0:
            return [], []
        ids = [tid for _, tid in scored]
        return ids[:count], ids[-count:]

    def _done(self, trial_id: str) -> bool:
        trial = self._trials.get(trial_id)
        return trial is not None and bool(trial.last_result.get("done"))

    def _donors(self, trial: Trial, upper: list[str]) -> list[Trial]:
        return [
            self._trials[tid]
            for tid in upper
            if tid != trial.trial_id
            and tid in self._trials
            and self._trials[tid].checkpoint is not None
        ]

    def _exploit(self, trial: Trial, state: _TrialState, upper: list[str]) -> Reconfigure | None:
        donors = self._donors(trial, upper)
        if not donors:
            logger.debug("%s: no top trial has a checkpoint yet; %s goes on", self._owner, trial)
            return None
        donor = donors[int(self._rng.random() * len(donors))]
        new_config, suffix = self._explore_for(trial, donor)
        self._note_exploit(trial, state, donor, new_config)
        return Reconfigure(config=new_config, checkpoint=donor.checkpoint, tag_suffix=suffix)

    def _explore_for(self, trial: Trial, donor: Trial) -> tuple[dict[str, Any], str]:
        """(new config, tag suffix) for ``trial`` cloning ``donor`` (PB2 overrides this)."""
        new_config, changes = explore(
            donor.config,
            self.hyperparam_mutations,
            resample_probability=self.resample_probability,
            perturbation_factors=self.perturbation_factors,
            custom_explore_fn=self.custom_explore_fn,
            rng=self._rng,
        )
        return new_config, format_changes(changes)

    def _checkpoint_time(self, donor: Trial) -> float:
        key = _CHECKPOINT_COUNTERS.get(self.time_attr)
        saved = donor.restore_state or {}
        if key is not None and isinstance(saved.get(key), int | float):
            return float(saved[key])
        return self._states[donor.trial_id].last_perturbation_time

    def _note_exploit(
        self, trial: Trial, state: _TrialState, donor: Trial, new_config: dict[str, Any]
    ) -> None:
        donor_state = self._states[donor.trial_id]
        donor_iteration = (donor.restore_state or {}).get("iteration")
        if not isinstance(donor_iteration, int):
            donor_iteration = int(donor.last_result.get("training_iteration", 0))
        line = [
            state.orig_tag,
            donor_state.orig_tag,
            int(trial.last_result.get("training_iteration", 0)),
            donor_iteration,
            json_safe(donor.config),
            json_safe(new_config),
        ]
        state.lineage = [list(entry) for entry in donor_state.lineage] + [line]
        # the trial continues from the donor's checkpoint: its clock restarts there
        state.last_perturbation_time = self._checkpoint_time(donor)
        self._num_perturbations += 1
        if self.log_config:
            try:
                self.policy_log.record(trial.experiment_path, trial.trial_id, line, state.lineage)
            except OSError as exc:
                logger.warning("%s: could not write the policy log: %s", self._owner, exc)

    # -- synchronous mode ------------------------------------------------------------------------
    def _synch_result(
        self, trial: Trial, state: _TrialState, now: float, result: dict[str, Any]
    ) -> Decision:
        if now < self._next_sync:
            return Decision.CONTINUE
        self._record_score(trial, state, now, result)
        self._waiting[trial.trial_id] = None
        return Decision.PAUSE  # class trainables save here: the paused ones can be cloned

    def _barrier_complete(self, runner: RunnerView) -> bool:
        if not self._waiting or len(self._waiting) < len(self._trials) - len(self._finished):
            return False
        for trial in runner.get_live_trials():
            if trial.trial_id in self._states and not (
                trial.trial_id in self._waiting and trial.status == TrialStatus.PAUSED
            ):
                return False
        return True

    def _perturb_population(self, runner: RunnerView) -> None:
        lower, upper = self._quantiles()
        for tid in lower:
            trial = self._trials.get(tid)
            if trial is None or tid not in self._waiting or trial.status != TrialStatus.PAUSED:
                continue
            donors = self._donors(trial, upper)
            if not donors:
                continue
            donor = donors[int(self._rng.random() * len(donors))]
            new_config, suffix = self._explore_for(trial, donor)
            self._note_exploit(trial, self._states[tid], donor, new_config)
            # the controller restarts it from the donor's checkpoint with the new config
            runner.reconfigure_trial(
                trial,
                Reconfigure(config=new_config, checkpoint=donor.checkpoint, tag_suffix=suffix),
            )
        self._waiting.clear()
        self._next_sync += self.perturbation_interval

    def choose_trial_to_run(self, runner: RunnerView) -> Trial | None:
        """The waiting trial (PENDING, or PAUSED and not held at a ``synch`` barrier) that
        has trained least by ``time_attr``: every member of the population gets its turn.

        With ``synch=True``, once every live trial waits at the barrier, the population is
        perturbed first (``runner.reconfigure_trial`` for the exploited trials).

        Args:
            runner: The view of the experiment.

        Returns:
            The trial to run next, or None.
        """
        if self.synch and self._barrier_complete(runner):
            self._perturb_population(runner)
        best: Trial | None = None
        best_time = math.inf
        for trial in (*runner.pending_trials(), *runner.paused_trials()):
            if trial.trial_id in self._waiting:
                continue
            state = self._states.get(trial.trial_id)
            trained = state.last_train_time if state is not None else 0.0
            if trained < best_time:
                best, best_time = trial, trained
        return best

    def on_trial_complete(self, runner: RunnerView, trial: Trial, result: dict[str, Any]) -> None:
        self._waiting.pop(trial.trial_id, None)
        self._finished.add(trial.trial_id)

    def on_trial_error(self, runner: RunnerView, trial: Trial) -> None:
        self._waiting.pop(trial.trial_id, None)
        self._finished.add(trial.trial_id)

    def on_trial_remove(self, runner: RunnerView, trial: Trial) -> None:
        self._waiting.pop(trial.trial_id, None)
        self._finished.add(trial.trial_id)

    # -- state -----------------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        version, internal, gauss = self._rng.getstate()
        return {
            "version": _STATE_VERSION,
            "num_perturbations": self._num_perturbations,
            "num_checkpoints": self._num_checkpoints,
            "rng": [version, list(internal), gauss],
            "trials": {tid: s.to_state() for tid, s in self._states.items()},
            "next_sync": self._next_sync,
            "waiting": list(self._waiting),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        if not state:
            return
        if state.get("version") != _STATE_VERSION:
            raise ValueError(
                f"{self._owner}.set_state: unknown state version {state.get('version')!r} "
                f"(this tunelab reads version {_STATE_VERSION})"
            )
        self._num_perturbations = int(state.get("num_perturbations", 0))
        self._num_checkpoints = int(state.get("num_checkpoints", 0))
        rng = state.get("rng")
        if rng:
            self._rng.setstate((rng[0], tuple(rng[1]), rng[2]))
        self._states = {
            tid: _TrialState.from_state(s) for tid, s in state.get("trials", {}).items()
        }
        self._next_sync = float(state.get("next_sync", self._next_sync))
        self._waiting = dict.fromkeys(state.get("waiting", []))

    def lineage(self, trial_id: str) -> list[list[Any]]:
        """The policy lines that produced ``trial_id``'s current model, oldest first.

        What ``pbt_policy_<trial_id>.txt`` holds: the donor's lineage followed by the
        trial's own last exploit.

        Args:
            trial_id: A trial's id.

        Returns:
            A list of ``[target_tag, donor_tag, target_iteration, donor_iteration,
            donor_config, new_config]`` lines (``[]`` for a trial never exploited).
        """
        state = self._states.get(trial_id)
        return [list(line) for line in state.lineage] if state else []
