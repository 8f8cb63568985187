"""``validate_save_restore``: check that a Trainable class saves and restores correctly."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any


def validate_save_restore(
    trainable_cls: type,
    config: dict[str, Any] | None = None,
    num_gpus: int = 0,
    use_object_store: bool = False,
) -> bool:
    """Train 3 iterations on one instance, save, restore into a fresh instance (from a
    copy of the checkpoint directory) and check that training continues at iterations 4
    and 5. Raises AssertionError-free ``ValueError`` describing what went wrong."""
    from tunelab.trainable import Trainable

    if not (isinstance(trainable_cls, type) and issubclass(trainable_cls, Trainable)):
        raise TypeError(
            f"validate_save_restore: trainable_cls must be a Trainable subclass, got "
            f"{trainable_cls!r}"
        )
    config = dict(config or {})
    first = trainable_cls(config)
    for _ in range(3):
        first.train()
    workdir = tempfile.mkdtemp(prefix="tunelab-validate-")
    try:
        saved = first.save(os.path.join(workdir, "original"))
        copied = shutil.copytree(saved, os.path.join(workdir, "copied"))
        first.stop()
        second = trainable_cls(config)
        second.restore(copied)
        iterations = [second.train()["training_iteration"] for _ in range(2)]
        second.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if iterations != [4, 5]:
        raise ValueError(
            f"validate_save_restore: after restoring a checkpoint taken at iteration 3, "
            f"{trainable_cls.__name__} reported training_iteration {iterations}, expected [4, 5]"
        )
    return True
