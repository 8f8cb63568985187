"""Regenerate ray_scheduler_decisions.json: random result sequences and the decisions Ray
Tune's own AsyncHyperBandScheduler and MedianStoppingRule take on them (run with a Python
that has ray installed, e.g. benchmarks/.venv-anchor/bin/python). The tests replay the same
sequences through tunelab's schedulers and expect the same decisions."""

import json
import os
import random
import warnings

import ray
from ray.tune.schedulers import AsyncHyperBandScheduler, MedianStoppingRule

warnings.simplefilter("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))


class FakeTrial:
    def __init__(self, i):
        self.trial_id = f"t{i:03d}"
        self.status = "RUNNING"

    def __hash__(self):
        return hash(self.trial_id)

    def __eq__(self, other):
        return self.trial_id == other.trial_id


class NoWaitingTrials:
    def get_live_trials(self):
        return []


def asha_case(seed):
    rng = random.Random(seed)
    rf, grace = rng.choice([2, 3, 4]), rng.choice([1, 2])
    max_t, mode, stop_last = (
        rng.choice([8, 16, 27]),
        rng.choice(["min", "max"]),
        rng.choice([True, False]),
    )
    scheduler = AsyncHyperBandScheduler(
        time_attr="it",
        metric="m",
        mode=mode,
        max_t=max_t,
        grace_period=grace,
        reduction_factor=rf,
        brackets=1,
        stop_last_trials=stop_last,
    )
    trials = [FakeTrial(i) for i in range(rng.randint(3, 12))]
    for trial in trials:
        scheduler.on_trial_add(None, trial)
    iteration = {t.trial_id: 0 for t in trials}
    alive, events = list(trials), []
    while alive:
        trial = rng.choice(alive)
        iteration[trial.trial_id] += 1
        value = round(rng.random(), 4) if rng.random() > 0.05 else float("nan")
        decision = str(
            scheduler.on_trial_result(None, trial, {"it": iteration[trial.trial_id], "m": value})
        )
        events.append(
            [trial.trial_id, iteration[trial.trial_id], None if value != value else value, decision]
        )
        if decision == "STOP" or iteration[trial.trial_id] >= max_t + 2:
            alive.remove(trial)
    return {
        "reduction_factor": rf,
        "grace_period": grace,
        "max_t": max_t,
        "mode": mode,
        "stop_last_trials": stop_last,
        "events": events,
    }


def median_case(seed):
    rng = random.Random(seed)
    grace, min_samples, mode = (
        rng.choice([0.0, 2.0, 5.0]),
        rng.choice([1, 2, 3]),
        rng.choice(["min", "max"]),
    )
    scheduler = MedianStoppingRule(
        time_attr="t",
        metric="m",
        mode=mode,
        grace_period=grace,
        min_samples_required=min_samples,
        hard_stop=True,
    )
    trials = [FakeTrial(i) for i in range(rng.randint(3, 10))]
    for trial in trials:
        scheduler.on_trial_add(NoWaitingTrials(), trial)
    clock = {t.trial_id: 0.0 for t in trials}
    quality = {t.trial_id: rng.random() for t in trials}
    alive, events = list(trials), []
    while alive:
        trial = rng.choice(alive)
        clock[trial.trial_id] = round(clock[trial.trial_id] + rng.choice([0.5, 1.0, 1.5]), 1)
        value = round(quality[trial.trial_id] + rng.random() * 0.5 / (1 + clock[trial.trial_id]), 4)
        decision = str(
            scheduler.on_trial_result(
                NoWaitingTrials(), trial, {"t": clock[trial.trial_id], "m": value}
            )
        )
        events.append([trial.trial_id, clock[trial.trial_id], value, decision])
        if decision == "STOP" or clock[trial.trial_id] >= 15:
            alive.remove(trial)
    return {
        "grace_period": grace,
        "min_samples_required": min_samples,
        "mode": mode,
        "events": events,
    }


if __name__ == "__main__":
    data = {
        "generated_with": f"ray {ray.__version__}",
        "asha": [asha_case(seed) for seed in range(24)],
        "median_stopping": [median_case(1000 + seed) for seed in range(24)],
    }
    with open(os.path.join(HERE, "ray_scheduler_decisions.json"), "w") as fh:
        json.dump(data, fh, separators=(",", ":"))
