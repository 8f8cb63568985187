"""Asynchronous successive halving (ASHA), in its stopping and its promotion form."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from sortedcontainers import SortedList

from tunelab._legacy_args import resolve_reward_attr
from tunelab.schedulers import _support as S
from tunelab.schedulers._state_changes import ChangeLog, StateMark, fixed_ops
from tunelab.schedulers._trial_scheduler import Decision, DecisionPoints, TrialScheduler

if TYPE_CHECKING:
    from tunelab._trial import Trial
    from tunelab.schedulers._trial_scheduler import RunnerView

__all__ = ["ASHAScheduler", "AsyncHyperBandScheduler"]

logger = logging.getLogger("tunelab")


class _Rung:
    """Rewards recorded at one milestone, in arrival order, plus two sorted views: the
    non-NaN rewards ascending (cutoffs) and ``(rank key, seq, trial_id)`` (promotions).
    Each record goes to ``log`` as an append to the list at ``path`` of the state."""

    __slots__ = ("encoded", "keys", "log", "milestone", "path", "ranked", "rewards", "values")

    def __init__(self, milestone: float, log: ChangeLog, path: list[Any]) -> None:
        self.milestone = milestone
        self.log = log
        self.path = path
        self.rewards: dict[str, float] = {}
        # sorted containers: an insertion costs O(log n), not a memmove of the whole list
        # (bisect.insort took ~30 us per reward at 300,000 trials)
        self.values: SortedList = SortedList()
        self.ranked: SortedList = SortedList()
        self.keys: dict[str, tuple[float, int, str]] = {}
        #: ``[trial_id, reward]`` pairs as the state holds them, built as rewards arrive
        #: (the state is taken with every journal line: rebuilding it cost O(trials) each)
        self.encoded: list[list[Any]] = []

    def record(self, trial_id: str, reward: float) -> None:
        """Record ``trial_id``'s ``reward`` (once per trial and rung)."""
        if trial_id in self.rewards:
            raise ValueError(f"trial {trial_id} has a reward at milestone {self.milestone}")
        nan = math.isnan(reward)
        key = (math.inf if nan else -reward, len(self.rewards), trial_id)
        self.rewards[trial_id] = reward
        pair = [trial_id, S.encode_reward(reward)]
        self.log.add([self.path, "tail", len(self.encoded), [pair]])
        self.encoded.append(pair)
        self.keys[trial_id] = key
        if not nan:
            self.values.add(reward)
        self.ranked.add(key)

    def cutoff(self, reduction_factor: float) -> float | None:
        """The (1 - 1/rf) percentile of the rewards recorded so far (None: nothing yet)."""
        if not self.rewards:
            return None
        if not self.values:
            return math.nan
        return S.percentile(self.values, (1.0 - 1.0 / reduction_factor) * 100.0)

    def top(self, reduction_factor: float, final: bool = False) -> list[str]:
        """Ids of the best floor(n / rf) trials recorded here (they may be promoted);
        ceil(n / rf) when ``final``."""
        n = len(self.rewards)
        k = math.ceil(n / reduction_factor) if final else int(n // reduction_factor)
        return [trial_id for _, _, trial_id in self.ranked[:k]]

    def is_top(self, trial_id: str, reduction_factor: float) -> bool:
        """Is ``trial_id`` (recorded here) among the best floor(n / rf)?"""
        k = int(len(self.rewards) // reduction_factor)
        return int(self.ranked.bisect_left(self.keys[trial_id])) < k


class AsyncHyperBandScheduler(TrialScheduler):
    """ASHA: early stopping by asynchronous successive halving (Li et al., 2018).

    Each trial joins one of ``brackets`` brackets; bracket ``s`` has *rungs* at
    ``grace_period * reduction_factor**(k + s)`` (``k = 0, 1, ...``) up to ``max_t``, in
    units of ``time_attr``. Only results that reach a rung (or ``max_t``) are decision
    points: between rungs, workers report without waiting. No trial waits for another:
    each is judged against the results recorded at its rung so far.

    Two ways to act at a rung, chosen with ``promotion``:

    * ``promotion=False`` (the default; what Ray Tune does): a trial reaching a rung is
      compared with the ``(1 - 1/reduction_factor)`` percentile of the results recorded at
      that rung so far; below it, the trial is stopped, otherwise it continues. Trials are
      never paused, so no checkpoints are needed.
    * ``promotion=True`` (promotion-based ASHA, tunelab addition, for few workers): a trial
      reaching a rung continues only if it is among the best ``floor(n / reduction_factor)``
      of the ``n`` trials recorded there; otherwise it is paused. When a worker is free,
      :meth:`choose_trial_to_run` resumes (from its checkpoint) the paused trial that has
      become promotable at the highest rung, before new trials start. When no trial runs
      and the search has nothing to give (it is finished, or waits for paused trials, e.g.
      with ``max_concurrent_trials``), rungs promote their best ``ceil(n /
      reduction_factor)`` instead, one trial at a time; the trials still paused after that
      are stopped. Pausing needs checkpoints: class trainables save, function trainables
      resume from their last reported checkpoint (or from the start without one).

    With several brackets, a new trial picks one at random (probability proportional to
    ``e**(number of rungs)``), drawn from ``seed``. Results lacking ``time_attr`` or the
    metric get ``CONTINUE``. ``ASHAScheduler`` is the same class.

    Args:
        time_attr: The result key that measures training progress, e.g.
            ``"training_iteration"`` (default), ``"time_total_s"``, ``"epoch"``. It must
            increase from result to result; rungs, ``grace_period`` and ``max_t`` are in
            its units.
        metric: The result key to compare trials by. None: the run's ``metric``.
        mode: ``"min"`` or ``"max"``. None: the run's ``mode``.
        max_t: The most ``time_attr`` a trial may reach (> 0): a result at or beyond it
            stops the trial when ``stop_last_trials`` is True. Also the highest rung.
        grace_period: The first rung (> 0, at most ``max_t``): no trial is stopped before
            it has trained this long.
        reduction_factor: The ratio between rungs and the fraction kept at each (>= 2):
            with 4, about 1 trial in 4 goes on past a rung.
        brackets: The number of brackets (>= 1). Bracket ``s`` starts at
            ``grace_period * reduction_factor**s``; 1 (the default) is what most users want.
        stop_last_trials: True: a trial that reaches ``max_t`` is stopped. False: it goes
            on (until its own end or the run's ``stop``), no longer judged past the last
            rung.
        promotion: False: stop trials below the rung's cutoff (Ray Tune's ASHA). True:
            pause them and promote the best later (needs checkpoints; see above).
        seed: The random state of the bracket draws: None (fresh), an int, or a
            ``random.Random``. Only matters with ``brackets > 1``.
        reward_attr: 0.5-0.7 spelling: ``reward_attr=name`` means ``metric=name,
            mode="max"`` (with a ``FutureWarning``).

    Raises:
        TypeError: ``time_attr`` is not a non-empty string, ``metric`` is not a string, a
            number is not a number, ``brackets`` is not an int, a flag is not a bool, or
            ``seed`` has another type.
        ValueError: ``mode`` is not ``"min"``/``"max"``/None, ``max_t`` or
            ``grace_period`` is not > 0, ``grace_period`` exceeds ``max_t``,
            ``reduction_factor`` is below 2, ``brackets`` is below 1, or ``reward_attr``
            is given with ``metric``/``mode``.

    Example:
        >>> from tunelab.schedulers import ASHAScheduler
        >>> asha = ASHAScheduler(metric="loss", mode="min", max_t=27, grace_period=3,
        ...                      reduction_factor=3)
        >>> asha.decision_points().milestones
        (3.0, 9.0, 27.0)
    """

    def __init__(
        self,
        time_attr: str = "training_iteration",
        metric: str | None = None,
        mode: str | None = None,
        max_t: float = 100,
        grace_period: float = 1,
        reduction_factor: float = 4,
        brackets: int = 1,
        stop_last_trials: bool = True,
        *,
        promotion: bool = False,
        seed: Any = None,
        reward_attr: str | None = None,
    ) -> None:
        metric, mode = resolve_reward_attr(
            f"{type(self).__name__}()", reward_attr, metric, mode, stacklevel=3
        )
        super().__init__(metric=metric, mode=mode)
        if metric is not None and not isinstance(metric, str):
            raise TypeError(f"{type(self).__name__}: `metric` must be a str, got {metric!r}")
        self._time_attr = S.check_time_attr(self, time_attr)
        self._max_t = S.check_number(self, "max_t", max_t, minimum=0, strict=True)
        self._grace_period = S.check_number(
            self, "grace_period", grace_period, minimum=0, strict=True
        )
        if self._grace_period > self._max_t:
            raise ValueError(
                f"{type(self).__name__}: `grace_period` must be <= max_t ({max_t!r}), "
                f"got {grace_period!r}"
            )
        self._rf = S.check_number(self, "reduction_factor", reduction_factor, minimum=2)
        self._num_brackets = S.check_int(self, "brackets", brackets, minimum=1)
        self._stop_last_trials = S.check_bool(self, "stop_last_trials", stop_last_trials)
        self._promotion = S.check_bool(self, "promotion", promotion)
        self._rng = S.make_rng(self, seed)
        # only bracket draws change a random state of its own (a Random given as ``seed``
        # may be drawn from elsewhere too): with one bracket, changes need not look at it
        self._rng_still = self._num_brackets == 1 and self._rng is not seed
        self.time_attr = time_attr
        self.max_t = max_t
        self.grace_period = grace_period
        self.reduction_factor = reduction_factor
        self.brackets = brackets
        self.stop_last_trials = stop_last_trials
        self.promotion = promotion
        self.seed = seed
        # changes to the state's tables, for get_state_changes (the journal's deltas)
        self._log = ChangeLog()
        self._rungs = self._new_rungs()
        self._weights = [math.exp(len(r) - max(map(len, self._rungs))) for r in self._rungs]
        self._bracket_of: dict[str, int] = {}
        self._trials: dict[str, Trial] = {}
        self._num_stopped = 0
        # promotion mode
        self._passed: dict[str, int] = {}  # trial -> number of rungs it may run past
        self._held: dict[str, int] = {}  # paused trial -> index of the rung it waits at
        self._stops = S.StopRequests()  # held trials that will never be promoted
        self._starvation = S.Starvation()

    def _new_rungs(self) -> list[list[_Rung]]:
        return [
            [_Rung(m, self._log, ["rungs", s, k]) for k, m in enumerate(self._milestones(s))]
            for s in range(self._num_brackets)
        ]

    def _set(self, name: str, table: dict[str, int], trial_id: str, value: int) -> None:
        """``table[trial_id] = value``; ``table`` is the state's ``name`` (logged)."""
        table[trial_id] = value
        self._log.add([[name, trial_id], "set", value])

    def _drop(self, name: str, table: dict[str, int], trial_id: str) -> None:
        """Remove ``trial_id`` from ``table``, the state's ``name`` (logged)."""
        if trial_id in table:
            del table[trial_id]
            self._log.add([[name, trial_id], "del"])

    def _milestones(self, s: int) -> list[float]:
        milestones: list[float] = []
        k = 0
        while True:
            value = self._grace_period * self._rf ** (k + s)
            if value > self._max_t * (1 + 1e-12):
                return milestones
            milestones.append(value)
            k += 1

    # -- contract ------------------------------------------------------------------------------
    def decision_points(self) -> DecisionPoints:
        points = {r.milestone for rungs in self._rungs for r in rungs}
        if self._stop_last_trials:
            points.add(self._max_t)
        return DecisionPoints(attr=self._time_attr, milestones=tuple(sorted(points)))

    def on_trial_add(self, runner: RunnerView, trial: Trial) -> None:
        S.require_metric_mode(self)
        self._starvation.trial_added()
        trial_id = trial.trial_id
        if trial.status.is_finished():
            return
        self._trials[trial_id] = trial
        if trial_id in self._bracket_of:
            return
        index = 0
        if self._num_brackets > 1:
            draw = self._rng.random() * sum(self._weights)
            for index, weight in enumerate(self._weights):  # noqa: B007
                draw -= weight
                if draw < 0:
                    break
        self._set("bracket_of", self._bracket_of, trial_id, index)

    def on_trial_result(self, runner: RunnerView, trial: Trial, result: dict[str, Any]) -> Decision:
        trial_id = trial.trial_id
        if self._stops.take(trial_id):
            return Decision.STOP
        value = result.get(self._time_attr)
        reward = S.reward_of(result, self._metric, self._mode)
        bracket = self._bracket_of.get(trial_id)
        if value is None or reward is None or bracket is None:
            return Decision.CONTINUE
        if self._promotion:
            decision = self._promote_or_pause(trial_id, bracket, value, reward)
        elif value >= self._max_t and self._stop_last_trials:
            decision = Decision.STOP
        else:
            decision = self._cut(trial_id, bracket, value, reward)
        if decision == Decision.STOP:
            self._num_stopped += 1
        return decision

    def on_trial_complete(self, runner: RunnerView, trial: Trial, result: dict[str, Any]) -> None:
        bracket = self._bracket_of.get(trial.trial_id)
        value = (result or {}).get(self._time_attr)
        reward = S.reward_of(result or {}, self._metric, self._mode)
        if bracket is not None and value is not None and reward is not None:
            if self._promotion:
                self._record_highest(trial.trial_id, bracket, value, reward)
            else:
                self._cut(trial.trial_id, bracket, value, reward)
        self._forget(trial.trial_id)

    def on_trial_error(self, runner: RunnerView, trial: Trial) -> None:
        self._forget(trial.trial_id)

    def on_trial_remove(self, runner: RunnerView, trial: Trial) -> None:
        self._forget(trial.trial_id)

    def _forget(self, trial_id: str) -> None:
        self._drop("bracket_of", self._bracket_of, trial_id)
        self._trials.pop(trial_id, None)
        self._drop("passed", self._passed, trial_id)
        self._drop("held", self._held, trial_id)
        self._stops.forget(trial_id)

    # -- stopping ------------------------------------------------------------------------------
    def _cut(self, trial_id: str, bracket: int, value: float, reward: float) -> Decision:
        """Record at the highest rung reached and not yet recorded; STOP below the cutoff."""
        for rung in reversed(self._rungs[bracket]):
            if value < rung.milestone:
                continue
            if trial_id in rung.rewards:
                if not self._stop_last_trials:
                    break
                continue
            cutoff = rung.cutoff(self._rf)
            rung.record(trial_id, reward)
            if cutoff is not None and reward < cutoff:
                return Decision.STOP
            break
        return Decision.CONTINUE

    # -- promotion -----------------------------------------------------------------------------
    def _highest_rung(self, bracket: int, value: float) -> int:
        rungs = self._rungs[bracket]
        index = -1
        for i, rung in enumerate(rungs):
            if value >= rung.milestone:
                index = i
        return index

    def _record_highest(self, trial_id: str, bracket: int, value: float, reward: float) -> int:
        index = self._highest_rung(bracket, value)
        if index >= 0:
            rung = self._rungs[bracket][index]
            if trial_id not in rung.rewards:
                rung.record(trial_id, reward)
        return index

    def _promote_or_pause(
        self, trial_id: str, bracket: int, value: float, reward: float
    ) -> Decision:
        index = self._record_highest(trial_id, bracket, value, reward)
        if value >= self._max_t:
            return Decision.STOP if self._stop_last_trials else Decision.CONTINUE
        if index < 0 or index < self._passed.get(trial_id, 0):
            return Decision.CONTINUE  # before the first rung, or a rung it was promoted past
        if self._rungs[bracket][index].is_top(trial_id, self._rf):
            self._set("passed", self._passed, trial_id, index + 1)
            return Decision.CONTINUE
        self._set("held", self._held, trial_id, index)
        return Decision.PAUSE

    def choose_trial_to_run(self, runner: RunnerView) -> Trial | None:
        if not self._promotion:
            return super().choose_trial_to_run(runner)
        starved = self._starvation.starved()
        self._stops.process(runner, self._trials)
        promoted = self._next_promotion()
        if promoted is not None:
            return self._starvation.returned(promoted)
        for trial in runner.pending_trials():
            if trial.trial_id not in self._held and trial.trial_id not in self._stops:
                return self._starvation.returned(trial)
        for trial in runner.paused_trials():
            if trial.trial_id not in self._held and trial.trial_id not in self._stops:
                return self._starvation.returned(trial)
        if starved and self._held and not S.any_running(runner.get_live_trials()):
            # nothing runs and the search gives nothing: a rung promotes its best
            # ceil(n / rf) instead of floor(n / rf); trials still held after that are stopped
            promoted = self._next_promotion(final=True)
            if promoted is not None:
                return self._starvation.returned(promoted)
            for trial_id in list(self._held):
                self._drop("held", self._held, trial_id)
                self._stops.add(trial_id)
                self._num_stopped += 1
            self._stops.process(runner, self._trials)
        return self._starvation.returned(self._stops.next_doomed(self._trials))

    def _next_promotion(self, final: bool = False) -> Trial | None:
        for rungs in self._rungs:
            for index in range(len(rungs) - 1, -1, -1):
                for trial_id in rungs[index].top(self._rf, final):
                    if self._held.get(trial_id) != index:
                        continue
                    trial = self._trials.get(trial_id)
                    if trial is None or not S.is_waiting(trial):
                        continue
                    self._drop("held", self._held, trial_id)
                    self._set("passed", self._passed, trial_id, index + 1)
                    logger.debug("ASHA: promoting %s past rung %s", trial_id, index)
                    return trial
        return None

    # -- state ---------------------------------------------------------------------------------
    def _settings(self) -> dict[str, Any]:
        return {
            "time_attr": self._time_attr,
            "max_t": self._max_t,
            "grace_period": self._grace_period,
            "reduction_factor": self._rf,
            "brackets": self._num_brackets,
            "promotion": self._promotion,
        }

    def _fixed_state(self, rng: Any = None) -> dict[str, Any]:
        """The parts of the state whose size does not grow with the trials (fresh copies;
        ``rng``: the random state in this form instead, e.g. as ``getstate`` gives it)."""
        return {
            "version": S.STATE_VERSION,
            "settings": self._settings(),
            "metric": self._metric,
            "mode": self._mode,
            "rng": S.rng_to_state(self._rng) if rng is None else rng,
            "num_stopped": self._num_stopped,
            "stops": self._stops.get_state(),
            "starved": self._starvation.get_state(),
        }

    def get_state(self) -> dict[str, Any]:
        fixed = self._fixed_state()
        return {
            "version": fixed["version"],
            "settings": fixed["settings"],
            "metric": fixed["metric"],
            "mode": fixed["mode"],
            "rng": fixed["rng"],
            "num_stopped": fixed["num_stopped"],
            "bracket_of": dict(self._bracket_of),
            "rungs": [[list(rung.encoded) for rung in rungs] for rungs in self._rungs],
            "passed": dict(self._passed),
            "held": dict(self._held),
            "stops": fixed["stops"],
            "starved": fixed["starved"],
        }

    def get_state_changes(self, since: Any = None) -> tuple[Any, list[list[Any]] | None] | None:
        """What changed in :meth:`get_state` since the mark ``since``, at the cost of the
        change (the experiment-state journal takes the scheduler's state after every loop
        step that changed it; comparing whole states cost O(trials) each time).

        Args:
            since: A mark an earlier call returned, or None (no mark yet).

        Returns:
            ``(mark, ops)``: ``mark`` stands for the state now (hand it to a later call;
            it is opaque), ``ops`` are the journal's delta operations (see
            ``tunelab.schedulers._state_changes``) that turn the state ``get_state``
            returned when ``since`` was taken into the one it returns now: ``[]`` when
            nothing changed, None when they cannot be told (``since`` is None, from
            another scheduler, or from before a :meth:`set_state`; take
            :meth:`get_state` whole then). None instead of a pair when a subclass has its
            own ``get_state``/``set_state`` (their changes are not logged here).
        """
        cls = type(self)
        if (
            cls.get_state is not AsyncHyperBandScheduler.get_state
            or cls.set_state is not AsyncHyperBandScheduler.set_state
        ):
            return None
        # the random state as a tuple: compared at C speed, journaled as the same JSON
        if self._rng_still and isinstance(since, StateMark) and "rng" in since.fixed:
            rng = since.fixed["rng"]  # unchanged since (set_state makes since unusable)
        else:
            rng = self._rng.getstate()
        fixed = self._fixed_state(rng=rng)
        if not isinstance(since, StateMark) or (logged := self._log.since(since)) is None:
            return self._log.mark(fixed), None
        ops = fixed_ops(since.fixed, fixed) + logged
        if not ops:
            return since, []
        return self._log.mark(fixed), ops

    def set_state(self, state: dict[str, Any]) -> None:
        S.restore_common_state(self, state)
        S.rng_from_state(self._rng, state["rng"])
        self._num_stopped = int(state["num_stopped"])
        self._bracket_of = {str(k): int(v) for k, v in state["bracket_of"].items()}
        self._rungs = self._new_rungs()
        for rungs, saved in zip(self._rungs, state["rungs"]):
            for rung, records in zip(rungs, saved):
                for trial_id, reward in records:
                    rung.record(str(trial_id), S.decode_reward(reward))
        self._passed = {str(k): int(v) for k, v in state["passed"].items()}
        self._held = {str(k): int(v) for k, v in state["held"].items()}
        self._stops.set_state(state["stops"])
        self._starvation.set_state(state["starved"])
        self._log.reset()  # the whole state changed: earlier marks cannot be followed

    def debug_string(self) -> str:
        kind = "promotion" if self._promotion else "stopping"
        lines = [f"Using AsyncHyperBand ({kind}): num_stopped={self._num_stopped}"]
        for rungs in self._rungs:
            parts = []
            for rung in reversed(rungs):
                cutoff = rung.cutoff(self._rf)
                shown = "None" if cutoff is None else f"{cutoff:.5g}"
                parts.append(f"Iter {rung.milestone:.3f}: {shown}")
            lines.append("Bracket: " + " | ".join(parts))
        return "\n".join(lines)


# ASHA by its other name (the same class, documented as ASHAScheduler on the API page).
ASHAScheduler = AsyncHyperBandScheduler
