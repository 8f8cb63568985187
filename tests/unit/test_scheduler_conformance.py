"""Every built-in scheduler passes the shipped conformance suite.

``CONFORMANCE_SCHEDULERS`` lists ``(id, factory)`` pairs; schedulers written elsewhere
(PBT, PB2, ...) run the same suite from their own test files with
``tunelab.testing.scheduler_conformance.check_scheduler``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tunelab.schedulers import (
    AsyncHyperBandScheduler,
    FIFOScheduler,
    HyperBandForBOHB,
    HyperBandScheduler,
    MedianStoppingRule,
    TrialScheduler,
)
from tunelab.testing.scheduler_conformance import (
    ConformanceError,
    FakeExperiment,
    check_scheduler,
)

CONFORMANCE_SCHEDULERS: list[tuple[str, Callable[[], TrialScheduler]]] = [
    ("fifo", FIFOScheduler),
    (
        "asha-stop",
        lambda: AsyncHyperBandScheduler(max_t=27, grace_period=1, reduction_factor=3, seed=0),
    ),
    (
        "asha-stop-brackets",
        lambda: AsyncHyperBandScheduler(max_t=27, reduction_factor=3, brackets=3, seed=7),
    ),
    (
        "asha-promote",
        lambda: AsyncHyperBandScheduler(
            max_t=27, grace_period=1, reduction_factor=3, promotion=True, seed=0
        ),
    ),
    ("hyperband", lambda: HyperBandScheduler(max_t=27, reduction_factor=3)),
    ("hb-bohb", lambda: HyperBandForBOHB(max_t=9, reduction_factor=3)),
    (
        "median",
        lambda: MedianStoppingRule(
            time_attr="training_iteration", grace_period=2, min_samples_required=2
        ),
    ),
    (
        "median-soft",
        lambda: MedianStoppingRule(grace_period=3.0, min_samples_required=3, hard_stop=False),
    ),
]


@pytest.mark.parametrize(
    "factory", [f for _, f in CONFORMANCE_SCHEDULERS], ids=[i for i, _ in CONFORMANCE_SCHEDULERS]
)
@pytest.mark.parametrize("mode", ["min", "max"])
def test_builtin_scheduler_conforms(factory: Callable[[], TrialScheduler], mode: str) -> None:
    report = check_scheduler(factory, mode=mode)
    assert set(report.trials.values()) <= {"TERMINATED", "ERROR"}
    assert list(report.trials.values()).count("ERROR") == 1


def test_policies_that_stop_early_do_stop_trials_in_the_suite() -> None:
    for name, factory in CONFORMANCE_SCHEDULERS:
        report = check_scheduler(factory)
        if name == "fifo":
            assert set(report.decisions) <= {"CONTINUE"}
        elif name != "median-soft":
            stopped_held = sum(1 for entry in report.log if entry[0] == "stop_trial")
            assert report.decisions.get("STOP", 0) + stopped_held > 0, name
        if name in ("asha-promote", "hyperband", "hb-bohb", "median-soft"):
            assert report.decisions.get("PAUSE", 0) > 0, name


# -- the suite catches broken schedulers ----------------------------------------------------
class BadDecision(FIFOScheduler):
    def decision_points(self):  # type: ignore[no-untyped-def]
        return None

    def on_trial_result(self, runner, trial, result):  # type: ignore[no-untyped-def]
        return "EXPLODE"


class HoldsForever(FIFOScheduler):
    """Pauses every trial at iteration 2 and never resumes it."""

    def decision_points(self):  # type: ignore[no-untyped-def]
        return None

    def on_trial_result(self, runner, trial, result):  # type: ignore[no-untyped-def]
        return "PAUSE" if result["training_iteration"] == 2 else "CONTINUE"

    def choose_trial_to_run(self, runner):  # type: ignore[no-untyped-def]
        for trial in runner.pending_trials():
            return trial
        return None


class ChoosesRunning(FIFOScheduler):
    def choose_trial_to_run(self, runner):  # type: ignore[no-untyped-def]
        for trial in runner.get_trials():
            if str(trial.status) == "RUNNING":
                return trial
        return super().choose_trial_to_run(runner)


class ForgetsState(FIFOScheduler):
    """Decides from a counter it does not save."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def decision_points(self):  # type: ignore[no-untyped-def]
        return None

    def on_trial_result(self, runner, trial, result):  # type: ignore[no-untyped-def]
        self.count += 1
        return "STOP" if self.count % 17 == 0 else "CONTINUE"


class UnsafeState(FIFOScheduler):
    def get_state(self):  # type: ignore[no-untyped-def]
        return {"when": object()}


class VagueMetricError(FIFOScheduler):
    def on_trial_add(self, runner, trial):  # type: ignore[no-untyped-def]
        if not self.metric:
            raise ValueError("something is missing")


@pytest.mark.parametrize(
    ("scheduler", "message"),
    [
        (BadDecision, "not a Decision"),
        (HoldsForever, "did not finish"),
        (ChoosesRunning, "PENDING or PAUSED"),
        (ForgetsState, "decided differently"),
        (UnsafeState, "JSON-safe"),
        (VagueMetricError, "name both"),
    ],
)
def test_suite_rejects_broken_schedulers(scheduler: type, message: str) -> None:
    with pytest.raises(ConformanceError, match=message):
        check_scheduler(scheduler)


def test_fake_runner_rejects_stopping_a_running_trial() -> None:
    class StopsRunning(FIFOScheduler):
        def decision_points(self):  # type: ignore[no-untyped-def]
            return None

        def on_trial_result(self, runner, trial, result):  # type: ignore[no-untyped-def]
            runner.stop_trial(trial)
            return "CONTINUE"

    with pytest.raises(ConformanceError, match="only PENDING"):
        FakeExperiment(StopsRunning()).run()


# -- under the real controller --------------------------------------------------------------
def test_under_the_controller_trials_run_as_the_scheduler_decides() -> None:
    from tunelab.testing.scheduler_conformance import check_under_controller

    assert check_under_controller(FIFOScheduler, num_trials=4, max_iterations=9) == {
        i: 9 for i in range(4)
    }

    class StopsAtFive(FIFOScheduler):
        def on_trial_result(self, runner, trial, result):  # type: ignore[no-untyped-def]
            return "STOP" if result["training_iteration"] >= 5 else "CONTINUE"

    assert check_under_controller(StopsAtFive, num_trials=4, max_iterations=9) == {
        i: 5 for i in range(4)
    }


def test_under_the_controller_a_scheduler_that_decides_by_chance_is_caught() -> None:
    import random

    from tunelab.testing.scheduler_conformance import check_under_controller

    class Unseeded(FIFOScheduler):
        def on_trial_result(self, runner, trial, result):  # type: ignore[no-untyped-def]
            return "STOP" if random.random() < 0.2 else "CONTINUE"

    with pytest.raises(ConformanceError, match="different iterations"):
        check_under_controller(Unseeded, num_trials=6, max_iterations=20)


def test_under_the_controller_a_decision_it_cannot_carry_out_is_caught() -> None:
    from tunelab.testing.scheduler_conformance import check_under_controller

    with pytest.raises(ConformanceError, match="under the controller"):
        check_under_controller(BadDecision, num_trials=2, max_iterations=3)


def test_the_fake_runner_gives_schedulers_read_only_views_too() -> None:
    class EditsConfig(FIFOScheduler):
        def decision_points(self):  # type: ignore[no-untyped-def]
            return None

        def on_trial_result(self, runner, trial, result):  # type: ignore[no-untyped-def]
            trial.config["lr"] = 0.5  # Ray-style: in place, behind the controller's back
            return "CONTINUE"

    class KeepsViews(FIFOScheduler):
        """Holds what it is given, finds it again in the runner, picks from it."""

        def __init__(self) -> None:
            super().__init__()
            self.held: list[object] = []

        def on_trial_add(self, runner, trial):  # type: ignore[no-untyped-def]
            self.held.append(trial)

        def choose_trial_to_run(self, runner):  # type: ignore[no-untyped-def]
            for trial in [*runner.pending_trials(), *runner.paused_trials()]:
                assert any(trial is held for held in self.held)
                assert trial in runner.get_trials()
                return trial
            return None

    with pytest.raises(TypeError, match="read-only"):
        FakeExperiment(EditsConfig()).run()
    check_scheduler(KeepsViews)
