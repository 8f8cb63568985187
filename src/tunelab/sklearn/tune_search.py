"""tune-sklearn's module path ``tune_sklearn.tune_search``: :class:`TuneSearchCV`."""

from tunelab.sklearn._search import TuneSearchCV

__all__ = ["TuneSearchCV"]
