"""Plots of an experiment's results, saved as PNG (needs the ``plot`` extra: matplotlib).

``results`` is a :class:`~tunelab.ResultGrid` (``Tuner.fit()``), an
:class:`~tunelab.ExperimentAnalysis` (``tune.run``) or an experiment directory:

* :func:`plot_learning_curves` (``metric`` per iteration, one line per trial);
* :func:`plot_parallel_coordinates` (parameters and ``metric``, one polyline per trial);
* :func:`plot_best_so_far` (the best ``metric`` found as trials were added).

Each returns a :class:`matplotlib.figure.Figure` drawn on an Agg canvas (never shown in a
window) and writes a PNG when ``path`` is given. ``tunelab plot <experiment>`` writes all
three from the command line. matplotlib is imported by the first plot, not by ``import
tunelab.plot``.
"""

from __future__ import annotations

from tunelab.plot._figures import plot_best_so_far, plot_learning_curves, plot_parallel_coordinates

__all__ = ["plot_best_so_far", "plot_learning_curves", "plot_parallel_coordinates"]
