"""``tunelab demo``: a real tuning job on the embedded defaults.

An SGD classifier on scikit-learn's bundled digits dataset, trained epoch by epoch with
``partial_fit``; each trial reports validation accuracy per epoch. Several trials run in
parallel local worker processes; the status table shows progress; the best config, the
results directory and how to read it are printed at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from tunelab._errors import ExtraNotInstalledError, require

#: ``tunelab demo --help``: the module docstring without its reST markup
_DESCRIPTION = (
    "A real tuning job on the embedded defaults: an SGD classifier on scikit-learn's bundled "
    "digits dataset, trained epoch by epoch with partial_fit; each trial reports its "
    "validation accuracy (mean_accuracy, shown as acc in the table) per epoch. Several trials "
    "run in parallel local worker processes; the status table shows progress; the best "
    "config, the results directory and how to read it are printed at the end."
)


def train_digits(config: dict[str, Any]) -> None:
    """A function trainable: one ``session.report`` per epoch."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from tunelab.air import session

    digits = load_digits()
    x_train, x_val, y_train, y_val = train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=0
    )
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    model = SGDClassifier(
        loss=config["loss"],
        alpha=config["alpha"],
        learning_rate="invscaling",
        eta0=config["eta0"],
        random_state=0,
    )
    classes = np.unique(digits.target)
    rng = np.random.default_rng(0)
    for _epoch in range(config["epochs"]):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), config["batch_size"]):
            batch = order[start : start + config["batch_size"]]
            model.partial_fit(x_train[batch], y_train[batch], classes=classes)
        session.report(
            {
                "mean_accuracy": float(model.score(x_val, y_val)),
                "train_accuracy": float(model.score(x_train, y_train)),
            }
        )


def main(argv: list[str] | None = None) -> int:
    import tunelab as tune

    parser = argparse.ArgumentParser(prog="tunelab demo", description=_DESCRIPTION)
    parser.add_argument("--num-samples", type=int, default=12, help="trials to run (12)")
    parser.add_argument("--epochs", type=int, default=15, help="epochs per trial (15)")
    parser.add_argument(
        "--storage-path",
        default=None,
        help="results root (default: TUNELAB_RESULTS_DIR or ~/tunelab_results)",
    )
    parser.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2, 3])
    args = parser.parse_args(argv)
    try:  # the trials train scikit-learn models: say so before any trial fails on it
        require("sklearn", extra="demo", feature="tunelab demo")
    except ExtraNotInstalledError as exc:
        print(f"tunelab demo: error: {exc}", file=sys.stderr)
        return 2

    tuner = tune.Tuner(
        train_digits,
        param_space={
            "alpha": tune.loguniform(1e-6, 1e-1),
            "eta0": tune.loguniform(1e-3, 1.0),
            "loss": tune.choice(["hinge", "log_loss", "modified_huber"]),
            "batch_size": tune.choice([32, 128]),
            "epochs": args.epochs,
        },
        tune_config=tune.TuneConfig(
            metric="mean_accuracy", mode="max", num_samples=args.num_samples
        ),
        run_config=tune.RunConfig(
            name="digits_sgd",
            storage_path=args.storage_path,
            stop={"mean_accuracy": 0.99},
            verbose=args.verbose,
        ),
    )
    results = tuner.fit()
    if results.num_errors == len(results):
        print(
            f"tunelab demo: every trial failed; their error.txt files are under "
            f"{results.experiment_path}",
            file=sys.stderr,
        )
        return 1
    best = results.get_best_result()
    print()
    if results.interrupted:
        print(
            f"Interrupted: {results.num_terminated} of {len(results)} trials finished; the "
            "best so far (resume with the command printed above):"
        )
    print(f"Best trial: {os.path.basename(best.path)}")
    accuracy = best.metrics["mean_accuracy"]
    print(f"  mean_accuracy: {accuracy:.4f} (validation accuracy; acc in the table)")
    print(f"  after {best.metrics['training_iteration']} epochs")
    print(f"  config: { {k: v for k, v in best.config.items()} }")
    print(f"Results are in: {results.experiment_path}")
    print("Look at them with:")
    print(f"  tunelab ls {results.experiment_path}")
    print(
        '  python -c "import tunelab as tune; '
        f"print(tune.ExperimentAnalysis('{results.experiment_path}').dataframe())\""
    )
    print(f"  or open {os.path.join(results.experiment_path, '<trial>', 'progress.csv')}")
    return 0
