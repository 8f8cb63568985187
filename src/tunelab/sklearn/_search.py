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

    ``search_optimization`` chooses how candidates are found: ``"random"`` (the default,
    like ``RandomizedSearchCV``: the same candidates for the same ``random_state``),
    ``"bayesian"`` (scikit-optimize, or bayesian-optimization when scikit-optimize is not
    installed), ``"hyperopt"``, ``"optuna"``, ``"bohb"`` (each needs its tunelab extra), or a
    tunelab ``Searcher`` object; ``search_kwargs`` go to the searcher's constructor and
    ``random_state`` (an int or a ``RandomState``) seeds it.

    ``param_distributions`` values:

    - for ``"random"``: lists (sampled uniformly; when every value is a list, each combination
      at most once, so ``n_trials`` is capped by the grid's size), scipy distributions (an
      ``rvs`` method) and tunelab domains (``tunelab.loguniform(1e-4, 1)``); a list of such
      dicts (one is picked at random for each candidate);
    - for the others: lists (categorical), ``(low, high)`` or ``(low, high, "log-uniform")``
      tuples (integer bounds: an integer range, both ends included; else a float range),
      tunelab domains, or the library's own objects (hyperopt expressions, Optuna
      distributions, ConfigSpace hyperparameters or a whole ``ConfigurationSpace`` for
      ``"bohb"``, scikit-optimize dimensions), with lists and tuples but not tunelab domains.

    ``early_stopping`` (needs an estimator with ``partial_fit`` or ``warm_start``): ``True``
    (ASHA over ``max_iters`` epochs), a scheduler name or a ``tunelab.schedulers`` object; with
    ``"bohb"`` it is ``HyperBandForBOHB`` whenever the estimator trains by epochs (unless
    ``early_stopping=False``), and BOHB's model alone otherwise.

    The other arguments, the fitted attributes and the delegated methods are those of
    :class:`~tunelab.sklearn.TuneGridSearchCV` (``error_score`` defaults to NaN here, ``cv`` to
    5 folds).
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
