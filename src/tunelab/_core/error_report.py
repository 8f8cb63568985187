"""A trial's ``error.txt`` and the error lines printed for the user: an output of the
controller's decisions, kept out of the controller itself.

Every failure of a trial (each retried one too), a checkpoint that could not be loaded and
a force-ended trial append one section to ``<trial dir>/error.txt`` (``Failure # n``, or a
header naming what happened, with the time); ``trial.error_file`` names the file. A trial
that failed for good and a force-ended trial are also printed to stderr, unless printing
is off (``TUNELAB_PRINT_ALL_TRIAL_ERRORS=0``, Ray's ``TUNE_PRINT_ALL_TRIAL_ERRORS=0``, or
``verbose=0``).
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

from tunelab._errors import writing

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = ["ErrorReports"]


class ErrorReports:
    """Writes and prints what went wrong with trials (see the module docstring)."""

    def __init__(self, *, print_errors: bool, verbose: int) -> None:
        self._print = print_errors and verbose > 0

    def write(self, trial: Trial, text: str, header: str = "") -> None:
        """Append ``text`` under ``header`` (default ``Failure # <n>``) to the trial's
        ``error.txt``; a failed write raises :class:`~tunelab._errors.StorageError`."""
        error_file = os.path.join(trial.local_path, "error.txt")
        with writing(f"the error report of trial {trial}", error_file):
            os.makedirs(trial.local_path, exist_ok=True)
            trial.error_file = error_file
            with open(error_file, "a") as fh:
                when = time.strftime("%Y-%m-%d_%H-%M-%S")
                header = header or f"Failure # {trial.num_failures + 1}"
                fh.write(f"{header} (occurred at {when})\n")
                fh.write(text if text.endswith("\n") else text + "\n")

    def print_failure(self, trial: Trial, text: str) -> None:
        """The trial failed for good."""
        if self._print:
            iterations = trial.last_result.get("training_iteration", 0)
            print(
                f"Trial {trial} errored after {iterations} iterations; error file: "
                f"{trial.error_file}\n{text.rstrip()}",
                file=sys.stderr,
            )

    def print_force_end(self, text: str) -> None:
        """A trial was force-ended (``text`` says why and how)."""
        if self._print:
            print(f"tunelab: {text.rstrip()}", file=sys.stderr)
