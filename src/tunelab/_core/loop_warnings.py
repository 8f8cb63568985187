"""The experiment loop's warnings about itself: a step part that is slow (Ray Tune's
``TUNE_WARN_THRESHOLD_S``) and trials that wait while none runs (Ray Tune's
``TUNE_WARN_INSUFFICENT_RESOURCE_THRESHOLD_S``). Each decides when to log; the controller
measures and hands in what it sees."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

__all__ = ["SLOW_WARNINGS_QUIET_S", "IdleWarning", "SlowStepWarnings"]

logger = logging.getLogger("tunelab")

#: no slow-step warnings in a run's first seconds, as Ray (start-up is slow by nature)
SLOW_WARNINGS_QUIET_S = 60.0


class SlowStepWarnings:
    """Warns when a part of a loop step takes longer than ``threshold_s`` (0: never), at
    most once a minute for each part and not in the run's first :data:`SLOW_WARNINGS_QUIET_S`
    seconds (counted from construction)."""

    def __init__(self, threshold_s: float) -> None:
        self.threshold_s = threshold_s
        self._warned: dict[str, float] = {}
        self._quiet_until = time.perf_counter() + SLOW_WARNINGS_QUIET_S

    @property
    def enabled(self) -> bool:
        return self.threshold_s > 0

    def check(self, what: str, started: float) -> float:
        """``what`` began at ``started`` (a ``perf_counter`` time); returns the time now."""
        now = time.perf_counter()
        took = now - started
        if (
            took > self.threshold_s
            and now >= self._quiet_until
            and now - self._warned.get(what, -math.inf) >= 60.0
        ):
            self._warned[what] = now
            logger.warning(
                "tunelab: %s took %.3f s in one step of the experiment loop, which may be a "
                "performance bottleneck (TUNELAB_WARN_THRESHOLD_S=%g)",
                what,
                took,
                self.threshold_s,
            )
        return time.perf_counter()


class IdleWarning:
    """Warns, once every ``threshold_s`` (0: never) of the controller's clock, while trials
    wait and none runs: the executor's resources or the scheduler do not let them start."""

    def __init__(self, threshold_s: float) -> None:
        self.threshold_s = threshold_s
        self._since: float | None = None

    @property
    def enabled(self) -> bool:
        return self.threshold_s > 0

    def check(
        self,
        now: float,
        *,
        waiting: int,
        idle: bool,
        total: Callable[[], Any],
        used: Callable[[], Any],
    ) -> None:
        """``idle``: no trial runs and the experiment is not stopping; ``waiting``: trials
        that could run; ``total``/``used``: the executor's resources (called only to word
        the message)."""
        if not idle or not waiting:
            self._since = None
            return
        if self._since is None:
            self._since = now
        elif now - self._since >= self.threshold_s:
            self._since = now
            logger.warning(
                "tunelab: no trial has run for %g s while %d trial(s) wait; the executor's "
                "resources (%s total, %s in use) or the scheduler do not let them start "
                "(TUNELAB_WARN_INSUFFICIENT_RESOURCE_THRESHOLD_S)",
                self.threshold_s,
                waiting,
                total(),
                used(),
            )
