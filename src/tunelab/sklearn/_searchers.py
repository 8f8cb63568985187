"""``search_optimization`` -> a tunelab search algorithm and the run's config.

- ``"random"``: the candidates are drawn up front (``ParameterSampler``, see ``_space``) and
  run in that order (:class:`CandidateList`);
- ``"hyperopt"``: :class:`~tunelab.search.hyperopt.HyperOptSearch` (TPE),
  ``random_state_seed=seed``;
- ``"optuna"``: :class:`~tunelab.search.optuna.OptunaSearch` (TPE), ``seed=seed`` unless
  ``search_kwargs`` brings a ``sampler``;
- ``"bohb"``: :class:`~tunelab.search.bohb.TuneBOHB`, ``seed=seed`` (with
  ``HyperBandForBOHB`` when the estimator trains by epochs);
- ``"bayesian"``: Gaussian-process Bayesian optimization: scikit-optimize's
  (``tunelab.search.skopt.SkOptSearch``, tune-sklearn's choice; ``random_state`` seeds its
  ``Optimizer``) when it is available, else ``bayesian-optimization``'s
  (``tunelab.search.bayesopt.BayesOptSearch``, numeric parameters only); an ``ImportError``
  naming both extras when neither is;
- a tunelab ``Searcher`` or ``SearchAlgorithm`` object: a deep copy of it, given the space as
  the run's config.

``search_kwargs`` go to the searcher's constructor.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

from tunelab.search import Searcher
from tunelab.sklearn._copy import fresh
from tunelab.sklearn._space import random_candidates, searcher_space

__all__ = ["OPTIMIZERS", "CandidateList", "is_bohb", "make_search"]

OPTIMIZERS = ("random", "bayesian", "bohb", "hyperopt", "optuna")


class CandidateList(Searcher):
    """Suggests the given candidates, in order, then finishes (grid and random search)."""

    def __init__(self, candidates: list[dict[str, Any]]) -> None:
        super().__init__()
        self.candidates = [dict(c) for c in candidates]
        self._next = 0

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if self._next >= len(self.candidates):
            return Searcher.FINISHED
        self._next += 1
        return dict(self.candidates[self._next - 1])

    def get_state(self) -> dict[str, Any]:
        return {"next": self._next}

    def set_state(self, state: dict[str, Any]) -> None:
        self._next = int(state["next"])


def is_bohb(search_optimization: Any) -> bool:
    if isinstance(search_optimization, str):
        return search_optimization.lower() == "bohb"
    return type(search_optimization).__name__ == "TuneBOHB"


def check_optimizer(search_optimization: Any) -> str | None:
    """The optimizer's lower-case name, or None for a search algorithm object."""
    from tunelab.search import SearchAlgorithm, Searcher

    if isinstance(search_optimization, str):
        name = search_optimization.lower()
        if name not in OPTIMIZERS:
            raise ValueError(
                f"search_optimization must be one of {OPTIMIZERS} or a tunelab Searcher, "
                f"got {search_optimization!r}"
            )
        return name
    if isinstance(search_optimization, (Searcher, SearchAlgorithm)):
        return None
    raise TypeError(
        f"search_optimization must be one of {OPTIMIZERS} or a tunelab Searcher, "
        f"got {search_optimization!r}"
    )


def make_search(
    search_optimization: Any,
    param_distributions: Any,
    *,
    n_trials: int,
    metric: str,
    mode: str,
    random_state: Any,
    seed: int | None,
    search_kwargs: dict[str, Any],
) -> tuple[Any, dict[str, Any], int]:
    """``(search_alg, config, num_samples)`` for the run."""
    name = check_optimizer(search_optimization)
    if name == "random":
        if search_kwargs:
            raise ValueError(
                f"search_kwargs are for model-based searchers; 'random' takes none, "
                f"got {search_kwargs!r}"
            )
        candidates = random_candidates(param_distributions, n_trials, random_state)
        return CandidateList(candidates), {}, len(candidates)
    if name is None:
        searcher = fresh(search_optimization)
        for attribute, ours in (("metric", metric), ("mode", mode)):
            theirs = getattr(searcher, attribute, None)
            if theirs is not None and theirs != ours:
                raise ValueError(
                    f"search_optimization has {attribute}={theirs!r}, but the search optimizes "
                    f"{attribute}={ours!r}; create the searcher without {attribute}"
                )
        _, space = searcher_space(param_distributions, None)
        return searcher, space, n_trials
    if name == "bayesian":
        searcher, config = _bayesian(param_distributions, metric, mode, seed, search_kwargs)
        return searcher, config, n_trials
    kind, space = searcher_space(param_distributions, name)
    native = space if kind == "native" else None
    config = space if kind == "tunelab" else {}
    kwargs = dict(search_kwargs)
    if name == "hyperopt":
        from tunelab.search.hyperopt import HyperOptSearch

        kwargs.setdefault("random_state_seed", seed)
        return HyperOptSearch(space=native, metric=metric, mode=mode, **kwargs), config, n_trials
    if name == "optuna":
        from tunelab.search.optuna import OptunaSearch

        if "sampler" in kwargs:
            if seed is not None:
                warnings.warn(
                    "random_state does not seed the sampler given in search_kwargs; seed the "
                    "sampler itself",
                    UserWarning,
                    stacklevel=4,
                )
        else:
            kwargs.setdefault("seed", seed)
        return OptunaSearch(space=native, metric=metric, mode=mode, **kwargs), config, n_trials
    from tunelab.search.bohb import TuneBOHB

    kwargs.setdefault("seed", seed)
    return TuneBOHB(space=native, metric=metric, mode=mode, **kwargs), config, n_trials


def _bayesian(
    param_distributions: Any, metric: str, mode: str, seed: int | None, kwargs: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """SkOptSearch when available, else BayesOptSearch (see the module docstring)."""
    failures: list[str] = []
    for module, cls_name, library in (
        ("tunelab.search.skopt", "SkOptSearch", "skopt"),
        ("tunelab.search.bayesopt", "BayesOptSearch", None),
    ):
        try:
            import importlib

            cls = getattr(importlib.import_module(module), cls_name)
            kind, space = searcher_space(param_distributions, library)
            options = dict(kwargs)
            parameters = inspect.signature(cls).parameters
            if "optimizer_kwargs" in parameters:  # SkOptSearch: seed skopt's Optimizer
                if seed is not None and options.get("optimizer") is None:
                    seeded = {"random_state": seed, **(options.get("optimizer_kwargs") or {})}
                    options["optimizer_kwargs"] = seeded
            elif "random_state" in parameters and seed is not None:  # BayesOptSearch
                options.setdefault("random_state", seed)
            if kind == "native":
                return cls(space=space, metric=metric, mode=mode, **options), {}
            return cls(metric=metric, mode=mode, **options), space
        except ImportError as error:
            failures.append(f"{cls_name}: {error}")
    raise ImportError(
        "search_optimization='bayesian' needs scikit-optimize (pip install \"tunelab[skopt]\") "
        'or bayesian-optimization (pip install "tunelab[bayesopt]"); neither adapter is '
        "available here:\n" + "\n".join(failures)
    )
