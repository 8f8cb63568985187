"""Ray AIR's ``ray.air.integrations.mlflow``: :class:`MLflowLoggerCallback` and
:func:`setup_mlflow` (the ``mlflow`` extra; see :mod:`tunelab.integration.mlflow`)."""

from __future__ import annotations

from tunelab.integration._mlflow import MLflowLoggerCallback, setup_mlflow

__all__ = ["MLflowLoggerCallback", "setup_mlflow"]
