"""``ResultGrid``: the results of a ``Tuner.fit()``, one :class:`Result` per trial."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, overload

from tunelab._trial import Trial, TrialStatus
from tunelab.analysis._experiment_analysis import ExperimentAnalysis
from tunelab.analysis._result import Result

if TYPE_CHECKING:
    from pandas import DataFrame

__all__ = ["ResultGrid"]


class ResultGrid:
    """The results of one experiment, in trial order: ``len(grid)``, ``grid[i]``, iteration.

    ``Tuner.fit()`` and ``Tuner.get_results()`` return one, built over an
    :class:`ExperimentAnalysis` whose ``default_metric``/``default_mode`` are the
    ``TuneConfig``'s ``metric``/``mode``. Each :class:`Result` reads its trial directory only
    when a file-backed field is first accessed.

    Args:
        experiment_analysis: The experiment to present; to read one from disk, pass
            ``ExperimentAnalysis(path)``.

    Raises:
        TypeError: ``experiment_analysis`` is not an :class:`ExperimentAnalysis`.
    """

    def __init__(self, experiment_analysis: ExperimentAnalysis) -> None:
        if not isinstance(experiment_analysis, ExperimentAnalysis):
            raise TypeError(
                "`experiment_analysis` must be an ExperimentAnalysis, got "
                f"{type(experiment_analysis).__name__}"
            )
        self._experiment_analysis = experiment_analysis
        self._results: list[Result] | None = None

    @property
    def experiment_path(self) -> str:
        """The experiment directory."""
        return self._experiment_analysis.experiment_path

    @property
    def _trials(self) -> list[Trial]:
        return self._experiment_analysis.trials

    def _all(self) -> list[Result]:
        if self._results is None:
            self._results = [self._trial_to_result(t) for t in self._trials]
        return self._results

    def _trial_to_result(self, trial: Trial) -> Result:
        return Result._from_trial(trial, self._experiment_analysis._files_of(trial))

    def get_best_result(
        self,
        metric: str | None = None,
        mode: str | None = None,
        scope: str = "last",
        filter_nan_and_inf: bool = True,
    ) -> Result:
        """The result of the trial with the best ``metric`` for ``mode`` over ``scope``.

        With a single trial, that trial's result is returned whatever it reported.

        Args:
            metric: The metric to compare (nested keys written with ``"/"``); default the
                ``TuneConfig``'s ``metric``.
            mode: ``"min"`` or ``"max"``; default the ``TuneConfig``'s ``mode``.
            scope: Which results of a trial count: ``"last"`` (default), ``"avg"``,
                ``"last-5-avg"``, ``"last-10-avg"`` (means over all, the last 5 or 10
                results) or ``"all"`` (the best value the trial ever reported).
            filter_nan_and_inf: Treat NaN and infinite values as not reported (default
                True).

        Returns:
            The best trial's :class:`Result`.

        Raises:
            ValueError: No metric or mode is known, or an argument is invalid.
            RuntimeError: No trial reported the metric.
        """
        if len(self._trials) == 1:
            return self._all()[0]
        analysis = self._experiment_analysis
        if metric is None and analysis.default_metric is None:
            raise ValueError(
                "No `metric` was passed to get_best_result() and no default is set; pass "
                "metric= here or in TuneConfig(metric=...)"
            )
        if mode is None and analysis.default_mode is None:
            raise ValueError(
                "No `mode` was passed to get_best_result() and no default is set; pass "
                'mode="min" or "max" here or in TuneConfig(mode=...)'
            )
        best = analysis.get_best_trial(metric, mode, scope, filter_nan_and_inf)
        if best is None:
            wanted = metric if metric is not None else analysis.default_metric
            note = " (NaN/inf values were filtered out)" if filter_nan_and_inf else ""
            raise RuntimeError(
                f"No trial reported the metric {wanted!r}{note}; cannot pick a best result"
            )
        return self._all()[self._trials.index(best)]

    def get_dataframe(
        self, filter_metric: str | None = None, filter_mode: str | None = None
    ) -> DataFrame:
        """One row per trial, nested keys flattened with ``"/"``.

        Config keys appear as ``config/...`` columns, the trial directory as ``logdir``.

        Args:
            filter_metric: With ``filter_mode``: each trial's row is the result in which
                it reported its best value of this metric (the first one on ties).
            filter_mode: ``"min"``, ``"max"``, or None (default): each row is the trial's
                last result.

        Returns:
            A pandas ``DataFrame``.

        Raises:
            ValueError: ``filter_mode`` is invalid, or given without ``filter_metric``.
        """
        return self._experiment_analysis.dataframe(metric=filter_metric, mode=filter_mode)

    @property
    def errors(self) -> list[BaseException]:
        """The errors of the trials that failed (status ERROR)."""
        return [r.error for r in self._all() if r.error is not None]

    @property
    def num_errors(self) -> int:
        """How many trials ended in ERROR."""
        return sum(1 for t in self._trials if t.status is TrialStatus.ERROR)

    @property
    def num_terminated(self) -> int:
        """How many trials ended TERMINATED."""
        return sum(1 for t in self._trials if t.status is TrialStatus.TERMINATED)

    @property
    def interrupted(self) -> bool:
        """True when the run ended before its trials did (see
        :attr:`ExperimentAnalysis.interrupted`)."""
        return self._experiment_analysis.interrupted

    def __len__(self) -> int:
        return len(self._trials)

    @overload
    def __getitem__(self, index: int) -> Result: ...

    @overload
    def __getitem__(self, index: slice) -> list[Result]: ...

    def __getitem__(self, index: int | slice) -> Result | list[Result]:
        if isinstance(index, bool) or not isinstance(index, (int, slice)):
            raise TypeError(f"ResultGrid indices must be integers, got {type(index).__name__}")
        return self._all()[index]

    def __iter__(self) -> Iterator[Result]:
        return iter(self._all())

    def __repr__(self) -> str:
        lines = ",\n  ".join(repr(r) for r in self._all())
        return f"ResultGrid<[\n  {lines}\n]>" if lines else "ResultGrid<[]>"
