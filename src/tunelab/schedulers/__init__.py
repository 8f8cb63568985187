"""Trial schedulers (``from tunelab.schedulers import FIFOScheduler``)."""

from tunelab.schedulers._trial_scheduler import (
    Decision,
    DecisionPoints,
    FIFOScheduler,
    RunnerView,
    TrialScheduler,
    create_scheduler,
)

__all__ = [
    "Decision",
    "DecisionPoints",
    "FIFOScheduler",
    "RunnerView",
    "TrialScheduler",
    "create_scheduler",
]
