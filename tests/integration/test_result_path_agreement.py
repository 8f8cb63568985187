"""The same scripted trial through the three places that run results: the real worker loop
(in-process executor, a function trainable reporting the script), the simulated executor,
and the scheduler conformance harness. Each asks the one ResultMachine; with the same
inputs (metrics, stop criteria, decision points, checkpoints, verdicts, controller
requests) they must take the same sequence of decisions, and the worker and the simulator
must send the controller the same events."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

from tunelab._checkpoint import Checkpoint
from tunelab._resources import PlacementGroupFactory
from tunelab._session import report
from tunelab._trial import TrialStatus
from tunelab.execution import InProcessExecutor, _simulated
from tunelab.execution import _protocol as P
from tunelab.execution import _worker as W
from tunelab.execution._protocol import TrialTask, Verdict
from tunelab.execution._result_machine import ResultMachine
from tunelab.schedulers import Decision, DecisionPoints, FIFOScheduler
from tunelab.testing import SimulatedExecutor
from tunelab.testing.scheduler_conformance import FakeExperiment

TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Script:
    """A trial: ``loss = 1 / i`` and ``t = i * i`` at iteration i, ``done`` at ``done_at``; a
    checkpoint every ``checkpoint_every`` iterations; the verdict at each decision point
    (CONTINUE when not listed); controller requests after an iteration."""

    name: str
    expected: list[str]
    done_at: int = 10
    stop: dict[str, Any] | None = None
    sync: bool = False
    milestone_attr: str | None = None
    milestones: tuple[float, ...] = ()
    checkpoint_every: int = 0
    verdicts: dict[int, str] = field(default_factory=dict)
    requests: dict[int, str] = field(default_factory=dict)

    def metrics(self, iteration: int) -> dict[str, Any]:
        return {
            "loss": 1.0 / iteration,
            "t": iteration * iteration,
            "done": iteration >= self.done_at,
        }

    def task(self, trial_dir: Path) -> TrialTask:
        return TrialTask(
            trial_id="t000",
            trial_dir=str(trial_dir),
            trainable_key="scripted",
            config={"script": self.name, "index": 0},
            stop_criteria=self.stop,
            sync=self.sync,
            milestone_attr=self.milestone_attr,
            milestones=self.milestones,
        )


SCRIPTS = [
    Script(
        "milestones",
        milestone_attr="training_iteration",
        milestones=(2, 5, 8),
        checkpoint_every=3,
        verdicts={5: "SAVE"},
        done_at=9,
        expected=[
            "1:send",
            "2:send+wait",
            "CONTINUE:continue",
            "3:send+checkpoint",
            "4:send",
            "5:send+wait",
            "SAVE:save",
            "6:send+checkpoint",
            "7:send",
            "8:send+wait",
            "CONTINUE:continue",
            "9:send+checkpoint+end=done",
        ],
    ),
    Script(
        "milestones-passed-at-once",
        milestone_attr="t",
        milestones=(2, 3, 10, 50),
        verdicts={4: "STOP"},
        expected=[
            "1:send",
            "2:send+wait",
            "CONTINUE:continue",
            "3:send",
            "4:send+wait",
            "STOP:end=stopped",
        ],
    ),
    Script(
        "sync-pause",
        sync=True,
        checkpoint_every=2,
        verdicts={3: "PAUSE"},
        expected=[
            "1:send+wait",
            "CONTINUE:continue",
            "2:send+checkpoint+wait",
            "CONTINUE:continue",
            "3:send+wait",
            "PAUSE:end=paused",
        ],
    ),
    Script(
        "stop-criteria",
        stop={"training_iteration": 6},
        milestone_attr="training_iteration",
        milestones=(3, 6),
        checkpoint_every=4,
        expected=[
            "1:send",
            "2:send",
            "3:send+wait",
            "CONTINUE:continue",
            "4:send+checkpoint",
            "5:send",
            "6:send+end=done",
        ],
    ),
    Script(
        "pause-request",
        checkpoint_every=2,
        requests={3: "pause"},
        expected=["1:send", "2:send+checkpoint", "3:send", "4:send+checkpoint+end=paused"],
    ),
    Script(
        "stop-request-drops-the-result",
        checkpoint_every=1,
        requests={4: "stop"},
        expected=[
            "1:send+checkpoint",
            "2:send+checkpoint",
            "3:send+checkpoint",
            "4:send+checkpoint",
            "5:end=stopped",  # dropped with its checkpoint, which is never written
        ],
    ),
    Script(
        "done-beats-a-decision-point",
        done_at=4,
        milestone_attr="training_iteration",
        milestones=(4,),
        expected=["1:send", "2:send", "3:send", "4:send+end=done"],
    ),
    Script(
        "pause-request-beats-done",
        done_at=4,
        requests={3: "pause"},
        expected=["1:send", "2:send", "3:send", "4:send+end=paused"],
    ),
]
BY_NAME = {s.name: s for s in SCRIPTS}

# -- recording the machine's decisions -------------------------------------------------------------


@contextlib.contextmanager
def recorded_steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    steps: list[str] = []
    on_result, on_verdict = ResultMachine.on_result, ResultMachine.on_verdict

    def record_result(self: ResultMachine, result: dict[str, Any], **kw: Any) -> Any:
        step = on_result(self, result, **kw)
        steps.append(f"{result['training_iteration']}:{step}")
        return step

    def record_verdict(self: ResultMachine, verdict: Any) -> Any:
        step = on_verdict(self, verdict)
        steps.append(f"{Verdict(verdict).value}:{step}")
        return step

    with monkeypatch.context() as patch:
        patch.setattr(ResultMachine, "on_result", record_result)
        patch.setattr(ResultMachine, "on_verdict", record_verdict)
        yield steps


def observed(event: P.Event, into: list[tuple[Any, ...]]) -> bool:
    """Append what the controller sees of ``event``; True when the run ended."""
    if isinstance(event, P.Results):
        last = len(event.results) - 1
        for index, result in enumerate(event.results):
            into.append(
                (
                    "result",
                    result["training_iteration"],
                    bool(result.get("done")),
                    index in (event.checkpoints or {}),
                    event.wait and index == last,
                )
            )
        return False
    if isinstance(event, P.CheckpointSaved):
        into.append(("checkpoint_saved",))
        return False
    if isinstance(event, (P.Failed, P.Lost)):
        raise AssertionError(f"the scripted trial failed: {event}")
    into.append(("end", "paused" if isinstance(event, P.Paused) else event.reason.value))
    return True


# -- the three drivers -----------------------------------------------------------------------------
_GATES: dict[str, threading.Semaphore] = {}


def scripted_trainable(config: dict[str, Any]) -> None:
    """Reports the script, one iteration each time the test opens the gate."""
    script = BY_NAME[config["script"]]
    gate = _GATES[config["script"]]
    for i in range(1, 1000):
        assert gate.acquire(timeout=TIMEOUT_S), "the test never let the trial go on"
        every = script.checkpoint_every
        checkpoint = Checkpoint.from_dict({"i": i}) if every and i % every == 0 else None
        report(script.metrics(i), checkpoint=checkpoint)


def drive(executor: Any, script: Script, go_on: Any, registered: Any) -> list[tuple[Any, ...]]:
    """Play the controller: answer decision points with the script's verdicts, make its
    requests after their iteration; one iteration at a time (``go_on(i)`` lets iteration i
    report; ``registered(kind)`` is True once the worker has taken a request)."""
    seen: list[tuple[Any, ...]] = []
    deadline = time.monotonic() + TIMEOUT_S
    for i in range(1, 100):
        go_on(i)
        ended = reached = False
        while not (ended or reached):
            assert time.monotonic() < deadline, f"stuck at iteration {i}: {seen}"
            for event in executor.poll(0.05):
                ended = observed(event, seen) or ended
                if isinstance(event, P.Results):
                    reached = event.results[-1]["training_iteration"] >= i
                    if event.wait:
                        verdict = Verdict(script.verdicts.get(i, "CONTINUE"))
                        executor.send_decision("t000", verdict)
        if ended:
            return seen
        request = script.requests.get(i)
        if request is not None:
            if request == "pause":
                executor.request_pause("t000")
            else:
                executor.request_stop("t000")
            while not registered(request):
                assert time.monotonic() < deadline, "the worker never took the request"
                time.sleep(0.001)
    raise AssertionError(f"the script never ended: {seen}")


def run_on_worker(script: Script, tmp_path: Path) -> list[tuple[Any, ...]]:
    gate = _GATES[script.name] = threading.Semaphore(0)
    executor = InProcessExecutor(num_cpus=1)
    executor.setup()
    executor.register_trainable("scripted", cloudpickle.dumps(scripted_trainable))
    try:
        task = script.task(tmp_path / "worker")
        assert executor.try_start("t000", PlacementGroupFactory([{"CPU": 1}]), task)

        def registered(kind: str) -> bool:
            workers = list(W._live_workers)
            sets = [w._pause_requested if kind == "pause" else w._stop_requested for w in workers]
            return any("t000" in s for s in sets)

        return drive(executor, script, lambda i: gate.release(), registered)
    finally:
        executor.shutdown()
        _GATES.pop(script.name, None)


def run_on_simulator(
    script: Script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[Any, ...]]:
    monkeypatch.setattr(_simulated, "MAX_BATCH", 1)  # one iteration per poll
    executor = SimulatedExecutor(
        lambda config, i: script.metrics(i),
        num_cpus=1,
        max_iterations=100,
        checkpoint_every=script.checkpoint_every,
    )
    executor.setup()
    try:
        assert executor.try_start(
            "t000", PlacementGroupFactory([{"CPU": 1}]), script.task(tmp_path / "sim")
        )
        return drive(executor, script, lambda i: None, lambda kind: True)
    finally:
        executor.shutdown()


class ScriptedScheduler(FIFOScheduler):
    def __init__(self, script: Script) -> None:
        super().__init__(metric="loss", mode="min")
        self.script = script

    def decision_points(self) -> DecisionPoints | None:
        if self.script.sync:
            return None
        if self.script.milestone_attr is None:
            return DecisionPoints(milestones=())
        return DecisionPoints(self.script.milestone_attr, self.script.milestones)

    def on_trial_result(self, runner: Any, trial: Any, result: dict[str, Any]) -> Decision:
        return Decision(self.script.verdicts.get(result["training_iteration"], "CONTINUE"))


def run_on_harness(script: Script) -> None:
    experiment = FakeExperiment(
        ScriptedScheduler(script),
        num_trials=1,
        concurrency=1,
        max_iterations=100,
        error_index=None,
        pause_index=None,
        curve=lambda config, i: script.metrics(i),
        stop=script.stop,
        checkpoint_every=script.checkpoint_every,
        requests={(0, i): kind for i, kind in script.requests.items()},
    )
    experiment.step()
    while experiment.trials[0].status == TrialStatus.RUNNING:
        assert experiment.steps < 100
        experiment.step()


# -- the test --------------------------------------------------------------------------------------
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_worker_simulator_and_conformance_harness_decide_alike(
    script: Script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with recorded_steps(monkeypatch) as steps:
        on_worker = run_on_worker(script, tmp_path)
    worker_steps = list(steps)
    with recorded_steps(monkeypatch) as steps:
        on_simulator = run_on_simulator(script, tmp_path, monkeypatch)
    simulator_steps = list(steps)
    with recorded_steps(monkeypatch) as steps:
        run_on_harness(script)
    harness_steps = list(steps)

    assert worker_steps == script.expected
    assert simulator_steps == script.expected
    assert harness_steps == script.expected
    assert on_worker == on_simulator
