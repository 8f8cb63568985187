"""Ray Tune's ``ray.tune.automl.search_space`` path: the same objects as
:mod:`tunelab.automl`."""

from __future__ import annotations

from tunelab.automl._space import ContinuousSpace, DiscreteSpace, ParameterSpace, SearchSpace

__all__ = ["ContinuousSpace", "DiscreteSpace", "ParameterSpace", "SearchSpace"]
