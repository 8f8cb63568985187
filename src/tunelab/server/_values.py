"""Turning results into what the server sends: numeric metrics, strict JSON values, and
bounded histories of a trial's results."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["History", "json_ready", "numeric_metrics"]

#: result keys that are bookkeeping, not metrics worth a column or a curve
_NOT_METRICS = frozenset(
    {
        "config",
        "timestamp",
        "pid",
        "date",
        "done",
        "trial_id",
        "hostname",
        "node_ip",
        "experiment_tag",
        "time_this_iter_s",
        "iterations_since_restore",
        "time_since_restore",
        "timesteps_since_restore",
        "should_checkpoint",
    }
)


def numeric_metrics(result: dict[str, Any]) -> dict[str, float]:
    """The numeric metrics of ``result``: top-level numbers (bools excluded) and numbers in
    nested dicts (keys joined with "/"), without bookkeeping keys and ``config``."""
    out: dict[str, float] = {}
    skip = _NOT_METRICS
    for key, value in result.items():
        kind = type(value)
        if kind is float or kind is int:
            if key not in skip:
                out[key] = value
        elif kind is dict:
            if key not in skip:
                _nested(out, key + "/", value, 0)
        elif isinstance(value, (int, float)) and kind is not bool and key not in skip:
            out[key] = float(value)  # numpy scalars and other number types
    return out


def _nested(out: dict[str, float], prefix: str, value: dict[Any, Any], depth: int) -> None:
    if depth > 4:
        return
    for key, inner in value.items():
        kind = type(inner)
        if kind is float or kind is int:
            out[prefix + str(key)] = inner
        elif kind is dict:
            _nested(out, f"{prefix}{key}/", inner, depth + 1)


def json_ready(value: Any) -> Any:
    """``value`` made strictly JSON-encodable: non-finite floats become ``None`` (browsers
    reject ``NaN`` tokens), tuples become lists, anything else unknown becomes a string."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    from tunelab._json import json_safe

    converted = json_safe(value)
    if isinstance(converted, (dict, list, float)):
        return json_ready(converted)
    return converted if isinstance(converted, (str, bool, int)) or converted is None else str(value)


class History:
    """A bounded history of one trial's results: when full, every other point is dropped
    and only every ``stride``-th later result is kept, so a long run keeps its whole shape."""

    __slots__ = ("cap", "count", "last", "points", "stride")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.points: list[dict[str, float]] = []
        self.stride = 1
        self.count = 0
        self.last: dict[str, float] | None = None

    def add(self, point: dict[str, float]) -> None:
        self.last = point
        if self.count % self.stride == 0:
            self.points.append(point)
            if len(self.points) > self.cap:
                self.points = self.points[::2]
                self.stride *= 2
        self.count += 1

    def snapshot(self) -> list[dict[str, float]]:
        points = list(self.points)
        if self.last is not None and (not points or points[-1] is not self.last):
            points.append(self.last)
        return points
