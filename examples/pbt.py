"""Population Based Training finds a learning-rate schedule

Population Based Training (PBT) trains a *population* of trials at once. Every
`perturbation_interval` iterations it ranks them by their latest score: a trial in the
bottom quantile *exploits* a trial of the top quantile (it continues from that trial's
latest checkpoint, weights included) and *explores* (it takes that trial's hyperparameters
and perturbs them: multiplied by 0.8 or 1.2, or resampled from `hyperparam_mutations`). So
the hyperparameters of the surviving lineage change during training: PBT finds a
*schedule*, not a single value.

The toy problem here is one where a schedule matters. A class trainable runs stochastic
gradient descent on a noisy quadratic in 20 dimensions with curvatures between 0.1 and 1.
A large learning rate makes fast progress at first, but with noisy gradients the loss
settles at a floor proportional to the learning rate; a small learning rate reaches a
lower floor but needs many steps to get there. No fixed learning rate is best for the
whole run; a decaying one is. The trainable is a {class}`tunelab.Trainable` subclass:
`step` runs 10 SGD steps and returns the loss, `save_checkpoint` writes the weights to a
JSON file, `load_checkpoint` reads them back, and PBT asks for a save whenever it needs a
donor's state.

What to look at in the output:

- the exploit/explore decisions, read back from `pbt_global.txt` in the experiment
  directory: at which iteration which trial copied which trial's checkpoint, and the
  learning rate it continued with;
- the learning rate of the best trial over its log (its `metrics_dataframe`), in stretches
  of iterations: it typically starts high and is lowered by later exploits. After an
  exploit a trial continues from the donor's checkpoint, so its `training_iteration` goes
  back to the donor's and the log holds both stretches;
- the policy file of the best trial, `pbt_policy_<trial_id>.txt`: its whole lineage, one
  JSON line per exploit (`[target tag, donor tag, target iteration, donor iteration, donor
  config, new config]`). {class}`tunelab.schedulers.PopulationBasedTrainingReplay` can
  replay that file to train one trial again with the same schedule;
- the status table: its `current_lr` column is the learning rate each trial trains with
  now (the trainable reports it with every result).

PBT needs trials that run side by side: with more trials than CPUs tunelab time-shares
them, pausing a trial at a perturbation point until the others catch up. Without
`--smoke-test` the script trains 8 trials for 40 iterations each (about 15 s on two
CPUs); with a real model, give PBT a population of 8 or more, a `perturbation_interval`
of several epochs and a `checkpoint_frequency` that divides it.
The same scheduler works with function trainables that report checkpoints
(`train.report(metrics, checkpoint=...)` and `train.get_checkpoint()` at the start).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

import tunelab as tune
from tunelab.schedulers import PopulationBasedTraining

DIM = 20
CURVATURE = np.logspace(-1, 0, DIM)  # from 0.1 to 1: slow and fast directions
NOISE = 1.0  # standard deviation of the gradient noise
STEPS_PER_ITERATION = 10
STEP_SECONDS = 0.05


class NoisyQuadratic(tune.Trainable):
    """SGD on ``0.5 * sum(curvature * w**2)`` with noisy gradients."""

    def setup(self, config: dict[str, Any]) -> None:
        self.w = np.full(DIM, 3.0)
        self.rng = np.random.default_rng()

    def step(self) -> dict[str, Any]:
        lr = self.config["lr"]
        time.sleep(STEP_SECONDS)  # stands in for the time a real training step takes
        for _ in range(STEPS_PER_ITERATION):
            gradient = CURVATURE * self.w + NOISE * self.rng.standard_normal(DIM)
            self.w -= lr * gradient
        loss = float(0.5 * np.sum(CURVATURE * self.w**2))
        return {"loss": loss, "current_lr": lr}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        with open(os.path.join(checkpoint_dir, "weights.json"), "w") as fh:
            json.dump({"w": self.w.tolist()}, fh)

    def load_checkpoint(self, checkpoint_dir: str) -> None:
        with open(os.path.join(checkpoint_dir, "weights.json")) as fh:
            self.w = np.array(json.load(fh)["w"])


def print_policy(experiment_path: str) -> None:
    """Print every exploit of the experiment, from ``pbt_global.txt``."""
    path = os.path.join(experiment_path, "pbt_global.txt")
    if not os.path.exists(path):
        print("No exploits happened (the population may be too small or the run too short).")
        return
    with open(path) as fh:
        lines = [json.loads(line) for line in fh if line.strip()]
    print(f"{len(lines)} exploits (from {path}):")
    for target, donor, target_iter, donor_iter, donor_config, new_config in lines:
        print(
            f"  iter {target_iter:3d}: trial {target} copied trial {donor}'s checkpoint of "
            f"iter {donor_iter} (lr={donor_config['lr']:.4f}) and goes on with "
            f"lr={new_config['lr']:.4f}"
        )


def stretches(iterations: Iterable[int], lrs: Iterable[float]) -> list[tuple[int, int, float]]:
    """(first iteration, last iteration, lr) of each run of results with the same lr."""
    runs: list[tuple[int, int, float]] = []
    for iteration, lr in zip(iterations, lrs, strict=True):
        if runs and runs[-1][2] == lr and iteration == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], int(iteration), lr)
        else:
            runs.append((int(iteration), int(iteration), float(lr)))
    return runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--smoke-test", action="store_true", help="a small population (for CI)")
    parser.add_argument("--population", type=int, default=None, help="trials trained at once")
    parser.add_argument("--iterations", type=int, default=None, help="iterations per trial")
    parser.add_argument(
        "--storage-path",
        default=None,
        help="results root (default: TUNELAB_RESULTS_DIR, else ~/tunelab_results)",
    )
    args = parser.parse_args(argv)
    population = args.population or (4 if args.smoke_test else 8)
    iterations = args.iterations or (16 if args.smoke_test else 40)
    interval = 2 if args.smoke_test else 4
    # the initial learning rates: spread evenly on a log scale from 0.003 to 1
    initial_lrs = [float(lr) for lr in np.geomspace(0.003, 1.0, population)]

    scheduler = PopulationBasedTraining(
        time_attr="training_iteration",
        perturbation_interval=interval,
        hyperparam_mutations={"lr": tune.loguniform(1e-3, 1.0)},
        quantile_fraction=0.25,  # the bottom quarter copies the top quarter
        resample_probability=0.25,  # else lr is multiplied by 0.8 or 1.2
        seed=0,  # PBT's own random choices
    )
    tuner = tune.Tuner(
        NoisyQuadratic,
        param_space={"lr": tune.grid_search(initial_lrs)},
        tune_config=tune.TuneConfig(metric="loss", mode="min", scheduler=scheduler),
        run_config=tune.RunConfig(
            name="pbt_noisy_quadratic",
            storage_path=args.storage_path,
            stop={"training_iteration": iterations},
            checkpoint_config=tune.CheckpointConfig(checkpoint_frequency=interval, num_to_keep=2),
            verbose=1,
        ),
    )
    results = tuner.fit()

    print()
    print_policy(results.experiment_path)
    best = results.get_best_result()
    trial_id = best.metrics["trial_id"]
    print()
    print(f"Best trial: {trial_id}, final loss {best.metrics['loss']:.4f}")
    history = best.metrics_dataframe
    if history is not None:
        # After an exploit the trial continues from the donor's checkpoint, so its
        # training_iteration goes back to the donor's: the log shows both stretches.
        print("  the lr of each stretch of iterations in its log:")
        for first, last, lr in stretches(history["training_iteration"], history["current_lr"]):
            print(f"    iterations {first:3d} to {last:3d}: lr={lr:.4g}")
    print(f"  it ended with lr={best.config['lr']:.4g}")
    policy_file = os.path.join(results.experiment_path, f"pbt_policy_{trial_id}.txt")
    if os.path.exists(policy_file):
        print(f"  its lineage (replay it with PopulationBasedTrainingReplay): {policy_file}")
    print("Final loss of each trial (lower is better):")
    for result in sorted(results, key=lambda r: r.metrics["loss"]):
        print(f"  {result.metrics['trial_id']}: {result.metrics['loss']:.4f}")
    print(f"Results are in {results.experiment_path}")


if __name__ == "__main__":
    main()
