"""The per-result state machine (execution/_result_machine.py): its fixed order, decision
points, verdicts and checkpoints, with no worker, no process and no clock."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tunelab.execution._protocol import EndReason, Verdict
from tunelab.execution._result_machine import ResultMachine, Step
from tunelab.schedulers import Decision, Reconfigure


def _result(iteration: int, **metrics: Any) -> dict[str, Any]:
    return {"training_iteration": iteration, "done": False, **metrics}


def _steps(machine: ResultMachine, results: list[dict[str, Any]], **kw: Any) -> list[str]:
    return [str(machine.on_result(r, **kw)) for r in results]


@pytest.fixture(autouse=True)
def _no_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine is pure: reading a clock fails these tests."""

    def boom() -> float:
        raise AssertionError("the result machine read a clock")

    for name in ("time", "monotonic", "perf_counter", "time_ns", "monotonic_ns"):
        monkeypatch.setattr(time, name, boom)


def test_plain_results_are_sent_and_the_run_goes_on() -> None:
    machine = ResultMachine()
    assert _steps(machine, [_result(i) for i in (1, 2, 3)]) == ["send"] * 3
    assert machine.on_result(_result(4), checkpoint=True) == Step(checkpoint=True)


def test_the_order_stop_request_pause_request_done_decision_point() -> None:
    def machine() -> ResultMachine:
        return ResultMachine(
            stop_criteria={"training_iteration": 1},
            sync=True,
            checkpoint_at_end=True,
        )

    everything = {"stop_requested": True, "pause_requested": True, "checkpoint": True}
    # 1. a stop request drops the result (its checkpoint is never written) and ends the run,
    # saving a checkpoint at the end instead (checkpoint_at_end)
    step = machine().on_result(_result(1, done=True), **everything)
    assert step == Step(send=False, end=EndReason.STOPPED, save_at_end=True)
    # 2. a pause request sends it and ends the run as paused: no done mark, no wait
    result = _result(1)
    step = machine().on_result(result, checkpoint=True, pause_requested=True)
    assert step == Step(checkpoint=True, end=EndReason.PAUSED)
    assert result["done"] is False
    # 3. done (here by the stop criteria) beats the decision point
    result = _result(1)
    assert str(machine().on_result(result)) == "send+save_at_end+end=done"
    assert result["done"] is True
    # 4. then the decision point
    assert str(ResultMachine(sync=True).on_result(_result(1))) == "send+wait"


@pytest.mark.parametrize(
    ("result", "finished", "criteria"),
    [
        (_result(3, done=True), False, None),
        (_result(3, done=1), False, None),
        (_result(3), True, None),
        (_result(3, acc=0.9), False, {"acc": 0.8}),
        (_result(3, info={"acc": 0.9}), False, {"info/acc": 0.8}),
    ],
)
def test_done_marks_the_result_and_ends_the_run(
    result: dict[str, Any], finished: bool, criteria: dict[str, Any] | None
) -> None:
    step = ResultMachine(stop_criteria=criteria).on_result(result, finished=finished)
    assert step == Step(end=EndReason.DONE)
    assert result["done"] is True


def test_stop_criteria_not_met_and_not_consulted_once_done() -> None:
    calls: list[dict[str, Any]] = []
    machine = ResultMachine(stop_criteria={"acc": 0.8})
    assert machine.on_result(_result(1, acc=0.5)) == Step()

    class Spy(dict):  # type: ignore[type-arg]
        def get(self, key: Any, default: Any = None) -> Any:
            calls.append(key)
            return super().get(key, default)

    machine.on_result(Spy(_result(2, acc=0.9, done=True)))
    assert calls == ["done"]  # the criteria did not read the result


def test_milestones_wait_once_each_and_several_at_once() -> None:
    machine = ResultMachine(milestone_attr="t", milestones=[10, 3, 2, 50])  # any order
    values = [1, 4, 5, 9, 16, 30, 60, 70]
    steps = _steps(machine, [_result(i + 1, t=t) for i, t in enumerate(values)])
    # t=4 passes 2 and 3 at once (one wait); 16 passes 10; 60 passes 50; none after
    assert steps == ["send", "send+wait", "send", "send", "send+wait", "send", "send+wait", "send"]


def test_a_result_without_the_milestone_attribute_does_not_wait() -> None:
    machine = ResultMachine(milestone_attr="t", milestones=[1])
    assert str(machine.on_result(_result(1))) == "send"
    assert str(machine.on_result(_result(2, t=None))) == "send"
    assert str(machine.on_result(_result(3, t=1))) == "send+wait"


def test_sync_makes_every_result_a_decision_point_and_milestones_still_advance() -> None:
    machine = ResultMachine(sync=True, milestone_attr="training_iteration", milestones=[2])
    steps = _steps(machine, [_result(i) for i in (1, 2, 3)])
    assert steps == ["send+wait"] * 3
    assert machine.on_result(_result(4), checkpoint=True) == Step(checkpoint=True, wait=True)


def test_no_milestone_attribute_means_no_decision_points() -> None:
    machine = ResultMachine(milestones=[1, 2])  # milestones without an attribute: none
    assert _steps(machine, [_result(1), _result(2)]) == ["send", "send"]


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        (Verdict.CONTINUE, "continue"),
        ("CONTINUE", "continue"),
        (Verdict.SAVE, "save"),
        (Verdict.PAUSE, "end=paused"),
        ("STOP", "end=stopped"),
    ],
)
def test_verdicts(verdict: Verdict | str, expected: str) -> None:
    machine = ResultMachine(sync=True)
    assert machine.on_result(_result(1)).wait
    assert str(machine.on_verdict(verdict)) == expected


@pytest.mark.parametrize("carried", [False, True])
def test_checkpoint_at_end_only_when_the_last_result_carried_none(carried: bool) -> None:
    machine = ResultMachine(sync=True, checkpoint_at_end=True)
    machine.on_result(_result(1), checkpoint=carried)
    assert machine.on_verdict(Verdict.STOP).save_at_end is not carried
    assert not machine.on_verdict(Verdict.PAUSE).save_at_end  # a pause saves its own way
    stopped = ResultMachine(checkpoint_at_end=True).on_result(
        _result(1), checkpoint=carried, stop_requested=True
    )
    assert stopped.save_at_end and not stopped.checkpoint  # the carried one is dropped
    done = ResultMachine(checkpoint_at_end=True).on_result(
        _result(1, done=True), checkpoint=carried
    )
    assert done.save_at_end is not carried
    assert not ResultMachine().on_result(_result(1, done=True)).save_at_end


def test_checkpoint_due() -> None:
    machine = ResultMachine(checkpoint_freq=3)
    assert [machine.checkpoint_due(i) for i in range(1, 7)] == [False, False, True] * 2
    assert machine.checkpoint_due(1, requested=True)
    assert not ResultMachine().checkpoint_due(3)


def test_for_task_reads_the_task_and_a_checkpoint_freq_overrides_it() -> None:
    from tunelab.execution._protocol import TrialTask

    task = TrialTask(
        trial_id="t",
        trial_dir="/tmp/t",
        stop_criteria={"training_iteration": 3},
        milestone_attr="training_iteration",
        milestones=(2,),
        checkpoint_freq=2,
        checkpoint_at_end=True,
    )
    machine = ResultMachine.for_task(task)
    assert [str(machine.on_result(_result(i))) for i in (1, 2)] == ["send", "send+wait"]
    assert machine.checkpoint_due(2) and not machine.checkpoint_due(3)
    assert str(machine.on_result(_result(3))) == "send+save_at_end+end=done"
    assert ResultMachine.for_task(task, checkpoint_freq=3).checkpoint_due(3)


def test_verdict_of_a_policy_answer() -> None:
    assert Verdict.of(Decision.STOP) is Verdict.STOP
    assert Verdict.of("PAUSE") is Verdict.PAUSE
    assert Verdict.of(Decision.SAVE) is Verdict.SAVE
    assert Verdict.of(Decision.NOOP) is Verdict.CONTINUE
    assert Verdict.of(Reconfigure(config={"lr": 1})) is Verdict.PAUSE
    with pytest.raises(ValueError, match="EXPLODE"):
        Verdict.of("EXPLODE")
