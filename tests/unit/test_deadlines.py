"""The controller's book of force-end deadlines (pure: no clock, no processes)."""

from __future__ import annotations

from typing import Any

import pytest

from tunelab._core.deadlines import Deadline, Deadlines


def test_due_deadlines_come_once_earliest_first() -> None:
    book = Deadlines()
    assert not book and book.due(100.0) == []
    book.arm("b", 5.0, "stop", "a STOP decision")
    book.arm("a", 3.0, "pause", "interrupted")
    assert book
    assert book.due(2.9) == []
    assert book.due(5.0) == [
        Deadline("a", "pause", "interrupted"),
        Deadline("b", "stop", "a STOP decision"),
    ]
    assert book.due(10.0) == [] and not book


def test_the_earliest_deadline_of_a_trial_counts() -> None:
    book = Deadlines()
    book.arm("t", 10.0, "time", "time_total_s=10")
    book.arm("t", 4.0, "stop", "a STOP decision")  # earlier: replaces
    book.arm("t", 7.0, "pause", "later: ignored")
    assert book.due(20.0) == [Deadline("t", "stop", "a STOP decision")]


def test_a_restarted_trial_drops_the_deadlines_of_its_earlier_run() -> None:
    book = Deadlines()
    book.arm("t", 1.0, "stop", "old run")
    book.disarm("t")
    book.arm("t", 5.0, "time", "new run")
    assert book.due(2.0) == []
    assert book.due(5.0) == [Deadline("t", "time", "new run")]
    book.disarm("never-armed")  # no error


def test_force_end_texts_say_why_and_what_happens_next() -> None:
    from tunelab._core.deadlines import force_end_text

    stop = force_end_text("train_1", "stop", "a stop request", 5.0, "its worker was killed", None)
    assert stop == (
        "Trial train_1 did not respond to a stop request (a stop request) within 5 s; its "
        "worker was killed.\n"
    )
    time_limit = force_end_text("t", "time", "time_total_s=3", 0.5, "killed", None)
    assert "reached its stop criterion time_total_s=3" in time_limit and "0.5 s" in time_limit
    paused = force_end_text("t", "pause", "interrupted", 2, "killed", "/x/checkpoint_000003")
    assert paused.endswith("resumes from its latest checkpoint (/x/checkpoint_000003).\n")
    fresh = force_end_text("t", "pause", "interrupted", 2, "killed", None)
    assert fresh.endswith("it has no checkpoint and resumes from the beginning.\n")


def _force_ends(now: list[float], *, can_kill: bool = True) -> Any:
    from tunelab._core.deadlines import ForceEnds, time_limits

    return ForceEnds(
        clock=lambda: now[0],
        grace_s=5.0,
        function_grace_s=1.0,
        can_kill=can_kill,
        limits=[time_limits({"time_total_s": 10, "training_iteration": 3}), []],
        is_function=lambda trial_id: trial_id.startswith("fn"),
    )


def test_force_ends_give_each_trial_its_grace_and_hold_time_limits() -> None:
    now = [100.0]
    force = _force_ends(now)
    assert not force
    force.arm_stop("fn1", "stop", "asked")  # a function trainable: its own grace, 1 s
    force.arm_stop("cls1", "pause", "asked")  # 5 s
    force.started("cls2", 0, restored_time_s=4.0)  # 10 s limit, 4 s already run: 6 s + 5 s
    force.started("cls3", 1, restored_time_s=0.0)  # no limits in experiment 1
    assert force
    now[0] = 101.0
    assert [(d.trial_id, d.kind) for d in force.due()] == [("fn1", "stop")]
    now[0] = 111.0
    due = force.due()
    assert [(d.trial_id, d.kind, d.why) for d in due] == [
        ("cls1", "pause", "asked"),
        ("cls2", "time", "time_total_s=10"),
    ]
    assert force.due() == []  # each once


def test_force_ends_restarted_trials_drop_old_deadlines_and_nothing_arms_without_kill() -> None:
    now = [0.0]
    force = _force_ends(now)
    force.arm_stop("cls1", "stop", "asked")
    force.started("cls1", 1, restored_time_s=0.0)  # restarted before its deadline
    now[0] = 60.0
    assert force.due() == []
    cannot = _force_ends(now, can_kill=False)
    cannot.arm_stop("cls1", "stop", "asked")
    cannot.started("cls2", 0, restored_time_s=0.0)
    assert not cannot


def test_force_ends_reject_a_negative_grace() -> None:
    from tunelab._core.deadlines import ForceEnds

    with pytest.raises(ValueError, match="stop_grace_s must be a number >= 0, got -1"):
        ForceEnds(
            clock=lambda: 0.0,
            grace_s=-1,
            function_grace_s=None,
            can_kill=True,
            limits=[],
            is_function=lambda _: False,
        )
