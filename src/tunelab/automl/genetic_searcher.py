"""Ray Tune's ``ray.tune.automl.genetic_searcher`` path: :class:`GeneticSearch` (the same
object as :mod:`tunelab.automl`'s)."""

from __future__ import annotations

from tunelab.automl._genetic import LOGGING_PREFIX, GeneticSearch

__all__ = ["LOGGING_PREFIX", "GeneticSearch"]
