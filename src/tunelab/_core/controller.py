"""The controller: one thread, one event loop, composing the trial table, the executor,
the policies (search algorithm, scheduler, stoppers), callbacks and the state writer.

Each step: run the commands queued by other threads, start trials (:mod:`trial_starts`),
poll the executor and handle its events (:mod:`events`; the ends of runs in
:mod:`trial_ends`), force-end trials past their deadline, let the callbacks write the
step's results, flush the journal, and only then send the step's verdicts, check the
global stopper, report progress and maybe snapshot the experiment state.
"""

from __future__ import annotations

import collections
import functools
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from tunelab._callback import CallbackList
from tunelab._core.deadlines import ForceEnds, time_limits
from tunelab._core.error_report import ErrorReports
from tunelab._core.events import Events
from tunelab._core.experiment_states import ExperimentStates
from tunelab._core.loop_warnings import IdleWarning, SlowStepWarnings
from tunelab._core.metric_check import required_metrics
from tunelab._core.run_state import Collaborators, ExperimentRuntime, RunFlags
from tunelab._core.trial_checkpoints import TrialCheckpoints
from tunelab._core.trial_ends import TrialEnds
from tunelab._core.trial_factory import TrialFactory
from tunelab._core.trial_lifecycle import TrialLifecycle
from tunelab._core.trial_starts import TrialStarts
from tunelab._errors import StorageError, writing
from tunelab._trial import Trial, TrialStatus
from tunelab.execution._executor import Executor
from tunelab.execution._protocol import Verdict
from tunelab.schedulers import TrialScheduler
from tunelab.search._search_algorithm import SearchAlgorithm

logger = logging.getLogger("tunelab")

__all__ = ["STOP_GRACE_S", "Controller", "ExperimentRuntime"]

#: Seconds a running trial gets to end after a stop or pause request (a scheduler's or
#: stopper's decision, ``time_budget_s``, the REST API, Ctrl+C) or after reaching a
#: ``time_total_s`` / ``time_since_restore`` stop criterion by the controller's clock.
#: A trainable that reports ends at its next report long before; one that never reports
#: again (blocked in C code, sleeping) is then force-ended by its executor
#: (``Executor.kill_trial``: a local worker process is killed), with an ``error.txt`` that
#: says why. Read when a :class:`Controller` is created (``stop_grace_s`` overrides it).
STOP_GRACE_S = 5.0


class Controller:
    """Runs experiments to completion. Every collaborator is passed in."""

    def __init__(
        self,
        runtimes: list[ExperimentRuntime],
        *,
        search_alg: SearchAlgorithm,
        scheduler: TrialScheduler,
        executor: Executor,
        callbacks: CallbackList,
        metric: str | None = None,
        mode: str | None = None,
        max_concurrent_trials: int | None = None,
        global_stopper: Any = None,
        reporter: Any = None,
        verbose: int = 1,
        fail_fast: bool | str = False,
        reuse_actors: bool = False,
        chdir_to_trial_dir: bool = True,
        state_period_s: float = 10.0,
        print_errors: bool = True,
        max_len_identifier: int = 130,
        clock: Callable[[], float] = time.monotonic,
        initial_trials: list[Trial] | None = None,
        resume_policy: dict[str, str] | None = None,
        delete_remote: Callable[[str], None] | None = None,
        stop_grace_s: float | None = None,
        strict_metric_checking: bool = False,
        function_stop_grace_s: float | None = None,
        max_pending_trials: int | None = None,
        warn_slow_s: float = 0.0,
        warn_idle_s: float = 0.0,
    ) -> None:
        self._runtimes = runtimes
        self._initial_trials = list(initial_trials or [])
        self._resume_policy = dict(resume_policy or {})
        self._search = search_alg
        self._scheduler = scheduler
        self._executor = executor
        self._callbacks = callbacks
        self._metric = metric
        self._mode = mode
        self._global_stopper = global_stopper
        self._reporter = reporter
        self._verbose = verbose
        self._clock = clock
        self._flags = flags = RunFlags()
        self._table = table = TrialLifecycle()  # the one owner of trial state
        self._factory = TrialFactory(
            runtimes,
            scheduler,
            max_len_identifier=max_len_identifier,
            chdir_to_trial_dir=chdir_to_trial_dir,
            reuse_actors=reuse_actors,
        )
        self._states = ExperimentStates(
            table,
            search_alg=search_alg,
            scheduler=scheduler,
            callbacks=callbacks,
            metric=metric,
            mode=mode,
            period_s=state_period_s,
            clock=clock,
        )
        errors = ErrorReports(print_errors=print_errors, verbose=verbose)
        self._checkpoints = checkpoints = TrialCheckpoints(
            table,
            [rt.experiment.checkpoint_config for rt in runtimes],
            self._states.writers,
            callbacks,
            errors,
            lambda: flags.iteration,
            delete_remote,
        )
        # appended from server threads, drained by the loop (deque ops are thread-safe)
        self._pending_commands: collections.deque[Callable[[], None]] = collections.deque()
        self._interrupt_sent = False

        def runs_function(trial_id: str) -> bool:
            trial = table.by_id.get(trial_id)
            return (
                trial is not None
                and runtimes[trial.experiment_index].experiment.is_function_trainable
            )

        # force-ending trials that do not answer a stop or outrun a time limit
        self._force = ForceEnds(
            clock=clock,
            grace_s=STOP_GRACE_S if stop_grace_s is None else float(stop_grace_s),
            function_grace_s=function_stop_grace_s,
            can_kill=bool(getattr(executor, "can_kill_trials", False)),
            limits=[time_limits(rt.criteria) for rt in runtimes],
            is_function=runs_function,
        )
        parts = Collaborators(search_alg, scheduler, executor, callbacks)
        self._ends = TrialEnds(
            table,
            flags,
            states=self._states,
            checkpoints=checkpoints,
            errors=errors,
            force=self._force,
            fail_fast=fail_fast,
            enqueue=self.enqueue,
            parts=parts,
        )
        self._starts = TrialStarts(
            table,
            self._ends,
            flags,
            runtimes=runtimes,
            factory=self._factory,
            states=self._states,
            checkpoints=checkpoints,
            force=self._force,
            clock=clock,
            max_concurrent=max_concurrent_trials or 0,
            max_pending=max_pending_trials,  # None: as many as the scheduler asks
            parts=parts,
        )
        self._events = Events(
            table,
            self._ends,
            flags,
            runtimes=runtimes,
            checkpoints=checkpoints,
            # (metric, who expects it): every result must hold them (Ray's strict check)
            required_metrics=(
                required_metrics(metric, scheduler, search_alg) if strict_metric_checking else []
            ),
            parts=parts,
        )
        # warnings about the loop itself (see loop_warnings.py)
        self._slow = SlowStepWarnings(warn_slow_s)
        self._idle = IdleWarning(warn_idle_s)

    # -- public --------------------------------------------------------------------------------
    @property
    def trials(self) -> list[Trial]:
        return self._table.trials

    @property
    def interrupted(self) -> bool:
        return self._flags.interrupted

    def add_trial(self, trial: Trial, *, restoring: bool = False) -> None:
        """Add a ready-made trial (resume, REST API); with ``restoring`` its first start
        restores from its checkpoint. Call from the loop's thread."""
        self._starts.add(trial, restoring=restoring)

    def request_stop_experiment(self) -> None:
        """End the experiment: running trials stop at their next report, no new ones start.
        Call on the loop's thread (through :meth:`enqueue` from other threads)."""
        self._ends.end_experiment("stop requested")

    def request_interrupt(self) -> None:
        """Stop gracefully (Ctrl+C): running trials pause at their next report (class
        trainables save a checkpoint), state is written, the experiment can be resumed."""
        self._flags.interrupted = True
        self._flags.ending = True

    def stop_trial(self, trial_id: str) -> None:
        """Stop one trial (PENDING/PAUSED: at once; RUNNING: at its next report, or
        force-ended after the grace period when it never reports).

        Call on the loop's thread (through :meth:`enqueue` from other threads). KeyError for an
        unknown id."""
        trial = self._table.by_id[trial_id]
        if trial.status == TrialStatus.RUNNING:
            self._ends.stop_running(trial, "a stop request for this trial")
        elif trial.status in (TrialStatus.PENDING, TrialStatus.PAUSED):
            self._ends.complete(trial)

    def add_trials_from_spec(self, name: str, spec: dict[str, Any]) -> list[str]:
        """Add trials expanded from ``spec`` (``{"config": {...}, "num_samples": n}``) by the
        search-space rules, for the experiment named ``name`` (or the first one). Returns the
        new trial ids. Call on the loop's thread."""
        ids = []
        for suggestion in self._factory.expand_spec(name, spec):
            trial = self._factory.make(suggestion)
            self.add_trial(trial)
            ids.append(trial.trial_id)
        return ids

    def enqueue(self, command: Callable[[], None]) -> None:
        """Run ``command`` on the loop's thread at the next iteration (server commands)."""
        self._pending_commands.append(command)

    def run(self) -> list[Trial]:
        try:
            self._setup()
        except BaseException:  # e.g. a full disk at the first snapshot: end what setup started
            self._executor.shutdown(force=True)
            raise
        try:
            while not self._finished():
                self._step()
        except StorageError:  # disk full, I/O error: one line, and a state to resume from
            self._executor.shutdown(force=True)
            self._stop_after_storage_error()
            raise
        except BaseException:
            self._executor.shutdown(force=True)
            self._finish(force=True)
            raise
        self._finish()
        if self._flags.raise_error is not None:
            raise self._flags.raise_error
        return self._table.trials

    # -- setup ---------------------------------------------------------------------------------
    def _setup(self) -> None:
        self._executor.setup(list(sys.path))
        register = getattr(self._executor, "register_trainable", None)
        for rt in self._runtimes:
            exp = rt.experiment
            if register is not None:
                if not rt.blob:
                    import cloudpickle

                    rt.blob = cloudpickle.dumps(exp.trainable)
                register(rt.key, rt.blob)
            with writing("the experiment directory", exp.experiment_path):
                os.makedirs(exp.experiment_path, exist_ok=True)
            self._states.open(exp.experiment_path)
        total = self._search.total_samples
        self._callbacks.setup(
            stop=self._runtimes[0].experiment.stop if self._runtimes else None,
            num_samples=self._runtimes[0].experiment.num_samples if self._runtimes else None,
            total_num_samples=total,
        )
        if self._reporter is not None:
            setup = getattr(self._reporter, "setup", None)
            if setup is not None:
                setup(
                    start_time=self._states.start_time,
                    total_samples=total,
                    metric=self._metric,
                    mode=self._mode,
                    verbose=self._verbose,
                )
        self._starts.adopt(self._initial_trials, self._resume_policy)
        self._states.start()
        if self._global_stopper is not None:
            self._global_stopper.stop_all()  # starts the clock of time budgets

    # -- the loop ------------------------------------------------------------------------------
    def _finished(self) -> bool:
        if self._flags.ending:
            return not self._table.count(TrialStatus.RUNNING)
        if self._table.count(TrialStatus.RUNNING):
            return False
        if self._table.count(TrialStatus.PENDING) or self._table.count(TrialStatus.PAUSED):
            return False
        return self._starts.search_finished or self._search.is_finished()

    def _step(self) -> None:
        self._flags.iteration += 1
        self._callbacks.on_step_begin(iteration=self._flags.iteration, trials=self._table.trials)
        if self._flags.interrupted and not self._interrupt_sent:
            self._interrupt_sent = True
            for trial in list(self._table.with_status(TrialStatus.RUNNING)):
                # results up to the pause are kept: they belong to the checkpointed run
                self._executor.request_pause(trial.trial_id)
                self._force.arm_stop(trial.trial_id, "pause", "the experiment was interrupted")
        pending = self._pending_commands
        while pending:
            pending.popleft()()
        timed = self._slow.enabled
        started = time.perf_counter() if timed else 0.0
        if not self._flags.ending:
            self._starts.start()
        if timed:
            started = self._slow.check("starting trials", started)
        running = self._table.count(TrialStatus.RUNNING)
        events = self._executor.poll(0.1 if running else 0.02)
        if timed:
            started = time.perf_counter()
        for event in events:
            self._events.handle(event)
        if self._force:
            self._ends.enforce_deadlines()
        if timed:
            started = self._slow.check("processing results", started)
        self._callbacks.on_step_end(iteration=self._flags.iteration, trials=self._table.trials)
        self._states.flush()
        if timed:
            started = self._slow.check("callbacks.on_step_end and writing the logs", started)
        self._checkpoints.delete_dropped()  # a history without them is on disk now
        if self._events.outgoing:  # decisions leave only once the results they answer are on disk
            outgoing, self._events.outgoing = self._events.outgoing, []
            for trial_id, verdict in outgoing:
                self._executor.send_decision(trial_id, verdict)
                if verdict is Verdict.STOP:
                    self._force.arm_stop(
                        trial_id, "stop", "a STOP decision of the scheduler or stopper"
                    )
                elif verdict is Verdict.PAUSE:
                    self._force.arm_stop(trial_id, "pause", "a PAUSE decision of the scheduler")
        self._check_global_stop()
        self._report()
        if timed:
            started = self._slow.check("stoppers and the progress report", started)
        self._states.maybe_write()
        if timed:
            self._slow.check("saving the experiment state", started)
        if self._idle.enabled:
            table = self._table
            self._idle.check(
                self._clock(),
                waiting=table.count(TrialStatus.PENDING) + table.count(TrialStatus.PAUSED),
                idle=not self._flags.ending and not table.count(TrialStatus.RUNNING),
                total=self._executor.total_resources,
                used=self._executor.used_resources,
            )

    def _check_global_stop(self) -> None:
        stopper = self._global_stopper
        if stopper is not None and not self._flags.ending and stopper.stop_all():
            self._ends.end_experiment(_why_stopped(stopper))

    def _stop_after_storage_error(self) -> None:
        """A write failed: stop as a kill at this moment would, tidily (never raises). The
        logs are flushed if the disk lets them; the experiment state is written only then (a
        state newer than the logs would make a resume skip iterations), else it stays as the
        last step left it, which a resume reads like the state of a killed run."""
        logs_written, trials = True, self._table.trials
        for callback in self._callbacks:  # each one, also after another failed
            for hook in (
                functools.partial(
                    callback.on_step_end, iteration=self._flags.iteration, trials=trials
                ),
                functools.partial(callback.on_experiment_end, trials=trials),
            ):
                try:
                    hook()
                except Exception:
                    logs_written = False
                    logger.debug("tunelab: %r failed while stopping", hook, exc_info=True)
        self._states.stop(write=logs_written)

    # -- output --------------------------------------------------------------------------------
    def status_lines(self) -> list[str]:
        from tunelab.progress import experiment_status_lines

        paths = sorted({rt.experiment.experiment_path for rt in self._runtimes})
        return experiment_status_lines(
            self._table.trials,
            experiment_path=", ".join(paths),
            scheduler_description=self._scheduler.debug_string(),
            resources_used=self._executor.used_resources(),
            resources_total=self._executor.total_resources(),
            total_samples=self._search.total_samples or None,
        )

    def _report(self, done: bool = False) -> None:
        reporter = self._reporter
        if reporter is None:
            return
        trials = self._table.trials
        if reporter.should_report(trials, done=done):
            reporter.report(trials, done, *self.status_lines())

    def _finish(self, force: bool = False) -> None:
        if not force and self._flags.ending:
            self._ends.end_waiting()  # e.g. one a scheduler re-queued while others ended
        if not force:
            if self._table.count(TrialStatus.RUNNING):
                for trial in list(self._table.with_status(TrialStatus.RUNNING)):
                    self._ends.stop_running(trial)
            self._executor.shutdown()
        try:
            self._callbacks.on_step_end(iteration=self._flags.iteration, trials=self._table.trials)
            self._callbacks.on_experiment_end(trials=self._table.trials)
        finally:
            self._states.close()
            if not force:
                self._report(done=True)


def _why_stopped(stopper: Any) -> str:
    """Why the global stopper ended the experiment, for messages."""
    from tunelab.stopper import TimeoutStopper

    for member in getattr(stopper, "stoppers", (stopper,)):
        if isinstance(member, TimeoutStopper) and member.elapsed() >= member.budget_s:
            return f"the time budget of {member.budget_s:g} s ran out"
    return "a stopper ended the experiment"
