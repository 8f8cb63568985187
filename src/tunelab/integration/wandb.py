"""Weights & Biases (Ray Tune's ``ray.tune.integration.wandb``, with the ``wandb`` extra).

* :class:`WandbLoggerCallback`: one W&B run per trial (config, every result's values at
  its ``training_iteration``, checkpoints as artifacts on request, a failed trial's run
  marked failed), its calls made in a helper thread of the driver;
* :func:`setup_wandb` (Ray 2.x), :func:`wandb_mixin` and :class:`WandbTrainableMixin`
  (Ray 1.x): a W&B run inside the trainable, for ``wandb.log`` calls;
* :class:`WandbLogger`: Ray 0.8's legacy ``Logger``.

``WANDB_MODE=offline`` logs to files in each trial's directory without network or API key.
Importing this module does not import wandb; using a name does, and raises an
``ImportError`` naming ``pip install "tunelab[wandb]"`` when it is missing.
"""

from __future__ import annotations

from tunelab.integration._wandb import (
    WANDB_ENV_VAR,
    WANDB_GROUP_ENV_VAR,
    WANDB_MODE_ENV_VAR,
    WANDB_PROJECT_ENV_VAR,
    WandbLogger,
    WandbLoggerCallback,
    WandbTrainableMixin,
    setup_wandb,
    wandb_mixin,
)

__all__ = [
    "WANDB_ENV_VAR",
    "WANDB_GROUP_ENV_VAR",
    "WANDB_MODE_ENV_VAR",
    "WANDB_PROJECT_ENV_VAR",
    "WandbLogger",
    "WandbLoggerCallback",
    "WandbTrainableMixin",
    "setup_wandb",
    "wandb_mixin",
]
