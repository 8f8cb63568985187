"""An executor that runs no code: trials follow given learning curves in simulated time.

:class:`SimulatedExecutor` implements the :class:`~tunelab.execution.Executor` contract
without workers. A trial's metrics at iteration ``i`` come from ``curves(config, i)`` (or a
recorded table); one iteration lasts ``time_per_iteration`` simulated seconds. Reports are
produced in simulated-time order and follow the worker protocol exactly (auto-filled keys,
dict stop criteria, decision points that wait for a verdict, pause with a checkpoint,
resume from it), so a whole experiment of scheduler decisions runs in milliseconds and the
same curves, seeds and settings give the same decisions, bit for bit.

Each result goes through the same :class:`~tunelab.execution._result_machine.ResultMachine`
as in a worker, so a simulated trial sends, waits, stops and checkpoints exactly where a
function trainable reporting the same metrics would (a SAVE verdict is ignored, as function
trainables ignore it).

Checkpoints are markers kept in memory: their paths (``<trial dir>/simulated_checkpoint_
<iteration>``) never exist on disk. The run keeps simulated time: the front door hands
:meth:`SimulatedExecutor.clock` to the controller (stop grace periods, ``time_total_s``
limits, state-write periods), to ``time_budget_s`` and to the stoppers
(:meth:`~tunelab.stopper.Stopper.use_clock`), so no decision reads the wall clock.
"""

from __future__ import annotations

import heapq
import math
import numbers
import os
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tunelab import result as R
from tunelab._errors import TuneError
from tunelab._resources import PlacementGroupFactory
from tunelab.execution import _protocol as P
from tunelab.execution._executor import Executor
from tunelab.execution._protocol import EndReason, Event, TrialTask, Verdict
from tunelab.execution._resource_pool import Allocation, ResourcePool
from tunelab.execution._result_machine import ResultMachine, Step

__all__ = ["SimulatedExecutor"]

Curves = Callable[[dict[str, Any], int], Mapping[str, Any]]
MAX_BATCH = 256
_HOSTNAME = "simulated"
_NODE_IP = "127.0.0.1"


class _Run:
    """One running trial in the simulation."""

    __slots__ = (
        "allocation",
        "config",
        "dt",
        "due",
        "iteration",
        "iterations_since_restore",
        "limit",
        "machine",
        "pause_requested",
        "seq",
        "stop_requested",
        "time_since_restore",
        "time_total",
        "trial_dir",
        "trial_id",
        "waiting",
    )

    def __init__(self, task: TrialTask, allocation: Allocation, checkpoint_every: int) -> None:
        self.trial_id = task.trial_id
        self.allocation = allocation
        self.config: dict[str, Any] = task.config or {}
        self.trial_dir = os.path.abspath(task.trial_dir or ".")
        self.machine = ResultMachine.for_task(
            task, checkpoint_freq=checkpoint_every or task.checkpoint_freq
        )
        self.iteration = 0
        self.time_total = 0.0
        self.iterations_since_restore = 0
        self.time_since_restore = 0.0
        self.limit = 0
        self.dt = 0.0
        self.due = 0.0
        self.seq = 0
        self.waiting = False
        self.stop_requested = False
        self.pause_requested = False


class SimulatedExecutor(Executor):
    """Runs trials on simulated learning curves, in simulated time (no workers, no code).

    The controller, schedulers, stoppers and loggers run as in a real experiment; only the
    trials are replaced by curves, and the run's clock (``time_budget_s``, ``TimeoutStopper``,
    ``time_total_s``) is the simulated one, so a run of hours takes seconds. The trainable
    passed to the front door is never called (:func:`tunelab.testing.simulated_trainable`
    is a placeholder for it). A curve that raises makes the trial fail, with retries as
    configured.

    Args:
        curves: A function ``(config, iteration) -> dict of metrics`` (``iteration`` starts
            at 1; a ``"done": True`` entry ends the trial), or a recorded table: a mapping
            (or a list) of curves, each a list of metric dicts, one per iteration; the
            trial's ``config[curve_key]`` picks its curve and the curve's length bounds its
            iterations.
        num_cpus: The CPUs trials share (> 0; default 2), as in
            :class:`~tunelab.execution.InProcessExecutor`.
        num_gpus: The GPUs trials share (an int >= 0; default 0).
        resources: Custom resources trials share, ``{name: amount}``.
        time_per_iteration: Simulated seconds per iteration: a finite number > 0 (default
            1) or a function ``(config, iteration) -> seconds``.
        max_iterations: A trial ends (``done=True``) after that many iterations (default 100).
        curve_key: The config key that picks a trial's curve from a recorded table.
        checkpoint_every: Trials report a checkpoint every that many iterations, as a
            function trainable would (failed trials restart from the latest); 0 (the
            default) never. A paused trial always checkpoints where it pauses.
        start_time: The wall-clock time (epoch seconds) simulated time 0 stands for, used
            for the results' ``timestamp``.
        max_idle_polls: Controller steps in a row with trials waiting but none running
            after which the run is stopped with an error (a scheduler holding paused trials
            forever); default 10,000.

    Raises:
        TypeError: ``curves`` is neither a function nor a table.
        ValueError: A number is out of its range.
    """

    def __init__(
        self,
        curves: Curves | Mapping[Any, Sequence[Mapping[str, Any]]] | Sequence[Any],
        *,
        num_cpus: float = 2,
        num_gpus: int = 0,
        resources: Mapping[str, float] | None = None,
        time_per_iteration: float | Callable[[dict[str, Any], int], float] = 1.0,
        max_iterations: int = 100,
        curve_key: str = "curve",
        checkpoint_every: int = 0,
        start_time: float = 0.0,
        max_idle_polls: int = 10_000,
    ) -> None:
        if callable(curves):
            self._curves: Curves = curves
            self._table: Any = None
        elif isinstance(curves, (Mapping, Sequence)) and not isinstance(curves, (str, bytes)):
            self._table = curves
            self._curves = self._from_table
        else:
            raise TypeError(
                "SimulatedExecutor: `curves` must be a function (config, iteration) -> metrics "
                f"or a table of recorded curves (dict or list of lists of dicts), got {curves!r}"
            )
        if isinstance(num_cpus, bool) or not isinstance(num_cpus, numbers.Real) or num_cpus <= 0:
            raise ValueError(f"SimulatedExecutor: `num_cpus` must be > 0, got {num_cpus!r}")
        if isinstance(num_gpus, bool) or not isinstance(num_gpus, int) or num_gpus < 0:
            raise ValueError(f"SimulatedExecutor: `num_gpus` must be an int >= 0, got {num_gpus!r}")
        if not callable(time_per_iteration) and (
            isinstance(time_per_iteration, bool)
            or not isinstance(time_per_iteration, numbers.Real)
            or not time_per_iteration > 0
            or math.isinf(time_per_iteration)
        ):
            raise ValueError(
                "SimulatedExecutor: `time_per_iteration` must be a finite number > 0 or a "
                f"function (config, iteration) -> seconds, got {time_per_iteration!r}"
            )
        if isinstance(max_iterations, bool) or not isinstance(max_iterations, int):
            raise TypeError(
                f"SimulatedExecutor: `max_iterations` must be an int, got {max_iterations!r}"
            )
        if max_iterations < 1:
            raise ValueError(
                f"SimulatedExecutor: `max_iterations` must be >= 1, got {max_iterations!r}"
            )
        if (
            isinstance(checkpoint_every, bool)
            or not isinstance(checkpoint_every, int)
            or checkpoint_every < 0
        ):
            raise ValueError(
                "SimulatedExecutor: `checkpoint_every` must be an int >= 0 (0: only when "
                f"paused), got {checkpoint_every!r}"
            )
        if not isinstance(curve_key, str):
            raise TypeError(f"SimulatedExecutor: `curve_key` must be a str, got {curve_key!r}")
        total = {"CPU": float(num_cpus), "memory": float(2**40)}
        total.update({k: float(v) for k, v in (resources or {}).items()})
        self._total: dict[str, float] = total
        self._num_gpus: int = num_gpus
        self._time_per_iteration: float | Callable[[dict[str, Any], int], float] = (
            time_per_iteration
        )
        self.max_iterations: int = max_iterations
        self.curve_key: str = curve_key
        self.checkpoint_every: int = checkpoint_every
        self._start_time: float = float(start_time)
        self._max_idle_polls: int = max_idle_polls
        self._reset()

    def _reset(self) -> None:
        self._pool = ResourcePool(dict(self._total), [str(i) for i in range(self._num_gpus)])
        self._now = 0.0
        self._seq = 0
        self._heap: list[tuple[float, int, str]] = []
        self._runs: dict[str, _Run] = {}
        self._pending: list[tuple[Event, Allocation | None]] = []
        self._snapshots: dict[str, tuple[int, float]] = {}
        self._idle_polls = 0
        #: number of iterations computed in total (the simulated compute spent)
        self.iterations_run = 0

    # -- time ----------------------------------------------------------------------------------
    def simulated_clock(self) -> float:
        """Simulated seconds since the experiment started (a clock for policies)."""
        return self._now

    def clock(self) -> Callable[[], float]:
        """The run's clock: :meth:`simulated_clock`."""
        return self.simulated_clock

    @property
    def now(self) -> float:
        return self._now

    # -- resources -----------------------------------------------------------------------------
    def setup(self, sys_path: list[str] | None = None) -> None:
        self._reset()

    def total_resources(self) -> dict[str, float]:
        return dict(self._pool.total)

    def used_resources(self) -> dict[str, float]:
        return dict(self._pool.used)

    def why_never_fits(self, request: PlacementGroupFactory) -> str | None:
        return self._pool.why_never_fits(request)

    def location(self, trial_id: str) -> str:
        return f"{_NODE_IP}:0" if trial_id in self._runs else ""

    def describe(self) -> str:
        return "simulated executor (simulated time, no workers)"

    # -- trials --------------------------------------------------------------------------------
    def try_start(self, trial_id: str, request: PlacementGroupFactory, task: TrialTask) -> bool:
        allocation = self._pool.try_acquire(request)
        if allocation is None:
            return False
        run = _Run(task, allocation, self.checkpoint_every)
        restore = task.restore_path
        snapshot = self._snapshots.get(os.path.abspath(restore)) if restore else None
        if snapshot is None and restore and task.iteration_state:
            state = task.iteration_state
            snapshot = (int(state.get("iteration", 0)), float(state.get("time_total", 0.0)))
        if snapshot is not None:
            run.iteration, run.time_total = snapshot
        run.limit = self._limit(run.config)
        self._runs[trial_id] = run
        self._idle_polls = 0
        self._schedule(run)
        return True

    def _schedule(self, run: _Run) -> None:
        if run.iteration >= run.limit:
            # restored at (or past) the end: report nothing more, end as done
            self._end(run, P.Ended(run.trial_id, EndReason.DONE))
            return
        tpi = self._time_per_iteration
        dt = tpi(run.config, run.iteration + 1) if callable(tpi) else tpi
        run.dt = float(dt)
        run.due = self._now + run.dt
        self._seq += 1
        run.seq = self._seq
        heapq.heappush(self._heap, (run.due, self._seq, run.trial_id))

    def send_decision(self, trial_id: str, verdict: Verdict) -> None:
        run = self._runs.get(trial_id)
        if run is None or not run.waiting:
            return
        run.waiting = False
        self._go_on(run, run.machine.on_verdict(verdict))

    def request_stop(self, trial_id: str) -> None:
        run = self._runs.get(trial_id)
        if run is None:
            return
        if run.waiting:  # the worker takes it as the verdict it waits for
            run.waiting = False
            self._go_on(run, run.machine.on_verdict(Verdict.STOP))
        else:
            run.stop_requested = True

    def request_pause(self, trial_id: str) -> None:
        run = self._runs.get(trial_id)
        if run is None:
            return
        if run.waiting:
            run.waiting = False
            self._go_on(run, run.machine.on_verdict(Verdict.PAUSE))
        else:
            run.pause_requested = True

    def _go_on(self, run: _Run, step: Step) -> None:
        """After a result (or a verdict): end the run as ``step`` says, or schedule the next
        iteration (a SAVE verdict changes nothing here)."""
        if step.end is None:
            self._schedule(run)
            return
        trial_id = run.trial_id
        if step.save_at_end:
            path = self._checkpoint(run)
            self._pending.append((P.CheckpointSaved(trial_id, path, run.iteration), None))
        if step.end is EndReason.PAUSED:
            self._end(run, P.Paused(trial_id, self._checkpoint(run)))
        else:
            self._end(run, P.Ended(trial_id, step.end))

    def _end(self, run: _Run, event: Event) -> None:
        del self._runs[run.trial_id]
        self._pending.append((event, run.allocation))

    def _checkpoint(self, run: _Run) -> str:
        path = os.path.join(run.trial_dir, f"simulated_checkpoint_{run.iteration:06d}")
        self._snapshots[path] = (run.iteration, run.time_total)
        return path

    # -- the simulation ------------------------------------------------------------------------
    def poll(self, timeout: float) -> list[Event]:
        """Return the next events at once (simulated time never waits).

        Args:
            timeout: Accepted for the :class:`~tunelab.execution.Executor` contract and
                ignored: simulated time advances to the next event instead.

        Returns:
            The events of the next simulated moment (results, checkpoints, ends).
        """
        events: list[Event] = []
        if not self._pending:
            batches: list[tuple[str, list[dict[str, Any]]]] = []
            reported = 0
            while self._heap and reported < MAX_BATCH:
                due, seq, trial_id = heapq.heappop(self._heap)
                run = self._runs.get(trial_id)
                if run is None or run.seq != seq or run.waiting:
                    continue  # stale entry
                self._now = max(self._now, due)
                reported += 1
                self._report(run, batches)
                if self._pending or run.waiting:
                    break
            events.extend(P.results_event(trial_id, batch) for trial_id, batch in batches)
        if self._pending:
            for event, allocation in self._pending:
                if allocation is not None:
                    self._pool.release(allocation)
                events.append(event)
            self._pending = []
        if events or self._runs:
            self._idle_polls = 0
        else:
            self._idle_polls += 1
            if self._idle_polls > self._max_idle_polls:
                raise TuneError(
                    f"SimulatedExecutor: the experiment stalled: no trial ran during "
                    f"{self._max_idle_polls} controller steps (is a scheduler holding paused "
                    "trials that it never resumes or stops?)"
                )
        return events

    def _report(self, run: _Run, batches: list[tuple[str, list[dict[str, Any]]]]) -> None:
        run.iteration += 1
        run.iterations_since_restore += 1
        run.time_total += run.dt
        run.time_since_restore += run.dt
        self.iterations_run += 1
        try:
            metrics = self._curves(run.config, run.iteration)
            result = dict(metrics)
        except Exception as exc:
            error = P.Failed(run.trial_id, traceback.format_exc(), repr(exc))
            self._end(run, error)
            return
        setdefault = result.setdefault
        setdefault(R.TIME_THIS_ITER_S, run.dt)
        setdefault(R.TRAINING_ITERATION, run.iteration)
        setdefault(R.TIME_TOTAL_S, run.time_total)
        setdefault(R.TIMESTAMP, int(self._start_time + self._now))
        setdefault(R.DONE, False)
        setdefault(R.TRIAL_ID, run.trial_id)
        setdefault(R.HOSTNAME, _HOSTNAME)
        setdefault(R.NODE_IP, _NODE_IP)
        setdefault(R.ITERATIONS_SINCE_RESTORE, run.iterations_since_restore)
        setdefault(R.TIME_SINCE_RESTORE, run.time_since_restore)
        machine = run.machine
        step = machine.on_result(
            result,
            checkpoint=machine.checkpoint_due(run.iteration),
            finished=run.iteration >= run.limit,
            stop_requested=run.stop_requested,
            pause_requested=run.pause_requested,
        )
        if step.checkpoint:
            P.mark_checkpoint(result, self._checkpoint(run))
        if step.wait:
            P.mark_wait(result)
            run.waiting = True
        if step.send:
            if batches and batches[-1][0] == run.trial_id:
                batches[-1][1].append(result)
            else:
                batches.append((run.trial_id, [result]))
        if not step.wait:
            self._go_on(run, step)

    # -- curves --------------------------------------------------------------------------------
    def _limit(self, config: dict[str, Any]) -> int:
        if self._table is None:
            return self.max_iterations
        try:
            return min(self.max_iterations, len(self._curve_of(config)))
        except (KeyError, IndexError, TypeError):
            return self.max_iterations  # the first report fails with the explanation

    def _curve_of(self, config: dict[str, Any]) -> Sequence[Mapping[str, Any]]:
        if self.curve_key not in config:
            raise KeyError(
                f"SimulatedExecutor: the trial's config has no {self.curve_key!r} entry to "
                f"pick its recorded curve (config: {config!r})"
            )
        curve: Sequence[Mapping[str, Any]] = self._table[config[self.curve_key]]
        return curve

    def _from_table(self, config: dict[str, Any], iteration: int) -> Mapping[str, Any]:
        return self._curve_of(config)[iteration - 1]

    def shutdown(self, force: bool = False) -> None:
        for run in list(self._runs.values()):
            self._pool.release(run.allocation)
        self._runs.clear()
        self._heap.clear()
        for _, allocation in self._pending:
            if allocation is not None:
                self._pool.release(allocation)
        self._pending = []
