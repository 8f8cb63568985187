"""What ``TuneSearchCV`` and ``TuneGridSearchCV`` share: ``fit`` through ``tunelab.run``,
the results, the refit and the delegation to the best estimator.

As every scikit-learn estimator, the constructors only store their arguments (so ``clone``,
``get_params``/``set_params`` and pipelines work); ``fit`` validates them and raises
``ValueError``/``TypeError`` naming the argument.

``fit`` runs one tunelab experiment: one trial per candidate, each a :class:`CVTrainable`
that cross-validates the candidate on the same folds (computed once, as ``GridSearchCV``
does), in worker processes (``n_jobs`` at a time; ``n_jobs=1`` runs them in threads of this
process, as tune-sklearn's ``n_jobs=1`` used Ray's local mode). The metric is
``average_test_<scorer>`` (tune-sklearn's name), maximized unless ``mode="min"``. Results land
in an experiment directory under ``local_dir``/``storage_path``, by default a temporary
directory removed when the search object is garbage-collected.
"""

from __future__ import annotations

import numbers
import os
import shutil
import tempfile
import time
import warnings
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.utils.validation import indexable

from tunelab._callback import Callback
from tunelab._errors import TrialError
from tunelab.sklearn._copy import fresh
from tunelab.sklearn._delegate import BestEstimatorMixin, delegated
from tunelab.sklearn._early_stop import (
    EarlyStopType,
    early_stop_type,
    final_step,
    resolve_scheduler,
)
from tunelab.sklearn._results import best_index, build_cv_results, failure_report
from tunelab.sklearn._scoring import (
    accepts_sample_weight,
    check_refit,
    metric_key,
    scorers_for,
)
from tunelab.sklearn._space import check_warm_start_params
from tunelab.sklearn._trainable import CVRunner, CVTrainable, FitTask

__all__ = ["Plan", "TuneBaseSearchCV"]

_LOGGER_NAMES = ("csv", "json", "tensorboard", "mlflow")


@dataclass
class Plan:
    """How a search feeds candidates to the run (see ``_plan``)."""

    config: dict[str, Any]
    num_samples: int
    search_alg: Any = None


class _ErrorRecorder(Callback):
    """Keeps the configs of trials that failed (to raise their error again in the driver)."""

    def __init__(self) -> None:
        self.configs: dict[str, dict[str, Any]] = {}

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.configs[trial.trial_id] = dict(trial.config)


class TuneBaseSearchCV(BestEstimatorMixin, MetaEstimatorMixin, BaseEstimator):  # type: ignore[misc]
    """Base of :class:`~tunelab.sklearn.TuneSearchCV` and
    :class:`~tunelab.sklearn.TuneGridSearchCV` (see the module docstring).

    Subclasses store their constructor arguments (including every name read here: estimator,
    early_stopping, scoring, n_jobs, cv, refit, verbose, error_score, return_train_score,
    local_dir, storage_path, name, max_iters, use_gpu, loggers, pipeline_auto_early_stop,
    stopper, time_budget_s, sk_n_jobs, mode) and implement :meth:`_space_dicts` and
    :meth:`_plan`.
    """

    # set by subclasses' __init__
    estimator: Any
    early_stopping: Any
    scoring: Any
    n_jobs: Any
    cv: Any
    refit: Any
    verbose: Any
    error_score: Any
    return_train_score: Any
    local_dir: Any
    storage_path: Any
    name: Any
    max_iters: Any
    use_gpu: Any
    loggers: Any
    pipeline_auto_early_stop: Any
    stopper: Any
    time_budget_s: Any
    sk_n_jobs: Any
    mode: Any

    # -- subclass hooks ----------------------------------------------------------------
    def _space_dicts(self) -> Any:
        """The parameter space as given (for checks and PBT's mutations)."""
        raise NotImplementedError

    def _plan(self, metric: str, mode: str, scheduler: Any) -> Plan:
        """The run's config, number of trials and search algorithm."""
        raise NotImplementedError

    def _effective_early_stopping(self) -> Any:
        """``early_stopping`` as the search uses it (BOHB brings its own scheduler)."""
        return self.early_stopping

    def _mutations(self) -> dict[str, Any]:
        from tunelab.search._domain import Domain

        space = self._space_dicts()
        if not isinstance(space, dict):
            return {}
        return {k: v for k, v in space.items() if isinstance(v, (list, Domain))}

    # -- validation --------------------------------------------------------------------
    def _check_common(self) -> None:
        if not hasattr(self.estimator, "fit"):
            raise TypeError(f"estimator must be a scikit-learn estimator, got {self.estimator!r}")
        if isinstance(self.max_iters, bool) or not isinstance(self.max_iters, numbers.Integral):
            raise TypeError(f"max_iters must be an int >= 1, got {self.max_iters!r}")
        if self.max_iters < 1:
            raise ValueError(f"max_iters must be >= 1, got {self.max_iters}")
        if self.n_jobs is not None and (
            isinstance(self.n_jobs, bool)
            or not isinstance(self.n_jobs, numbers.Integral)
            or self.n_jobs == 0
        ):
            raise ValueError(f"n_jobs must be None or a non-zero int, got {self.n_jobs!r}")
        if not (
            (isinstance(self.error_score, str) and self.error_score == "raise")
            or (
                isinstance(self.error_score, numbers.Real)
                and not isinstance(self.error_score, bool)
            )
        ):
            raise ValueError(f"error_score must be 'raise' or a number, got {self.error_score!r}")
        if self.mode not in (None, "max", "min"):
            raise ValueError(f"mode must be None, 'max' or 'min', got {self.mode!r}")
        if self.sk_n_jobs not in (None, 1):
            raise ValueError(
                f"sk_n_jobs must be None or 1 (no nested parallelism), got {self.sk_n_jobs!r}"
            )
        if self.local_dir is not None and self.storage_path is not None:
            raise ValueError(
                "pass local_dir or storage_path (its newer name), not both; got "
                f"local_dir={self.local_dir!r} and storage_path={self.storage_path!r}"
            )
        for argument in ("return_train_score", "use_gpu", "pipeline_auto_early_stop"):
            if not isinstance(getattr(self, argument), (bool, np.bool_)):
                raise TypeError(f"{argument} must be a bool, got {getattr(self, argument)!r}")
        if self.loggers is not None and not isinstance(self.loggers, (list, tuple)):
            raise TypeError(f"loggers must be None or a list, got {self.loggers!r}")

    def _callbacks(self) -> list[Any]:
        """``loggers`` as callbacks: names ("csv", "json", "tensorboard", "mlflow"), logger
        callbacks or their classes. tunelab writes JSON and CSV (and TensorBoard files with
        its extra) anyway."""
        from tunelab.logger import CSVLoggerCallback, JsonLoggerCallback, TBXLoggerCallback

        callbacks: list[Any] = []
        for entry in self.loggers or ():
            if isinstance(entry, str):
                if entry not in _LOGGER_NAMES:
                    raise ValueError(f"loggers: {entry!r} is not one of {_LOGGER_NAMES}")
                if entry == "mlflow":
                    from tunelab.air.integrations.mlflow import MLflowLoggerCallback

                    callbacks.append(MLflowLoggerCallback())
                else:
                    cls = {
                        "csv": CSVLoggerCallback,
                        "json": JsonLoggerCallback,
                        "tensorboard": TBXLoggerCallback,
                    }[entry]
                    callbacks.append(cls())
            elif isinstance(entry, type) and issubclass(entry, Callback):
                callbacks.append(entry())
            elif isinstance(entry, Callback):
                callbacks.append(fresh(entry))
            else:
                raise TypeError(
                    f"loggers: each entry must be a name of {_LOGGER_NAMES}, a logger callback "
                    f"or its class, got {entry!r}"
                )
        return callbacks

    def _storage(self) -> dict[str, Any]:
        if self.storage_path is not None:
            return {"storage_path": self.storage_path}
        if self.local_dir is not None:
            return {"local_dir": self.local_dir}
        path = tempfile.mkdtemp(prefix="tunelab-sklearn-")
        weakref.finalize(self, shutil.rmtree, path, True)
        return {"local_dir": path}

    def _execution(self) -> dict[str, Any]:
        resources = {"cpu": 1, "gpu": 1 if self.use_gpu else 0}
        if self.n_jobs == 1:
            from tunelab.execution import InProcessExecutor

            return {
                "resources_per_trial": resources,
                "executor": InProcessExecutor(num_cpus=1, num_gpus=1 if self.use_gpu else 0),
            }
        jobs = self.n_jobs
        if jobs is not None and jobs < -1:
            jobs = max(1, (os.cpu_count() or 1) + 1 + int(jobs))
        options: dict[str, Any] = {"resources_per_trial": resources}
        if jobs is not None and jobs > 0:
            options["max_concurrent_trials"] = int(jobs)
        return options

    def _epochs(self) -> tuple[EarlyStopType, str | None, int, Any]:
        """``(how an epoch trains, the pipeline step trained by epochs, epochs, scheduler)``;
        warns (for ``fit``'s caller) about a ``max_iters`` that cannot act."""
        max_iters = int(self.max_iters)
        kind = EarlyStopType.NONE
        step_name: str | None = None
        early_stopping = self._effective_early_stopping()
        if early_stopping is not None and early_stopping is not False:
            step_name, final = final_step(self.estimator, self.pipeline_auto_early_stop)
            kind = early_stop_type(final)
            if kind is EarlyStopType.NONE:
                raise ValueError(
                    f"early_stopping={early_stopping!r} needs an estimator that trains by "
                    "epochs (partial_fit, warm_start with max_iter or n_estimators, or a "
                    "LightGBM/XGBoost model); "
                    f"{type(final).__name__} does not: set early_stopping=False"
                )
            check_warm_start_params(self._space_dicts(), kind.resource_param, step_name)
            if max_iters == 1:
                warnings.warn(
                    "early_stopping is set but max_iters=1: every candidate trains one epoch; "
                    "set max_iters > 1 to stop poor candidates early",
                    UserWarning,
                    stacklevel=3,
                )
        elif max_iters > 1:
            warnings.warn(
                f"max_iters={max_iters} has no effect without early_stopping (each candidate is "
                "fitted once); using max_iters=1",
                UserWarning,
                stacklevel=3,
            )
            max_iters = 1
        mutations = self._mutations() if early_stopping == "PopulationBasedTraining" else None
        scheduler = resolve_scheduler(early_stopping, max_iters, mutations)
        if kind is EarlyStopType.NONE:
            step_name = None
        return kind, step_name, max_iters, scheduler

    # -- fit ---------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any = None,
        groups: Any = None,
        tune_params: dict[str, Any] | None = None,
        **fit_params: Any,
    ) -> TuneBaseSearchCV:
        """Cross-validate the candidates in a tunelab experiment, pick the best, refit it.

        Args:
            X: The training data.
            y: The targets (None for unsupervised estimators).
            groups: Group labels for the ``cv`` splitter (``GroupKFold``...).
            tune_params: Extra :func:`tunelab.run` arguments; they override those set by
                the search (with a warning), and ``callbacks`` are added to the loggers'.
            **fit_params: Passed to the estimator's ``fit`` (sample-aligned ones are cut
                per fold).

        Returns:
            The fitted search itself.

        Raises:
            ValueError: An argument is invalid, or every fit failed.
            TypeError: An argument has the wrong type.
        """
        from sklearn.model_selection import check_cv

        import tunelab

        self._check_common()
        if tune_params is not None and not isinstance(tune_params, dict):
            raise TypeError(f"tune_params must be None or a dict, got {tune_params!r}")
        X, y, groups = indexable(X, y, groups)
        scorers, multimetric = scorers_for(self.estimator, self.scoring)
        check_refit(self.refit, scorers, multimetric)
        metric = metric_key(self.refit, scorers, multimetric)
        mode = self.mode or "max"

        with warnings.catch_warnings():
            # telling classes from a y holding inf/NaN casts them; the estimator's own fit
            # then says what is wrong with y
            warnings.simplefilter("ignore", RuntimeWarning)
            cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = [(np.asarray(tr), np.asarray(te)) for tr, te in cv.split(X, y, groups)]
        if not splits:
            raise ValueError(f"cv={self.cv!r} gave no train/test split")

        kind, step_name, max_iters, scheduler = self._epochs()
        plan = self._plan(f"average_test_{metric}", mode, scheduler)

        task = FitTask(
            X=X,
            y=y,
            estimator=clone(self.estimator),
            splits=splits,
            scorers=scorers,
            fit_params=dict(fit_params),
            return_train_score=bool(self.return_train_score),
            error_score=self.error_score,
            early_stop=kind,
            max_iters=max_iters,
            step_name=step_name,
            classes=np.unique(y) if y is not None and is_classifier(self.estimator) else None,
            weighted_scorers=frozenset(
                name
                for name, scorer in scorers.items()
                if fit_params.get("sample_weight") is not None and accepts_sample_weight(scorer)
            ),
        )
        recorder = _ErrorRecorder()
        stop: Any = {"training_iteration": max_iters}
        if self.stopper is not None:
            from tunelab.stopper import CombinedStopper, MaximumIterationStopper, Stopper

            if not isinstance(self.stopper, Stopper):
                raise TypeError(f"stopper must be a tunelab Stopper, got {self.stopper!r}")
            stop = CombinedStopper(MaximumIterationStopper(max_iters), fresh(self.stopper))
        run_args: dict[str, Any] = {
            "name": self.name,
            "metric": f"average_test_{metric}",
            "mode": mode,
            "stop": stop,
            "config": plan.config,
            "num_samples": plan.num_samples,
            "search_alg": plan.search_alg,
            "scheduler": scheduler,
            "verbose": int(self.verbose),
            "time_budget_s": self.time_budget_s,
            "fail_fast": "raise" if isinstance(self.error_score, str) else False,
            "raise_on_failed_trial": True,
            "reuse_actors": True,
            "callbacks": [*self._callbacks(), recorder],
            **self._storage(),
            **self._execution(),
        }
        if tune_params:
            overridden = sorted(set(tune_params) & set(run_args) - {"callbacks"})
            if overridden:
                warnings.warn(
                    f"tune_params overrides the run arguments {overridden} set by "
                    f"{type(self).__name__}",
                    UserWarning,
                    stacklevel=2,
                )
            extra = dict(tune_params)
            extra["callbacks"] = [*run_args["callbacks"], *(extra.get("callbacks") or [])]
            run_args.update(extra)

        trainable = tunelab.with_parameters(CVTrainable, task=task)
        try:
            analysis = tunelab.run(trainable, **run_args)
        except TrialError as error:
            _raise_again(task, recorder, error)
            raise

        trials = list(analysis.trials)
        params = [dict(trial.config) for trial in trials]
        results = [dict(trial.last_result) if trial.last_result else None for trial in trials]
        self.analysis_ = analysis
        self.multimetric_ = multimetric
        self.scorer_: Any = scorers if multimetric else scorers["score"]
        self.n_splits_ = len(splits)
        self.cv_results_ = build_cv_results(
            params, results, list(scorers), len(splits), bool(self.return_train_score), mode
        )
        failed, total, summary = failure_report(results, len(splits), self.error_score)
        if total and failed == total:
            raise ValueError(
                f"All the {total} fits failed (error_score={self.error_score!r}); the estimator "
                "is probably misconfigured. Set error_score='raise' to see the traceback.\n"
                f"{summary}"
            )
        if failed:
            warnings.warn(
                f"{failed} fits failed out of {total}; their scores are "
                f"error_score={self.error_score!r}. Set error_score='raise' to see the "
                f"traceback.\n{summary}",
                FitFailedWarning,
                stacklevel=2,
            )

        means = self.cv_results_[f"mean_test_{metric}"]
        if all(result is None for result in results):
            warnings.warn(
                "no candidate reported a score (the trials ended before their first result); "
                "best_* attributes and best_estimator_ are not set",
                UserWarning,
                stacklevel=2,
            )
            return self
        if not np.isfinite(means).all():
            warnings.warn(
                f"some mean test scores are not finite: {means}", UserWarning, stacklevel=2
            )

        if self.refit or not multimetric:
            index = best_index(self.cv_results_, self.refit, metric)
            self.best_index_ = index
            self.best_params_ = dict(params[index])
            if not callable(self.refit) or isinstance(self.refit, bool):
                self.best_score_ = float(self.cv_results_[f"mean_test_{metric}"][index])

        if self.refit:
            best = clone(clone(self.estimator).set_params(**self.best_params_))
            start = time.perf_counter()
            best.fit(X, y, **fit_params)
            self.refit_time_ = time.perf_counter() - start
            self.best_estimator_ = best
            if hasattr(best, "feature_names_in_"):
                self.feature_names_in_ = best.feature_names_in_
        return self

    @delegated("transform")
    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """``fit`` then ``transform`` with the best estimator."""
        return self.fit(X, y, **fit_params).transform(X)


def _raise_again(task: FitTask, recorder: _ErrorRecorder, error: TrialError) -> None:
    """``error_score="raise"``: raise the failed candidate's own exception (its type and
    message, as ``GridSearchCV`` does) by running that candidate once more in this process;
    the worker's :class:`TrialError` is its cause. Returns when it does not fail again."""
    config = recorder.configs.get(error.trial_id)
    if config is None:
        return
    runner = CVRunner(task, config)
    try:
        for _ in range(task.max_iters):
            runner.step()
    except Exception as own:
        raise own from error
