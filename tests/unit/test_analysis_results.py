"""Tests of ResultGrid and Result."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest
from analysis_fixtures import SCORES, make_experiment, write_trial_dir

from tunelab._checkpoint import Checkpoint
from tunelab._errors import TrialError, TuneError
from tunelab._trial import Trial, TrialStatus
from tunelab.analysis import ExperimentAnalysis, Result, ResultGrid


# -- ResultGrid -----------------------------------------------------------------------------
def _grid(
    tmp_path: Path, scores: dict[str, list[float]] | None = None, **kwargs: Any
) -> ResultGrid:
    exp, _ = make_experiment(tmp_path, scores, **kwargs)
    return ResultGrid(ExperimentAnalysis(exp))


def test_result_grid_sequence_protocol(tmp_path: Path) -> None:
    grid = _grid(tmp_path)
    assert len(grid) == 4
    assert grid.experiment_path == str(tmp_path / "exp")
    assert [r.metrics["trial_id"] for r in grid] == ["id_a", "id_b", "id_c", "id_d"]
    assert grid[-1].metrics["trial_id"] == "id_d"
    assert [r.metrics["trial_id"] for r in grid[1:3]] == ["id_b", "id_c"]
    assert grid[0] is grid[0]
    with pytest.raises(IndexError):
        grid[4]
    with pytest.raises(TypeError, match="integers"):
        grid["a"]  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="experiment_analysis"):
        ResultGrid("path")  # type: ignore[arg-type]


def test_get_best_result(tmp_path: Path) -> None:
    grid = _grid(tmp_path)
    assert grid.get_best_result().metrics["trial_id"] == "id_c"
    assert grid.get_best_result(scope="avg").metrics["trial_id"] == "id_a"
    best = grid.get_best_result("nested/inner/value", "max")
    assert best.metrics["trial_id"] == "id_a"
    with pytest.raises(RuntimeError, match="'unknown'"):
        grid.get_best_result("unknown", "max")
    with pytest.raises(ValueError, match="mode"):
        grid.get_best_result("score", "up")


def test_get_best_result_needs_metric_and_mode(tmp_path: Path) -> None:
    grid = _grid(tmp_path, metric=None, mode=None)
    with pytest.raises(ValueError, match="metric"):
        grid.get_best_result()
    with pytest.raises(ValueError, match="mode"):
        grid.get_best_result("score")
    assert grid.get_best_result("score", "min").metrics["trial_id"] == "id_a"


def test_get_best_result_single_trial_is_returned_unconditionally(tmp_path: Path) -> None:
    grid = _grid(tmp_path, {"a": [1.0]}, metric=None, mode=None)
    assert grid.get_best_result().metrics["trial_id"] == "id_a"
    assert grid.get_best_result("never_reported", "max").metrics["trial_id"] == "id_a"


def test_get_best_result_nan_is_not_reported(tmp_path: Path) -> None:
    grid = _grid(tmp_path, {"a": [math.nan], "b": [math.nan]})
    with pytest.raises(RuntimeError, match="NaN"):
        grid.get_best_result()
    assert grid.get_best_result(filter_nan_and_inf=False).metrics["trial_id"] == "id_a"


def test_errors_and_counts(tmp_path: Path) -> None:
    grid = _grid(
        tmp_path,
        statuses={"b": TrialStatus.ERROR, "c": TrialStatus.ERROR, "d": TrialStatus.PENDING},
        errors={"b": "Traceback (most recent call last):\nValueError: bad lr\n"},
    )
    assert grid.num_errors == 2
    assert grid.num_terminated == 1
    errors = grid.errors
    assert len(errors) == 2
    assert all(isinstance(e, TrialError) and isinstance(e, TuneError) for e in errors)
    first = errors[0]
    assert isinstance(first, TrialError)
    assert first.trial_id == "id_b"
    assert "ValueError: bad lr" in str(first) and "ValueError: bad lr" in first.traceback
    second = errors[1]
    assert isinstance(second, TrialError) and str(second) == "boom"  # no error.txt: error_msg
    assert grid[0].error is None and grid[3].error is None


def test_get_dataframe(tmp_path: Path) -> None:
    grid = _grid(tmp_path)
    assert list(grid.get_dataframe()["score"]) == [0.0, 10.0, 11.0, 7.0]
    frame = grid.get_dataframe(filter_metric="score", filter_mode="max")
    assert list(frame["score"]) == [100.0, 10.0, 11.0, 7.0]
    assert "config/model/depth" in frame.columns


# -- Result ---------------------------------------------------------------------------------
def test_result_fields(tmp_path: Path) -> None:
    grid = _grid(tmp_path, checkpoints={"a": (1, 5, 12)})
    result = grid[0]
    assert result.metrics["score"] == 0.0 and result.metrics["nested"]["inner"]["value"] == -0.0
    assert result.config == {"lr": 0.1, "model": {"depth": 0}}
    assert result.path.endswith("train_id_a_0_lr=0.1")
    assert result.log_dir == Path(result.path)
    assert result.error is None
    checkpoint = result.checkpoint
    assert isinstance(checkpoint, Checkpoint)
    assert checkpoint.path == os.path.join(result.path, "checkpoint_000012")
    assert grid[1].checkpoint is None
    frame = result.metrics_dataframe
    assert frame is not None and list(frame["score"]) == SCORES["a"]
    assert "config/model/depth" in frame.columns and "nested/inner/value" in frame.columns


def test_result_best_checkpoints(tmp_path: Path) -> None:
    result = _grid(tmp_path, checkpoints={"a": (1, 5, 12)})[0]
    pairs = result.best_checkpoints
    assert pairs is not None
    assert [os.path.basename(c.path or "") for c, _ in pairs] == [
        "checkpoint_000001",
        "checkpoint_000005",
        "checkpoint_000012",
    ]
    assert [m["training_iteration"] for _, m in pairs] == [1, 5, 12]
    assert [m["score"] for _, m in pairs] == [100.0, 0.0, 0.0]
    best = result.get_best_checkpoint("score", "max")
    assert best.path is not None and best.path.endswith("checkpoint_000001")
    newest = result.get_best_checkpoint("training_iteration", "max")
    assert newest.path is not None and newest.path.endswith("checkpoint_000012")
    nested = result.get_best_checkpoint("nested/inner/value", "max")
    assert nested.path is not None and nested.path.endswith("checkpoint_000005")
    with pytest.raises(RuntimeError, match="'missing'"):
        result.get_best_checkpoint("missing", "max")
    with pytest.raises(ValueError, match="mode"):
        result.get_best_checkpoint("score", "highest")


def test_checkpoints_pair_with_the_result_that_reported_them(tmp_path: Path) -> None:
    trial_dir = tmp_path / "trial"
    rows: list[dict[str, Any]] = [{"score": float(i), "training_iteration": i} for i in (1, 2, 3)]
    rows[1]["checkpoint_dir_name"] = "checkpoint_000007"
    write_trial_dir(trial_dir, rows, {}, checkpoints=(7, 9))
    (trial_dir / "checkpoint_tmp_000010").mkdir()  # not a checkpoint directory
    result = Result.from_path(trial_dir)
    pairs = result.best_checkpoints
    assert pairs is not None
    assert [metrics for _, metrics in pairs] == [rows[1], {"training_iteration": 9}]
    assert result.get_best_checkpoint("score", "min").path == str(trial_dir / "checkpoint_000007")
    checkpoint = result.checkpoint
    assert checkpoint is not None and checkpoint.path == str(trial_dir / "checkpoint_000009")


def test_result_without_checkpoints(tmp_path: Path) -> None:
    result = _grid(tmp_path)[0]
    assert result.best_checkpoints == []
    with pytest.raises(RuntimeError, match="No checkpoint"):
        result.get_best_checkpoint("score", "max")


def test_result_prefers_the_trials_checkpoint(tmp_path: Path) -> None:
    exp, trials = make_experiment(tmp_path, {"a": [1.0, 2.0]}, checkpoints={"a": (1, 2)})
    chosen = os.path.join(trials[0].local_path, "checkpoint_000001")
    trials[0].checkpoint = Checkpoint(chosen)
    grid = ResultGrid(ExperimentAnalysis(exp, trials=trials))
    assert grid[0].checkpoint is trials[0].checkpoint
    trials[0].checkpoint = chosen  # a plain path is wrapped
    grid = ResultGrid(ExperimentAnalysis(exp, trials=trials))
    checkpoint = grid[0].checkpoint
    assert isinstance(checkpoint, Checkpoint) and checkpoint.path == chosen


def test_result_from_path(tmp_path: Path) -> None:
    exp, trials = make_experiment(
        tmp_path, {"a": [1.0, 3.0]}, checkpoints={"a": (2,)}, errors={"a": "Traceback\nE: x\n"}
    )
    result = Result.from_path(trials[0].local_path)
    assert result.metrics["score"] == 3.0
    assert result.config == {"lr": 0.1, "model": {"depth": 0}}
    assert result.path == trials[0].local_path
    checkpoint = result.checkpoint
    assert checkpoint is not None and checkpoint.path is not None
    assert checkpoint.path.endswith("checkpoint_000002")
    assert isinstance(result.error, TrialError) and "E: x" in str(result.error)
    frame = result.metrics_dataframe
    assert frame is not None and len(frame) == 2
    with pytest.raises(ValueError, match=r"path.*not a directory"):
        Result.from_path(exp / "missing")
    with pytest.raises(ValueError, match="neither"):
        Result.from_path(exp)


def test_result_config_falls_back_to_params_json(tmp_path: Path) -> None:
    trial_dir = tmp_path / "trial"
    write_trial_dir(trial_dir, [{"score": 1.0, "training_iteration": 1}], {"lr": 5})
    result = Result.from_path(trial_dir)
    assert result.config == {"lr": 5}
    assert result.error is None


def test_result_constructed_directly(tmp_path: Path) -> None:
    result = Result(metrics={"score": 1.0, "config": {"x": 1}}, path=str(tmp_path))
    assert result.config == {"x": 1}
    assert result.checkpoint is None and result.metrics_dataframe is None
    assert result.best_checkpoints is None and result.error is None
    assert Result(log_dir=tmp_path).path == str(tmp_path)
    with pytest.raises(TypeError, match="metrics"):
        Result(metrics=[1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="log_dir"):
        Result(path="a", log_dir="b")


def test_pending_trial_result_has_empty_metrics(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    exp.mkdir()
    trial = Trial("train", trial_id="t1", config={"lr": 1}, experiment_path=str(exp))
    grid = ResultGrid(ExperimentAnalysis(exp, trials=[trial]))
    assert grid[0].metrics == {}
    assert grid[0].config == {"lr": 1}
    assert grid[0].metrics_dataframe is None and grid[0].checkpoint is None
    assert grid.num_terminated == 0 and grid.errors == []
