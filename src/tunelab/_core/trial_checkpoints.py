"""The checkpoints of every trial of a run: registration, retention, deletion, fallback.

:class:`TrialCheckpoints` is the controller's one place for what happens when a trial
reports a checkpoint (it becomes the trial's newest, the trial's
:class:`~tunelab._core.checkpoint_manager.CheckpointManager` decides what is kept, the
checkpoint is journaled at once and the callbacks hear of it), for the deletion of the
checkpoints dropped from a history (after the journal that no longer names them is on
disk), and for the fallback to an older checkpoint when the newest cannot be loaded.

It never decides when a trial runs: :meth:`fall_back` says whether there is an older
checkpoint, and the controller requeues the trial.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from tunelab._core.checkpoint_manager import CheckpointManager, delete_local
from tunelab._core.error_report import ErrorReports
from tunelab._core.trial_lifecycle import TrialLifecycle
from tunelab._trial import Trial

__all__ = ["TrialCheckpoints"]

logger = logging.getLogger("tunelab")


class TrialCheckpoints:
    """Checkpoint bookkeeping of one run (owned by the controller, used from its thread).

    Args:
        table: The trial lifecycle (each trial's manager and restore states live there).
        checkpoint_configs: Per experiment index, its ``CheckpointConfig``.
        writers: Experiment path -> its experiment-state writer (journaled checkpoints).
        callbacks: The run's callbacks (``on_trial_save``, ``on_checkpoint``).
        errors: Where a fallback is written into the trial's error file.
        iteration: The controller's loop iteration, as callbacks receive it.
        delete_remote: Removes a checkpoint a worker uploaded to remote storage; None: they
            are left in place.
    """

    def __init__(
        self,
        table: TrialLifecycle,
        checkpoint_configs: list[Any],
        writers: dict[str, Any],
        callbacks: Any,
        errors: ErrorReports,
        iteration: Callable[[], int],
        delete_remote: Callable[[str], None] | None = None,
    ) -> None:
        self._table = table
        self._configs = checkpoint_configs
        self._writers = writers
        self._callbacks = callbacks
        self._errors = errors
        self._iteration = iteration
        self._delete_remote = delete_remote
        self._doomed: list[str] = []  # to delete after the next journal flush

    def manager(self, trial: Trial) -> CheckpointManager:
        """``trial``'s checkpoint manager (made on first use from its experiment's config)."""
        run = self._table.run(trial.trial_id)
        if run.manager is None:
            cfg = self._configs[trial.experiment_index]
            run.manager = CheckpointManager(
                cfg.num_to_keep,
                cfg.checkpoint_score_attribute,
                cfg.checkpoint_score_order,
                delete=self._doomed.append,  # deleted once the journal no longer needs them
            )
        return run.manager

    @staticmethod
    def restored_iteration(trial: Trial) -> int:
        """The ``training_iteration`` ``trial`` restarts from (0: from scratch)."""
        if trial.checkpoint is None or not trial.restore_state:
            return 0
        return int(trial.restore_state.get("iteration", 0))

    def register(
        self, trial: Trial, path: str, result: dict[str, Any], *, announce: bool = True
    ) -> None:
        """Make the checkpoint at ``path`` (saved with ``result``) ``trial``'s newest:
        retention, a journal line at once (a kill before the next snapshot resumes from
        it) and, when ``announce``, ``on_trial_save`` then ``on_checkpoint`` (as Ray)."""
        from tunelab._checkpoint import Checkpoint

        checkpoint = Checkpoint(path)
        trial.checkpoint = checkpoint
        state = {
            "iteration": result.get("training_iteration", 0),
            "time_total": result.get("time_total_s", 0.0),
            "timesteps_total": result.get("timesteps_total"),
            "episodes_total": result.get("episodes_total"),
        }
        trial.restore_state = state
        self._table.remember_state(str(checkpoint.path), state)
        metrics = {k: v for k, v in result.items() if k != "config"}
        manager = self.manager(trial)
        dropped = manager.register(str(checkpoint.path), metrics)
        self._table.forget_states(dropped)
        trial.checkpoint_history = [[p, m] for p, m in manager.entries]
        writer = self._writers.get(trial.experiment_path)
        if writer is not None:
            writer.record_checkpoint(
                trial.trial_id,
                trial.relative(str(checkpoint.path)),
                metrics,
                state,
                [trial.relative(p) for p in dropped],
            )
        if announce:
            trials = self._table.trials
            iteration = self._iteration()
            self._callbacks.on_trial_save(iteration=iteration, trials=trials, trial=trial)
            self._callbacks.on_checkpoint(
                iteration=iteration, trials=trials, trial=trial, checkpoint=checkpoint
            )

    def adopt_logged(self, trial: Trial) -> None:
        """A checkpoint whose result reached result.json but not the journal (the driver
        was killed between the two writes) becomes the trial's newest: it resumes there."""
        from tunelab._persistence.rollback import latest_logged_checkpoint

        result = latest_logged_checkpoint(trial.local_path)
        if result is None:
            return
        iteration = result.get("training_iteration")
        if not isinstance(iteration, int) or iteration <= self.restored_iteration(trial):
            return
        path = os.path.join(trial.local_path, result["checkpoint_dir_name"])
        self.register(trial, path, result, announce=False)

    def drop(self, trial: Trial, paths: Iterable[str]) -> None:
        """Delete the checkpoints of dropped results (never those the trial registered)."""
        kept = {str(getattr(trial.checkpoint, "path", ""))}
        kept.update(path for path, _ in self.manager(trial).entries)
        for path in paths:
            if path not in kept:
                self.delete(path)

    def delete(self, path: str) -> None:
        """Delete one checkpoint, local or remote."""
        if "://" not in path:
            delete_local(path)
        elif self._delete_remote is not None:
            self._delete_remote(path)
        else:
            logger.warning("tunelab: no storage to delete the checkpoint %s from", path)

    def delete_dropped(self) -> None:
        """Delete what the managers dropped from a history; call once the journal that no
        longer names them is on disk."""
        if self._doomed:
            doomed = self._doomed[:]
            self._doomed.clear()  # (the managers hold its append)
            for path in doomed:
                self.delete(path)

    def fall_back(self, trial: Trial, text: str) -> bool:
        """The newest checkpoint of ``trial`` could not be loaded (``text``: the error):
        make the previous retained one its newest (not a failure of the trial) and return
        True, for the caller to requeue it; False when there is none."""
        from tunelab._checkpoint import Checkpoint

        bad = str(getattr(trial.checkpoint, "path", ""))
        manager = self.manager(trial)
        older = [p for p, _ in manager.entries if p != bad and ("://" in p or os.path.isdir(p))]
        self._errors.write(
            trial,
            f"{text}\nFalling back to an older checkpoint: {older[-1] if older else 'none left'}\n",
        )
        if not older:
            return False
        manager.entries = [(p, m) for p, m in manager.entries if p != bad]
        trial.checkpoint_history = [[p, m] for p, m in manager.entries]
        trial.checkpoint = Checkpoint(older[-1])
        state = self._table.state_of(older[-1])
        trial.restore_state = dict(state) if state else None
        return True
