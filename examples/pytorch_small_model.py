"""Tune a small PyTorch network with ASHA and checkpoints

A multi-layer perceptron is trained on CPU on a synthetic classification problem made by
scikit-learn's `make_classification` (nothing is downloaded). The search covers the
learning rate, the weight decay, the width and depth of the network, dropout and the batch
size; {class}`~tunelab.schedulers.ASHAScheduler` stops the trials that fall behind.

The trainable follows the pattern of Ray Tune 2.7+ (`from tunelab import train` in place of
`from ray import train`):

- after every epoch it saves the model and optimizer state with `torch.save` into a
  temporary directory and reports it with
  `train.report(metrics, checkpoint=Checkpoint.from_directory(tmpdir))`; tunelab copies the
  directory into the trial's `checkpoint_<iteration>/` before `report` returns, so the
  temporary directory can go right after;
- at its start it calls `train.get_checkpoint()` and, when there is one (a trial retried
  after a failure, a resumed experiment, or a trial that ASHA paused in promotion mode), it
  continues from that epoch instead of starting over;
- `CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="val_accuracy")` keeps only
  the two best checkpoints of each trial on disk (plus the latest, which a restore needs).

After the run the script takes the best trial, asks its `Result` for its best checkpoint
(`result.get_best_checkpoint("val_accuracy", "max")`), loads the weights back into a fresh
model in the driver with `checkpoint.as_directory()`, and scores it on a test set that no
trial saw. What to look at in the output: the status table (trials stopped by ASHA end with
fewer epochs), the best config, the checkpoint directory that was loaded, and the test
accuracy next to the validation accuracy the trial reported.

Each trial sets `torch.set_num_threads(1)`: tunelab gives each trial one CPU and runs as
many trials at once as there are CPUs, so letting every trial start one thread per core
would only make them compete. For a real model, replace `make_data` and `MLP` with your own
and raise `--num-samples` and `--epochs`; to train on a GPU, give each trial one with
`tune.with_resources(train_mlp, {"cpu": 1, "gpu": 1})` (tunelab sets
`CUDA_VISIBLE_DEVICES` for each trial) and move the model and batches to `"cuda"`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import Any

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from torch import nn

import tunelab as tune
from tunelab import Checkpoint, train
from tunelab.schedulers import ASHAScheduler

NUM_FEATURES = 20
NUM_CLASSES = 3


def make_data(num_samples: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The same train/validation/test split in every process (fixed random_state)."""
    x, y = make_classification(
        n_samples=num_samples,
        n_features=NUM_FEATURES,
        n_informative=10,
        n_redundant=4,
        n_classes=NUM_CLASSES,
        class_sep=0.8,
        random_state=0,
    )
    x = ((x - x.mean(axis=0)) / x.std(axis=0)).astype(np.float32)
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, test_size=0.4, random_state=0)
    x_val, x_test, y_val, y_test = train_test_split(x_rest, y_rest, test_size=0.5, random_state=0)
    return {
        name: (torch.from_numpy(features), torch.from_numpy(labels).long())
        for name, features, labels in (
            ("train", x_train, y_train),
            ("val", x_val, y_val),
            ("test", x_test, y_test),
        )
    }


class MLP(nn.Module):
    def __init__(self, hidden: int, num_layers: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = NUM_FEATURES
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        layers.append(nn.Linear(width, NUM_CLASSES))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build_model(config: dict[str, Any]) -> MLP:
    return MLP(config["hidden"], config["num_layers"], config["dropout"])


def evaluate(model: nn.Module, data: tuple[torch.Tensor, torch.Tensor]) -> tuple[float, float]:
    """(mean cross-entropy loss, accuracy) of ``model`` on ``data``."""
    model.eval()
    with torch.no_grad():
        logits = model(data[0])
        loss = nn.functional.cross_entropy(logits, data[1]).item()
        accuracy = (logits.argmax(dim=1) == data[1]).float().mean().item()
    return loss, accuracy


def train_mlp(config: dict[str, Any]) -> None:
    """A function trainable: one epoch per ``train.report``, each with a checkpoint."""
    torch.set_num_threads(1)  # one CPU per trial
    torch.manual_seed(config["seed"])
    data = make_data(config["num_samples"])
    model = build_model(config)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"]
    )
    start_epoch = 0
    checkpoint = train.get_checkpoint()
    if checkpoint is not None:  # a retry or a resume: continue where the checkpoint left off
        with checkpoint.as_directory() as directory:
            state = torch.load(os.path.join(directory, "checkpoint.pt"))
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch = state["epoch"]

    x_train, y_train = data["train"]
    for epoch in range(start_epoch + 1, config["epochs"] + 1):
        model.train()
        order = torch.randperm(len(x_train))
        for start in range(0, len(order), config["batch_size"]):
            batch = order[start : start + config["batch_size"]]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
        val_loss, val_accuracy = evaluate(model, data["val"])
        with tempfile.TemporaryDirectory() as directory:
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "epoch": epoch,
                },
                os.path.join(directory, "checkpoint.pt"),
            )
            train.report(
                {"val_loss": val_loss, "val_accuracy": val_accuracy, "epoch": epoch},
                checkpoint=Checkpoint.from_directory(directory),
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--smoke-test", action="store_true", help="a few small trials (for CI), ~15 s"
    )
    parser.add_argument("--num-samples", type=int, default=None, help="configurations to try")
    parser.add_argument("--epochs", type=int, default=None, help="most epochs per trial")
    parser.add_argument(
        "--storage-path",
        default=None,
        help="results root (default: TUNELAB_RESULTS_DIR, else ~/tunelab_results)",
    )
    args = parser.parse_args(argv)
    num_trials = args.num_samples or (4 if args.smoke_test else 30)
    epochs = args.epochs or (3 if args.smoke_test else 30)
    dataset_size = 1_000 if args.smoke_test else 6_000

    param_space = {
        "lr": tune.loguniform(1e-4, 3e-2),
        "weight_decay": tune.loguniform(1e-6, 1e-2),
        "hidden": tune.choice([32, 64, 128]),
        "num_layers": tune.randint(1, 4),  # 1, 2 or 3 hidden layers
        "dropout": tune.uniform(0.0, 0.4),
        "batch_size": tune.choice([32, 64, 128]),
        "epochs": epochs,
        "num_samples": dataset_size,
        "seed": 0,
    }
    tuner = tune.Tuner(
        train_mlp,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            metric="val_accuracy",
            mode="max",
            num_samples=num_trials,
            scheduler=ASHAScheduler(max_t=epochs, grace_period=1 if epochs < 6 else 3),
        ),
        run_config=tune.RunConfig(
            name="pytorch_small_model",
            storage_path=args.storage_path,
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=2,
                checkpoint_score_attribute="val_accuracy",
                checkpoint_score_order="max",
            ),
            verbose=1,
        ),
    )
    results = tuner.fit()
    if results.num_errors:
        print(f"{results.num_errors} trial(s) failed; see error.txt in their directories")

    best = results.get_best_result(metric="val_accuracy", mode="max", scope="all")
    checkpoint = best.get_best_checkpoint(metric="val_accuracy", mode="max")
    model = build_model(best.config)
    with checkpoint.as_directory() as directory:
        state = torch.load(os.path.join(directory, "checkpoint.pt"))
    model.load_state_dict(state["model"])
    test_loss, test_accuracy = evaluate(model, make_data(dataset_size)["test"])

    shown = ("lr", "weight_decay", "hidden", "num_layers", "dropout", "batch_size")
    print()
    print("Best config:", {key: best.config[key] for key in shown})
    print(f"Best checkpoint: {checkpoint.path} (epoch {state['epoch']})")
    # best_checkpoints: (checkpoint, metrics reported with it) for each one kept on disk
    metrics = next(m for c, m in best.best_checkpoints or [] if c.path == checkpoint.path)
    print(f"  validation accuracy at that epoch: {metrics['val_accuracy']:.4f}")
    print(f"  test accuracy of the reloaded model: {test_accuracy:.4f} (loss {test_loss:.4f})")
    print(f"Results are in {results.experiment_path}")


if __name__ == "__main__":
    main()
