"""Tune a scikit-learn random forest with cross-validation and ASHA

This example tunes a `RandomForestClassifier` on scikit-learn's bundled digits dataset
(nothing is downloaded). Each trial is a *function trainable* that cross-validates one
configuration: it keeps one forest per fold and grows them together with `warm_start`, a
few trees at a time. After every step it reports the mean validation accuracy over the
folds with `train.report`, so one *training iteration* is one round of added trees.

Because a trial reports a learning curve, the {class}`~tunelab.schedulers.ASHAScheduler`
can stop the configurations that fall behind early (at its rungs: iterations 2, 6, 18, ...
with the defaults used here) and spend the CPU time on the promising ones. The search space
mixes a log-uniform integer (`min_samples_leaf`), categorical choices (`max_features`,
`criterion`) and an integer range (`max_depth`).

The data is handed to the trainable with {func}`tunelab.with_parameters`: it is
serialised once in the driver and loaded at most once per worker process, instead of being
shipped with every trial.

What to look at in the output:

- the status table, where trials stopped by ASHA end with fewer iterations than the
  others;
- the summary at the end: how many trials reached the last iteration, and the best
  configuration with its cross-validated accuracy (mean and standard deviation over the
  folds);
- the results directory: one sub-directory per trial with `result.json` and
  `progress.csv` (read them with `tunelab ls <experiment dir>` or
  `tunelab.ExperimentAnalysis`).

For a real run, raise `--num-samples` (the number of configurations tried) and
`--max-steps`; a trial uses one CPU, and as many trials run at once as the machine has CPUs.
To use the same search for your own estimator, replace `make_model` and the search space;
any estimator with `warm_start` (or `partial_fit`) can report a learning curve this way.
For a scikit-learn-style drop-in replacement of `RandomizedSearchCV`, see
{class}`tunelab.sklearn.TuneSearchCV`.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold

import tunelab as tune
from tunelab import train
from tunelab.schedulers import ASHAScheduler


def make_model(config: dict[str, Any]) -> RandomForestClassifier:
    """A forest that starts with no trees; ``warm_start`` lets each step add more."""
    return RandomForestClassifier(
        n_estimators=0,
        warm_start=True,
        max_depth=config["max_depth"],
        min_samples_leaf=config["min_samples_leaf"],
        max_features=config["max_features"],
        criterion=config["criterion"],
        random_state=0,
        n_jobs=1,  # one CPU per trial: tunelab runs the trials in parallel
    )


def cross_validate_forest(config: dict[str, Any], dataset: tuple[np.ndarray, np.ndarray]) -> None:
    """A function trainable: one ``train.report`` per round of added trees."""
    x, y = dataset
    folds = list(
        StratifiedKFold(n_splits=config["folds"], shuffle=True, random_state=0).split(x, y)
    )
    models = [make_model(config) for _ in folds]
    for step in range(1, config["max_steps"] + 1):
        scores = []
        for model, (train_idx, val_idx) in zip(models, folds, strict=True):
            model.n_estimators = step * config["trees_per_step"]
            model.fit(x[train_idx], y[train_idx])
            scores.append(model.score(x[val_idx], y[val_idx]))
        train.report(
            {
                "mean_accuracy": float(np.mean(scores)),
                "std_accuracy": float(np.std(scores)),
                "n_estimators": step * config["trees_per_step"],
            }
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--smoke-test", action="store_true", help="a few small trials (for CI), ~10 s"
    )
    parser.add_argument("--num-samples", type=int, default=None, help="configurations to try")
    parser.add_argument("--max-steps", type=int, default=None, help="rounds of trees per trial")
    parser.add_argument(
        "--storage-path",
        default=None,
        help="results root (default: TUNELAB_RESULTS_DIR, else ~/tunelab_results)",
    )
    args = parser.parse_args(argv)
    num_samples = args.num_samples or (4 if args.smoke_test else 40)
    max_steps = args.max_steps or (3 if args.smoke_test else 20)

    x, y = load_digits(return_X_y=True)
    param_space = {
        "max_depth": tune.randint(4, 31),
        "min_samples_leaf": tune.lograndint(1, 20),
        "max_features": tune.choice(["sqrt", "log2", 0.5]),
        "criterion": tune.choice(["gini", "entropy"]),
        # fixed values are passed through to every trial unchanged
        "trees_per_step": 5 if args.smoke_test else 10,
        "folds": 3 if args.smoke_test else 5,
        "max_steps": max_steps,
    }
    scheduler = ASHAScheduler(
        time_attr="training_iteration",
        max_t=max_steps,  # the most iterations a trial can run
        grace_period=2 if max_steps > 2 else 1,  # no trial is stopped before this
        reduction_factor=3,  # keep the best third at each rung
    )
    tuner = tune.Tuner(
        tune.with_parameters(cross_validate_forest, dataset=(x, y)),
        param_space=param_space,
        tune_config=tune.TuneConfig(
            metric="mean_accuracy", mode="max", num_samples=num_samples, scheduler=scheduler
        ),
        run_config=tune.RunConfig(
            name="sklearn_random_forest",
            storage_path=args.storage_path,
            verbose=1,
        ),
    )
    results = tuner.fit()

    print()
    if results.errors:
        print(f"{results.num_errors} trial(s) failed; see error.txt in their directories")
    completed = sum(
        1 for r in results if r.metrics and r.metrics.get("training_iteration") == max_steps
    )
    stopped = len(results) - completed - results.num_errors
    print(
        f"{len(results)} trials: {completed} ran all {max_steps} steps, "
        f"{stopped} stopped early by ASHA"
    )
    best = results.get_best_result()  # by the metric and mode of the TuneConfig
    shown = ("max_depth", "min_samples_leaf", "max_features", "criterion")
    print("Best config:", {key: best.config[key] for key in shown})
    print(
        f"Best cross-validated accuracy: {best.metrics['mean_accuracy']:.4f} "
        f"(+/- {best.metrics['std_accuracy']:.4f}) "
        f"with {best.metrics['n_estimators']} trees"
    )
    print(f"Results are in {results.experiment_path}")


if __name__ == "__main__":
    main()
