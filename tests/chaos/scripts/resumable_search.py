"""A driver that a chaos test kills with SIGKILL at random moments and resumes.

usage: resumable_search.py STORAGE NAME SEARCHER SCHEDULER NUM_SAMPLES [resume]

SEARCHER: random | optuna | hyperopt | nevergrad | bohb; SCHEDULER: fifo | asha | hb_bohb |
pbt. Every trial checkpoints at every step and appends
``<trial_id> <step> <restored_from> <driver pid>`` to ``STORAGE/steps.log`` for each step it
runs, so the test can see where each (re)start began. ``TUNELAB_STATE_PERIOD_S`` is set high
by the test: resume depends on the journal.
"""

import os
import sys
import time

import tunelab as tune
from tunelab import Checkpoint

STEPS = int(os.environ.get("CHAOS_STEPS", "6"))
STEP_SLEEP = float(os.environ.get("CHAOS_STEP_SLEEP", "0.05"))


def train(config):
    start = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        start = checkpoint.to_dict()["step"]
    log = os.path.join(os.environ["CHAOS_STORAGE"], "steps.log")
    trial_id = tune.get_context().get_trial_id()
    for step in range(start + 1, STEPS + 1):
        time.sleep(STEP_SLEEP)
        with open(log, "a") as fh:
            fh.write(f"{trial_id} {step} {start} {os.environ['CHAOS_RUN']}\n")
        loss = (config["x"] - 0.3) ** 2 + config["y"] / step
        tune.report({"loss": loss, "step": step}, checkpoint=Checkpoint.from_dict({"step": step}))


def searcher(name):
    if name == "random":
        return None
    if name == "optuna":
        from tunelab.search.optuna import OptunaSearch

        return OptunaSearch(seed=7)
    if name == "hyperopt":
        from tunelab.search.hyperopt import HyperOptSearch

        return HyperOptSearch(random_state_seed=7, n_initial_points=3)
    if name == "nevergrad":
        import nevergrad as ng

        from tunelab.search.nevergrad import NevergradSearch

        return NevergradSearch(optimizer=ng.optimizers.OnePlusOne, random_state_seed=7)
    if name == "bohb":
        from tunelab.search.bohb import TuneBOHB

        return TuneBOHB(seed=7)
    raise ValueError(name)


def scheduler(name):
    from tunelab.schedulers import ASHAScheduler, HyperBandForBOHB, PopulationBasedTraining

    if name == "fifo":
        return None
    if name == "asha":
        return ASHAScheduler(time_attr="step", max_t=STEPS, grace_period=2, reduction_factor=2)
    if name == "hb_bohb":
        return HyperBandForBOHB(time_attr="step", max_t=STEPS, reduction_factor=2)
    if name == "pbt":
        return PopulationBasedTraining(
            time_attr="step",
            perturbation_interval=2,
            hyperparam_mutations={"y": tune.uniform(0, 1)},
            seed=7,
        )
    raise ValueError(name)


if __name__ == "__main__":
    storage, name, search_name, sched_name, num_samples = sys.argv[1:6]
    resume = len(sys.argv) > 6
    os.environ["CHAOS_STORAGE"] = storage
    os.environ["CHAOS_RUN"] = str(os.getpid())  # workers inherit it
    analysis = tune.run(
        train,
        name=name,
        storage_path=storage,
        config={"x": tune.uniform(0, 1), "y": tune.uniform(0, 1)},
        num_samples=int(num_samples),
        search_alg=searcher(search_name),
        scheduler=scheduler(sched_name),
        metric="loss",
        mode="min",
        max_concurrent_trials=2,
        resources_per_trial={"cpu": 1},
        verbose=0,
        resume="AUTO" if resume else False,
        raise_on_failed_trial=False,
    )
    statuses = sorted(t.status.value for t in analysis.trials)
    print("STATUSES", statuses, flush=True)
