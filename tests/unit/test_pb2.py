"""PB2: validation, the bandit's choices, state, and the GP selection itself."""

import json
import sys

import pytest

from tunelab._errors import ExtraNotInstalledError
from tunelab._trial import Trial, TrialStatus
from tunelab.schedulers import PB2, Decision, Reconfigure, RunnerView
from tunelab.schedulers._pbt_policy import MemoryPolicyLog

np = pytest.importorskip("numpy")
scipy = pytest.importorskip("scipy")


def pb2(**kw):
    kw.setdefault("time_attr", "training_iteration")
    kw.setdefault("metric", "score")
    kw.setdefault("mode", "max")
    kw.setdefault("perturbation_interval", 2)
    kw.setdefault("hyperparam_bounds", {"lr": [0.0, 1.0]})
    kw.setdefault("seed", 0)
    kw.setdefault("policy_log", MemoryPolicyLog())
    return PB2(**kw)


class Population:
    def __init__(self, scheduler, configs):
        self.scheduler = scheduler
        self.trials = []
        for index, config in enumerate(configs):
            trial = Trial("train", trial_id=f"t{index}", config=dict(config))
            self.trials.append(trial)
        self.runner = RunnerView(
            lambda status: [t for t in self.trials if t.status == status],
            self.trials,
            reconfigure_trial=self.reconfigure,
        )
        for trial in self.trials:  # added PENDING (as the controller does), then started
            scheduler.on_trial_add(self.runner, trial)
        for trial in self.trials:
            trial.status = TrialStatus.RUNNING

    @staticmethod
    def reconfigure(trial, change):
        """What the controller does with runner.reconfigure_trial for a new trial."""
        assert trial.status == TrialStatus.PENDING and change.checkpoint is None
        trial.config = dict(change.config)

    def report(self, index, score, time):
        trial = self.trials[index]
        result = {"score": score, "training_iteration": time}
        trial.update_last_result(result)
        decision = self.scheduler.on_trial_result(self.runner, trial, result)
        if isinstance(decision, Reconfigure):
            trial.config = decision.config
        trial.checkpoint = f"/ckpt/{trial.trial_id}/{time}"
        trial.restore_state = {"iteration": time}
        return decision


def reward_rate(lr):
    return 1.0 - (lr - 0.7) ** 2  # the best learning rate is 0.7


def run_population(scheduler, rounds=6, size=6):
    pop = Population(scheduler, [{"lr": (i + 0.5) / size, "depth": 3} for i in range(size)])
    scores = [0.0] * size
    changes = []
    for step in range(1, rounds + 1):
        time = 2 * step
        for index in range(size):
            scores[index] += 2 * reward_rate(pop.trials[index].config["lr"])
            decision = pop.report(index, scores[index], time)
            if isinstance(decision, Reconfigure):
                changes.append(decision)
    return pop, changes


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"hyperparam_bounds": None}, ValueError, "hyperparam_bounds is required"),
        ({"hyperparam_bounds": {"lr": [1, 0]}}, ValueError, "lower < upper"),
        ({"hyperparam_bounds": {"lr": [0, "1"]}}, TypeError, r"hyperparam_bounds\['lr'\]"),
        ({"hyperparam_bounds": {"lr": 0.1}}, TypeError, "two numbers"),
        ({"hyperparam_bounds": [("lr", 0, 1)]}, TypeError, "dict"),
        ({"quantile_fraction": 0.9}, ValueError, "quantile_fraction"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, error, match):
    with pytest.raises(error, match=match):
        pb2(**kwargs)


def test_missing_numpy_or_scipy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    with pytest.raises(ExtraNotInstalledError, match=r"tunelab\[pb2\]"):
        pb2()


def test_defaults_and_create_scheduler():
    from tunelab.schedulers import create_scheduler

    scheduler = create_scheduler("pb2", hyperparam_bounds={"lr": [0, 1]})
    assert isinstance(scheduler, PB2)
    assert scheduler.time_attr == "time_total_s" and scheduler.perturbation_interval == 60.0


def test_missing_bounded_values_are_drawn_within_bounds():
    scheduler = pb2(hyperparam_bounds={"lr": [0.1, 0.2], "opt": {"m": [0.5, 0.9]}})
    pop = Population(scheduler, [{}, {"lr": 0.15}])
    assert 0.1 <= pop.trials[0].config["lr"] <= 0.2
    assert 0.5 <= pop.trials[0].config["opt"]["m"] <= 0.9
    assert pop.trials[1].config["lr"] == 0.15


def test_exploits_keep_values_within_bounds_and_other_keys_from_the_donor():
    scheduler = pb2(hyperparam_bounds={"lr": [0.0, 1.0], "batch": [16, 128]})
    pop = Population(scheduler, [{"lr": (i + 0.5) / 6, "batch": 32, "depth": i} for i in range(6)])
    scores = [0.0] * 6
    changes = []
    for time in (2, 4, 6, 8):
        for index in range(6):
            scores[index] += reward_rate(pop.trials[index].config["lr"])
            decision = pop.report(index, scores[index], time)
            if isinstance(decision, Reconfigure):
                changes.append(decision)
    assert changes
    for change in changes:
        assert 0.0 <= change.config["lr"] <= 1.0
        assert type(change.config["batch"]) is int and 16 <= change.config["batch"] <= 128
        assert change.tag_suffix.startswith("@perturbed[lr=")
        assert change.config["depth"] in range(6)  # copied from the donor


def test_the_bandit_improves_the_population():
    pop, changes = run_population(pb2(), rounds=8)
    before = sum(reward_rate((i + 0.5) / 6) for i in range(6)) / 6
    after = sum(reward_rate(t.config["lr"]) for t in pop.trials) / 6
    assert len(changes) >= 6
    assert after > before + 0.03
    # the bottom trials were moved off the worst learning rates (0.083 and 0.25)
    assert min(pop.trials[0].config["lr"], pop.trials[1].config["lr"]) > 0.3


def test_same_seed_same_choices_and_state_is_json():
    first = run_population(pb2(seed=5))[1]
    second = run_population(pb2(seed=5))[1]
    assert [c.config for c in first] == [c.config for c in second]
    scheduler = pb2(seed=5)
    run_population(scheduler, rounds=3)
    state = json.loads(json.dumps(scheduler.get_state()))
    assert state["observations"] and all(len(o) == 3 for o in state["observations"])
    restored = pb2(seed=5)
    restored.set_state(state)
    assert restored.get_state() == state


def test_state_round_trip_gives_the_same_next_choice():
    original = pb2(seed=1)
    pop, _ = run_population(original, rounds=3)
    state = json.loads(json.dumps(original.get_state()))
    restored = pb2(seed=1)
    restored.set_state(state)
    for trial in pop.trials:
        restored.on_trial_add(pop.runner, trial)
    outcomes = []
    for scheduler in (original, restored):
        pop.scheduler = scheduler
        outcomes.append(pop.report(0, -1000.0, 8))
        pop.trials[0].config = {"lr": 0.05, "depth": 3}
    assert isinstance(outcomes[0], Reconfigure)
    assert outcomes[0].config == outcomes[1].config


def test_custom_explore_fn_runs_after_the_bandit():
    seen = []

    def custom(config):
        seen.append(config["lr"])
        config["lr"] = 0.5
        return config

    _, changes = run_population(pb2(custom_explore_fn=custom), rounds=4)
    assert changes and all(c.config["lr"] == 0.5 for c in changes)
    assert all(0.0 <= lr <= 1.0 for lr in seen)


def test_results_before_the_interval_continue():
    scheduler = pb2()
    pop = Population(scheduler, [{"lr": 0.1}, {"lr": 0.9}])
    assert pop.report(0, 1.0, 1) == Decision.CONTINUE


# -- the GP selection ------------------------------------------------------------------------
def test_gp_ucb_selects_near_the_optimum_of_a_well_sampled_function():
    from tunelab.schedulers._pb2_gp import select_next

    xs = [[i / 29] for i in range(30)]
    ys = [1.0 - (x[0] - 0.3) ** 2 * 4 for x in xs]
    times = [1.0] * 30
    choice = select_next(np, scipy, times, xs, ys, [], 1.0, seed=0)
    assert len(choice) == 1 and abs(choice[0] - 0.3) < 0.15


def test_gp_ucb_spreads_away_from_pending_points_and_is_deterministic():
    from tunelab.schedulers._pb2_gp import select_next

    xs = [[0.1, 0.1], [0.9, 0.9], [0.5, 0.5], [0.2, 0.8]]
    ys = [0.1, 0.2, 0.15, 0.12]
    times = [1.0, 1.0, 2.0, 2.0]
    alone = select_next(np, scipy, times, xs, ys, [], 2.0, seed=3)
    assert alone == select_next(np, scipy, times, xs, ys, [], 2.0, seed=3)
    assert all(0.0 <= v <= 1.0 for v in alone)
    crowded = select_next(np, scipy, times, xs, ys, [alone], 2.0, seed=3)
    assert crowded != alone
