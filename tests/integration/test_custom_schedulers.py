"""Custom TrialScheduler subclasses drive STOP, PAUSE, SAVE and Reconfigure decisions."""

import json
import os

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
