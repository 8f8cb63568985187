"""tune-sklearn's module path ``tune_sklearn.tune_gridsearch``: :class:`TuneGridSearchCV`."""

from tunelab.sklearn._grid import TuneGridSearchCV

__all__ = ["TuneGridSearchCV"]
