"""What a fitted search delegates to its refitted best estimator: ``predict``,
``predict_proba``, ``decision_function``, ``transform``, ``score``..., ``classes_``,
``n_features_in_``, and the estimator tags (a search is what the estimator it searches is).

A delegated method exists (``hasattr``) when ``refit`` is set and the best estimator (before
``fit``: the estimator) has it, as for scikit-learn's own searches.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar, cast

from sklearn.exceptions import NotFittedError
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

__all__ = ["BestEstimatorMixin", "delegated"]

_F = TypeVar("_F", bound=Callable[..., Any])


def _check_refit_attr(self: Any, attr: str) -> None:
    if not self.refit:
        raise AttributeError(
            f"This {type(self).__name__} instance was initialized with refit=False. {attr} is "
            "available only after refitting on the best parameters (refit the estimator "
            "yourself with best_params_)."
        )


def delegated(attr: str) -> Callable[[_F], _F]:
    """``available_if``: the method exists when the refitted best estimator (else the
    estimator) has ``attr``."""
    return cast("Callable[[_F], _F]", available_if(_estimator_has(attr)))


def _estimator_has(attr: str) -> Callable[[Any], bool]:

    def check(self: Any) -> bool:
        _check_refit_attr(self, attr)
        if hasattr(self, "best_estimator_"):
            getattr(self.best_estimator_, attr)
        else:
            getattr(self.estimator, attr)
        return True

    return check


class BestEstimatorMixin:
    """The delegation half of a search (see the module docstring); the search sets
    ``best_estimator_``, ``scorer_``, ``multimetric_`` and ``refit``."""

    estimator: Any
    refit: Any
    best_estimator_: Any
    scorer_: Any
    multimetric_: bool

    def __sklearn_tags__(self) -> Any:
        """The estimator's kind, target, input and transformer tags (a search is what the
        estimator it searches is)."""
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()  # type: ignore[misc]  # BaseEstimator's
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = copy.deepcopy(inner.classifier_tags)
        tags.regressor_tags = copy.deepcopy(inner.regressor_tags)
        tags.transformer_tags = copy.deepcopy(inner.transformer_tags)
        tags.target_tags = copy.deepcopy(inner.target_tags)
        tags.input_tags.pairwise = inner.input_tags.pairwise
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags

    def _metric_scorer_name(self) -> str:
        if not self.multimetric_:
            return "score"
        return self.refit if isinstance(self.refit, str) else next(iter(self.scorer_))

    def score(self, X: Any, y: Any = None) -> float:
        """The refit scorer (the estimator's ``score`` without ``scoring``) of the best
        estimator on ``X``, ``y``."""
        _check_refit_attr(self, "score")
        check_is_fitted(self)
        scorer = self.scorer_[self._metric_scorer_name()] if self.multimetric_ else self.scorer_
        return float(scorer(self.best_estimator_, X, y))

    @delegated("predict")
    def predict(self, X: Any) -> Any:
        """``best_estimator_.predict``."""
        check_is_fitted(self)
        return self.best_estimator_.predict(X)

    @delegated("predict_proba")
    def predict_proba(self, X: Any) -> Any:
        """``best_estimator_.predict_proba``."""
        check_is_fitted(self)
        return self.best_estimator_.predict_proba(X)

    @delegated("predict_log_proba")
    def predict_log_proba(self, X: Any) -> Any:
        """``best_estimator_.predict_log_proba``."""
        check_is_fitted(self)
        return self.best_estimator_.predict_log_proba(X)

    @delegated("decision_function")
    def decision_function(self, X: Any) -> Any:
        """``best_estimator_.decision_function``."""
        check_is_fitted(self)
        return self.best_estimator_.decision_function(X)

    @delegated("score_samples")
    def score_samples(self, X: Any) -> Any:
        """``best_estimator_.score_samples``."""
        check_is_fitted(self)
        return self.best_estimator_.score_samples(X)

    @delegated("transform")
    def transform(self, X: Any) -> Any:
        """``best_estimator_.transform``."""
        check_is_fitted(self)
        return self.best_estimator_.transform(X)

    @delegated("inverse_transform")
    def inverse_transform(self, X: Any) -> Any:
        """``best_estimator_.inverse_transform``."""
        check_is_fitted(self)
        return self.best_estimator_.inverse_transform(X)

    @property
    def classes_(self) -> Any:
        """The classes of the refitted best estimator."""
        _check_refit_attr(self, "classes_")
        return self.best_estimator_.classes_

    @property
    def n_features_in_(self) -> int:
        """The number of features the refitted best estimator saw."""
        try:
            check_is_fitted(self)
        except NotFittedError as error:
            raise AttributeError(
                f"{type(self).__name__} object has no n_features_in_ attribute"
            ) from error
        return int(self.best_estimator_.n_features_in_)
