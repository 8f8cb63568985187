"""``TuneSearchCV``: sampled or model-based search over parameter distributions."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

from tunelab.sklearn._base import Plan, TuneBaseSearchCV
from tunelab.sklearn._early_stop import EarlyStopType, early_stop_type, final_step
from tunelab.sklearn._searchers import check_optimizer, is_bohb, make_search

__all__ = ["TuneSearchCV"]


class TuneSearchCV(TuneBaseSearchCV):
    """Search over ``param_distributions`` with ``n_trials`` candidates (tune-sklearn's
    ``TuneSearchCV``).

    A drop-in for scikit-learn's ``RandomizedSearchCV`` (and a model-based search with
    ``search_optimization``) whose candidates run as the trials of a tunelab experiment, in
    worker processes.

    ``fit(X, y=None, groups=None, tune_params=None, **fit_params)`` runs the search: one
    tunelab trial per candidate, cross-validated on folds computed once; ``tune_params``
    passes more :func:`tunelab.run` arguments. Then the best candidate is refitted on all
    of ``X``.

    The fitted attributes and the delegated methods are those of
    :class:`~tunelab.sklearn.TuneGridSearchCV`.

    ``fit`` validates the arguments (the constructor only stores them, as for every
    scikit-learn estimator) and raises ``ValueError``/``TypeError`` naming the bad one.

    Args:
        estimator: The scikit-learn estimator (or ``Pipeline``) to tune.
        param_distributions: A dict of parameter name -> values. For ``"random"``: lists
            (sampled uniformly; when every value is a list, each combination at most once,
            so ``n_trials`` is capped by the grid's size), scipy distributions (an ``rvs``
            method) and tunelab domains (``tunelab.loguniform(1e-4, 1)``), or a list of such
            dicts (one picked at random per candidate). For the other optimizers: lists
            (categorical), ``(low, high)`` or ``(low, high, "log-uniform")`` tuples (integer
            bounds: an integer range, both ends included; else a float range), tunelab
            domains, or the library's own objects (hyperopt expressions, Optuna
            distributions, ConfigSpace hyperparameters or a whole ``ConfigurationSpace`` for
            ``"bohb"``, scikit-optimize dimensions).
        early_stopping: As for :class:`~tunelab.sklearn.TuneGridSearchCV`. With ``"bohb"``
            it is ``HyperBandForBOHB`` whenever the estimator trains by epochs (unless
            ``early_stopping=False``), and BOHB's model alone otherwise.
        n_trials: How many candidates to try, >= 1 (default 10).
        scoring: None (the estimator's ``score``), a scorer name or callable, or several (a
            list of names or a dict name -> scorer).
        n_jobs: Candidates trained at once (None/-1: one per CPU; 1: in threads of this
            process).
        refit: As for :class:`~tunelab.sklearn.TuneGridSearchCV` (default True).
        cv: The folds: None (default: 5 folds), an int, a splitter or an iterable of
            splits.
        verbose: The run's verbosity, 0 (default), 1 or 2.
        random_state: An int or a ``numpy.random.RandomState``: the same candidates for
            the same value (``"random"``), or the searcher's seed.
        error_score: The score a failed fit gets (default NaN), or ``"raise"``.
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
        search_optimization: ``"random"`` (default), ``"bayesian"`` (scikit-optimize,
            else bayesian-optimization), ``"hyperopt"``, ``"optuna"``, ``"bohb"`` (each
            needs its tunelab extra), or a tunelab ``Searcher`` object.
        search_kwargs: Keyword arguments for the searcher's constructor.
        storage_path: The newer name of ``local_dir``; give one of the two.
    """

    def __init__(
        self,
        estimator: Any,
        param_distributions: Any,
        early_stopping: Any = None,
        n_trials: int = 10,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        random_state: Any = None,
        error_score: Any = float("nan"),
        return_train_score: bool = False,
        local_dir: str | None = None,
        name: str | None = None,
        max_iters: int = 1,
        search_optimization: Any = "random",
        use_gpu: bool = False,
        loggers: Any = None,
        pipeline_auto_early_stop: bool = True,
        stopper: Any = None,
        time_budget_s: Any = None,
        sk_n_jobs: int | None = None,
        mode: str | None = None,
        search_kwargs: dict[str, Any] | None = None,
        storage_path: str | None = None,
    ) -> None:
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.early_stopping = early_stopping
        self.n_trials = n_trials
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.cv = cv
        self.verbose = verbose
        self.random_state = random_state
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.local_dir = local_dir
        self.name = name
        self.max_iters = max_iters
        self.search_optimization = search_optimization
        self.use_gpu = use_gpu
        self.loggers = loggers
        self.pipeline_auto_early_stop = pipeline_auto_early_stop
        self.stopper = stopper
        self.time_budget_s = time_budget_s
        self.sk_n_jobs = sk_n_jobs
        self.mode = mode
        self.search_kwargs = search_kwargs
        self.storage_path = storage_path

    def _space_dicts(self) -> Any:
        return self.param_distributions

    def _effective_early_stopping(self) -> Any:
        from tunelab.schedulers import HyperBandForBOHB

        early_stopping = self.early_stopping
        is_hb_bohb = isinstance(early_stopping, HyperBandForBOHB) or (
            early_stopping == "HyperBandForBOHB"
        )
        if not is_bohb(self.search_optimization):
            if is_hb_bohb:
                raise ValueError(
                    "early_stopping=HyperBandForBOHB goes with search_optimization='bohb', got "
                    f"search_optimization={self.search_optimization!r}"
                )
            return early_stopping
        if early_stopping is False or is_hb_bohb:
            return early_stopping
        _, final = final_step(self.estimator, self.pipeline_auto_early_stop)
        if early_stopping is None and early_stop_type(final) is EarlyStopType.NONE:
            return None  # BOHB's model alone: the estimator cannot train by epochs
        if early_stopping not in (None, True):
            warnings.warn(
                f"search_optimization='bohb' schedules with HyperBandForBOHB; "
                f"early_stopping={early_stopping!r} is replaced",
                UserWarning,
                stacklevel=4,
            )
        return "HyperBandForBOHB"

    def _plan(self, metric: str, mode: str, scheduler: Any) -> Plan:
        import numpy as np

        n_trials = self.n_trials
        if isinstance(n_trials, bool) or not isinstance(n_trials, numbers.Integral):
            raise TypeError(f"n_trials must be an int >= 1, got {n_trials!r}")
        if n_trials < 1:
            raise ValueError(f"n_trials must be >= 1, got {n_trials}")
        if self.search_kwargs is not None and not isinstance(self.search_kwargs, dict):
            raise TypeError(f"search_kwargs must be None or a dict, got {self.search_kwargs!r}")
        optimizer = check_optimizer(self.search_optimization)
        random_state = self.random_state
        seed: int | None = None
        if isinstance(random_state, np.random.RandomState):
            if optimizer != "random":  # a seed for the searcher ('random' draws from it)
                seed = int(random_state.randint(2**31 - 1))
        elif random_state is None:
            pass
        elif isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
            seed = int(random_state)
        else:
            raise TypeError(
                f"random_state must be None, an int or a numpy RandomState, got {random_state!r}"
            )
        search_alg, config, num_samples = make_search(
            self.search_optimization,
            self.param_distributions,
            n_trials=int(n_trials),
            metric=metric,
            mode=mode,
            random_state=random_state,
            seed=seed,
            search_kwargs=dict(self.search_kwargs or {}),
        )
        return Plan(config=config, num_samples=num_samples, search_alg=search_alg)
