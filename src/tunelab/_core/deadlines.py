"""When to force-end a trial that does not answer: the controller's book of deadlines.

A trial asked to stop or pause, or one with a ``time_total_s`` limit, gets a deadline on the
controller's clock; if it is still running then, the controller force-ends it. This module
only keeps the book (no clock, no processes): the controller arms deadlines with the time it
reads, disarms them when a trial (re)starts, and asks which are due.

Each trial has at most one deadline that counts: the earliest armed since it last started.
Deadlines sit in a heap keyed by time; a superseded or disarmed entry stays in the heap and
is skipped when it comes up (cheaper than removing it).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

__all__ = ["Deadline", "Deadlines", "ForceEnds", "force_end_text", "time_limits"]


class Deadline(NamedTuple):
    """A due deadline: the trial, ``kind`` ("stop", "pause" or "time") and why."""

    trial_id: str
    kind: str
    why: str


class Deadlines:
    """The armed deadlines of the running trials (see the module docstring)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str]] = []
        self._armed: dict[str, tuple[int, float, str, str]] = {}
        self._seq = itertools.count()

    def __bool__(self) -> bool:
        """Whether any deadline may still come up (the controller skips :meth:`due` if not)."""
        return bool(self._heap)

    def arm(self, trial_id: str, when: float, kind: str, why: str) -> None:
        """Force-end ``trial_id`` at ``when`` unless an earlier deadline is armed for it."""
        current = self._armed.get(trial_id)
        if current is not None and current[1] <= when:
            return
        seq = next(self._seq)
        self._armed[trial_id] = (seq, when, kind, why)
        heapq.heappush(self._heap, (when, seq, trial_id))

    def disarm(self, trial_id: str) -> None:
        """``trial_id`` (re)started: the deadlines of its earlier run no longer count."""
        self._armed.pop(trial_id, None)

    def due(self, now: float) -> list[Deadline]:
        """The deadlines at or before ``now``, earliest first, each returned once."""
        heap, armed, out = self._heap, self._armed, []
        while heap and heap[0][0] <= now:
            _, seq, trial_id = heapq.heappop(heap)
            entry = armed.get(trial_id)
            if entry is None or entry[0] != seq:
                continue  # superseded, or a deadline of an earlier run of the trial
            del armed[trial_id]
            out.append(Deadline(trial_id, entry[2], entry[3]))
        return out


#: dict stop criteria that are wall-clock time limits (held by the controller's clock too)
TIME_CRITERIA = ("time_total_s", "time_since_restore")


def time_limits(criteria: Mapping[str, Any]) -> list[tuple[str, float]]:
    """The wall-clock time limits among dict stop ``criteria``."""
    limits = []
    for key in TIME_CRITERIA:
        value = criteria.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            limits.append((key, float(value)))
    return limits


class ForceEnds:
    """When to force-end which trial: the grace a stop or pause request gets, the time
    limits of dict stop criteria, and the book of deadlines. A policy: it reads the clock
    it is given and names the trials due; the controller ends them.

    Args:
        clock: The run's clock.
        grace_s: The grace of a stop or pause request (>= 0).
        function_grace_s: A function trainable's grace (Ray's
            ``TUNE_FUNCTION_THREAD_TIMEOUT_S``); None: ``grace_s``.
        can_kill: Whether the executor can force-end trials (if not, nothing is armed).
        limits: Per experiment (by index), its time limits (see :func:`time_limits`).
        is_function: Whether a trial (by id) runs a function trainable.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        grace_s: float,
        function_grace_s: float | None,
        can_kill: bool,
        limits: Sequence[list[tuple[str, float]]],
        is_function: Callable[[str], bool],
    ) -> None:
        if not grace_s >= 0:
            raise ValueError(f"stop_grace_s must be a number >= 0, got {grace_s!r}")
        self._clock = clock
        self._grace = grace_s
        self._function_grace = grace_s if function_grace_s is None else function_grace_s
        self._can_kill = can_kill
        self._limits = list(limits)
        self._is_function = is_function
        self._book = Deadlines()

    def __bool__(self) -> bool:
        return bool(self._book)

    def grace_of(self, trial_id: str) -> float:
        """The grace of ``trial_id``: a function trainable's own, else the general one."""
        return self._function_grace if self._is_function(trial_id) else self._grace

    def arm_stop(self, trial_id: str, kind: str, why: str) -> None:
        """``trial_id`` was asked to stop or pause (``kind``): force-end it if it still
        runs after its grace."""
        if self._can_kill:
            self._book.arm(trial_id, self._clock() + self.grace_of(trial_id), kind, why)

    def started(self, trial_id: str, experiment_index: int, restored_time_s: float) -> None:
        """``trial_id`` (re)started: earlier deadlines no longer count; a dict stop on
        ``time_total_s`` (or ``time_since_restore``) is checked by the worker at each report,
        and a trial that stops reporting is held to it by this clock: the restored time
        (``restored_time_s``) plus the time since it started."""
        self._book.disarm(trial_id)
        limits = self._limits[experiment_index]
        if not limits or not self._can_kill:
            return
        now = self._clock()
        for key, limit in limits:
            left = limit - (restored_time_s if key == "time_total_s" else 0.0)
            when = now + max(left, 0.0) + self.grace_of(trial_id)
            self._book.arm(trial_id, when, "time", f"{key}={limit:g}")

    def due(self) -> list[Deadline]:
        """The deadlines due now, earliest first, each once."""
        return self._book.due(self._clock())


def force_end_text(
    trial: str, kind: str, why: str, grace_s: float, what: str, checkpoint: str | None
) -> str:
    """What ``error.txt`` says (and what is printed) when ``trial`` is force-ended.

    Args:
        trial: The trial's name.
        kind: The deadline's kind: ``"stop"``, ``"pause"`` or ``"time"``.
        why: Why it was asked to end (for ``"time"``: the stop criterion reached).
        grace_s: The grace it had.
        what: What the executor did to end it (``kill_trial``'s answer).
        checkpoint: A paused trial's latest checkpoint (it resumes from there), if any.
    """
    grace = f"{grace_s:g} s"
    if kind == "time":
        text = (
            f"Trial {trial} reached its stop criterion {why} by the controller's clock "
            f"without reporting, and did not end within {grace} after it; {what}.\n"
        )
    else:
        text = (
            f"Trial {trial} did not respond to a {kind} request ({why}) within {grace}; {what}.\n"
        )
    if kind == "pause":
        text += (
            f"It stays paused and resumes from its latest checkpoint ({checkpoint}).\n"
            if checkpoint
            else "It stays paused; it has no checkpoint and resumes from the beginning.\n"
        )
    return text
