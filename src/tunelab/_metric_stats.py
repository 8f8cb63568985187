"""Per-metric statistics of a trial (``trial.metric_analysis``), and the numbers a finished
trial shares with the others.

:class:`MetricStats` is what readers see: a read-only mapping (``stats["min"]``, as Ray
Tune's ``trial.metric_analysis[metric]["min"]``) with the attributes ``count``, ``total``,
``max``, ``min``, ``last`` and ``recent``. The controller folds each result into a
:class:`RunningStats`. When a trial ends, :func:`settled` turns a metric that got one value
(every metric of a trial that reports once) into a :class:`OneValueStats`: the same
figures in half the memory, times every finished trial a driver keeps.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

__all__ = ["MetricStats", "OneValueStats", "RunningStats", "settled", "shared_number"]

_STAT_KEYS = ("max", "min", "avg", "last", "last-5-avg", "last-10-avg")


class MetricStats(Mapping[str, float]):
    """The statistics of one numeric metric of one trial (for analysis scopes).

    A read-only mapping with the keys of :meth:`as_dict` (``"max"``, ``"min"``, ``"avg"``,
    ``"last"``, ``"last-5-avg"``, ``"last-10-avg"``), so Ray Tune's
    ``trial.metric_analysis[metric]["last"]`` works.

    Attributes:
        last (float): The latest value.
    """

    __slots__ = ("last",)

    last: float

    @property
    def count(self) -> int:
        """How many values were folded in."""
        raise NotImplementedError

    @property
    def total(self) -> float:
        """The sum of the values."""
        raise NotImplementedError

    @property
    def max(self) -> float:
        """The largest value (``-inf`` before the first one)."""
        raise NotImplementedError

    @property
    def min(self) -> float:
        """The smallest value (``inf`` before the first one)."""
        raise NotImplementedError

    @property
    def recent(self) -> list[float] | None:
        """The last 10 values, from the second value on; None while there is one."""
        raise NotImplementedError

    def running(self) -> RunningStats:
        """Statistics equal to these that take more values (these, when they do)."""
        raise NotImplementedError

    def as_dict(self) -> dict[str, float]:
        """The statistics as a plain dict (the keys of the mapping)."""
        count = self.count
        recent = self.recent
        if recent is None:
            recent = [self.last] if count else []
        last5 = recent[-5:]
        return {
            "max": self.max,
            "min": self.min,
            "avg": self.total / count if count else math.nan,
            "last": self.last,
            "last-5-avg": sum(last5) / len(last5) if last5 else math.nan,
            "last-10-avg": sum(recent) / len(recent) if recent else math.nan,
        }

    def __getitem__(self, key: str) -> float:
        return self.as_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(_STAT_KEYS)

    def __len__(self) -> int:
        return len(_STAT_KEYS)

    def __repr__(self) -> str:
        return f"MetricStats({self.as_dict()!r})"


class RunningStats(MetricStats):
    """Statistics that take values one at a time (:meth:`add`): what the controller keeps
    for a trial's metrics while it runs, and what analysis computes from a trial's files."""

    # ``recent``: the last 10 values from the second one on (a list: a deque allocates ~600
    # bytes for its first value; None while there is one value, ``last``)
    __slots__ = ("count", "max", "min", "recent", "total")  # type: ignore[assignment]

    count: int  # type: ignore[assignment]
    total: float  # type: ignore[assignment]
    max: float  # type: ignore[assignment]
    min: float  # type: ignore[assignment]
    recent: list[float] | None  # type: ignore[assignment]

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.max = -math.inf
        self.min = math.inf
        self.last = math.nan
        self.recent = None

    def running(self) -> RunningStats:
        return self

    def add(self, value: float) -> None:
        """Fold in ``value`` (the metric's next value).

        Args:
            value: The value (an int or a float).
        """
        self.count += 1
        # the first value is the total itself (no float made: one per metric of a trial
        # that reports once)
        self.total = value if self.count == 1 else self.total + value
        if value > self.max:
            self.max = value
        if value < self.min:
            self.min = value
        recent = self.recent
        if recent is None:
            if self.count > 1:
                self.recent = [self.last, value]
        else:
            recent.append(value)
            if len(recent) > 10:
                del recent[0]
        self.last = value


class OneValueStats(MetricStats):
    """The statistics of a metric that got exactly one value: count 1, and that value as
    its total, maximum, minimum and last (40 bytes against :class:`RunningStats`' 80 on
    CPython). Read-only: :meth:`running` gives statistics that take more values.

    Args:
        value: The value.
    """

    __slots__ = ()

    def __init__(self, value: float) -> None:
        self.last = value

    @property
    def count(self) -> int:
        return 1

    @property
    def total(self) -> float:
        return self.last

    @property
    def max(self) -> float:
        return self.last

    @property
    def min(self) -> float:
        return self.last

    @property
    def recent(self) -> list[float] | None:
        return None

    def running(self) -> RunningStats:
        stats = RunningStats()
        stats.add(self.last)
        return stats


def settled(stats: MetricStats) -> MetricStats:
    """``stats`` as a finished trial keeps them: a :class:`OneValueStats` (its value shared
    through :func:`shared_number`) when they hold one value that is their maximum, minimum
    and total (not a NaN, which leaves the maximum at ``-inf`` and the minimum at ``inf``),
    else ``stats`` itself."""
    if type(stats) is RunningStats and stats.count == 1:
        value = stats.last
        if stats.max is value and stats.min is value and stats.total is value:
            return OneValueStats(shared_number(value))
    return stats


#: numbers of finished trials' results, one object per value (floats and ints apart, so 1
#: and 1.0 stay as they were): the ``score`` of 1.0, the worker's ``pid`` and the second's
#: ``timestamp`` that many trials report, a result's time figures that are equal
_FLOATS: dict[float, float] = {}
_INTS: dict[int, int] = {}
#: at most this many of each (cleared when full: the values that recur come back at once)
_MAX_NUMBERS = 4096


def shared_number(value: float) -> float:
    """The one object this module keeps for ``value`` when it is an ``int`` or a ``float``
    (not a subclass such as ``bool`` or ``numpy.float64``, nor a float zero, whose sign an
    equal one could lose), else ``value``: a finished trial's numbers share one object with
    every equal number of the trials that ended lately (24-32 bytes each)."""
    kind = type(value)
    if kind is float:
        if not value:
            return value
        table: dict[float, float] = _FLOATS
    elif kind is int:
        table = _INTS  # type: ignore[assignment]
    else:
        return value
    shared = table.get(value)
    if shared is None:
        if len(table) >= _MAX_NUMBERS:
            table.clear()
        shared = table[value] = value
    return shared
