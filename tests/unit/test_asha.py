"""AsyncHyperBandScheduler / ASHAScheduler as a pure policy: fake trials, no processes."""

from __future__ import annotations

import json
import math
import os
import random
from typing import Any

import pytest

from tunelab._trial import Trial, TrialStatus
from tunelab.schedulers import (
    ASHAScheduler,
    AsyncHyperBandScheduler,
    Decision,
    DecisionPoints,
    RunnerView,
    create_scheduler,
)
from tunelab.schedulers._support import percentile

DATA = os.path.join(os.path.dirname(__file__), "data", "ray_scheduler_decisions.json")


class Runner(RunnerView):
    """A runner over a list of trials that records stop_trial requests."""

    def __init__(self, trials: list[Trial], can_stop: bool = True) -> None:
        super().__init__(
            lambda status: [t for t in trials if t.status == TrialStatus(status)], trials
        )
        self.trials = trials
        self.stopped: list[str] = []
        if not can_stop:
            self.stop_trial = None  # type: ignore[assignment,method-assign]

    def stop_trial(self, trial: Trial) -> None:
        self.stopped.append(trial.trial_id)
        trial.status = TrialStatus.TERMINATED

    def add(self, scheduler: Any, trial_id: str) -> Trial:
        trial = Trial("fake", trial_id=trial_id)
        trial.status = TrialStatus.RUNNING
        self.trials.append(trial)
        scheduler.on_trial_add(self, trial)
        return trial


def asha(**kw: Any) -> AsyncHyperBandScheduler:
    kw.setdefault("metric", "loss")
    kw.setdefault("mode", "min")
    return AsyncHyperBandScheduler(**kw)


def result(it: float, loss: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"training_iteration": it}
    if loss is not None:
        out["loss"] = loss
    return out


# -- construction ----------------------------------------------------------------------------
def test_alias_defaults_and_create_scheduler() -> None:
    assert ASHAScheduler is AsyncHyperBandScheduler
    s = ASHAScheduler()
    assert (s.time_attr, s.max_t, s.grace_period, s.reduction_factor) == (
        "training_iteration",
        100,
        1,
        4,
    )
    assert (s.brackets, s.stop_last_trials, s.promotion, s.metric, s.mode) == (
        1,
        True,
        False,
        None,
        None,
    )
    built = create_scheduler("asha", max_t=10, metric="m", mode="max")
    assert isinstance(built, AsyncHyperBandScheduler) and built.max_t == 10
    assert isinstance(create_scheduler("async_hyperband"), AsyncHyperBandScheduler)
    with pytest.raises(TypeError, match="grace"):
        create_scheduler("asha", grace=3)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"reduction_factor": 1}, ValueError, ["reduction_factor", ">= 2", "1"]),
        ({"grace_period": 0}, ValueError, ["grace_period", "> 0"]),
        ({"max_t": -5}, ValueError, ["max_t", "-5"]),
        ({"max_t": 10, "grace_period": 20}, ValueError, ["grace_period", "max_t"]),
        ({"brackets": 0}, ValueError, ["brackets", ">= 1"]),
        ({"brackets": 1.5}, TypeError, ["brackets"]),
        ({"stop_last_trials": "yes"}, TypeError, ["stop_last_trials"]),
        ({"promotion": 1}, TypeError, ["promotion"]),
        ({"time_attr": ""}, TypeError, ["time_attr"]),
        ({"seed": "abc"}, TypeError, ["seed"]),
        ({"mode": "maximize"}, ValueError, ["mode", "maximize"]),
        ({"max_t": float("nan")}, ValueError, ["max_t", "NaN"]),
    ],
)
def test_bad_arguments_name_the_argument_and_value(
    kwargs: dict[str, Any], error: type, words: list[str]
) -> None:
    with pytest.raises(error) as info:
        AsyncHyperBandScheduler(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_decision_points_are_the_rungs_and_max_t() -> None:
    assert ASHAScheduler().decision_points() == DecisionPoints(
        "training_iteration", (1, 4, 16, 64, 100)
    )
    two = ASHAScheduler(time_attr="time_total_s", brackets=2, max_t=64)
    assert two.decision_points() == DecisionPoints("time_total_s", (1, 4, 16, 64))
    assert ASHAScheduler(stop_last_trials=False, max_t=50).decision_points().milestones == (
        1,
        4,
        16,
    )


def test_metric_and_mode_must_be_known_when_trials_are_added() -> None:
    s = AsyncHyperBandScheduler()
    runner = Runner([])
    with pytest.raises(ValueError, match=r"metric=None, mode=None"):
        runner.add(s, "a")
    assert s.set_search_properties("loss", "min") is True
    runner.add(s, "b")
    assert s.set_search_properties("acc", None) is False
    only_mode = AsyncHyperBandScheduler(mode="max")
    assert only_mode.set_search_properties(None, None) and only_mode.metric == "_metric"


# -- stopping mode ---------------------------------------------------------------------------
def test_matches_ray_tunes_decisions_on_recorded_sequences() -> None:
    with open(DATA) as fh:
        cases = json.load(fh)["asha"]
    assert len(cases) == 24
    for case in cases:
        s = AsyncHyperBandScheduler(
            time_attr="it",
            metric="m",
            mode=case["mode"],
            max_t=case["max_t"],
            grace_period=case["grace_period"],
            reduction_factor=case["reduction_factor"],
            stop_last_trials=case["stop_last_trials"],
        )
        runner = Runner([])
        trials: dict[str, Trial] = {}
        for trial_id, it, value, expected in case["events"]:
            if trial_id not in trials:
                trials[trial_id] = runner.add(s, trial_id)
            metrics = {"it": it, "m": math.nan if value is None else value}
            assert str(s.on_trial_result(runner, trials[trial_id], metrics)) == expected


def test_first_trial_at_a_rung_continues_and_worse_ones_stop_there() -> None:
    s = asha(max_t=9, grace_period=1, reduction_factor=3)
    runner = Runner([])
    a, b, c = (runner.add(s, t) for t in "abc")
    assert s.on_trial_result(runner, a, result(1, 1.0)) == Decision.CONTINUE
    assert s.on_trial_result(runner, b, result(1, 2.0)) == Decision.STOP
    assert s.on_trial_result(runner, c, result(1, 0.5)) == Decision.CONTINUE
    assert s.on_trial_result(runner, a, result(3, 0.9)) == Decision.CONTINUE
    assert s.on_trial_result(runner, c, result(3, 0.4)) == Decision.CONTINUE
    assert s.on_trial_result(runner, c, result(9, 0.1)) == Decision.STOP  # max_t
    assert "num_stopped=2" in s.debug_string()


def test_cutoff_is_the_1_minus_1_over_rf_percentile_of_the_rung() -> None:
    s = asha(max_t=100, grace_period=1, reduction_factor=4)
    runner = Runner([])
    for i, loss in enumerate([1.0, 2.0, 3.0, 4.0]):
        s.on_trial_result(runner, runner.add(s, f"t{i}"), result(1, loss))
    # rewards -1..-4: 75th percentile = -1.75; -1.7 is above it, -1.8 below
    assert s.on_trial_result(runner, runner.add(s, "x"), result(1, 1.7)) == Decision.CONTINUE
    assert s.on_trial_result(runner, runner.add(s, "y"), result(1, 1.8)) == Decision.STOP


def test_stop_last_trials_false_lets_trials_run_past_max_t() -> None:
    s = asha(max_t=4, grace_period=1, reduction_factor=2, stop_last_trials=False)
    runner = Runner([])
    a = runner.add(s, "a")
    for it in (1, 2, 4, 8):
        assert s.on_trial_result(runner, a, result(it, 1.0)) == Decision.CONTINUE


def test_results_without_metric_or_time_attr_continue() -> None:
    s = asha(max_t=9, reduction_factor=3)
    runner = Runner([])
    a = runner.add(s, "a")
    assert s.on_trial_result(runner, a, result(1)) == Decision.CONTINUE
    assert s.on_trial_result(runner, a, {"loss": 1.0}) == Decision.CONTINUE
    assert s.on_trial_result(runner, a, result(9, None)) == Decision.CONTINUE
    assert s.on_trial_result(runner, a, {"training_iteration": 1, "loss": "n/a"}) == "CONTINUE"


def test_final_results_of_completed_trials_count_at_rungs() -> None:
    s = asha(max_t=9, grace_period=1, reduction_factor=3)
    runner = Runner([])
    a, b = runner.add(s, "a"), runner.add(s, "b")
    a.status = TrialStatus.TERMINATED
    s.on_trial_complete(runner, a, result(3, 0.1))  # ended by its own stop criterion at 3
    assert s.on_trial_result(runner, b, result(3, 0.5)) == Decision.STOP


def test_brackets_are_drawn_from_the_seed_with_softmax_weights() -> None:
    def assignment(seed: int) -> list[int]:
        s = asha(max_t=81, reduction_factor=3, brackets=3, seed=seed)
        runner = Runner([])
        for i in range(200):
            runner.add(s, f"t{i}")
        return [s.get_state()["bracket_of"][f"t{i}"] for i in range(200)]

    first = assignment(5)
    assert first == assignment(5)
    assert first != assignment(6)
    counts = [first.count(b) for b in range(3)]
    # rungs per bracket 5, 4, 3: weights e^0, e^-1, e^-2 -> ~ 66%, 24%, 9%
    assert counts[0] > counts[1] > counts[2] > 0
    explicit = asha(brackets=2, seed=random.Random(3))
    runner = Runner([])
    runner.add(explicit, "x")


def test_bracket_offsets_shift_the_rungs() -> None:
    s = asha(max_t=27, grace_period=1, reduction_factor=3, brackets=2, seed=0)
    state = s.get_state()
    assert [len(r) for r in state["rungs"]] == [4, 3]  # 1,3,9,27 and 3,9,27


# -- promotion mode --------------------------------------------------------------------------
def test_promotion_pauses_at_rungs_and_promotes_the_best_paused_trial() -> None:
    s = asha(max_t=9, grace_period=1, reduction_factor=3, promotion=True)
    runner = Runner([])
    trials = [runner.add(s, f"t{i}") for i in range(3)]
    # t0 alone at rung 1: floor(1/3) = 0 may go on -> pause
    assert s.on_trial_result(runner, trials[0], result(1, 0.5)) == Decision.PAUSE
    trials[0].status = TrialStatus.PAUSED
    assert s.on_trial_result(runner, trials[1], result(1, 0.9)) == Decision.PAUSE
    trials[1].status = TrialStatus.PAUSED
    # nothing promotable yet: the search is asked for a new trial
    assert s.choose_trial_to_run(runner) is None
    # t2 is the third at rung 1 and the best: it goes on at once
    assert s.on_trial_result(runner, trials[2], result(1, 0.1)) == Decision.CONTINUE
    assert s.on_trial_result(runner, trials[2], result(3, 0.05)) == Decision.PAUSE
    trials[2].status = TrialStatus.PAUSED
    # a fourth trial at rung 1 makes floor(4/3) = 1 -> still only t2 is in the top
    t3 = runner.add(s, "t3")
    assert s.on_trial_result(runner, t3, result(1, 0.2)) == Decision.PAUSE
    t3.status = TrialStatus.PAUSED
    assert s.choose_trial_to_run(runner) is None
    for i in range(4, 6):
        extra = runner.add(s, f"t{i}")
        assert s.on_trial_result(runner, extra, result(1, 5.0)) == Decision.PAUSE
        extra.status = TrialStatus.PAUSED
    # 6 at rung 1: top 2 = t2 (already past) and t3 -> t3 is promoted
    assert s.choose_trial_to_run(runner) is t3
    t3.status = TrialStatus.RUNNING
    # resumed from an earlier checkpoint, it reports rung 1 again: no new pause there
    assert s.on_trial_result(runner, t3, result(1, 0.2)) == Decision.CONTINUE
    assert s.on_trial_result(runner, t3, result(3, 0.3)) == Decision.PAUSE


def finish(s: AsyncHyperBandScheduler, runner: Runner, trial: Trial, it: int) -> None:
    assert s.on_trial_result(runner, trial, result(it, 0.1)) == Decision.STOP
    trial.status = TrialStatus.TERMINATED
    s.on_trial_complete(runner, trial, result(it, 0.1))


def test_promotion_when_nothing_else_can_happen_promotes_ceil_then_stops() -> None:
    s = asha(max_t=9, grace_period=1, reduction_factor=3, promotion=True)
    runner = Runner([])
    a, b = runner.add(s, "a"), runner.add(s, "b")
    for trial, loss in ((a, 1.0), (b, 2.0)):
        assert s.on_trial_result(runner, trial, result(1, loss)) == Decision.PAUSE
        trial.status = TrialStatus.PAUSED
    assert s.choose_trial_to_run(runner) is None  # the search is asked...
    # ...and had nothing, and nothing runs: rung 1 promotes its best ceil(2 / 3) = 1
    assert s.choose_trial_to_run(runner) is a
    a.status = TrialStatus.RUNNING
    assert s.on_trial_result(runner, a, result(3, 0.5)) == Decision.PAUSE
    a.status = TrialStatus.PAUSED
    assert s.choose_trial_to_run(runner) is None
    assert s.choose_trial_to_run(runner) is a  # the same at rung 3
    a.status = TrialStatus.RUNNING
    finish(s, runner, a, 9)
    assert s.choose_trial_to_run(runner) is None
    # b is not among the best ceil(2 / 3) of rung 1: it can never be promoted
    assert s.choose_trial_to_run(runner) is None
    assert runner.stopped == ["b"]


def test_promotion_without_runner_stop_resumes_and_stops_at_the_next_result() -> None:
    s = asha(max_t=9, grace_period=1, reduction_factor=3, promotion=True)
    runner = Runner([], can_stop=False)
    a, b = runner.add(s, "a"), runner.add(s, "b")
    for trial, loss in ((a, 1.0), (b, 2.0)):
        assert s.on_trial_result(runner, trial, result(1, loss)) == Decision.PAUSE
        trial.status = TrialStatus.PAUSED
    assert s.choose_trial_to_run(runner) is None
    assert s.choose_trial_to_run(runner) is a
    a.status = TrialStatus.RUNNING
    finish(s, runner, a, 9)
    assert s.choose_trial_to_run(runner) is None
    assert s.choose_trial_to_run(runner) is b  # resumed only to be stopped
    b.status = TrialStatus.RUNNING
    assert s.on_trial_result(runner, b, result(2, 2.0)) == Decision.STOP


def test_promotion_mode_resumes_trials_paused_by_the_controller_and_pending_first() -> None:
    s = asha(max_t=9, grace_period=1, reduction_factor=3, promotion=True)
    runner = Runner([])
    a, b = runner.add(s, "a"), runner.add(s, "b")
    a.status = TrialStatus.PAUSED  # e.g. Ctrl+C: not held by the scheduler
    b.status = TrialStatus.PENDING  # e.g. a retry after a failure
    assert s.choose_trial_to_run(runner) is b
    b.status = TrialStatus.RUNNING
    assert s.choose_trial_to_run(runner) is a


def test_stopping_mode_chooses_like_fifo() -> None:
    s = asha()
    runner = Runner([])
    a, b = runner.add(s, "a"), runner.add(s, "b")
    a.status, b.status = TrialStatus.PAUSED, TrialStatus.PENDING
    assert s.choose_trial_to_run(runner) is b


# -- state -----------------------------------------------------------------------------------
def test_state_round_trip_gives_identical_decisions() -> None:
    rng = random.Random(0)
    events = [(f"t{rng.randrange(8)}", rng.choice([1, 3, 9, 27]), rng.random()) for _ in range(60)]

    def play(s: AsyncHyperBandScheduler, runner: Runner, part: list[Any]) -> list[str]:
        out = []
        for trial_id, it, loss in part:
            trial = next((t for t in runner.trials if t.trial_id == trial_id), None)
            if trial is None:
                trial = runner.add(s, trial_id)
            out.append(str(s.on_trial_result(runner, trial, result(it, loss))))
        return out

    def make() -> AsyncHyperBandScheduler:
        return asha(max_t=27, reduction_factor=3, brackets=3, seed=11)

    original, runner = make(), Runner([])
    play(original, runner, events[:30])
    state = json.loads(json.dumps(original.get_state()))
    restored = make()
    restored.set_state(state)
    copy_runner = Runner([])
    for trial in runner.trials:
        twin = Trial("fake", trial_id=trial.trial_id)
        twin.status = trial.status
        copy_runner.trials.append(twin)
        restored.on_trial_add(copy_runner, twin)  # a resumed experiment adds them again
    assert play(restored, copy_runner, events[30:]) == play(original, runner, events[30:])
    assert restored.get_state() == original.get_state()


def test_set_state_rejects_other_settings_and_versions() -> None:
    state = asha(max_t=27).get_state()
    with pytest.raises(ValueError, match="other settings"):
        asha(max_t=81).set_state(state)
    with pytest.raises(ValueError, match="version"):
        asha(max_t=27).set_state({**state, "version": 99})


def test_nan_results_survive_the_json_state() -> None:
    s = asha(max_t=9, reduction_factor=3)
    runner = Runner([])
    s.on_trial_result(runner, runner.add(s, "a"), result(1, math.nan))
    text = json.dumps(s.get_state(), allow_nan=False)
    other = asha(max_t=9, reduction_factor=3)
    other.set_state(json.loads(text))
    assert math.isnan(other._rungs[0][0].rewards["a"])


def test_percentile_matches_numpy() -> None:
    np = pytest.importorskip("numpy")
    rng = random.Random(1)
    for _ in range(200):
        values = sorted(rng.uniform(-5, 5) for _ in range(rng.randint(1, 9)))
        q = rng.choice([50.0, 66.66666666666667, 75.0, 0.0, 100.0, rng.uniform(0, 100)])
        assert percentile(values, q) == float(np.percentile(values, q))
