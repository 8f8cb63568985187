"""The ``Stopper`` extension point and the simple built-in stoppers."""

from __future__ import annotations

import abc
import datetime
import inspect
import logging
import math
import numbers
import time
from collections.abc import Callable
from typing import Any

__all__ = [
    "CombinedStopper",
    "FunctionStopper",
    "MaximumIterationStopper",
    "NoopStopper",
    "Stopper",
    "TimeoutStopper",
]

logger = logging.getLogger("tunelab")


def _int_at_least(argument: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{argument} must be an int >= {minimum}, got {type(value).__name__}: {value!r}"
        )
    if value < minimum:
        raise ValueError(f"{argument} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _positive_number(argument: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{argument} must be a number > 0, got {type(value).__name__}: {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{argument} must be a finite number > 0, got {value!r}")
    return float(value)


def _metric_name(argument: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{argument} must be a non-empty metric name (str), got {value!r}")
    return value


class Stopper(abc.ABC):
    """Decides when trials, or the whole experiment, stop. Subclass it to write your own.

    Implement :meth:`__call__` and :meth:`stop_all`, then pass an instance as
    ``tune.run(stop=...)`` or ``RunConfig(stop=...)``.

    Call protocol (the controller is the only caller, from its single thread):

    * ``__call__(trial_id, result)`` once for every result of every trial, in the order the
      controller receives them, before the scheduler sees that result. Return True to stop
      that trial; the result that triggered the stop is still logged, no later one is.
    * ``stop_all()`` after every result (and once when the experiment starts). Return True to
      stop every trial and end the experiment.

    A stopper may keep state across trials and results (counters, best values, clocks).
    It is a pure policy: it must not touch processes, threads or files, and should be cheap,
    because with a custom stopper every result waits for its verdict. Stoppers live in the
    controller process only; they are pickled with the experiment for resume.
    """

    @abc.abstractmethod
    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        """Decide whether the trial ``trial_id`` stops after ``result``.

        Args:
            trial_id: The id of the trial that reported ``result``.
            result: The result dict (the trial's metrics plus ``training_iteration``,
                ``time_total_s``, ...).

        Returns:
            True to stop that trial (TERMINATED), False to let it go on.
        """

    @abc.abstractmethod
    def stop_all(self) -> bool:
        """Decide whether the whole experiment stops.

        Returns:
            True to stop every running trial and end the experiment (trials still waiting
            end TERMINATED without running); False to go on.
        """

    def use_clock(self, clock: Callable[[], float]) -> None:  # noqa: B027
        """Called by the front door, before the first result, when the run keeps its own
        time (a :class:`~tunelab.testing.SimulatedExecutor`): ``clock()`` returns the run's
        seconds. A stopper that measures time reads it instead of the wall clock; the
        default ignores it. Not called for runs in real time.

        Args:
            clock: A function returning the run's current time in seconds.
        """

    def _repr_params(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._repr_params().items())
        return f"{type(self).__name__}({params})"


class NoopStopper(Stopper):
    """Never stops anything (a placeholder where a stopper is required)."""

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return False

    def stop_all(self) -> bool:
        return False


class MaximumIterationStopper(Stopper):
    """Stops each trial after ``max_iter`` of its results have been seen by this stopper.

    Counts results per trial id (not ``training_iteration``), so a restored trial counts the
    results it reports after the restore on top of those seen before. For a limit on
    ``training_iteration`` itself, use ``stop={"training_iteration": n}``.

    Args:
        max_iter: The number of results after which a trial stops (int >= 1).

    Raises:
        TypeError: ``max_iter`` is not an int.
        ValueError: ``max_iter`` is below 1.
    """

    def __init__(self, max_iter: int) -> None:
        self.max_iter = _int_at_least("max_iter", max_iter, 1)
        self._counts: dict[str, int] = {}

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        count = self._counts.get(trial_id, 0) + 1
        self._counts[trial_id] = count
        return count >= self.max_iter

    def stop_all(self) -> bool:
        return False

    def _repr_params(self) -> dict[str, Any]:
        return {"max_iter": self.max_iter}


class TimeoutStopper(Stopper):
    """Ends the experiment once ``timeout`` has elapsed (``stop_all`` returns True).

    ``timeout`` is a number of seconds or a :class:`datetime.timedelta`. The clock starts at
    the first ``stop_all`` call. ``clock`` returns seconds and can be given to run in
    simulated time; by default the stopper reads ``time.time()`` at each call, as Ray Tune's
    does, so tests that patch the clock (``freezegun.freeze_time``,
    ``unittest.mock.patch("time.time")``) reach it. When the stopper is pickled (experiment
    checkpoint) it keeps only the time already used, so a resumed experiment gets the rest
    of the budget. It never stops a single trial (``__call__`` returns False).

    Args:
        timeout: The time budget: seconds (a number > 0) or a positive
            :class:`datetime.timedelta`.
        clock: ``fn() -> seconds``, the clock the budget is measured on. None: the run's
            clock for simulated runs, else ``time.time()``.

    Raises:
        TypeError: ``timeout`` is neither a number nor a ``timedelta``, or ``clock`` is not
            callable.
        ValueError: ``timeout`` is not positive (or not finite).
    """

    def __init__(
        self,
        timeout: float | datetime.timedelta,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if isinstance(timeout, datetime.timedelta):
            seconds = timeout.total_seconds()
            if seconds <= 0:
                raise ValueError(f"timeout must be a positive duration, got {timeout!r}")
        elif isinstance(timeout, numbers.Real) and not isinstance(timeout, bool):
            seconds = _positive_number("timeout", timeout)
        else:
            raise TypeError(
                "timeout must be a number of seconds or a datetime.timedelta, got "
                f"{type(timeout).__name__}: {timeout!r}"
            )
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be a callable returning seconds, got {clock!r}")
        self.timeout = timeout
        self.clock = clock
        self._budget = seconds
        self._start: float | None = None
        self._used_before = 0.0
        self._run_clock: Callable[[], float] | None = None

    @property
    def budget_s(self) -> float:
        """The time budget in seconds."""
        return self._budget

    def _now(self) -> float:
        # time.time looked up at each call (not bound at import): a patched clock is seen
        clock = self.clock or self._run_clock
        return time.time() if clock is None else clock()

    def use_clock(self, clock: Callable[[], float]) -> None:
        """Measure the budget on the run's clock, unless a ``clock`` was given.

        Args:
            clock: A function returning the run's current time in seconds.
        """
        self._run_clock = clock

    def elapsed(self) -> float:
        """Seconds counted against the budget so far (0 before the first ``stop_all``)."""
        if self._start is None:
            return self._used_before
        return self._used_before + max(0.0, self._now() - self._start)

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return False

    def stop_all(self) -> bool:
        if self._start is None:
            self._start = self._now()
        if self.elapsed() >= self._budget:
            logger.info("Reached the time budget of %s seconds; stopping all trials.", self._budget)
            return True
        return False

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_used_before"] = self.elapsed()
        state["_start"] = None
        state["_run_clock"] = None  # the run's clock belongs to that run (its executor)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("_run_clock", None)
        self.__dict__.update(state)

    def _repr_params(self) -> dict[str, Any]:
        return {"timeout": self.timeout}


class CombinedStopper(Stopper):
    """Stops when any of ``stoppers`` says so (for trials and for the experiment).

    Every member is called for every result (no short-circuit), so stateful members keep
    counting even when an earlier one already decided to stop.

    Args:
        *stoppers: The stoppers to combine (none: never stops).

    Raises:
        TypeError: A member is not a :class:`Stopper` (a dict or a plain function must be
            wrapped, e.g. in :class:`FunctionStopper`).
    """

    def __init__(self, *stoppers: Stopper) -> None:
        for index, stopper in enumerate(stoppers):
            if not isinstance(stopper, Stopper):
                raise TypeError(
                    f"stoppers[{index}] must be a tunelab.stopper.Stopper, got "
                    f"{type(stopper).__name__}: {stopper!r}"
                )
        self.stoppers = tuple(stoppers)

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        decisions = [bool(s(trial_id, result)) for s in self.stoppers]
        return any(decisions)

    def stop_all(self) -> bool:
        decisions = [bool(s.stop_all()) for s in self.stoppers]
        return any(decisions)

    def use_clock(self, clock: Callable[[], float]) -> None:
        for stopper in self.stoppers:
            stopper.use_clock(clock)

    def __repr__(self) -> str:
        return f"CombinedStopper({', '.join(repr(s) for s in self.stoppers)})"


class FunctionStopper(Stopper):
    """Wraps ``function(trial_id, result) -> bool``; a true return stops that trial.

    Never stops the whole experiment. ``tune.run(stop=callable)`` wraps the callable in this.

    Args:
        function: A callable taking ``(trial_id, result)`` positionally; its return value
            is read as a bool.

    Raises:
        TypeError: ``function`` is not callable with two positional arguments (a class is
            refused too).
    """

    def __init__(self, function: Callable[[str, dict[str, Any]], Any]) -> None:
        if not self.is_valid_function(function):
            raise TypeError(
                "function must be a callable taking (trial_id, result) and returning a bool, "
                f"got {function!r}"
            )
        self.function = function

    @staticmethod
    def is_valid_function(fn: Any) -> bool:
        """Whether ``fn`` can be a :class:`FunctionStopper`'s function.

        Args:
            fn: Any object.

        Returns:
            True when ``fn`` is callable (and not a class) with two positional arguments,
            or callable with a signature that cannot be inspected.
        """
        if not callable(fn) or isinstance(fn, type):
            return False
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError):
            return True
        try:
            signature.bind("trial_id", {})
        except TypeError:
            return False
        return True

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return bool(self.function(trial_id, result))

    def stop_all(self) -> bool:
        return False

    def _repr_params(self) -> dict[str, Any]:
        return {"function": self.function}
