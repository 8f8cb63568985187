"""Ray 2.x's ``ray.train.tensorflow.keras``: :class:`ReportCheckpointCallback`, the same
class as :class:`tunelab.air.integrations.keras.ReportCheckpointCallback` (Keras 3; see
:mod:`tunelab.integration.keras`). Importing this module imports Keras (``pip install
"tunelab[keras]"``)."""

from __future__ import annotations

from tunelab.air.integrations.keras import ReportCheckpointCallback

__all__ = ["ReportCheckpointCallback"]
