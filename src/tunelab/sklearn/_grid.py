"""``TuneGridSearchCV``: every combination of a parameter grid, cross-validated by tunelab."""

from __future__ import annotations

from typing import Any

from tunelab.search._common import is_grid_spec
from tunelab.sklearn._base import Plan, TuneBaseSearchCV
from tunelab.sklearn._searchers import CandidateList
from tunelab.sklearn._space import grid_candidates

__all__ = ["TuneGridSearchCV"]


class TuneGridSearchCV(TuneBaseSearchCV):
    """Exhaustive search over ``param_grid`` (tune-sklearn's ``TuneGridSearchCV``).

    A drop-in for scikit-learn's ``GridSearchCV`` whose candidates run as the trials of a
    tunelab experiment, in worker processes. The candidates come in ``GridSearchCV``'s
    order, on the same folds, so the two pick the same best parameters.

    ``fit(X, y=None, groups=None, tune_params=None, **fit_params)`` runs the search: one
    tunelab trial per candidate, cross-validated on folds computed once; ``tune_params``
    passes more :func:`tunelab.run` arguments. Then the best candidate is refitted on all
    of ``X``.

    After ``fit``: ``cv_results_`` (``GridSearchCV``'s keys), ``best_index_``, ``best_params_``,
    ``best_score_``, ``best_estimator_``, ``refit_time_``, ``scorer_``, ``multimetric_``,
    ``n_splits_``, ``analysis_`` (the tunelab :class:`~tunelab.ExperimentAnalysis`), and
    ``predict``, ``predict_proba``, ``decision_function``, ``transform``, ``score``... of the
    best estimator.

    ``fit`` validates the arguments (the constructor only stores them, as for every
    scikit-learn estimator) and raises ``ValueError``/``TypeError`` naming the bad one.

    Args:
        estimator: The scikit-learn estimator (or ``Pipeline``) to tune.
        param_grid: A dict of parameter name -> list of values (or
            ``tunelab.grid_search([...])``), or a list of such dicts, as for
            ``GridSearchCV``.
        early_stopping: ``None``/``False`` (default: each candidate is fitted once),
            ``True`` (ASHA over ``max_iters`` epochs), a scheduler name
            (``"ASHAScheduler"``, ``"AsyncHyperBandScheduler"``, ``"HyperBandScheduler"``,
            ``"MedianStoppingRule"``, ``"PopulationBasedTraining"``) or a
            ``tunelab.schedulers`` object. Needs an estimator that trains by epochs
            (``partial_fit``, ``warm_start`` with ``max_iter`` or ``n_estimators``, or a
            LightGBM/XGBoost model).
        scoring: None (the estimator's ``score``), a scorer name or callable, or several (a
            list of names or a dict name -> scorer).
        n_jobs: Candidates trained at once (None/-1: one per CPU; 1: in threads of this
            process; -2: all CPUs but one...).
        cv: The folds: an int (default 5), a splitter or an iterable of splits, as for
            ``GridSearchCV``.
        refit: Refit the best candidate on all the data (default True); with several
            scorers, the name of the scorer that picks the best candidate; a callable
            ``cv_results_ -> index``; or False.
        verbose: The run's verbosity, 0 (default), 1 or 2.
        error_score: ``"raise"`` (default: a failing fit raises its error) or the score a
            failed fit gets.
        return_train_score: Also score the training folds (default False).
        local_dir: The results root the experiment is written under (default: a
            temporary directory, removed when the search object is garbage-collected).
        name: The experiment's name (default: ``CVTrainable_<date>``).
        max_iters: Epochs per candidate with ``early_stopping`` (default 1); without it
            each candidate is fitted once.
        use_gpu: Give each trial one GPU (default False).
        loggers: Extra loggers: names (``"csv"``, ``"json"``, ``"tensorboard"``,
            ``"mlflow"``), logger callbacks or their classes. The JSON and CSV files (and
            TensorBoard's with its extra) are written anyway.
        pipeline_auto_early_stop: For a ``Pipeline``, train its final step by epochs
            (default True).
        stopper: A tunelab :class:`~tunelab.Stopper` combined with ``max_iters``.
        time_budget_s: Stop the search after this many seconds (a number or a
            ``timedelta``).
        sk_n_jobs: Must be None or 1 (the estimator is not parallelized inside a trial).
        mode: ``"max"`` (the default, None) or ``"min"`` for a scorer where lower is better;
            it also decides the ranks.
        storage_path: The newer name of ``local_dir``; give one of the two.
    """

    def __init__(
        self,
        estimator: Any,
        param_grid: Any,
        early_stopping: Any = None,
        scoring: Any = None,
        n_jobs: int | None = None,
        cv: Any = 5,
        refit: Any = True,
        verbose: int = 0,
        error_score: Any = "raise",
        return_train_score: bool = False,
        local_dir: str | None = None,
        name: str | None = None,
        max_iters: int = 1,
        use_gpu: bool = False,
        loggers: Any = None,
        pipeline_auto_early_stop: bool = True,
        stopper: Any = None,
        time_budget_s: Any = None,
        sk_n_jobs: int | None = None,
        mode: str | None = None,
        storage_path: str | None = None,
    ) -> None:
        self.estimator = estimator
        self.param_grid = param_grid
        self.early_stopping = early_stopping
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.cv = cv
        self.refit = refit
        self.verbose = verbose
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.local_dir = local_dir
        self.name = name
        self.max_iters = max_iters
        self.use_gpu = use_gpu
        self.loggers = loggers
        self.pipeline_auto_early_stop = pipeline_auto_early_stop
        self.stopper = stopper
        self.time_budget_s = time_budget_s
        self.sk_n_jobs = sk_n_jobs
        self.mode = mode
        self.storage_path = storage_path

    def _space_dicts(self) -> Any:
        return self.param_grid

    def _mutations(self) -> dict[str, Any]:
        """The grid's values per parameter (for ``"PopulationBasedTraining"``)."""
        grids = self.param_grid if isinstance(self.param_grid, list) else [self.param_grid]
        merged: dict[str, list[Any]] = {}
        for grid in grids:
            for key, values in dict(grid).items():
                if is_grid_spec(values):
                    values = values["grid_search"]
                merged.setdefault(key, []).extend(list(values))
        return {key: values for key, values in merged.items() if len(values) > 1}

    def _plan(self, metric: str, mode: str, scheduler: Any) -> Plan:
        candidates = grid_candidates(self.param_grid)
        return Plan(config={}, num_samples=len(candidates), search_alg=CandidateList(candidates))
