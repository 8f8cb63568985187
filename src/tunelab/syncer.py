"""Ray Tune's ``ray.tune.syncer`` path: :class:`SyncConfig` (``from ray.tune.syncer import
SyncConfig`` in Ray 1.x/2.x scripts)."""

from __future__ import annotations

from tunelab._config import SyncConfig

__all__ = ["SyncConfig"]
