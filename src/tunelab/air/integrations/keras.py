"""Ray AIR's ``ray.air.integrations.keras`` (Ray 2.x): :class:`ReportCheckpointCallback`.

``ReportCheckpointCallback(checkpoint_on="epoch_end", report_metrics_on="epoch_end",
metrics=None)`` reports Keras's logs to the running trial at the ``report_metrics_on`` hooks
and checkpoints the model (saved as ``"model.keras"``) at the ``checkpoint_on`` hooks, the
metrics always reported with a checkpoint; ``checkpoint_on=[]`` never checkpoints.
``ReportCheckpointCallback.get_model(result.checkpoint)`` loads the model back. It is
:class:`tunelab.integration.keras.TuneReportCheckpointCallback` with Ray 2.x's argument
order; see :mod:`tunelab.integration.keras` for the hooks, the metrics and Keras's backend.

Importing this module imports Keras (``pip install "tunelab[keras]"``).
"""

from __future__ import annotations

from tunelab.integration._framework import Metrics
from tunelab.integration.keras import TuneReportCheckpointCallback

__all__ = ["ReportCheckpointCallback"]


class ReportCheckpointCallback(TuneReportCheckpointCallback):
    """Keras callback reporting to the trial at ``report_metrics_on`` and checkpointing the
    model (with the metrics) at ``checkpoint_on``.

    Args:
        checkpoint_on: The Keras hook name(s) at which the model is checkpointed (saved as
            ``"model.keras"``), such as ``"epoch_end"`` (the default) or
            ``"train_end"``; ``[]`` never checkpoints.
        report_metrics_on: The hook name(s) at which Keras's logs are reported. Default
            ``"epoch_end"``.
        metrics: Which of Keras's logs to report: None (the default) all of them; a name
            or a list of names; a dict ``{name to report: Keras's name}`` renames them.
    """

    def __init__(
        self,
        checkpoint_on: str | list[str] = "epoch_end",
        report_metrics_on: str | list[str] = "epoch_end",
        metrics: Metrics = None,
    ) -> None:
        super().__init__(
            metrics=metrics, checkpoint_on=checkpoint_on, report_metrics_on=report_metrics_on
        )
