"""TrialLifecycle: the one owner of trial state in the controller (pure bookkeeping)."""

from __future__ import annotations

import pytest

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


def test_schedulers_get_one_read_only_view_per_trial() -> None:
    import copy
    import json
    import pickle

    from tunelab._trial import FrozenDict, TrialView

    table = TrialLifecycle()
    trial = Trial("train", trial_id="a", config={"lr": 0.1, "net": {"width": 8}})
    table.add(trial)
    view = table.view(trial)
    assert isinstance(view, TrialView) and isinstance(view, Trial)
    assert table.views == [view] and list(table.views_with_status("PENDING")) == [view]
    assert table.live(view, "x") is trial and table.live(trial, "x") is trial
    with pytest.raises(ValueError, match=r"choose: .* not a trial of this experiment"):
        table.live(Trial("train", trial_id="a"), "choose")
    # reads are the trial's, current
    table.set_status(trial, TrialStatus.RUNNING)
    trial.update_last_result({"loss": 1.0})
    assert view.status == "RUNNING" and view.last_result == {"loss": 1.0}
    assert str(view) == str(trial) and view.local_path == trial.local_path
    # no change through the view
    with pytest.raises(AttributeError, match="read-only for schedulers"):
        view.config = {}
    with pytest.raises(AttributeError, match="read-only"):
        view.update_last_result({"loss": 0.5})  # a Trial method that writes
    assert isinstance(view.config, FrozenDict)
    with pytest.raises(TypeError, match="Reconfigure"):
        view.config["lr"] = 1.0
    with pytest.raises(TypeError):
        view.last_result.update(loss=0.0)
    assert trial.config["lr"] == 0.1 and trial.last_result == {"loss": 1.0}
    # copies are plain dicts to build a new config from; JSON and pickle as a dict
    fresh = copy.deepcopy(view.config)
    fresh["net"]["width"] = 16
    assert type(fresh) is dict and trial.config["net"]["width"] == 8
    assert type(dict(view.config)) is dict and type(view.config.copy()) is dict
    assert json.loads(json.dumps(view.config)) == trial.config
    assert pickle.loads(pickle.dumps(view.config)) == trial.config
    again = pickle.loads(pickle.dumps(view))
    assert isinstance(again, TrialView) and again.trial_id == "a"
    # a reconfigured trial's new config shows at once
    trial.config = {"lr": 0.2}
    assert view.config == {"lr": 0.2}


def test_trials_share_their_read_only_stop_criteria_and_empty_parts() -> None:
    import json

    from tunelab._trial import FrozenDict

    criteria = FrozenDict({"training_iteration": 5})
    one = Trial("f", trial_id="a", stopping_criterion=criteria)
    two = Trial("f", trial_id="b", stopping_criterion=criteria, evaluated_params={"lr": 0.1})
    assert one.stopping_criterion is two.stopping_criterion  # one dict per experiment
    assert one.evaluated_params == {} and one.evaluated_params is _trial("c").evaluated_params
    with pytest.raises(TypeError, match="read-only"):
        one.stopping_criterion["training_iteration"] = 6
    with pytest.raises(TypeError, match="read-only"):
        one.evaluated_params["lr"] = 1.0
    plain = {"x": 1}
    own = Trial("f", trial_id="d", stopping_criterion=plain)
    assert own.stopping_criterion == plain and own.stopping_criterion is not plain
    back = Trial.from_state(json.loads(json.dumps(two.to_state())), "/tmp/exp")
    assert back.stopping_criterion == {"training_iteration": 5}
    assert back.evaluated_params == {"lr": 0.1}
