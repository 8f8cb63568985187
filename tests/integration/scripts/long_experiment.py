"""A driver that runs a checkpointing experiment slowly enough to be interrupted.

usage: long_experiment.py STORAGE NAME [resume]
"""

import os
import sys
import time

import tunelab as tune
from tunelab import Checkpoint

STEP_SLEEP = float(os.environ.get("STEP_SLEEP", "0.05"))


def train(config):
    start = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        start = checkpoint.to_dict()["step"]
    for step in range(start + 1, 21):
        time.sleep(STEP_SLEEP)
        tune.report(
            {"step": step, "x": config["x"]}, checkpoint=Checkpoint.from_dict({"step": step})
        )


if __name__ == "__main__":
    storage, name = sys.argv[1], sys.argv[2]
    resume = len(sys.argv) > 3
    analysis = tune.run(
        train,
        name=name,
        storage_path=storage,
        config={"x": tune.grid_search([1, 2, 3, 4])},
        verbose=1,
        resume="AUTO" if resume else False,
        raise_on_failed_trial=False,
    )
    statuses = sorted(t.status.value for t in analysis.trials)
    print("STATUSES", statuses, flush=True)
    print("PID", os.getpid())
