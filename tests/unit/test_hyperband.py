"""HyperBandScheduler and HyperBandForBOHB as pure policies: fake trials, no processes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tunelab._trial import Trial, TrialStatus
from tunelab.schedulers import (
    Decision,
    DecisionPoints,
    HyperBandForBOHB,
    HyperBandScheduler,
    RunnerView,
    create_scheduler,
)


class Runner(RunnerView):
    def __init__(self, can_stop: bool = True) -> None:
        self.trials: list[Trial] = []
        super().__init__(
            lambda status: [t for t in self.trials if t.status == TrialStatus(status)],
            self.trials,
        )
        self.stopped: list[str] = []
        if not can_stop:
            self.stop_trial = None  # type: ignore[assignment,method-assign]

    def stop_trial(self, trial: Trial) -> None:
        assert trial.status in (TrialStatus.PAUSED, TrialStatus.PENDING)
        self.stopped.append(trial.trial_id)
        trial.status = TrialStatus.TERMINATED

    def add(self, scheduler: Any, trial_id: str) -> Trial:
        trial = Trial("fake", trial_id=trial_id)
        trial.status = TrialStatus.RUNNING
        self.trials.append(trial)
        scheduler.on_trial_add(self, trial)
        return trial


def hb(cls: type = HyperBandScheduler, **kw: Any) -> Any:
    kw.setdefault("metric", "loss")
    kw.setdefault("mode", "min")
    return cls(**kw)


def report(s: Any, runner: Runner, trial: Trial, it: float, loss: float) -> Decision:
    decision = s.on_trial_result(runner, trial, {"training_iteration": it, "loss": loss})
    if decision == Decision.PAUSE:
        trial.status = TrialStatus.PAUSED
    elif decision == Decision.STOP:
        trial.status = TrialStatus.TERMINATED
        s.on_trial_complete(runner, trial, {"training_iteration": it, "loss": loss})
    return Decision(decision)


# -- construction and shapes -----------------------------------------------------------------
def test_defaults_and_create_scheduler() -> None:
    s = HyperBandScheduler()
    assert (s.time_attr, s.max_t, s.reduction_factor, s.stop_last_trials) == (
        "training_iteration",
        81,
        3,
        True,
    )
    assert isinstance(create_scheduler("hyperband", max_t=9), HyperBandScheduler)
    assert isinstance(create_scheduler("hb_bohb"), HyperBandForBOHB)
    with pytest.raises(TypeError, match="grace_period"):
        create_scheduler("hyperband", grace_period=1)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"max_t": 0}, ValueError, ["max_t", "> 0"]),
        ({"reduction_factor": 1.5}, ValueError, ["reduction_factor", ">= 2", "1.5"]),
        ({"stop_last_trials": None}, TypeError, ["stop_last_trials"]),
        ({"time_attr": 3}, TypeError, ["time_attr"]),
        ({"metric": 3}, TypeError, ["metric"]),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type, words: list[str]) -> None:
    for cls in (HyperBandScheduler, HyperBandForBOHB):
        with pytest.raises(error) as info:
            cls(**kwargs)
        for word in words:
            assert word in str(info.value)


def test_bracket_sizes_and_milestones_follow_hyperband() -> None:
    s = hb(max_t=81, reduction_factor=3)
    assert s.decision_points() == DecisionPoints("training_iteration", (1, 3, 9, 27, 81))
    runner = Runner()
    for i in range(81 + 34 + 15 + 8 + 5 + 1):
        runner.add(s, f"t{i}")
    state = s.get_state()
    sizes = [len(b["trials"]) for b in state["brackets"]]
    assert sizes == [81, 34, 15, 8, 5, 1]
    assert [b["s"] for b in state["brackets"]] == [4, 3, 2, 1, 0, 4]
    assert [s._brackets[i].milestones for i in (1, 3, 4)] == [[3, 9, 27, 81], [27, 81], [81]]


def test_metric_and_mode_required_at_trial_add() -> None:
    with pytest.raises(ValueError, match="metric=None, mode=None"):
        Runner().add(HyperBandScheduler(), "a")


# -- synchronous halving ---------------------------------------------------------------------
def test_a_full_bracket_pauses_at_the_milestone_then_keeps_the_best_third() -> None:
    s = hb(max_t=9, reduction_factor=3)  # first bracket: 9 trials, milestones 1, 3, 9
    runner = Runner()
    trials = [runner.add(s, f"t{i}") for i in range(9)]
    losses = [0.5, 0.9, 0.1, 0.8, 0.3, 0.7, 0.6, 0.4, 0.2]
    for trial, loss in zip(trials[:8], losses[:8]):
        assert report(s, runner, trial, 1, loss) == Decision.PAUSE
    assert runner.stopped == []
    # the last one completes the rung; it is among the best 3 (0.1, 0.2, 0.3): it goes on
    assert report(s, runner, trials[8], 1, 0.2) == Decision.CONTINUE
    assert sorted(runner.stopped) == ["t0", "t1", "t3", "t5", "t6", "t7"]
    assert s.choose_trial_to_run(runner) is trials[2]
    trials[2].status = TrialStatus.RUNNING
    assert s.choose_trial_to_run(runner) is trials[4]
    trials[4].status = TrialStatus.RUNNING
    # rung 3: keep 1 of 3
    assert report(s, runner, trials[8], 3, 0.15) == Decision.PAUSE
    assert report(s, runner, trials[2], 3, 0.05) == Decision.PAUSE
    assert report(s, runner, trials[4], 3, 0.25) == Decision.STOP
    assert runner.stopped[-1] == "t8"
    assert s.choose_trial_to_run(runner) is trials[2]
    trials[2].status = TrialStatus.RUNNING
    assert report(s, runner, trials[2], 9, 0.01) == Decision.STOP  # max_t
    assert s.choose_trial_to_run(runner) is None


def test_loser_still_pausing_is_stopped_once_it_is_paused() -> None:
    s = hb(max_t=3, reduction_factor=3)  # bracket of 3 trials? s_max=1: 3, milestones 1, 3
    runner = Runner()
    a, b, c = (runner.add(s, t) for t in "abc")
    assert s.on_trial_result(runner, a, {"training_iteration": 1, "loss": 0.9}) == "PAUSE"
    # a's pause is still in flight (status RUNNING) when the rung completes
    assert report(s, runner, b, 1, 0.5) == Decision.PAUSE
    assert report(s, runner, c, 1, 0.1) == Decision.CONTINUE
    assert runner.stopped == ["b"]
    a.status = TrialStatus.PAUSED
    s.choose_trial_to_run(runner)
    assert "a" in runner.stopped


def test_a_partial_bracket_halves_when_the_search_has_no_more_trials() -> None:
    s = hb(max_t=9, reduction_factor=3)
    runner = Runner()
    trials = [runner.add(s, f"t{i}") for i in range(4)]
    for trial, loss in zip(trials, [0.4, 0.3, 0.2, 0.1]):
        assert report(s, runner, trial, 1, loss) == Decision.PAUSE
    assert s.choose_trial_to_run(runner) is None  # the controller asks the search next...
    fifth = runner.add(s, "t4")  # ...which gives one more trial: it joins the bracket
    assert s.choose_trial_to_run(runner) is None  # the search is asked again (nothing)
    assert report(s, runner, fifth, 1, 0.9) == Decision.PAUSE
    # the search had nothing the last time: the rung completes with the 5 present; the
    # best ceil(5 / 3) = 2 go on
    chosen = s.choose_trial_to_run(runner)
    assert chosen is trials[3]
    assert sorted(runner.stopped) == ["t0", "t1", "t4"]
    later = runner.add(s, "t5")
    assert s.get_state()["brackets"][1]["trials"] == ["t5"]  # a closed bracket takes no more
    del later


def test_errors_and_completions_leave_the_bracket() -> None:
    s = hb(max_t=9, reduction_factor=3)
    runner = Runner()
    trials = [runner.add(s, f"t{i}") for i in range(9)]
    for trial in trials[:7]:
        report(s, runner, trial, 1, 0.5)
    trials[7].status = TrialStatus.ERROR
    s.on_trial_error(runner, trials[7])
    trials[8].status = TrialStatus.TERMINATED
    s.on_trial_complete(runner, trials[8], {"training_iteration": 1})
    # every live trial reached the milestone: best 3 of the 7 continue
    assert len(runner.stopped) == 4
    assert s.choose_trial_to_run(runner) in trials[:7]


def test_without_runner_stop_losers_resume_and_stop_at_the_next_result() -> None:
    s = hb(max_t=3, reduction_factor=3)
    runner = Runner(can_stop=False)
    a, b, c = (runner.add(s, t) for t in "abc")
    report(s, runner, a, 1, 0.9)
    report(s, runner, b, 1, 0.8)
    assert report(s, runner, c, 1, 0.1) == Decision.CONTINUE
    chosen = s.choose_trial_to_run(runner)
    assert chosen is b  # the best loser first
    b.status = TrialStatus.RUNNING
    assert report(s, runner, b, 2, 0.8) == Decision.STOP
    assert s.choose_trial_to_run(runner) is a


def test_stop_last_trials_false_continues_past_max_t() -> None:
    s = hb(max_t=1, reduction_factor=3, stop_last_trials=False)
    runner = Runner()
    a = runner.add(s, "a")
    assert report(s, runner, a, 1, 0.5) == Decision.CONTINUE
    assert report(s, runner, a, 2, 0.5) == Decision.CONTINUE


def test_missing_metric_continues() -> None:
    s = hb(max_t=9)
    runner = Runner()
    a = runner.add(s, "a")
    assert s.on_trial_result(runner, a, {"training_iteration": 1}) == Decision.CONTINUE


# -- state -----------------------------------------------------------------------------------
def test_state_round_trip_continues_the_same_way() -> None:
    def make() -> HyperBandScheduler:
        return hb(max_t=9, reduction_factor=3)

    original, runner = make(), Runner()
    trials = [runner.add(original, f"t{i}") for i in range(9)]
    for i, trial in enumerate(trials[:6]):
        report(original, runner, trial, 1, i / 10)
    state = json.loads(json.dumps(original.get_state()))
    restored, twin_runner = make(), Runner()
    restored.set_state(state)
    twins = []
    for trial in trials:
        twin = Trial("fake", trial_id=trial.trial_id)
        twin.status = trial.status
        twin_runner.trials.append(twin)
        restored.on_trial_add(twin_runner, twin)
        twins.append(twin)
    for i in range(6, 9):
        assert report(original, runner, trials[i], 1, 0.05 * i) == report(
            restored, twin_runner, twins[i], 1, 0.05 * i
        )
    assert runner.stopped == twin_runner.stopped
    assert original.get_state() == restored.get_state()
    with pytest.raises(ValueError, match="other settings"):
        hb(max_t=27).set_state(state)


def test_debug_string_describes_live_brackets() -> None:
    s = hb(max_t=9, reduction_factor=3)
    runner = Runner()
    report(s, runner, runner.add(s, "a"), 1, 0.5)
    text = s.debug_string()
    assert text.startswith("Using HyperBand: num_stopped=0 total_brackets=1")
    assert "1 of 1 live trials reached it" in text


# -- HyperBandForBOHB ------------------------------------------------------------------------
class Searcher:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def on_pause(self, trial_id: str) -> None:
        self.events.append(("pause", trial_id))

    def on_unpause(self, trial_id: str) -> None:
        self.events.append(("unpause", trial_id))


def test_bohb_annotates_budgets_and_tells_the_searcher_about_pauses() -> None:
    s = hb(HyperBandForBOHB, max_t=3, reduction_factor=3)
    searcher = Searcher()
    s.attach_searcher(searcher)
    assert s.searcher is searcher
    runner = Runner()
    a, b, c = (runner.add(s, t) for t in "abc")
    results = []
    for trial, loss in ((a, 0.2), (b, 0.5), (c, 0.9)):
        res = {"training_iteration": 1, "loss": loss}
        decision = s.on_trial_result(runner, trial, res)
        results.append(res)
        if decision == "PAUSE":
            trial.status = TrialStatus.PAUSED
    assert [r["hyperband_info"] for r in results] == [{"budget": 1}] * 3
    assert searcher.events == [("pause", "a"), ("pause", "b")]
    assert s.choose_trial_to_run(runner) is a
    assert searcher.events[-1] == ("unpause", "a")
    between = {"training_iteration": 2, "loss": 0.1}
    a.status = TrialStatus.RUNNING
    assert s.on_trial_result(runner, a, between) == "CONTINUE"
    assert "hyperband_info" not in between
    assert s.debug_string().startswith("Using HyperBandForBOHB")


def test_bohb_without_a_searcher_is_plain_hyperband() -> None:
    s = hb(HyperBandForBOHB, max_t=3, reduction_factor=3)
    runner = Runner()
    a = runner.add(s, "a")
    assert s.on_trial_result(runner, a, {"training_iteration": 1, "loss": 1.0}) == "PAUSE"


@pytest.mark.parametrize("cls", [HyperBandScheduler, HyperBandForBOHB])
def test_a_trial_that_left_its_bracket_never_joins_another_after_a_resume(cls: type) -> None:
    """A driver killed after HyperBand let a trial go (stopped at a rung) but before the
    trial ended: on resume the trial comes back unfinished. It is stopped, not placed in
    the next bracket (whose rung would then wait for it forever)."""
    s = hb(cls, max_t=9, reduction_factor=3)
    runner = Runner()
    trials = [runner.add(s, f"t{i}") for i in range(9)]  # the first bracket
    for i, trial in enumerate(trials):  # all reach the first rung: the worst are stopped
        report(s, runner, trial, 1, float(i))
    state = json.loads(json.dumps(s.get_state()))
    left = [t for t in trials if t.trial_id not in state["brackets"][0]["live"]]
    assert left
    # resumed: a fresh scheduler from the saved state; a trial it let go is unfinished
    resumed = hb(cls, max_t=9, reduction_factor=3)
    resumed.set_state(state)
    runner2 = Runner()
    back = Trial("fake", trial_id=left[0].trial_id)
    back.status = TrialStatus.PENDING
    runner2.trials.append(back)
    resumed.on_trial_add(runner2, back)
    assert runner2.stopped == [back.trial_id]
    assert all(back.trial_id not in b["trials"] for b in resumed.get_state()["brackets"][1:])
