"""Keras 3 callbacks (tunelab.integration.keras, tunelab.air.integrations.keras) training
real tiny models in worker processes: metrics in result.json, checkpoints restored, ASHA
stopping and PBT exploiting. Keras runs on PyTorch (the keras extra); importing the
integration sets KERAS_BACKEND=torch when the configured backend (TensorFlow) is missing."""

from __future__ import annotations

import importlib.util
import json
import os
from typing import Any

import numpy as np
import pytest
from callback_helpers import (
    assert_asha_stopped_the_two_that_cannot_learn,
    assert_taker_continued_from_the_donor,
    pbt_donor_and_taker,
    read_results,
    run_asha,
    run_pbt,
)

if importlib.util.find_spec("keras") is None or importlib.util.find_spec("torch") is None:
    pytest.skip(
        'Keras 3 and PyTorch are not installed (pip install "tunelab[keras]")',
        allow_module_level=True,
    )

import tunelab as tune
from tunelab.air.integrations.keras import ReportCheckpointCallback
from tunelab.integration.keras import (
    TuneReportCallback,
    TuneReportCheckpointCallback,
    TuneReporterCallback,
)

# imported after tunelab.integration.keras, which chose Keras's backend
keras = importlib.import_module("keras")

BATCH = 32


def data(n: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("float32")
    return x, y


def build(lr: float) -> Any:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=lr),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


# -- validation, in this process -------------------------------------------------------------


def test_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="validation_end"):
        TuneReportCallback(on="validation_end")  # a Lightning hook, not a Keras one
    with pytest.raises(TypeError, match="metrics must be"):
        TuneReportCallback(metrics=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one value per hook"):
        TuneReportCheckpointCallback(frequency=[1, 2], on="epoch_end")
    with pytest.raises(ValueError, match="frequency must be"):
        TuneReportCheckpointCallback(frequency=0)
    with pytest.raises(ValueError, match="not both"):
        TuneReportCheckpointCallback(on="epoch_end", checkpoint_on="epoch_end")
    with pytest.raises(ValueError, match="checkpoint_on"):
        ReportCheckpointCallback(checkpoint_on="epoch_finish")
    with pytest.raises(ValueError, match="freq must be"):
        TuneReporterCallback(freq="step")


def test_a_missing_metric_names_the_logged_ones() -> None:
    callback = TuneReportCallback({"loss": "val_loss"})
    with pytest.raises(KeyError, match=r"'val_loss'.*\['accuracy', 'loss'\]"):
        callback.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.75})


def test_the_0_8_reporter_callback_reports_through_the_reporter_given() -> None:
    reported: list[dict] = []
    callback = TuneReporterCallback(lambda **kw: reported.append(kw), freq="batch")
    callback.on_train_batch_end(0, {"loss": 0.5, "acc": 0.75})
    callback.on_epoch_end(0, {"loss": 0.4, "acc": 0.8})  # not its frequency
    assert reported == [
        {"keras_info": {"loss": 0.5, "acc": 0.75, "neg_loss": -0.5}, "mean_accuracy": 0.75}
    ]
    with pytest.warns(UserWarning, match="logs has no effect"):
        TuneReporterCallback(logs={})


def test_keras_backend_is_chosen_only_when_the_configured_one_is_missing(tmp_path) -> None:
    from tunelab.integration.keras import _choose_backend

    (tmp_path / "keras.json").write_text(json.dumps({"backend": "tensorflow"}))
    home = {"KERAS_HOME": str(tmp_path)}

    def only(*names: str) -> Any:
        return lambda name: name in names

    environ = dict(home)
    assert _choose_backend(environ, (), only("torch", "jax")) == "torch"
    assert environ["KERAS_BACKEND"] == "torch"
    environ = dict(home)
    assert _choose_backend(environ, (), only("jax")) == "jax"
    # nothing changes when TensorFlow is there, a backend is set, or Keras is loaded already
    for environ, loaded, installed in (
        (dict(home), (), only("tensorflow", "torch")),
        ({**home, "KERAS_BACKEND": "jax"}, (), only("torch")),
        (dict(home), ("keras",), only("torch")),
        (dict(home), (), only()),
    ):
        assert _choose_backend(environ, loaded, installed) is None
        assert environ.get("KERAS_BACKEND") in (None, "jax")
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    assert _choose_backend(dict(home), (), only("jax", "torch")) is None


# -- real runs ------------------------------------------------------------------------------


def train_variants(config: dict) -> None:
    """One trial per callback flavour; each fits 2 epochs of 4 batches."""
    x, y = data()
    xv, yv = data(64, seed=1)
    variant = config["variant"]
    callbacks = {
        # 1.x: every epoch end, renamed metrics, model checkpoint (a Keras model directory)
        "v1_epoch": TuneReportCheckpointCallback(
            {"loss": "val_loss", "acc": "accuracy"}, filename="model_dir"
        ),
        # 1.x: every train batch, checkpoint every 3rd one
        "v1_batch": TuneReportCheckpointCallback("loss", on="batch_end", frequency=3),
        # 2.x: reports only (checkpoint_on=[]), every logged value
        "v2_report_only": TuneReportCheckpointCallback(checkpoint_on=[]),
        # 2.x AIR: reports every epoch, checkpoints at the end of training
        "air": ReportCheckpointCallback(
            checkpoint_on="train_end", report_metrics_on="epoch_end", metrics=["val_loss"]
        ),
        # 0.8: per epoch, keras_info and mean_accuracy
        "v08": TuneReporterCallback(freq="epoch"),
    }[variant]
    model = build(0.5)
    model.fit(
        x,
        y,
        validation_data=(xv, yv),
        epochs=2,
        batch_size=BATCH,
        verbose=0,
        shuffle=False,
        callbacks=[callbacks],
    )


@pytest.mark.timeout(600)
def test_each_callback_reports_and_checkpoints_as_configured(tmp_path) -> None:
    grid = tune.Tuner(
        train_variants,
        param_space={
            "variant": tune.grid_search(["v1_epoch", "v1_batch", "v2_report_only", "air", "v08"])
        },
        run_config=tune.RunConfig(name="keras", storage_path=str(tmp_path), verbose=0),
    ).fit()
    assert grid.num_errors == 0, [r.error for r in grid if r.error]
    by_variant = {r.config["variant"]: r for r in grid}

    # 1.x epoch end: one result per epoch, renamed, each with a checkpoint that restores
    v1 = by_variant["v1_epoch"]
    lines = read_results(v1.path)
    assert [r["training_iteration"] for r in lines] == [1, 2]
    assert all({"loss", "acc"} <= set(r) for r in lines)
    assert "val_loss" not in lines[0]  # only the selected metrics, under the new names
    assert [r.get("checkpoint_dir_name") for r in lines] == [
        "checkpoint_000001",
        "checkpoint_000002",
    ]
    assert os.path.isdir(os.path.join(v1.checkpoint.path, "model_dir"))  # a Keras model dir
    model = TuneReportCheckpointCallback.get_model(v1.checkpoint)
    xv, yv = data(64, seed=1)
    val_loss = model.evaluate(xv, yv, batch_size=BATCH, verbose=0, return_dict=True)["loss"]
    assert val_loss == pytest.approx(lines[-1]["loss"], rel=1e-4)
    # the 1.x spelling loads the directory the same way Ray 1.x's SavedModel did
    reloaded = keras.models.load_model(os.path.join(v1.checkpoint.path, "model_dir"))
    assert reloaded.count_params() == model.count_params()

    # 1.x batch end (Keras's alias of train_batch_end): 8 batches, checkpoints at 3 and 6
    lines = read_results(by_variant["v1_batch"].path)
    assert [r["training_iteration"] for r in lines] == list(range(1, 9))
    assert all("loss" in r and "val_loss" not in r for r in lines)
    with_ckpt = [r["training_iteration"] for r in lines if r.get("checkpoint_dir_name")]
    assert with_ckpt == [3, 6]

    # 2.x checkpoint_on=[]: every logged value, no checkpoint
    lines = read_results(by_variant["v2_report_only"].path)
    assert len(lines) == 2
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(lines[0])
    assert not any(r.get("checkpoint_dir_name") for r in lines)
    assert by_variant["v2_report_only"].checkpoint is None

    # AIR: reports at both epoch ends, then the checkpoint (with train_end's logs)
    air = by_variant["air"]
    lines = read_results(air.path)
    assert [r.get("checkpoint_dir_name") for r in lines] == [None, None, "checkpoint_000003"]
    assert all("val_loss" in r for r in lines)
    assert os.path.isfile(os.path.join(air.checkpoint.path, "model.keras"))
    restored = ReportCheckpointCallback.get_model(air.checkpoint)
    assert restored.count_params() == model.count_params()

    # 0.8: keras_info with neg_<loss>, mean_accuracy from the accuracy log
    lines = read_results(by_variant["v08"].path)
    assert len(lines) == 2
    info = lines[-1]["keras_info"]
    assert info["neg_loss"] == pytest.approx(-info["loss"])
    assert info["neg_val_loss"] == pytest.approx(-info["val_loss"])
    assert lines[-1]["mean_accuracy"] == pytest.approx(info["accuracy"])


def train_epochs(config: dict) -> None:
    """Fits up to 4 epochs, reporting and checkpointing every epoch; a restored trial
    continues from its checkpoint's model (and optimizer step count)."""
    x, y = data()
    xv, yv = data(64, seed=1)
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        model = TuneReportCheckpointCallback.get_model(checkpoint)
        model.optimizer.learning_rate.assign(config["lr"])  # PBT may have changed it
    else:
        model = build(config["lr"])
    steps_per_epoch = len(x) // BATCH
    done = int(model.optimizer.iterations.numpy()) // steps_per_epoch
    model.fit(
        x,
        y,
        validation_data=(xv, yv),
        epochs=4,
        initial_epoch=done,
        batch_size=BATCH,
        verbose=0,
        shuffle=False,
        callbacks=[TuneReportCheckpointCallback({"loss": "val_loss"})],
    )


@pytest.mark.timeout(600)
def test_asha_stops_the_trials_that_do_not_learn(tmp_path) -> None:
    # the two good trials run first (2 at a time) and fill rung 1; the two that cannot
    # learn (lr 0) arrive there with a worse loss and are stopped after one epoch
    grid = run_asha(train_epochs, [0.5, 0.5, 0.0, 0.0], str(tmp_path))
    assert_asha_stopped_the_two_that_cannot_learn(
        (r.config["lr"], r.metrics["training_iteration"]) for r in grid
    )


@pytest.mark.timeout(600)
def test_pbt_exploits_a_checkpoint_and_training_continues_from_it(tmp_path) -> None:
    mutations = [0.2, 0.5]
    results = run_pbt(train_epochs, [0.0, 0.5], mutations, str(tmp_path))
    # every trial reports epochs 1..4 once, though each was restarted from a checkpoint
    donor, taker = pbt_donor_and_taker(results, key="lr", donor_lr=0.5, iterations=4)
    # the trial that could not learn took the other's epoch-2 model and learned from there:
    # its epoch-3 loss is near the donor's, far below its own before
    assert taker[1]["loss"] > donor[1]["loss"] + 0.05
    assert_taker_continued_from_the_donor(
        donor, taker, at=2, key="lr", mutations=mutations, metric="loss"
    )
