"""Ray AIR's ``ray.air.integrations.wandb``: :class:`WandbLoggerCallback` and
:func:`setup_wandb` (the ``wandb`` extra; see :mod:`tunelab.integration.wandb`)."""

from __future__ import annotations

from tunelab.integration._wandb import (
    WANDB_ENV_VAR,
    WANDB_GROUP_ENV_VAR,
    WANDB_MODE_ENV_VAR,
    WANDB_PROJECT_ENV_VAR,
    WandbLoggerCallback,
    setup_wandb,
)

__all__ = [
    "WANDB_ENV_VAR",
    "WANDB_GROUP_ENV_VAR",
    "WANDB_MODE_ENV_VAR",
    "WANDB_PROJECT_ENV_VAR",
    "WandbLoggerCallback",
    "setup_wandb",
]
