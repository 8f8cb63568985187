"""The experiment status header and :class:`TrialProgressCallback` (per-trial lines)."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tunelab._callback import Callback
from tunelab._trial import TrialStatus
from tunelab.progress._table import _NOT_USER_METRICS, format_params

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = [
    "TrialProgressCallback",
    "experiment_status_lines",
    "memory_usage_line",
    "resource_usage_line",
    "trial_count_line",
]

_COUNT_ORDER = (
    TrialStatus.RUNNING,
    TrialStatus.PAUSED,
    TrialStatus.PENDING,
    TrialStatus.TERMINATED,
    TrialStatus.ERROR,
)
_GIB = 1024**3
# Keys left out of one-line result summaries (auto-filled bookkeeping).
_SUMMARY_SKIP = _NOT_USER_METRICS - {
    "mean_accuracy",
    "mean_loss",
    "episode_reward_mean",
    "timesteps_total",
}


def memory_usage_line() -> str:
    """``"Memory usage on this node: 3.1/23.4 GiB"`` (with a warning above 90 %).

    Returns:
        The header line of a status report about this machine's memory.
    """
    import psutil

    memory = psutil.virtual_memory()
    used = (memory.total - memory.available) / _GIB
    total = memory.total / _GIB
    line = f"Memory usage on this node: {used:.1f}/{total:.1f} GiB"
    if memory.total and used / total > 0.9:
        line += (
            ": ***LOW MEMORY*** less than 10% of the memory on this node is available; "
            "trials may be killed or slowed down by swapping"
        )
    return line


def _amount(value: float, *, used: bool) -> str:
    if isinstance(value, float) and value.is_integer() and not (used and value):
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.1f}" if value.is_integer() else f"{value:g}"
    return str(value)


def resource_usage_line(used: Mapping[str, float], total: Mapping[str, float]) -> str:
    """``"Logical resource usage: 2.0/2 CPUs, 0/0 GPUs (0.0/1.0 accelerator_x)"``.

    Args:
        used: Resource name -> amount held by running trials (``"CPU"``, ``"GPU"`` and
            custom resources).
        total: Resource name -> amount the executor has.

    Returns:
        The header line of a status report about resources.
    """
    parts = [
        f"{_amount(used.get('CPU', 0), used=True)}/{_amount(total.get('CPU', 0), used=False)} CPUs",
        f"{_amount(used.get('GPU', 0), used=True)}/{_amount(total.get('GPU', 0), used=False)} GPUs",
    ]
    extra = [
        f"{float(used.get(name, 0)):.1f}/{float(amount):.1f} {name}"
        for name, amount in total.items()
        if name not in ("CPU", "GPU", "memory", "object_store_memory")
    ]
    line = "Logical resource usage: " + ", ".join(parts)
    if extra:
        line += " (" + ", ".join(extra) + ")"
    return line


def trial_count_line(trials: Sequence[Trial], total_samples: int | None = None) -> str:
    """``"Number of trials: 4/10 (2 RUNNING, 2 PENDING)"``.

    Args:
        trials: The trials to count by status.
        total_samples: The number of trials to expect (``/10``); None or 0: left out.

    Returns:
        The header line of a status report about trial counts.
    """
    counts: dict[TrialStatus, int] = {}
    for trial in trials:
        counts[trial.status] = counts.get(trial.status, 0) + 1
    detail = ", ".join(f"{counts[s]} {s}" for s in _COUNT_ORDER if counts.get(s))
    number = f"{len(trials)}/{total_samples}" if total_samples else str(len(trials))
    return f"Number of trials: {number}" + (f" ({detail})" if detail else "")


_BARE_NAME = re.compile(r"[\w.]+")


def experiment_status_lines(
    trials: Sequence[Trial],
    *,
    experiment_path: str,
    scheduler_description: str,
    resources_used: Mapping[str, float],
    resources_total: Mapping[str, float],
    total_samples: int | None = None,
) -> list[str]:
    """The header lines of a status report, in order: memory use, scheduler, resources,
    result directory and trial counts. The controller passes them to
    ``ProgressReporter.report(trials, done, *lines)``.

    Args:
        trials: Every trial of the experiment.
        experiment_path: The experiment directory (the ``Result logdir`` line).
        scheduler_description: A scheduler's own description (a sentence, or lines that
            start with ``"Using "``, as ``TrialScheduler.debug_string()`` gives) or a
            scheduler name: ``"FIFO"`` becomes ``"Using FIFO scheduling algorithm."``; empty:
            no scheduler line.
        resources_used: Resource name -> amount held by running trials.
        resources_total: Resource name -> amount the executor has.
        total_samples: The number of trials to expect, or None.

    Returns:
        The lines, in order.
    """
    scheduler = scheduler_description.strip()
    if scheduler and _BARE_NAME.fullmatch(scheduler):  # "FIFO"; not PBT's own line
        scheduler = f"Using {scheduler} scheduling algorithm."
    lines = [memory_usage_line()]
    if scheduler:
        lines.append(scheduler)
    lines.append(resource_usage_line(resources_used, resources_total))
    lines.append(f"Result logdir: {experiment_path}")
    lines.append(trial_count_line(trials, total_samples))
    return lines


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.5g}"
    return str(value)


def metrics_summary(result: Mapping[str, Any], limit: int = 8) -> str:
    """``"acc=0.91, loss=0.23"``: up to ``limit`` scalar values the user reported."""
    parts = []
    for key, value in result.items():
        if key in _SUMMARY_SKIP:
            continue
        if value is None or isinstance(value, (dict, list, tuple)):
            continue
        parts.append(f"{key}={_format_value(value)}")
        if len(parts) >= limit:
            break
    return ", ".join(parts)


def _check_verbose(verbose: Any) -> int:
    """``verbose`` as an int 0-3; ``True``/``False`` (the 0.x spelling) are 2 and 0."""
    from tunelab._config import VERBOSE_TRUE

    if isinstance(verbose, bool):
        return VERBOSE_TRUE if verbose else 0
    if not isinstance(verbose, int) or not 0 <= verbose <= 3:
        raise ValueError(f"verbose must be an int from 0 to 3 or True/False, got {verbose!r}")
    return int(verbose)


class TrialProgressCallback(Callback):
    """Prints short per-trial lines while an experiment runs.

    * ``verbose`` 0 or 1: prints nothing (at 1 only the status reports of the progress
      reporter are shown).
    * ``verbose >= 2``: one line when a trial starts, completes, errors or is retried.
    * ``verbose == 3``: also a line per result, at most one per trial every
      ``print_interval_s`` seconds (measured with ``clock``), so fast trials never flood
      the terminal.

    A run adds one by itself when its verbosity is 2 or 3.

    Args:
        verbose: The verbosity, 0-3 (``True``/``False``: 2/0); default 2.
        print_interval_s: Seconds between two result lines of one trial, >= 0 (default 5).
        clock: The clock ``print_interval_s`` is measured with (default
            ``time.monotonic``).

    Raises:
        ValueError: ``verbose`` or ``print_interval_s`` is out of range.
    """

    def __init__(
        self,
        verbose: int = 2,
        *,
        print_interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.verbose = _check_verbose(verbose)
        if (
            isinstance(print_interval_s, bool)
            or not isinstance(print_interval_s, (int, float))
            or print_interval_s < 0
        ):
            raise ValueError(f"print_interval_s must be a number >= 0, got {print_interval_s!r}")
        self.print_interval_s = float(print_interval_s)
        self._clock = clock
        self._last_print: dict[str, float] = {}

    @staticmethod
    def _emit(line: str) -> None:
        print(line, file=sys.stdout, flush=True)

    @staticmethod
    def _now() -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S")

    @staticmethod
    def _iterations(trial: Trial) -> Any:
        return trial.last_result.get("training_iteration", 0)

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        if self.verbose >= 2:
            params = format_params(trial.evaluated_params or trial.config)
            self._emit(f"Trial {trial} started with configuration: {params}")

    def on_trial_result(
        self,
        iteration: int,
        trials: list[Trial],
        trial: Trial,
        result: dict[str, Any],
        **info: Any,
    ) -> None:
        if self.verbose < 3:
            return
        now = self._clock()
        last = self._last_print.get(trial.trial_id)
        if last is not None and now - last < self.print_interval_s:
            return
        self._last_print[trial.trial_id] = now
        it = result.get("training_iteration", "?")
        self._emit(f"Trial {trial} reported {metrics_summary(result)} at iteration {it}.")

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._last_print.pop(trial.trial_id, None)
        if self.verbose >= 2:
            summary = metrics_summary(trial.last_result) or "(no metrics)"
            self._emit(
                f"Trial {trial} completed after {self._iterations(trial)} iterations at "
                f"{self._now()} with result: {summary}"
            )

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._last_print.pop(trial.trial_id, None)
        if self.verbose >= 2:
            where = f" Error file: {trial.error_file}" if trial.error_file else ""
            self._emit(
                f"Trial {trial} errored after {self._iterations(trial)} iterations at "
                f"{self._now()}.{where}"
            )

    def on_trial_recover(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        if self.verbose >= 2:
            self._emit(
                f"Trial {trial} failed after {self._iterations(trial)} iterations "
                f"({trial.num_failures} failures so far); retrying."
            )
