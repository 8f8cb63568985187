"""Tests of ExperimentAnalysis (and Analysis), built from a live run and from disk."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from analysis_fixtures import SCORES, make_experiment

from tunelab._checkpoint import Checkpoint
from tunelab._trial import Trial, TrialStatus
from tunelab.analysis import Analysis, ExperimentAnalysis


@pytest.fixture(params=["disk", "live"])
def analysis(request: pytest.FixtureRequest, tmp_path: Path) -> ExperimentAnalysis:
    exp, trials = make_experiment(tmp_path, checkpoints={"a": (1, 5, 12), "b": (6, 12)})
    if request.param == "disk":
        return ExperimentAnalysis(str(exp))
    return ExperimentAnalysis(str(exp), trials=trials, default_metric="score", default_mode="max")


# -- ExperimentAnalysis: loading ------------------------------------------------------------
def test_loads_trials_and_defaults_from_state_file(tmp_path: Path) -> None:
    exp, _ = make_experiment(tmp_path, metric="score", mode="min")
    for path in (exp, exp / "experiment_state.json"):
        analysis = ExperimentAnalysis(path)
        assert analysis.experiment_path == str(exp)
        assert [t.trial_id for t in analysis.trials] == ["id_a", "id_b", "id_c", "id_d"]
        assert analysis.trials[1].config == {"lr": 0.2, "model": {"depth": 1}}
        assert analysis.trials[0].local_path == os.path.join(exp, analysis.trials[0].dirname)
        assert (analysis.default_metric, analysis.default_mode) == ("score", "min")


def test_passed_defaults_override_the_state_file(tmp_path: Path) -> None:
    exp, _ = make_experiment(tmp_path, metric="score", mode="min")
    analysis = ExperimentAnalysis(exp, default_metric="other", default_mode="max")
    assert (analysis.default_metric, analysis.default_mode) == ("other", "max")


def test_default_mode_alone_sets_the_default_metric(tmp_path: Path) -> None:
    exp, _ = make_experiment(tmp_path, metric=None, mode=None)
    analysis = ExperimentAnalysis(exp, default_mode="min")
    assert analysis.default_metric == "_metric"


def test_scans_trial_directories_without_a_state_file(tmp_path: Path) -> None:
    exp, _ = make_experiment(tmp_path, write_state=False)
    bare = exp / "handmade"
    bare.mkdir()
    (bare / "params.json").write_text(json.dumps({"lr": 9}))
    (exp / "notes").mkdir()  # no result files: not a trial
    analysis = ExperimentAnalysis(exp)
    ids = sorted(t.trial_id for t in analysis.trials)
    assert ids == ["handmade", "id_a", "id_b", "id_c", "id_d"]
    assert all(t.status is TrialStatus.TERMINATED for t in analysis.trials)
    by_id = {t.trial_id: t for t in analysis.trials}
    assert by_id["handmade"].config == {"lr": 9}
    assert by_id["id_c"].last_result["score"] == 11.0
    assert by_id["id_c"].trainable_name == "train"
    assert analysis.default_metric is None
    assert analysis.get_best_trial("score", "max", scope="avg") is by_id["id_a"]


def test_analysis_alias_reads_a_directory(tmp_path: Path) -> None:
    exp, _ = make_experiment(tmp_path, write_state=False)
    analysis = Analysis(str(exp), "score", "max")
    assert isinstance(analysis, ExperimentAnalysis)
    assert analysis.best_trial is not None and analysis.best_trial.trial_id == "id_c"


def test_rejects_bad_constructor_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"experiment_checkpoint_path.*does not exist"):
        ExperimentAnalysis(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"default_mode.*'maximum'"):
        ExperimentAnalysis(tmp_path, default_mode="maximum")
    with pytest.raises(TypeError, match="default_metric"):
        ExperimentAnalysis(tmp_path, default_metric=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="trials"):
        ExperimentAnalysis(tmp_path, trials=["not a trial"])  # type: ignore[list-item]
    (tmp_path / "experiment_state.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a tunelab experiment state"):
        ExperimentAnalysis(tmp_path)


def test_truncated_last_line_is_skipped(tmp_path: Path) -> None:
    exp, _ = make_experiment(tmp_path, {"a": [1.0, 2.0]})
    trial_dir = next(p for p in exp.iterdir() if p.is_dir())
    with open(trial_dir / "result.json", "a") as handle:
        handle.write('{"score": 3')
    frame = ExperimentAnalysis(exp).trial_dataframes["id_a"]
    assert list(frame["score"]) == [1.0, 2.0]


# -- ExperimentAnalysis: best trial ---------------------------------------------------------
@pytest.mark.parametrize(
    ("scope", "expected"),
    [("last", "id_c"), ("avg", "id_a"), ("last-5-avg", "id_b"), ("last-10-avg", "id_d"),
     ("all", "id_a")],
)  # fmt: skip
def test_get_best_trial_scopes(analysis: ExperimentAnalysis, scope: str, expected: str) -> None:
    best = analysis.get_best_trial("score", "max", scope=scope)
    assert best is not None and best.trial_id == expected


def test_resumed_live_trials_read_their_history_from_disk(tmp_path: Path) -> None:
    exp, trials = make_experiment(tmp_path)
    resumed = [Trial.from_state(t.to_state(), str(exp)) for t in trials]  # only last result kept
    analysis = ExperimentAnalysis(exp, trials=resumed, default_metric="score", default_mode="max")
    best = analysis.get_best_trial(scope="avg")
    assert best is not None and best.trial_id == "id_a"


def test_get_best_trial_min_and_defaults(analysis: ExperimentAnalysis) -> None:
    best = analysis.get_best_trial(mode="min", scope="all")
    assert best is not None and best.trial_id == "id_a"  # first trial reaching 0.0 wins the tie
    best = analysis.get_best_trial()
    assert best is not None and best.trial_id == "id_c"


def test_get_best_trial_nested_metric(analysis: ExperimentAnalysis) -> None:
    best = analysis.get_best_trial("nested/inner/value", "min")
    assert best is not None and best.trial_id == "id_c"
    best = analysis.get_best_trial("nested/inner/value", "min", scope="all")
    assert best is not None and best.trial_id == "id_a"


def test_get_best_trial_filters_nan_and_inf(tmp_path: Path) -> None:
    exp, _ = make_experiment(tmp_path, {"a": [1.0, math.inf], "b": [2.0, 5.0], "c": [math.nan]})
    analysis = ExperimentAnalysis(exp)
    best = analysis.get_best_trial("score", "max")
    assert best is not None and best.trial_id == "id_b"
    best = analysis.get_best_trial("score", "max", filter_nan_and_inf=False)
    assert best is not None and best.trial_id == "id_a"


def test_get_best_trial_returns_none_for_an_unknown_metric(analysis: ExperimentAnalysis) -> None:
    assert analysis.get_best_trial("unknown", "max") is None
    assert analysis.get_best_config("unknown", "max") is None
    assert analysis.get_best_logdir("unknown", "max") is None


def test_get_best_trial_validates_arguments(tmp_path: Path) -> None:
    exp, _ = make_experiment(tmp_path, metric=None, mode=None)
    analysis = ExperimentAnalysis(exp)
    with pytest.raises(ValueError, match="default_metric"):
        analysis.get_best_trial(mode="max")
    with pytest.raises(ValueError, match=r"mode.*'maximize'"):
        analysis.get_best_trial("score", "maximize")
    with pytest.raises(ValueError, match=r"scope.*'best'"):
        analysis.get_best_trial("score", "max", scope="best")


def test_best_config_and_logdir(analysis: ExperimentAnalysis) -> None:
    assert analysis.get_best_config("score", "max", scope="avg") == analysis.trials[0].config
    assert analysis.get_best_logdir("score", "max") == analysis.trials[2].local_path
    assert analysis.best_config == analysis.trials[2].config
    assert analysis.best_logdir == analysis.trials[2].local_path
    assert analysis.best_trial is analysis.trials[2]
    assert analysis.best_result == analysis.trials[2].last_result
    best_df = analysis.best_result_df
    assert list(best_df.index) == ["id_c"] and best_df.loc["id_c", "score"] == 11.0
    best_frame = analysis.best_dataframe
    assert best_frame is not None and list(best_frame["score"]) == SCORES["c"]


@pytest.mark.parametrize(
    "name",
    ["best_trial", "best_config", "best_checkpoint", "best_logdir", "best_dataframe",
     "best_result", "best_result_df"],
)  # fmt: skip
def test_best_properties_need_defaults(tmp_path: Path, name: str) -> None:
    exp, _ = make_experiment(tmp_path, metric=None, mode=None)
    analysis = ExperimentAnalysis(exp, default_metric="score")
    with pytest.raises(ValueError, match=rf"`{name}`.*default_metric.*default_mode=None"):
        getattr(analysis, name)


# -- ExperimentAnalysis: results and DataFrames ---------------------------------------------
def test_results_and_results_df(analysis: ExperimentAnalysis) -> None:
    assert analysis.results["id_b"]["score"] == 10.0
    frame = analysis.results_df
    assert frame.index.name == "trial_id"
    assert list(frame.index) == ["id_a", "id_b", "id_c", "id_d"]
    assert frame.loc["id_c", "nested/inner/value"] == -11.0
    assert frame.loc["id_b", "config/model/depth"] == 1


def test_trial_dataframes(analysis: ExperimentAnalysis) -> None:
    frames = analysis.trial_dataframes
    assert sorted(frames) == ["id_a", "id_b", "id_c", "id_d"]
    assert list(frames["id_b"]["score"]) == SCORES["b"]
    assert list(frames["id_b"]["training_iteration"]) == list(range(1, 13))
    assert "nested/inner/value" in frames["id_b"].columns
    # the 1.x key (the trial directory) reaches the same frame
    assert frames[analysis.trials[1].local_path] is frames["id_b"]
    with pytest.raises(KeyError):
        frames["nope"]


def test_trial_dataframes_fall_back_to_progress_csv(tmp_path: Path) -> None:
    exp, _ = make_experiment(tmp_path, {"a": [1.0]})
    trial_dir = next(p for p in exp.iterdir() if p.is_dir())
    (trial_dir / "result.json").unlink()
    (trial_dir / "progress.csv").write_text("score,training_iteration,nested/x\n1.5,1,a\n2.5,2,b\n")
    analysis = ExperimentAnalysis(exp)
    frame = analysis.trial_dataframes["id_a"]
    assert list(frame["score"]) == [1.5, 2.5]
    assert list(frame["nested/x"]) == ["a", "b"]
    best = analysis.get_best_trial("score", "max", scope="avg")
    assert best is not None and best.trial_id == "id_a"


def test_fetch_trial_dataframes_rereads_files(analysis: ExperimentAnalysis) -> None:
    assert len(analysis.trial_dataframes["id_d"]) == 12
    with open(os.path.join(analysis.trials[3].local_path, "result.json"), "a") as handle:
        handle.write(json.dumps({"score": 1000.0, "training_iteration": 13}) + "\n")
    assert len(analysis.trial_dataframes["id_d"]) == 12  # cached
    assert len(analysis.fetch_trial_dataframes()["id_d"]) == 13
    assert len(analysis.trial_dataframes["id_d"]) == 13


def test_dataframe_last_and_best_rows(analysis: ExperimentAnalysis) -> None:
    last = analysis.dataframe()
    assert list(last["score"]) == [0.0, 10.0, 11.0, 7.0]
    assert list(last["config/lr"]) == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert list(last["logdir"]) == [t.local_path for t in analysis.trials]
    best = analysis.dataframe("score", "max")
    assert list(best["score"]) == [100.0, 10.0, 11.0, 7.0]
    assert list(best["training_iteration"]) == [1, 7, 12, 1]  # first best row on ties
    worst = analysis.dataframe("score", "min")
    assert list(worst["training_iteration"]) == [2, 1, 1, 1]
    assert list(analysis.dataframe("score")["training_iteration"]) == [12] * 4


def test_dataframe_mode_needs_metric(analysis: ExperimentAnalysis) -> None:
    with pytest.raises(ValueError, match="metric"):
        analysis.dataframe(mode="max")
    with pytest.raises(ValueError, match="mode"):
        analysis.dataframe("score", mode="best")


def test_get_all_configs(analysis: ExperimentAnalysis) -> None:
    assert analysis.get_all_configs()["id_a"] == {"lr": 0.1, "model": {"depth": 0}}
    assert analysis.get_all_configs(prefix=True)["id_b"] == {
        "config/lr": 0.2,
        "config/model/depth": 1,
    }


# -- ExperimentAnalysis: checkpoints --------------------------------------------------------
def test_get_trial_checkpoints_paths(analysis: ExperimentAnalysis) -> None:
    trial_a = analysis.trials[0]
    paths = analysis.get_trial_checkpoints_paths(trial_a)
    expected = [os.path.join(trial_a.local_path, f"checkpoint_{i:06d}") for i in (1, 5, 12)]
    assert paths == [[expected[0], 1], [expected[1], 5], [expected[2], 12]]
    by_score = analysis.get_trial_checkpoints_paths(trial_a.local_path, "score")
    assert by_score == [[expected[0], 100.0], [expected[1], 0.0], [expected[2], 0.0]]
    assert analysis.get_trial_checkpoints_paths("id_c") == []
    with pytest.raises(ValueError, match=r"trial.*'nope'"):
        analysis.get_trial_checkpoints_paths("nope")


def test_get_best_and_last_checkpoint(analysis: ExperimentAnalysis) -> None:
    trial_a = analysis.trials[0]
    best = analysis.get_best_checkpoint(trial_a, "score", "max")
    assert isinstance(best, Checkpoint)
    assert best.path == os.path.join(trial_a.local_path, "checkpoint_000001")
    lowest = analysis.get_best_checkpoint(trial_a, "score", "min")
    assert lowest is not None and lowest.path is not None
    assert lowest.path.endswith("checkpoint_000005")  # oldest of the tied checkpoints
    last = analysis.get_last_checkpoint(trial_a)
    assert last is not None and last.path is not None and last.path.endswith("checkpoint_000012")
    assert analysis.get_best_checkpoint(analysis.trials[2], "score", "max") is None
    # no trial given: the trial that ran longest (all ran 12; the first wins), its newest one
    last = analysis.get_last_checkpoint()
    assert last is not None and last.path == os.path.join(trial_a.local_path, "checkpoint_000012")
    # best_checkpoint: best trial by the defaults (id_c) has none
    assert analysis.best_checkpoint is None


def test_importing_analysis_does_not_import_pandas() -> None:
    code = "import tunelab.analysis, sys; assert 'pandas' not in sys.modules"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
