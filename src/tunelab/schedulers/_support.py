"""Helpers shared by the built-in schedulers: argument checks, the metric in "reward" form
(larger is better whatever the mode), percentiles, random states in JSON, and two pieces of
bookkeeping for schedulers that hold trials (HyperBand, promotion ASHA, median stopping):

* :class:`Starvation` tells when the search has nothing more to give for now (the controller
  asks the scheduler first, then the search algorithm; a ``None`` from
  ``choose_trial_to_run`` followed by no new trial means the search had nothing);
* :func:`stop_held` ends a PAUSED or PENDING trial through ``runner.stop_trial`` when the
  runner offers it.

Nothing here touches processes, files or wall time.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tunelab._trial import TrialStatus

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = [
    "Starvation",
    "StopRequests",
    "check_bool",
    "check_int",
    "check_number",
    "check_time_attr",
    "decode_reward",
    "encode_reward",
    "make_rng",
    "percentile",
    "require_metric_mode",
    "reward_of",
    "rng_from_state",
    "rng_to_state",
    "stop_held",
]

STATE_VERSION = 1


def _name(owner: object) -> str:
    return owner if isinstance(owner, str) else type(owner).__name__


def check_time_attr(owner: object, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(
            f"{_name(owner)}: `time_attr` must be a result key (non-empty str), got {value!r}"
        )
    return value


def check_number(
    owner: object,
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    strict: bool = False,
) -> float:
    """A real number (not bool, not NaN), ``> minimum`` when ``strict`` else ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{_name(owner)}: `{name}` must be a number, got {value!r}")
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"{_name(owner)}: `{name}` must not be NaN")
    if minimum is not None:
        if strict and not number > minimum:
            raise ValueError(f"{_name(owner)}: `{name}` must be > {minimum:g}, got {value!r}")
        if not strict and not number >= minimum:
            raise ValueError(f"{_name(owner)}: `{name}` must be >= {minimum:g}, got {value!r}")
    return number


def check_int(owner: object, name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{_name(owner)}: `{name}` must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{_name(owner)}: `{name}` must be >= {minimum}, got {value!r}")
    return int(value)


def check_bool(owner: object, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{_name(owner)}: `{name}` must be True or False, got {value!r}")
    return value


def require_metric_mode(owner: Any) -> None:
    """ValueError naming both ``metric`` and ``mode`` when either is unset."""
    if not owner.metric or owner.mode not in ("min", "max"):
        raise ValueError(
            f"{type(owner).__name__} has no metric and mode to compare trials with (got "
            f"metric={owner.metric!r}, mode={owner.mode!r}): pass `metric` and `mode` to the "
            "scheduler, or to tune.TuneConfig / tune.run"
        )


def reward_of(result: dict[str, Any], metric: str | None, mode: str | None) -> float | None:
    """The metric as a reward (``mode="min"`` negates it); None when missing or not a number."""
    if metric is None:
        return None
    value = result.get(metric)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return -number if mode == "min" else number


def encode_reward(value: float) -> float | None:
    """NaN -> None, for JSON state (decoded by :func:`decode_reward`)."""
    return None if math.isnan(value) else value


def decode_reward(value: Any) -> float:
    return math.nan if value is None else float(value)


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ascending ``ordered`` (no NaN), interpolated
    linearly between closest ranks like numpy's default method."""
    n = len(ordered)
    if n == 1:
        return ordered[0]
    position = (q / 100.0) * (n - 1)
    low = math.floor(position)
    high = min(low + 1, n - 1)
    fraction = position - low
    a, b = ordered[low], ordered[high]
    diff = b - a
    if fraction >= 0.5:
        return b - diff * (1.0 - fraction)
    return a + diff * fraction


# -- random states -------------------------------------------------------------------------
def make_rng(owner: object, seed: Any) -> random.Random:
    """``seed``: None (fresh entropy), an int, or a ``random.Random`` (used as given)."""
    if seed is None:
        return random.Random()
    if isinstance(seed, random.Random):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"{_name(owner)}: `seed` must be None, an int or a random.Random, got {seed!r}"
        )
    return random.Random(int(seed))


def rng_to_state(rng: random.Random) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def rng_from_state(rng: random.Random, state: list[Any]) -> None:
    version, internal, gauss = state
    rng.setstate((version, tuple(internal), gauss))


# -- trials the scheduler holds ------------------------------------------------------------
class Starvation:
    """Did the search have nothing to give the last time the controller asked it?

    Call :meth:`returned` with what ``choose_trial_to_run`` returns, :meth:`trial_added` from
    ``on_trial_add``. :meth:`starved` is True when the previous ``choose_trial_to_run``
    returned None and no trial was added since: the controller then asked the search
    algorithm, which had nothing (finished, or waiting).
    """

    __slots__ = ("_asked",)

    def __init__(self) -> None:
        self._asked = False

    def starved(self) -> bool:
        return self._asked

    def returned(self, trial: Trial | None) -> Trial | None:
        self._asked = trial is None
        return trial

    def trial_added(self) -> None:
        self._asked = False

    def get_state(self) -> bool:
        return self._asked

    def set_state(self, value: Any) -> None:
        self._asked = bool(value)


def is_waiting(trial: Trial) -> bool:
    """PAUSED or PENDING: not running, not finished (can be resumed or stopped)."""
    return str(trial.status) in (TrialStatus.PAUSED, TrialStatus.PENDING)


def any_running(trials: Iterable[Trial]) -> bool:
    return any(str(t.status) == TrialStatus.RUNNING for t in trials)


def stop_held(runner: Any, trial: Trial) -> bool:
    """Ask the runner to terminate a PAUSED/PENDING ``trial``; False when it cannot.

    Runners without ``stop_trial`` get the fallback of the schedulers that hold trials: the
    trial is resumed and stopped at the first result it reports (one extra iteration).
    """
    stop = getattr(runner, "stop_trial", None)
    if stop is None:
        return False
    try:
        stop(trial)
    except NotImplementedError:
        return False
    return True


class StopRequests:
    """Trials a scheduler decided to end while they do not run (held at a rung).

    ``add`` a trial when the decision is taken; :meth:`process` (from
    ``choose_trial_to_run`` and after decisions) asks ``runner.stop_trial`` for those that
    are PAUSED or PENDING by now (a trial whose pause is still in flight waits for the next
    call). Runners without ``stop_trial``: the trial becomes *doomed*, to be resumed and
    stopped at the first result it reports (:meth:`take`). Requested trials stay held until
    the scheduler hears ``on_trial_complete`` (:meth:`forget`).
    """

    __slots__ = ("doomed", "pending", "requested")

    def __init__(self) -> None:
        self.pending: dict[str, None] = {}
        self.requested: dict[str, None] = {}
        self.doomed: dict[str, None] = {}

    def __contains__(self, trial_id: object) -> bool:
        return trial_id in self.pending or trial_id in self.requested or trial_id in self.doomed

    def add(self, trial_id: str) -> None:
        self.pending[trial_id] = None

    def take(self, trial_id: str) -> bool:
        """True (once) when ``trial_id`` reports a result it must be stopped at."""
        if trial_id in self.pending or trial_id in self.doomed:
            self.pending.pop(trial_id, None)
            self.doomed.pop(trial_id, None)
            return True
        return False

    def forget(self, trial_id: str) -> None:
        self.pending.pop(trial_id, None)
        self.requested.pop(trial_id, None)
        self.doomed.pop(trial_id, None)

    def process(self, runner: Any, trials: dict[str, Trial]) -> None:
        for trial_id in list(self.pending):
            trial = trials.get(trial_id)
            if trial is None:
                del self.pending[trial_id]
            elif is_waiting(trial):
                del self.pending[trial_id]
                if stop_held(runner, trial):
                    self.requested[trial_id] = None
                else:
                    self.doomed[trial_id] = None

    def next_doomed(self, trials: dict[str, Trial]) -> Trial | None:
        """A doomed trial to resume (so that it can be stopped), or None."""
        for trial_id in self.doomed:
            trial = trials.get(trial_id)
            if trial is not None and is_waiting(trial):
                return trial
        return None

    def get_state(self) -> dict[str, list[str]]:
        return {
            "pending": list(self.pending),
            "requested": list(self.requested),
            "doomed": list(self.doomed),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        # requests made before a restart were lost with the old runner: ask again
        pending = [*state.get("pending", []), *state.get("requested", [])]
        self.pending = {str(t): None for t in pending}
        self.requested = {}
        self.doomed = {str(t): None for t in state.get("doomed", [])}


def restore_common_state(scheduler: Any, state: dict[str, Any]) -> None:
    """The part of ``set_state`` every rung scheduler shares: check the state's version and
    settings against ``scheduler._settings()``, adopt its metric/mode if unset."""
    name = type(scheduler).__name__
    if state.get("version") != STATE_VERSION:
        raise ValueError(
            f"{name}.set_state: unsupported state version {state.get('version')!r} "
            f"(expected {STATE_VERSION})"
        )
    if state.get("settings") != scheduler._settings():
        raise ValueError(
            f"{name}.set_state: the state was saved with other settings "
            f"({state.get('settings')!r}); this scheduler has {scheduler._settings()!r}"
        )
    if state.get("metric") and not scheduler._metric:
        scheduler._metric = state["metric"]
    if state.get("mode") and not scheduler._mode:
        scheduler._mode = state["mode"]
