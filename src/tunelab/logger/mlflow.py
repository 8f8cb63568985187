"""Ray Tune 2.x's ``ray.tune.logger.mlflow``: :class:`MLflowLoggerCallback` (the ``mlflow``
extra; see :mod:`tunelab.integration.mlflow`)."""

from __future__ import annotations

from tunelab.integration._mlflow import MLflowLoggerCallback

__all__ = ["MLflowLoggerCallback"]
