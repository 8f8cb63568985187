"""Configuration objects of ``Tuner`` and ``tune.run`` (Ray AIR's ``ray.air.config`` path).

``from tunelab.air.config import RunConfig`` and ``from tunelab.air import RunConfig`` name
the same classes as ``tunelab.RunConfig``.
"""

from __future__ import annotations

from tunelab._config import (
    CheckpointConfig,
    FailureConfig,
    ResumeConfig,
    RunConfig,
    SyncConfig,
    TuneConfig,
)

__all__ = [
    "CheckpointConfig",
    "FailureConfig",
    "ResumeConfig",
    "RunConfig",
    "SyncConfig",
    "TuneConfig",
]
