"""MLflow (Ray Tune's ``ray.tune.integration.mlflow``, with the ``mlflow`` extra).

* :class:`MLflowLoggerCallback`: one MLflow run per trial (params, every result's metrics
  at its step, the trial directory as artifacts on request, the status at the end), its
  calls made in a helper thread of the driver;
* :func:`setup_mlflow` (Ray 2.x), :func:`mlflow_mixin` and :class:`MLflowTrainableMixin`
  (Ray 1.x): an MLflow run inside the trainable, for ``mlflow.log_*`` calls;
* :class:`MLflowLogger` (Ray 1.0's legacy ``Logger``; :data:`MLFLowLogger` is 0.8's
  spelling, also at ``tunelab.logger.MLFLowLogger``).

Importing this module does not import mlflow; using a name does, and raises an
``ImportError`` naming ``pip install "tunelab[mlflow]"`` when it is missing.
"""

from __future__ import annotations

from tunelab.integration._mlflow import (
    MLFLowLogger,
    MLflowLogger,
    MLflowLoggerCallback,
    MLflowTrainableMixin,
    mlflow_mixin,
    setup_mlflow,
)

__all__ = [
    "MLFLowLogger",
    "MLflowLogger",
    "MLflowLoggerCallback",
    "MLflowTrainableMixin",
    "mlflow_mixin",
    "setup_mlflow",
]
