"""Early stopping of scikit-learn estimators: how an estimator trains one epoch at a time,
and which scheduler decides over the epochs.

An estimator trains incrementally when it is a LightGBM or XGBoost model (each epoch boosts
``n_estimators // max_iters`` more rounds from the previous booster), has ``partial_fit``
(one call per epoch), or a ``warm_start`` parameter with ``max_iter`` (each epoch runs
``max_iter // max_iters`` more iterations; not for trees and ensembles) or with
``n_estimators`` on an ensemble (each epoch adds ``n_estimators // max_iters`` members).
For a ``Pipeline`` with ``pipeline_auto_early_stop=True`` its final step decides, and the steps
before it are fitted once per fold.
"""

from __future__ import annotations

import enum
from typing import Any

from tunelab.sklearn._copy import fresh

__all__ = [
    "SCHEDULER_NAMES",
    "EarlyStopType",
    "early_stop_type",
    "final_step",
    "is_booster_model",
    "resolve_scheduler",
]

SCHEDULER_NAMES = (
    "AsyncHyperBandScheduler",
    "ASHAScheduler",
    "HyperBandScheduler",
    "HyperBandForBOHB",
    "MedianStoppingRule",
    "PopulationBasedTraining",
)


class EarlyStopType(str, enum.Enum):
    """How one epoch of an estimator is trained (``NONE``: it cannot be)."""

    PARTIAL_FIT = "partial_fit"
    WARM_START_ITER = "warm_start_iter"
    WARM_START_ENSEMBLE = "warm_start_ensemble"
    BOOSTER = "booster"
    NONE = "none"

    @property
    def resource_param(self) -> str | None:
        """The parameter early stopping grows itself (None: none)."""
        if self is EarlyStopType.WARM_START_ITER:
            return "max_iter"
        if self in (EarlyStopType.WARM_START_ENSEMBLE, EarlyStopType.BOOSTER):
            return "n_estimators"
        return None


def final_step(estimator: Any, pipeline_auto_early_stop: bool) -> tuple[str | None, Any]:
    """``(step name, final step)`` of a pipeline when its final step is what trains by
    epochs, else ``(None, estimator)``."""
    from sklearn.pipeline import Pipeline

    if pipeline_auto_early_stop and isinstance(estimator, Pipeline):
        name, step = estimator.steps[-1]
        return name, step
    return None, estimator


def early_stop_type(estimator: Any) -> EarlyStopType:
    """How ``estimator`` (a final step, see :func:`final_step`) trains by epochs."""
    from sklearn.ensemble import BaseEnsemble
    from sklearn.tree import BaseDecisionTree

    if is_booster_model(estimator):
        return EarlyStopType.BOOSTER
    if callable(getattr(estimator, "partial_fit", None)):
        return EarlyStopType.PARTIAL_FIT
    params = estimator.get_params(deep=False) if hasattr(estimator, "get_params") else {}
    if "warm_start" not in params:
        return EarlyStopType.NONE
    is_ensemble = isinstance(estimator, BaseEnsemble)
    if "max_iter" in params and not is_ensemble and not isinstance(estimator, BaseDecisionTree):
        return EarlyStopType.WARM_START_ITER
    if "n_estimators" in params and is_ensemble:
        return EarlyStopType.WARM_START_ENSEMBLE
    return EarlyStopType.NONE


def is_booster_model(estimator: Any) -> bool:
    """A LightGBM or XGBoost scikit-learn model (boosting continues from a booster)."""
    module = type(estimator).__module__ or ""
    return module.startswith(("lightgbm", "xgboost")) and hasattr(estimator, "n_estimators")


def resolve_scheduler(
    early_stopping: Any, max_iters: int, mutations: dict[str, Any] | None = None
) -> Any:
    """The scheduler for ``early_stopping``: ``True`` is ASHA (``AsyncHyperBandScheduler``
    with ``max_t=max_iters``), a name of :data:`SCHEDULER_NAMES` that scheduler (with
    ``max_t=max_iters`` where it has one; ``"PopulationBasedTraining"`` perturbs every
    ``max(1, max_iters // 4)`` epochs within ``mutations``, the search space's lists and
    domains), a scheduler object a deep copy of it (a fit never changes the object it was
    given); ``None``/``False`` is None."""
    from tunelab import schedulers

    if early_stopping is None or early_stopping is False:
        return None
    if early_stopping is True:
        return schedulers.AsyncHyperBandScheduler(max_t=max_iters)
    if isinstance(early_stopping, str):
        if early_stopping not in SCHEDULER_NAMES:
            raise ValueError(
                f"early_stopping must be a bool, a scheduler or one of {SCHEDULER_NAMES}, "
                f"got {early_stopping!r}"
            )
        cls = getattr(schedulers, early_stopping)
        if early_stopping == "MedianStoppingRule":
            return cls()
        if early_stopping == "PopulationBasedTraining":
            if not mutations:
                raise ValueError(
                    "early_stopping='PopulationBasedTraining' mutates the hyperparameters given "
                    "as lists or tunelab domains, and the search space has none; pass a "
                    "PopulationBasedTraining(hyperparam_mutations=...) object instead"
                )
            return cls(
                time_attr="training_iteration",
                perturbation_interval=max(1, max_iters // 4),
                hyperparam_mutations=mutations,
            )
        return cls(max_t=max_iters)
    if isinstance(early_stopping, schedulers.TrialScheduler):
        return fresh(early_stopping)
    raise TypeError(
        "early_stopping must be a bool, a scheduler name or a tunelab.schedulers.TrialScheduler, "
        f"got {early_stopping!r}"
    )
