"""The experiment states of a run: one :class:`ExperimentStateWriter` per experiment
directory, what their snapshots hold, and when a trial's change is journaled.

The controller says *that* a trial changed (:meth:`ExperimentStates.journal` for a change
a resume must see: a new trial, a status, a checkpoint; :meth:`ExperimentStates.touch`
for one the next snapshot may carry: a start, since a resume treats RUNNING as PENDING)
and *when* a loop step's changes go to disk (:meth:`flush`, :meth:`maybe_write`); this
module owns the document and the policies' states that go with the trials. No policy or
process is touched here; files only through the writers.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from tunelab._core.trial_lifecycle import TrialLifecycle
from tunelab._json import json_safe
from tunelab._persistence.experiment_state import ExperimentStateWriter
from tunelab._trial import Trial

logger = logging.getLogger("tunelab")


class ExperimentStates:
    """The state writers of a run and the document each one snapshots.

    Args:
        table: The trial table (the trials of every experiment of the run).
        search_alg: The search algorithm (its ``get_state`` goes into the states).
        scheduler: The trial scheduler (likewise).
        callbacks: The callbacks (their states go into each snapshot).
        metric: The run's metric (recorded for readers of the state).
        mode: The run's mode.
        period_s: The least time between two snapshots (see the writer).
        clock: The run's clock.
    """

    def __init__(
        self,
        table: TrialLifecycle,
        *,
        search_alg: Any,
        scheduler: Any,
        callbacks: Any,
        metric: str | None,
        mode: str | None,
        period_s: float,
        clock: Callable[[], float],
    ) -> None:
        self._table = table
        self._search = search_alg
        self._scheduler = scheduler
        self._callbacks = callbacks
        self._metric = metric
        self._mode = mode
        self._period = period_s
        self._clock = clock
        self.start_time = time.time()
        #: experiment path -> its writer (shared with the trials' checkpoint registry)
        self.writers: dict[str, ExperimentStateWriter] = {}

    def open(self, experiment_path: str) -> None:
        """A writer for the experiment in ``experiment_path`` (written by :meth:`start`)."""
        self.writers[experiment_path] = ExperimentStateWriter(
            experiment_path,
            lambda safe=True: self.document(experiment_path, safe),
            period_s=self._period,
            clock=self._clock,
            policy_state=self.policy_state,
            policy_changes=self.policy_changes,
        )

    def start(self) -> None:
        """Write the first snapshots (the trials adopted on a resume included)."""
        for writer in self.writers.values():
            writer.start()

    # -- changes ------------------------------------------------------------------------------
    def journal(self, trial: Trial, *, now: bool = False) -> None:
        """Journal ``trial``'s new state; the search algorithm's and the scheduler's states
        follow in one line at the end of the loop step, in the same write as the step's
        trial lines: a resume then finds the policies in step with the trials (no trial
        created twice, no configuration suggested again, never more than ``num_samples``,
        no bracket waiting for a trial that ended). ``now``: on disk before this returns
        (a new trial, before it can create its directory or log anything: a resume never
        makes the same trial again under a second directory)."""
        writer = self.writers.get(trial.experiment_path)
        if writer is None:
            return
        writer.record_trial(trial)
        writer.policies_changed()
        if now:
            writer.flush()

    def touch(self, trial: Trial) -> None:
        """``trial`` changed in a way the next snapshot carries, no journal line."""
        writer = self.writers.get(trial.experiment_path)
        if writer is not None:
            writer.mark_dirty()

    def _policy(self, key: str) -> Any:
        return self._search if key == "search_alg" else self._scheduler

    def policy_state(self, key: str, raw: bool) -> Any:
        """The state of the search algorithm (``key`` "search_alg") or of the scheduler
        ("scheduler") now: as ``get_state`` returns it (``raw``: the writer encodes it with
        the C encoder) or JSON-safe."""
        return safe_state(self._policy(key), safe=not raw)

    def policy_changes(self, key: str, since: Any) -> tuple[Any, Any] | None:
        """What changed in the state of policy ``key`` since its mark ``since``, when it
        reports its changes (``get_state_changes``, as ASHA does: the journal then costs
        what changed, not the size of its state); None when it does not."""
        report = getattr(self._policy(key), "get_state_changes", None)
        if report is None:
            return None
        changes = report(since)
        return None if changes is None else (changes[0], changes[1])

    def document(self, experiment_path: str, safe: bool = True) -> dict[str, Any]:
        """What the snapshot of the experiment in ``experiment_path`` holds: its trials as
        Trial objects (the writer encodes them one by one), the policies' and callbacks'
        states raw or JSON-safe (``safe``)."""
        trials = [t for t in self._table.trials if t.experiment_path == experiment_path]
        return {
            "name": os.path.basename(experiment_path),
            "metric": self._metric,
            "mode": self._mode,
            "start_time": self.start_time,
            "timestamp": time.time(),
            "trials": trials,
            "search_alg": safe_state(self._search, safe),
            "scheduler": safe_state(self._scheduler, safe),
            # callbacks' states (get_state), with every snapshot: a resume hands them back
            "callbacks": safe_state(self._callbacks, safe),
        }

    # -- to disk --------------------------------------------------------------------------------
    def flush(self) -> None:
        """Hand the loop step's journal lines to the OS (after the loggers flushed theirs)."""
        for writer in self.writers.values():
            writer.flush()

    def maybe_write(self) -> None:
        """Snapshot the experiments whose period is up."""
        for writer in self.writers.values():
            writer.maybe_write()

    def close(self) -> None:
        """Close the journals; the last snapshots, unless a journal is as compact as a
        snapshot of what it holds (see :meth:`ExperimentStateWriter.journal_is_compact`:
        the callbacks' states then go into it instead)."""
        for writer in self.writers.values():
            writer.flush()
            if writer.journal_is_compact():
                writer.record_callbacks(safe_state(self._callbacks))
                writer.flush()
            else:
                writer.write()
            writer.close()

    def stop(self, *, write: bool) -> None:
        """Close after another part failed to write (see :meth:`ExperimentStateWriter.stop`)."""
        for writer in self.writers.values():
            writer.stop(write=write)


def safe_state(policy: Any, safe: bool = True) -> Any:
    """The policy's state: JSON-safe, or with ``safe=False`` as ``get_state`` returns it
    (for writers that encode with the C encoder and fall back to the safe form)."""
    get_state = getattr(policy, "get_state", None)
    if get_state is None:
        return None
    try:
        state = get_state()
        return json_safe(state) if safe else state
    except Exception:  # a policy whose state is not JSON-safe is simply not stored
        logger.debug("could not serialise the state of %r", policy, exc_info=True)
        return None
