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
from typing import NamedTuple

__all__ = ["Deadline", "Deadlines", "force_end_text"]


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
