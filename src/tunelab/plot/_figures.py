"""The three plots: learning curves, parallel coordinates, best-so-far.

Figures are built with matplotlib's object API on an Agg canvas (no ``pyplot``, no global
state, no window): each function returns the :class:`matplotlib.figure.Figure` and saves it
as PNG when ``path`` is given.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tunelab._errors import require
from tunelab.plot._data import TrialSeries, as_analysis, check_metric, check_mode, trial_series

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_best_so_far", "plot_learning_curves", "plot_parallel_coordinates"]

_FEATURE = "tunelab.plot"
#: Trials named in a legend at most (more lines are drawn without a legend).
_MAX_LEGEND = 12


def _new_figure(width: float, height: float) -> Figure:
    require("matplotlib", extra="plot", feature=_FEATURE)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _distinct_colors(count: int) -> list[Any]:
    """``count`` colours that do not repeat: matplotlib's qualitative ``tab10``/``tab20``
    while they suffice, else evenly spaced along ``turbo`` (the default cycle repeats after
    10 lines, so trial 11 looked like trial 1)."""
    from matplotlib import colormaps

    if count <= 10:
        return [colormaps["tab10"](i) for i in range(count)]
    if count <= 20:
        return [colormaps["tab20"](i) for i in range(count)]
    turbo = colormaps["turbo"]
    return [turbo(0.05 + 0.9 * i / (count - 1)) for i in range(count)]


def _plain_numbers(axes: Any) -> None:
    """Tick labels in one notation: no offset (``+9.5e-1``) or scientific factor on top of
    plain labels."""
    for axis in (axes.xaxis, axes.yaxis):
        formatter = axis.get_major_formatter()
        if hasattr(formatter, "set_useOffset"):
            formatter.set_useOffset(False)
        if hasattr(formatter, "set_scientific"):
            formatter.set_scientific(False)


def _legend_beside(axes: Any) -> None:
    """The legend right of the plot, where it covers no curve."""
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def _check_path(path: Any) -> str | None:
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a file path or None, got {path!r}")
    return os.fspath(path)


def _save(figure: Figure, path: str | None) -> None:
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    figure.savefig(path, format="png")


def plot_learning_curves(
    results: Any,
    metric: str,
    trials: Iterable[Any] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """One line per trial: ``metric`` against ``training_iteration``.

    Trials that never reported ``metric`` are left out; the legend names up to 12 trials.

    Args:
        results: A :class:`~tunelab.ResultGrid`, an :class:`~tunelab.ExperimentAnalysis`
            or an experiment directory.
        metric: The result key to plot (nested keys written with ``"/"``).
        trials: Only these trials (trial ids, trial names or trial records); None
            (default): all.
        path: Where to write the figure as PNG (folders are created); None (default):
            not written.

    Returns:
        The matplotlib ``Figure`` (drawn off-screen; change it and ``savefig`` as you like).

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: No trial reported ``metric``, or ``trials`` names an unknown trial.
        ExtraNotInstalledError: matplotlib is not installed (the ``plot`` extra).
    """
    metric = check_metric(metric)
    target = _check_path(path)
    series = [s for s in trial_series(as_analysis(results), metric, trials) if s.y]
    figure = _new_figure(10 if len(series) <= _MAX_LEGEND else 8, 5)
    axes = figure.add_subplot()
    for line, color in zip(series, _distinct_colors(len(series))):
        axes.plot(
            line.x,
            line.y,
            marker="." if len(line.y) < 30 else None,
            label=line.name,
            color=color,
        )
    axes.set_xlabel("training_iteration")
    axes.set_ylabel(metric)
    axes.set_title(f"{metric} per trial ({len(series)} trials)")
    axes.grid(True, alpha=0.3)
    _plain_numbers(axes)
    if series and len(series) <= _MAX_LEGEND:
        _legend_beside(axes)
    _save(figure, target)
    return figure


def plot_best_so_far(
    results: Any,
    metric: str,
    mode: str,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """The best ``metric`` found so far against the number of trials (in creation order).

    Dots are each trial's best value, the step line is the best over all trials up to that
    one.

    Args:
        results: A :class:`~tunelab.ResultGrid`, an :class:`~tunelab.ExperimentAnalysis`
            or an experiment directory.
        metric: The result key to plot (nested keys written with ``"/"``).
        mode: ``"min"`` or ``"max"``: which values are better.
        path: Where to write the figure as PNG (folders are created); None (default):
            not written.

    Returns:
        The matplotlib ``Figure`` (drawn off-screen; change it and ``savefig`` as you like).

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: ``mode`` is invalid, or no trial reported ``metric``.
        ExtraNotInstalledError: matplotlib is not installed (the ``plot`` extra).
    """
    metric = check_metric(metric)
    mode = check_mode(mode)
    target = _check_path(path)
    bests = [
        best
        for s in trial_series(as_analysis(results), metric)
        if (best := s.best(mode)) is not None
    ]
    positions = list(range(1, len(bests) + 1))
    running: list[float] = []
    for value in bests:
        if not running:
            running.append(value)
        else:
            previous = running[-1]
            running.append(max(previous, value) if mode == "max" else min(previous, value))
    figure = _new_figure(8, 5)
    axes = figure.add_subplot()
    axes.plot(positions, bests, linestyle="none", marker="o", alpha=0.5, label="trial best")
    axes.plot(positions, running, drawstyle="steps-post", linewidth=2, label="best so far")
    axes.set_xlabel("trials (in order of creation)")
    axes.set_ylabel(f"{metric} ({mode})")
    # each trial's best at any iteration (ExperimentAnalysis's scope="all"), which can be
    # better than the best *last* result that get_best_result() reports by default
    axes.set_title(f"Best {metric} at any iteration so far: {running[-1]:.6g}")
    axes.grid(True, alpha=0.3)
    _plain_numbers(axes)
    _legend_beside(axes)
    _save(figure, target)
    return figure


# -- parallel coordinates -------------------------------------------------------------------
def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Column:
    """One vertical axis: maps a parameter's values to [0, 1] and labels the axis."""

    def __init__(self, name: str, values: Sequence[Any]) -> None:
        self.name = name
        present = [v for v in values if v is not None]
        self.numeric = bool(present) and all(
            _is_real(v) and math.isfinite(float(v)) for v in present
        )
        self.log = False
        self.categories: list[str] = []
        if self.numeric:
            numbers = [float(v) for v in present]
            self.low, self.high = min(numbers), max(numbers)
            self.log = self.low > 0 and self.high / self.low >= 1000
        else:
            self.low = self.high = 0.0
            self.categories = sorted({str(v) for v in present})

    def position(self, value: Any) -> float:
        if value is None:
            return math.nan
        if not self.numeric:
            index = self.categories.index(str(value))
            return 0.5 if len(self.categories) == 1 else index / (len(self.categories) - 1)
        number = float(value)
        low, high = self.low, self.high
        if self.log:
            number, low, high = math.log10(number), math.log10(low), math.log10(high)
        return 0.5 if high == low else (number - low) / (high - low)

    def labels(self) -> list[tuple[float, str]]:
        if not self.numeric:
            return [(self.position(c), c) for c in self.categories]
        if self.low == self.high:
            return [(0.5, f"{self.low:.4g}")]
        return [(0.0, f"{self.low:.4g}"), (1.0, f"{self.high:.4g}")]


def _default_params(series: Sequence[TrialSeries]) -> list[str]:
    names: dict[str, None] = {}
    for line in series:
        names.update(dict.fromkeys(line.params))
    varied = []
    for name in names:
        values = {repr(line.params.get(name)) for line in series}
        sample = next((line.params[name] for line in series if name in line.params), None)
        if len(values) > 1 and (_is_real(sample) or isinstance(sample, (str, bool))):
            varied.append(name)
    return varied or list(names)


def _check_params(params: Any) -> list[str] | None:
    if params is None:
        return None
    if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
        raise TypeError(f"`params` must be a list of parameter names or None, got {params!r}")
    names = list(params)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"`params` must hold parameter names (strings), got {name!r}")
    return names


def plot_parallel_coordinates(
    results: Any,
    metric: str,
    params: Iterable[str] | None = None,
    path: str | os.PathLike[str] | None = None,
    *,
    mode: str | None = None,
) -> Figure:
    """One polyline per trial across one vertical axis per parameter, then ``metric``.

    Numbers are scaled to each axis' range (log scale when they span three decades or
    more), other values are spread evenly in sorted order. Lines are coloured by the
    metric.

    Args:
        results: A :class:`~tunelab.ResultGrid`, an :class:`~tunelab.ExperimentAnalysis`
            or an experiment directory.
        metric: The result key of the last axis (nested keys written with ``"/"``).
        params: Parameter names, flattened with ``"/"``; None (default): the sampled
            parameters whose values differ between trials.
        path: Where to write the figure as PNG (folders are created); None (default):
            not written.
        mode: None (default): a trial's metric is its last reported value; ``"min"`` or
            ``"max"``: its best value (keyword only).

    Returns:
        The matplotlib ``Figure`` (drawn off-screen; change it and ``savefig`` as you like).

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: ``params`` names an unknown parameter, ``mode`` is invalid, or no
            trial reported ``metric``.
        ExtraNotInstalledError: matplotlib is not installed (the ``plot`` extra).
    """
    metric = check_metric(metric)
    names = _check_params(params)
    if mode is not None:
        mode = check_mode(mode)
    target = _check_path(path)
    series = [s for s in trial_series(as_analysis(results), metric) if s.y]
    if names is None:
        names = _default_params(series)
    else:
        known = {name for line in series for name in line.params}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(
                f"`params`: {unknown} are not parameters of these trials; known: {sorted(known)}"
            )
    scores = [s.best(mode) if mode else s.last for s in series]
    columns = [_Column(name, [line.params.get(name) for line in series]) for name in names]
    columns.append(_Column(metric, scores))
    figure = _new_figure(max(6.0, 1.6 * len(columns) + 1.5), 5)
    axes = figure.add_subplot()
    _draw_parallel(figure, axes, columns, series, scores)
    _save(figure, target)
    return figure


def _draw_parallel(
    figure: Figure,
    axes: Axes,
    columns: list[_Column],
    series: Sequence[TrialSeries],
    scores: Sequence[float | None],
) -> None:
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm, Normalize

    xs = list(range(len(columns)))
    metric_column = columns[-1]
    numeric = [float(s) for s in scores if s is not None]
    low, high = (min(numeric), max(numeric)) if numeric else (0.0, 1.0)
    norm = LogNorm(low, high) if metric_column.log else Normalize(low, high)
    cmap = colormaps["viridis"]
    for line, score in zip(series, scores):
        ys = [column.position(line.params.get(column.name)) for column in columns[:-1]]
        ys.append(metric_column.position(score))
        color = cmap(norm(score)) if score is not None else "grey"
        axes.plot(xs, ys, color=color, alpha=0.7, linewidth=1.2)
    axes.vlines(xs, 0.0, 1.0, colors="black", linewidth=0.8)
    for x, column in zip(xs, columns):
        for y, text in column.labels():
            axes.annotate(
                text, (x, y), xytext=(4, 0), textcoords="offset points", fontsize="x-small"
            )
    axes.set_xticks(xs, [c.name + (" (log)" if c.log else "") for c in columns])
    axes.set_yticks([])
    axes.set_xlim(-0.2, len(columns) - 0.6)
    axes.set_ylim(-0.05, 1.05)
    for side in ("left", "right", "top"):
        axes.spines[side].set_visible(False)
    axes.set_title(f"{len(series)} trials, coloured by {metric_column.name}")
    figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes, label=metric_column.name)
