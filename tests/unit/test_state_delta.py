"""The journal's state deltas: apply(old, diff(old, new)) gives new back, and a delta's size
follows what changed."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tunelab._persistence.state_delta import apply, diff
from tunelab._trial import Trial

# Scalars that ``==`` never confuses across types. Within a container, a change from 1 to
# 1.0 or True alone is not carried (documented in _state_delta._same: equality runs at C
# speed; the searcher and scheduler states it serves never change a value's type in place);
# test_a_type_change_deep_in_a_container_is_the_documented_limit pins that behaviour.
json_scalars = st.one_of(
    st.none(),
    st.integers(-(2**40), 2**40),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=5), inner, max_size=6)
    ),
    max_leaves=30,
)


@settings(max_examples=100, deadline=None)
@given(json_values, json_values)
def test_apply_of_diff_rebuilds_the_new_document(old, new):
    ops = diff(old, new)
    rebuilt = apply(json.loads(json.dumps(old)), json.loads(json.dumps(ops)))
    assert json.dumps(rebuilt, sort_keys=True) == json.dumps(new, sort_keys=True)


@settings(max_examples=100, deadline=None)
@given(st.lists(json_values, max_size=20), st.lists(json_values, max_size=5), st.data())
def test_a_list_that_grows_at_its_end_is_written_as_its_tail(prefix, tail, data):
    keep = data.draw(st.integers(0, len(prefix)))
    old = {"trials": prefix, "rng": 1}
    new = {"trials": prefix[:keep] + tail, "rng": 2}
    rebuilt = apply(old, diff(old, new))
    assert json.dumps(rebuilt, sort_keys=True) == json.dumps(new, sort_keys=True)


def test_delta_size_follows_the_change_not_the_state():
    old = {"trials": [{"number": i, "value": i * 0.5, "state": "COMPLETE"} for i in range(1000)]}
    new = {"trials": [*old["trials"], {"number": 1000, "value": None, "state": "RUNNING"}]}
    ops = diff(old, new)
    assert ops == [[["trials"], "tail", 1000, [new["trials"][-1]]]]
    assert len(json.dumps(ops)) < 100 < len(json.dumps(new))
    assert diff(new, new) == []


def test_nan_and_type_changes_are_carried():
    assert apply({"a": 1.0}, diff({"a": 1.0}, {"a": math.inf})) == {"a": math.inf}
    rebuilt = apply({"a": math.nan}, diff({"a": math.nan}, {"a": math.nan}))
    assert math.isnan(rebuilt["a"])
    assert apply({"a": 1}, diff({"a": 1}, {"a": "1"})) == {"a": "1"}
    assert apply({"a": [1]}, diff({"a": [1]}, {"a": {"b": 1}})) == {"a": {"b": 1}}
    assert apply({"a": 1, "b": 2}, diff({"a": 1, "b": 2}, {"b": 2})) == {"b": 2}


def test_apply_does_not_change_its_input():
    old = {"a": [1, 2, 3], "b": {"c": 1}}
    apply(old, diff(old, {"a": [1, 2, 4], "b": {"c": 2}}))
    assert old == {"a": [1, 2, 3], "b": {"c": 1}}


@pytest.mark.parametrize(
    "ops",
    [
        [[["missing", "x"], "set", 1]],
        [[["a"], "tail", 5, []]],
        [[["a"], "explode"]],
        ["not an op"],
        [[[], "del"]],
    ],
)
def test_a_delta_that_does_not_fit_is_a_value_error(ops):
    with pytest.raises(ValueError, match="delta"):
        apply({"a": [1, 2]}, ops)


def _FakeTrial(trial_id: str) -> Trial:
    trial = Trial("t", trial_id=trial_id)
    trial.status = Trial.PENDING
    return trial


def _search_state(n):
    # large enough to go as deltas from the start (SMALL_STATE), like a learning searcher's
    return {
        "counter": n,
        "space": {"lr": "loguniform", "note": "x" * 2100},
        "searcher": {"trials": [{"number": i, "value": i / 2} for i in range(n)]},
    }


def _journal_with_growing_search_state(tmp_path, count):
    from tunelab._persistence.experiment_state import ExperimentStateWriter

    writer = ExperimentStateWriter(str(tmp_path), lambda safe=True: {"trials": []})
    writer.start()
    for n in range(1, count + 1):
        writer.record_trial(_FakeTrial(f"t{n}"), _search_state(n))
    writer.close()
    return (tmp_path / "experiment_state.journal").read_text().splitlines()


def test_the_journal_carries_search_states_as_deltas_and_resume_rebuilds_the_last(tmp_path):
    from tunelab._persistence.experiment_state import load_state

    lines = _journal_with_growing_search_state(tmp_path, 50)
    first, last = json.loads(lines[0]), json.loads(lines[-1])
    assert first["search_alg"] == _search_state(1)
    assert "search_alg" not in last and last["search_base"] == last["seq"] - 1
    assert len(json.dumps(last["search_alg_delta"])) < 200  # one trial's worth, not fifty
    state = load_state(str(tmp_path))
    assert state["search_alg"] == _search_state(50)
    assert [t["trial_id"] for t in state["trials"]] == [f"t{n}" for n in range(1, 51)]


def test_a_damaged_delta_line_keeps_the_last_state_that_can_be_trusted(tmp_path, caplog):
    from tunelab._persistence.experiment_state import load_state

    lines = _journal_with_growing_search_state(tmp_path, 5)
    lines[2] = "{not json"
    (tmp_path / "experiment_state.journal").write_text("\n".join(lines) + "\n")
    state = load_state(str(tmp_path))
    assert state["search_alg"] == _search_state(2)  # not a mix of states 2 and 4, 5
    assert "cannot be rebuilt" in caplog.text


def test_a_snapshot_restarts_the_deltas_from_its_state(tmp_path):
    from tunelab._persistence.experiment_state import ExperimentStateWriter, load_state

    current = {"n": 0}
    writer = ExperimentStateWriter(
        str(tmp_path), lambda safe=True: {"trials": [], "search_alg": _search_state(current["n"])}
    )
    writer.start()
    for n in range(1, 4):
        current["n"] = n
        writer.record_trial(_FakeTrial(f"t{n}"), _search_state(n))
    writer.write()  # snapshot at 3
    for n in range(4, 6):
        current["n"] = n
        writer.record_trial(_FakeTrial(f"t{n}"), _search_state(n))
    writer.close()
    lines = (tmp_path / "experiment_state.journal").read_text().splitlines()
    assert all("search_alg_delta" in json.loads(line) for line in lines)
    assert load_state(str(tmp_path))["search_alg"] == _search_state(5)


def test_nested_lists_that_grow_and_big_dicts_give_small_deltas():
    # ASHA-like: per bracket, per rung, the (trial, reward) pairs recorded so far
    old = {
        "rungs": [[[[f"t{i}", i / 7] for i in range(500)], []], [[], []]],
        "bracket_of": {f"t{i}": 0 for i in range(500)},
    }
    new = json.loads(json.dumps(old))
    new["rungs"][0][0].append(["t500", 1.5])
    new["bracket_of"]["t500"] = 0
    ops = diff(old, new)
    assert len(json.dumps(ops)) < 200, ops
    assert apply(old, ops) == new
    assert apply(json.loads(json.dumps(old)), ops, in_place=True) == new


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(), max_size=6), max_size=5), st.data())
def test_lists_of_lists_rebuild_whatever_changed(old, data):
    new = [
        [*item, *data.draw(st.lists(st.integers(), max_size=2))]
        if data.draw(st.booleans())
        else item
        for item in old
    ] + data.draw(st.lists(st.lists(st.integers(), max_size=3), max_size=2))
    doc_old, doc_new = {"x": old}, {"x": new}
    assert apply(doc_old, diff(doc_old, doc_new)) == doc_new


def test_a_type_change_deep_in_a_container_is_the_documented_limit():
    assert apply({"a": [1.0]}, diff({"a": [1.0]}, {"a": [2.5]})) == {"a": [2.5]}
    # equal by ``==`` inside a container: the delta does not carry the type change
    assert diff({"a": [[False]]}, {"a": [[0]]}) == []
    # at the top of a value, a type change is carried
    assert apply({"a": False}, diff({"a": False}, {"a": 0})) == {"a": 0}


def test_policies_are_journaled_once_per_flush_after_the_steps_trial_lines(tmp_path):
    # the controller's writer takes the policies' states once per loop step (their cost
    # grows with the trials), in the same write as the trial lines of that step
    from tunelab._persistence.experiment_state import ExperimentStateWriter, load_state

    current = {"n": 0}
    taken = []

    def policy_state(key, raw):
        if key == "search_alg":  # both are taken together, once per policies line
            taken.append(raw)
            return _search_state(current["n"])
        return {"rungs": [current["n"]]}

    writer = ExperimentStateWriter(
        str(tmp_path), lambda safe=True: {"trials": []}, policy_state=policy_state
    )
    writer.start()
    for _step in range(3):
        for _ in range(4):  # four trials journaled in this step
            current["n"] += 1
            writer.record_trial(_FakeTrial(f"t{current['n']}"))
            writer.policies_changed()
        writer.flush()
    writer.flush()  # no change since: no policies line
    writer.close()
    assert taken == [True, True, True]
    journal = (tmp_path / "experiment_state.journal").read_text().splitlines()
    lines = [json.loads(line) for line in journal]
    kinds = ["policies" if line.get("policies") else "trial" for line in lines]
    assert kinds == (["trial"] * 4 + ["policies"]) * 3
    assert [line["seq"] for line in lines] == list(range(1, 16))
    assert "trial" not in lines[4] and lines[9]["search_base"] == 5
    state = load_state(str(tmp_path))
    assert state["search_alg"] == _search_state(12)
    assert state["scheduler"] == {"rungs": [12]}
    assert len(state["trials"]) == 12


def test_policies_unchanged_since_the_last_line_write_nothing(tmp_path):
    from tunelab._persistence.experiment_state import ExperimentStateWriter

    writer = ExperimentStateWriter(
        str(tmp_path),
        lambda safe=True: {"trials": []},
        policy_state=lambda key, raw: {"a": 1} if key == "search_alg" else None,
    )
    writer.start()
    writer.record_trial(_FakeTrial("t1"))
    writer.policies_changed()
    writer.flush()
    writer.record_trial(_FakeTrial("t2"))
    writer.policies_changed()
    writer.close()
    journal = (tmp_path / "experiment_state.journal").read_text().splitlines()
    lines = [json.loads(line) for line in journal]
    assert [sorted(k for k in line if k != "seq") for line in lines] == [
        ["trial"],
        ["policies", "search_alg"],
        ["trial"],
    ]


def test_small_states_go_whole_and_large_ones_as_deltas_to_what_was_read_back(tmp_path):
    # a small state (a counter) is compared by its encoding and journaled whole when it
    # changed: cheaper than a delta; once it grows past SMALL_STATE it goes as deltas
    from tunelab._persistence.experiment_state import (
        SMALL_STATE,
        ExperimentStateWriter,
        load_state,
    )

    current = {"state": {"counter": 0, "seen": []}}
    writer = ExperimentStateWriter(
        str(tmp_path),
        lambda safe=True: {"trials": []},
        policy_state=lambda key, raw: current["state"] if key == "search_alg" else None,
    )
    writer.start()
    states = []
    for n in range(1, 150):
        current["state"] = {"counter": n, "seen": [[f"t{i}", i / 3] for i in range(n)]}
        states.append(json.loads(json.dumps(current["state"])))
        writer.record_trial(_FakeTrial(f"t{n}"))
        writer.policies_changed()
        writer.flush()
        writer.policies_changed()
        writer.flush()  # unchanged: no line
    writer.close()
    journal = (tmp_path / "experiment_state.journal").read_text().splitlines()
    lines = [json.loads(x) for x in journal]
    policy_lines = [line for line in lines if line.get("policies")]
    assert len(policy_lines) == 149  # one per change, none for the unchanged states
    kinds = ["whole" if "search_alg" in line else "delta" for line in policy_lines]
    first_delta = kinds.index("delta")
    assert kinds == ["whole"] * first_delta + ["delta"] * (149 - first_delta)
    assert len(json.dumps(states[first_delta - 1])) <= SMALL_STATE
    assert len(json.dumps(states[first_delta])) > SMALL_STATE
    assert policy_lines[first_delta]["search_base"] == policy_lines[first_delta - 1]["seq"]
    assert load_state(str(tmp_path))["search_alg"] == states[-1]
    # killed after any line: the state read back is the one journaled last before it
    for cut in (2 * first_delta - 1, 2 * first_delta + 1, len(journal) - 3):
        (tmp_path / "experiment_state.journal").write_text("\n".join(journal[:cut]) + "\n")
        journaled = sum(1 for line in journal[:cut] if '"policies"' in line)
        assert load_state(str(tmp_path))["search_alg"] == states[journaled - 1]
