"""Ray Tune's ``ray.tune.schedulers.pbt`` path: Population Based Training and its replay.

The same objects as :mod:`tunelab.schedulers`.
"""

from __future__ import annotations

from tunelab.schedulers._pbt import PopulationBasedTraining
from tunelab.schedulers._pbt_replay import PopulationBasedTrainingReplay

__all__ = ["PopulationBasedTraining", "PopulationBasedTrainingReplay"]
