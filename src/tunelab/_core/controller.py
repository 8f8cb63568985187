"""The controller: one thread, one event loop, composing the trial table, the executor,
the policies (search algorithm, scheduler, stoppers), callbacks and the state writer.

Per result the work is O(1) in the number of trials: the trial is found by id, policies
are asked only at decision points, callbacks append to buffered files.
"""

from __future__ import annotations

import collections
import functools
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tunelab._callback import CallbackList
from tunelab._core.deadlines import ForceEnds, force_end_text, time_limits
from tunelab._core.error_report import ErrorReports
from tunelab._core.experiment_states import ExperimentStates
from tunelab._core.loop_warnings import IdleWarning, SlowStepWarnings
from tunelab._core.metric_check import check_result_metrics, required_metrics
from tunelab._core.trial_checkpoints import TrialCheckpoints
from tunelab._core.trial_factory import TrialFactory
from tunelab._core.trial_lifecycle import TrialLifecycle
from tunelab._errors import StorageError, storage_error_in_report, writing
from tunelab._trial import Trial, TrialStatus
from tunelab.execution import _protocol as P
from tunelab.execution._executor import Executor
from tunelab.execution._protocol import EndReason, Event, Verdict
from tunelab.schedulers import Decision, Reconfigure, RunnerView, TrialScheduler
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


@dataclass
class ExperimentRuntime:
    """What the controller needs of one experiment, resolved once before the loop."""

    experiment: Any  # tunelab._experiment.Experiment
    index: int
    key: str
    stopper: Any = None  # a controller-side Stopper (object or function), or None
    criteria: dict[str, Any] = field(default_factory=dict)  # dict stop: checked by workers
    sync: bool = False  # every result waits for a decision
    blob: bytes = b""  # the cloudpickled trainable


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
        self._max_concurrent = max_concurrent_trials or 0
        self._global_stopper = global_stopper
        self._reporter = reporter
        self._verbose = verbose
        self._fail_fast = fail_fast
        self._errors = ErrorReports(print_errors=print_errors, verbose=verbose)
        self._clock = clock
        self._table = TrialLifecycle()  # the one owner of trial state
        self._view = RunnerView(
            self._table.with_status,
            self._table.trials,
            executor.total_resources,
            stop_trial=self._stop_held,
            reconfigure_trial=self._reconfigure_held,
        )
        self._iteration = 0
        self._stop_experiment = False
        self._interrupted = False
        self._raise_error: BaseException | None = None
        self._factory = TrialFactory(
            runtimes,
            scheduler,
            max_len_identifier=max_len_identifier,
            chdir_to_trial_dir=chdir_to_trial_dir,
            reuse_actors=reuse_actors,
        )
        self._states = ExperimentStates(
            self._table,
            search_alg=search_alg,
            scheduler=scheduler,
            callbacks=callbacks,
            metric=metric,
            mode=mode,
            period_s=state_period_s,
            clock=clock,
        )
        self._checkpoints = TrialCheckpoints(
            self._table,
            [rt.experiment.checkpoint_config for rt in runtimes],
            self._states.writers,
            callbacks,
            self._errors,
            lambda: self._iteration,
            delete_remote,
        )
        self._search_finished = False
        # appended from server threads, drained by the loop (deque ops are thread-safe)
        self._pending_commands: collections.deque[Callable[[], None]] = collections.deque()
        self._outgoing: list[tuple[str, Verdict]] = []
        self._interrupt_sent = False
        # when the last start failed for lack of resources: no new try until a trial ends
        # (or a second passes, for executors whose capacity grows), sparing the scheduler
        # a choose_trial_to_run per loop step while all is busy
        self._blocked_at: float | None = None
        # force-ending trials that do not answer a stop or outrun a time limit
        self._force = ForceEnds(
            clock=clock,
            grace_s=STOP_GRACE_S if stop_grace_s is None else float(stop_grace_s),
            function_grace_s=function_stop_grace_s,
            can_kill=bool(getattr(executor, "can_kill_trials", False)),
            limits=[time_limits(rt.criteria) for rt in runtimes],
            is_function=self._runs_function,
        )
        # the most trials created ahead of a free slot (None: as the scheduler asks)
        self._max_pending = max_pending_trials
        # warnings about the loop itself (see loop_warnings.py)
        self._slow = SlowStepWarnings(warn_slow_s)
        self._idle = IdleWarning(warn_idle_s)
        # (metric, who expects it): every result must hold them (Ray Tune's strict check)
        self._required_metrics = (
            required_metrics(metric, scheduler, search_alg) if strict_metric_checking else []
        )

    # -- public --------------------------------------------------------------------------------
    @property
    def trials(self) -> list[Trial]:
        return self._table.trials

    @property
    def interrupted(self) -> bool:
        return self._interrupted

    def add_trial(self, trial: Trial, *, restoring: bool = False) -> None:
        """Add a ready-made trial (resume, REST API); with ``restoring`` its first start
        restores from its checkpoint. Call from the loop's thread."""
        self._table.add(trial, restoring=restoring)
        self._scheduler.on_trial_add(self._view, trial)
        self._states.journal(trial, now=True)

    def request_stop_experiment(self) -> None:
        """End the experiment: running trials stop at their next report, no new ones start.
        Call on the loop's thread (through :meth:`enqueue` from other threads)."""
        self._stop_all("stop requested")

    def request_interrupt(self) -> None:
        """Stop gracefully (Ctrl+C): running trials pause at their next report (class
        trainables save a checkpoint), state is written, the experiment can be resumed."""
        self._interrupted = True
        self._stop_experiment = True

    def stop_trial(self, trial_id: str) -> None:
        """Stop one trial (PENDING/PAUSED: at once; RUNNING: at its next report, or
        force-ended after the grace period when it never reports).

        Call on the loop's thread (through :meth:`enqueue` from other threads). KeyError for an
        unknown id."""
        trial = self._table.by_id[trial_id]
        if trial.status == TrialStatus.RUNNING:
            self._stop_running(trial, "a stop request for this trial")
        elif trial.status in (TrialStatus.PENDING, TrialStatus.PAUSED):
            self._complete(trial)

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

    def _stop_held(self, trial: Trial) -> None:
        """A scheduler ends a trial it holds (PENDING/PAUSED): applied at the next step."""
        trial_id = trial.trial_id

        def stop() -> None:
            held = self._table.by_id.get(trial_id)
            if held is not None and held.status in (TrialStatus.PENDING, TrialStatus.PAUSED):
                self._complete(held)

        self.enqueue(stop)

    def _reconfigure_held(self, trial: Trial, change: Reconfigure) -> None:
        """A scheduler restarts a trial it holds (PENDING/PAUSED) from another checkpoint or
        with another config (PBT's synch exploit): applied now, so the trial is PENDING
        with its new setup when the scheduler's call goes on."""
        held = self._table.by_id.get(trial.trial_id)
        if held is not trial or trial.status not in (TrialStatus.PENDING, TrialStatus.PAUSED):
            raise ValueError(
                f"runner.reconfigure_trial: {trial} is {trial.status.value}; only PENDING or "
                "PAUSED trials of this experiment can be reconfigured (return a Reconfigure "
                "from on_trial_result for a running one)"
            )
        if not isinstance(change, Reconfigure):
            raise TypeError(
                f"runner.reconfigure_trial: change must be a Reconfigure, got {change!r}"
            )
        self._apply_reconfigure(trial, change)

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
        if self._raise_error is not None:
            raise self._raise_error
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
        self._adopt_initial_trials()
        self._states.start()
        if self._global_stopper is not None:
            self._global_stopper.stop_all()  # starts the clock of time budgets

    def _adopt_initial_trials(self) -> None:
        """Trials of a resumed experiment, treated by ``resume_policy`` (finished /
        unfinished / errored -> "resume" from the latest checkpoint, "restart" from scratch,
        or "skip"). Restarted trials have their logs rolled back to where they restart."""
        policy = self._resume_policy
        for trial in self._initial_trials:
            self._table.add(trial)
            self._factory.reserve_dirname(trial.experiment_path, trial.dirname)
            if trial.checkpoint_history:
                self._checkpoints.manager(trial).load_state(trial.checkpoint_history)
            if trial.checkpoint is not None and trial.restore_state:
                self._table.remember_state(str(trial.checkpoint.path), dict(trial.restore_state))
            if trial.status == TrialStatus.TERMINATED:
                action = policy.get("finished", "skip")
            elif trial.status == TrialStatus.ERROR:
                action = policy.get("errored", "skip")
            else:
                action = policy.get("unfinished", "resume")
            if action == "skip":
                if not trial.status.is_finished():
                    self._table.set_status(trial, TrialStatus.TERMINATED)
                self._scheduler.on_trial_add(self._view, trial)
                continue
            if action == "restart":
                trial.checkpoint = None
                trial.restore_state = None
            else:
                self._checkpoints.adopt_logged(trial)
            trial.num_failures = 0
            trial.error_file = None
            trial.error_msg = None
            self._requeue(trial, restoring=True, journal=False)
            self._scheduler.on_trial_add(self._view, trial)

    def _requeue(
        self,
        trial: Trial,
        status: TrialStatus = TrialStatus.PENDING,
        *,
        restoring: bool | None = None,
        rollback: bool = True,
        journal: bool = True,
    ) -> None:
        """``trial`` will run again, from its checkpoint or from the start: it waits as
        ``status`` (PENDING, or PAUSED); a PENDING trial starts as a restore when
        ``restoring`` (default: when it has a checkpoint); with ``rollback`` the outputs
        roll back to the checkpoint's iteration before it reruns; with ``journal`` the
        change is journaled. The one place this step is written."""
        self._table.requeue(
            trial,
            status,
            restoring=restoring,
            rollback_to=self._checkpoints.restored_iteration(trial) if rollback else None,
        )
        if journal:
            self._states.journal(trial)

    # -- the loop ------------------------------------------------------------------------------
    def _finished(self) -> bool:
        if self._stop_experiment:
            return not self._table.count(TrialStatus.RUNNING)
        if self._table.count(TrialStatus.RUNNING):
            return False
        if self._table.count(TrialStatus.PENDING) or self._table.count(TrialStatus.PAUSED):
            return False
        return self._search_finished or self._search.is_finished()

    def _step(self) -> None:
        self._iteration += 1
        self._callbacks.on_step_begin(iteration=self._iteration, trials=self._table.trials)
        if self._interrupted and not self._interrupt_sent:
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
        if not self._stop_experiment:
            self._start_trials()
        if timed:
            started = self._slow.check("starting trials", started)
        running = self._table.count(TrialStatus.RUNNING)
        events = self._executor.poll(0.1 if running else 0.02)
        if timed:
            started = time.perf_counter()
        for event in events:
            self._handle(event)
        if self._force:
            self._enforce_deadlines()
        if timed:
            started = self._slow.check("processing results", started)
        self._callbacks.on_step_end(iteration=self._iteration, trials=self._table.trials)
        self._states.flush()
        if timed:
            started = self._slow.check("callbacks.on_step_end and writing the logs", started)
        self._checkpoints.delete_dropped()  # a history without them is on disk now
        if self._outgoing:  # decisions leave only once the results they answer are on disk
            outgoing, self._outgoing = self._outgoing, []
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
                idle=not self._stop_experiment and not table.count(TrialStatus.RUNNING),
                total=self._executor.total_resources,
                used=self._executor.used_resources,
            )

    def _check_global_stop(self) -> None:
        stopper = self._global_stopper
        if stopper is not None and not self._stop_experiment and stopper.stop_all():
            self._stop_all(_why_stopped(stopper))

    def _stop_all(self, why: str) -> None:
        """End the experiment (a stopper's ``stop_all``, the time budget, ``fail_fast``, a
        stop request): running trials stop at their next report, and the trials that wait
        (PENDING, PAUSED) end TERMINATED without running, as in Ray Tune; the run then
        returns normally. (An interrupt, Ctrl+C, keeps them waiting for a resume instead.)"""
        logger.info("tunelab: %s", why)
        self._stop_experiment = True
        for trial in list(self._table.with_status(TrialStatus.RUNNING)):
            self._stop_running(trial, why)
        self._end_waiting_trials()

    def _end_waiting_trials(self) -> None:
        """PENDING and PAUSED trials of an experiment that was told to end are TERMINATED
        (not when it was interrupted: they wait for a resume)."""
        if self._interrupted:
            return
        for status in (TrialStatus.PENDING, TrialStatus.PAUSED):
            for trial in list(self._table.with_status(status)):
                self._complete(trial)

    def _stop_running(self, trial: Trial, why: str = "a stop request") -> None:
        if self._table.stop_asked(trial.trial_id):
            self._executor.request_stop(trial.trial_id)
            self._force.arm_stop(trial.trial_id, "stop", why)

    # -- force-ending trials that do not answer --------------------------------------------------
    def _runs_function(self, trial_id: str) -> bool:
        trial = self._table.by_id.get(trial_id)
        return trial is not None and (
            self._runtimes[trial.experiment_index].experiment.is_function_trainable
        )

    def _enforce_deadlines(self) -> None:
        for deadline in self._force.due():
            trial = self._table.by_id.get(deadline.trial_id)
            if trial is not None and trial.status == TrialStatus.RUNNING:
                self._force_end(trial, deadline.kind, deadline.why)

    def _force_end(self, trial: Trial, kind: str, why: str) -> None:
        """The trial did not end in time: its executor ends it; it ends TERMINATED (a stop,
        a time limit) or PAUSED from its latest checkpoint (a pause), with an error.txt
        that says why. What it logged before stays."""
        trial_id = trial.trial_id
        try:
            what = self._executor.kill_trial(trial_id)
        except Exception as exc:  # the trial ends here all the same
            logger.warning("tunelab: force-ending %s failed", trial, exc_info=True)
            what = f"ending its worker failed ({exc!r})"
        self._table.force_end(trial_id)
        self._blocked_at = None  # its resources are free
        text = force_end_text(
            str(trial),
            kind,
            why,
            self._force.grace_of(trial_id),
            what,
            getattr(trial.checkpoint, "path", None),
        )
        self._errors.write(trial, text, header="Force-ended")
        self._errors.print_force_end(text)
        self._on_end(
            P.Paused(trial_id) if kind == "pause" else P.Ended(trial_id, EndReason.STOPPED)
        )

    # -- creating and starting trials ----------------------------------------------------------
    def _start_trials(self) -> None:
        executor = self._executor
        if self._blocked_at is not None:
            if not executor.capacity_may_grow or self._clock() - self._blocked_at < 1.0:
                return
            self._blocked_at = None
        ahead = self._scheduler.pending_trials_ahead
        if ahead and self._max_pending is not None:
            ahead = min(ahead, self._max_pending)
        if ahead and not self._search.wants_results:
            while self._table.count(TrialStatus.PENDING) < ahead:
                if self._next_new_trial() is None:
                    break
        while True:
            if (
                self._max_concurrent
                and self._table.count(TrialStatus.RUNNING) >= self._max_concurrent
            ):
                return
            trial = self._scheduler.choose_trial_to_run(self._view)
            if trial is None:
                trial = self._next_new_trial()
                if trial is None:
                    return
            rt = self._runtimes[trial.experiment_index]
            run = self._table.run(trial.trial_id)
            task = self._factory.task(trial, rt, restoring=run.restoring)
            rollback = run.rollback_to
            if rollback is not None:
                from tunelab._persistence.rollback import remove_leftovers

                # before the start: once started, its worker writes in the trial directory
                # (a checkpoint's temp file looks like a leftover until it is renamed)
                remove_leftovers(trial.local_path)
            if not executor.try_start(trial.trial_id, trial.resources, task):
                self._blocked_at = self._clock()
                return
            resumed = self._table.restores(trial)
            if rollback is not None:
                from tunelab._persistence.rollback import kept_result

                # the outputs drop what they logged after the checkpoint (each its own files)
                self._callbacks.on_trial_rollback(
                    iteration=self._iteration,
                    trials=self._table.trials,
                    trial=trial,
                    to_iteration=rollback,
                )
                trial.last_result = kept_result(trial.local_path, rollback) or {}
            self._table.started(trial)  # RUNNING; no longer restoring or rolling back
            restored = 0.0
            if task.restore_path and task.iteration_state:
                restored = float(task.iteration_state.get("time_total", 0.0) or 0.0)
            self._force.started(trial.trial_id, trial.experiment_index, restored)
            trial.start_time = trial.start_time or time.time()
            trial.location = executor.location(trial.trial_id)
            self._states.touch(trial)  # resume treats RUNNING as PENDING
            # the trial's directory exists when loggers hear of it (Ray's legacy Logger
            # classes open their files in _init); the worker may not have made it yet
            os.makedirs(trial.local_path, exist_ok=True)
            if resumed:
                self._callbacks.on_trial_restore(
                    iteration=self._iteration, trials=self._table.trials, trial=trial
                )
            else:
                self._callbacks.on_trial_start(
                    iteration=self._iteration, trials=self._table.trials, trial=trial
                )

    def _next_new_trial(self) -> Trial | None:
        if self._search_finished:
            return None
        suggestion = self._search.next_trial()
        if suggestion is None:
            if self._search.is_finished():
                self._search_finished = True
            return None
        trial = self._factory.make(suggestion)
        # a new trial has a checkpoint only from Experiment(restore=...): it starts from it
        self.add_trial(trial, restoring=trial.checkpoint is not None)
        rt = self._runtimes[trial.experiment_index]
        reason = self._executor.why_never_fits(trial.resources)
        if reason is not None:
            self._fail(trial, f"ResourceError: {reason}", retry=False, rt=rt)
            return self._next_new_trial()
        return trial

    # -- events --------------------------------------------------------------------------------
    def _handle(self, event: Event) -> None:
        if self._table.force_ended(event.trial_id):
            return  # a late message of a run that was force-ended
        kind = type(event)
        if kind is P.Results:
            self._on_results(event)  # type: ignore[arg-type]
            return
        self._blocked_at = None  # a trial ended or was lost: resources may be free
        if kind is P.CheckpointSaved:
            trial = self._table.by_id.get(event.trial_id)
            if trial is not None:
                self._checkpoints.register(trial, event.path, trial.last_result)  # type: ignore[union-attr]
        elif kind is P.Lost:
            trial = self._table.by_id.get(event.trial_id)
            if trial is not None and trial.status == TrialStatus.RUNNING:
                rt = self._runtimes[trial.experiment_index]
                self._fail(trial, f"TuneError: {event.message}", retry=True, rt=rt)  # type: ignore[union-attr]
        else:
            self._on_end(event)  # type: ignore[arg-type]

    def _on_results(self, event: P.Results) -> None:
        trial_id = event.trial_id
        trial = self._table.by_id.get(trial_id)
        if trial is None or trial.status != TrialStatus.RUNNING or self._table.stopping(trial_id):
            # results after a stop decision are dropped: never logged or shown, and the
            # checkpoints they carry are removed (no one would ever register them)
            if trial is not None and event.checkpoints:
                self._checkpoints.drop(trial, event.checkpoints.values())
            return
        rt = self._runtimes[trial.experiment_index]
        if trial.location in ("", "starting"):
            trial.location = self._executor.location(trial_id)
        callbacks = self._callbacks
        trials = self._table.trials
        iteration = self._iteration
        config = trial.config
        tag = trial.experiment_tag
        search = self._search
        wants_results = search.wants_results
        stopper = rt.stopper
        required = self._required_metrics
        results = event.results
        checkpoints = event.checkpoints
        waits_on = len(results) - 1 if event.wait else -1  # index of the waiting result
        for index, result in enumerate(results):
            if required:
                check_result_metrics(trial, result, required)
            result["config"] = config
            result["experiment_tag"] = tag
            trial.update_last_result(result)
            callbacks.on_trial_result(
                iteration=iteration, trials=trials, trial=trial, result=result
            )
            if checkpoints is not None and index in checkpoints:
                self._checkpoints.register(trial, checkpoints[index], result)
            if index != waits_on:
                if wants_results:
                    search.on_trial_result(trial_id, result)
                continue
            raw: Any
            if stopper is not None and stopper(trial_id, result):
                raw = Decision.STOP
            else:  # the scheduler first (Ray's order: BOHB reads what it adds to the result)
                raw = self._scheduler.on_trial_result(self._view, trial, result)
            if wants_results:
                search.on_trial_result(trial_id, result)
            if isinstance(raw, Reconfigure):
                self._table.run(trial_id).reconfigure = raw
            verdict = Verdict.of(raw)
            if verdict is Verdict.STOP or verdict is Verdict.PAUSE:
                self._table.stop_asked(trial_id)
            self._outgoing.append((trial_id, verdict))
            if stopper is not None and getattr(stopper, "stop_all", None) and stopper.stop_all():
                self._stop_all("the stopper ended the experiment")
            if verdict is Verdict.STOP or verdict is Verdict.PAUSE:
                return

    def _on_end(self, event: P.Ended | P.Paused | P.Failed) -> None:
        trial_id = event.trial_id
        trial = self._table.by_id.get(trial_id)
        if trial is None:
            return
        self._table.run(trial_id).stopping = False
        rt = self._runtimes[trial.experiment_index]
        if isinstance(event, P.Failed):
            text = event.traceback
            storage = storage_error_in_report(text, f"trial {trial}", trial.local_path)
            if storage is not None:  # the disk, not the trial: stop, resumable
                raise storage
            if event.during_restore and self._checkpoints.fall_back(trial, text):
                self._requeue(trial)  # from the previous retained checkpoint
                return
            self._fail(trial, text, retry=True, rt=rt)
            return
        reconfigure = self._table.take_reconfigure(trial_id)
        if isinstance(event, P.Paused):
            path = event.checkpoint
            if path and path != getattr(trial.checkpoint, "path", None):
                self._checkpoints.register(trial, path, trial.last_result)
            if reconfigure is not None and not self._stop_experiment:
                self._apply_reconfigure(trial, reconfigure)
                return
            if self._stop_experiment and not self._interrupted:
                self._complete(trial)  # paused by a decision taken before the experiment ended
                return
            self._requeue(trial, TrialStatus.PAUSED)
            return
        self._complete(trial)

    def _stop_after_storage_error(self) -> None:
        """A write failed: stop as a kill at this moment would, tidily (never raises). The
        logs are flushed if the disk lets them; the experiment state is written only then (a
        state newer than the logs would make a resume skip iterations), else it stays as the
        last step left it, which a resume reads like the state of a killed run."""
        logs_written, trials = True, self._table.trials
        for callback in self._callbacks:  # each one, also after another failed
            for hook in (
                functools.partial(callback.on_step_end, iteration=self._iteration, trials=trials),
                functools.partial(callback.on_experiment_end, trials=trials),
            ):
                try:
                    hook()
                except Exception:
                    logs_written = False
                    logger.debug("tunelab: %r failed while stopping", hook, exc_info=True)
        self._states.stop(write=logs_written)

    def _apply_reconfigure(self, trial: Trial, change: Reconfigure) -> None:
        """Restart ``trial`` from a checkpoint with a new config and/or resources."""
        if change.config is not None:
            trial.config = dict(change.config)
        if change.checkpoint is not None:
            from tunelab._checkpoint import Checkpoint

            checkpoint = change.checkpoint
            if not isinstance(checkpoint, Checkpoint):
                checkpoint = Checkpoint(str(checkpoint))
            trial.checkpoint = checkpoint
            path = str(checkpoint.path)
            state = self._table.state_of(path)  # also a donor's registered before a resume
            trial.restore_state = dict(state) if state is not None else None
            # it restarts from that checkpoint, not its own: nothing of its log to cut
            self._table.run(trial.trial_id).rollback_to = None
        if change.resources is not None:
            from tunelab._resources import resources_from_request

            resources = resources_from_request(change.resources, argument="Reconfigure.resources")
            reason = self._executor.why_never_fits(resources) if resources else None
            if reason is not None:
                logger.warning("tunelab: keeping the resources of %s: %s", trial, reason)
            elif resources is not None:
                trial.resources = resources
        if change.tag_suffix:
            trial.experiment_tag += change.tag_suffix
        # from its own checkpoint (or from scratch) its logs roll back; from a donor's they go
        # on under the new tag
        self._requeue(trial, rollback=change.checkpoint is None)

    def _complete(self, trial: Trial) -> None:
        last = trial.last_result
        if last and not last.get("done"):
            last["done"] = True
        self._table.end(trial, TrialStatus.TERMINATED)
        self._scheduler.on_trial_complete(self._view, trial, last)
        self._search.on_trial_complete(trial.trial_id, last or None, error=False)
        self._states.journal(trial)  # with the policies' states that know it ended
        self._callbacks.on_trial_complete(
            iteration=self._iteration, trials=self._table.trials, trial=trial
        )
        trial.compact()  # a finished trial shares its result's strings with the others

    def _fail(self, trial: Trial, text: str, *, retry: bool, rt: ExperimentRuntime) -> None:
        self._errors.write(trial, text)
        trial.num_failures += 1
        trial.error_msg = text.strip().splitlines()[-1] if text.strip() else "unknown error"
        max_failures = trial.max_failures
        can_retry = (
            retry
            and not self._stop_experiment
            and not self._fail_fast
            and (max_failures < 0 or trial.num_failures <= max_failures)
        )
        if can_retry:
            self._requeue(trial)
            self._callbacks.on_trial_recover(
                iteration=self._iteration, trials=self._table.trials, trial=trial
            )
            return
        self._table.end(trial, TrialStatus.ERROR)
        self._errors.print_failure(trial, text)
        self._scheduler.on_trial_error(self._view, trial)
        self._search.on_trial_complete(trial.trial_id, trial.last_result or None, error=True)
        self._states.journal(trial)  # with the policies' states that know it ended
        self._callbacks.on_trial_error(
            iteration=self._iteration, trials=self._table.trials, trial=trial
        )
        trial.compact()
        if self._fail_fast:
            if isinstance(self._fail_fast, str) and self._fail_fast.upper() == "RAISE":
                from tunelab._errors import TrialError

                self._raise_error = TrialError(
                    f"Trial {trial} failed:\n{text}", trial_id=trial.trial_id, traceback=text
                )
            self._stop_all(f"trial {trial} failed and fail_fast is set")

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
        if not force and self._stop_experiment:
            self._end_waiting_trials()  # e.g. one a scheduler re-queued while others ended
        if not force:
            if self._table.count(TrialStatus.RUNNING):
                for trial in list(self._table.with_status(TrialStatus.RUNNING)):
                    self._stop_running(trial)
            self._executor.shutdown()
        try:
            self._callbacks.on_step_end(iteration=self._iteration, trials=self._table.trials)
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
