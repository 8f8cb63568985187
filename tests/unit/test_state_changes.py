"""Policies that report what changed in their state (ASHA's get_state_changes, the
ChangeLog behind it), and the experiment-state writer that journals those changes instead
of comparing whole states: pure parts, no processes."""

from __future__ import annotations

import copy
import json
import math
import pickle
import random
from typing import Any

import pytest

from tunelab._persistence.state_delta import apply
from tunelab._trial import Trial, TrialStatus
from tunelab.schedulers import ASHAScheduler, Decision, RunnerView
from tunelab.schedulers._state_changes import ChangeLog, fixed_ops


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


# -- ChangeLog / fixed_ops ---------------------------------------------------------------------
def test_a_log_records_only_while_a_mark_is_held_and_back_to_the_oldest_mark() -> None:
    log = ChangeLog()
    log.add([["a", "x"], "set", 1])  # nobody reads: not kept
    assert len(log) == 0
    first = log.mark({})
    log.add([["a", "x"], "set", 2])
    second = log.mark({})
    log.add([["a", "y"], "set", 3])
    assert log.since(first) == [[["a", "x"], "set", 2], [["a", "y"], "set", 3]]
    assert log.since(second) == [[["a", "y"], "set", 3]]
    del first  # the oldest reader moved on: what only it needed goes
    assert log.since(second) == [[["a", "y"], "set", 3]]
    assert len(log) == 1
    del second
    log.add([["a", "z"], "set", 4])
    assert len(log) == 0


def test_marks_of_another_log_or_from_before_a_reset_cannot_be_followed() -> None:
    log, other = ChangeLog(), ChangeLog()
    mark = log.mark({})
    assert other.since(mark) is None
    assert log.since("not a mark") is None
    log.add([["a"], "set", 1])
    log.reset()
    assert log.since(mark) is None
    log.add([["a"], "set", 2])  # only a mark from before: nothing kept
    assert len(log) == 0
    fresh = log.mark({})
    assert log.since(fresh) == []


def test_a_copied_or_unpickled_log_is_a_fresh_one() -> None:
    log = ChangeLog()
    mark = log.mark({})
    log.add([["a"], "set", 1])
    for twin in (copy.deepcopy(log), copy.copy(log), pickle.loads(pickle.dumps(log))):
        assert len(twin) == 0
        assert twin.since(mark) is None
        twin.add([["a"], "set", 2])  # no mark of its own: nothing kept
        assert len(twin) == 0
    assert log.since(mark) == [[["a"], "set", 1]]


def test_fixed_parts_give_small_operations_that_rebuild_them() -> None:
    rng = random.Random(3)
    rng.random()  # past the first draw, which regenerates all 624 words
    old = {"n": 1, "rng": rng.getstate(), "stops": {"pending": []}, "x": 1.0, "gone": 2}
    rng.random()
    new = {"n": 2, "rng": rng.getstate(), "stops": {"pending": ["t1"]}, "x": 2.5, "y": 0}
    ops = fixed_ops(old, new)
    assert apply(as_json(old), as_json(ops)) == as_json(new)
    nan = fixed_ops({"x": 1.0}, {"x": math.nan})
    assert math.isnan(apply({"x": 1.0}, nan)["x"])
    assert fixed_ops({"x": math.nan}, {"x": math.nan}) == []
    # one draw moves a word or two of the 625 and the position: a short tail, not 625 words
    (rng_op,) = [op for op in ops if op[0][0] == "rng"]
    assert rng_op[0] == ["rng", 1] and rng_op[1] == "tail" and len(rng_op[3]) < 10
    assert fixed_ops(new, new) == []
    assert fixed_ops({"a": True}, {"a": 1}) == [[["a"], "set", 1]]


# -- ASHA ----------------------------------------------------------------------------------------
class Runner(RunnerView):
    def __init__(self, trials: list[Trial]) -> None:
        super().__init__(
            lambda status: [t for t in trials if t.status == TrialStatus(status)], trials
        )
        self.trials = trials

    def stop_trial(self, trial: Trial) -> None:
        trial.status = TrialStatus.TERMINATED


class Reader:
    """A journal's view of the scheduler: the state rebuilt from the changes it reported."""

    def __init__(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.mark, ops = scheduler.get_state_changes(None)
        assert ops is None
        self.state = as_json(scheduler.get_state())

    def catch_up(self) -> list[Any] | None:
        mark, ops = self.scheduler.get_state_changes(self.mark)
        if ops is None:
            self.state = as_json(self.scheduler.get_state())
        else:
            self.state = apply(self.state, as_json(ops), in_place=True)
            if not ops:
                assert mark is self.mark
        self.mark = mark
        assert self.state == as_json(self.scheduler.get_state())
        return ops


def play(scheduler: Any, rng: random.Random, steps: int, readers: list[Reader]) -> None:
    """Random adds, results (NaN, missing metrics), completions, errors, removals and
    choices; the readers catch up at random moments and must match get_state."""
    runner = Runner([])
    iteration: dict[str, int] = {}
    for step in range(steps):
        live = [t for t in runner.trials if t.status == TrialStatus.RUNNING]
        waiting = [t for t in runner.trials if t.status == TrialStatus.PAUSED]
        action = rng.random()
        if action < 0.2 or not live:
            trial = Trial("fake", trial_id=f"t{step}")
            trial.status = TrialStatus.RUNNING
            runner.trials.append(trial)
            scheduler.on_trial_add(runner, trial)
        elif action < 0.8:
            trial = rng.choice(live)
            iteration[trial.trial_id] = iteration.get(trial.trial_id, 0) + rng.randint(1, 4)
            result: dict[str, Any] = {"training_iteration": iteration[trial.trial_id]}
            if rng.random() < 0.9:
                result["loss"] = math.nan if rng.random() < 0.05 else rng.random()
            decision = scheduler.on_trial_result(runner, trial, result)
            if decision == Decision.STOP:
                trial.status = TrialStatus.TERMINATED
                scheduler.on_trial_complete(runner, trial, result)
            elif decision == Decision.PAUSE:
                trial.status = TrialStatus.PAUSED
        elif action < 0.86:
            trial = rng.choice(live)
            trial.status = TrialStatus.TERMINATED
            scheduler.on_trial_complete(
                runner, trial, {"training_iteration": iteration.get(trial.trial_id, 0) + 1}
            )
        elif action < 0.9:
            trial = rng.choice(live + waiting)
            trial.status = TrialStatus.ERROR
            if rng.random() < 0.5:
                scheduler.on_trial_error(runner, trial)
            else:
                scheduler.on_trial_remove(runner, trial)
        else:
            chosen = scheduler.choose_trial_to_run(runner)
            if chosen is not None:
                chosen.status = TrialStatus.RUNNING
        for reader in readers:
            if rng.random() < 0.3:
                reader.catch_up()
    for reader in readers:
        reader.catch_up()


@pytest.mark.parametrize("seed", range(24))
def test_asha_changes_rebuild_its_state_whatever_happens(seed: int) -> None:
    rng = random.Random(seed)
    scheduler = ASHAScheduler(
        metric="loss",
        mode="min",
        max_t=27,
        grace_period=1,
        reduction_factor=3,
        brackets=1 + seed % 3,
        promotion=seed % 2 == 1,
        seed=random.Random(seed) if seed % 4 == 0 else seed,
    )
    readers = [Reader(scheduler), Reader(scheduler)]  # two experiments' writers
    play(scheduler, rng, 300, readers)
    assert readers[0].catch_up() == []
    assert len(scheduler._log) == 0  # both caught up: nothing kept


def test_asha_changes_follow_what_changed_not_the_trials() -> None:
    scheduler = ASHAScheduler(metric="loss", mode="min", max_t=64, reduction_factor=4)
    runner = Runner([])
    reader = Reader(scheduler)
    for i in range(2000):
        trial = Trial("fake", trial_id=f"t{i}")
        trial.status = TrialStatus.RUNNING
        runner.trials.append(trial)
        scheduler.on_trial_add(runner, trial)
        scheduler.on_trial_result(runner, trial, {"training_iteration": 1, "loss": i % 7})
        if i % 2:
            scheduler.on_trial_complete(runner, trial, {"training_iteration": 2, "loss": 1})
        reader.mark, ops = scheduler.get_state_changes(reader.mark)
        assert ops is not None and len(json.dumps(ops)) < 200, ops
        reader.state = apply(reader.state, as_json(ops), in_place=True)
    assert reader.state == as_json(scheduler.get_state())
    assert len(json.dumps(reader.state)) > 50_000
    assert reader.catch_up() == []


def test_asha_changes_start_over_after_set_state() -> None:
    scheduler = ASHAScheduler(metric="loss", mode="min", max_t=9, reduction_factor=3)
    reader = Reader(scheduler)
    play(scheduler, random.Random(1), 50, [])
    scheduler.set_state(as_json(scheduler.get_state()))
    assert reader.catch_up() is None  # whole, then changes again
    play(scheduler, random.Random(2), 50, [reader])


def test_a_subclass_with_its_own_state_reports_no_changes() -> None:
    class Mine(ASHAScheduler):
        def get_state(self) -> dict[str, Any]:
            return {**super().get_state(), "mine": 1}

    assert Mine(metric="loss", mode="min").get_state_changes(None) is None
    assert ASHAScheduler(metric="loss", mode="min").get_state_changes(None) is not None


def test_an_asha_copy_reports_changes_of_its_own() -> None:
    scheduler = ASHAScheduler(metric="loss", mode="min", max_t=9, reduction_factor=3)
    reader = Reader(scheduler)
    twin = copy.deepcopy(scheduler)
    assert twin.get_state_changes(reader.mark)[1] is None  # not its mark
    twin_reader = Reader(twin)
    play(twin, random.Random(5), 60, [twin_reader])
    assert reader.catch_up() == []  # the original did not change


# -- the writer ----------------------------------------------------------------------------------
def _FakeTrial(trial_id: str) -> Trial:
    trial = Trial("t", trial_id=trial_id)
    trial.status = Trial.RUNNING
    return trial


class Policies:
    """ExperimentStates' view of a search algorithm (plain state) and an ASHA scheduler,
    counting how often each whole state is taken."""

    def __init__(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.search = {"counter": 0}
        self.taken = {"search_alg": 0, "scheduler": 0}

    def state(self, key: str, raw: bool) -> Any:
        self.taken[key] += 1
        if key == "search_alg":
            return dict(self.search)
        return self.scheduler.get_state()

    def changes(self, key: str, since: Any) -> Any:
        if key == "search_alg":
            return None
        return self.scheduler.get_state_changes(since)

    def document(self, safe: bool = True) -> dict[str, Any]:
        return {
            "trials": [],
            "search_alg": self.state("search_alg", not safe),
            "scheduler": self.state("scheduler", not safe),
        }


def journal_lines(tmp_path: Any) -> list[dict[str, Any]]:
    text = (tmp_path / "experiment_state.journal").read_text()
    return [json.loads(line) for line in text.splitlines()]


def _writer(tmp_path: Any, policies: Policies) -> Any:
    from tunelab._persistence.experiment_state import ExperimentStateWriter

    return ExperimentStateWriter(
        str(tmp_path),
        policies.document,
        period_s=1e9,
        policy_state=policies.state,
        policy_changes=policies.changes,
    )


def _asha_steps(policies: Policies, count: int, start: int = 0) -> Any:
    """Yield after each step: a new trial and a result of it (journaled by the caller)."""
    scheduler = policies.scheduler
    runner = Runner([])
    for i in range(start, start + count):
        trial = Trial("fake", trial_id=f"t{i}")
        trial.status = TrialStatus.RUNNING
        runner.trials.append(trial)
        scheduler.on_trial_add(runner, trial)
        scheduler.on_trial_result(runner, trial, {"training_iteration": 1, "loss": i % 5})
        policies.search["counter"] += 1
        yield f"t{i}"


def test_the_writer_journals_reported_changes_without_taking_the_state(tmp_path: Any) -> None:
    from tunelab._persistence.experiment_state import load_state

    scheduler = ASHAScheduler(metric="loss", mode="min", max_t=64, reduction_factor=4, brackets=2)
    policies = Policies(scheduler)
    writer = _writer(tmp_path, policies)
    writer.start()
    taken_at_start = dict(policies.taken)
    states = []
    for trial_id in _asha_steps(policies, 300):
        writer.record_trial(_FakeTrial(trial_id))
        writer.policies_changed()
        writer.flush()
        states.append((as_json(policies.search), as_json(scheduler.get_state())))
    writer.flush()  # nothing changed: no line
    writer.close()
    # the scheduler's whole state was taken for the snapshot only; the search algorithm's
    # (which reports no changes) at every flush
    assert policies.taken["scheduler"] == taken_at_start["scheduler"]
    assert policies.taken["search_alg"] == taken_at_start["search_alg"] + len(states)
    journal = (tmp_path / "experiment_state.journal").read_text().splitlines()
    lines = [json.loads(line) for line in journal]
    policy_lines = [line for line in lines if line.get("policies")]
    assert len(policy_lines) == 300
    assert all("scheduler_delta" in line and "scheduler" not in line for line in policy_lines)
    # one trial's worth each (two brackets: a draw moves the random state by a word or
    # two, and all 624 words once every 312 draws)
    assert sum(len(json.dumps(line)) > 400 for line in policy_lines) <= 2
    state = load_state(str(tmp_path))
    assert (state["search_alg"], state["scheduler"]) == states[-1]
    # killed after any line: the policies read back are those of the last policies line
    for cut in (2, 3, 101, 102, len(journal) - 1):
        (tmp_path / "experiment_state.journal").write_text("\n".join(journal[:cut]) + "\n")
        journaled = sum(1 for line in journal[:cut] if '"policies"' in line)
        state = load_state(str(tmp_path))
        assert (state["search_alg"], state["scheduler"]) == states[journaled - 1]


def test_a_snapshot_marks_the_state_it_holds_and_deltas_follow_it(tmp_path: Any) -> None:
    from tunelab._persistence.experiment_state import load_state

    scheduler = ASHAScheduler(metric="loss", mode="min", max_t=64, reduction_factor=4)
    policies = Policies(scheduler)
    writer = _writer(tmp_path, policies)
    writer.start()
    for trial_id in _asha_steps(policies, 20):
        writer.record_trial(_FakeTrial(trial_id))
        writer.policies_changed()
        writer.flush()
    writer.write()  # a snapshot: a fresh journal, deltas to the snapshot's state
    for trial_id in _asha_steps(policies, 20, start=20):
        writer.record_trial(_FakeTrial(trial_id))
        writer.policies_changed()
        writer.flush()
    writer.close()
    lines = journal_lines(tmp_path)
    first = next(line for line in lines if line.get("policies"))
    snapshot = json.loads((tmp_path / "experiment_state.json").read_text())
    assert first["scheduler_base"] == snapshot["journal_seq"] == first["seq"] - 2
    assert load_state(str(tmp_path))["scheduler"] == as_json(scheduler.get_state())


def test_a_policy_that_cannot_tell_its_changes_is_journaled_whole(tmp_path: Any) -> None:
    from tunelab._persistence.experiment_state import load_state

    scheduler = ASHAScheduler(metric="loss", mode="min", max_t=64, reduction_factor=4)
    policies = Policies(scheduler)
    writer = _writer(tmp_path, policies)
    writer.start()
    steps = _asha_steps(policies, 10)
    for _ in range(5):
        writer.record_trial(_FakeTrial(next(steps)))
        writer.policies_changed()
        writer.flush()
    scheduler.set_state(scheduler.get_state())  # e.g. restored: earlier marks are void
    for trial_id in steps:
        writer.record_trial(_FakeTrial(trial_id))
        writer.policies_changed()
        writer.flush()
    writer.close()
    lines = journal_lines(tmp_path)
    policy_lines = [line for line in lines if line.get("policies")]
    kinds = ["whole" if "scheduler" in line else "delta" for line in policy_lines]
    assert kinds == ["delta"] * 5 + ["whole"] + ["delta"] * 4
    assert load_state(str(tmp_path))["scheduler"] == as_json(scheduler.get_state())


def test_the_writer_falls_back_to_whole_states_when_changes_fail(tmp_path: Any) -> None:
    from tunelab._persistence.experiment_state import load_state

    scheduler = ASHAScheduler(metric="loss", mode="min", max_t=64, reduction_factor=4)
    policies = Policies(scheduler)
    broken = {"on": False}

    def changes(key: str, since: Any) -> Any:
        if broken["on"] and key == "scheduler":
            raise RuntimeError("boom")
        return policies.changes(key, since)

    from tunelab._persistence.experiment_state import ExperimentStateWriter

    writer = ExperimentStateWriter(
        str(tmp_path),
        policies.document,
        period_s=1e9,
        policy_state=policies.state,
        policy_changes=changes,
    )
    writer.start()
    steps = _asha_steps(policies, 6)
    for index, trial_id in enumerate(steps):
        broken["on"] = index >= 3
        writer.record_trial(_FakeTrial(trial_id))
        writer.policies_changed()
        writer.flush()
    writer.close()
    assert load_state(str(tmp_path))["scheduler"] == as_json(scheduler.get_state())


def test_snapshots_are_spaced_in_wall_clock_time_whatever_the_runs_clock(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a simulated clock runs far ahead of the wall clock: a snapshot each period of it
    # would cost O(trials) every few milliseconds
    from tunelab._persistence import experiment_state as state_mod

    wall, simulated, built = [100.0], [0.0], []

    def build(safe: bool = True) -> dict[str, Any]:
        built.append(simulated[0])
        wall[0] += 0.1  # a snapshot takes 0.1 s: the next one 5 s later at the earliest
        return {"trials": []}

    monkeypatch.setattr(state_mod.time, "perf_counter", lambda: wall[0])
    writer = state_mod.ExperimentStateWriter(
        str(tmp_path), build, period_s=10.0, clock=lambda: simulated[0]
    )
    writer.start()
    for _ in range(40):
        simulated[0] += 10.0  # a period of the run's clock per step...
        wall[0] += 0.5  # ...in half a second of wall-clock time
        writer.mark_dirty()
        writer.maybe_write()
    assert len(built) == 1 + 4  # start, then every 10 steps (5.1 s), not every step
    # and the run's clock still spaces them when it is the slower one
    built.clear()
    for _ in range(40):
        simulated[0] += 1.0
        wall[0] += 1.0
        writer.mark_dirty()
        writer.maybe_write()
    assert len(built) == 4


# -- policies that can only tell whether their state changed ----------------------------------
def test_the_default_searcher_tells_whether_its_state_changed() -> None:
    from tunelab.search import BasicVariantGenerator

    searcher = BasicVariantGenerator(max_concurrent=2)
    searcher.add_configurations({"exp": {"run": lambda config: None, "num_samples": 3}})
    mark, ops = searcher.get_state_changes(None)
    assert ops is None  # no mark yet: take the state whole
    assert searcher.get_state_changes(mark) == (mark, [])
    first = searcher.next_trial()
    assert first is not None
    changed, ops = searcher.get_state_changes(mark)
    assert ops is None and changed != mark  # a new trial: the state is taken whole again
    assert searcher.get_state_changes(changed) == (changed, [])
    searcher.on_trial_complete(first.trial_id)  # the live set shrinks: a change too
    assert searcher.get_state_changes(changed)[1] is None
    searcher.set_finished()
    assert searcher.get_state_changes(searcher.get_state_changes(None)[0])[1] == []


def test_a_searcher_subclass_with_its_own_state_cannot_tell() -> None:
    from tunelab.search import BasicVariantGenerator

    class Mine(BasicVariantGenerator):
        def get_state(self) -> dict[str, Any]:
            return {**super().get_state(), "extra": 1}

    assert Mine().get_state_changes(None) is None


def test_a_scheduler_without_a_state_of_its_own_never_changes() -> None:
    from tunelab.schedulers import FIFOScheduler, HyperBandScheduler, TrialScheduler

    fifo = FIFOScheduler()
    mark, ops = fifo.get_state_changes(None)
    assert ops is None and fifo.get_state_changes(mark) == (mark, [])
    assert TrialScheduler().get_state_changes(mark) == (mark, [])

    class Stateful(FIFOScheduler):
        def get_state(self) -> dict[str, Any]:
            return {"n": 1}

    assert Stateful().get_state_changes(mark) is None
    assert HyperBandScheduler().get_state_changes(None) is None  # its own get_state


def test_a_run_journals_the_default_searchers_state_only_when_it_changed(tmp_path: Any) -> None:
    import tunelab as tune

    def one(config: dict[str, Any]) -> None:
        tune.report({"score": 1.0})

    tune.run(one, num_samples=6, storage_path=str(tmp_path), name="e", verbose=0)
    lines = journal_lines(tmp_path / "e")
    kinds = [next(k for k in line if k not in ("seq", "search_alg", "scheduler")) for line in lines]
    # a line per new trial, one with the searcher's new state after it, one at its end: no
    # policies line when a trial ended (the searcher's state did not change then)
    assert kinds.count("trial") == kinds.count("update") == 6
    assert kinds.count("policies") == 6
    assert [line["search_alg"]["counter"] for line in lines if "search_alg" in line] == [
        1, 2, 3, 4, 5, 6,
    ]  # fmt: skip
