"""MedianStoppingRule as a pure policy: fake trials, no processes."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tunelab._trial import Trial, TrialStatus
from tunelab.schedulers import Decision, MedianStoppingRule, RunnerView, create_scheduler

DATA = os.path.join(os.path.dirname(__file__), "data", "ray_scheduler_decisions.json")


class Runner(RunnerView):
    def __init__(self) -> None:
        self.trials: list[Trial] = []
        super().__init__(
            lambda status: [t for t in self.trials if t.status == TrialStatus(status)],
            self.trials,
        )

    def add(self, scheduler: Any, trial_id: str, status: str = "RUNNING") -> Trial:
        trial = Trial("fake", trial_id=trial_id)
        trial.status = TrialStatus(status)
        self.trials.append(trial)
        scheduler.on_trial_add(self, trial)
        return trial


def msr(**kw: Any) -> MedianStoppingRule:
    kw.setdefault("metric", "loss")
    kw.setdefault("mode", "min")
    kw.setdefault("time_attr", "training_iteration")
    return MedianStoppingRule(**kw)


def feed(s: MedianStoppingRule, runner: Runner, trial: Trial, losses: list[float]) -> list[str]:
    return [
        str(s.on_trial_result(runner, trial, {"training_iteration": i + 1, "loss": loss}))
        for i, loss in enumerate(losses)
    ]


def test_defaults_and_create_scheduler() -> None:
    s = MedianStoppingRule()
    assert (s.time_attr, s.grace_period, s.min_samples_required, s.min_time_slice) == (
        "time_total_s",
        60.0,
        3,
        0,
    )
    assert s.hard_stop is True and s.decision_points() is None
    assert isinstance(create_scheduler("median_stopping_rule"), MedianStoppingRule)
    assert isinstance(create_scheduler("medianstopping", grace_period=1.0), MedianStoppingRule)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"grace_period": -1}, ValueError, ["grace_period", ">= 0", "-1"]),
        ({"min_samples_required": 0}, ValueError, ["min_samples_required", ">= 1"]),
        ({"min_samples_required": 2.5}, TypeError, ["min_samples_required"]),
        ({"min_time_slice": -0.5}, ValueError, ["min_time_slice"]),
        ({"hard_stop": "no"}, TypeError, ["hard_stop"]),
        ({"mode": "low"}, ValueError, ["mode", "low"]),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type, words: list[str]) -> None:
    with pytest.raises(error) as info:
        MedianStoppingRule(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_metric_and_mode_required_at_trial_add() -> None:
    with pytest.raises(ValueError, match="metric=None, mode=None"):
        Runner().add(MedianStoppingRule(), "a")


def test_matches_ray_tunes_decisions_on_recorded_sequences() -> None:
    with open(DATA) as fh:
        cases = json.load(fh)["median_stopping"]
    assert len(cases) == 24
    for case in cases:
        s = MedianStoppingRule(
            time_attr="t",
            metric="m",
            mode=case["mode"],
            grace_period=case["grace_period"],
            min_samples_required=case["min_samples_required"],
        )
        runner = Runner()
        trials: dict[str, Trial] = {}
        for trial_id, t, value, expected in case["events"]:
            if trial_id not in trials:
                trials[trial_id] = runner.add(s, trial_id)
            assert str(s.on_trial_result(runner, trials[trial_id], {"t": t, "m": value})) == (
                expected
            )


def test_stops_a_trial_worse_than_the_median_after_the_grace_period() -> None:
    s = msr(grace_period=2, min_samples_required=2)
    runner = Runner()
    for name, base in (("a", 1.0), ("b", 2.0)):
        trial = runner.add(s, name)  # one other trial at most: too few samples to judge
        assert feed(s, runner, trial, [base, base, base, base]) == ["CONTINUE"] * 4
    bad = runner.add(s, "bad")
    # best loss 2.5 vs the median of the others' means (1.5): stopped at the first judged step
    assert feed(s, runner, bad, [2.5, 2.5]) == ["CONTINUE", "STOP"]
    good = runner.add(s, "good")
    assert feed(s, runner, good, [2.5, 1.5, 1.5]) == ["CONTINUE", "CONTINUE", "CONTINUE"]
    assert s.debug_string() == "Using MedianStoppingRule: num_stopped=1."


def test_insufficient_samples_yield_only_when_others_wait() -> None:
    s = msr(grace_period=1, min_samples_required=3, min_time_slice=2)
    runner = Runner()
    a = runner.add(s, "a")
    assert feed(s, runner, a, [1.0, 1.0]) == ["CONTINUE", "CONTINUE"]
    runner.add(s, "waiting", status="PENDING")
    result = {"training_iteration": 3, "loss": 1.0}
    assert s.on_trial_result(runner, a, result) == Decision.PAUSE
    # not again before min_time_slice passed since the last yield
    assert s.on_trial_result(runner, a, {"training_iteration": 5, "loss": 1.0}) == "CONTINUE"
    assert s.on_trial_result(runner, a, {"training_iteration": 6, "loss": 1.0}) == "PAUSE"


def test_soft_stop_pauses_and_resumes_only_when_nothing_else_runs() -> None:
    s = msr(grace_period=1, min_samples_required=1, hard_stop=False)
    runner = Runner()
    a = runner.add(s, "a")
    feed(s, runner, a, [1.0, 1.0, 1.0])
    b = runner.add(s, "b")
    assert feed(s, runner, b, [5.0]) == ["PAUSE"]
    b.status = TrialStatus.PAUSED
    c = runner.add(s, "c", status="PENDING")
    assert s.choose_trial_to_run(runner) is c  # pending trials first
    c.status = TrialStatus.RUNNING
    assert s.choose_trial_to_run(runner) is None  # the search is asked for new trials
    assert s.choose_trial_to_run(runner) is None  # nothing new, but a and c still run
    a.status = c.status = TrialStatus.TERMINATED
    s.on_trial_complete(runner, a, {})
    s.on_trial_complete(runner, c, {})
    assert s.choose_trial_to_run(runner) is b
    b.status = TrialStatus.RUNNING
    # a softly stopped trial is no longer judged
    assert s.on_trial_result(runner, b, {"training_iteration": 2, "loss": 9.0}) == "CONTINUE"


def test_yielded_trials_resume_before_softly_stopped_ones_once_the_search_is_dry() -> None:
    s = msr(grace_period=1, min_samples_required=1, hard_stop=False)
    runner = Runner()
    soft, yielded = runner.add(s, "soft"), runner.add(s, "yielded")
    s._soft_stopped["soft"] = None
    soft.status = yielded.status = TrialStatus.PAUSED
    runner.add(s, "busy")
    assert s.choose_trial_to_run(runner) is None
    assert s.choose_trial_to_run(runner) is yielded


def test_results_restored_from_an_earlier_checkpoint_replace_later_ones() -> None:
    s = msr(grace_period=0, min_samples_required=1)
    runner = Runner()
    a = runner.add(s, "a")
    feed(s, runner, a, [1.0, 1.0, 9.0, 9.0])
    # restored from the checkpoint at iteration 2: iterations 3, 4 are reported again
    s.on_trial_result(runner, a, {"training_iteration": 3, "loss": 1.0})
    assert s._history["a"].points == [(1.0, -1.0), (2.0, -1.0), (3.0, -1.0)]
    assert s._history["a"].running_mean(3.0) == -1.0


def test_missing_values_continue_and_duplicate_final_result_is_harmless() -> None:
    s = msr(grace_period=0, min_samples_required=1)
    runner = Runner()
    a = runner.add(s, "a")
    assert s.on_trial_result(runner, a, {"training_iteration": 1}) == Decision.CONTINUE
    last = {"training_iteration": 2, "loss": 1.0}
    s.on_trial_result(runner, a, last)
    a.status = TrialStatus.TERMINATED
    s.on_trial_complete(runner, a, last)  # the controller passes the same final result
    assert s._history["a"].points == [(2.0, -1.0)]


def test_state_round_trip() -> None:
    def make() -> MedianStoppingRule:
        return msr(grace_period=1, min_samples_required=2, hard_stop=False)

    s, runner = make(), Runner()
    trials = [runner.add(s, name) for name in "abc"]
    for trial, base in zip(trials, (1.0, 2.0, 3.0)):
        feed(s, runner, trial, [base] * 3)
    state = json.loads(json.dumps(s.get_state()))
    other = make()
    other.set_state(state)
    probe = {"training_iteration": 2, "loss": 2.5}
    twin_runner = Runner()
    assert s.on_trial_result(runner, runner.add(s, "d"), dict(probe)) == other.on_trial_result(
        twin_runner, twin_runner.add(other, "d"), dict(probe)
    )
    assert other.get_state() == s.get_state()
    with pytest.raises(ValueError, match="other settings"):
        msr(grace_period=5).set_state(state)
