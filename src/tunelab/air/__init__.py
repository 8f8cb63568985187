"""The ``ray.air`` import path of tunelab: ``from tunelab import air``.

Configs (``air.RunConfig``, ``air.CheckpointConfig``, ``air.FailureConfig``, ...), the
in-trial ``session`` module, ``Checkpoint``, ``Result`` and ``ScalingConfig`` (2.x), so that
Ray AIR code ports by changing ``from ray import air`` to ``from tunelab import air``.
"""

from __future__ import annotations

from typing import Any

from tunelab.air.config import (
    CheckpointConfig,
    FailureConfig,
    ResumeConfig,
    RunConfig,
    SyncConfig,
    TuneConfig,
)

__all__ = [
    "Checkpoint",
    "CheckpointConfig",
    "FailureConfig",
    "Result",
    "ResumeConfig",
    "RunConfig",
    "ScalingConfig",
    "SyncConfig",
    "TuneConfig",
    "session",
]


def __getattr__(name: str) -> Any:
    # Checkpoint is imported on first use, so that this package imports without it.
    if name == "Checkpoint":
        from tunelab._checkpoint import Checkpoint

        return Checkpoint
    # Ray 2.x's ``ray.air.Result`` and ``ray.air.ScalingConfig``: the classes of tunelab.train.
    if name in ("Result", "ScalingConfig"):
        import tunelab.train

        return getattr(tunelab.train, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


from tunelab.air import session  # noqa: E402  (imported last: session may import configs)
