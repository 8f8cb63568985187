"""``cv_results_`` from the trials' last results, with scikit-learn's ``GridSearchCV`` keys.

A trial reports, for each fold ``k`` and scorer ``name`` (see ``_trainable``):
``split<k>_test_<name>``, ``split<k>_train_<name>`` (with ``return_train_score``),
``split<k>_fit_time``, ``split<k>_score_time``, the means ``average_test_<name>``, and
``n_failed_splits``/``fit_error`` (folds whose fit failed, and the first failure's message).

``cv_results_`` holds, as ``GridSearchCV``'s does: ``mean_fit_time``, ``std_fit_time``,
``mean_score_time``, ``std_score_time``, ``param_<name>`` (masked where a candidate has no
such parameter), ``params``, ``split<k>_test_<name>``, ``mean_test_<name>``,
``std_test_<name>``, ``rank_test_<name>`` and the train counterparts (not ranked); plus
``training_iteration`` (epochs trained) and ``time_total_s`` (the trial's time) from tunelab.
A candidate with no result (a trial that failed before reporting, or that the time budget
never started) has NaN scores and ranks last.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["best_index", "build_cv_results", "failure_report", "split_key"]


def split_key(k: int, kind: str, name: str) -> str:
    return f"split{k}_{kind}_{name}"


def _column(results: Sequence[Mapping[str, Any] | None], key: str) -> np.ndarray:
    return np.array(
        [float(r[key]) if r is not None and key in r else math.nan for r in results],
        dtype=np.float64,
    )


def _ranks(means: np.ndarray, mode: str) -> np.ndarray:
    """1 for the best mean (the largest with ``mode="max"``), ties share the lower rank,
    NaN ranks after every number."""
    from scipy.stats import rankdata

    if np.isnan(means).all():
        return np.ones(len(means), dtype=np.int32)
    keys = -means if mode == "max" else means.copy()
    keys[np.isnan(keys)] = np.inf
    return np.asarray(rankdata(keys, method="min"), dtype=np.int32)


def build_cv_results(
    params: Sequence[Mapping[str, Any]],
    results: Sequence[Mapping[str, Any] | None],
    scorer_names: Sequence[str],
    n_splits: int,
    return_train_score: bool,
    mode: str = "max",
) -> dict[str, Any]:
    """``cv_results_`` for candidates ``params`` whose last results are ``results``."""
    if len(params) != len(results):
        raise ValueError(f"{len(params)} candidates but {len(results)} results")
    out: dict[str, Any] = {}

    def store(kind: str, rank: bool) -> None:
        for name in scorer_names:
            splits = (
                np.stack(
                    [_column(results, split_key(k, kind, name)) for k in range(n_splits)], axis=1
                )
                if params
                else np.empty((0, n_splits))
            )
            for k in range(n_splits):
                out[split_key(k, kind, name)] = splits[:, k]
            means = np.mean(splits, axis=1) if n_splits else np.full(len(params), math.nan)
            out[f"mean_{kind}_{name}"] = means
            out[f"std_{kind}_{name}"] = np.std(splits, axis=1)
            if rank:
                out[f"rank_{kind}_{name}"] = _ranks(means, mode)

    for timing in ("fit_time", "score_time"):
        times = (
            np.stack([_column(results, f"split{k}_{timing}") for k in range(n_splits)], axis=1)
            if params
            else np.empty((0, n_splits))
        )
        out[f"mean_{timing}"] = np.mean(times, axis=1)
        out[f"std_{timing}"] = np.std(times, axis=1)

    names: list[str] = []
    for candidate in params:
        names.extend(name for name in candidate if name not in names)
    for name in names:
        column = np.ma.MaskedArray(np.empty(len(params), dtype=object), mask=True)
        for index, candidate in enumerate(params):
            if name in candidate:
                column[index] = candidate[name]
        out[f"param_{name}"] = column
    out["params"] = [dict(candidate) for candidate in params]

    store("test", rank=True)
    if return_train_score:
        store("train", rank=False)
    out["training_iteration"] = np.array(
        [int(r.get("training_iteration", 0)) if r else 0 for r in results], dtype=np.int64
    )
    out["time_total_s"] = _column(results, "time_total_s")
    return out


def best_index(cv_results: Mapping[str, Any], refit: Any, metric: str) -> int:
    """The best candidate's index: ``refit(cv_results)`` for a callable, else the first of
    rank 1 on ``metric`` (the first candidate when no score is a number, as in
    ``GridSearchCV``)."""
    if callable(refit) and not isinstance(refit, bool):
        index = refit(cv_results)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"refit (a callable) must return an int index, got {index!r}")
        if not 0 <= index < len(cv_results["params"]):
            raise IndexError(
                f"refit (a callable) returned {index}, outside 0..{len(cv_results['params']) - 1}"
            )
        return int(index)
    if not len(cv_results["params"]):
        raise ValueError("no candidate to choose from")
    return int(np.argmin(cv_results[f"rank_test_{metric}"]))


def failure_report(
    results: Sequence[Mapping[str, Any] | None], n_splits: int, error_score: Any
) -> tuple[int, int, str]:
    """``(failed fits, fits, summary)`` over the candidates that reported; the summary
    counts each distinct failure message."""
    failed = 0
    total = 0
    messages: dict[str, int] = {}
    for result in results:
        if result is None:
            continue
        total += n_splits
        count = int(result.get("n_failed_splits", 0) or 0)
        failed += count
        if count:
            message = str(result.get("fit_error") or "unknown error")
            messages[message] = messages.get(message, 0) + count
    summary = "\n".join(f"{count} fits failed with: {text}" for text, count in messages.items())
    return failed, total, summary
