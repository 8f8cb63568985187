"""Plateau stoppers: stop a trial, or the experiment, once a metric stops moving."""

from __future__ import annotations

import bisect
import math
import numbers
from collections import deque
from typing import Any

from tunelab.stopper._stopper import Stopper, _int_at_least, _metric_name, _positive_number

__all__ = ["EarlyStopping", "ExperimentPlateauStopper", "TrialPlateauStopper"]

_MODES = ("min", "max")


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is missing, not a number, or NaN/inf."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _pstdev(values: Any) -> float:
    """Population standard deviation (ddof=0, as ``numpy.std``) of a non-empty sequence."""
    count = len(values)
    mean = sum(values) / count
    return math.sqrt(sum((v - mean) ** 2 for v in values) / count)


def _check_mode(mode: Any, *, allow_none: bool) -> str | None:
    if mode is None and allow_none:
        return None
    if mode not in _MODES:
        allowed = "'min', 'max' or None" if allow_none else "'min' or 'max'"
        raise ValueError(f"mode must be {allowed}, got {mode!r}")
    return str(mode)


class TrialPlateauStopper(Stopper):
    """Stops a trial once ``metric`` has plateaued in its last ``num_results`` results.

    For each trial, after at least ``grace_period`` results and once ``num_results`` values
    of ``metric`` are known, the trial stops when their standard deviation (population,
    ddof=0) is below ``std``. With ``metric_threshold`` the trial stops only when the
    current value is also at or past the threshold (``<=`` for ``mode="min"``, ``>=`` for
    ``mode="max"``; ``mode`` is then required). Results without a finite numeric ``metric``
    count toward the grace period but not toward the window. It never stops the whole
    experiment.

    Args:
        metric: The result key to watch.
        std: The standard deviation below which the window counts as flat (> 0).
        num_results: The window: how many of the trial's latest values are compared
            (int >= 1).
        grace_period: The least number of results a trial reports before it may be stopped
            (int >= 0).
        metric_threshold: None: stop on any plateau. A number: stop only on a plateau at
            or past it (requires ``mode``).
        mode: ``"min"`` or ``"max"``: which side of ``metric_threshold`` is good enough.
            None: allowed only without ``metric_threshold``.

    Raises:
        TypeError: ``metric`` is not a non-empty string, a number is not a number, a
            count is not an int, or ``metric_threshold`` is not a finite number.
        ValueError: ``std`` is not > 0, a count is out of range, ``mode`` is not
            ``"min"``/``"max"``/None, or ``metric_threshold`` is given without ``mode``.
    """

    def __init__(
        self,
        metric: str,
        std: float = 0.01,
        num_results: int = 4,
        grace_period: int = 4,
        metric_threshold: float | None = None,
        mode: str | None = None,
    ) -> None:
        self.metric = _metric_name("metric", metric)
        self.std = _positive_number("std", std)
        self.num_results = _int_at_least("num_results", num_results, 1)
        self.grace_period = _int_at_least("grace_period", grace_period, 0)
        self.mode = _check_mode(mode, allow_none=True)
        if metric_threshold is not None:
            if _number(metric_threshold) is None:
                raise TypeError(
                    "metric_threshold must be a finite number or None, got "
                    f"{type(metric_threshold).__name__}: {metric_threshold!r}"
                )
            if self.mode is None:
                raise ValueError(
                    "mode must be 'min' or 'max' when metric_threshold is set, got None "
                    f"(metric_threshold={metric_threshold!r})"
                )
        self.metric_threshold = metric_threshold
        self._windows: dict[str, deque[float]] = {}
        self._seen: dict[str, int] = {}

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        seen = self._seen.get(trial_id, 0) + 1
        self._seen[trial_id] = seen
        value = _number(result.get(self.metric))
        if value is None:
            return False
        window = self._windows.get(trial_id)
        if window is None:
            window = self._windows[trial_id] = deque(maxlen=self.num_results)
        window.append(value)
        if seen < self.grace_period or len(window) < self.num_results:
            return False
        threshold = self.metric_threshold
        if threshold is not None:
            if self.mode == "min" and value > threshold:
                return False
            if self.mode == "max" and value < threshold:
                return False
        return _pstdev(window) < self.std

    def stop_all(self) -> bool:
        return False

    def _repr_params(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "std": self.std,
            "num_results": self.num_results,
            "grace_period": self.grace_period,
            "metric_threshold": self.metric_threshold,
            "mode": self.mode,
        }


class ExperimentPlateauStopper(Stopper):
    """Ends the experiment once the best ``top`` values of ``metric`` have plateaued.

    Over all results of all trials it keeps the ``top`` best values (smallest for
    ``mode="min"``, largest for ``"max"``). The experiment has plateaued when ``top`` values
    are known and their standard deviation (population) is ``<= std``; it stops once that
    held for ``patience`` consecutive results (0 and 1 both stop at the first such result).
    ``__call__`` returns the same verdict as ``stop_all``, so every running trial stops with
    the experiment. Results without a finite numeric ``metric`` are ignored.

    Args:
        metric: The result key to watch.
        std: The standard deviation of the ``top`` best values at or below which the
            experiment counts as plateaued (> 0).
        top: How many best values are compared (int >= 2).
        mode: ``"min"`` (default) or ``"max"``: which values are the best.
        patience: How many consecutive results the plateau must hold before the
            experiment stops (int >= 0).

    Raises:
        TypeError: ``metric`` is not a non-empty string, ``std`` is not a number, or a
            count is not an int.
        ValueError: ``std`` is not > 0, ``top`` is below 2, ``patience`` is negative, or
            ``mode`` is not ``"min"``/``"max"``.
    """

    def __init__(
        self,
        metric: str,
        std: float = 0.001,
        top: int = 10,
        mode: str = "min",
        patience: int = 0,
    ) -> None:
        self.metric = _metric_name("metric", metric)
        self.std = _positive_number("std", std)
        self.top = _int_at_least("top", top, 2)
        self.mode = _check_mode(mode, allow_none=False)
        self.patience = _int_at_least("patience", patience, 0)
        # Best values, kept sorted ascending in "minimise" terms (negated for mode="max").
        self._best: list[float] = []
        self._plateau_results = 0

    def top_values(self) -> list[float]:
        """The best values seen so far, best first."""
        sign = -1.0 if self.mode == "max" else 1.0
        return [sign * v for v in self._best]

    def has_plateaued(self) -> bool:
        """True when ``top`` values are known and their standard deviation is ``<= std``."""
        return len(self._best) == self.top and _pstdev(self._best) <= self.std

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        value = _number(result.get(self.metric))
        if value is None:
            return self.stop_all()
        key = -value if self.mode == "max" else value
        if len(self._best) < self.top or key < self._best[-1]:
            bisect.insort(self._best, key)
            del self._best[self.top :]
        if self.has_plateaued():
            self._plateau_results += 1
        else:
            self._plateau_results = 0
        return self.stop_all()

    def stop_all(self) -> bool:
        return self.has_plateaued() and self._plateau_results >= self.patience

    def _repr_params(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "std": self.std,
            "top": self.top,
            "mode": self.mode,
            "patience": self.patience,
        }


EarlyStopping = ExperimentPlateauStopper
"""0.8 name of :class:`ExperimentPlateauStopper`."""
