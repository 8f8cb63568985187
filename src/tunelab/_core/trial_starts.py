"""How trials come to run: added (from the search algorithm, a resume, the REST API) and
started on the executor.

:class:`TrialStarts` asks the scheduler which waiting trial runs next and the search
algorithm for new ones, within the concurrency limit and the executor's resources; a
trial that can never fit fails at once. It adopts the trials of a resumed experiment by
the resume policy. On a start it rolls the trial's outputs back to its restore point and
tells the callbacks (``on_trial_start`` or ``on_trial_restore``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from tunelab._core.deadlines import ForceEnds
from tunelab._core.experiment_states import ExperimentStates
from tunelab._core.run_state import Collaborators, ExperimentRuntime, LoopPart, RunFlags
from tunelab._core.trial_checkpoints import TrialCheckpoints
from tunelab._core.trial_ends import TrialEnds
from tunelab._core.trial_factory import TrialFactory
from tunelab._core.trial_lifecycle import TrialLifecycle
from tunelab._trial import Trial, TrialStatus

__all__ = ["TrialStarts"]


class TrialStarts(LoopPart):
    """Adds trials and starts them (see the module docstring).

    Args:
        table: The trial table.
        ends: Where a trial that can never fit fails, and re-queues are written.
        flags: The run's shared flags (the loop step; ``blocked_at``).
        runtimes: The experiments of the run.
        factory: Makes trials from suggestions and the tasks their workers run.
        parts: The run's search algorithm, scheduler, executor and callbacks.
        states: The experiment states (new trials are journaled, starts touched).
        checkpoints: The trials' checkpoints (a resumed trial's retained ones).
        force: The force-end policy (told of each start, for time limits).
        clock: The run's clock.
        max_concurrent: The most RUNNING trials (0: as resources allow).
        max_pending: The most trials created ahead of a free slot (None: as the
            scheduler asks).
    """

    def __init__(
        self,
        table: TrialLifecycle,
        ends: TrialEnds,
        flags: RunFlags,
        *,
        runtimes: list[ExperimentRuntime],
        factory: TrialFactory,
        parts: Collaborators,
        states: ExperimentStates,
        checkpoints: TrialCheckpoints,
        force: ForceEnds,
        clock: Callable[[], float],
        max_concurrent: int,
        max_pending: int | None,
    ) -> None:
        super().__init__(table, flags, parts)
        self._ends = ends
        self._view = ends.view
        self._runtimes = runtimes
        self._factory = factory
        self._states = states
        self._checkpoints = checkpoints
        self._force = force
        self._clock = clock
        self._max_concurrent = max_concurrent
        self._max_pending = max_pending
        #: the search algorithm said it has no more trials
        self.search_finished = False
        from tunelab.logger._in_worker import WorkerLogs

        #: the default loggers whose result files the workers write (None: no such logger,
        #: or an executor whose workers do not see the trial directories)
        self._worker_logs = WorkerLogs.delegate(self._callbacks, self._executor)

    def add(self, trial: Trial, *, restoring: bool = False) -> None:
        """Add a ready-made trial; with ``restoring`` its first start restores from its
        checkpoint. The scheduler hears of it and it is journaled at once."""
        self._table.add(trial, restoring=restoring)
        self._scheduler.on_trial_add(self._view, self._table.view(trial))
        self._states.journal(trial, now=True)

    def adopt(self, trials: list[Trial], policy: dict[str, str]) -> None:
        """Trials of a resumed experiment, treated by ``policy`` (finished / unfinished /
        errored -> "resume" from the latest checkpoint, "restart" from scratch, or "skip").
        Restarted trials have their logs rolled back to where they restart."""
        for trial in trials:
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
                self._scheduler.on_trial_add(self._view, self._table.view(trial))
                continue
            if action == "restart":
                trial.checkpoint = None
                trial.restore_state = None
            else:
                self._checkpoints.adopt_logged(trial)
            trial.num_failures = 0
            trial.error_file = None
            trial.error_msg = None
            self._ends.requeue(trial, restoring=True, journal=False)
            self._scheduler.on_trial_add(self._view, self._table.view(trial))

    def start(self) -> None:
        """Start waiting and new trials while the limits and the resources allow."""
        executor = self._executor
        flags = self._flags
        if flags.blocked_at is not None:
            if not executor.capacity_may_grow or self._clock() - flags.blocked_at < 1.0:
                return
            flags.blocked_at = None
        ahead = self._scheduler.pending_trials_ahead
        if ahead and self._max_pending is not None:
            ahead = min(ahead, self._max_pending)
        if ahead and not self._search.wants_results:
            while self._table.count(TrialStatus.PENDING) < ahead:
                if self._new_trial() is None:
                    break
        while True:
            if (
                self._max_concurrent
                and self._table.count(TrialStatus.RUNNING) >= self._max_concurrent
            ):
                return
            chosen = self._scheduler.choose_trial_to_run(self._view)
            if chosen is not None:
                trial = self._table.live(chosen, "choose_trial_to_run")
            else:
                new = self._new_trial()
                if new is None:
                    return
                trial = new
            if not self._start(trial):
                flags.blocked_at = self._clock()
                return

    def _start(self, trial: Trial) -> bool:
        """Start ``trial`` on the executor; False when its resources are not free now."""
        executor = self._executor
        if not executor.may_start(trial.resources):  # known before its task is built
            return False
        run = self._table.run(trial.trial_id)
        iteration, trials = self._flags.iteration, self._table.trials
        rollback = run.rollback_to
        if rollback is not None:
            from tunelab._persistence.rollback import kept_result, remove_leftovers

            # before the start: once started, its worker writes in the trial directory
            # (a checkpoint's temp file looks like a leftover until it is renamed; the
            # worker may write the result files). Done once, also when the start waits.
            remove_leftovers(trial.local_path)
            # the outputs drop what they logged after the checkpoint (each its own files)
            self._callbacks.on_trial_rollback(
                iteration=iteration, trials=trials, trial=trial, to_iteration=rollback
            )
            trial.last_result = kept_result(trial.local_path, rollback) or {}
            run.rollback_to = None
        logs = self._worker_logs
        task = self._factory.task(
            trial,
            self._runtimes[trial.experiment_index],
            restoring=run.restoring,
            logs=None if logs is None else logs.for_trial(trial),
        )
        if not executor.try_start(trial.trial_id, trial.resources, task):
            return False
        resumed = self._table.restores(trial)
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
        _make_dir(trial.local_path)
        if resumed:
            self._callbacks.on_trial_restore(iteration=iteration, trials=trials, trial=trial)
        else:
            self._callbacks.on_trial_start(iteration=iteration, trials=trials, trial=trial)
        return True

    def _new_trial(self) -> Trial | None:
        """A new trial from the search algorithm (added), or None when it has none now."""
        while not self.search_finished:
            suggestion = self._search.next_trial()
            if suggestion is None:
                if self._search.is_finished():
                    self.search_finished = True
                return None
            trial = self._factory.make(suggestion)
            # a new trial has a checkpoint only from Experiment(restore=...): it starts from it
            self.add(trial, restoring=trial.checkpoint is not None)
            reason = self._executor.why_never_fits(trial.resources)
            if reason is None:
                return trial
            self._ends.fail(trial, f"ResourceError: {reason}", retry=False)
        return None


def _make_dir(path: str) -> None:
    """``os.makedirs(path, exist_ok=True)`` in one system call when the parent exists (the
    experiment directory, made when the run started), instead of a stat and a mkdir."""
    try:
        os.mkdir(path)
    except FileExistsError:
        if not os.path.isdir(path):
            raise
    except FileNotFoundError:
        os.makedirs(path, exist_ok=True)
