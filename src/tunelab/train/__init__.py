"""The ``ray.train`` import path of tunelab: ``from tunelab import train``.

Ray 2.7+ Tune code reports through ``ray.train``; with ``from ray import train`` changed to
``from tunelab import train`` (and ``from ray.train import X`` to ``from tunelab.train
import X``) it runs unchanged:

* in the trial: ``train.report(metrics, checkpoint=None)``, ``train.get_checkpoint()``,
  ``train.get_context()`` (a :class:`TrainContext`, the same object as
  ``tunelab.get_context()``);
* ``Checkpoint``, ``RunConfig``, ``CheckpointConfig``, ``FailureConfig``, ``SyncConfig``:
  the classes of ``tunelab`` itself; ``Result``: ``tunelab.Result``;
* ``ScalingConfig``: a resource request (``tune.with_resources(fn, ScalingConfig(...))``).

Ray Train's distributed trainers and Ray Data (``BackendConfig``, ``DataConfig``,
``get_dataset_shard``, ``TrainingFailedError``, ``ray.train.torch``...) have no counterpart;
importing them raises an ``ImportError`` that says so.
"""

from __future__ import annotations

from typing import Any

from tunelab._checkpoint import Checkpoint
from tunelab._config import CheckpointConfig, FailureConfig, RunConfig, SyncConfig
from tunelab.train._report import TrainContext, get_checkpoint, get_context, report
from tunelab.train._scaling import ScalingConfig

__all__ = [
    "Checkpoint",
    "CheckpointConfig",
    "FailureConfig",
    "Result",
    "RunConfig",
    "ScalingConfig",
    "SyncConfig",
    "TrainContext",
    "get_checkpoint",
    "get_context",
    "report",
]

# Ray Train names that only make sense with its distributed trainers or Ray Data.
_RAY_TRAIN_ONLY = frozenset(
    {
        "BackendConfig",
        "DataConfig",
        "TRAIN_DATASET_KEY",
        "TrainingFailedError",
        "get_dataset_shard",
    }
)


#: submodules reachable as attributes without importing them first
_SUBMODULES = frozenset({"huggingface", "lightgbm", "lightning", "tensorflow", "xgboost"})


def __getattr__(name: str) -> Any:
    if name == "Result":
        # imported on first use: the analysis package is heavier than this one
        from tunelab.analysis import Result

        globals()["Result"] = Result
        return Result
    if name in _SUBMODULES:
        # ``import tunelab as ray; ray.train.xgboost.RayTrainReportCallback``
        import importlib

        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    if name in _RAY_TRAIN_ONLY:
        raise ImportError(
            f"tunelab.train.{name} has no counterpart: it belongs to Ray Train's distributed "
            "trainers and Ray Data, which tunelab does not re-create. tunelab.train holds what "
            f"Ray Tune code uses: {', '.join(__all__)}."
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
