"""A conformance suite for :class:`~tunelab.schedulers.TrialScheduler` implementations.

``check_scheduler(factory)`` builds schedulers with ``factory()`` and drives them through
the lifecycle the controller follows, with a small in-memory experiment (no processes, no
files except one temporary file for ``save``/``restore``):

* trials are added (``on_trial_add``) when the scheduler has nothing to run, report results
  (``on_trial_result`` only at the scheduler's decision points: each result goes through
  the workers' own :class:`~tunelab.execution._result_machine.ResultMachine`), are paused,
  resumed through ``choose_trial_to_run``, reconfigured, stopped, completed
  (``on_trial_complete``), fail (``on_trial_error``), and one is paused by the controller
  (as Ctrl+C does: at its next report) without the scheduler asking;
* every decision must be a :class:`~tunelab.schedulers.Decision` (or its string) or a
  :class:`~tunelab.schedulers.Reconfigure`; ``choose_trial_to_run`` may only return a
  PENDING or PAUSED trial of the experiment; ``runner.stop_trial`` may only be asked for a
  PENDING or PAUSED trial; the experiment must finish (no trial held forever), with a
  runner that offers ``stop_trial`` and with one that does not;
* a result lacking the metric at a decision point gets CONTINUE (``check_missing_metric``);
* metric/mode left unset: ``on_trial_add`` either works or raises a ``ValueError`` that
  names both;
* ``get_state()`` is JSON-safe; ``set_state`` on a fresh scheduler (then ``on_trial_add``
  again for every trial, as a resumed experiment does) gives the same decisions from there
  on; ``save(path)``/``restore(path)`` round-trip; two runs give the same decisions;
* under the real controller (``check_under_controller``: ``tune.run`` on the
  :class:`~tunelab.testing.SimulatedExecutor`, the same curves, in simulated time) every
  trial ends TERMINATED within ``max_iterations``, the scheduler's decisions are ones the
  controller carries out, and two runs end every trial at the same iteration.

Use it from pytest::

    from tunelab.testing.scheduler_conformance import check_scheduler

    @pytest.mark.parametrize("factory", [lambda: MyScheduler(seed=0)])
    def test_my_scheduler_conforms(factory):
        check_scheduler(factory)
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunelab._trial import Trial, TrialStatus, TrialView
from tunelab.execution._protocol import EndReason, Verdict
from tunelab.execution._result_machine import ResultMachine, Step
from tunelab.schedulers._trial_scheduler import (
    Decision,
    DecisionPoints,
    Reconfigure,
    RunnerView,
    TrialScheduler,
)

__all__ = [
    "ConformanceReport",
    "FakeExperiment",
    "FakeRunner",
    "check_scheduler",
    "check_under_controller",
]

SchedulerFactory = Callable[[], TrialScheduler]
_WAITING = (TrialStatus.PENDING, TrialStatus.PAUSED)


class ConformanceError(AssertionError):
    """A scheduler broke the contract (the message says how)."""


def _fail(message: str) -> None:
    raise ConformanceError(message)


def _as_decision(raw: Any) -> Decision:
    try:
        return Decision(raw)
    except ValueError:
        raise ConformanceError(
            f"on_trial_result returned {raw!r}: not a Decision, its string or Reconfigure"
        ) from None


class FakeRunner(RunnerView):
    """A :class:`RunnerView` over a :class:`FakeExperiment`, with ``stop_trial`` (applied
    at the next step, as the controller does) unless ``can_stop`` is False."""

    def __init__(self, experiment: FakeExperiment, can_stop: bool = True) -> None:
        super().__init__(
            lambda status: [experiment.view(t) for t in experiment.with_status(status)],
            _Views(experiment),
        )
        self._experiment = experiment
        if not can_stop:
            self.stop_trial = None  # type: ignore[assignment,method-assign]

    def stop_trial(self, trial: Trial) -> None:
        if trial.status not in _WAITING:
            _fail(
                f"stop_trial({trial.trial_id}) asked for a {trial.status} trial; only PENDING "
                "or PAUSED trials can be stopped this way (return STOP for a running one)"
            )
        self._experiment.stop_requests.append(trial.trial_id)

    def reconfigure_trial(self, trial: Trial, change: Reconfigure) -> None:
        if trial.status not in _WAITING or not self._experiment.owns(trial):
            _fail(
                f"reconfigure_trial({trial.trial_id}) asked for a {trial.status} trial; only "
                "PENDING or PAUSED trials of the runner can be reconfigured this way (return "
                "a Reconfigure for a running one)"
            )
        if not isinstance(change, Reconfigure):
            _fail(f"reconfigure_trial({trial.trial_id}) got {change!r}, not a Reconfigure")
        self._experiment.log.append(("reconfigure", trial.trial_id))
        live = self._experiment._trial(trial.trial_id)  # as the controller, not the view
        if change.config is not None:
            live.config = dict(change.config)
        live.experiment_tag += change.tag_suffix
        live.status = TrialStatus.PENDING


class _Views(Sequence[Trial]):
    """The scheduler's views of a fake experiment's trials, in order (read on each call)."""

    def __init__(self, experiment: FakeExperiment) -> None:
        self._experiment = experiment

    def __len__(self) -> int:
        return len(self._experiment.trials)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._experiment.view(t) for t in self._experiment.trials[index]]
        return self._experiment.view(self._experiment.trials[index])


@dataclass
class _Run:
    """A running trial: where it is, the result machine of its current run, and the
    controller's requests to it (applied at its next report, as a worker applies them)."""

    iteration: int
    machine: ResultMachine
    stop_requested: bool = False
    pause_requested: bool = False


@dataclass
class FakeExperiment:
    """A deterministic experiment in memory: ``num_trials`` trials with configs
    ``{"index": i, "lr": ...}`` (``lr`` a fixed permutation of ``0.01 .. 0.01 * num_trials``)
    and learning curves ``loss = lr + 1 / iteration`` (the metric is ``-loss`` for
    ``mode="max"``; ``time_total_s`` equals the iteration), at most
    ``concurrency`` running, ``max_iterations`` each; trial ``error_index`` fails at
    iteration 3, trial ``pause_index`` is paused by the controller at iteration 2 (asked
    after iteration 1, it pauses at its next report, as a worker does).

    Also, to drive scripted trials: ``curve(config, iteration) -> metrics`` replaces the
    learning curve; ``stop`` (dict stop criteria) and ``checkpoint_every`` are handed to
    each run's result machine, as a task hands them to a worker; ``requests`` maps
    ``(trial index, iteration)`` to ``"pause"`` or ``"stop"``: the controller asks for it
    after that iteration (``pause_index`` adds ``(pause_index, 1): "pause"``)."""

    scheduler: TrialScheduler
    metric: str = "loss"
    mode: str = "min"
    num_trials: int = 12
    concurrency: int = 3
    max_iterations: int = 27
    error_index: int | None = 0
    pause_index: int | None = 2
    can_stop: bool = True
    curve: Callable[[dict[str, Any], int], Mapping[str, Any]] | None = None
    stop: Mapping[str, Any] | None = None
    checkpoint_every: int = 0
    requests: Mapping[tuple[int, int], str] | None = None
    trials: list[Trial] = field(default_factory=list)
    runs: dict[str, _Run] = field(default_factory=dict)
    progress: dict[str, int] = field(default_factory=dict)
    stop_requests: list[str] = field(default_factory=list)
    log: list[tuple[Any, ...]] = field(default_factory=list)
    steps: int = 0
    controller_paused: bool = False

    def __post_init__(self) -> None:
        self._views: dict[str, TrialView] = {}
        self.runner = FakeRunner(self, self.can_stop)
        requests = dict(self.requests or {})
        if self.pause_index is not None:
            requests.setdefault((self.pause_index, 1), "pause")
        self._requests = requests

    # -- the view ------------------------------------------------------------------------------
    def with_status(self, status: str) -> list[Trial]:
        return [t for t in self.trials if t.status == TrialStatus(status)]

    def view(self, trial: Trial) -> TrialView:
        """The scheduler's read-only view of ``trial`` (one per trial, as the controller
        gives): a scheduler that changes a trial in place fails the suite."""
        view = self._views.get(trial.trial_id)
        if view is None or view.trial is not trial:
            view = self._views[trial.trial_id] = TrialView(trial)
        return view

    def owns(self, trial: Trial) -> bool:
        """Whether ``trial`` is one of this experiment's trials or the view of one."""
        return any(trial is t or trial is self._views.get(t.trial_id) for t in self.trials)

    def finished(self) -> bool:
        return len(self.trials) == self.num_trials and all(
            t.status.is_finished() for t in self.trials
        )

    def clone(self, scheduler: TrialScheduler) -> FakeExperiment:
        """This experiment as it is now, driven by ``scheduler`` from here on."""
        other = copy.copy(self)
        other.scheduler = scheduler
        other.trials = copy.deepcopy(self.trials)
        other.runs = copy.deepcopy(self.runs)
        other.progress = dict(self.progress)
        other.stop_requests = list(self.stop_requests)
        other.log = []
        other._views = {}
        other.runner = FakeRunner(other, self.can_stop)
        return other

    # -- the loop ------------------------------------------------------------------------------
    def run(self, max_steps: int | None = None) -> None:
        limit = max_steps if max_steps is not None else 20 * self.num_trials * self.max_iterations
        while not self.finished():
            if self.steps >= limit:
                if max_steps is not None:
                    return
                held = [f"{t.trial_id}:{t.status}" for t in self.trials if not t.is_finished()]
                _fail(
                    f"{type(self.scheduler).__name__}: the experiment did not finish within "
                    f"{limit} steps (can_stop={self.can_stop}); unfinished trials: {held}"
                )
            self.step()

    def step(self) -> None:
        self.steps += 1
        requests, self.stop_requests = self.stop_requests, []
        for trial_id in requests:
            trial = self._trial(trial_id)
            if trial.status in _WAITING:
                self.log.append(("stop_trial", trial_id))
                self._complete(trial)
        self._start_trials()
        for trial in [t for t in self.trials if t.status == TrialStatus.RUNNING]:
            self._advance(trial)

    def _trial(self, trial_id: str) -> Trial:
        return next(t for t in self.trials if t.trial_id == trial_id)

    def _start_trials(self) -> None:
        while sum(t.status == TrialStatus.RUNNING for t in self.trials) < self.concurrency:
            chosen = self.scheduler.choose_trial_to_run(self.runner)
            if chosen is not None:
                if not self.owns(chosen) or chosen.status not in _WAITING:
                    _fail(
                        f"choose_trial_to_run returned {chosen!r}: it must be a PENDING or "
                        "PAUSED trial of the runner (or None)"
                    )
                if chosen.trial_id in self.stop_requests:
                    _fail(
                        f"choose_trial_to_run returned {chosen.trial_id}, a trial it asked "
                        "runner.stop_trial to stop"
                    )
                self.log.append(("choose", chosen.trial_id))
                self._start(self._trial(chosen.trial_id))
                continue
            if len(self.trials) >= self.num_trials:
                return
            index = len(self.trials)
            lr = 0.01 * (1 + (index * 7) % self.num_trials)
            trial = Trial("fake", trial_id=f"t{index:03d}", config={"index": index, "lr": lr})
            self.trials.append(trial)
            self.scheduler.on_trial_add(self.runner, self.view(trial))
            self.log.append(("add", trial.trial_id))
            self._start(trial)

    def _start(self, trial: Trial) -> None:
        trial.status = TrialStatus.RUNNING
        points = self.scheduler.decision_points()
        machine = ResultMachine(
            stop_criteria=self.stop,
            sync=points is None,
            milestone_attr=points.attr if points is not None and points.milestones else None,
            milestones=points.milestones if points is not None else (),
            checkpoint_freq=self.checkpoint_every,
        )
        self.runs[trial.trial_id] = _Run(self.progress.get(trial.trial_id, 0), machine)

    def _result(self, trial: Trial, iteration: int) -> dict[str, Any]:
        if self.curve is not None:
            result = dict(self.curve(trial.config, iteration))
        else:
            loss = float(trial.config["lr"]) + 1.0 / iteration
            result = {self.metric: loss if self.mode == "min" else -loss}
        result.setdefault("training_iteration", iteration)
        result.setdefault("time_total_s", float(iteration))
        result.setdefault("trial_id", trial.trial_id)
        result.setdefault("done", iteration >= self.max_iterations)
        return result

    def _advance(self, trial: Trial) -> None:
        run = self.runs[trial.trial_id]
        run.iteration += 1
        self.progress[trial.trial_id] = run.iteration
        index = int(trial.config["index"])
        if index == self.error_index and run.iteration == 3:
            trial.status = TrialStatus.ERROR
            self.log.append(("error", trial.trial_id))
            self.scheduler.on_trial_error(self.runner, self.view(trial))
            return
        result = self._result(trial, run.iteration)
        machine = run.machine
        step = machine.on_result(
            result,
            checkpoint=machine.checkpoint_due(run.iteration),
            stop_requested=run.stop_requested,
            pause_requested=run.pause_requested,
        )
        if step.send:
            trial.update_last_result(result)
        raw: Any = None
        if step.wait:
            raw = self.scheduler.on_trial_result(self.runner, self.view(trial), result)
            step = machine.on_verdict(self._verdict(trial, raw, run.iteration))
        if step.end is not None:
            self._end(trial, step, raw)
            return
        request = self._requests.get((index, run.iteration))
        if request == "pause" and index == self.pause_index and self.controller_paused:
            request = None  # the built-in controller pause happens once
        if request is not None:
            if request == "pause":
                self.controller_paused = True
                run.pause_requested = True
                self.log.append(("controller_pause", trial.trial_id))
            else:
                run.stop_requested = True
                self.log.append(("controller_stop", trial.trial_id))

    def _verdict(self, trial: Trial, raw: Any, iteration: int) -> Verdict:
        if isinstance(raw, Reconfigure):
            self.log.append(("decide", trial.trial_id, iteration, "RECONFIGURE"))
        else:
            self.log.append(("decide", trial.trial_id, iteration, _as_decision(raw).value))
        return Verdict.of(raw)

    def _end(self, trial: Trial, step: Step, raw: Any) -> None:
        """The run ended as ``step`` says (``raw``: the scheduler's answer, if any)."""
        if step.end is EndReason.PAUSED:
            if isinstance(raw, Reconfigure):
                if raw.config is not None:
                    trial.config = dict(raw.config)
                trial.status = TrialStatus.PENDING
            else:
                trial.status = TrialStatus.PAUSED
        else:
            self._complete(trial)

    def _complete(self, trial: Trial) -> None:
        trial.status = TrialStatus.TERMINATED
        self.log.append(("complete", trial.trial_id))
        self.scheduler.on_trial_complete(self.runner, self.view(trial), trial.last_result)


@dataclass
class ConformanceReport:
    """What :func:`check_scheduler` saw: the event log of the full run (``can_stop=True``)."""

    log: list[tuple[Any, ...]]
    decisions: dict[str, int]
    trials: dict[str, str]


def _configured(factory: SchedulerFactory, metric: str, mode: str) -> TrialScheduler:
    scheduler = factory()
    if not isinstance(scheduler, TrialScheduler):
        _fail(f"the factory must build a TrialScheduler, got {scheduler!r}")
    answer = scheduler.set_search_properties(metric, mode)
    if not isinstance(answer, bool):
        _fail(f"set_search_properties must return a bool, got {answer!r}")
    if not answer:
        _fail(
            f"set_search_properties({metric!r}, {mode!r}) returned False: build the scheduler "
            "without a conflicting metric/mode for the suite"
        )
    return scheduler


def _json_state(scheduler: TrialScheduler) -> Any:
    state = scheduler.get_state()
    try:
        return json.loads(json.dumps(state))
    except (TypeError, ValueError) as exc:
        _fail(f"{type(scheduler).__name__}.get_state() is not JSON-safe: {exc}")


def check_metric_mode_required(factory: SchedulerFactory) -> None:
    """With no metric/mode anywhere, ``on_trial_add`` works or raises a ValueError naming both."""
    scheduler = factory()
    if scheduler.metric is not None or scheduler.mode is not None:
        return
    experiment = FakeExperiment(scheduler)
    trial = Trial("fake", trial_id="t000", config={"index": 0})
    experiment.trials.append(trial)
    try:
        scheduler.on_trial_add(experiment.runner, experiment.view(trial))
    except ValueError as exc:
        if "metric" not in str(exc) or "mode" not in str(exc):
            _fail(f"the ValueError for a missing metric/mode must name both, got: {exc}")


def check_missing_metric(factory: SchedulerFactory, metric: str, mode: str) -> None:
    """A result without the metric at a decision point gets CONTINUE."""
    scheduler = _configured(factory, metric, mode)
    experiment = FakeExperiment(scheduler, metric=metric, mode=mode)
    trial = Trial("fake", trial_id="t000", config={"index": 0})
    experiment.trials.append(trial)
    scheduler.on_trial_add(experiment.runner, experiment.view(trial))
    trial.status = TrialStatus.RUNNING
    for iteration in (1, 2):
        result = {"training_iteration": iteration, "time_total_s": float(iteration)}
        raw = scheduler.on_trial_result(experiment.runner, experiment.view(trial), result)
        if isinstance(raw, Reconfigure) or _as_decision(raw) != Decision.CONTINUE:
            _fail(f"a result without the metric {metric!r} must get CONTINUE, got {raw!r}")


def _curve_config(num_trials: int) -> dict[str, Any]:
    """The configs of :class:`FakeExperiment` as a search space: ``{"index": i, "lr": ...}``."""
    from tunelab.search._sample import grid_search, sample_from

    def lr(spec: Any) -> float:
        index = int(spec.config["index"])
        return 0.01 * ((index * 5) % num_trials + 1)

    return {"index": grid_search(list(range(num_trials))), "lr": sample_from(lr)}


#: wall-clock seconds a run under the controller may take (a few hundred ms when it works)
_CONTROLLER_BUDGET_S = 120.0


def check_under_controller(
    factory: SchedulerFactory,
    *,
    metric: str = "loss",
    mode: str = "min",
    num_trials: int = 12,
    concurrency: int = 3,
    max_iterations: int = 27,
) -> dict[int, int]:
    """Run schedulers built by ``factory`` under the real controller, twice.

    ``tune.run`` on a :class:`~tunelab.testing.SimulatedExecutor` (``concurrency``
    simulated CPUs, ``max_iterations`` per trial) with :class:`FakeExperiment`'s curves
    (``loss = lr + 1 / iteration``; the metric is ``-loss`` for ``mode="max"``). Every
    trial must end TERMINATED (not ERROR: a decision the controller cannot carry out
    fails the trial or the run) after at most ``max_iterations`` iterations, and the
    second run must end every trial at the same iteration as the first.

    Returns:
        Each trial's last ``training_iteration``, by the order the trials were made in
        (the config's ``index`` may change: PBT copies configs).

    Raises:
        ConformanceError: At the first violation, saying what went wrong.
    """
    from tunelab.testing._simulate import simulate

    sign = 1.0 if mode == "min" else -1.0

    def curve(config: dict[str, Any], iteration: int) -> dict[str, float]:
        return {metric: sign * (config["lr"] + 1.0 / iteration)}

    runs: list[dict[int, int]] = []
    for _ in range(2):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                analysis = simulate(
                    curve,
                    _curve_config(num_trials),
                    scheduler=_configured(factory, metric, mode),
                    metric=metric,
                    mode=mode,
                    num_cpus=concurrency,
                    max_iterations=max_iterations,
                    storage_path=tmp,
                    name="conformance",
                    # a scheduler that holds a trial forever ends the run here (with that
                    # trial PAUSED or PENDING, which the check below reports)
                    time_budget_s=_CONTROLLER_BUDGET_S,
                )
            except Exception as exc:
                _fail(f"the run under the controller failed: {type(exc).__name__}: {exc}")
            ends: dict[int, int] = {}
            for index, trial in enumerate(analysis.trials):  # in the order they were made
                iteration = int(trial.last_result.get("training_iteration") or 0)
                if trial.status != TrialStatus.TERMINATED:
                    _fail(
                        f"under the controller, trial {index} ended {trial.status.value} "
                        f"({trial.error_msg or 'no error message'})"
                    )
                if not 1 <= iteration <= max_iterations:
                    _fail(
                        f"under the controller, trial {index} ended after {iteration} "
                        f"iterations (expected 1 to {max_iterations})"
                    )
                ends[index] = iteration
            if len(ends) != num_trials:
                _fail(f"under the controller, {len(ends)} of {num_trials} trials ran")
            runs.append(ends)
    if runs[0] != runs[1]:
        _fail(
            "under the controller, two runs with schedulers from the same factory ended the "
            f"trials at different iterations: {runs[0]} vs {runs[1]}"
        )
    return runs[0]


def check_scheduler(
    factory: SchedulerFactory,
    *,
    metric: str = "loss",
    mode: str = "min",
    num_trials: int = 12,
    concurrency: int = 3,
    max_iterations: int = 27,
    check_missing: bool = True,
) -> ConformanceReport:
    """Run every check on schedulers built by ``factory`` (see the module docstring).

    Args:
        factory: Builds a new scheduler each call. The schedulers must be equal and
            deterministic (fix their seeds) and must not hold a metric/mode that conflicts
            with ``metric``/``mode``.
        metric: The metric of the in-memory experiment.
        mode: ``"min"`` or ``"max"``.
        num_trials: Trials in the experiment.
        concurrency: Trials running at once.
        max_iterations: Iterations per trial at most.
        check_missing: Also check that a result without the metric gets CONTINUE.

    Returns:
        What the full run saw: its event log, the count of each decision and every trial's
        final status.

    Raises:
        ConformanceError: An ``AssertionError`` at the first violation, saying what the
            scheduler did wrong.
    """
    probe = _configured(factory, metric, mode)
    if not isinstance(probe.debug_string(), str):
        _fail("debug_string() must return a str")
    points = probe.decision_points()
    if points is not None and not isinstance(points, DecisionPoints):
        _fail(f"decision_points() must return None or DecisionPoints, got {points!r}")
    check_metric_mode_required(factory)

    def experiment(can_stop: bool = True) -> FakeExperiment:
        return FakeExperiment(
            _configured(factory, metric, mode),
            metric=metric,
            mode=mode,
            num_trials=num_trials,
            concurrency=concurrency,
            max_iterations=max_iterations,
            can_stop=can_stop,
        )

    full = experiment()
    full.run()
    experiment(can_stop=False).run()
    again = experiment()
    again.run()
    if again.log != full.log:
        _fail("two runs with schedulers from the same factory made different decisions")

    midpoint = max(1, full.steps // 2)
    original = experiment()
    original.run(max_steps=midpoint)
    state = _json_state(original.scheduler)
    restored = _configured(factory, metric, mode)
    restored.set_state(state)
    clone = original.clone(restored)
    for trial in clone.trials:
        restored.on_trial_add(clone.runner, trial)
    original.log = []
    original.run()
    clone.run()
    if clone.log != original.log:
        _fail(
            "a scheduler restored with set_state(get_state()) decided differently from the "
            f"original after step {midpoint}: {clone.log[:6]} vs {original.log[:6]}"
        )

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "scheduler_state.json")
        original.scheduler.save(path)
        fresh = _configured(factory, metric, mode)
        fresh.restore(path)
        if _json_state(fresh) != _json_state(original.scheduler):
            _fail("restore(path) after save(path) does not give the saved state back")

    if check_missing:
        check_missing_metric(factory, metric, mode)
    check_under_controller(
        factory,
        metric=metric,
        mode=mode,
        num_trials=num_trials,
        concurrency=concurrency,
        max_iterations=max_iterations,
    )
    decisions: dict[str, int] = {}
    for entry in full.log:
        if entry[0] == "decide":
            decisions[entry[3]] = decisions.get(entry[3], 0) + 1
    return ConformanceReport(
        log=list(full.log),
        decisions=decisions,
        trials={t.trial_id: t.status.value for t in full.trials},
    )
