"""Ray Tune's ``ray.tune.analysis.experiment_analysis`` path.

:class:`ExperimentAnalysis` and the 0.x/1.x :class:`Analysis`: the same classes as
:mod:`tunelab.analysis`.
"""

from __future__ import annotations

from tunelab.analysis._experiment_analysis import Analysis, ExperimentAnalysis

__all__ = ["Analysis", "ExperimentAnalysis"]
