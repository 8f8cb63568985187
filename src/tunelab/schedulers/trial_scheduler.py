"""Ray Tune's ``ray.tune.schedulers.trial_scheduler`` path: the scheduler base class and FIFO.

The same objects as :mod:`tunelab.schedulers`.
"""

from __future__ import annotations

from tunelab.schedulers._trial_scheduler import FIFOScheduler, TrialScheduler

__all__ = ["FIFOScheduler", "TrialScheduler"]
