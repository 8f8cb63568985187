"""Ray Tune's ``ray.tune.progress_reporter`` path: the progress reporters.

The same classes as :mod:`tunelab.progress`.
"""

from __future__ import annotations

from tunelab.progress import CLIReporter, JupyterNotebookReporter, ProgressReporter

__all__ = ["CLIReporter", "JupyterNotebookReporter", "ProgressReporter"]
