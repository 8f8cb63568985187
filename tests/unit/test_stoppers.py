from __future__ import annotations

import datetime
import logging
import pickle
from typing import Any

import pytest

import tunelab.stopper as stopper_pkg
from tunelab.stopper import (
    CombinedStopper,
    EarlyStopping,
    ExperimentPlateauStopper,
    FunctionStopper,
    MaximumIterationStopper,
    NoopStopper,
    StopCriteria,
    Stopper,
    TimeoutStopper,
    TrialPlateauStopper,
    check_stop_criteria,
    validate_stop_criteria,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def feed(stopper: Stopper, trial_id: str, values: list[float], metric: str = "m") -> list[bool]:
    return [stopper(trial_id, {metric: v}) for v in values]


def test_public_names_are_pinned() -> None:
    assert sorted(stopper_pkg.__all__) == [
        "CombinedStopper",
        "EarlyStopping",
        "ExperimentPlateauStopper",
        "FunctionStopper",
        "MaximumIterationStopper",
        "NoopStopper",
        "StopCriteria",
        "Stopper",
        "TimeoutStopper",
        "TrialPlateauStopper",
        "check_stop_criteria",
        "validate_stop_criteria",
    ]


# -- Stopper ABC -------------------------------------------------------------------------


def test_stopper_subclass_must_implement_both_methods() -> None:
    class OnlyCall(Stopper):
        def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
            return True

    with pytest.raises(TypeError):
        OnlyCall()  # type: ignore[abstract]

    class Full(OnlyCall):
        def stop_all(self) -> bool:
            return False

    assert Full()("t", {}) is True


def test_noop_stopper_never_stops() -> None:
    stopper = NoopStopper()
    assert not any(feed(stopper, "a", [0, 0, 0]))
    assert stopper.stop_all() is False
    assert repr(stopper) == "NoopStopper()"


# -- MaximumIterationStopper ---------------------------------------------------------------


def test_maximum_iteration_stopper_counts_per_trial() -> None:
    stopper = MaximumIterationStopper(max_iter=3)
    assert feed(stopper, "a", [1, 2]) == [False, False]
    assert feed(stopper, "b", [1]) == [False]
    assert stopper("a", {}) is True
    assert feed(stopper, "b", [1, 1]) == [False, True]
    assert stopper.stop_all() is False
    assert repr(stopper) == "MaximumIterationStopper(max_iter=3)"


@pytest.mark.parametrize(
    ("value", "error"), [(0, ValueError), (-2, ValueError), ("3", TypeError), (True, TypeError)]
)
def test_maximum_iteration_stopper_validates(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="max_iter"):
        MaximumIterationStopper(value)


# -- TrialPlateauStopper ---------------------------------------------------------------------


def test_trial_plateau_waits_for_grace_period_and_window() -> None:
    stopper = TrialPlateauStopper("m", std=0.01, num_results=3, grace_period=5)
    assert feed(stopper, "a", [1.0, 1.0, 1.0, 1.0]) == [False] * 4
    assert stopper("a", {"m": 1.0}) is True
    # Another trial has its own window and grace period.
    assert stopper("b", {"m": 1.0}) is False


def test_trial_plateau_does_not_stop_a_moving_metric() -> None:
    stopper = TrialPlateauStopper("m", std=0.01, num_results=3, grace_period=0)
    assert feed(stopper, "a", [1.0, 2.0, 3.0, 4.0, 4.0]) == [False] * 5
    # Once the last three values are flat, it stops.
    assert stopper("a", {"m": 4.0}) is True


def test_trial_plateau_threshold_min_and_max() -> None:
    low = TrialPlateauStopper("m", num_results=2, grace_period=0, metric_threshold=0.5, mode="min")
    assert feed(low, "a", [0.9, 0.9, 0.9]) == [False, False, False]
    assert feed(low, "b", [0.4, 0.4]) == [False, True]
    high = TrialPlateauStopper("m", num_results=2, grace_period=0, metric_threshold=0.5, mode="max")
    assert feed(high, "a", [0.4, 0.4, 0.4]) == [False, False, False]
    assert feed(high, "b", [0.9, 0.9]) == [False, True]


def test_trial_plateau_ignores_results_without_the_metric() -> None:
    stopper = TrialPlateauStopper("m", num_results=2, grace_period=0)
    assert stopper("a", {"other": 1}) is False
    assert stopper("a", {"m": "text"}) is False
    assert stopper("a", {"m": 2.0}) is False
    assert stopper("a", {"m": 2.0}) is True


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"metric": ""}, "metric"),
        ({"metric": "m", "std": 0}, "std"),
        ({"metric": "m", "num_results": 0}, "num_results"),
        ({"metric": "m", "grace_period": -1}, "grace_period"),
        ({"metric": "m", "mode": "average"}, "mode"),
        ({"metric": "m", "metric_threshold": 1.0}, "mode"),
        ({"metric": "m", "metric_threshold": "x", "mode": "min"}, "metric_threshold"),
    ],
)
def test_trial_plateau_validates(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises((ValueError, TypeError), match=name):
        TrialPlateauStopper(**kwargs)


# -- ExperimentPlateauStopper ----------------------------------------------------------------


def test_experiment_plateau_stops_when_top_values_agree() -> None:
    stopper = ExperimentPlateauStopper("loss", std=0.01, top=3, mode="min")
    assert stopper("a", {"loss": 5.0}) is False
    assert stopper("b", {"loss": 1.0}) is False
    assert stopper("a", {"loss": 1.001}) is False  # top 3 = 1.0, 1.001, 5.0: not flat
    assert stopper.stop_all() is False
    assert stopper("c", {"loss": 1.002}) is True  # top 3 = 1.0, 1.001, 1.002
    assert stopper.stop_all() is True
    assert stopper.top_values() == [1.0, 1.001, 1.002]


def test_experiment_plateau_max_mode_keeps_largest() -> None:
    stopper = ExperimentPlateauStopper("acc", std=0.01, top=2, mode="max")
    feed(stopper, "a", [0.1, 0.9, 0.2], metric="acc")
    assert stopper.top_values() == [0.9, 0.2]
    assert stopper.stop_all() is False
    assert stopper("b", {"acc": 0.905}) is True


def test_experiment_plateau_patience_counts_consecutive_results() -> None:
    stopper = ExperimentPlateauStopper("loss", std=0.01, top=2, patience=3)
    assert feed(stopper, "a", [1.0, 1.0, 1.0], metric="loss") == [False, False, False]
    # The plateau held for 2 results; a third one ends the experiment.
    assert stopper("a", {"loss": 1.0}) is True


def test_experiment_plateau_ignores_nan_and_missing() -> None:
    stopper = ExperimentPlateauStopper("loss", top=2)
    assert stopper("a", {"loss": float("nan")}) is False
    assert stopper("a", {}) is False
    assert stopper.top_values() == []


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"top": 1}, "top"),
        ({"top": 2.5}, "top"),
        ({"std": 0.0}, "std"),
        ({"std": "0.1"}, "std"),
        ({"mode": None}, "mode"),
        ({"patience": -1}, "patience"),
    ],
)
def test_experiment_plateau_validates(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises((ValueError, TypeError), match=name) as info:
        ExperimentPlateauStopper("loss", **kwargs)
    assert repr(next(iter(kwargs.values()))) in str(info.value)


def test_early_stopping_is_the_0_8_alias() -> None:
    assert EarlyStopping is ExperimentPlateauStopper


# -- TimeoutStopper --------------------------------------------------------------------------


def test_timeout_clock_starts_at_first_stop_all() -> None:
    clock = FakeClock()
    stopper = TimeoutStopper(10, clock=clock)
    clock.now += 1000  # time before the first stop_all does not count
    assert stopper.stop_all() is False
    clock.now += 9.5
    assert stopper.stop_all() is False
    assert stopper("a", {}) is False
    clock.now += 0.5
    assert stopper.stop_all() is True


def test_timeout_accepts_timedelta() -> None:
    clock = FakeClock()
    stopper = TimeoutStopper(datetime.timedelta(minutes=1), clock=clock)
    assert stopper.budget_s == 60.0
    stopper.stop_all()
    clock.now += 59
    assert stopper.stop_all() is False
    clock.now += 1
    assert stopper.stop_all() is True


def test_timeout_pickle_keeps_only_the_used_time() -> None:
    clock = FakeClock()
    stopper = TimeoutStopper(10, clock=clock)
    stopper.stop_all()
    clock.now += 4
    restored = pickle.loads(pickle.dumps(stopper))
    assert restored.elapsed() == pytest.approx(4)
    clock = restored.clock  # the fake clock travelled with the pickle
    clock.now += 1000  # downtime between the checkpoint and the resume
    assert restored.stop_all() is False
    clock.now += 6
    assert restored.stop_all() is True


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (0, ValueError),
        (-5, ValueError),
        (datetime.timedelta(0), ValueError),
        ("10", TypeError),
        (float("inf"), ValueError),
    ],
)
def test_timeout_validates(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="timeout"):
        TimeoutStopper(value)


def test_timeout_validates_clock() -> None:
    with pytest.raises(TypeError, match="clock"):
        TimeoutStopper(1, clock=3.0)  # type: ignore[arg-type]


# -- CombinedStopper / FunctionStopper -------------------------------------------------------


def test_combined_stopper_is_an_or_and_calls_every_member() -> None:
    counter = MaximumIterationStopper(max_iter=2)
    first = FunctionStopper(lambda trial_id, result: result.get("x", 0) > 5)
    combined = CombinedStopper(first, counter)
    assert combined("a", {"x": 10}) is True  # first says stop, counter still counted
    assert combined("a", {"x": 0}) is True  # counter reached 2
    assert combined("b", {"x": 0}) is False
    assert combined.stop_all() is False


def test_combined_stopper_stop_all() -> None:
    clock = FakeClock()
    combined = CombinedStopper(NoopStopper(), TimeoutStopper(5, clock=clock))
    assert combined.stop_all() is False
    clock.now += 5
    assert combined.stop_all() is True
    assert "TimeoutStopper(timeout=5)" in repr(combined)


def test_combined_stopper_rejects_non_stoppers() -> None:
    with pytest.raises(TypeError, match=r"stoppers\[1\]"):
        CombinedStopper(NoopStopper(), {"loss": 1})  # type: ignore[arg-type]


def test_function_stopper() -> None:
    seen: list[str] = []

    def fn(trial_id: str, result: dict[str, Any]) -> bool:
        seen.append(trial_id)
        return bool(result["done_now"])

    stopper = FunctionStopper(fn)
    assert stopper("a", {"done_now": 0}) is False
    assert stopper("b", {"done_now": 1}) is True
    assert stopper.stop_all() is False
    assert seen == ["a", "b"]


@pytest.mark.parametrize("bad", [3, "fn", lambda result: True, lambda a, b, c: True])
def test_function_stopper_validates_signature(bad: Any) -> None:
    with pytest.raises(TypeError, match="function"):
        FunctionStopper(bad)


# -- dict criteria ---------------------------------------------------------------------------


def test_check_stop_criteria_any_key_at_or_past_threshold() -> None:
    criteria = {"training_iteration": 10, "mean_accuracy": 0.98}
    assert check_stop_criteria(criteria, {"training_iteration": 9, "mean_accuracy": 0.5}) is None
    assert check_stop_criteria(criteria, {"training_iteration": 10, "mean_accuracy": 0.5}) == (
        "training_iteration"
    )
    assert check_stop_criteria(criteria, {"training_iteration": 1, "mean_accuracy": 0.99}) == (
        "mean_accuracy"
    )


def test_check_stop_criteria_nested_and_literal_keys() -> None:
    criteria = {"info/reward": 5}
    assert check_stop_criteria(criteria, {"info": {"reward": 4}}) is None
    assert check_stop_criteria(criteria, {"info": {"reward": 5}}) == "info/reward"
    # A flattened result holding the key verbatim works too.
    assert check_stop_criteria(criteria, {"info/reward": 6}) == "info/reward"
    assert check_stop_criteria(criteria, {"info": 3}) is None


def test_missing_criterion_is_ignored_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    criteria = StopCriteria({"nonexistent_metric_xyz": 1, "it": 3})
    with caplog.at_level(logging.WARNING, logger="tunelab"):
        assert criteria({"it": 1}) is None
        assert criteria({"it": 2, "nonexistent_metric_xyz": None}) is None
        assert criteria({"it": 3}) == "it"
    messages = [
        r.getMessage() for r in caplog.records if "nonexistent_metric_xyz" in r.getMessage()
    ]
    assert len(messages) == 1


def test_stop_criteria_object_matches_function() -> None:
    criteria = {"a/b": 2, "c": 1.5}
    compiled = StopCriteria(criteria)
    for result in ({"a": {"b": 1}, "c": 0}, {"a": {"b": 3}}, {"c": 2}, {"a/b": 2}):
        assert compiled(result) == check_stop_criteria(criteria, result)
    assert bool(StopCriteria({})) is False


def test_incomparable_result_value_raises_clearly() -> None:
    with pytest.raises(TypeError, match="'loss'"):
        check_stop_criteria({"loss": 1}, {"loss": "low"})


def test_validate_stop_criteria_rejects_nested_dicts() -> None:
    with pytest.raises(ValueError, match="'info/reward'") as info:
        validate_stop_criteria({"info": {"reward": 5}})
    assert "stop" in str(info.value)


@pytest.mark.parametrize(
    ("criteria", "fragment"),
    [({"loss": "0.5"}, "'loss'"), ({1: 3}, "1"), ([("a", 1)], "list")],
)
def test_validate_stop_criteria_type_errors(criteria: Any, fragment: str) -> None:
    with pytest.raises(TypeError, match=fragment) as info:
        validate_stop_criteria(criteria, argument="run_config.stop")
    assert str(info.value).startswith("run_config.stop")


def test_validate_stop_criteria_rejects_nan() -> None:
    with pytest.raises(ValueError, match="'loss'"):
        validate_stop_criteria({"loss": float("nan")})


def test_validate_stop_criteria_returns_a_plain_dict() -> None:
    assert validate_stop_criteria({"a": 1, "b": 0.5, "done": True}) == {
        "a": 1,
        "b": 0.5,
        "done": True,
    }
