"""What each event from the executor does: results go to the callbacks (the loggers
first write them), the search algorithm, and at a decision point the stopper or the
scheduler, whose verdict waits in :attr:`Events.outgoing` until the results it answers are
on disk; a checkpoint is registered; a lost worker fails its trial; the end of a run goes
to :class:`~tunelab._core.trial_ends.TrialEnds`.

Per result the work is O(1) in the number of trials: the trial is found by id, policies
are asked only at decision points, callbacks append to buffered files.
"""

from __future__ import annotations

from typing import Any

from tunelab._core.metric_check import check_result_metrics
from tunelab._core.run_state import Collaborators, ExperimentRuntime, LoopPart, RunFlags
from tunelab._core.trial_checkpoints import TrialCheckpoints
from tunelab._core.trial_ends import TrialEnds
from tunelab._core.trial_lifecycle import TrialLifecycle
from tunelab._trial import TrialStatus
from tunelab.execution import _protocol as P
from tunelab.execution._protocol import Event, Verdict
from tunelab.schedulers import Decision, Reconfigure

__all__ = ["Events"]


class Events(LoopPart):
    """Handles the executor's events (see the module docstring).

    Args:
        table: The trial table.
        ends: Carries out the end of a run, a failure, the end of the experiment.
        flags: The run's shared flags (the loop step; ``blocked_at`` is cleared when a
            trial's run ends).
        runtimes: The experiments of the run (each one's controller-side stopper).
        parts: The run's search algorithm, scheduler, executor and callbacks.
        checkpoints: The trials' checkpoints.
        required_metrics: ``(metric, who expects it)`` pairs every result must hold
            (Ray Tune's strict metric check), or empty.
    """

    def __init__(
        self,
        table: TrialLifecycle,
        ends: TrialEnds,
        flags: RunFlags,
        *,
        runtimes: list[ExperimentRuntime],
        parts: Collaborators,
        checkpoints: TrialCheckpoints,
        required_metrics: list[tuple[str, str]],
    ) -> None:
        super().__init__(table, flags, parts)
        self._ends = ends
        self._view = ends.view
        self._runtimes = runtimes
        self._checkpoints = checkpoints
        self._required = required_metrics
        #: verdicts to send once the results they answer are on disk: (trial id, verdict)
        self.outgoing: list[tuple[str, Verdict]] = []

    def handle(self, event: Event) -> None:
        if self._table.force_ended(event.trial_id):
            return  # a late message of a run that was force-ended
        kind = type(event)
        if kind is P.Results:
            self._on_results(event)  # type: ignore[arg-type]
            return
        self._flags.blocked_at = None  # a trial ended or was lost: resources may be free
        if kind is P.CheckpointSaved:
            trial = self._table.by_id.get(event.trial_id)
            if trial is not None:
                self._checkpoints.register(trial, event.path, trial.last_result)  # type: ignore[union-attr]
        elif kind is P.Lost:
            trial = self._table.by_id.get(event.trial_id)
            if trial is not None and trial.status == TrialStatus.RUNNING:
                self._ends.fail(trial, f"TuneError: {event.message}", retry=True)  # type: ignore[union-attr]
        else:
            self._ends.on_end(event)  # type: ignore[arg-type]

    def _on_results(self, event: P.Results) -> None:
        trial_id = event.trial_id
        trial = self._table.by_id.get(trial_id)
        if trial is None or trial.status != TrialStatus.RUNNING:
            # results of a trial that ended (force-ended) are dropped: never logged or
            # shown, and the checkpoints they carry are removed (no one would register them)
            if trial is not None and event.checkpoints:
                self._checkpoints.drop(trial, event.checkpoints.values())
            return
        rt = self._runtimes[trial.experiment_index]
        if trial.location in ("", "starting"):
            trial.location = self._executor.location(trial_id)
        callbacks = self._callbacks
        trials = self._table.trials
        iteration = self._flags.iteration
        config = trial.config
        tag = trial.experiment_tag
        search = self._search
        wants_results = search.wants_results
        stopper = rt.stopper
        required = self._required
        results = event.results
        checkpoints = event.checkpoints
        # index of the waiting result. A trial asked to stop (the time budget, a stop
        # request) gets no decision: the request ends its wait. What it reported until it
        # saw the request is kept, as its worker logged it. (A decision's STOP or PAUSE has
        # no results after it: the trial waited for it.)
        waits_on = len(results) - 1 if event.wait and not self._table.stopping(trial_id) else -1
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
                raw = self._scheduler.on_trial_result(
                    self._view, self._table.run(trial_id).view, result
                )
            if wants_results:
                search.on_trial_result(trial_id, result)
            if isinstance(raw, Reconfigure):
                self._table.run(trial_id).reconfigure = raw
            verdict = Verdict.of(raw)
            if verdict is Verdict.STOP or verdict is Verdict.PAUSE:
                self._table.stop_asked(trial_id)
            self.outgoing.append((trial_id, verdict))
            if stopper is not None and getattr(stopper, "stop_all", None) and stopper.stop_all():
                self._ends.end_experiment("the stopper ended the experiment")
            if verdict is Verdict.STOP or verdict is Verdict.PAUSE:
                return
