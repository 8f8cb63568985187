"""``tunelab.experiment``: the :class:`Experiment` spec (Ray Tune's ``ray.tune.experiment``)."""

from __future__ import annotations

from tunelab._experiment import Experiment, convert_to_experiment_list

__all__ = ["Experiment", "convert_to_experiment_list"]
