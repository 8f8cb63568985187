"""Custom TrialScheduler subclasses drive STOP, PAUSE, SAVE and Reconfigure decisions."""

import copy
import json
import os

import pytest

import tunelab as tune
from tunelab import Trainable
from tunelab.execution import InProcessExecutor
from tunelab.schedulers import Decision, FIFOScheduler, Reconfigure, TrialScheduler


def read_lines(trial_dir):
    with open(os.path.join(trial_dir, "result.json")) as fh:
        return [json.loads(line) for line in fh]


class Counter(Trainable):
    def setup(self, config):
        self.value = 0

    def step(self):
        self.value += self.config.get("inc", 1)
        return {"value": self.value}

    def save_checkpoint(self, checkpoint_dir):
        return {"value": self.value}

    def load_checkpoint(self, checkpoint):
        self.value = checkpoint["value"]


class StopAtThree(TrialScheduler):
    def on_trial_result(self, runner, trial, result):
        return "STOP" if result["training_iteration"] >= 3 else "CONTINUE"


class PauseOnceAtTwo(FIFOScheduler):
    def __init__(self):
        super().__init__()
        self.paused = set()

    def decision_points(self):
        return None

    def on_trial_result(self, runner, trial, result):
        if result["training_iteration"] == 2 and trial.trial_id not in self.paused:
            self.paused.add(trial.trial_id)
            return Decision.PAUSE
        return Decision.CONTINUE


class ReconfigureAtTwo(TrialScheduler):
    def __init__(self):
        super().__init__()
        self.done = False

    def on_trial_result(self, runner, trial, result):
        if result["training_iteration"] == 2 and not self.done:
            self.done = True
            return Reconfigure(config={"inc": 10}, tag_suffix="@perturbed[inc=10]")
        return Decision.CONTINUE


def run(scheduler, **kw):
    return tune.run(
        Counter,
        scheduler=scheduler,
        stop={"training_iteration": 5},
        verbose=0,
        executor=InProcessExecutor(num_cpus=2),
        **kw,
    )


def test_string_decisions_of_a_legacy_style_scheduler_stop_trials():
    analysis = run(StopAtThree(), num_samples=2)
    for trial in analysis.trials:
        assert [r["training_iteration"] for r in read_lines(trial.local_path)] == [1, 2, 3]
        assert trial.status == "TERMINATED"


def test_pause_resumes_from_the_checkpoint_taken_there():
    analysis = run(PauseOnceAtTwo(), num_samples=3)
    for trial in analysis.trials:
        lines = read_lines(trial.local_path)
        assert [r["training_iteration"] for r in lines] == [1, 2, 3, 4, 5]
        assert [r["value"] for r in lines] == [1, 2, 3, 4, 5]
        assert lines[2]["iterations_since_restore"] == 1


def test_reconfigure_restarts_with_new_config_from_checkpoint():
    analysis = run(ReconfigureAtTwo())
    (trial,) = analysis.trials
    lines = read_lines(trial.local_path)
    assert [r["training_iteration"] for r in lines] == [1, 2, 3, 4, 5]
    assert [r["value"] for r in lines] == [1, 2, 12, 22, 32]
    assert trial.config == {"inc": 10}
    assert trial.experiment_tag.endswith("@perturbed[inc=10]")


class EditsConfigInPlace(TrialScheduler):
    """Ray-style code that changes a running trial's config behind the controller's back."""

    def on_trial_result(self, runner, trial, result):
        if result["training_iteration"] == 2:
            trial.config["inc"] = 10
        return Decision.CONTINUE


class SetsStatus(TrialScheduler):
    def on_trial_result(self, runner, trial, result):
        trial.status = "TERMINATED"
        return Decision.CONTINUE


def test_a_scheduler_cannot_change_a_trial_behind_the_controllers_back():
    # an edit in place would leave the results saying inc=10 while the trial runs with
    # inc=1; the scheduler is told what to do instead
    with pytest.raises(TypeError, match=r"Reconfigure\(config=") as info:
        run(EditsConfigInPlace())
    assert "read-only" in str(info.value)
    with pytest.raises(AttributeError, match=r"read-only for schedulers.*'status'"):
        run(SetsStatus())


class LastInFirstOut(FIFOScheduler):
    """Holds the trials it is given and compares them by identity, as Ray schedulers do;
    starts the newest waiting one first; copies a config to reconfigure a trial."""

    pending_trials_ahead = 3

    def __init__(self):
        super().__init__()
        self.added = []
        self.order = []

    def decision_points(self):
        return None  # every result

    def on_trial_add(self, runner, trial):
        self.added.append(trial)

    def choose_trial_to_run(self, runner):
        pending = list(runner.pending_trials())
        for trial in pending:
            assert any(trial is held for held in self.added)  # one object per trial
        if not pending:
            return None
        self.order.append(pending[-1].trial_id)
        return pending[-1]

    def on_trial_result(self, runner, trial, result):
        assert trial in self.added and trial in runner.get_trials()
        assert trial.last_result is not None and trial.status == "RUNNING"
        if result["training_iteration"] == 2 and trial is self.added[0]:
            config = copy.deepcopy(trial.config)  # a plain, mutable copy (Ray's PBT does it)
            config["inc"] = 10
            return Reconfigure(config=config)
        return Decision.CONTINUE


def test_schedulers_see_one_stable_read_only_object_per_trial():
    scheduler = LastInFirstOut()
    analysis = tune.run(
        Counter,
        scheduler=scheduler,
        stop={"training_iteration": 3},
        num_samples=3,
        verbose=0,
        max_concurrent_trials=1,
        executor=InProcessExecutor(num_cpus=1),
    )
    ids = sorted(t.trial_id for t in analysis.trials)
    assert scheduler.order[:3] == ids[::-1]  # the newest waiting trial first
    first = next(t for t in analysis.trials if t.trial_id == scheduler.added[0].trial_id)
    assert first.config == {"inc": 10}
    assert [r["value"] for r in read_lines(first.local_path)] == [1, 2, 12]
