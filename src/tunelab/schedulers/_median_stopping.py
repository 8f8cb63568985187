"""The median stopping rule (Golovin et al., 2017, "Google Vizier")."""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING, Any

from tunelab._legacy_args import resolve_reward_attr
from tunelab.schedulers import _support as S
from tunelab.schedulers._trial_scheduler import Decision, DecisionPoints, TrialScheduler

if TYPE_CHECKING:
    from tunelab._trial import Trial
    from tunelab.schedulers._trial_scheduler import RunnerView

__all__ = ["MedianStoppingRule"]


class _History:
    """One trial's results as ``(time, reward)``, with prefix sums of the rewards reported
    at ``time >= grace_period`` so that a running mean up to any time costs a bisection."""

    __slots__ = ("best", "grace", "points", "sums", "times")

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.points: list[tuple[float, float]] = []
        self.times: list[float] = []
        self.sums: list[float] = [0.0]
        self.best = -math.inf

    @property
    def last_time(self) -> float:
        return self.points[-1][0]

    def add(self, time: float, reward: float) -> None:
        if self.points and time <= self.points[-1][0]:
            # a trial restored from an earlier checkpoint reports these times again
            kept = [p for p in self.points if p[0] < time]
            self.points, self.times, self.sums, self.best = [], [], [0.0], -math.inf
            for t, r in kept:
                self._append(t, r)
        self._append(time, reward)

    def _append(self, time: float, reward: float) -> None:
        self.points.append((time, reward))
        if not reward <= self.best:  # NaN propagates like max() over the rewards
            self.best = reward
        if time >= self.grace:
            self.times.append(time)
            self.sums.append(self.sums[-1] + reward)

    def running_mean(self, time: float) -> float:
        """Mean reward of the results at ``grace_period <= t <= time`` (NaN if none)."""
        count = bisect.bisect_right(self.times, time)
        return self.sums[count] / count if count else math.nan


class MedianStoppingRule(TrialScheduler):
    """The median stopping rule (Golovin et al., 2017): stop trials that do worse than most.

    After ``grace_period`` (in units of ``time_attr``), at each result the trial's best
    reward so far is compared with the median, over the other trials that reached the same
    time, of their mean result between ``grace_period`` and that time (trials without a
    finite mean there do not count). Worse: the trial is stopped (``hard_stop=True``) or
    paused (``hard_stop=False``; paused trials resume, and are no longer judged, once
    nothing else is left to run). With fewer than ``min_samples_required`` comparable
    trials, the trial yields its worker (``PAUSE``) when other trials wait to run and at
    least ``min_time_slice`` passed since it last yielded, so that trials advance together
    and have something to be compared with.

    Every result is a decision point. Trials waiting to run go first: new trials from the
    search, then trials that yielded, then (when nothing else runs) softly stopped ones.
    Pausing needs checkpoints (class trainables save; function trainables resume from their
    last reported checkpoint, or from the start). No randomness, no clock: time is
    ``time_attr`` in results.

    Args:
        time_attr: The result key that measures training progress (default
            ``"time_total_s"``, seconds of training); ``"training_iteration"`` makes the
            rule independent of speed. It must increase from result to result.
        metric: The result key to compare trials by. None: the run's ``metric``.
        mode: ``"min"`` or ``"max"``. None: the run's ``mode``.
        grace_period: No trial is judged before ``time_attr`` reaches it (>= 0; default
            60, i.e. one minute with the default ``time_attr``), and results before it do
            not count in the running means.
        min_samples_required: The least number of other trials with a mean at the same
            time for the rule to apply (int >= 1).
        min_time_slice: With too few comparable trials, the least ``time_attr`` a trial
            runs between two times it yields its worker to waiting trials (>= 0).
        hard_stop: True: a trial below the median is stopped (TERMINATED). False: it is
            paused, and resumed only when nothing else is left to run.
        reward_attr: 0.5-0.7 spelling: ``reward_attr=name`` means ``metric=name,
            mode="max"`` (with a ``FutureWarning``).

    Raises:
        TypeError: ``time_attr`` is not a non-empty string, ``metric`` is not a string, a
            number is not a number, ``min_samples_required`` is not an int or
            ``hard_stop`` is not a bool.
        ValueError: ``mode`` is not ``"min"``/``"max"``/None, ``grace_period`` or
            ``min_time_slice`` is negative, ``min_samples_required`` is below 1, or
            ``reward_attr`` is given with ``metric``/``mode``; at the first trial, when no
            metric/mode is set anywhere.
    """

    def __init__(
        self,
        time_attr: str = "time_total_s",
        metric: str | None = None,
        mode: str | None = None,
        grace_period: float = 60.0,
        min_samples_required: int = 3,
        min_time_slice: float = 0,
        hard_stop: bool = True,
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
        self._grace_period = S.check_number(self, "grace_period", grace_period, minimum=0)
        self._min_samples = S.check_int(
            self, "min_samples_required", min_samples_required, minimum=1
        )
        self._min_time_slice = S.check_number(self, "min_time_slice", min_time_slice, minimum=0)
        self._hard_stop = S.check_bool(self, "hard_stop", hard_stop)
        self.time_attr = time_attr
        self.grace_period = grace_period
        self.min_samples_required = min_samples_required
        self.min_time_slice = min_time_slice
        self.hard_stop = hard_stop
        self._history: dict[str, _History] = {}
        self._trials: dict[str, Trial] = {}
        self._last_pause: dict[str, float] = {}
        self._soft_stopped: dict[str, None] = {}
        self._num_stopped = 0
        self._starvation = S.Starvation()

    def decision_points(self) -> DecisionPoints | None:
        return None  # every result after the grace period may stop the trial

    def on_trial_add(self, runner: RunnerView, trial: Trial) -> None:
        S.require_metric_mode(self)
        self._starvation.trial_added()
        if not trial.status.is_finished():
            self._trials[trial.trial_id] = trial

    def on_trial_result(self, runner: RunnerView, trial: Trial, result: dict[str, Any]) -> Decision:
        trial_id = trial.trial_id
        time = result.get(self._time_attr)
        reward = S.reward_of(result, self._metric, self._mode)
        if time is None or reward is None or trial_id in self._soft_stopped:
            return Decision.CONTINUE
        history = self._history.get(trial_id)
        if history is None:
            history = self._history[trial_id] = _History(self._grace_period)
        history.add(float(time), reward)
        if time < self._grace_period:
            return Decision.CONTINUE
        means = []
        for other_id, other in self._history.items():
            if other_id != trial_id and other.last_time >= time:
                mean = other.running_mean(time)
                if math.isfinite(mean):  # a trial with no result in the window has none
                    means.append(mean)
        if len(means) < self._min_samples:
            last = self._last_pause.get(trial_id, -math.inf)
            if time - last > self._min_time_slice and self._others_waiting(runner, trial_id):
                self._last_pause[trial_id] = float(time)
                return Decision.PAUSE
            return Decision.CONTINUE
        means.sort()
        middle = len(means) // 2
        median = means[middle] if len(means) % 2 else (means[middle - 1] + means[middle]) / 2
        if history.best < median:
            self._num_stopped += 1
            if self._hard_stop:
                return Decision.STOP
            self._soft_stopped[trial_id] = None
            return Decision.PAUSE
        return Decision.CONTINUE

    def _others_waiting(self, runner: RunnerView, trial_id: str) -> bool:
        for trial in runner.pending_trials():
            if trial.trial_id != trial_id:
                return True
        for trial in runner.paused_trials():
            if trial.trial_id != trial_id and trial.trial_id not in self._soft_stopped:
                return True
        return False

    def on_trial_complete(self, runner: RunnerView, trial: Trial, result: dict[str, Any]) -> None:
        time = (result or {}).get(self._time_attr)
        reward = S.reward_of(result or {}, self._metric, self._mode)
        if time is not None and reward is not None:
            history = self._history.get(trial.trial_id)
            if history is None:
                history = self._history[trial.trial_id] = _History(self._grace_period)
            history.add(float(time), reward)
        self._forget(trial.trial_id)

    def on_trial_error(self, runner: RunnerView, trial: Trial) -> None:
        self._forget(trial.trial_id)

    def on_trial_remove(self, runner: RunnerView, trial: Trial) -> None:
        self._forget(trial.trial_id)

    def _forget(self, trial_id: str) -> None:
        self._trials.pop(trial_id, None)
        self._soft_stopped.pop(trial_id, None)
        self._last_pause.pop(trial_id, None)

    def choose_trial_to_run(self, runner: RunnerView) -> Trial | None:
        starvation = self._starvation
        starved = starvation.starved()
        for trial in runner.pending_trials():
            return starvation.returned(trial)
        if not starved:
            return starvation.returned(None)  # let the search start a new trial first
        for trial in runner.paused_trials():
            if trial.trial_id not in self._soft_stopped:
                return starvation.returned(trial)
        if not S.any_running(runner.get_live_trials()):
            for trial in runner.paused_trials():
                return starvation.returned(trial)
        return starvation.returned(None)

    # -- state ---------------------------------------------------------------------------------
    def _settings(self) -> dict[str, Any]:
        return {
            "time_attr": self._time_attr,
            "grace_period": self._grace_period,
            "min_samples_required": self._min_samples,
            "min_time_slice": self._min_time_slice,
            "hard_stop": self._hard_stop,
        }

    def get_state(self) -> dict[str, Any]:
        return {
            "version": S.STATE_VERSION,
            "settings": self._settings(),
            "metric": self._metric,
            "mode": self._mode,
            "history": {
                t: [[time, S.encode_reward(r)] for time, r in h.points]
                for t, h in self._history.items()
            },
            "last_pause": dict(self._last_pause),
            "soft_stopped": list(self._soft_stopped),
            "num_stopped": self._num_stopped,
            "starved": self._starvation.get_state(),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        S.restore_common_state(self, state)
        self._history = {}
        for trial_id, points in state["history"].items():
            history = self._history[str(trial_id)] = _History(self._grace_period)
            for time, reward in points:
                history.add(float(time), S.decode_reward(reward))
        self._last_pause = {str(k): float(v) for k, v in state["last_pause"].items()}
        self._soft_stopped = {str(t): None for t in state["soft_stopped"]}
        self._num_stopped = int(state["num_stopped"])
        self._starvation.set_state(state["starved"])

    def debug_string(self) -> str:
        return f"Using MedianStoppingRule: num_stopped={self._num_stopped}."
