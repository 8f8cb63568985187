"""Plots from a ResultGrid / ExperimentAnalysis / experiment directory, saved as PNG."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib")

import tunelab as tune
from tunelab.air import session
from tunelab.execution import InProcessExecutor
from tunelab.plot import (
    plot_best_so_far,
    plot_learning_curves,
    plot_parallel_coordinates,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def train(config: dict[str, Any]) -> None:
    for step in range(1, config["steps"] + 1):
        session.report({"score": config["lr"] * step, "nested": {"loss": 1.0 / step}})


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("plots")
    return tune.run(
        train,
        name="exp",
        config={
            "lr": tune.grid_search([0.001, 0.1, 10.0]),
            "act": tune.grid_search(["relu", "tanh"]),
            "steps": 4,
        },
        metric="score",
        mode="max",
        storage_path=str(root),
        verbose=0,
        executor=InProcessExecutor(),
    )


def is_png(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG_MAGIC


def test_learning_curves_one_line_per_trial(experiment: Any, tmp_path: Path) -> None:
    path = tmp_path / "sub" / "curves.png"
    figure = plot_learning_curves(experiment, "score", path=path)
    assert is_png(path)
    (axes,) = figure.axes
    assert len(axes.lines) == 6
    xs, _ys = axes.lines[0].get_data()
    assert list(xs) == [1, 2, 3, 4]
    assert axes.get_ylabel() == "score"
    assert len(axes.get_legend().get_texts()) == 6


def test_curves_have_distinct_colours_and_a_legend_beside(tmp_path: Path) -> None:
    from matplotlib.colors import to_hex

    many = tune.run(
        train,
        name="many",
        config={"lr": tune.grid_search([0.9 + i / 1000 for i in range(11)]), "steps": 3},
        storage_path=str(tmp_path),
        verbose=0,
        executor=InProcessExecutor(),
    )
    figure = plot_learning_curves(many, "score", path=tmp_path / "many.png")
    (axes,) = figure.axes
    colours = {to_hex(line.get_color()) for line in axes.lines}
    assert len(colours) == 11  # the default cycle repeats after 10
    figure.canvas.draw()
    legend = axes.get_legend()
    # the legend sits right of the plotting area, covering no curve
    assert legend.get_window_extent().x0 >= axes.get_window_extent().x1


def test_learning_curves_of_some_trials_and_nested_metric(experiment: Any) -> None:
    ids = [t.trial_id for t in experiment.trials[:2]]
    figure = plot_learning_curves(experiment, "nested/loss", trials=ids)
    assert len(figure.axes[0].lines) == 2
    assert list(figure.axes[0].lines[1].get_data()[1]) == [1.0, 0.5, 1 / 3, 0.25]
    with pytest.raises(ValueError, match="'nope' is not a trial"):
        plot_learning_curves(experiment, "score", trials=["nope"])


def test_result_grid_and_directory_are_accepted(experiment: Any, tmp_path: Path) -> None:
    grid = tune.ResultGrid(experiment)
    assert len(plot_learning_curves(grid, "score").axes[0].lines) == 6
    figure = plot_best_so_far(experiment.experiment_path, "score", "max", path=tmp_path / "b.png")
    assert is_png(tmp_path / "b.png")
    assert len(figure.axes[0].lines) == 2


def test_best_so_far_is_monotone(experiment: Any) -> None:
    figure = plot_best_so_far(experiment, "score", "max")
    _dots, best = figure.axes[0].lines
    assert list(best.get_data()[0]) == [1, 2, 3, 4, 5, 6]
    values = list(best.get_data()[1])
    assert values == sorted(values) and values[-1] == pytest.approx(40.0)
    low = plot_best_so_far(experiment, "nested/loss", "min").axes[0].lines[1]
    assert list(low.get_data()[1]) == [0.25] * 6


def test_parallel_coordinates_axes_and_lines(experiment: Any, tmp_path: Path) -> None:
    path = tmp_path / "parallel.png"
    figure = plot_parallel_coordinates(experiment, "score", path=path)
    assert is_png(path)
    axes = figure.axes[0]  # the second axes is the colour bar
    assert len(figure.axes) == 2
    assert len(axes.lines) == 6
    labels = [t.get_text() for t in axes.get_xticklabels()]
    assert labels == ["act", "lr (log)", "score (log)"]  # "steps" was not sampled: left out
    for line in axes.lines:
        assert all(0.0 <= y <= 1.0 for y in line.get_data()[1])
    chosen = plot_parallel_coordinates(experiment, "score", params=["act"], mode="max")
    assert [t.get_text() for t in chosen.axes[0].get_xticklabels()] == ["act", "score (log)"]


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda e: plot_learning_curves(e, "missing"), ValueError, "'missing'.*score"),
        (lambda e: plot_learning_curves(e, 3), TypeError, "metric.*3"),
        (lambda e: plot_learning_curves(42, "score"), TypeError, "results.*int"),
        (lambda e: plot_best_so_far(e, "score", "best"), ValueError, "mode.*'best'"),
        (lambda e: plot_parallel_coordinates(e, "score", params=["x"]), ValueError, "x"),
        (lambda e: plot_parallel_coordinates(e, "score", params="lr"), TypeError, "params"),
        (lambda e: plot_learning_curves(e, "score", path=5), TypeError, "path.*5"),
    ],
)
def test_bad_arguments(experiment: Any, call: Any, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        call(experiment)


def test_import_does_not_import_matplotlib_or_pyplot() -> None:
    code = (
        "import sys, tunelab.plot; print('matplotlib' in sys.modules);"
        "import tunelab.plot._figures as f;"
        "import tunelab as t;"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_plotting_never_uses_pyplot(experiment: Any) -> None:
    plot_learning_curves(experiment, "score")
    assert "matplotlib.pyplot" not in sys.modules or _pyplot_loaded_elsewhere()


def _pyplot_loaded_elsewhere() -> bool:
    # another test module may have imported pyplot itself; then only check no figure is open
    import matplotlib.pyplot as plt

    return not plt.get_fignums()


def test_close_values_get_plain_tick_labels_without_an_offset(tmp_path: Path) -> None:
    def near(config: dict[str, Any]) -> None:
        for step in range(1, 4):
            session.report({"acc": 0.95 + config["d"] * step})

    close = tune.run(
        near,
        name="close",
        config={"d": tune.grid_search([1e-6, 2e-6])},
        storage_path=str(tmp_path),
        verbose=0,
        executor=InProcessExecutor(),
    )
    figure = plot_learning_curves(close, "acc")
    figure.canvas.draw()
    # matplotlib would print "+9.5e-1" above labels like 0.000002 by default
    assert figure.axes[0].yaxis.get_offset_text().get_text() == ""
