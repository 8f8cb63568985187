"""Ray 2.x's ``ray.train.lightgbm`` as Tune code uses it: :class:`RayTrainReportCallback`.

``RayTrainReportCallback`` is
:class:`tunelab.integration.lightgbm.TuneReportCheckpointCallback` with Ray 2.10+'s defaults:
no checkpoint during training (``frequency=0``), one with the last round's result
(``checkpoint_at_end=True``), the booster saved as ``"model.txt"``;
``RayTrainReportCallback.get_model(result.checkpoint)`` loads it back.

Ray Train's distributed ``LightGBMTrainer`` (and ``LightGBMConfig``, ``LightGBMCheckpoint``,
``LightGBMPredictor``, ``get_network_params``, ``normalize_pandas_for_lightgbm``) has no
counterpart: importing those names raises an ``ImportError`` that says so. Importing this
module imports ``lightgbm`` (``pip install "tunelab[lightgbm]"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tunelab.integration._gbdt import Metrics, ray_train_only
from tunelab.integration.lightgbm import TuneReportCheckpointCallback

__all__ = ["RayTrainReportCallback"]


class RayTrainReportCallback(TuneReportCheckpointCallback):
    """LightGBM callback reporting every round's evaluation results to the trial and
    checkpointing the booster with the last round (and every ``frequency`` rounds if
    ``frequency`` > 0); see
    :class:`~tunelab.integration.lightgbm.TuneReportCheckpointCallback`.

    Args:
        metrics: Which evaluation results to report: None reports all of them under the
            framework's names; a name or a list of names reports those; a dict
            ``{name to report: framework name}`` renames them.
        filename: The file name of the booster inside each checkpoint. Default: ``"model.txt"``.
        frequency: Checkpoint the booster every this many rounds (counting from 1); 0 (the
            default) never during training.
        checkpoint_at_end: Checkpoint the booster after the last round. Default True.
        results_postprocessing_fn: ``f(report_dict) -> dict`` that may change the dict
            before it is reported (e.g. average ``cv``'s per-fold results). None: report it
            as it is.
    """

    def __init__(
        self,
        metrics: Metrics = None,
        filename: str = TuneReportCheckpointCallback.CHECKPOINT_NAME,
        frequency: int = 0,
        checkpoint_at_end: bool = True,
        results_postprocessing_fn: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(
            metrics=metrics,
            filename=filename,
            frequency=frequency,
            checkpoint_at_end=checkpoint_at_end,
            results_postprocessing_fn=results_postprocessing_fn,
        )


def __getattr__(name: str) -> Any:
    ray_train_only(
        __name__,
        name,
        (
            "LightGBMCheckpoint",
            "LightGBMConfig",
            "LightGBMPredictor",
            "LightGBMTrainer",
            "get_network_params",
            "normalize_pandas_for_lightgbm",
        ),
    )
