"""How trials leave the running state: completed, failed (retried or for good), paused,
re-queued (from a checkpoint, reconfigured), force-ended, and the end of the experiment.

:class:`TrialEnds` is the one place each of these steps is written; the policies
(scheduler, search algorithm) and the callbacks hear of each end here, the experiment
state journals it, and ``error.txt`` records failures. It also builds the
:class:`~tunelab.schedulers.RunnerView` the policies receive, since the changes a scheduler
asks of trials it holds (end one, reconfigure one) are carried out here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from tunelab._core.deadlines import ForceEnds, force_end_text
from tunelab._core.error_report import ErrorReports
from tunelab._core.experiment_states import ExperimentStates
from tunelab._core.run_state import Collaborators, LoopPart, RunFlags
from tunelab._core.trial_checkpoints import TrialCheckpoints
from tunelab._core.trial_lifecycle import TrialLifecycle
from tunelab._errors import storage_error_in_report
from tunelab._trial import Trial, TrialStatus
from tunelab.execution import _protocol as P
from tunelab.execution._protocol import EndReason
from tunelab.schedulers import Reconfigure, RunnerView

logger = logging.getLogger("tunelab")

__all__ = ["TrialEnds"]


class TrialEnds(LoopPart):
    """Carries out the end of a trial's run and of the experiment (see the module docstring).

    Args:
        table: The trial table.
        flags: The run's shared flags (read: the loop step, whether the experiment ends;
            set: ending, the error to raise, resources freed).
        parts: The run's search algorithm, scheduler, executor and callbacks.
        states: The experiment states (each end is journaled).
        checkpoints: The trials' checkpoints (fallback to an older one, restore points).
        errors: Writes ``error.txt`` and prints errors.
        force: The force-end policy (graces armed here, deadlines enforced here).
        fail_fast: Ray's ``fail_fast``: True ends the experiment after a trial's failure;
            ``"raise"`` also raises it when the run returns.
        enqueue: Runs a command on the loop's thread at its next step.
    """

    def __init__(
        self,
        table: TrialLifecycle,
        flags: RunFlags,
        *,
        parts: Collaborators,
        states: ExperimentStates,
        checkpoints: TrialCheckpoints,
        errors: ErrorReports,
        force: ForceEnds,
        fail_fast: bool | str,
        enqueue: Callable[[Callable[[], None]], None],
    ) -> None:
        super().__init__(table, flags, parts)
        self._states = states
        self._checkpoints = checkpoints
        self._errors = errors
        self._force = force
        self._fail_fast = fail_fast
        self._enqueue = enqueue
        #: what the policies see of the run (and how they change trials they hold)
        self.view = RunnerView(
            table.views_with_status,
            table.views,
            parts.executor.total_resources,
            stop_trial=self._stop_held,
            reconfigure_trial=self._reconfigure_held,
        )

    # -- a trial's run ends ------------------------------------------------------------------
    def on_end(self, event: P.Ended | P.Paused | P.Failed) -> None:
        """The run of a trial ended (returned, stopped, paused or raised)."""
        trial_id = event.trial_id
        trial = self._table.by_id.get(trial_id)
        if trial is None:
            return
        self._table.run(trial_id).stopping = False
        if isinstance(event, P.Failed):
            text = event.traceback
            storage = storage_error_in_report(text, f"trial {trial}", trial.local_path)
            if storage is not None:  # the disk, not the trial: stop, resumable
                raise storage
            if event.during_restore and self._checkpoints.fall_back(trial, text):
                self.requeue(trial)  # from the previous retained checkpoint
                return
            self.fail(trial, text, retry=True)
            return
        reconfigure = self._table.take_reconfigure(trial_id)
        if isinstance(event, P.Paused):
            path = event.checkpoint
            if path and path != getattr(trial.checkpoint, "path", None):
                self._checkpoints.register(trial, path, trial.last_result)
            ending = self._flags.ending
            if reconfigure is not None and not ending:
                self.reconfigure(trial, reconfigure)
            elif ending and not self._flags.interrupted:
                self.complete(trial)  # paused by a decision taken before the experiment ended
            else:
                self.requeue(trial, TrialStatus.PAUSED)
            return
        self.complete(trial)

    def complete(self, trial: Trial) -> None:
        """``trial`` ends TERMINATED (its last result is marked ``done``)."""
        last = trial.last_result
        if last and not last.get("done"):
            last["done"] = True
        self._table.end(trial, TrialStatus.TERMINATED)
        self._scheduler.on_trial_complete(self.view, self._table.view(trial), last)
        self._search.on_trial_complete(trial.trial_id, last or None, error=False)
        self._states.journal(trial)  # with the policies' states that know it ended
        self._callbacks.on_trial_complete(
            iteration=self._flags.iteration, trials=self._table.trials, trial=trial
        )
        trial.compact()  # a finished trial shares its result's strings with the others

    def fail(self, trial: Trial, text: str, *, retry: bool) -> None:
        """``trial`` failed with ``text`` (a traceback): with ``retry`` it runs again while
        its ``max_failures`` allow (and the experiment goes on), else it ends ERROR."""
        self._errors.write(trial, text)
        trial.num_failures += 1
        trial.error_msg = text.strip().splitlines()[-1] if text.strip() else "unknown error"
        max_failures = trial.max_failures
        if (
            retry
            and not self._flags.ending
            and not self._fail_fast
            and (max_failures < 0 or trial.num_failures <= max_failures)
        ):
            self.requeue(trial)
            self._callbacks.on_trial_recover(
                iteration=self._flags.iteration, trials=self._table.trials, trial=trial
            )
            return
        self._table.end(trial, TrialStatus.ERROR)
        self._errors.print_failure(trial, text)
        self._scheduler.on_trial_error(self.view, self._table.view(trial))
        self._search.on_trial_complete(trial.trial_id, trial.last_result or None, error=True)
        self._states.journal(trial)  # with the policies' states that know it ended
        self._callbacks.on_trial_error(
            iteration=self._flags.iteration, trials=self._table.trials, trial=trial
        )
        trial.compact()
        if self._fail_fast:
            if isinstance(self._fail_fast, str) and self._fail_fast.upper() == "RAISE":
                from tunelab._errors import TrialError

                self._flags.raise_error = TrialError(
                    f"Trial {trial} failed:\n{text}", trial_id=trial.trial_id, traceback=text
                )
            self.end_experiment(f"trial {trial} failed and fail_fast is set")

    # -- a trial runs again ------------------------------------------------------------------
    def requeue(
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

    def reconfigure(self, trial: Trial, change: Reconfigure) -> None:
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
        # on under the new tag; a trial that never ran has none
        ran = trial.start_time is not None or bool(trial.last_result)
        self.requeue(trial, rollback=change.checkpoint is None and ran)

    # -- what a scheduler asks of the trials it holds ------------------------------------------
    def _stop_held(self, trial: Trial) -> None:
        """A scheduler ends a trial it holds (PENDING/PAUSED): applied at the next step."""
        trial_id = trial.trial_id

        def stop() -> None:
            held = self._table.by_id.get(trial_id)
            if held is not None and held.status in (TrialStatus.PENDING, TrialStatus.PAUSED):
                self.complete(held)

        self._enqueue(stop)

    def _reconfigure_held(self, trial: Trial, change: Reconfigure) -> None:
        """A scheduler restarts a trial it holds (PENDING/PAUSED) from another checkpoint or
        with another config (PBT's synch exploit): applied now, so the trial is PENDING
        with its new setup when the scheduler's call goes on."""
        held = self._table.live(trial, "runner.reconfigure_trial")
        if held.status not in (TrialStatus.PENDING, TrialStatus.PAUSED):
            raise ValueError(
                f"runner.reconfigure_trial: {held} is {held.status.value}; only PENDING or "
                "PAUSED trials of this experiment can be reconfigured (return a Reconfigure "
                "from on_trial_result for a running one)"
            )
        if not isinstance(change, Reconfigure):
            raise TypeError(
                f"runner.reconfigure_trial: change must be a Reconfigure, got {change!r}"
            )
        self.reconfigure(held, change)

    # -- stopping ----------------------------------------------------------------------------
    def stop_running(self, trial: Trial, why: str = "a stop request") -> None:
        """Ask a RUNNING trial to stop at its next report (force-ended after its grace)."""
        if self._table.stop_asked(trial.trial_id):
            self._executor.request_stop(trial.trial_id)
            self._force.arm_stop(trial.trial_id, "stop", why)

    def end_experiment(self, why: str) -> None:
        """End the experiment (a stopper's ``stop_all``, the time budget, ``fail_fast``, a
        stop request): running trials stop at their next report, and the trials that wait
        (PENDING, PAUSED) end TERMINATED without running, as in Ray Tune; the run then
        returns normally. (An interrupt, Ctrl+C, keeps them waiting for a resume instead.)"""
        logger.info("tunelab: %s", why)
        self._flags.ending = True
        for trial in list(self._table.with_status(TrialStatus.RUNNING)):
            self.stop_running(trial, why)
        self.end_waiting()

    def end_waiting(self) -> None:
        """PENDING and PAUSED trials of an experiment that was told to end are TERMINATED
        (not when it was interrupted: they wait for a resume)."""
        if self._flags.interrupted:
            return
        for status in (TrialStatus.PENDING, TrialStatus.PAUSED):
            for trial in list(self._table.with_status(status)):
                self.complete(trial)

    # -- force-ending trials that do not answer --------------------------------------------------
    def enforce_deadlines(self) -> None:
        """Force-end the RUNNING trials whose grace or time limit ran out."""
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
        self._flags.blocked_at = None  # its resources are free
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
        self.on_end(P.Paused(trial_id) if kind == "pause" else P.Ended(trial_id, EndReason.STOPPED))
