"""PyTorch Lightning callbacks (tunelab.integration.pytorch_lightning) training real tiny
models in worker processes, with ``lightning.pytorch`` (2.x examples) and
``pytorch_lightning`` (1.x examples): metrics in result.json, checkpoints that resume,
ASHA stopping and PBT exploiting."""

from __future__ import annotations

import importlib.util
import os
import warnings
from typing import Any

import pytest
from callback_helpers import (
    assert_asha_stopped_the_two_that_cannot_learn,
    assert_taker_continued_from_the_donor,
    pbt_donor_and_taker,
    read_results,
    run_asha,
    run_pbt,
)

if importlib.util.find_spec("lightning") is None or importlib.util.find_spec("torch") is None:
    pytest.skip(
        'PyTorch Lightning is not installed (pip install "tunelab[lightning]")',
        allow_module_level=True,
    )

import tunelab as tune
from tunelab.integration.pytorch_lightning import (
    HOOKS,
    TuneReportCallback,
    TuneReportCheckpointCallback,
)
from tunelab.train.lightning import RayTrainReportCallback

BATCH = 16


def module_class(pl: Any) -> Any:
    """A one-layer regression LightningModule for the Lightning package ``pl``."""
    import torch

    class Regression(pl.LightningModule):  # type: ignore[misc]
        def __init__(self, lr: float) -> None:
            super().__init__()
            self.save_hyperparameters()
            torch.manual_seed(0)
            self.layer = torch.nn.Linear(4, 1)

        def forward(self, x: Any) -> Any:
            return self.layer(x)

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            x, y = batch
            loss = torch.nn.functional.mse_loss(self(x), y)
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    return Regression


def loaders() -> tuple[Any, Any]:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]]) + 0.1
    data = TensorDataset(x, y)
    return DataLoader(data, batch_size=BATCH), DataLoader(data, batch_size=BATCH)


def trainer_kwargs() -> dict[str, Any]:
    return {
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "enable_checkpointing": False,
        "logger": False,
        "accelerator": "cpu",
    }


def validation_loss(pl: Any, path: str) -> float:
    """The validation loss of the model in Lightning checkpoint ``path`` (Lightning's own
    advice, e.g. on data loader workers, is not this test's concern)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = module_class(pl).load_from_checkpoint(path)
        trainer = pl.Trainer(**trainer_kwargs())
        return float(trainer.validate(model, loaders()[1], verbose=False)[0]["val_loss"])


# -- validation, in this process -------------------------------------------------------------


def test_arguments_are_validated_and_ray_1x_hook_names_accepted() -> None:
    with pytest.raises(ValueError, match="epoch_finish"):
        TuneReportCallback(on="epoch_finish")
    with pytest.raises(ValueError, match="save_checkpoint"):  # would recurse
        TuneReportCheckpointCallback(on="save_checkpoint")
    with pytest.raises(TypeError, match="metrics must be"):
        TuneReportCallback(metrics={"loss": 1})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="save_checkpoints must be a bool"):
        TuneReportCheckpointCallback(save_checkpoints="yes")  # type: ignore[arg-type]
    assert {"validation_end", "train_batch_end", "train_epoch_end", "fit_end"} <= set(HOOKS)
    # Lightning 1.x hook names (Ray 1.x) map to the hooks Lightning 2 has
    assert TuneReportCallback(on=["epoch_end", "batch_end"])._on == [
        "train_epoch_end",
        "train_batch_end",
    ]
    # Ray 2.x's positional order: (metrics, filename, save_checkpoints, on)
    callback = TuneReportCheckpointCallback("val_loss", "ckpt", False, "train_end")
    assert (callback._save_checkpoints, callback._on) == (False, ["train_end"])


# -- real runs ------------------------------------------------------------------------------


def train_variants(config: dict) -> None:
    variant = config["variant"]
    if variant == "pytorch_lightning":  # Ray 1.x examples: import pytorch_lightning as pl
        import pytorch_lightning as pl
    else:
        import lightning.pytorch as pl
    callback = {
        # 1.x: report only, on validation_end (the default)
        "pytorch_lightning": TuneReportCallback(["val_loss"]),
        # checkpoint with every report, metrics renamed
        "checkpoint": TuneReportCheckpointCallback({"loss": "val_loss"}, filename="trainer.ckpt"),
        # per train batch, no checkpoint (2.x save_checkpoints=False)
        "batch": TuneReportCheckpointCallback(
            "train_loss", on="train_batch_end", save_checkpoints=False
        ),
        # a metric that is never logged is left out (with a warning in the log)
        "missing": TuneReportCallback({"loss": "val_loss", "acc": "val_accuracy"}),
        # Ray 2.x's ray.train.lightning callback: every train epoch end, with a checkpoint
        "ray_train": RayTrainReportCallback(),
    }[variant]
    trainer = pl.Trainer(max_epochs=2, callbacks=[callback], **trainer_kwargs())
    train, val = loaders()
    trainer.fit(module_class(pl)(0.05), train, val)


@pytest.mark.timeout(600)
def test_each_callback_reports_and_checkpoints_as_configured(tmp_path) -> None:
    grid = tune.Tuner(
        train_variants,
        param_space={
            "variant": tune.grid_search(
                ["pytorch_lightning", "checkpoint", "batch", "missing", "ray_train"]
            )
        },
        run_config=tune.RunConfig(name="ptl", storage_path=str(tmp_path), verbose=0),
    ).fit()
    assert grid.num_errors == 0, [r.error for r in grid if r.error]
    by_variant = {r.config["variant"]: r for r in grid}

    # the sanity check's validation is not reported: one result per epoch
    lines = read_results(by_variant["pytorch_lightning"].path)
    assert [r["training_iteration"] for r in lines] == [1, 2]
    assert all("val_loss" in r and "train_loss" not in r for r in lines)
    assert lines[1]["val_loss"] < lines[0]["val_loss"]
    assert by_variant["pytorch_lightning"].checkpoint is None

    result = by_variant["checkpoint"]
    lines = read_results(result.path)
    assert [r.get("checkpoint_dir_name") for r in lines] == [
        "checkpoint_000001",
        "checkpoint_000002",
    ]
    assert "val_loss" not in lines[0]
    import lightning.pytorch as pl

    with result.checkpoint.as_directory() as directory:
        restored = validation_loss(pl, os.path.join(directory, "trainer.ckpt"))
    assert restored == pytest.approx(lines[-1]["loss"], rel=1e-5)

    lines = read_results(by_variant["batch"].path)
    assert [r["training_iteration"] for r in lines] == list(range(1, 9))  # 4 batches x 2
    assert all("train_loss" in r and "val_loss" not in r for r in lines)

    lines = read_results(by_variant["missing"].path)
    assert len(lines) == 2
    assert "loss" in lines[0] and "acc" not in lines[0]

    result = by_variant["ray_train"]
    lines = read_results(result.path)
    assert [(r["epoch"], r["step"]) for r in lines] == [(0, 4), (1, 8)]
    assert all({"train_loss", "val_loss"} <= set(r) for r in lines)
    assert all(r.get("checkpoint_dir_name") for r in lines)
    with result.checkpoint.as_directory() as directory:
        restored = validation_loss(pl, os.path.join(directory, "checkpoint.ckpt"))
    # the checkpoint is taken at the end of the training epoch, after its validation
    assert restored == pytest.approx(lines[-1]["val_loss"], rel=1e-5)


def test_ray_train_distributed_names_have_no_counterpart() -> None:
    with pytest.raises(ImportError, match="no counterpart"):
        from tunelab.train.lightning import RayDDPStrategy  # noqa: F401
    with pytest.raises(ValueError, match="checkpoint_upload_mode"):
        RayTrainReportCallback(validation=True)


def train_epochs(config: dict) -> None:
    """Up to 4 epochs, reporting and checkpointing at each validation end; a restored trial
    resumes the Trainer from its checkpoint (``ckpt_path``)."""
    import lightning.pytorch as pl

    trainer = pl.Trainer(
        max_epochs=4,
        callbacks=[TuneReportCheckpointCallback({"loss": "val_loss"})],
        **trainer_kwargs(),
    )
    train, val = loaders()
    model = module_class(pl)(config["lr"])
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        trainer.fit(model, train, val)
    else:
        with checkpoint.as_directory() as directory:
            trainer.fit(model, train, val, ckpt_path=os.path.join(directory, "checkpoint"))


@pytest.mark.timeout(600)
def test_asha_stops_the_trials_that_do_not_learn(tmp_path) -> None:
    grid = run_asha(train_epochs, [0.05, 0.05, 0.0, 0.0], str(tmp_path))
    assert_asha_stopped_the_two_that_cannot_learn(
        (r.config["lr"], r.metrics["training_iteration"]) for r in grid
    )


@pytest.mark.timeout(600)
def test_pbt_exploits_a_checkpoint_and_training_resumes_from_it(tmp_path) -> None:
    mutations = [0.02, 0.05]
    results = run_pbt(train_epochs, [0.0, 0.05], mutations, str(tmp_path))
    # each trial reports epochs 1..4 once, though both were restarted from a checkpoint
    donor, taker = pbt_donor_and_taker(results, key="lr", donor_lr=0.05, iterations=4)
    # the trial that could not learn resumed from the other's epoch-2 checkpoint
    assert taker[1]["loss"] > donor[1]["loss"] * 1.5
    assert_taker_continued_from_the_donor(
        donor, taker, at=2, key="lr", mutations=mutations, metric="loss"
    )
