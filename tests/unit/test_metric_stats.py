"""A trial's per-metric statistics, and what a finished trial keeps of them and of its
numbers (``Trial.compact``)."""

from __future__ import annotations

import math
import pickle
import sys
from typing import Any

import pytest

from tunelab._metric_stats import (
    MetricStats,
    OneValueStats,
    RunningStats,
    settled,
    shared_number,
)
from tunelab._trial import Trial


def _stats(*values: float) -> RunningStats:
    stats = RunningStats()
    for value in values:
        stats.add(value)
    return stats


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    """Equal figures, NaN equal to NaN, and the same sign of zero."""
    return a.keys() == b.keys() and all(
        (math.isnan(a[k]) and math.isnan(b[k])) or (a[k] == b[k] and str(a[k]) == str(b[k]))
        for k in a
    )


@pytest.mark.parametrize("value", [1.5, -2.25, 3, 0, -0.0, 0.0, 1e300, -7])
def test_one_value_statistics_read_as_the_running_ones(value: float) -> None:
    running = _stats(value)
    kept = settled(running)
    assert type(kept) is OneValueStats and isinstance(kept, MetricStats)
    assert _same(kept.as_dict(), running.as_dict())
    assert dict(kept) == dict(running) or math.isnan(value)
    assert (kept.count, kept.total, kept.max, kept.min, kept.last, kept.recent) == (
        running.count,
        running.total,
        running.max,
        running.min,
        running.last,
        running.recent,
    )
    assert kept["min"] == value and list(kept) == list(running) and len(kept) == 6
    assert repr(kept) == repr(running)


@pytest.mark.parametrize(
    "values", [[math.nan], [float("inf")], [math.inf], [float("-inf")], [1.0, 2.0], []]
)
def test_settled_statistics_keep_every_figure(values: list[float]) -> None:
    # one NaN leaves max at -inf and min at inf: those stay running statistics
    running = _stats(*values)
    kept = settled(running)
    assert _same(kept.as_dict(), running.as_dict()) or not values
    if len(values) != 1 or math.isnan(values[0]):
        assert kept is running


def test_a_finished_trial_that_runs_again_folds_its_next_values_into_its_statistics() -> None:
    trial = Trial("t", trial_id="a")
    trial.update_last_result({"loss": 4.0, "training_iteration": 1})
    trial.compact()
    assert type(trial.metric_analysis["loss"]) is OneValueStats
    trial.update_last_result({"loss": 2.0, "training_iteration": 2})
    trial.update_last_result({"loss": 3.0, "training_iteration": 3})
    assert _same(trial.metric_analysis["loss"].as_dict(), _stats(4.0, 2.0, 3.0).as_dict())
    assert trial.metric_analysis["training_iteration"]["max"] == 3


def test_settled_statistics_survive_pickle_and_copy() -> None:
    import copy

    trial = Trial("t", trial_id="a")
    trial.update_last_result({"loss": 2.5})
    trial.compact()
    for twin in (pickle.loads(pickle.dumps(trial)), copy.deepcopy(trial)):
        stats = twin.metric_analysis["loss"]
        assert type(stats) is OneValueStats
        assert _same(stats.as_dict(), trial.metric_analysis["loss"].as_dict())


def test_finished_trials_share_their_equal_numbers() -> None:
    wire = pickle.dumps(
        {
            "score": 1.0,
            "time_this_iter_s": 0.123456,
            "time_total_s": 0.123456,
            "pid": 31337,
            "flag": True,
            "zero": -0.0,
            "big": 10**40,
        }
    )
    first, second = Trial("t", trial_id="a"), Trial("t", trial_id="b")
    for trial in (first, second):
        trial.update_last_result(pickle.loads(wire))  # each decoded on its own, as results are
        trial.compact()
    a, b = first.last_result, second.last_result
    assert a == b == pickle.loads(wire)
    assert a["time_this_iter_s"] is a["time_total_s"] is b["time_total_s"]
    assert a["score"] is b["score"] and a["pid"] is b["pid"] and a["big"] is b["big"]
    assert a["flag"] is True and type(a["flag"]) is bool
    assert str(a["zero"]) == "-0.0"  # not made the 0.0 it equals
    # the statistics hold the result's own objects, not copies
    assert first.metric_analysis["score"].last is a["score"]
    assert first.metric_analysis["time_total_s"].last is a["time_total_s"]


def test_shared_numbers_keep_their_type_and_sign() -> None:
    assert type(shared_number(1)) is int and type(shared_number(1.0)) is float
    assert shared_number(True) is True
    assert str(shared_number(-0.0)) == "-0.0" and str(shared_number(0.0)) == "0.0"
    assert math.isnan(shared_number(math.nan))

    class Number(float):
        pass

    mine = Number(2.5)
    assert shared_number(mine) is mine  # a subclass (numpy.float64...) stays as it is
    assert shared_number("x") == "x"  # type: ignore[arg-type]


def test_the_shared_numbers_stay_bounded() -> None:
    from tunelab import _metric_stats

    for i in range(3 * _metric_stats._MAX_NUMBERS):
        shared_number(i + 0.5)
    assert len(_metric_stats._FLOATS) <= _metric_stats._MAX_NUMBERS


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="CPython object sizes")
def test_one_value_statistics_take_half_the_memory() -> None:
    assert sys.getsizeof(OneValueStats(1.0)) * 2 <= sys.getsizeof(RunningStats())


def test_a_finished_trial_without_checkpoints_keeps_no_list_of_them() -> None:
    trials: list[Any] = [Trial("t", trial_id=str(i)) for i in range(3)]
    assert all(trial.checkpoint_history == () for trial in trials)
    assert trials[0].checkpoint_history is trials[1].checkpoint_history
    assert Trial.from_state(trials[0].to_state(), "/x").checkpoint_history == []
