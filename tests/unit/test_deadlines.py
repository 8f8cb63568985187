"""The controller's book of force-end deadlines (pure: no clock, no processes)."""

from __future__ import annotations

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
