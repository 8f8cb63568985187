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

    ``param_grid`` is a dict of parameter name -> list of values (or
    ``tunelab.grid_search([...])``), or a list of such dicts, as for ``GridSearchCV``; the
    candidates come in ``GridSearchCV``'s order, so the two pick the same best parameters.

    Arguments as tune-sklearn's (``fit`` validates them):

    - ``early_stopping``: ``None``/``False`` (each candidate is fitted once), ``True`` (ASHA
      over ``max_iters`` epochs), a scheduler name (``"ASHAScheduler"``,
      ``"AsyncHyperBandScheduler"``, ``"HyperBandScheduler"``, ``"MedianStoppingRule"``,
      ``"PopulationBasedTraining"``) or a ``tunelab.schedulers`` object; needs an estimator
      with ``partial_fit`` or ``warm_start`` (for a ``Pipeline`` with
      ``pipeline_auto_early_stop=True``, its final step);
    - ``scoring``: None (the estimator's ``score``), a scorer name or callable, or several
      (a list of names or a dict name -> scorer); ``refit`` then names the one that picks the
      best candidate (or is a callable ``cv_results_ -> index``, or False);
    - ``n_jobs``: candidates run at once (None/-1: one per CPU; 1: in this process);
    - ``cv``, ``verbose`` (0, 1, 2), ``error_score`` (default ``"raise"``),
      ``return_train_score``, ``local_dir``/``storage_path`` and ``name`` (where the
      experiment is written), ``max_iters`` (epochs with early stopping), ``use_gpu`` (one GPU
      per trial), ``loggers`` (``"csv"``, ``"json"``, ``"tensorboard"``, ``"mlflow"`` or logger
      callbacks), ``stopper`` (a tunelab ``Stopper``, with ``max_iters``), ``time_budget_s``,
      ``sk_n_jobs`` (None or 1), ``mode`` (``"max"``, the default, or ``"min"`` for a scorer
      where lower is better: it also decides the ranks).

    After ``fit``: ``cv_results_`` (``GridSearchCV``'s keys), ``best_index_``, ``best_params_``,
    ``best_score_``, ``best_estimator_``, ``refit_time_``, ``scorer_``, ``multimetric_``,
    ``n_splits_``, ``analysis_`` (the tunelab ``ExperimentAnalysis``), and ``predict``,
    ``predict_proba``, ``decision_function``, ``transform``, ``score``... of the best estimator.
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
