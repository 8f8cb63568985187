"""The experiment-state journal's update lines and the end of a run without a snapshot.

A trial's first line holds its whole state; later ones only what changes while it runs
(``Trial.run_state``) as long as the rest is as last written (``Trial.fixed_key``). Reading
the snapshot and the journal back must give every trial's state as ``Trial.to_state`` gives
it now, whatever happened in between.
"""

from __future__ import annotations

import json
import logging
import os
import random
from typing import Any

import pytest

import tunelab as tune
from tunelab._core.experiment_states import ExperimentStates
from tunelab._persistence.experiment_state import ExperimentStateWriter, load_state
from tunelab._resources import PlacementGroupFactory
from tunelab._trial import Trial, TrialStatus, with_state_defaults
from tunelab.server import DiskSource, ResultStore


def _trial(path: str, n: int) -> Trial:
    return Trial(
        "train",
        trial_id=f"t{n}",
        config={"x": n, "nested": {"lr": 0.1 * n}},
        evaluated_params={"x": n},
        experiment_tag=f"{n}_x={n}",
        experiment_name="exp",
        experiment_path=path,
        dirname=f"train_t{n}",
    )


def _writer(path: str, trials: list[Trial]) -> ExperimentStateWriter:
    def build(safe: bool = True) -> dict[str, Any]:
        return {"name": "exp", "trials": [t.to_state(safe=safe) for t in trials]}

    return ExperimentStateWriter(path, build)


def _journaled(tmp_path: Any) -> tuple[str, Trial, ExperimentStateWriter]:
    """A writer whose journal holds one new trial (and the trial)."""
    path = str(tmp_path)
    trial = _trial(path, 1)
    writer = _writer(path, [trial])
    writer.start()
    writer.record_trial(trial)
    return path, trial, writer


def _kinds(path: str) -> list[str]:
    """The kind of each journal line ("trial", "update", ...)."""
    return [next(k for k in line if k != "seq") for line in _journal(path)]


def _journal(path: str) -> list[dict[str, Any]]:
    with open(os.path.join(path, "experiment_state.journal")) as fh:
        return [json.loads(line) for line in fh]


def _as_read(trials: list[Trial]) -> dict[str, Any]:
    """The states of ``trials`` as JSON reads them back."""
    return {t.trial_id: json.loads(json.dumps(t.to_state())) for t in trials}


def _read(path: str) -> dict[str, Any]:
    state = load_state(path)
    assert state is not None
    return {t["trial_id"]: t for t in state["trials"]}


def test_a_trials_later_lines_carry_only_what_changes_while_it_runs(tmp_path: Any) -> None:
    path, trial, writer = _journaled(tmp_path)
    trial.status = Trial.RUNNING
    trial.update_last_result({"training_iteration": 1, "loss": 0.5, "config": trial.config})
    writer.record_trial(trial)
    trial.status = Trial.TERMINATED
    writer.record_trial(trial)
    writer.close()
    first, second, third = _journal(path)
    assert first["trial"] == json.loads(json.dumps(_trial(path, 1).to_state(sparse=True)))
    assert "trial" not in second and second["update"]["status"] == "RUNNING"
    assert set(second["update"]) == {"trial_id", "status", "last_result", "location"}
    assert third["update"]["status"] == "TERMINATED"
    assert _read(path) == _as_read([trial])


def test_lines_leave_out_what_a_new_trial_has_and_reading_puts_it_back(tmp_path: Any) -> None:
    path, trial, writer = _journaled(tmp_path)
    writer.close()
    (line,) = _journal(path)
    # no failures, errors, checkpoints, stopping criterion...: left out of the line
    assert set(line["trial"]) == {
        "trial_id", "trainable_name", "config", "experiment_tag", "evaluated_params",
        "resources", "experiment_name", "dirname", "status", "last_result", "location",
    }  # fmt: skip
    assert _read(path) == _as_read([trial])  # every field, with a new trial's values
    assert with_state_defaults(trial.to_state(sparse=True)) == trial.to_state()


def test_after_a_failure_every_update_carries_the_failures_and_checkpoints(
    tmp_path: Any,
) -> None:
    """An update leaves out a field only while every earlier line had a new trial's value
    for it: when a damaged line is skipped, the next one still sets what that one did."""
    path, trial, writer = _journaled(tmp_path)
    trial.status, trial.num_failures, trial.error_msg = Trial.PENDING, 1, "boom"
    writer.record_trial(trial)
    trial.status, trial.error_msg = Trial.RUNNING, None  # retried: the error is cleared
    writer.record_trial(trial)
    trial.status = Trial.PAUSED
    writer.record_trial(trial)
    writer.close()
    lines = _journal(path)
    assert [set(line.get("update", ())) >= {"num_failures", "error_msg"} for line in lines] == [
        False, True, True, True,
    ]  # fmt: skip
    assert _read(path) == _as_read([trial])
    journal = os.path.join(path, "experiment_state.journal")
    with open(journal) as fh:
        text = fh.read().splitlines()
    with open(journal, "w") as fh:  # the line that cleared the error is damaged
        fh.write("\n".join([text[0], text[1], text[2][:30], text[3]]) + "\n")
    read = _read(path)["t1"]
    assert (read["status"], read["num_failures"], read["error_msg"]) == ("PAUSED", 1, None)


def test_the_first_update_after_a_snapshot_carries_every_run_field(tmp_path: Any) -> None:
    path, trial, writer = _journaled(tmp_path)
    trial.status = Trial.RUNNING
    writer.record_trial(trial)
    writer.write()  # the trial's state is in the snapshot, not in the fresh journal
    trial.status = Trial.PAUSED
    writer.record_trial(trial)
    writer.close()
    (line,) = _journal(path)
    assert set(line["update"]) == set(trial.run_state())
    assert _read(path) == _as_read([trial])


def test_a_changed_config_or_request_is_journaled_whole(tmp_path: Any) -> None:
    path, trial, writer = _journaled(tmp_path)
    trial.status = Trial.PAUSED
    trial.config = {"x": 99, "nested": {"lr": 9.9}}  # a PBT exploit
    writer.record_trial(trial)
    trial.status = Trial.RUNNING
    trial.resources = PlacementGroupFactory([{"CPU": 2}])  # a resource change
    writer.record_trial(trial)
    trial.status = Trial.PAUSED
    writer.record_trial(trial)
    writer.close()
    assert _kinds(path) == ["trial", "trial", "trial", "update"]
    assert _read(path) == _as_read([trial])


def test_lines_before_a_snapshot_are_not_counted_as_superseded_after_it(tmp_path: Any) -> None:
    path, trial, writer = _journaled(tmp_path)
    trial.status = Trial.RUNNING
    trial.update_last_result({"training_iteration": 1, "blob": "x" * 4000})
    writer.record_trial(trial)
    writer.write()  # a fresh journal: the lines above are in the snapshot
    trial.status = Trial.TERMINATED
    writer.record_trial(trial)
    writer.flush()
    assert writer.journal_is_compact()  # one line, nothing superseded in this journal
    writer.close()
    assert _read(path) == _as_read([trial])


def test_a_config_that_cannot_be_compared_is_journaled_whole(tmp_path: Any) -> None:
    np = pytest.importorskip("numpy")
    path = str(tmp_path)
    trial = _trial(path, 1)
    trial.config = {"w": np.zeros(3)}
    writer = _writer(path, [trial])
    writer.start()
    writer.record_trial(trial)
    trial.config = {"w": np.ones(3)}  # == between the configs raises
    writer.record_trial(trial)
    writer.close()
    assert _kinds(path) == ["trial", "trial"]
    assert _read(path)["t1"]["config"] == {"w": [1.0, 1.0, 1.0]}


def test_a_finished_trial_is_forgotten_and_journaled_whole_if_it_changes_again(
    tmp_path: Any,
) -> None:
    path, trial, writer = _journaled(tmp_path)
    trial.status = Trial.ERROR
    trial.num_failures = 1
    writer.record_trial(trial)
    assert not writer._fixed  # nothing kept for a finished trial
    trial.status = Trial.PENDING  # retried
    writer.record_trial(trial)
    writer.close()
    assert _kinds(path) == ["trial", "update", "trial"]
    assert _read(path)["t1"]["num_failures"] == 1


@pytest.mark.parametrize("seed", range(8))
def test_any_history_reads_back_as_the_trials_are_now(tmp_path: Any, seed: int) -> None:
    """Random changes to random trials, journaled as the controller would, snapshots in
    between: the state read back is every trial's state now."""
    rng = random.Random(seed)
    path = str(tmp_path)
    trials: list[Trial] = []
    writer = _writer(path, trials)
    writer.start()
    for step in range(300):
        if not trials or rng.random() < 0.15:
            trials.append(_trial(path, len(trials)))
            writer.record_trial(trials[-1])
            continue
        trial = rng.choice(trials)
        change = rng.randrange(7)
        if change == 0:
            trial.status = rng.choice(list(TrialStatus))
        elif change == 1:
            trial.update_last_result({"training_iteration": step, "loss": rng.random()})
        elif change == 2:
            trial.config = {"x": rng.random()}
        elif change == 3:
            trial.num_failures += 1
            trial.error_msg = f"failure {step}"
        elif change == 4:
            trial.checkpoint_history = [
                *trial.checkpoint_history,
                [os.path.join(path, f"ckpt_{step}"), {"s": step}],
            ]
            trial.restore_state = {"iteration": step}
        elif change == 5:
            trial.experiment_tag = f"{step}_changed"
        else:
            writer.write()
            continue
        writer.record_trial(trial)
        if rng.random() < 0.3:
            writer.flush()
    writer.close()
    assert _read(path) == _as_read(trials)


def test_an_update_whose_trial_was_not_read_is_skipped_with_a_warning(
    tmp_path: Any, caplog: Any
) -> None:
    path = str(tmp_path)
    one, two = _trial(path, 1), _trial(path, 2)
    writer = _writer(path, [])  # the journal holds them
    writer.start()
    writer.record_trial(one)
    writer.record_trial(two)
    one.status = two.status = Trial.TERMINATED
    writer.record_trial(one)
    writer.record_trial(two)
    writer.close()
    journal = os.path.join(path, "experiment_state.journal")
    with open(journal) as fh:
        lines = fh.read().splitlines()
    lines[0] = lines[0][:40]  # the first line of trial one is damaged
    with open(journal, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING, logger="tunelab"):
        read = _read(path)
    assert list(read) == ["t2"] and read["t2"]["status"] == "TERMINATED"
    assert "an update of trial t1" in caplog.text


def test_the_dashboard_reader_applies_update_lines(tmp_path: Any) -> None:
    path = str(tmp_path)
    trial = _trial(path, 1)
    os.makedirs(os.path.join(path, trial.dirname))
    writer = _writer(path, [])  # the snapshot holds no trial: the journal has it all
    writer.start()
    writer.record_trial(trial)
    trial.status = Trial.TERMINATED
    writer.record_trial(trial)
    writer.close()
    store = ResultStore(name="exp")
    DiskSource(path, store).refresh()
    assert store.status_of("t1") == "TERMINATED"
    assert store.trial("t1")["params"] == {"x": 1}


# -- the end of a run ------------------------------------------------------------------------
def _one(config: dict[str, Any]) -> None:
    tune.report({"score": float(config["x"])})


def test_a_run_whose_journal_is_compact_ends_without_a_snapshot(tmp_path: Any) -> None:
    analysis = tune.run(
        _one,
        config={"x": tune.grid_search(list(range(12)))},
        storage_path=str(tmp_path),
        name="exp",
        verbose=0,
    )
    path = str(tmp_path / "exp")
    with open(os.path.join(path, "experiment_state.json")) as fh:
        assert json.load(fh)["trials"] == []  # the first snapshot only
    read = _read(path)
    assert len(read) == 12 and {t["status"] for t in read.values()} == {"TERMINATED"}
    assert {t["last_result"]["score"] for t in read.values()} == set(map(float, range(12)))
    assert analysis.get_best_config(metric="score", mode="max") == {"x": 11}
    # tunelab reads it as it reads a snapshot: a resume runs nothing again
    again = tune.run(
        _one,
        config={"x": tune.grid_search(list(range(12)))},
        storage_path=str(tmp_path),
        name="exp",
        resume=True,
        verbose=0,
    )
    assert len(again.trials) == 12
    assert all(t.last_result["training_iteration"] == 1 for t in again.trials)


class _Policies:
    """A search algorithm whose state the journal carries at every step, anew (as a pickled
    sampler is)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.count = 0

    def get_state(self) -> dict[str, Any]:
        return {"count": self.count, "blob": chr(65 + self.count % 26) * self.size}


def _close_after(tmp_path: Any, *, policy_size: int, finish: bool) -> bool:
    """Whether ExperimentStates.close wrote a snapshot after a few trials."""
    os.makedirs(tmp_path, exist_ok=True)
    path = str(tmp_path)
    states = ExperimentStates(
        _Table(),
        search_alg=_Policies(policy_size),
        scheduler=None,
        callbacks=None,
        metric=None,
        mode=None,
        period_s=1e9,
        clock=lambda: 0.0,
    )
    states.open(path)
    states.start()
    table = states._table
    for n in range(20):
        trial = _trial(path, n)
        table.trials.append(trial)
        states._search.count += 1
        states.journal(trial, now=True)
        trial.status = Trial.TERMINATED if finish or n else Trial.RUNNING
        states.journal(trial)
        states.flush()
    states.close()
    with open(os.path.join(path, "experiment_state.json")) as fh:
        snapshot = json.load(fh)
    assert _read(path) == _as_read(table.trials)
    return bool(snapshot["trials"])


class _Table:
    def __init__(self) -> None:
        self.trials: list[Trial] = []


def test_a_journal_mostly_superseded_ends_with_a_snapshot(tmp_path: Any) -> None:
    assert not _close_after(tmp_path / "small", policy_size=10, finish=True)
    # each step's large policy state supersedes the last one: a snapshot compacts them
    assert _close_after(tmp_path / "large", policy_size=5000, finish=True)


def test_a_run_ending_with_a_trial_not_finished_ends_with_a_snapshot(tmp_path: Any) -> None:
    # its latest result (not journaled) goes into the snapshot
    assert _close_after(tmp_path, policy_size=10, finish=False)


@pytest.mark.parametrize(
    "damage",
    [
        ["[1", "2]"],  # two damaged lines that would make one JSON value together
        ['{"seq": 90, "note": 1}, {"seq": 91, "note": 2}'],  # two values on one line
        ["7"],  # JSON, but not an entry
        [""],  # an empty line
    ],
)
def test_lines_that_are_not_one_entry_each_are_skipped_and_the_rest_read(
    tmp_path: Any, caplog: Any, damage: list[str]
) -> None:
    path = str(tmp_path)
    one, two = _trial(path, 1), _trial(path, 2)
    writer = _writer(path, [])
    writer.start()
    writer.record_trial(one)
    writer.flush()
    with open(os.path.join(path, "experiment_state.journal"), "a") as fh:
        fh.write("\n".join(damage) + "\n")
    writer.record_trial(two)
    one.status = Trial.TERMINATED
    writer.record_trial(one)
    writer.close()
    with open(os.path.join(path, "experiment_state.journal"), "a") as fh:
        fh.write('{"seq": 99, "trial": {"trial_id": "t9"')  # torn: a kill mid-write
    with caplog.at_level(logging.WARNING, logger="tunelab"):
        read = _read(path)
    assert read == _as_read([one, two])
    assert ("skipping it" in caplog.text) == any(line.strip() for line in damage)


# -- a finished trial's memory ---------------------------------------------------------------
def test_a_finished_trials_result_shares_the_trials_own_id_tag_and_config() -> None:
    trial = _trial("/exp", 1)
    decoded = json.loads(  # as a result arrives from a worker: copies of everything
        json.dumps(
            {
                "score": 0.5,
                "trial_id": trial.trial_id,
                "experiment_tag": trial.experiment_tag,
                "config": trial.config,
                "hostname": "node-1",
            }
        )
    )
    trial.update_last_result(decoded)
    trial.compact()
    last = trial.last_result
    assert last == decoded and type(last) is dict  # rebuilt (see Trial.compact)
    assert last["trial_id"] is trial.trial_id
    assert last["experiment_tag"] is trial.experiment_tag
    assert last["config"] is trial.config
    assert last == {
        "score": 0.5,
        "trial_id": "t1",
        "experiment_tag": "1_x=1",
        "config": {"x": 1, "nested": {"lr": 0.1}},
        "hostname": "node-1",
    }
    assert trial.metric_analysis["score"]["avg"] == 0.5


def test_a_result_whose_config_differs_or_cannot_be_compared_keeps_its_own() -> None:
    np = pytest.importorskip("numpy")
    trial = _trial("/exp", 1)
    trial.update_last_result({"config": {"x": 2}, "trial_id": "other"})
    trial.compact()
    assert trial.last_result == {"config": {"x": 2}, "trial_id": "other"}
    trial.config = {"w": np.zeros(2)}
    trial.update_last_result({"config": {"w": np.ones(2)}})
    trial.compact()  # == between the configs raises: nothing shared, nothing lost
    assert trial.last_result["config"]["w"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("values", [[3], [1, 2, 4], [0.5, 0.25], [2, 0.5]])
def test_metric_statistics_from_the_first_value_on(values: list[float]) -> None:
    trial = _trial("/exp", 1)
    for value in values:
        trial.update_last_result({"m": value})
    stats = trial.metric_analysis["m"]
    assert stats["avg"] == pytest.approx(sum(values) / len(values))
    assert (stats["min"], stats["max"], stats["last"]) == (min(values), max(values), values[-1])


# -- the snapshot ----------------------------------------------------------------------------
def _snapshot_writer(path: str, trials: list[Any], **head: Any) -> ExperimentStateWriter:
    def build(safe: bool = True) -> dict[str, Any]:
        return {**head, "trials": trials}

    return ExperimentStateWriter(path, build)


def test_a_snapshot_encodes_each_trial_and_falls_back_to_the_safe_form_per_trial(
    tmp_path: Any,
) -> None:
    path = str(tmp_path)
    trials = [_trial(path, n) for n in range(600)]  # more than one batch
    trials[7].config = {"s": {1, 2}}  # a set: plain JSON cannot hold the raw state
    writer = _snapshot_writer(path, trials, name="exp", metric="loss")
    writer.write()
    with open(os.path.join(path, "experiment_state.json")) as fh:
        snapshot = json.load(fh)
    assert snapshot["name"] == "exp" and snapshot["metric"] == "loss"
    assert snapshot["journal_seq"] == 0 and snapshot["version"] == 2
    assert [t["trial_id"] for t in snapshot["trials"]] == [f"t{n}" for n in range(600)]
    # sparse states: the safe form, and the raw one
    assert snapshot["trials"][7] == json.loads(json.dumps(trials[7].to_state(sparse=True)))
    assert snapshot["trials"][8] == json.loads(json.dumps(trials[8].to_state(sparse=True)))
    assert _read(path) == _as_read(trials)  # read back whole


def test_a_snapshot_without_trials_or_head_is_valid_json(tmp_path: Any) -> None:
    writer = _snapshot_writer(str(tmp_path), [])
    writer.write()
    with open(tmp_path / "experiment_state.json") as fh:
        assert json.load(fh) == {"trials": [], "version": 2, "journal_seq": 0}


class _Broken(Trial):
    def to_state(self, *, safe: bool = True, sparse: bool = False) -> dict[str, Any]:
        raise RuntimeError("cannot say")


def test_a_snapshot_that_fails_half_way_leaves_the_last_one_whole(tmp_path: Any) -> None:
    path = str(tmp_path)
    trials: list[Any] = [_trial(path, n) for n in range(300)]
    writer = _snapshot_writer(path, trials)
    writer.write()
    before = (tmp_path / "experiment_state.json").read_bytes()
    trials.append(_Broken("train", trial_id="bad"))
    with pytest.raises(RuntimeError, match="cannot say"):
        writer.write()
    assert (tmp_path / "experiment_state.json").read_bytes() == before
    assert sorted(os.listdir(path)) == ["experiment_state.journal", "experiment_state.json"]
