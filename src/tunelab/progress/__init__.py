"""Progress output: status reports (``CLIReporter``, ``JupyterNotebookReporter``) and
per-trial lines (``TrialProgressCallback``).

The controller builds the header lines with :func:`experiment_status_lines`, asks its
reporter :meth:`ProgressReporter.should_report` after each loop step and calls
:meth:`ProgressReporter.report` when it says yes (and once at the end with ``done=True``).
"""

from __future__ import annotations

from tunelab.progress._reporter import (
    CLIReporter,
    JupyterNotebookReporter,
    ProgressReporter,
    TuneReporterBase,
    default_progress_reporter,
    in_notebook,
)
from tunelab.progress._status import (
    TrialProgressCallback,
    experiment_status_lines,
    memory_usage_line,
    resource_usage_line,
    trial_count_line,
)
from tunelab.progress._table import DEFAULT_COLUMNS

__all__ = [
    "DEFAULT_COLUMNS",
    "CLIReporter",
    "JupyterNotebookReporter",
    "ProgressReporter",
    "TrialProgressCallback",
    "TuneReporterBase",
    "default_progress_reporter",
    "experiment_status_lines",
    "in_notebook",
    "memory_usage_line",
    "resource_usage_line",
    "trial_count_line",
]
