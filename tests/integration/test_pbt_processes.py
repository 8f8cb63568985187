"""PBT, its replay and ResourceChangingScheduler with real worker processes."""

import itertools
import json
import os
import signal
import time

import pytest

import tunelab as tune
from tunelab import Checkpoint, Trainable
from tunelab.execution import LocalExecutor
from tunelab.schedulers import (
    PB2,
    PopulationBasedTraining,
    PopulationBasedTrainingReplay,
    ResourceChangingScheduler,
)

LRS = [0.001, 0.01, 0.1, 1.0]


def wait_for_population(config, trial_id):
    """Start together: without it, a trial whose worker starts first may finish before the
    others report anything, and a population of one is never perturbed."""
    directory = config["barrier"]
    open(os.path.join(directory, trial_id), "w").close()
    deadline = time.monotonic() + 60
    while len(os.listdir(directory)) < config["population"] and time.monotonic() < deadline:
        time.sleep(0.01)


class Climber(Trainable):
    """score grows by lr per step; the weight is the state a checkpoint carries."""

    def setup(self, config):
        self.weight = 0.0
        if "barrier" in config:
            wait_for_population(config, self.trial_id)

    def step(self):
        time.sleep(0.005)
        self.weight += self.config["lr"]
        return {"score": self.weight, "lr": self.config["lr"]}

    def save_checkpoint(self, checkpoint_dir):
        return {"weight": self.weight}

    def load_checkpoint(self, checkpoint):
        self.weight = checkpoint["weight"]


def climb(config):
    weight = 0.0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        weight = checkpoint.to_dict()["weight"]
    else:
        wait_for_population(config, tune.get_trial_id())
    while True:
        time.sleep(0.005)
        weight += config["lr"]
        tune.report(
            {"score": weight, "lr": config["lr"]},
            checkpoint=Checkpoint.from_dict({"weight": weight}),
        )


def lines(trial):
    with open(os.path.join(trial.local_path, "result.json")) as fh:
        return [json.loads(line) for line in fh]


def by_tag(trials, tag):
    (trial,) = [t for t in trials if t.experiment_tag.split("@")[0] == tag]
    return trial


def run_pbt(trainable, barrier, iterations=10, scheduler=None, **kw):
    barrier.mkdir(exist_ok=True)
    if scheduler is None:
        scheduler = PopulationBasedTraining(
            time_attr="training_iteration",
            perturbation_interval=2,
            hyperparam_mutations={"lr": LRS},
            resample_probability=0.0,
            seed=0,
            **kw,
        )
    analysis = tune.run(
        trainable,
        config={"lr": tune.grid_search(LRS), "barrier": str(barrier), "population": len(LRS)},
        scheduler=scheduler,
        metric="score",
        mode="max",
        stop={"training_iteration": iterations},
        verbose=0,
        executor=LocalExecutor(num_cpus=4),
    )
    return analysis, scheduler


def check_first_exploit(trials, pb2=False):
    """The first exploit of the experiment: the trial continued from the donor's checkpoint
    state with the mutated config, and its files show the new config."""
    experiment = trials[0].experiment_path
    with open(os.path.join(experiment, "pbt_global.txt")) as fh:
        policy = [json.loads(line) for line in fh]
    assert policy, "PBT never exploited"
    target_tag, donor_tag, _, donor_iteration, donor_config, new_config = policy[0]
    target, donor = by_tag(trials, target_tag), by_tag(trials, donor_tag)
    if pb2:
        assert 0.001 <= new_config["lr"] <= 1.0
    else:
        assert new_config["lr"] in LRS
        assert abs(LRS.index(new_config["lr"]) - LRS.index(donor_config["lr"])) <= 1
    donor_lines = lines(donor)
    donor_score = next(
        r["score"] for r in donor_lines if r["training_iteration"] == donor_iteration
    )
    target_lines = lines(target)
    first_after = next(r for r in target_lines if "@perturbed" in r["experiment_tag"])
    assert first_after["training_iteration"] == donor_iteration + 1
    assert first_after["lr"] == new_config["lr"] == first_after["config"]["lr"]
    assert first_after["score"] == pytest.approx(donor_score + new_config["lr"])
    # result.json shows the trial's current (last explored) config
    assert target_lines[-1]["config"] == target.config
    assert os.path.isfile(os.path.join(experiment, f"pbt_policy_{target.trial_id}.txt"))
    return policy


@pytest.mark.parametrize("trainable", [Climber, climb], ids=["class", "function"])
def test_pbt_exploits_a_donor_checkpoint_and_explores_its_config(trainable, tmp_path):
    analysis, scheduler = run_pbt(trainable, tmp_path / "barrier")
    trials = analysis.trials
    assert all(t.status == "TERMINATED" for t in trials)
    policy = check_first_exploit(trials)
    assert scheduler.get_state()["num_perturbations"] == len(policy)
    for trial in trials:  # every trial ran to the end: the last line is iteration 10
        assert lines(trial)[-1]["training_iteration"] == 10
    exploited = {line[0] for line in policy}
    perturbed = {t.experiment_tag.split("@")[0] for t in trials if "@perturbed" in t.experiment_tag}
    assert exploited == perturbed


def test_params_json_shows_the_explored_config(tmp_path):
    analysis, _ = run_pbt(Climber, tmp_path / "barrier")
    perturbed = [t for t in analysis.trials if "@perturbed" in t.experiment_tag]
    assert perturbed
    for trial in perturbed:
        with open(os.path.join(trial.local_path, "params.json")) as fh:
            assert json.load(fh) == trial.config


def test_pb2_exploits_with_bandit_chosen_values(tmp_path):
    pytest.importorskip("scipy")
    scheduler = PB2(
        time_attr="training_iteration",
        perturbation_interval=2,
        hyperparam_bounds={"lr": [0.001, 1.0]},
        seed=0,
    )
    analysis, _ = run_pbt(Climber, tmp_path / "barrier", scheduler=scheduler)
    policy = check_first_exploit(analysis.trials, pb2=True)
    assert scheduler.get_state()["num_perturbations"] == len(policy)


def test_synch_pbt_exploits_at_the_common_points(tmp_path):
    analysis, _ = run_pbt(Climber, tmp_path / "barrier", iterations=9, synch=True)
    policy = check_first_exploit(analysis.trials)
    assert all(line[3] % 2 == 0 for line in policy)  # clones taken at the barrier


def test_replay_follows_the_policy_of_an_exploited_trial(tmp_path):
    analysis, _ = run_pbt(Climber, tmp_path / "barrier")
    experiment = analysis.trials[0].experiment_path
    with open(os.path.join(experiment, "pbt_global.txt")) as fh:
        target_tag = json.loads(fh.readline())[0]
    target = by_tag(analysis.trials, target_tag)
    policy_file = os.path.join(experiment, f"pbt_policy_{target.trial_id}.txt")
    replay = PopulationBasedTrainingReplay(policy_file)
    schedule = list(replay._schedule)
    replayed = tune.run(
        Climber,
        name="replay",
        scheduler=replay,
        stop={"training_iteration": 10},
        verbose=0,
        executor=LocalExecutor(num_cpus=1),
    )
    (trial,) = replayed.trials
    assert "barrier" in trial.config  # the replayed trial starts with the lineage's config
    expected_lr = {}
    config = replay.config
    steps = [0] + [s for s, _ in schedule] + [10]
    configs = [config] + [c for _, c in schedule]
    for (start, end), conf in zip(itertools.pairwise(steps), configs):
        for iteration in range(start + 1, end + 1):
            expected_lr[iteration] = conf["lr"]
    got = {r["training_iteration"]: r["lr"] for r in lines(trial)}
    assert sorted(got) == list(range(1, 11))
    assert got == expected_lr
    assert trial.config == configs[-1]


class InterruptAfter(tune.Callback):
    """Presses Ctrl+C (SIGINT to this process) after ``n`` results."""

    def __init__(self, n):
        self.n = n
        self.seen = 0

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.seen += 1
        if self.seen == self.n:
            os.kill(os.getpid(), signal.SIGINT)


def test_lineage_and_perturbation_count_survive_a_resume(tmp_path):
    barrier = tmp_path / "barrier"
    barrier.mkdir()

    class Recording(PopulationBasedTraining):
        restored = None

        def set_state(self, state):
            super().set_state(state)
            self.restored = self.get_state()

    def run(callbacks, resume):
        scheduler = Recording(
            time_attr="training_iteration",
            perturbation_interval=2,
            hyperparam_mutations={"lr": LRS},
            seed=0,
        )
        analysis = tune.run(
            Climber,
            name="pbt_resume",
            config={"lr": tune.grid_search(LRS), "barrier": str(barrier), "population": 4},
            scheduler=scheduler,
            metric="score",
            mode="max",
            stop={"training_iteration": 12},
            verbose=0,
            callbacks=callbacks,
            resume=resume,
            executor=LocalExecutor(num_cpus=4),
        )
        return analysis, scheduler

    first, interrupted = run([InterruptAfter(24)], resume=False)
    before = interrupted.get_state()
    assert any(t.status == "PAUSED" for t in first.trials)
    assert before["num_perturbations"] > 0
    second, resumed = run([], resume=True)
    after = resumed.get_state()
    assert all(t.status == "TERMINATED" for t in second.trials)
    assert after["num_perturbations"] >= before["num_perturbations"]
    experiment = second.trials[0].experiment_path
    with open(os.path.join(experiment, "pbt_global.txt")) as fh:
        policy = [json.loads(line) for line in fh]
    assert len(policy) == after["num_perturbations"]  # one count across both runs
    # the resumed scheduler started from exactly where the interrupted one stopped
    assert resumed.restored == json.loads(json.dumps(before))
    for trial in second.trials:
        its = [r["training_iteration"] for r in lines(trial)]
        assert its[-1] == 12


def cpu_reporter(config):
    step = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        step = checkpoint.to_dict()["step"]
    while step < 6:
        time.sleep(0.02)
        step += 1
        cpus = tune.get_trial_resources().required_resources.get("CPU", 0)
        tune.report(
            {"score": float(step), "cpus": cpus}, checkpoint=Checkpoint.from_dict({"step": step})
        )


class CpuClass(Trainable):
    def setup(self, config):
        self.step_count = 0

    def step(self):
        time.sleep(0.02)
        self.step_count += 1
        cpus = self.trial_resources.required_resources.get("CPU", 0)
        return {"score": float(self.step_count), "cpus": cpus, "done": self.step_count >= 6}

    def save_checkpoint(self, checkpoint_dir):
        return {"step": self.step_count}

    def load_checkpoint(self, checkpoint):
        self.step_count = checkpoint["step"]


@pytest.mark.parametrize("trainable", [cpu_reporter, CpuClass], ids=["function", "class"])
def test_resource_changing_scheduler_gives_running_trials_more_cpus(trainable):
    analysis = tune.run(
        trainable,
        num_samples=2,
        scheduler=ResourceChangingScheduler(total_resources={"CPU": 4}),
        metric="score",
        mode="max",
        verbose=0,
        executor=LocalExecutor(num_cpus=4),
    )
    grew = False
    for trial in analysis.trials:
        results = lines(trial)
        assert [r["training_iteration"] for r in results] == [1, 2, 3, 4, 5, 6]
        cpus = [r["cpus"] for r in results]
        assert cpus[0] == 1 and max(cpus) <= 4
        grew = grew or max(cpus) >= 2
    assert grew, "no trial ever observed more than its initial CPU"
