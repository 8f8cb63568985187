"""What the plots draw, read from a ``ResultGrid``, an ``ExperimentAnalysis`` or a path.

Plain Python only (no matplotlib): the series of one metric per trial, the parameters of
each trial, validation of the arguments the plot functions share.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tunelab.analysis import _io

if TYPE_CHECKING:
    from tunelab._trial import Trial
    from tunelab.analysis import ExperimentAnalysis

__all__ = ["TrialSeries", "as_analysis", "check_metric", "check_mode", "trial_series"]


@dataclass
class TrialSeries:
    """One trial's values of one metric: ``x`` (``training_iteration``, else the result's
    position, from 1) and ``y``, in the order reported; ``params`` are its parameters
    flattened with "/"."""

    trial_id: str
    name: str
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def best(self, mode: str) -> float | None:
        if not self.y:
            return None
        return max(self.y) if mode == "max" else min(self.y)

    @property
    def last(self) -> float | None:
        return self.y[-1] if self.y else None


def as_analysis(results: Any, argument: str = "results") -> ExperimentAnalysis:
    """The :class:`ExperimentAnalysis` behind ``results`` (a ``ResultGrid``, an
    ``ExperimentAnalysis`` or an experiment directory)."""
    from tunelab.analysis import ExperimentAnalysis, ResultGrid

    if isinstance(results, ExperimentAnalysis):
        return results
    if isinstance(results, ResultGrid):
        return results._experiment_analysis
    if isinstance(results, (str, os.PathLike)):
        return ExperimentAnalysis(os.fspath(results))
    raise TypeError(
        f"`{argument}` must be a ResultGrid, an ExperimentAnalysis or an experiment "
        f"directory, got {type(results).__name__}"
    )


def check_metric(metric: Any) -> str:
    if not isinstance(metric, str) or not metric:
        raise TypeError(f"`metric` must be a non-empty string, got {metric!r}")
    return metric


def check_mode(mode: Any) -> str:
    if mode not in ("min", "max"):
        raise ValueError(f'`mode` must be "min" or "max", got {mode!r}')
    return str(mode)


def _params(trial: Trial) -> dict[str, Any]:
    if trial.evaluated_params:
        return dict(trial.evaluated_params)
    return _io.flatten(dict(trial.config))


def _select(analysis: ExperimentAnalysis, trials: Iterable[Any] | None) -> list[Trial]:
    if trials is None:
        return list(analysis.trials)
    if isinstance(trials, (str, bytes)) or not isinstance(trials, Iterable):
        raise TypeError(
            f"`trials` must be a list of trials, trial ids or trial names, got {trials!r}"
        )
    known = {t.trial_id: t for t in analysis.trials}
    known.update({str(t): t for t in analysis.trials})
    chosen: list[Trial] = []
    for item in trials:
        key = item if isinstance(item, str) else getattr(item, "trial_id", None)
        trial = known.get(key) if isinstance(key, str) else None
        if trial is None:
            raise ValueError(
                f"`trials`: {item!r} is not a trial of {analysis.experiment_path!r} "
                f"(known ids: {sorted(t.trial_id for t in analysis.trials)[:10]})"
            )
        chosen.append(trial)
    return chosen


def trial_series(
    analysis: ExperimentAnalysis, metric: str, trials: Iterable[Any] | None = None
) -> list[TrialSeries]:
    """The values of ``metric`` reported by each trial (all trials unless ``trials`` names
    some). Non-numeric and NaN values are skipped. ``ValueError`` when no trial reported
    ``metric``, naming the metrics that were reported."""
    series: list[TrialSeries] = []
    seen_keys: dict[str, None] = {}
    for trial in _select(analysis, trials):
        rows: Sequence[dict[str, Any]] = analysis._files_of(trial).rows()
        if not rows and trial.last_result:
            rows = [trial.last_result]
        line = TrialSeries(trial.trial_id, str(trial), params=_params(trial))
        for position, row in enumerate(rows, 1):
            value = _io.lookup(row, metric)
            if not _io.is_number(value) or math.isnan(float(value)):
                if len(seen_keys) < 50:
                    seen_keys.update(dict.fromkeys(k for k in row if _io.is_number(row[k])))
                continue
            step = row.get("training_iteration")
            line.x.append(float(step) if _io.is_number(step) else float(position))
            line.y.append(float(value))
        series.append(line)
    if not any(line.y for line in series):
        reported = sorted(seen_keys)[:20]
        raise ValueError(
            f"`metric` {metric!r} was not reported by any trial of "
            f"{analysis.experiment_path!r}; numeric metrics found: {reported}"
        )
    return series
