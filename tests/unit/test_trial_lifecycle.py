"""TrialLifecycle: the one owner of trial state in the controller (pure bookkeeping)."""

from __future__ import annotations

from tunelab._checkpoint import Checkpoint
from tunelab._core.trial_lifecycle import TrialLifecycle
from tunelab._trial import Trial, TrialStatus


def _trial(trial_id: str) -> Trial:
    return Trial("f", config={}, trial_id=trial_id)


def test_a_requeued_trial_with_a_checkpoint_restores_and_rolls_back_once() -> None:
    table = TrialLifecycle()
    trial = _trial("a")
    table.add(trial)
    table.started(trial)
    trial.checkpoint = Checkpoint("/tmp/ckpt")
    table.requeue(trial, rollback_to=3)
    assert trial.status is TrialStatus.PENDING
    assert table.restores(trial) and table.run("a").rollback_to == 3
    assert list(table.with_status(TrialStatus.PENDING)) == [trial]
    assert table.started(trial) == 3
    assert trial.status is TrialStatus.RUNNING
    assert not table.restores(trial) and table.run("a").rollback_to is None
    assert table.counts() == {"RUNNING": 1}


def test_requeue_without_a_checkpoint_starts_fresh_and_paused_resumes() -> None:
    table = TrialLifecycle()
    fresh, paused = _trial("a"), _trial("b")
    table.add(fresh)
    table.add(paused)
    table.requeue(fresh)
    assert not table.restores(fresh)
    table.requeue(paused, TrialStatus.PAUSED)
    assert table.restores(paused)
    assert table.count(TrialStatus.PAUSED) == 1


def test_a_stop_is_asked_once_and_cleared_when_the_trial_ends() -> None:
    table = TrialLifecycle()
    trial = _trial("a")
    table.add(trial)
    assert table.stop_asked("a") and not table.stop_asked("a")
    assert table.stopping("a") and not table.stopping("unknown")


def test_force_ended_until_the_trial_starts_again() -> None:
    table = TrialLifecycle()
    trial = _trial("a")
    table.add(trial)
    assert not table.force_ended("a")
    table.force_end("a")
    assert table.force_ended("a") and not table.force_ended("unknown")
    table.requeue(trial, TrialStatus.PAUSED)
    table.started(trial)
    assert not table.force_ended("a")


def test_ending_clears_what_was_pending() -> None:
    table = TrialLifecycle()
    trial = _trial("a")
    table.add(trial, restoring=True)
    table.run("a").reconfigure = object()  # type: ignore[assignment]
    table.end(trial, TrialStatus.TERMINATED)
    assert table.take_reconfigure("a") is None and not table.run("a").restoring


def test_restore_states_by_checkpoint_path_also_of_resumed_trials() -> None:
    table = TrialLifecycle()
    donor = _trial("a")
    donor.checkpoint = Checkpoint("/tmp/donor")
    donor.restore_state = {"iteration": 4}
    table.add(donor)
    table.remember_state("/tmp/x", {"iteration": 2})
    assert table.state_of("/tmp/x") == {"iteration": 2}
    assert table.state_of("/tmp/donor") == {"iteration": 4}
    table.forget_states(["/tmp/x"])
    assert table.state_of("/tmp/x") is None
