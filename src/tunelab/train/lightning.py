"""Ray 2.x's ``ray.train.lightning`` as Tune code uses it: :class:`RayTrainReportCallback`.

``RayTrainReportCallback()`` reports ``trainer.callback_metrics`` (as numbers) plus
``epoch`` and ``step`` at the end of every training epoch, with a checkpoint holding
Lightning's checkpoint file ``"checkpoint.ckpt"``, which ``trainer.fit(model,
ckpt_path=...)`` resumes from. Use it in a trainable's ``pl.Trainer(callbacks=[...])``;
:mod:`tunelab.integration.pytorch_lightning` has the callbacks with a choice of hooks,
metrics and file name.

Ray Train's distributed pieces (``prepare_trainer``, ``RayDDPStrategy``,
``RayFSDPStrategy``, ``RayDeepSpeedStrategy``, ``RayLightningEnvironment``) have no
counterpart: importing them raises an ``ImportError`` that says so. Importing this module
imports Lightning (``pip install "tunelab[lightning]"``).
"""

from __future__ import annotations

from typing import Any

from tunelab.integration import _framework
from tunelab.integration.pytorch_lightning import TuneCallback
from tunelab.train._no_counterpart import ray_train_only

__all__ = ["RayTrainReportCallback"]

_DISTRIBUTED = (
    "RayDDPStrategy",
    "RayDeepSpeedStrategy",
    "RayFSDPStrategy",
    "RayLightningEnvironment",
    "prepare_trainer",
)


class RayTrainReportCallback(TuneCallback):
    """Reports ``trainer.callback_metrics`` with ``epoch`` and ``step`` and a checkpoint
    (``"checkpoint.ckpt"``) at every training epoch end.

    Args:
        checkpoint_upload_mode: Ray Train v2's asynchronous checkpoint upload. Not
            supported: anything but None is an error (a checkpoint is on disk when
            ``report`` returns).
        validation: Ray Train v2's asynchronous validation. Not supported: anything but
            False is an error.

    Raises:
        ValueError: ``checkpoint_upload_mode`` or ``validation`` is given.
    """

    CHECKPOINT_NAME = "checkpoint.ckpt"

    def __init__(self, checkpoint_upload_mode: Any = None, validation: Any = False) -> None:
        if checkpoint_upload_mode is not None or validation:
            raise ValueError(
                "checkpoint_upload_mode and validation are Ray Train v2's asynchronous "
                "checkpoint upload and validation, which tunelab does not have (a checkpoint "
                "is on disk when report returns); got "
                f"checkpoint_upload_mode={checkpoint_upload_mode!r}, validation={validation!r}"
            )
        super().__init__(on="train_epoch_end")

    def _handle(self, trainer: Any, pl_module: Any) -> None:
        metrics = {str(k): _framework.scalar(v) for k, v in trainer.callback_metrics.items()}
        metrics["epoch"] = trainer.current_epoch
        metrics["step"] = trainer.global_step
        _framework.report(metrics, trainer.save_checkpoint, self.CHECKPOINT_NAME)


def __getattr__(name: str) -> Any:
    ray_train_only(
        __name__,
        name,
        _DISTRIBUTED,
        "Run a pl.Trainer inside a trainable with RayTrainReportCallback (or "
        "tunelab.integration.pytorch_lightning's callbacks).",
    )
