"""Reading what an experiment produced: ``ResultGrid``, ``Result``, ``ExperimentAnalysis``.

``ResultGrid`` (from ``Tuner.fit()``) holds one ``Result`` per trial; ``ExperimentAnalysis``
(from ``tune.run``, or built from an experiment directory on disk) answers queries over the
trials: best trial/config/checkpoint, DataFrames of results. ``Analysis`` is the 0.x/1.x
name of the directory reader. pandas is imported only when a DataFrame is asked for.
"""

from __future__ import annotations

from tunelab.analysis._experiment_analysis import Analysis, ExperimentAnalysis
from tunelab.analysis._result import Result
from tunelab.analysis._result_grid import ResultGrid

__all__ = ["Analysis", "ExperimentAnalysis", "Result", "ResultGrid"]
