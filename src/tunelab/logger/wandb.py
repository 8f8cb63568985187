"""Ray Tune 2.x's ``ray.tune.logger.wandb``: :class:`WandbLoggerCallback` (the ``wandb``
extra; see :mod:`tunelab.integration.wandb`)."""

from __future__ import annotations

from tunelab.integration._wandb import WandbLoggerCallback

__all__ = ["WandbLoggerCallback"]
