"""Auto-filled result fields: one :class:`IterationState` per running trial."""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

from tunelab import result as R

_PID = os.getpid()
_HOSTNAME = socket.gethostname()


def _node_ip() -> str:
    try:
        return socket.gethostbyname(_HOSTNAME)
    except OSError:
        return "127.0.0.1"


_NODE_IP = _node_ip()

# The UtilMonitor of the trial this thread runs (config "log_sys_usage"): its ``perf`` dict
# goes into every result filled here (tunelab.utils._monitor.trial_sys_usage sets it).
_usage = threading.local()


def set_usage_monitor(monitor: Any) -> Any:
    """Make ``monitor`` (``get_data() -> dict``, or None) this thread's; returns the last."""
    previous = getattr(_usage, "monitor", None)
    _usage.monitor = monitor
    return previous


def process_info() -> tuple[int, str, str]:
    """(pid, hostname, node ip) of this process (pid re-read: fork-safe)."""
    return os.getpid(), _HOSTNAME, _NODE_IP


class IterationState:
    """Counters of one trial in one worker, and the fill-in of auto result fields.

    ``fill(metrics)`` returns a new dict: the user's metrics plus ``training_iteration``,
    ``time_this_iter_s``, ``time_total_s``, ``timestamp``, ``date``, ``done``, ``trial_id``,
    ``pid``, ``hostname``, ``node_ip``, ``iterations_since_restore``, ``time_since_restore``
    and, when their ``_this_iter`` counterparts are reported, ``timesteps_total``/
    ``episodes_total``. Values the user reported themselves win.
    """

    __slots__ = (
        "_date",
        "_date_second",
        "episodes_total",
        "iteration",
        "iterations_since_restore",
        "last_time",
        "restore_time",
        "time_since_restore",
        "time_total",
        "timesteps_since_restore",
        "timesteps_total",
        "trial_id",
    )

    def __init__(self, trial_id: str = "default") -> None:
        self.trial_id = trial_id
        self.iteration = 0
        self.time_total = 0.0
        self.timesteps_total: float | None = None
        self.episodes_total: float | None = None
        self.iterations_since_restore = 0
        self.time_since_restore = 0.0
        self.timesteps_since_restore = 0.0
        now = time.time()
        self.last_time = now
        self.restore_time = now
        self._date_second = -1
        self._date = ""

    def restart_clock(self) -> None:
        """Start timing the next iteration now (after setup or a restore)."""
        self.last_time = time.time()

    def restored(self, state: dict[str, Any]) -> None:
        """Continue counters saved with a checkpoint; '*_since_restore' start over."""
        self.iteration = int(state.get("iteration", 0))
        self.time_total = float(state.get("time_total", 0.0))
        self.timesteps_total = state.get("timesteps_total")
        self.episodes_total = state.get("episodes_total")
        self.iterations_since_restore = 0
        self.time_since_restore = 0.0
        self.timesteps_since_restore = 0.0
        self.restart_clock()

    def state(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "time_total": self.time_total,
            "timesteps_total": self.timesteps_total,
            "episodes_total": self.episodes_total,
        }

    def fill(self, metrics: dict[str, Any], *, now: float | None = None) -> dict[str, Any]:
        if now is None:
            now = time.time()
        result = dict(metrics)
        this_iter = result.get(R.TIME_THIS_ITER_S)
        if this_iter is None:
            this_iter = now - self.last_time
            result[R.TIME_THIS_ITER_S] = this_iter
        self.last_time = now
        self.iteration += 1
        self.iterations_since_restore += 1
        self.time_total += this_iter
        self.time_since_restore += this_iter
        steps = result.get(R.TIMESTEPS_THIS_ITER)
        if steps is not None:
            self.timesteps_total = (self.timesteps_total or 0) + steps
            self.timesteps_since_restore += steps
            result.setdefault(R.TIMESTEPS_TOTAL, self.timesteps_total)
            result.setdefault(R.TIMESTEPS_SINCE_RESTORE, self.timesteps_since_restore)
        episodes = result.get(R.EPISODES_THIS_ITER)
        if episodes is not None:
            self.episodes_total = (self.episodes_total or 0) + episodes
            result.setdefault(R.EPISODES_TOTAL, self.episodes_total)
        second = int(now)
        if second != self._date_second:
            self._date_second = second
            self._date = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(now))
        setdefault = result.setdefault
        setdefault(R.TRAINING_ITERATION, self.iteration)
        setdefault(R.TIME_TOTAL_S, self.time_total)
        setdefault(R.TIMESTAMP, second)
        setdefault(R.DATE, self._date)
        setdefault(R.DONE, False)
        setdefault(R.TRIAL_ID, self.trial_id)
        setdefault(R.PID, _PID)
        setdefault(R.HOSTNAME, _HOSTNAME)
        setdefault(R.NODE_IP, _NODE_IP)
        setdefault(R.ITERATIONS_SINCE_RESTORE, self.iterations_since_restore)
        setdefault(R.TIME_SINCE_RESTORE, self.time_since_restore)
        monitor = getattr(_usage, "monitor", None)
        if monitor is not None:
            result.update(monitor.get_data())
        return result
