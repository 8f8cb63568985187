"""Ray 2.x's ``ray.train.tensorflow``: its ``keras`` module
(:class:`tunelab.train.tensorflow.keras.ReportCheckpointCallback`) is what Tune code uses.

Ray Train's ``TensorflowTrainer``, ``TensorflowConfig``, ``TensorflowCheckpoint`` and
``prepare_dataset_shard`` have no counterpart: importing them raises an ``ImportError`` that
says so. Importing this package imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

from typing import Any

from tunelab.train._no_counterpart import ray_train_only

__all__: list[str] = []

_DISTRIBUTED = (
    "TensorflowCheckpoint",
    "TensorflowConfig",
    "TensorflowTrainer",
    "prepare_dataset_shard",
)


def __getattr__(name: str) -> Any:
    if name == "keras":
        import importlib

        return importlib.import_module(f"{__name__}.keras")
    ray_train_only(
        __name__,
        name,
        _DISTRIBUTED,
        "Fit a Keras model inside a trainable with tunelab.train.tensorflow.keras."
        "ReportCheckpointCallback; ReportCheckpointCallback.get_model(checkpoint) loads "
        "the model back.",
    )
