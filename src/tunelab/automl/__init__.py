"""AutoML search of Ray Tune 0.x-1.x (``ray.tune.automl``): :class:`GeneticSearch`,
:class:`GridSearch` and :class:`RandomSearch` over a :class:`SearchSpace` of
:class:`ContinuousSpace` and :class:`DiscreteSpace` parameters.

They are search algorithms, passed as ``tune.run(..., search_alg=GeneticSearch(...))``;
they choose each trial's config themselves, in rounds (see
:class:`~tunelab.automl.search_policy.AutoMLSearcher`), maximising ``reward_attr``::

    space = SearchSpace(
        [ContinuousSpace("lr", 1e-4, 1e-1, 100), DiscreteSpace("layers", [1, 2, 3])]
    )
    algo = GeneticSearch(space, reward_attr="accuracy", max_generation=5, population_size=20)
    tunelab.run(train, search_alg=algo)

Ray Tune's module paths ``ray.tune.automl.<search_space|search_policy|genetic_searcher>``
are ``tunelab.automl.<same name>``.
"""

from __future__ import annotations

from tunelab.automl._genetic import GeneticSearch
from tunelab.automl._policy import AutoMLSearcher, GridSearch, RandomSearch
from tunelab.automl._space import ContinuousSpace, DiscreteSpace, ParameterSpace, SearchSpace

__all__ = [
    "AutoMLSearcher",
    "ContinuousSpace",
    "DiscreteSpace",
    "GeneticSearch",
    "GridSearch",
    "ParameterSpace",
    "RandomSearch",
    "SearchSpace",
]
