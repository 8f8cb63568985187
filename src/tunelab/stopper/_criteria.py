"""Dict stop criteria (``stop={"training_iteration": 10, "mean_accuracy": 0.98}``).

A result meets the criteria when any ``result[key] >= threshold`` (thresholds assume the
metric increases; use a :class:`~tunelab.stopper.Stopper` for anything else). A key may be a
"/"-joined path into nested result dicts (``"info/episode_reward"``); a key that is absent from
a result (or whose value is None) is skipped, with one log line per key.

This module runs inside worker processes on every result: it imports nothing heavy, and
:class:`StopCriteria` splits the nested paths once so that a check is a few dict lookups.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Mapping
from typing import Any

from tunelab._errors import TuneTypeError, TuneValueError

__all__ = ["StopCriteria", "check_stop_criteria", "validate_stop_criteria"]

logger = logging.getLogger("tunelab")

_DELIMITER = "/"
_MISSING = object()
_warned_missing: set[str] = set()


def validate_stop_criteria(criteria: Any, argument: str = "stop") -> dict[str, Any]:
    """Check a dict of stop criteria and return it as a plain ``dict``.

    A criterion ``{key: threshold}`` is met when ``result[key] >= threshold``; nested
    result keys are addressed with "/"-joined keys (``"info/episode_reward"``).

    Args:
        criteria: The criteria, e.g. ``{"training_iteration": 10, "mean_accuracy": 0.98}``.
        argument: The name used in error messages (``"stop"`` by default).

    Returns:
        The criteria as a new plain ``dict``.

    Raises:
        TypeError: ``criteria`` is not a mapping, a key is not a non-empty string or a
            threshold is not a number.
        ValueError: A threshold is NaN, or a value is a nested dict of criteria (use
            "/"-joined keys instead).
    """
    if not isinstance(criteria, Mapping):
        raise TuneTypeError(
            f"{argument} must be a dict of {{metric: threshold}}, got "
            f"{type(criteria).__name__}: {criteria!r}"
        )
    out: dict[str, Any] = {}
    for key, value in criteria.items():
        if not isinstance(key, str) or not key:
            raise TuneTypeError(
                f"{argument}: every key must be a non-empty metric name (str), got {key!r}"
            )
        if isinstance(value, Mapping):
            example = f"{key}/{next(iter(value), 'sub_key')}"
            raise TuneValueError(
                f"{argument}: the criterion for {key!r} is a nested dict ({value!r}); "
                f"nested metrics are addressed with '/'-joined keys, e.g. {{{example!r}: ...}}"
            )
        if not isinstance(value, numbers.Real):
            raise TuneTypeError(
                f"{argument}: the threshold for {key!r} must be a number, got "
                f"{type(value).__name__}: {value!r}"
            )
        if value != value:  # NaN: no result value could ever reach it
            raise TuneValueError(f"{argument}: the threshold for {key!r} must not be NaN")
        out[key] = value
    return out


def _lookup(result: Mapping[str, Any], key: str, path: tuple[str, ...] | None) -> Any:
    value = result.get(key, _MISSING)
    if value is not _MISSING or path is None:
        return value
    node: Any = result
    for part in path:
        if not isinstance(node, Mapping):
            return _MISSING
        node = node.get(part, _MISSING)
        if node is _MISSING:
            return _MISSING
    return node


def _met(key: str, value: Any, threshold: Any) -> bool:
    try:
        return bool(value >= threshold)
    except TypeError:
        raise TuneTypeError(
            f"stop criterion {key!r}: the result value {value!r} ({type(value).__name__}) "
            f"cannot be compared with the threshold {threshold!r}"
        ) from None


def _warn_missing(key: str, seen: set[str]) -> None:
    if key not in seen:
        seen.add(key)
        logger.warning(
            "Stop criterion %r was not found in a result; it is ignored while missing. "
            "Check the metric name (nested metrics use '/'-joined keys).",
            key,
        )


class StopCriteria:
    """Validated dict criteria with their nested paths split once.

    ``StopCriteria(criteria)(result)`` returns the first key whose threshold the result
    reached (``result[key] >= threshold``), or None. A key missing from a result is skipped
    (with one warning per key). Workers use it to check the run's ``stop`` dict on every
    result.

    Args:
        criteria: The criteria, e.g. ``{"training_iteration": 10}``.
        argument: The name used in error messages (``"stop"`` by default).

    Raises:
        TypeError: As :func:`validate_stop_criteria`; also when called, if a result value
            cannot be compared with its threshold.
        ValueError: As :func:`validate_stop_criteria`.
    """

    __slots__ = ("_items", "_warned", "criteria")

    def __init__(self, criteria: Mapping[str, Any], argument: str = "stop") -> None:
        self.criteria = validate_stop_criteria(criteria, argument)
        self._items = [
            (key, tuple(key.split(_DELIMITER)) if _DELIMITER in key else None, value)
            for key, value in self.criteria.items()
        ]
        self._warned: set[str] = set()

    def __call__(self, result: Mapping[str, Any]) -> str | None:
        for key, path, threshold in self._items:
            value = _lookup(result, key, path)
            if value is _MISSING or value is None:
                _warn_missing(key, self._warned)
                continue
            if _met(key, value, threshold):
                return key
        return None

    def __bool__(self) -> bool:
        return bool(self._items)

    def __repr__(self) -> str:
        return f"StopCriteria({self.criteria!r})"


def check_stop_criteria(criteria: Mapping[str, Any], result: Mapping[str, Any]) -> str | None:
    """Return the first key of ``criteria`` whose threshold ``result`` reached, or None.

    ``criteria`` must have passed :func:`validate_stop_criteria`. Keys present verbatim in
    ``result`` are read directly; other keys containing "/" are followed into nested dicts.
    A key missing from ``result`` is skipped (with one warning per key). For a hot loop
    prefer :class:`StopCriteria`, which splits the paths once.

    Args:
        criteria: Validated criteria, ``{key: threshold}``.
        result: A result dict.

    Returns:
        The first key with ``result[key] >= threshold``, or None when no criterion is met.

    Raises:
        TypeError: A result value cannot be compared with its threshold.
    """
    for key, threshold in criteria.items():
        value = result.get(key, _MISSING)
        if value is _MISSING and _DELIMITER in key:
            value = _lookup(result, key, tuple(key.split(_DELIMITER)))
        if value is _MISSING or value is None:
            _warn_missing(key, _warned_missing)
            continue
        if _met(key, value, threshold):
            return key
    return None
