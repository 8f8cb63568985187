"""The one owner of trial state in the controller.

:class:`TrialLifecycle` holds every trial of a run (in creation order, by id and by status)
and, next to each :class:`~tunelab._trial.Trial` record, a :class:`TrialRun`: what the
controller knows about the trial between two of its runs (its checkpoint manager, whether it
restores on its next start, where its outputs roll back to, a scheduler's pending
reconfiguration, whether a stop was asked, whether its executor ended it) and the one
read-only :class:`~tunelab._trial.TrialView` of it that the scheduler sees. The status
changes go through its operations (:meth:`TrialLifecycle.requeue`, :meth:`started`,
:meth:`end`), so what belongs together changes together. Pure bookkeeping: no processes,
files or callbacks; the controller does the effects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from tunelab._trial import Trial, TrialStatus, TrialView

if TYPE_CHECKING:
    from tunelab._core.checkpoint_manager import CheckpointManager
    from tunelab.schedulers import Reconfigure

__all__ = ["TrialLifecycle", "TrialRun"]


class TrialRun:
    """The controller's state of one trial beyond its record (see the module docstring)."""

    __slots__ = (
        "force_ended",
        "manager",
        "reconfigure",
        "restoring",
        "rollback_to",
        "stopping",
        "view",
    )

    def __init__(self, view: TrialView) -> None:
        self.view = view  # what the scheduler sees of the trial (one per trial)
        self.manager: CheckpointManager | None = None  # created on its first checkpoint
        self.restoring = False  # its next start restores from trial.checkpoint
        self.rollback_to: int | None = None  # its outputs roll back to this iteration first
        self.reconfigure: Reconfigure | None = None  # applied when it pauses
        self.stopping = False  # a stop or pause was asked: its later results are dropped
        self.force_ended = False  # its executor ended it: its late messages are ignored


class TrialLifecycle:
    """Every trial by id and by status, in creation order, with its :class:`TrialRun`, and
    the restore state (iteration, time, counters) of every checkpoint a trial registered."""

    def __init__(self) -> None:
        self.trials: list[Trial] = []
        self.views: list[TrialView] = []  # the scheduler's views, in the same order
        self.by_id: dict[str, Trial] = {}
        self._by_status: dict[TrialStatus, dict[str, Trial]] = {s: {} for s in TrialStatus}
        self._runs: dict[str, TrialRun] = {}
        self._states: dict[str, dict[str, Any]] = {}  # checkpoint path -> restore state
        self._force_ended = 0  # how many runs are force-ended (the event path's fast check)

    # -- the table ---------------------------------------------------------------------------
    def add(self, trial: Trial, *, restoring: bool = False) -> None:
        """Add ``trial``; with ``restoring`` its first start restores from its checkpoint."""
        self.trials.append(trial)
        self.by_id[trial.trial_id] = trial
        self._by_status[trial.status][trial.trial_id] = trial
        view = TrialView(trial)
        self.views.append(view)
        run = self._runs[trial.trial_id] = TrialRun(view)
        run.restoring = restoring

    def run(self, trial_id: str) -> TrialRun:
        """The :class:`TrialRun` of a trial of this table."""
        return self._runs[trial_id]

    def set_status(self, trial: Trial, status: TrialStatus) -> None:
        self._by_status[trial.status].pop(trial.trial_id, None)
        trial.status = status
        self._by_status[status][trial.trial_id] = trial

    def with_status(self, status: TrialStatus | str) -> Iterator[Trial]:
        return iter(list(self._by_status[TrialStatus(status)].values()))

    def views_with_status(self, status: TrialStatus | str) -> Iterator[TrialView]:
        """The scheduler's views of the trials with ``status``, in the order added."""
        runs = self._runs
        return iter([runs[i].view for i in self._by_status[TrialStatus(status)]])

    def view(self, trial: Trial) -> TrialView:
        """The scheduler's view of ``trial``."""
        return self._runs[trial.trial_id].view

    def live(self, trial: Trial, what: str) -> Trial:
        """The trial of this table that ``trial`` (a scheduler's view of it, or the trial
        itself) shows; ``ValueError`` naming ``what`` returned it when it is neither."""
        held = self.by_id.get(trial.trial_id)
        if held is None or (trial is not held and trial is not self._runs[held.trial_id].view):
            raise ValueError(f"{what}: {trial!r} is not a trial of this experiment")
        return held

    def count(self, status: TrialStatus) -> int:
        return len(self._by_status[status])

    def counts(self) -> dict[str, int]:
        return {s.value: len(d) for s, d in self._by_status.items() if d}

    # -- lifecycle operations ----------------------------------------------------------------
    def requeue(
        self,
        trial: Trial,
        status: TrialStatus = TrialStatus.PENDING,
        *,
        restoring: bool | None = None,
        rollback_to: int | None = None,
    ) -> None:
        """``trial`` will run again: it waits as ``status`` (PENDING or PAUSED); a PENDING
        trial starts as a restore when ``restoring`` (default: when it has a checkpoint);
        with ``rollback_to`` its outputs roll back to that iteration before it reruns."""
        self.set_status(trial, status)
        run = self._runs[trial.trial_id]
        if status is TrialStatus.PENDING and (
            restoring if restoring is not None else trial.checkpoint is not None
        ):
            run.restoring = True
        if rollback_to is not None:
            run.rollback_to = rollback_to

    def restores(self, trial: Trial) -> bool:
        """Whether the next start of ``trial`` resumes it (from a pause or a checkpoint)."""
        return trial.status == TrialStatus.PAUSED or self._runs[trial.trial_id].restoring

    def started(self, trial: Trial) -> int | None:
        """``trial`` runs now: it is RUNNING, neither restoring nor force-ended any more.
        Returns the iteration its outputs roll back to first, if any."""
        run = self._runs[trial.trial_id]
        rollback, run.rollback_to = run.rollback_to, None
        run.restoring = False
        self._set_force_ended(run, False)
        self.set_status(trial, TrialStatus.RUNNING)
        return rollback

    def end(self, trial: Trial, status: TrialStatus) -> None:
        """``trial`` is finished (TERMINATED or ERROR): nothing is pending for it."""
        run = self._runs[trial.trial_id]
        run.restoring = False
        run.reconfigure = None
        self.set_status(trial, status)

    def stop_asked(self, trial_id: str) -> bool:
        """Mark that ``trial_id`` was asked to stop or pause; False when it already was."""
        run = self._runs[trial_id]
        if run.stopping:
            return False
        run.stopping = True
        return True

    def stopping(self, trial_id: str) -> bool:
        run = self._runs.get(trial_id)
        return run is not None and run.stopping

    def take_reconfigure(self, trial_id: str) -> Reconfigure | None:
        """The reconfiguration waiting for ``trial_id`` to pause (cleared)."""
        run = self._runs[trial_id]
        change, run.reconfigure = run.reconfigure, None
        return change

    def force_end(self, trial_id: str) -> None:
        """Its executor ended ``trial_id``: its late messages are ignored until it restarts."""
        self._set_force_ended(self._runs[trial_id], True)

    def force_ended(self, trial_id: str) -> bool:
        if not self._force_ended:
            return False
        run = self._runs.get(trial_id)
        return run is not None and run.force_ended

    def _set_force_ended(self, run: TrialRun, value: bool) -> None:
        if run.force_ended != value:
            run.force_ended = value
            self._force_ended += 1 if value else -1

    # -- checkpoints' restore states ---------------------------------------------------------
    def remember_state(self, path: str, state: dict[str, Any]) -> None:
        """The restore state of the checkpoint at ``path`` (any trial's: PBT restores one
        trial from another's)."""
        self._states[path] = state

    def forget_states(self, paths: Iterable[str]) -> None:
        for path in paths:
            self._states.pop(path, None)

    def state_of(self, path: str) -> dict[str, Any] | None:
        """The restore state of the checkpoint at ``path``: registered in this run, or the
        state a resumed trial carries for its current checkpoint."""
        state = self._states.get(path)
        if state is not None:
            return state
        for trial in self.trials:
            if trial.restore_state and str(getattr(trial.checkpoint, "path", "")) == path:
                return trial.restore_state
        return None
