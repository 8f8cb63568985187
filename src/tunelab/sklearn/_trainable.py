"""The trainable that cross-validates one candidate: a tunelab ``Trainable`` run in a worker.

It receives, through ``with_parameters``, one :class:`FitTask` (the data, the unfitted
estimator, the folds, the scorers, ...) shipped once per worker process, and its config is
the candidate's parameters.

- Without early stopping, one ``step()`` fits a clone on each fold's training part and scores
  it on the fold's test part (``cross_validate``'s work, fold by fold).
- With early stopping, one ``step()`` is one epoch: each fold's model trains one increment
  (``partial_fit``, a warm-started ``fit`` with more iterations or more ensemble members, or
  more boosting rounds from the previous LightGBM/XGBoost booster)
  and is scored, so a scheduler can stop the candidate between epochs. The fold models are the
  checkpoint (a scheduler that pauses, or PBT that copies a better candidate, restores them;
  the restoring candidate's parameters are set on them).

When ``fit`` was given a ``sample_weight``, the scorers that accept one get the fold's
weights too, as recent scikit-learn searches do.

A fold whose fit (or scoring) fails raises when ``error_score="raise"``; otherwise its scores
are ``error_score`` and the result counts it in ``n_failed_splits`` with the first message in
``fit_error``, for the driver to warn or raise as ``GridSearchCV`` does.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunelab.sklearn._early_stop import EarlyStopType
from tunelab.sklearn._results import split_key
from tunelab.trainable import Trainable

__all__ = ["CVRunner", "CVTrainable", "FitTask"]


@dataclass(frozen=True)
class FitTask:
    """What every candidate of one search shares (sent once to each worker)."""

    X: Any
    y: Any
    estimator: Any
    splits: list[tuple[np.ndarray, np.ndarray]]
    scorers: dict[str, Any]
    fit_params: dict[str, Any] = field(default_factory=dict)
    return_train_score: bool = False
    error_score: Any = np.nan
    early_stop: EarlyStopType = EarlyStopType.NONE
    max_iters: int = 1
    #: the pipeline step trained by epochs (None: the estimator itself)
    step_name: str | None = None
    #: every class of ``y``, for ``partial_fit(..., classes=...)`` (None: not a classifier)
    classes: Any = None
    #: scorers that also get the fold's ``sample_weight`` (when ``fit`` was given one)
    weighted_scorers: frozenset[str] = frozenset()


def _n_samples(value: Any) -> int | None:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return int(shape[0]) if len(shape) else None
    if isinstance(value, (list, tuple)):
        return len(value)
    return None


def fold_params(params: dict[str, Any], n_samples: int, indices: np.ndarray) -> dict[str, Any]:
    """Fit parameters for one fold: sample-aligned values (``sample_weight``...) indexed."""
    from sklearn.utils import _safe_indexing

    return {
        key: _safe_indexing(value, indices) if _n_samples(value) == n_samples else value
        for key, value in params.items()
    }


def _message(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class _Fold:
    """One fold's data, cut once."""

    def __init__(self, task: FitTask, train: np.ndarray, test: np.ndarray) -> None:
        from sklearn.utils.metaestimators import _safe_split

        self.X_train, self.y_train = _safe_split(task.estimator, task.X, task.y, train)
        self.X_test, self.y_test = _safe_split(task.estimator, task.X, task.y, test, train)
        n_samples = _n_samples(task.X) or 0
        self.fit_params = fold_params(task.fit_params, n_samples, train)
        weight = task.fit_params.get("sample_weight")
        self.weights: dict[str, Any] = {"test": None, "train": None}
        if weight is not None and task.weighted_scorers:
            self.weights = {
                "test": fold_params({"w": weight}, n_samples, test)["w"],
                "train": self.fit_params["sample_weight"],
            }


class CVRunner:
    """Cross-validates ``params`` (one candidate) on ``task``, one ``step()`` at a time.

    Plain object: :class:`CVTrainable` runs it in a worker; the driver runs one to raise a
    failed candidate's own exception again (``error_score="raise"``).
    """

    def __init__(self, task: FitTask, params: dict[str, Any]) -> None:
        self.task = task
        self._params = dict(params)
        self._folds: list[_Fold] | None = None
        self._reset_models()

    def _reset_models(self) -> None:
        self._models: list[Any] | None = None
        self._step_size = 0
        self._fit_times = [0.0] * len(self.task.splits)
        self._transformed: dict[int, Any] = {}
        self._head_fitted: set[int] = set()

    def reconfigure(self, params: dict[str, Any]) -> None:
        """Start over with another candidate (same task)."""
        self._params = dict(params)
        self._reset_models()

    # -- one step ----------------------------------------------------------------------
    def folds(self) -> list[_Fold]:
        if self._folds is None:
            self._folds = [_Fold(self.task, tr, te) for tr, te in self.task.splits]
        return self._folds

    def step(self) -> dict[str, Any]:
        task = self.task
        result: dict[str, Any] = {}
        failed = 0
        first_error = ""
        incremental = task.early_stop is not EarlyStopType.NONE
        if incremental and self._models is None:
            self._models = [self._new_incremental_model() for _ in task.splits]
        for k, fold in enumerate(self.folds()):
            start = time.perf_counter()
            error = ""
            try:
                model = self._epoch(k, fold) if incremental else self._fit(fold)
            except Exception as exc:
                if isinstance(task.error_score, str):  # "raise"
                    raise
                model, error = None, _message(exc)
            fit_time = time.perf_counter() - start
            self._fit_times[k] = (self._fit_times[k] if incremental else 0.0) + fit_time
            start = time.perf_counter()
            scores: dict[tuple[str, str], float] = {}
            for kind, X, y in self._score_sets(fold):
                for name, scorer in task.scorers.items():
                    value = task.error_score
                    if model is not None:
                        try:
                            if name in task.weighted_scorers:
                                weight = fold.weights[kind]
                                value = scorer(model, X, y, sample_weight=weight)
                            else:
                                value = scorer(model, X, y)
                        except Exception as exc:
                            if isinstance(task.error_score, str):
                                raise
                            error = error or f"scoring {name!r}: {_message(exc)}"
                    scores[kind, name] = float(value)
            result[f"split{k}_fit_time"] = self._fit_times[k]
            result[f"split{k}_score_time"] = time.perf_counter() - start
            for (kind, name), value in scores.items():
                result[split_key(k, kind, name)] = value
            if error:
                failed += 1
                first_error = first_error or error
        for kind, _, _ in self._score_sets(None):
            for name in task.scorers:
                values = [result[split_key(k, kind, name)] for k in range(len(task.splits))]
                result[f"average_{kind}_{name}"] = float(np.mean(values))
        result["n_failed_splits"] = failed
        result["fit_error"] = first_error
        return result

    def _score_sets(self, fold: _Fold | None) -> list[tuple[str, Any, Any]]:
        sets = [("test", fold.X_test if fold else None, fold.y_test if fold else None)]
        if self.task.return_train_score:
            sets.append(("train", fold.X_train if fold else None, fold.y_train if fold else None))
        return sets

    def _fit(self, fold: _Fold) -> Any:
        from sklearn.base import clone

        model = clone(self.task.estimator).set_params(**self._params)
        model.fit(fold.X_train, fold.y_train, **fold.fit_params)  # y=None: unsupervised
        return model

    # -- early stopping ----------------------------------------------------------------
    def _final(self, model: Any) -> Any:
        return model.steps[-1][1] if self.task.step_name is not None else model

    def _new_incremental_model(self) -> Any:
        from sklearn.base import clone

        model = clone(self.task.estimator).set_params(**self._params)
        final = self._final(model)
        kind = self.task.early_stop
        if kind is EarlyStopType.WARM_START_ITER:
            budget = int(final.get_params()["max_iter"])
            final.set_params(warm_start=True, max_iter=max(1, budget // self.task.max_iters))
        elif kind is EarlyStopType.WARM_START_ENSEMBLE:
            budget = int(final.get_params()["n_estimators"])
            self._step_size = max(1, budget // self.task.max_iters)
            final.set_params(warm_start=True, n_estimators=0)
        elif kind is EarlyStopType.BOOSTER:
            budget = int(final.get_params()["n_estimators"])
            final.set_params(n_estimators=max(1, budget // self.task.max_iters))
        return model

    def _inputs(self, k: int, fold: _Fold, model: Any) -> tuple[Any, dict[str, Any]]:
        """The final step's training input and fit parameters (a pipeline's leading steps
        are fitted on the first epoch of the fold, and their output is kept)."""
        name = self.task.step_name
        if name is None:
            return fold.X_train, fold.fit_params
        prefix = f"{name}__"
        own = {k[len(prefix) :]: v for k, v in fold.fit_params.items() if k.startswith(prefix)}
        if k not in self._transformed:
            head = model[:-1]
            if k in self._head_fitted:
                self._transformed[k] = head.transform(fold.X_train)
            else:
                rest = {p: v for p, v in fold.fit_params.items() if not p.startswith(prefix)}
                self._transformed[k] = head.fit_transform(fold.X_train, fold.y_train, **rest)
                self._head_fitted.add(k)
        return self._transformed[k], own

    def _epoch(self, k: int, fold: _Fold) -> Any:
        assert self._models is not None
        model = self._models[k]
        final = self._final(model)
        X_train, params = self._inputs(k, fold, model)
        kind = self.task.early_stop
        if kind is EarlyStopType.PARTIAL_FIT:
            if self.task.classes is not None and _accepts(final.partial_fit, "classes"):
                params = {"classes": self.task.classes, **params}
            final.partial_fit(X_train, fold.y_train, **params)
        elif kind is EarlyStopType.WARM_START_ITER:
            final.fit(X_train, fold.y_train, **params)
        elif kind is EarlyStopType.BOOSTER:
            booster = _booster(final)
            if booster is not None:
                key = "xgb_model" if type(final).__module__.startswith("xgboost") else "init_model"
                params = {**params, key: booster}
            final.fit(X_train, fold.y_train, **params)
        else:
            final.set_params(n_estimators=int(final.get_params()["n_estimators"]) + self._step_size)
            final.fit(X_train, fold.y_train, **params)
        return model

    # -- checkpoints -------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "models": self._models,
            "step_size": self._step_size,
            "fit_times": list(self._fit_times),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self._models = state["models"]
        self._step_size = int(state["step_size"])
        self._fit_times = list(state["fit_times"])
        self._transformed = {}
        self._head_fitted = set(range(len(self._models))) if self._models is not None else set()
        if self._models is not None and self._params:
            # the restoring candidate's parameters (PBT restores another candidate's models)
            for model in self._models:
                model.set_params(**self._params)


class CVTrainable(Trainable):
    """The tunelab trainable around a :class:`CVRunner`; its config is the candidate."""

    def setup(self, config: dict[str, Any], **kwargs: Any) -> None:
        task = kwargs.get("task")
        if not isinstance(task, FitTask):
            raise TypeError("CVTrainable needs its FitTask (tunelab.with_parameters(..., task=))")
        self.runner = CVRunner(task, config)

    def step(self) -> dict[str, Any]:
        return self.runner.step()

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        self.runner.reconfigure(new_config)
        return True

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        return self.runner.state()

    def load_checkpoint(self, checkpoint: Any) -> None:
        self.runner.load_state(checkpoint)


def _booster(model: Any) -> Any:
    """A fitted LightGBM/XGBoost model's booster (None before its first fit)."""
    try:
        if type(model).__module__.startswith("xgboost"):
            return model.get_booster()
        return model.booster_
    except Exception:  # not fitted yet
        return None


def _accepts(method: Any, name: str) -> bool:
    try:
        return name in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
