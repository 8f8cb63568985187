"""Ray 2.x's ``ray.train.huggingface.transformers``: :class:`RayTrainReportCallback` and
:func:`prepare_trainer`, for a transformers ``Trainer`` run inside a trainable.

``RayTrainReportCallback()`` (a ``transformers.TrainerCallback``) reports, each time the
Trainer has saved a checkpoint, the latest value of every metric the Trainer logged (its
``state.log_history`` merged) with a checkpoint holding a copy of that Trainer checkpoint
under ``"checkpoint"``; a restored trial resumes with ``trainer.train(
resume_from_checkpoint=os.path.join(directory, "checkpoint"))``. Save and evaluate at the
same steps (``save_strategy`` = ``eval_strategy``) so that the metrics reported with a
checkpoint are the ones measured for it.

``prepare_trainer(trainer)`` returns the trainer as it is: Ray's wraps its data loaders for
Ray Data datasets, which tunelab does not have.

:mod:`tunelab.integration.huggingface` runs ``Trainer.hyperparameter_search`` on tunelab.
Importing this module imports transformers (``pip install "tunelab[transformers]"``).
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from tunelab import _session
from tunelab._checkpoint import Checkpoint, make_temp_checkpoint_dir
from tunelab._errors import ExtraNotInstalledError

try:
    import transformers
    from transformers.trainer_utils import get_last_checkpoint
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ExtraNotInstalledError(
        "tunelab.train.huggingface.transformers", "transformers", "transformers"
    ) from exc

__all__ = ["RayTrainReportCallback", "prepare_trainer"]


class RayTrainReportCallback(transformers.TrainerCallback):  # type: ignore[misc]
    """Reports the Trainer's latest logged metrics with a copy of the checkpoint it has just
    saved (under ``"checkpoint"``), at every save."""

    CHECKPOINT_NAME = "checkpoint"

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        metrics: dict[str, Any] = {}
        for log in state.log_history:
            metrics.update(log)
        source = get_last_checkpoint(args.output_dir) if os.path.isdir(args.output_dir) else None
        if source is None or not _session.is_session_enabled():
            _session.report(metrics)
            return
        directory = make_temp_checkpoint_dir()
        shutil.copytree(source, os.path.join(directory, self.CHECKPOINT_NAME))
        _session.report(metrics, checkpoint=Checkpoint.from_directory(directory))


def prepare_trainer(trainer: Any) -> Any:
    """``trainer`` itself: Ray's version adapts the Trainer to Ray Data datasets, which
    tunelab does not have (the Trainer's own datasets are used as they are).

    Args:
        trainer: A ``transformers.Trainer``.

    Returns:
        The same trainer.

    Raises:
        TypeError: ``trainer`` is not a ``transformers.Trainer``.
    """
    if not isinstance(trainer, transformers.Trainer):
        raise TypeError(
            f"trainer must be a transformers.Trainer, got {type(trainer).__name__}: {trainer!r}"
        )
    return trainer
