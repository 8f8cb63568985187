"""Ray Tune's ``ray.tune.automl.search_policy`` path: the round-based base class and the
one-round grid and random searches (the same objects as :mod:`tunelab.automl`)."""

from __future__ import annotations

from tunelab.automl._policy import (
    AutoMLSearcher,
    AutoMLTrial,
    GridSearch,
    RandomSearch,
    deep_insert,
)

__all__ = ["AutoMLSearcher", "AutoMLTrial", "GridSearch", "RandomSearch", "deep_insert"]
