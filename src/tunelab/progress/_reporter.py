"""Progress reporters: the periodic status report of an experiment."""

from __future__ import annotations

import html
import importlib
import math
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tunelab._trial import TrialStatus
from tunelab.progress._status import _check_verbose, trial_count_line
from tunelab.progress._table import (
    DEFAULT_COLUMNS,
    TAIL_COLUMNS,
    best_trial_line,
    infer_metric_columns,
    trial_errors_table,
    trial_progress_table,
)
from tunelab.progress._terminal import (
    TerminalOutput,
    best_metric_text,
    compact_status_line,
    count_statuses,
    progress_bar,
    progress_bar_html,
)
from tunelab.result import DEFAULT_METRIC

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = [
    "CLIReporter",
    "JupyterNotebookReporter",
    "ProgressReporter",
    "TuneReporterBase",
    "default_progress_reporter",
]


class ProgressReporter(ABC):
    """The extension point for progress output: implement ``should_report`` and ``report``.

    The controller calls, from its single thread:

    * ``setup(start_time, total_samples, metric, mode, verbose=...)`` once before the first
      trial starts (``start_time`` is a ``time.time()`` value);
    * ``should_report(trials, done=False)`` after each step of its loop; it must be cheap
      (no I/O, O(1)), as it runs many times a second;
    * ``report(trials, done, *sys_info)`` when ``should_report`` returned True, and once
      more with ``done=True`` at the end. ``sys_info`` are ready-made header lines (memory,
      scheduler, resources, result directory, trial counts; see
      :func:`~tunelab.progress.experiment_status_lines`).

    ``trials`` is the controller's list: read it, never mutate it.
    """

    def setup(
        self,
        start_time: float | None = None,
        total_samples: int | None = None,
        metric: str | None = None,
        mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Called once before the experiment starts; unknown keywords are ignored.

        Args:
            start_time: When the experiment started (a ``time.time()`` value); None keeps
                the time the reporter was built.
            total_samples: How many trials the experiment will run (None or 0: unknown).
            metric: The experiment's metric, or None.
            mode: ``"min"``, ``"max"`` or None.
            **kwargs: Other settings; ``verbose`` (0-3) is the run's verbosity, the rest
                is ignored.
        """
        return

    def set_search_properties(self, metric: str | None, mode: str | None) -> bool:
        """Tell the reporter the experiment's metric and mode.

        Args:
            metric: The metric the experiment optimizes, or None.
            mode: ``"min"``, ``"max"`` or None.

        Returns:
            True when the reporter accepted them.
        """
        return True

    def set_total_samples(self, total_samples: int) -> None:
        """Tell the reporter how many trials the experiment will run.

        Args:
            total_samples: The number of trials (0: unknown).
        """
        return

    @abstractmethod
    def should_report(self, trials: Sequence[Trial], done: bool = False) -> bool:
        """Whether :meth:`report` should be called now.

        Called after every step of the experiment loop: keep it cheap (no I/O).

        Args:
            trials: Every trial of the experiment (read only).
            done: True when the experiment has ended (a final report is due).

        Returns:
            True to have :meth:`report` called now.
        """

    @abstractmethod
    def report(self, trials: Sequence[Trial], done: bool, *sys_info: str) -> None:
        """Show the progress of ``trials``; ``done`` marks the final report.

        Args:
            trials: Every trial of the experiment (read only).
            done: True for the final report.
            *sys_info: Ready-made header lines (memory, scheduler, resources, result
                directory, trial counts).
        """


def _columns(name: str, value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        items = [(key, key) for key in value]
    else:
        raise TypeError(
            f"{name} must be a list of names or a dict of name -> display name, got {value!r}"
        )
    for key, shown in items:
        if not isinstance(key, str) or not isinstance(shown, str):
            raise TypeError(f"{name} must hold strings only, got {key!r}: {shown!r}")
    return dict(items)


def _int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def _mode(value: Any) -> str | None:
    if value not in (None, "min", "max"):
        raise ValueError(f"mode must be 'min', 'max' or None, got {value!r}")
    return value  # type: ignore[no-any-return]


def _metric(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"metric must be a string or None, got {value!r}")
    return value


def _elapsed(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:05.2f}"


class TuneReporterBase(ProgressReporter):
    """The table-printing reporter: columns, rate bounding and the report text.

    The base of :class:`CLIReporter` and :class:`JupyterNotebookReporter`, which decide
    where the report goes. ``should_report`` is True at most once per
    ``max_report_frequency`` seconds of ``clock`` (always when ``done``). The final report
    always holds the trial table, with every row.

    Args:
        metric_columns: The result keys shown as columns: a list of keys, or a dict of key
            to column title (nested keys written with ``"/"``). None (default): the
            experiment's ``metric``, up to ``infer_limit`` metrics the trials reported, then
            ``acc``, ``loss``, ``ts``, ``reward``, ``iter`` and ``total time (s)`` where
            present.
        parameter_columns: The config keys shown as columns, as for ``metric_columns``.
            None (default): every sampled parameter.
        total_samples: The number of trials to expect (None: told by the run).
        max_progress_rows: Trial rows of an intermediate report, at least 1 (default
            20); running, errored and paused trials are kept first.
        max_error_rows: Rows of the error table of an intermediate report (default 20;
            0: none).
        max_column_length: Longest text of a cell, at least 4 (default 20); longer
            values keep their end.
        max_report_frequency: Seconds between two intermediate reports, >= 0 (default 5).
        infer_limit: How many reported metrics are shown when ``metric_columns`` is None
            (default 3).
        print_intermediate_tables: True: every report holds the trial table; False: only
            the final one; None (default): when the run's verbosity is 3.
        metric: The metric of the "best trial" line, when the run sets none.
        mode: ``"min"`` or ``"max"`` for ``metric``.
        sort_by_metric: Sort the table rows by ``metric`` (best first) instead of by
            status (default False).
        overwrite: Whether a report replaces the previous one: True, False, or None
            (default: where the output allows it; see the subclasses).
        clock: The clock ``max_report_frequency`` is measured with (default
            ``time.monotonic``).

    Raises:
        ValueError: A number is out of its range, or ``mode`` is not ``"min"``/``"max"``.
        TypeError: A column list, flag or ``clock`` has the wrong type.
    """

    def __init__(
        self,
        *,
        metric_columns: Sequence[str] | Mapping[str, str] | None = None,
        parameter_columns: Sequence[str] | Mapping[str, str] | None = None,
        total_samples: int | None = None,
        max_progress_rows: int = 20,
        max_error_rows: int = 20,
        max_column_length: int = 20,
        max_report_frequency: float = 5,
        infer_limit: int = 3,
        print_intermediate_tables: bool | None = None,
        metric: str | None = None,
        mode: str | None = None,
        sort_by_metric: bool = False,
        overwrite: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        user_metrics = _columns("metric_columns", metric_columns)
        self._metrics_override = user_metrics is not None
        self._metric_columns = dict(DEFAULT_COLUMNS) if user_metrics is None else user_metrics
        self._parameter_columns = _columns("parameter_columns", parameter_columns)
        self._total_samples = (
            None if total_samples is None else _int("total_samples", total_samples, 0)
        )
        self._max_progress_rows = _int("max_progress_rows", max_progress_rows, 1)
        self._max_error_rows = _int("max_error_rows", max_error_rows, 0)
        self._max_column_length = _int("max_column_length", max_column_length, 4)
        if (
            isinstance(max_report_frequency, bool)
            or not isinstance(max_report_frequency, (int, float))
            or not max_report_frequency >= 0
            or math.isinf(max_report_frequency)
        ):
            raise ValueError(
                f"max_report_frequency must be a finite number of seconds >= 0, "
                f"got {max_report_frequency!r}"
            )
        self._max_report_frequency = float(max_report_frequency)
        self._infer_limit = _int("infer_limit", infer_limit, 0)
        if print_intermediate_tables is not None and not isinstance(
            print_intermediate_tables, bool
        ):
            raise TypeError(
                f"print_intermediate_tables must be True, False or None, "
                f"got {print_intermediate_tables!r}"
            )
        self._print_intermediate_tables = print_intermediate_tables
        self._metric = _metric(metric)
        self._mode = _mode(mode)
        if not isinstance(sort_by_metric, bool):
            raise TypeError(f"sort_by_metric must be True or False, got {sort_by_metric!r}")
        self._sort_by_metric = sort_by_metric
        if overwrite is not None and not isinstance(overwrite, bool):
            raise TypeError(f"overwrite must be True, False or None, got {overwrite!r}")
        self._overwrite = overwrite
        if not callable(clock):
            raise TypeError(f"clock must be a callable returning seconds, got {clock!r}")
        self._clock = clock
        self._last_report = -math.inf
        self._start_time = time.time()
        self._verbosity = 3

    # -- configuration ---------------------------------------------------------------------
    def setup(
        self,
        start_time: float | None = None,
        total_samples: int | None = None,
        metric: str | None = None,
        mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Called by the controller before the first trial.

        Args:
            start_time: When the experiment started (a ``time.time()`` value); None keeps
                the time the reporter was built.
            total_samples: How many trials the experiment will run (None or 0: unknown).
            metric: The experiment's metric, or None.
            mode: ``"min"``, ``"max"`` or None.
            **kwargs: Other settings; ``verbose`` (0-3) is the run's verbosity, the rest
                is ignored.
        """
        if start_time is not None:
            self._start_time = start_time
        if total_samples is not None:
            self.set_total_samples(total_samples)
        if metric is not None or mode is not None:
            self.set_search_properties(metric, mode)
        verbose = kwargs.get("verbose")
        if verbose is not None:
            self._verbosity = _check_verbose(verbose)

    def set_search_properties(self, metric: str | None, mode: str | None) -> bool:
        """Take the experiment's metric and mode (for the "best trial" line and sorting).

        Args:
            metric: The metric, or None (with a mode: ``_metric``, tunelab's default).
            mode: ``"min"``, ``"max"`` or None.

        Returns:
            True.

        Raises:
            ValueError: The reporter was built with another metric or mode.
        """
        metric, mode = _metric(metric), _mode(mode)
        if (self._metric and metric and metric != self._metric) or (
            self._mode and mode and mode != self._mode
        ):
            raise ValueError(
                f"The reporter was built with metric={self._metric!r}, mode={self._mode!r} "
                f"and the experiment uses metric={metric!r}, mode={mode!r}; set them in one "
                f"place only"
            )
        self._metric = metric or self._metric
        self._mode = mode or self._mode
        if self._metric is None and self._mode:
            self._metric = DEFAULT_METRIC
        return True

    def set_total_samples(self, total_samples: int) -> None:
        """Set how many trials to expect (shown as ``n/total``).

        Args:
            total_samples: The number of trials, >= 0 (0: unknown).

        Raises:
            ValueError: ``total_samples`` is not an int >= 0.
        """
        self._total_samples = _int("total_samples", total_samples, 0)

    def add_metric_column(self, metric: str, representation: str | None = None) -> None:
        """Show ``metric`` as a column; turns off the inference of metric columns.

        Args:
            metric: The result key (nested keys written with ``"/"``).
            representation: The column title (default: ``metric``).

        Raises:
            ValueError: The column exists already.
            TypeError: An argument is not a string.
        """
        if not isinstance(metric, str) or not isinstance(representation, (str, type(None))):
            raise TypeError(f"add_metric_column takes strings, got {metric!r}, {representation!r}")
        if metric in self._metric_columns:
            raise ValueError(f"metric column {metric!r} already exists")
        self._metric_columns[metric] = representation or metric
        self._metrics_override = True

    def add_parameter_column(self, parameter: str, representation: str | None = None) -> None:
        """Show ``parameter`` as a column (instead of every sampled parameter).

        Args:
            parameter: The config key (nested keys written with ``"/"``).
            representation: The column title (default: ``parameter``).

        Raises:
            ValueError: The column exists already.
            TypeError: An argument is not a string.
        """
        if not isinstance(parameter, str) or not isinstance(representation, (str, type(None))):
            raise TypeError(
                f"add_parameter_column takes strings, got {parameter!r}, {representation!r}"
            )
        if self._parameter_columns is None:
            self._parameter_columns = {}
        if parameter in self._parameter_columns:
            raise ValueError(f"parameter column {parameter!r} already exists")
        self._parameter_columns[parameter] = representation or parameter

    # -- when ------------------------------------------------------------------------------
    def should_report(self, trials: Sequence[Trial], done: bool = False) -> bool:
        """True when ``done`` or when ``max_report_frequency`` seconds passed since the
        last report; never at ``verbose=0`` (nothing would be shown, and the status lines
        the controller builds for a report read every trial).

        Args:
            trials: Every trial of the experiment (not read).
            done: True when the experiment has ended.

        Returns:
            Whether to report now.
        """
        if self._verbosity == 0:
            return False
        now = self._clock()
        if done or now - self._last_report >= self._max_report_frequency:
            self._last_report = now
            return True
        return False

    # -- what ------------------------------------------------------------------------------
    def _shown_metric_columns(self, trials: Sequence[Trial]) -> dict[str, str]:
        if self._metrics_override:
            return dict(self._metric_columns)
        columns: dict[str, str] = {}
        if self._metric:
            columns[self._metric] = self._metric_columns.get(self._metric, self._metric)
        for key in infer_metric_columns(trials, self._infer_limit):
            columns.setdefault(key, key)
        for key, shown in self._metric_columns.items():
            if key not in TAIL_COLUMNS:
                columns.setdefault(key, shown)
        for key in TAIL_COLUMNS:
            if key in self._metric_columns:
                columns.setdefault(key, self._metric_columns[key])
        return columns

    def _shown_parameter_columns(self, trials: Sequence[Trial]) -> dict[str, str]:
        if self._parameter_columns is not None:
            return dict(self._parameter_columns)
        keys: dict[str, None] = {}
        for trial in trials:
            keys.update(dict.fromkeys(trial.evaluated_params))
        return {key: key for key in keys}

    def _intermediate_tables(self) -> bool:
        if self._print_intermediate_tables is None:
            return self._verbosity >= 3
        return self._print_intermediate_tables

    def _progress_blocks(
        self, trials: Sequence[Trial], done: bool, sys_info: Sequence[str], fmt: str
    ) -> tuple[list[str], list[str]]:
        """(header lines, table blocks) of one report."""
        now = time.time()
        header = [
            "== Status ==",
            f"Current time: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(now))} "
            f"(running for {_elapsed(now - self._start_time)})",
            *sys_info,
        ]
        if not any(line.startswith("Number of trials") for line in sys_info):
            header.append(trial_count_line(trials, self._total_samples))
        best = best_trial_line(trials, self._metric, self._mode)
        if best:
            header.append(best)
        tables: list[str] = []
        if done or self._intermediate_tables():
            tables += trial_progress_table(
                trials,
                metric_columns=self._shown_metric_columns(trials),
                parameter_columns=self._shown_parameter_columns(trials),
                max_rows=None if done else self._max_progress_rows,
                max_column_length=self._max_column_length,
                fmt=fmt,
                metric=self._metric,
                mode=self._mode,
                sort_by_metric=self._sort_by_metric,
            )
            if done or self._max_error_rows:
                tables += trial_errors_table(
                    trials, max_rows=None if done else self._max_error_rows, fmt=fmt
                )
        return header, tables

    def _bar_counts(self, trials: Sequence[Trial]) -> tuple[int, int | None]:
        counts = count_statuses(trials)
        finished = counts.get(TrialStatus.TERMINATED, 0) + counts.get(TrialStatus.ERROR, 0)
        return finished, self._total_samples or None

    def _progress_str(
        self,
        trials: Sequence[Trial],
        done: bool,
        *sys_info: str,
        fmt: str = "psql",
        delim: str = "\n",
        bar: bool = False,
    ) -> str:
        """The report as text (``fmt="psql"``) or HTML (``fmt="html"``, ``delim="<br>"``);
        ``bar`` adds a progress bar of finished trials under the header."""
        header, tables = self._progress_blocks(trials, done, sys_info, fmt)
        if fmt == "html":
            header = [html.escape(line) for line in header]
            tables = [t if t.lstrip().startswith("<") else html.escape(t) for t in tables]
        if bar:
            finished, total = self._bar_counts(trials)
            if fmt == "html":
                header.append(progress_bar_html(finished, total))
            else:
                header.append(progress_bar(finished, total))
        return delim.join([*header, *tables]) + delim

    def _compact_line(self, trials: Sequence[Trial]) -> str:
        """``"== 12/50 done, 2 running, 0 errored | best acc=0.93 =="`` (no elapsed time)."""
        best = None
        if self._metric and self._mode:
            shown = self._metric_columns.get(self._metric, self._metric)
            best = best_metric_text(trials, self._metric, self._mode, shown)
        return compact_status_line(count_statuses(trials), self._total_samples, best)


class CLIReporter(TuneReporterBase):
    """Prints the status report to standard output, in the form that suits it.

    * **On a terminal** (``sys.stdout.isatty()``; or always with ``overwrite=True``) each
      report is one block redrawn in place: the header, a progress bar of finished trials
      (``[#####.....] 12/50 trials finished``, of the total when it is known) and the trial
      table when tables are shown (see :class:`TuneReporterBase`). Lines are cut to the
      terminal's width and the block to its height; text others print meanwhile is kept
      (the next block is drawn below it).
    * **Elsewhere** (a log file, CI; or always with ``overwrite=False``) an intermediate
      report is one compact line, ``== 12/50 done, 2 running, 0 errored | best acc=0.93 |
      00:01:05 ==``, printed at most once per ``max_report_frequency`` and, while nothing
      changes, at most once a minute. When intermediate tables are asked for
      (``print_intermediate_tables=True``, or verbosity 3) the full report is printed
      instead.

    The final report (``done=True``) is always printed in full, with every trial. Nothing
    is printed at verbosity 0.

    Args:
        metric_columns: See :class:`TuneReporterBase` (all arguments are keyword-only).
        parameter_columns: See :class:`TuneReporterBase`.
        total_samples: See :class:`TuneReporterBase`.
        max_progress_rows: See :class:`TuneReporterBase`.
        max_error_rows: See :class:`TuneReporterBase`.
        max_column_length: See :class:`TuneReporterBase`.
        max_report_frequency: See :class:`TuneReporterBase`.
        infer_limit: See :class:`TuneReporterBase`.
        print_intermediate_tables: See :class:`TuneReporterBase`.
        metric: See :class:`TuneReporterBase`.
        mode: See :class:`TuneReporterBase`.
        sort_by_metric: See :class:`TuneReporterBase`.
        overwrite: True: always redraw in place; False: always print line by line; None
            (default): redraw in place on a terminal only.
        clock: See :class:`TuneReporterBase`.
    """

    _output: TerminalOutput | None = None

    def setup(
        self,
        start_time: float | None = None,
        total_samples: int | None = None,
        metric: str | None = None,
        mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Called by the controller before the first trial; starts a new display.

        Args:
            start_time: When the experiment started (a ``time.time()`` value); None keeps
                the time the reporter was built.
            total_samples: How many trials the experiment will run (None or 0: unknown).
            metric: The experiment's metric, or None.
            mode: ``"min"``, ``"max"`` or None.
            **kwargs: Other settings; ``verbose`` (0-3) is the run's verbosity, the rest
                is ignored.
        """
        super().setup(start_time, total_samples, metric, mode, **kwargs)
        self._output = None  # a new experiment starts a new display

    def report(self, trials: Sequence[Trial], done: bool, *sys_info: str) -> None:
        """Print the report (see the class for its form).

        Args:
            trials: Every trial of the experiment (read only).
            done: True for the final report.
            *sys_info: Ready-made header lines (memory, scheduler, resources, result
                directory, trial counts).
        """
        if self._verbosity == 0:
            return
        output = self._output
        if output is None:
            output = self._output = TerminalOutput(self._overwrite, self._clock)
        if output.live():
            output.draw(self._progress_str(trials, done, *sys_info, bar=True), done)
        elif done or self._intermediate_tables():
            print(self._progress_str(trials, done, *sys_info), file=sys.stdout, flush=True)
        else:
            output.line(self._compact_line(trials), _elapsed(time.time() - self._start_time))


class JupyterNotebookReporter(TuneReporterBase):
    """Shows the status report as HTML in a Jupyter notebook, with a progress bar.

    The bar counts finished trials. Prints text when IPython is not installed (IPython is
    imported only when a report is shown). The default reporter of a run whose driver is
    a Jupyter kernel.

    Args:
        overwrite: True (default): the report is one output of the cell, updated in place
            (an IPython display handle), so other output of the cell stays; False: each
            report is a new output.
        metric_columns: See :class:`TuneReporterBase` (all arguments are keyword-only).
        parameter_columns: See :class:`TuneReporterBase`.
        total_samples: See :class:`TuneReporterBase`.
        max_progress_rows: See :class:`TuneReporterBase`.
        max_error_rows: See :class:`TuneReporterBase`.
        max_column_length: See :class:`TuneReporterBase`.
        max_report_frequency: See :class:`TuneReporterBase`.
        infer_limit: See :class:`TuneReporterBase`.
        print_intermediate_tables: See :class:`TuneReporterBase`.
        metric: See :class:`TuneReporterBase`.
        mode: See :class:`TuneReporterBase`.
        sort_by_metric: See :class:`TuneReporterBase`.
        clock: See :class:`TuneReporterBase`.

    Raises:
        TypeError: ``overwrite`` is not a bool (and as :class:`TuneReporterBase`).
    """

    def __init__(
        self,
        *,
        overwrite: bool = True,
        metric_columns: Sequence[str] | Mapping[str, str] | None = None,
        parameter_columns: Sequence[str] | Mapping[str, str] | None = None,
        total_samples: int | None = None,
        max_progress_rows: int = 20,
        max_error_rows: int = 20,
        max_column_length: int = 20,
        max_report_frequency: float = 5,
        infer_limit: int = 3,
        print_intermediate_tables: bool | None = None,
        metric: str | None = None,
        mode: str | None = None,
        sort_by_metric: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(overwrite, bool):
            raise TypeError(f"overwrite must be True or False, got {overwrite!r}")
        super().__init__(
            metric_columns=metric_columns,
            parameter_columns=parameter_columns,
            total_samples=total_samples,
            max_progress_rows=max_progress_rows,
            max_error_rows=max_error_rows,
            max_column_length=max_column_length,
            max_report_frequency=max_report_frequency,
            infer_limit=infer_limit,
            print_intermediate_tables=print_intermediate_tables,
            metric=metric,
            mode=mode,
            sort_by_metric=sort_by_metric,
            overwrite=overwrite,
            clock=clock,
        )
        self._handle: Any = None

    def setup(
        self,
        start_time: float | None = None,
        total_samples: int | None = None,
        metric: str | None = None,
        mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Called by the controller before the first trial; starts a new cell output.

        Args:
            start_time: When the experiment started (a ``time.time()`` value); None keeps
                the time the reporter was built.
            total_samples: How many trials the experiment will run (None or 0: unknown).
            metric: The experiment's metric, or None.
            mode: ``"min"``, ``"max"`` or None.
            **kwargs: Other settings; ``verbose`` (0-3) is the run's verbosity, the rest
                is ignored.
        """
        super().setup(start_time, total_samples, metric, mode, **kwargs)
        self._handle = None

    def report(self, trials: Sequence[Trial], done: bool, *sys_info: str) -> None:
        """Show the report as HTML in the notebook (text without IPython).

        Args:
            trials: Every trial of the experiment (read only).
            done: True for the final report.
            *sys_info: Ready-made header lines (memory, scheduler, resources, result
                directory, trial counts).
        """
        if self._verbosity == 0:
            return
        try:
            display = importlib.import_module("IPython.display")
        except ImportError:
            print(self._progress_str(trials, done, *sys_info), file=sys.stdout, flush=True)
            return
        text = self._progress_str(trials, done, *sys_info, fmt="html", delim="<br>", bar=True)
        output = display.HTML(text)
        if not self._overwrite:
            display.display(output)
        elif self._handle is not None:
            self._handle.update(output)
        else:
            # one output of the cell, updated in place; other output of the cell stays
            self._handle = display.display(output, display_id=True)


def in_notebook() -> bool:
    """Whether this process is a Jupyter (IPython kernel) process.

    Returns:
        True inside a notebook kernel (IPython's ``ZMQInteractiveShell``).
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def default_progress_reporter(verbose: int = 3) -> ProgressReporter:
    """The reporter a run uses when none is given.

    Args:
        verbose: The run's verbosity, 0-3 (``True``/``False``: 2/0).

    Returns:
        A :class:`JupyterNotebookReporter` inside a notebook kernel, else a
        :class:`CLIReporter`, set up for ``verbose``.

    Raises:
        ValueError: ``verbose`` is out of range.
    """
    level = _check_verbose(verbose)
    reporter: TuneReporterBase = JupyterNotebookReporter() if in_notebook() else CLIReporter()
    reporter.setup(verbose=level)
    return reporter
