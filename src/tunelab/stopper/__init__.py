"""Stoppers: policies that end trials or the whole experiment (``tunelab.stopper``).

Pass one as ``tune.run(stop=...)`` or ``RunConfig(stop=...)``; a plain dict of
``{metric: threshold}`` and a ``fn(trial_id, result) -> bool`` are accepted there too.
"""

from __future__ import annotations

from tunelab.stopper._criteria import StopCriteria, check_stop_criteria, validate_stop_criteria
from tunelab.stopper._plateau import EarlyStopping, ExperimentPlateauStopper, TrialPlateauStopper
from tunelab.stopper._stopper import (
    CombinedStopper,
    FunctionStopper,
    MaximumIterationStopper,
    NoopStopper,
    Stopper,
    TimeoutStopper,
)

__all__ = [
    "CombinedStopper",
    "EarlyStopping",
    "ExperimentPlateauStopper",
    "FunctionStopper",
    "MaximumIterationStopper",
    "NoopStopper",
    "StopCriteria",
    "Stopper",
    "TimeoutStopper",
    "TrialPlateauStopper",
    "check_stop_criteria",
    "validate_stop_criteria",
]
