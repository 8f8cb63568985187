"""``tunelab.experiment``: the :class:`Experiment` spec and the :class:`Trial` record (Ray
Tune's ``ray.tune.experiment``)."""

from __future__ import annotations

from tunelab._experiment import Experiment, convert_to_experiment_list
from tunelab._trial import Trial

__all__ = ["Experiment", "Trial", "convert_to_experiment_list"]
