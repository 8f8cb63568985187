"""scikit-learn's search interface on tunelab: tune-sklearn's ``TuneSearchCV`` and
``TuneGridSearchCV`` (``pip install "tunelab[sklearn]"``).

``from tune_sklearn import TuneSearchCV`` becomes ``from tunelab.sklearn import TuneSearchCV``
(and tune-sklearn's ``tune_sklearn.tune_search``/``tune_gridsearch`` modules are
``tunelab.sklearn.tune_search``/``tune_gridsearch``).
Both are scikit-learn estimators (``clone``, ``get_params``/``set_params``, pipelines); ``fit``
runs the candidates as the trials of a tunelab experiment (see :mod:`tunelab.sklearn._base`).
"""

from __future__ import annotations

from tunelab._errors import require

require("sklearn", extra="sklearn", feature="tunelab.sklearn (TuneSearchCV, TuneGridSearchCV)")

from tunelab.sklearn._grid import TuneGridSearchCV  # noqa: E402
from tunelab.sklearn._search import TuneSearchCV  # noqa: E402

__all__ = ["TuneGridSearchCV", "TuneSearchCV"]
