"""What changed in a policy's state since a reader last took it, at the cost of the change.

The experiment-state journal carries the scheduler's state after every loop step that
changed it, as a delta to the state it carried last. Finding that delta by comparing two
whole states costs O(state), and the states of the rung schedulers grow with the trials
(ASHA records every trial at every rung it reaches), so each step cost O(trials). A policy
with a :class:`ChangeLog` records its changes as they happen, as the journal's delta
operations, and offers ``get_state_changes(since)`` (see
:meth:`~tunelab.schedulers.AsyncHyperBandScheduler.get_state_changes`): the operations
that turn the state ``get_state`` returned when the mark ``since`` was taken into the
state ``get_state`` returns now.

A state is split in two: *tables* that grow with the trials, each change of which is
logged (:meth:`ChangeLog.add`), and a few *fixed-size* parts (settings, counters, a random
state) that a mark keeps a copy of and that are compared whole (:func:`fixed_ops`).

Operations (as in ``tunelab._persistence.state_delta``, which reads them back):
``[path, "set", value]``, ``[path, "del"]`` (a dict key) and ``[path, "tail", keep,
items]`` (keep the first ``keep`` items of the list at ``path``, then append ``items``);
``path`` is a list of dict keys and list indices. Pure bookkeeping: no I/O.
"""

from __future__ import annotations

import weakref
from typing import Any

__all__ = ["ChangeLog", "StateMark", "fixed_ops"]

Op = list[Any]


class StateMark:
    """The state of a policy as a reader took it: where its :class:`ChangeLog` stood then,
    and a copy of the fixed-size parts of the state (``fixed``). Opaque to readers."""

    __slots__ = ("__weakref__", "epoch", "fixed", "log", "position")

    def __init__(self, log: ChangeLog, epoch: int, position: int, fixed: dict[str, Any]) -> None:
        self.log = log
        self.epoch = epoch
        self.position = position
        self.fixed = fixed


class ChangeLog:
    """The logged changes of one policy's state, kept back to the oldest live mark.

    Changes are recorded only while some reader holds a mark (a scheduler used without an
    experiment-state writer logs nothing), and dropped once every mark is past them, so
    the log holds about one loop step of changes. :meth:`reset` (a ``set_state``: the
    whole state changed) makes every earlier mark unusable. A copy or an unpickled log is
    a fresh empty one (marks belong to the original).
    """

    __slots__ = ("_epoch", "_marks", "_ops", "_start")

    def __init__(self) -> None:
        self._ops: list[Op] = []
        self._start = 0  # position of _ops[0] among all the operations of this epoch
        self._epoch = 0
        self._marks: weakref.WeakSet[StateMark] = weakref.WeakSet()

    def __reduce__(self) -> tuple[type[ChangeLog], tuple[()]]:
        return (type(self), ())

    def add(self, op: Op) -> None:
        """Record ``op``, a change just made to the state (nothing when no mark is held)."""
        if self._marks:
            self._ops.append(op)
        elif self._ops:
            self._start += len(self._ops)
            self._ops.clear()

    def reset(self) -> None:
        """The whole state changed: no earlier mark can be followed."""
        self._epoch += 1
        self._start = 0
        self._ops.clear()
        self._marks = weakref.WeakSet()  # earlier marks no longer keep changes logged

    def mark(self, fixed: dict[str, Any]) -> StateMark:
        """A mark of the state now (``fixed``: its fixed-size parts, a private copy)."""
        mark = StateMark(self, self._epoch, self._start + len(self._ops), fixed)
        self._marks.add(mark)
        return mark

    def since(self, mark: Any) -> list[Op] | None:
        """The table operations logged since ``mark`` (None: not a live mark of this log's
        current epoch)."""
        if (
            not isinstance(mark, StateMark)
            or mark.log is not self
            or mark.epoch != self._epoch
            or mark not in self._marks
            or mark.position < self._start
        ):
            return None
        ops = self._ops[mark.position - self._start :]
        self._trim()
        return ops

    def __len__(self) -> int:
        """The operations kept (for tests: it stays about one step's worth)."""
        return len(self._ops)

    def _trim(self) -> None:
        end = self._start + len(self._ops)
        oldest = min((m.position for m in self._marks), default=end)
        if oldest > self._start:
            del self._ops[: oldest - self._start]
            self._start = oldest


def fixed_ops(old: dict[str, Any], new: dict[str, Any]) -> list[Op]:
    """Operations that turn the fixed-size parts ``old`` into ``new`` (both dicts of the
    same keys; a key missing from one of them is set or deleted whole). Tuples stand for
    the JSON lists they encode to (a random state as ``getstate`` gives it)."""
    ops: list[Op] = []
    for key in old:
        if key not in new:
            ops.append([[key], "del"])
    for key, value in new.items():
        if key not in old:
            ops.append([[key], "set", value])
        else:
            _value_ops([key], old[key], value, ops)
    return ops


def _same(a: Any, b: Any) -> bool:
    """The same type and equal (NaN equal to NaN; containers by ``==`` of their items)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and a != a:
        return bool(b != b)
    return bool(a == b)


def _value_ops(path: list[Any], old: Any, new: Any, ops: list[Op]) -> None:
    if _same(old, new):
        return
    if not (isinstance(old, (list, tuple)) and isinstance(new, (list, tuple))):
        ops.append([path, "set", new])
        return
    # a list (a random state: [version, [625 words], gauss]): from its first change on,
    # or inside its one changed item when that item is itself a list
    limit = min(len(old), len(new))
    keep = 0
    while keep < limit and _same(old[keep], new[keep]):
        keep += 1
    if (
        keep < limit
        and len(old) == len(new)
        and isinstance(old[keep], (list, tuple))
        and isinstance(new[keep], (list, tuple))
        and all(_same(a, b) for a, b in zip(old[keep + 1 :], new[keep + 1 :]))
    ):
        _value_ops([*path, keep], old[keep], new[keep], ops)
    else:
        ops.append([path, "tail", keep, list(new[keep:])])
