"""``scoring`` as scikit-learn's searches read it: one scorer or several, by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["accepts_sample_weight", "check_refit", "metric_key", "scorers_for"]


def scorers_for(estimator: Any, scoring: Any) -> tuple[dict[str, Any], bool]:
    """``({name: scorer}, is_multimetric)``.

    ``None`` (the estimator's ``score``), a scorer name or a callable give ``{"score": ...}``;
    a list/tuple/set of unique scorer names or a dict ``{name: scorer or scorer name}`` give
    one scorer per name (multi-metric).
    """
    from sklearn.metrics import check_scoring, get_scorer

    if scoring is None or isinstance(scoring, str) or callable(scoring):
        return {"score": check_scoring(estimator, scoring=scoring)}, False
    if isinstance(scoring, (list, tuple, set, frozenset)):
        names = list(scoring)
        if not names:
            raise ValueError("scoring must not be an empty list")
        if not all(isinstance(name, str) for name in names):
            raise ValueError(
                "scoring as a list must hold scorer names (str); map names to callables "
                f"with a dict instead, got {scoring!r}"
            )
        if len(set(names)) != len(names):
            raise ValueError(f"scoring holds duplicate names: {scoring!r}")
        return {name: get_scorer(name) for name in names}, True
    if isinstance(scoring, Mapping):
        if not scoring:
            raise ValueError("scoring must not be an empty dict")
        if not all(isinstance(name, str) for name in scoring):
            raise ValueError(f"scoring's keys must be str, got {list(scoring)!r}")
        return {name: check_scoring(estimator, scoring=s) for name, s in scoring.items()}, True
    raise TypeError(
        "scoring must be None, a scorer name, a callable, a list/tuple of names or a dict of "
        f"name -> scorer, got {scoring!r}"
    )


def check_refit(refit: Any, scorers: Mapping[str, Any], multimetric: bool) -> None:
    """``refit`` is a bool or a callable; with several scorers a scorer name, a callable
    or False."""
    if callable(refit) and not isinstance(refit, bool):
        return
    if multimetric:
        if refit is False or (isinstance(refit, str) and refit in scorers):
            return
        raise ValueError(
            "with several scorers, refit must be the name of the scorer that picks the best "
            f"parameters (one of {sorted(scorers)}), a callable or False; got {refit!r}"
        )
    if not isinstance(refit, bool):
        raise TypeError(f"refit must be a bool or a callable with one scorer, got {refit!r}")


def metric_key(refit: Any, scorers: Mapping[str, Any], multimetric: bool) -> str:
    """The scorer name the search optimizes: ``"score"`` with one scorer, the ``refit``
    scorer with several (the first scorer when ``refit`` is False or a callable)."""
    if not multimetric:
        return "score"
    if isinstance(refit, str):
        return refit
    return next(iter(scorers))


def accepts_sample_weight(scorer: Any) -> bool:
    """Whether ``scorer`` uses a ``sample_weight`` (a scikit-learn scorer whose metric takes
    one, or a callable with that parameter)."""
    import inspect

    check = getattr(scorer, "_accept_sample_weight", None)
    if callable(check):
        return bool(check())
    try:
        return "sample_weight" in inspect.signature(scorer).parameters
    except (TypeError, ValueError):
        return False
