"""Synchronous HyperBand: brackets of successive halving, with pause and resume."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from tunelab._legacy_args import resolve_reward_attr
from tunelab.schedulers import _support as S
from tunelab.schedulers._trial_scheduler import Decision, DecisionPoints, TrialScheduler

if TYPE_CHECKING:
    from tunelab._trial import Trial
    from tunelab.schedulers._trial_scheduler import RunnerView

__all__ = ["HyperBandScheduler"]

logger = logging.getLogger("tunelab")


class _Bracket:
    """One bracket: its members, the rung it is at, and who reached that rung (rewards)."""

    def __init__(
        self, index: int, s: int, capacity: int, milestones: list[float], eta: float
    ) -> None:
        self.index = index
        self.s = s
        self.capacity = capacity
        self.milestones = milestones
        #: how many trials may go on past each rung (nominal: the bracket size, then / eta)
        self.keep = [capacity]
        for _ in milestones[1:]:
            self.keep.append(math.ceil(self.keep[-1] / eta))
        self.rung = 0
        self.closed = False
        self.trials: list[str] = []
        self.live: dict[str, None] = {}
        self.reached: dict[str, float] = {}

    @property
    def milestone(self) -> float:
        return self.milestones[self.rung]

    def to_state(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "s": self.s,
            "rung": self.rung,
            "closed": self.closed,
            "trials": list(self.trials),
            "live": list(self.live),
            "reached": [[t, S.encode_reward(r)] for t, r in self.reached.items()],
        }


class HyperBandScheduler(TrialScheduler):
    """Synchronous HyperBand (Li et al., 2017): brackets of successive halving.

    Trials fill brackets in turn. With ``s_max = floor(log_rf(max_t))`` (``rf`` the
    ``reduction_factor``), bracket ``s`` (``s_max`` down to 0, then again) holds
    ``ceil((s_max + 1) / (s + 1) * rf**s)`` trials and has milestones
    ``max_t / rf**(s - i)`` for ``i = 0..s`` (the last one is ``max_t``). A trial that
    reaches its bracket's current milestone is *paused* there. When every live trial of
    the bracket has reached it (and the bracket is full, or the search has no more trials
    to add for now), the best ``min(n_{i+1}, ceil(m / rf))`` of the ``m`` trials there
    (``n_0`` = the bracket size, ``n_{i+1} = ceil(n_i / rf)``) are resumed from their
    checkpoints towards the next milestone and the others are stopped. (A partial bracket,
    e.g. ``num_samples`` below its size, is thus halved on the trials it has; Ray Tune keeps
    the nominal ``n_{i+1}``.) A trial reaching ``max_t`` stops (``stop_last_trials=True``)
    or goes on unmanaged.

    Pausing needs checkpoints: class trainables save on pause; function trainables resume
    from their last reported checkpoint (from the start without one). Results lacking
    ``time_attr`` or the metric get ``CONTINUE``. No randomness, no clock. Prefer
    :class:`AsyncHyperBandScheduler` unless you need HyperBand's synchronous brackets
    (e.g. for BOHB: :class:`HyperBandForBOHB`).

    Args:
        time_attr: The result key that measures training progress (default
            ``"training_iteration"``); it must increase from result to result. Milestones
            and ``max_t`` are in its units.
        metric: The result key to compare trials by. None: the run's ``metric``.
        mode: ``"min"`` or ``"max"``. None: the run's ``mode``.
        max_t: The most ``time_attr`` a trial may reach (> 0), the last milestone of every
            bracket. With the default 81 and ``reduction_factor=3`` there are 5 bracket
            shapes (``s_max = 4``).
        reduction_factor: The ratio between milestones and between the numbers of trials
            going on past them (>= 2).
        stop_last_trials: True: a trial that reaches ``max_t`` is stopped. False: it goes
            on, no longer managed by the scheduler.
        reward_attr: 0.5-0.7 spelling: ``reward_attr=name`` means ``metric=name,
            mode="max"`` (with a ``FutureWarning``).

    Raises:
        TypeError: ``time_attr`` is not a non-empty string, ``metric`` is not a string, a
            number is not a number or ``stop_last_trials`` is not a bool.
        ValueError: ``mode`` is not ``"min"``/``"max"``/None, ``max_t`` is not > 0,
            ``reduction_factor`` is below 2, or ``reward_attr`` is given with
            ``metric``/``mode``; at the first trial, when no metric/mode is set anywhere.
    """

    def __init__(
        self,
        time_attr: str = "training_iteration",
        metric: str | None = None,
        mode: str | None = None,
        max_t: float = 81,
        reduction_factor: float = 3,
        stop_last_trials: bool = True,
        *,
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
        self._eta = S.check_number(self, "reduction_factor", reduction_factor, minimum=2)
        self._stop_last_trials = S.check_bool(self, "stop_last_trials", stop_last_trials)
        self.time_attr = time_attr
        self.max_t = max_t
        self.reduction_factor = reduction_factor
        self.stop_last_trials = stop_last_trials
        s_max = 0
        while self._eta ** (s_max + 1) <= self._max_t * (1 + 1e-12):
            s_max += 1
        self._s_max = s_max
        self._brackets: list[_Bracket] = []
        self._bracket_of: dict[str, int] = {}
        self._placed: set[str] = set()  # every trial ever placed in a bracket
        self._trials: dict[str, Trial] = {}
        self._resume: dict[str, None] = {}  # promoted, to resume (in promotion order)
        self._stops = S.StopRequests()  # losers held at a rung, to be stopped
        self._num_stopped = 0
        self._starvation = S.Starvation()

    # -- bracket shapes ------------------------------------------------------------------------
    def _milestones(self, s: int) -> list[float]:
        values = [self._max_t / self._eta ** (s - i) for i in range(s)]
        return [*values, self._max_t]

    def _capacity(self, s: int) -> int:
        return math.ceil((self._s_max + 1) / (s + 1) * self._eta**s - 1e-9)

    def _new_bracket(self) -> _Bracket:
        index = len(self._brackets)
        s = self._s_max - index % (self._s_max + 1)
        bracket = _Bracket(index, s, self._capacity(s), self._milestones(s), self._eta)
        self._brackets.append(bracket)
        return bracket

    # -- contract ------------------------------------------------------------------------------
    def decision_points(self) -> DecisionPoints:
        points = {m for s in range(self._s_max + 1) for m in self._milestones(s)}
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
        if trial_id in self._placed:
            # it left its bracket (stopped at a rung, or past max_t) and a resume brought it
            # back before it had ended: HyperBand is done with it, it must not join another
            self._stops.add(trial_id)
            self._stops.process(runner, self._trials)
            return
        bracket = self._brackets[-1] if self._brackets else None
        if bracket is None or bracket.closed:
            bracket = self._new_bracket()
        bracket.trials.append(trial_id)
        bracket.live[trial_id] = None
        self._bracket_of[trial_id] = bracket.index
        self._placed.add(trial_id)
        if len(bracket.trials) >= bracket.capacity:
            bracket.closed = True

    def on_trial_result(self, runner: RunnerView, trial: Trial, result: dict[str, Any]) -> Decision:
        trial_id = trial.trial_id
        if self._stops.take(trial_id):
            return Decision.STOP
        value = result.get(self._time_attr)
        reward = S.reward_of(result, self._metric, self._mode)
        index = self._bracket_of.get(trial_id)
        if value is None or reward is None or index is None:
            return Decision.CONTINUE
        bracket = self._brackets[index]
        if value >= self._max_t:
            self._leave(runner, trial_id)
            if self._stop_last_trials:
                self._num_stopped += 1
                return Decision.STOP
            return Decision.CONTINUE
        if value < bracket.milestone:
            return Decision.CONTINUE
        bracket.reached.setdefault(trial_id, reward)
        self._complete_rung(runner, bracket)
        if trial_id in self._resume:
            del self._resume[trial_id]
            return Decision.CONTINUE
        if self._stops.take(trial_id):
            return Decision.STOP
        self._paused(trial_id)
        return Decision.PAUSE

    def on_trial_complete(self, runner: RunnerView, trial: Trial, result: dict[str, Any]) -> None:
        self._leave(runner, trial.trial_id)
        self._trials.pop(trial.trial_id, None)

    def on_trial_error(self, runner: RunnerView, trial: Trial) -> None:
        self._leave(runner, trial.trial_id)
        self._trials.pop(trial.trial_id, None)

    def on_trial_remove(self, runner: RunnerView, trial: Trial) -> None:
        self._leave(runner, trial.trial_id)
        self._trials.pop(trial.trial_id, None)

    def choose_trial_to_run(self, runner: RunnerView) -> Trial | None:
        starvation = self._starvation
        if starvation.starved():
            for bracket in self._brackets:
                if not bracket.closed and len(bracket.reached) == len(bracket.live):
                    bracket.closed = True  # the search has nothing more to add for now
                    self._complete_rung(runner, bracket)
        self._stops.process(runner, self._trials)
        for trial_id in list(self._resume):
            trial = self._trials.get(trial_id)
            if trial is not None and S.is_waiting(trial):
                del self._resume[trial_id]
                self._resumed(trial_id)
                return starvation.returned(trial)
        for trial in runner.pending_trials():
            if not self._held(trial.trial_id):
                return starvation.returned(trial)
        for trial in runner.paused_trials():
            if not self._held(trial.trial_id):
                return starvation.returned(trial)
        return starvation.returned(self._stops.next_doomed(self._trials))

    # -- bookkeeping ---------------------------------------------------------------------------
    def _held(self, trial_id: str) -> bool:
        index = self._bracket_of.get(trial_id)
        if index is not None and trial_id in self._brackets[index].reached:
            return True
        return trial_id in self._resume or trial_id in self._stops

    def _leave(self, runner: RunnerView, trial_id: str) -> None:
        """``trial_id`` is out of its bracket (finished, errored or past max_t)."""
        self._resume.pop(trial_id, None)
        self._stops.forget(trial_id)
        index = self._bracket_of.pop(trial_id, None)
        if index is None:
            return
        bracket = self._brackets[index]
        bracket.live.pop(trial_id, None)
        bracket.reached.pop(trial_id, None)
        self._complete_rung(runner, bracket)

    def _complete_rung(self, runner: RunnerView, bracket: _Bracket) -> None:
        """Halve ``bracket`` when every live trial reached its milestone and it is closed."""
        if (
            not bracket.closed
            or not bracket.live
            or bracket.rung >= len(bracket.milestones) - 1
            or len(bracket.reached) < len(bracket.live)
        ):
            return
        order = {t: i for i, t in enumerate(bracket.trials)}
        reached = bracket.reached

        def rank(trial_id: str) -> tuple[float, int]:  # best first, NaN last, ties: join order
            reward = reached[trial_id]
            return (math.inf if math.isnan(reward) else -reward, order[trial_id])

        ranked = sorted(reached, key=rank)
        # the bracket's nominal count, or 1/eta of the trials present when it is partial
        keep = min(bracket.keep[bracket.rung + 1], math.ceil(len(ranked) / self._eta - 1e-9))
        logger.debug(
            "HyperBand: bracket %s rung %s done; %s of %s continue",
            bracket.index,
            bracket.milestone,
            min(keep, len(ranked)),
            len(ranked),
        )
        bracket.rung += 1
        bracket.reached = {}
        for trial_id in ranked[:keep]:
            self._resume[trial_id] = None
        for trial_id in ranked[keep:]:
            bracket.live.pop(trial_id, None)
            del self._bracket_of[trial_id]
            self._stops.add(trial_id)
            self._num_stopped += 1
        self._stops.process(runner, self._trials)

    def _paused(self, trial_id: str) -> None:
        """Hook: ``trial_id`` is being paused at a milestone."""

    def _resumed(self, trial_id: str) -> None:
        """Hook: ``trial_id`` is chosen to resume after a promotion."""

    def current_milestone(self, trial_id: str) -> float | None:
        """The milestone the bracket of ``trial_id`` is at.

        Args:
            trial_id: A trial's id.

        Returns:
            The milestone in units of ``time_attr``, or None when the trial is not in a
            bracket (unknown, finished, or stopped at a rung).
        """
        index = self._bracket_of.get(trial_id)
        return None if index is None else self._brackets[index].milestone

    # -- state ---------------------------------------------------------------------------------
    def _settings(self) -> dict[str, Any]:
        return {
            "time_attr": self._time_attr,
            "max_t": self._max_t,
            "reduction_factor": self._eta,
            "stop_last_trials": self._stop_last_trials,
        }

    def get_state(self) -> dict[str, Any]:
        return {
            "version": S.STATE_VERSION,
            "settings": self._settings(),
            "metric": self._metric,
            "mode": self._mode,
            "brackets": [b.to_state() for b in self._brackets],
            "resume": list(self._resume),
            "stops": self._stops.get_state(),
            "num_stopped": self._num_stopped,
            "starved": self._starvation.get_state(),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        S.restore_common_state(self, state)
        self._brackets = []
        self._bracket_of = {}
        self._placed = set()
        for saved in state["brackets"]:
            bracket = self._new_bracket()
            bracket.rung = int(saved["rung"])
            bracket.closed = bool(saved["closed"])
            bracket.trials = [str(t) for t in saved["trials"]]
            bracket.live = {str(t): None for t in saved["live"]}
            bracket.reached = {str(t): S.decode_reward(r) for t, r in saved["reached"]}
            for trial_id in bracket.live:
                self._bracket_of[trial_id] = bracket.index
            self._placed.update(bracket.trials)
        self._resume = {str(t): None for t in state["resume"]}
        self._stops.set_state(state["stops"])
        self._num_stopped = int(state["num_stopped"])
        self._starvation.set_state(state["starved"])

    def debug_string(self) -> str:
        lines = [
            f"Using HyperBand: num_stopped={self._num_stopped} total_brackets={len(self._brackets)}"
        ]
        for bracket in self._brackets:
            if not bracket.live:
                continue
            lines.append(
                f"Bracket {bracket.index} (s={bracket.s}, size={len(bracket.trials)}/"
                f"{bracket.capacity}, milestone={bracket.milestone:g}): "
                f"{len(bracket.reached)} of {len(bracket.live)} live trials reached it"
            )
        return "\n".join(lines)
