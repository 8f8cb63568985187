"""PopulationBasedTraining and its replay as pure policies over fake trials."""

import json

import pytest

import tunelab as tune
from tunelab._errors import TuneError
from tunelab._trial import Trial, TrialStatus
from tunelab.schedulers import (
    Decision,
    PopulationBasedTraining,
    PopulationBasedTrainingReplay,
    Reconfigure,
    RunnerView,
)
from tunelab.schedulers._pbt_policy import FilePolicyLog, MemoryPolicyLog, read_policy

LRS = [0.001, 0.01, 0.1, 1.0]


class Population:
    """Fake trials and a runner view over them."""

    def __init__(self, scheduler, configs, path=""):
        self.scheduler = scheduler
        self.trials = []
        for index, config in enumerate(configs):
            trial = Trial(
                "train",
                trial_id=f"t{index}",
                config=dict(config),
                experiment_tag=f"{index}_tag",
                experiment_path=path,
            )
            self.trials.append(trial)
        self.reconfigured = []
        self.runner = RunnerView(
            lambda status: [t for t in self.trials if t.status == status],
            self.trials,
            reconfigure_trial=self.reconfigure,
        )
        for trial in self.trials:  # added PENDING (as the controller does), then started
            scheduler.on_trial_add(self.runner, trial)
        self.reconfigured.clear()  # configs completed at add time are not exploits
        for trial in self.trials:
            trial.status = TrialStatus.RUNNING

    def report(self, index, score, time, **extra):
        trial = self.trials[index]
        result = {"score": score, "training_iteration": int(time), "time_total_s": time, **extra}
        trial.update_last_result(result)
        return self.scheduler.on_trial_result(self.runner, trial, result)

    def reconfigure(self, trial, change):
        """What the controller does with runner.reconfigure_trial (a held trial restarts
        from the given checkpoint with the new config)."""
        assert trial.status in (TrialStatus.PAUSED, TrialStatus.PENDING)
        self.reconfigured.append(trial.trial_id)
        trial.config = dict(change.config)
        if change.checkpoint is not None:
            trial.checkpoint = change.checkpoint
            donor = next(
                t for t in self.trials if t.checkpoint == change.checkpoint and t is not trial
            )
            trial.restore_state = dict(donor.restore_state)
        trial.experiment_tag += change.tag_suffix
        trial.status = TrialStatus.PENDING

    def checkpoint(self, index, iteration):
        trial = self.trials[index]
        trial.checkpoint = f"/ckpt/{trial.trial_id}/{iteration}"
        trial.restore_state = {"iteration": iteration, "time_total": float(iteration)}


def pbt(**kw):
    kw.setdefault("time_attr", "training_iteration")
    kw.setdefault("metric", "score")
    kw.setdefault("mode", "max")
    kw.setdefault("perturbation_interval", 2)
    kw.setdefault("hyperparam_mutations", {"lr": LRS})
    kw.setdefault("seed", 0)
    kw.setdefault("policy_log", MemoryPolicyLog())
    return PopulationBasedTraining(**kw)


# -- validation ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"hyperparam_mutations": None}, ValueError, "hyperparam_mutations"),
        ({"hyperparam_mutations": {"lr": []}}, ValueError, "empty list"),
        ({"hyperparam_mutations": {"lr": tune.grid_search([1, 2])}}, ValueError, "grid_search"),
        ({"hyperparam_mutations": {"lr": 0.1}}, TypeError, r"hyperparam_mutations\['lr'\]"),
        ({"hyperparam_mutations": [0.1]}, TypeError, "hyperparam_mutations"),
        ({"quantile_fraction": 0.6}, ValueError, "quantile_fraction must be >= 0 and <= 0.5"),
        ({"perturbation_interval": 0}, ValueError, "perturbation_interval must be > 0"),
        ({"burn_in_period": -1}, ValueError, "burn_in_period"),
        ({"resample_probability": 1.5}, ValueError, "resample_probability"),
        ({"perturbation_factors": ()}, ValueError, "perturbation_factors"),
        ({"perturbation_factors": (1.2, -1)}, ValueError, "perturbation_factors"),
        ({"custom_explore_fn": 3}, TypeError, "custom_explore_fn"),
        ({"synch": "yes"}, TypeError, "synch"),
        ({"mode": "best"}, ValueError, "mode"),
        ({"time_attr": ""}, TypeError, "time_attr"),
        ({"seed": 1.5}, TypeError, "seed"),
    ],
)
def test_bad_arguments_are_rejected_at_construction(kwargs, error, match):
    with pytest.raises(error, match=match):
        pbt(**kwargs)


def test_custom_explore_fn_alone_is_enough_and_create_scheduler_knows_pbt():
    scheduler = PopulationBasedTraining(custom_explore_fn=lambda c: c)
    assert scheduler.time_attr == "time_total_s" and scheduler.perturbation_interval == 60.0
    assert scheduler.perturbation_factors == (1.2, 0.8) and scheduler.quantile_fraction == 0.25
    from tunelab.schedulers import create_scheduler

    built = create_scheduler("pbt", hyperparam_mutations={"lr": LRS})
    assert isinstance(built, PopulationBasedTraining)


def test_metric_and_mode_are_required_when_trials_are_added():
    scheduler = PopulationBasedTraining(hyperparam_mutations={"lr": LRS})
    with pytest.raises(ValueError, match="metric and mode"):
        Population(scheduler, [{"lr": 0.1}])


# -- the algorithm ---------------------------------------------------------------------------
def test_missing_mutated_values_are_sampled_into_new_trials():
    scheduler = pbt(hyperparam_mutations={"lr": LRS, "wd": tune.uniform(0.1, 0.2)})
    pop = Population(scheduler, [{"lr": 0.1}, {}])
    assert pop.trials[0].config["lr"] == 0.1 and 0.1 <= pop.trials[0].config["wd"] < 0.2
    assert pop.trials[1].config["lr"] in LRS


def test_nothing_happens_before_the_interval_and_the_burn_in():
    scheduler = pbt(burn_in_period=4)
    pop = Population(scheduler, [{"lr": lr} for lr in LRS])
    for index in range(4):
        assert pop.report(index, index, 1) == Decision.CONTINUE
    for index in range(4):  # interval reached but still burning in
        assert pop.report(index, index, 2) == Decision.CONTINUE
    decisions = [pop.report(index, index, 4) for index in range(4)]
    assert decisions[-1] == Decision.SAVE  # the best saves a checkpoint to be cloned


def population_at_first_point(mode="max", n=8, **kw):
    scheduler = pbt(mode=mode, **kw)
    pop = Population(scheduler, [{"lr": LRS[i % 4]} for i in range(n)])
    decisions = {}
    for index in range(n):
        score = index if mode == "max" else -index
        decisions[index] = pop.report(index, score, 2)
    return scheduler, pop, decisions


@pytest.mark.parametrize("mode", ["max", "min"])
def test_top_quantile_saves_and_bottom_quantile_clones_a_donor_with_a_checkpoint(mode):
    _, pop, decisions = population_at_first_point(mode)
    # 8 trials, quantile 0.25: trials 6 and 7 are the top, 0 and 1 the bottom
    assert decisions[6] == decisions[7] == Decision.SAVE
    # nobody has a checkpoint yet: no exploit (earlier trials were briefly top: SAVE)
    assert not any(isinstance(decisions[i], Reconfigure) for i in range(6))
    pop.checkpoint(7, 2)
    change = pop.report(0, -100 if mode == "max" else 100, 4)
    assert isinstance(change, Reconfigure)
    assert change.checkpoint == "/ckpt/t7/2"
    assert change.config["lr"] in LRS
    assert change.tag_suffix.startswith("@perturbed[lr=")
    # a middle trial continues
    assert pop.report(3, 3 if mode == "max" else -3, 4) == Decision.CONTINUE


def test_donors_without_checkpoints_are_never_cloned():
    _, pop, _ = population_at_first_point()
    pop.checkpoint(6, 2)  # 7 has none
    for step in range(4, 24, 2):
        change = pop.report(0, -100, step)
        assert isinstance(change, Reconfigure)
        assert change.checkpoint == "/ckpt/t6/2"


def test_a_bottom_trial_continues_when_no_donor_has_a_checkpoint():
    _, pop, _ = population_at_first_point()
    assert pop.report(0, -100, 4) == Decision.CONTINUE


def test_results_without_the_attributes_raise_or_are_ignored():
    scheduler = pbt()
    pop = Population(scheduler, [{"lr": 0.1}])
    with pytest.raises(TuneError, match="require_attrs"):
        scheduler.on_trial_result(pop.runner, pop.trials[0], {"training_iteration": 3})
    lenient = pbt(require_attrs=False)
    pop = Population(lenient, [{"lr": 0.1}])
    assert lenient.on_trial_result(pop.runner, pop.trials[0], {"score": 1}) == Decision.CONTINUE


def test_exploit_restarts_the_perturbation_clock_at_the_donor_checkpoint():
    scheduler, pop, _ = population_at_first_point()
    pop.checkpoint(7, 2)
    assert isinstance(pop.report(0, -100, 4), Reconfigure)
    assert scheduler.get_state()["trials"]["t0"]["last_perturbation_time"] == 2.0
    # the trial continues from iteration 2 (the donor's checkpoint): next point at 4
    assert pop.report(0, -100, 3) == Decision.CONTINUE
    assert isinstance(pop.report(0, -100, 4), Reconfigure)
    assert scheduler.get_state()["trials"]["t0"]["last_perturbation_time"] == 2.0
    # a time_attr without a checkpoint counter falls back to the donor's perturbation time
    other = pbt(time_attr="custom_time")
    pop = Population(other, [{"lr": LRS[i % 4]} for i in range(8)])
    for index in range(8):
        pop.trials[index].update_last_result({"score": index, "custom_time": 2})
        other.on_trial_result(pop.runner, pop.trials[index], pop.trials[index].last_result)
    pop.checkpoint(7, 2)
    worst = {"score": -100, "custom_time": 5}
    assert isinstance(other.on_trial_result(pop.runner, pop.trials[0], worst), Reconfigure)
    assert other.get_state()["trials"]["t0"]["last_perturbation_time"] == 2.0


def test_same_seed_same_decisions_and_different_seed_may_differ():
    def decisions(seed):
        _, pop, _ = population_at_first_point(seed=seed, resample_probability=0.5)
        pop.checkpoint(6, 2)
        pop.checkpoint(7, 2)
        out = []
        for step in range(4, 40, 2):
            change = pop.report(0, -100, step)
            out.append((change.config["lr"], change.checkpoint))
        return out

    assert decisions(3) == decisions(3)
    assert len({tuple(decisions(s)) for s in range(5)}) > 1


def test_policy_log_records_each_exploit_with_the_donor_lineage():
    log = MemoryPolicyLog()
    scheduler, pop, _ = population_at_first_point(policy_log=log)
    pop.checkpoint(7, 2)
    first = pop.report(0, -100, 4)
    assert isinstance(first, Reconfigure)
    # trial 0 now carries 7's model; it becomes the best and trial 1 clones it
    pop.trials[0].config = first.config
    pop.checkpoint(0, 6)
    pop.trials[7].checkpoint = None
    pop.report(0, 1000, 6)
    second = pop.report(1, -200, 6)
    assert isinstance(second, Reconfigure) and second.checkpoint == "/ckpt/t0/6"
    assert log.global_lines[0][:4] == ["0_tag", "7_tag", 4, 2]
    assert log.policies["t1"] == [log.global_lines[0], log.global_lines[1]]
    assert log.global_lines[1][:4] == ["1_tag", "0_tag", 6, 6]
    assert scheduler.lineage("t1") == log.policies["t1"]


def test_file_policy_log_writes_the_files_ray_users_know(tmp_path):
    _, pop, _ = population_at_first_point(policy_log=FilePolicyLog())
    for trial in pop.trials:
        trial.experiment_path = str(tmp_path)
    pop.checkpoint(7, 2)
    change = pop.report(0, -100, 4)
    assert isinstance(change, Reconfigure)
    lines = (tmp_path / "pbt_global.txt").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])[5] == change.config
    policy = tmp_path / "pbt_policy_t0.txt"
    initial, schedule = read_policy(str(policy))
    assert initial == pop.trials[7].config and schedule == [(2, change.config)]


def test_log_config_false_writes_nothing():
    log = MemoryPolicyLog()
    _, pop, _ = population_at_first_point(policy_log=log, log_config=False)
    pop.checkpoint(7, 2)
    assert isinstance(pop.report(0, -100, 4), Reconfigure)
    assert log.global_lines == []


def test_state_round_trip_continues_the_same_policy():
    original, pop, _ = population_at_first_point(resample_probability=0.5)
    pop.checkpoint(7, 2)
    pop.checkpoint(6, 2)
    assert isinstance(pop.report(0, -100, 4), Reconfigure)
    state = json.loads(json.dumps(original.get_state()))
    restored = pbt(resample_probability=0.5)
    restored.set_state(state)
    for trial in pop.trials:
        restored.on_trial_add(pop.runner, trial)
    assert restored.get_state() == state
    assert restored.lineage("t0") == original.lineage("t0")
    results = []
    for scheduler in (original, restored):
        pop.scheduler = scheduler
        change = pop.report(1, -100, 4)
        results.append((change.config, change.checkpoint, scheduler.get_state()["rng"]))
    assert results[0] == results[1]
    with pytest.raises(ValueError, match="version"):
        pbt().set_state({"version": 99})


# -- synch -----------------------------------------------------------------------------------
def test_synch_pauses_until_all_reach_the_point_then_exploits_the_bottom():
    scheduler = pbt(synch=True, quantile_fraction=0.5)
    pop = Population(scheduler, [{"lr": lr} for lr in LRS])
    for index in range(4):
        assert pop.report(index, index, 1) == Decision.CONTINUE
    for index in range(3):
        assert pop.report(index, index, 2) == Decision.PAUSE
        pop.trials[index].status = TrialStatus.PAUSED
        pop.checkpoint(index, 2)
    # trial 3 still runs: nobody may resume
    assert scheduler.choose_trial_to_run(pop.runner) is None
    assert pop.report(3, 3, 2) == Decision.PAUSE
    pop.trials[3].status = TrialStatus.PAUSED
    pop.checkpoint(3, 2)
    chosen = scheduler.choose_trial_to_run(pop.runner)
    # bottom half (0, 1) now continue from checkpoints of the top half (2, 3): asked of the
    # controller (the scheduler itself writes nothing to the trial records)
    assert sorted(pop.reconfigured) == ["t0", "t1"]
    assert chosen is not None and chosen.trial_id in ("t0", "t1")
    assert chosen.status == TrialStatus.PENDING
    for index in (0, 1):
        trial = pop.trials[index]
        assert trial.checkpoint in ("/ckpt/t2/2", "/ckpt/t3/2")
        assert "@perturbed[" in trial.experiment_tag
        assert trial.restore_state == {"iteration": 2, "time_total": 2.0}
    for index in (2, 3):
        assert pop.trials[index].checkpoint == f"/ckpt/t{index}/2"
    assert scheduler.get_state()["next_sync"] == 4.0


def test_synch_barrier_releases_when_the_unfinished_trial_ends():
    scheduler = pbt(synch=True)
    pop = Population(scheduler, [{"lr": lr} for lr in LRS[:2]])
    assert pop.report(0, 1, 2) == Decision.PAUSE
    pop.trials[0].status = TrialStatus.PAUSED
    assert scheduler.choose_trial_to_run(pop.runner) is None
    pop.trials[1].status = TrialStatus.TERMINATED
    scheduler.on_trial_complete(pop.runner, pop.trials[1], {})
    assert scheduler.choose_trial_to_run(pop.runner) is pop.trials[0]


# -- replay ----------------------------------------------------------------------------------
def write_policy(path, lines):
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


def test_replay_follows_the_lineage_of_a_policy_file(tmp_path):
    lines = [
        ["3_b", "1_a", 4, 4, {"lr": 0.1}, {"lr": 0.2}],  # another lineage: skipped
        ["2_c", "0_d", 4, 4, {"lr": 0.01}, {"lr": 0.02}],
        ["5_e", "2_c", 8, 6, {"lr": 0.02}, {"lr": 0.03}],
    ]
    path = write_policy(tmp_path / "pbt_policy_x.txt", lines)
    replay = PopulationBasedTrainingReplay(path)
    assert replay.config == {"lr": 0.01}
    assert replay.decision_points().milestones == (4.0, 6.0)
    trial = Trial("train", trial_id="r", config={"lr": 5})
    changes: list[Reconfigure] = []

    def reconfigure(held: Trial, change: Reconfigure) -> None:  # as the controller does
        changes.append(change)
        held.config = dict(change.config)

    runner = RunnerView(lambda s: [], [trial], reconfigure_trial=reconfigure)
    replay.on_trial_add(runner, trial)  # through the runner: the trial is not the scheduler's
    assert trial.config == {"lr": 0.01}
    assert len(changes) == 1 and changes[0].checkpoint is None
    decisions = []
    for step in range(1, 9):
        out = replay.on_trial_result(runner, trial, {"training_iteration": step})
        decisions.append(out)
        if isinstance(out, Reconfigure):
            trial.config = out.config
    assert [type(d).__name__ for d in decisions] == [
        "Decision", "Decision", "Decision", "Reconfigure",
        "Decision", "Reconfigure", "Decision", "Decision",
    ]  # fmt: skip
    assert decisions[3].config == {"lr": 0.02} and decisions[3].checkpoint is None
    assert decisions[5].config == {"lr": 0.03} and decisions[5].tag_suffix == "@perturbed[lr=0.03]"
    state = replay.get_state()
    fresh = PopulationBasedTrainingReplay(path)
    fresh.set_state(json.loads(json.dumps(state)))
    assert fresh.on_trial_result(runner, trial, {"training_iteration": 9}) == Decision.CONTINUE
    with pytest.raises(ValueError, match="one trial"):
        replay.on_trial_add(runner, Trial("train", trial_id="other"))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("", "no policy lines"),
        ("not json\n", "not JSON"),
        ('["a", "b", 1]\n', "not a PBT policy line"),
    ],
)
def test_replay_rejects_unusable_policy_files(tmp_path, content, match):
    path = tmp_path / "policy.txt"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        PopulationBasedTrainingReplay(str(path))


def test_replay_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        PopulationBasedTrainingReplay(str(tmp_path / "nope.txt"))
    with pytest.raises(TypeError, match="policy_file"):
        PopulationBasedTrainingReplay(3)
