"""TensorBoard event files: written by TBXLoggerCallback/TBXLogger, read back with
TensorBoard's own EventAccumulator."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
plugin_data_pb2 = pytest.importorskip("tensorboard.plugins.hparams.plugin_data_pb2")

import tunelab.logger  # noqa: E402
from tunelab._errors import ExtraNotInstalledError  # noqa: E402
from tunelab._trial import Trial  # noqa: E402
from tunelab.logger import (  # noqa: E402
    LegacyLoggerCallback,
    TBXLogger,
    TBXLoggerCallback,
    UnifiedLogger,
    tbx_available,
)
from tunelab.logger._tbx import hparams_of, result_tags  # noqa: E402


def make_trial(tmp_path: Path, trial_id: str = "t0", **params: Any) -> Trial:
    params = params or {"lr": 0.01, "act": "relu", "deep": True, "layers": 3}
    return Trial(
        "train",
        trial_id=trial_id,
        config={**params, "model": {"width": 64}, "fn": print},
        evaluated_params=dict(params),
        experiment_path=str(tmp_path),
        dirname=f"train_{trial_id}",
    )


def result(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "mean_accuracy": 0.5 + i / 10,
        "loss": 1.0 / i,
        "info": {"grad_norm": float(i)},
        "training_iteration": i,
        "time_total_s": 0.1 * i,
        "timestamp": 1_700_000_000 + i,
        "pid": 123,
        "trial_id": "t0",
        "done": False,
        "config": {"lr": 0.01},
        **extra,
    }


def load(path: str) -> Any:
    acc = event_accumulator.EventAccumulator(
        path, size_guidance={"scalars": 0, "histograms": 0, "tensors": 0}
    )
    acc.Reload()
    return acc


def has_hparams(acc: Any) -> bool:
    try:
        return bool(acc.PluginTagToContent("hparams"))
    except KeyError:  # no summary of the hparams plugin in the files
        return False


def hparams_content(acc: Any, tag: str) -> Any:
    content = acc.PluginTagToContent("hparams")[tag]
    return plugin_data_pb2.HParamsPluginData.FromString(content)


def run_callback(callback: TBXLoggerCallback, trial: Trial, results: list[dict[str, Any]]) -> None:
    trials = [trial]
    callback.on_trial_start(iteration=0, trials=trials, trial=trial)
    for i, res in enumerate(results, 1):
        trial.update_last_result(res)
        callback.on_trial_result(iteration=i, trials=trials, trial=trial, result=res)
        callback.on_step_end(iteration=i, trials=trials)


def test_scalars_are_readable_by_tensorboard_under_ray_tune_tags(tmp_path: Path) -> None:
    trial = make_trial(tmp_path)
    callback = TBXLoggerCallback()
    run_callback(callback, trial, [result(i) for i in (1, 2, 3)])
    files = glob.glob(os.path.join(trial.local_path, "events.out.tfevents.*"))
    assert len(files) == 1
    acc = load(trial.local_path)  # readable before the trial ends: flushed at step end
    scalars = set(acc.Tags()["scalars"])
    assert scalars == {
        "ray/tune/mean_accuracy",
        "ray/tune/loss",
        "ray/tune/info/grad_norm",
        "ray/tune/done",
    }
    points = [(e.step, round(e.value, 6)) for e in acc.Scalars("ray/tune/mean_accuracy")]
    assert points == [(1, 0.6), (2, 0.7), (3, 0.8)]
    assert [e.wall_time for e in acc.Scalars("ray/tune/loss")] == [
        1_700_000_001.0,
        1_700_000_002.0,
        1_700_000_003.0,
    ]
    callback.on_experiment_end(trials=[trial])


def test_a_rolled_back_trial_shows_each_step_once_from_the_rerun(tmp_path: Path) -> None:
    trial = make_trial(tmp_path)
    callback = TBXLoggerCallback()
    trials = [trial]
    run_callback(callback, trial, [result(i) for i in (1, 2, 3, 4, 5)])
    callback.on_trial_recover(iteration=5, trials=trials, trial=trial)
    # the trial reruns from its checkpoint of iteration 3, with other values
    callback.on_trial_rollback(iteration=6, trials=trials, trial=trial, to_iteration=3)
    callback.on_trial_restore(iteration=6, trials=trials, trial=trial)
    for i in (4, 5, 6):
        rerun = result(i, mean_accuracy=0.1 * i)
        callback.on_trial_result(iteration=6 + i, trials=trials, trial=trial, result=rerun)
        callback.on_step_end(iteration=6 + i, trials=trials)
    acc = load(trial.local_path)
    points = [(e.step, round(e.value, 6)) for e in acc.Scalars("ray/tune/mean_accuracy")]
    # steps 4 and 5 of the first run are purged by TensorBoard itself (it sees step 4
    # again after 5, and step 5 after 5 only through the session start marker)
    assert points == [(1, 0.6), (2, 0.7), (3, 0.8), (4, 0.4), (5, 0.5), (6, 0.6)]
    callback.on_experiment_end(trials=trials)


def test_the_restart_marker_alone_purges_a_step_that_does_not_go_back(tmp_path: Path) -> None:
    """The rerun's first step equals the last step written (a failure between the report
    and the checkpoint): TensorBoard would keep both without the marker."""
    trial = make_trial(tmp_path)
    callback = TBXLoggerCallback()
    trials = [trial]
    run_callback(callback, trial, [result(i) for i in (1, 2, 3)])
    callback.on_trial_rollback(iteration=4, trials=trials, trial=trial, to_iteration=2)
    callback.on_trial_result(
        iteration=5, trials=trials, trial=trial, result=result(3, mean_accuracy=0.25)
    )
    callback.on_experiment_end(trials=trials)
    acc = load(trial.local_path)
    points = [(e.step, round(e.value, 6)) for e in acc.Scalars("ray/tune/mean_accuracy")]
    assert points == [(1, 0.6), (2, 0.7), (3, 0.25)]


def test_step_is_timesteps_total_when_reported(tmp_path: Path) -> None:
    trial = make_trial(tmp_path)
    callback = TBXLoggerCallback()
    run_callback(callback, trial, [result(i, timesteps_total=100 * i) for i in (1, 2)])
    acc = load(trial.local_path)
    assert [e.step for e in acc.Scalars("ray/tune/loss")] == [100, 200]
    assert [e.value for e in acc.Scalars("ray/tune/timesteps_total")] == [100.0, 200.0]
    callback.on_experiment_end(trials=[trial])


def test_lists_become_histograms_and_bad_values_are_skipped(tmp_path: Path) -> None:
    trial = make_trial(tmp_path)
    callback = TBXLoggerCallback()
    rows = [
        result(1, weights=[1.0, 2.0, 2.0, 3.0], names=["a", "b"], empty=[], nan=float("nan")),
        result(2, weights=[4.0, 5.0], names=["c"]),
    ]
    run_callback(callback, trial, rows)
    acc = load(trial.local_path)
    assert acc.Tags()["histograms"] == ["ray/tune/weights"]
    histograms = acc.Histograms("ray/tune/weights")
    assert [(h.step, h.histogram_value.num, h.histogram_value.max) for h in histograms] == [
        (1, 4.0, 3.0),
        (2, 2.0, 5.0),
    ]
    assert "ray/tune/nan" not in acc.Tags()["scalars"]
    callback.on_experiment_end(trials=[trial])


def test_hparams_are_written_when_the_trial_ends(tmp_path: Path) -> None:
    trial = make_trial(tmp_path)
    callback = TBXLoggerCallback()
    run_callback(callback, trial, [result(i) for i in (1, 2)])
    assert not has_hparams(load(trial.local_path))
    callback.on_trial_complete(iteration=3, trials=[trial], trial=trial)
    acc = load(trial.local_path)
    start = hparams_content(acc, "_hparams_/session_start_info").session_start_info
    assert {k: v.WhichOneof("kind") for k, v in start.hparams.items()} == {
        "lr": "number_value",
        "act": "string_value",
        "deep": "bool_value",
        "layers": "number_value",
    }
    assert start.hparams["lr"].number_value == 0.01
    assert start.hparams["act"].string_value == "relu"
    experiment = hparams_content(acc, "_hparams_/experiment").experiment
    metric_tags = {m.name.tag for m in experiment.metric_infos}
    assert "ray/tune/mean_accuracy" in metric_tags and "ray/tune/info/grad_norm" in metric_tags
    end = hparams_content(acc, "_hparams_/session_end_info").session_end_info
    assert end.status == 1  # STATUS_SUCCESS


def test_errored_trial_session_is_marked_failed(tmp_path: Path) -> None:
    trial = make_trial(tmp_path)
    callback = TBXLoggerCallback()
    run_callback(callback, trial, [result(1)])
    callback.on_trial_error(iteration=2, trials=[trial], trial=trial)
    end = hparams_content(load(trial.local_path), "_hparams_/session_end_info")
    assert end.session_end_info.status == 2  # STATUS_FAILURE


def test_config_is_used_for_hparams_when_nothing_was_sampled(tmp_path: Path) -> None:
    trial = Trial(
        "train",
        trial_id="t1",
        config={"lr": 0.1, "opt": {"name": "sgd", "betas": (0.9, 0.99)}, "obj": object()},
        experiment_path=str(tmp_path),
        dirname="train_t1",
    )
    callback = TBXLoggerCallback()
    run_callback(callback, trial, [result(1)])
    callback.on_experiment_end(trials=[trial])  # closes without hparams: trial not ended
    assert not has_hparams(load(trial.local_path))
    callback = TBXLoggerCallback()
    run_callback(callback, trial, [result(2)])
    callback.on_trial_complete(iteration=3, trials=[trial], trial=trial)
    assert len(glob.glob(os.path.join(trial.local_path, "events.out.tfevents.*"))) == 2
    acc = load(trial.local_path)
    start = hparams_content(acc, "_hparams_/session_start_info").session_start_info
    assert dict(start.hparams).keys() == {"lr", "opt/name", "opt/betas"}
    assert start.hparams["opt/betas"].string_value == "[0.9, 0.99]"
    # both sessions' scalars are merged by the reader
    assert [e.step for e in acc.Scalars("ray/tune/loss")] == [1, 2]


def test_many_trials_keep_few_files_open(tmp_path: Path) -> None:
    callback = TBXLoggerCallback()
    callback._files.limit = 2
    trials = [make_trial(tmp_path, f"t{i}") for i in range(5)]
    for step in (1, 2):
        for trial in trials:
            callback.on_trial_result(
                iteration=step, trials=trials, trial=trial, result=result(step)
            )
        callback.on_step_end(iteration=step, trials=trials)
        assert len(callback._files._open) == 2
    for trial in trials:
        callback.on_trial_complete(iteration=3, trials=trials, trial=trial)
    assert not callback._files._open
    for trial in trials:
        files = glob.glob(os.path.join(trial.local_path, "events.out.tfevents.*"))
        assert len(files) == 1
        assert [e.step for e in load(trial.local_path).Scalars("ray/tune/loss")] == [1, 2]


def test_legacy_tbx_logger(tmp_path: Path) -> None:
    trial = make_trial(tmp_path)
    callback = LegacyLoggerCallback([TBXLogger])
    run_callback(callback, trial, [result(1), result(2)])  # type: ignore[arg-type]
    acc = load(trial.local_path)
    assert [e.step for e in acc.Scalars("ray/tune/mean_accuracy")] == [1, 2]
    callback.on_trial_complete(iteration=3, trials=[trial], trial=trial)
    start = hparams_content(load(trial.local_path), "_hparams_/session_start_info")
    assert start.session_start_info.hparams["act"].string_value == "relu"
    logdir = str(tmp_path / "unified")
    unified = UnifiedLogger({"lr": 0.5}, logdir, loggers=[TBXLogger])
    unified.on_result(result(1))
    unified.close()
    start = hparams_content(load(logdir), "_hparams_/session_start_info")
    assert start.session_start_info.hparams["lr"].number_value == 0.5


def test_tag_and_hparam_selection() -> None:
    tags = result_tags({"a": 1, "config": {"x": 1}, "pid": 3, "n": {"b": {"c": 2}}})
    assert tags == {"ray/tune/a": 1, "ray/tune/n/b/c": 2}
    assert hparams_of({"a": None, "b": [1, 2], "c": {"d": 1.5}, "e": object()}) == {
        "b": "[1, 2]",
        "c/d": 1.5,
    }


def test_public_names_and_availability() -> None:
    assert {"TBXLogger", "TBXLoggerCallback", "tbx_available"} <= set(tunelab.logger.__all__)
    assert tbx_available() is True


def test_missing_tensorboardx_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tunelab.logger._tbx.tbx_available", lambda: False)
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ExtraNotInstalledError, match=r'pip install "tunelab\[tensorboard\]"'):
        TBXLoggerCallback()


def test_import_tunelab_logger_does_not_import_tensorboardx() -> None:
    code = "import tunelab.logger, sys; print('tensorboardX' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_scalars_are_written_without_importing_tensorboardx_histograms_import_it_lean(
    tmp_path: Path,
) -> None:
    # scalars, the file header, session markers and hparams are encoded by hand: a run
    # without histograms never pays tensorboardX's and protobuf's import (about 0.2 s);
    # the first histogram imports it, without boto3 and torch, which import as usual later
    code = (
        "import sys; from tunelab.logger._tbx import _TrialEvents\n"
        f"ev = _TrialEvents({str(tmp_path)!r}, None)\n"
        "ev.write_result({'loss': 0.5, 'training_iteration': 1}); ev.restarted = True\n"
        "ev.write_result({'loss': 0.4, 'training_iteration': 2})\n"
        "ev.write_hparams({'lr': 0.1}); ev.flush()\n"
        "print('tensorboardX' in sys.modules, 'google.protobuf' in sys.modules)\n"
        "ev.write_result({'h': [1.0, 2.0], 'training_iteration': 3}); ev.flush()\n"
        "print('tensorboardX' in sys.modules, 'boto3' in sys.modules, 'torch' in sys.modules)\n"
        "import boto3; print(boto3 is not None)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if "No module named 'boto3'" in done.stderr:
        pytest.skip("boto3 is not installed")
    assert done.stdout.split() == ["False", "False", "True", "False", "False", "True"], done.stderr
    acc = load(str(tmp_path))
    assert [(s.step, round(s.value, 3)) for s in acc.Scalars("ray/tune/loss")] == [
        (1, 0.5),
        (2, 0.4),
    ]
    assert [h.step for h in acc.Histograms("ray/tune/h")] == [3]
    assert hparams_content(acc, "_hparams_/session_start_info").session_start_info.hparams[
        "lr"
    ].number_value == pytest.approx(0.1)


def test_end_to_end_with_tune_run(tmp_path: Path) -> None:
    import tunelab as tune
    from tunelab.air import session
    from tunelab.execution import InProcessExecutor

    def train(config: dict[str, Any]) -> None:
        for step in range(3):
            session.report({"acc": config["lr"] * step, "nested": {"n": step}})

    analysis = tune.run(
        train,
        config={"lr": tune.grid_search([0.1, 0.2])},
        storage_path=str(tmp_path),
        name="tb",
        callbacks=[TBXLoggerCallback()],
        verbose=0,
        executor=InProcessExecutor(),
    )
    for trial in analysis.trials:
        acc = load(trial.local_path)
        assert [e.value for e in acc.Scalars("ray/tune/nested/n")] == [0.0, 1.0, 2.0]
        start = hparams_content(acc, "_hparams_/session_start_info").session_start_info
        assert start.hparams["lr"].number_value == trial.config["lr"]


def test_results_of_one_shape_and_of_changing_shapes_write_the_same_scalars(
    tmp_path: Path,
) -> None:
    # the per-shape fast path and the key-by-key path must agree: NaN left out, beyond
    # float32 stored as infinity, types changing between results, a single scalar, bools,
    # numpy scalars, nested dicts, no scalar at all
    import numpy as np

    from tunelab.logger._tbx import _TrialEvents

    results: list[dict[str, Any]] = [
        {"a": 1.0, "b": 2, "s": "x", "training_iteration": 1},
        {"a": float("nan"), "b": 3, "s": "x", "training_iteration": 2},
        {"a": 1e40, "b": 4, "s": "x", "training_iteration": 3},
        {"a": "now text", "b": 5.5, "s": 7, "training_iteration": 4},
        {"a": True, "training_iteration": 5},
        {"a": np.float32(0.5), "b": np.int64(9), "n": {"c": 1.0}, "training_iteration": 6},
        {"s": "only text", "training_iteration": 7},
        {"a": 2.0, "b": 3, "s": "x", "training_iteration": 8},
    ]
    events = _TrialEvents(str(tmp_path), None)
    for r in results:
        events.write_result(r)
    events.close()
    acc = load(str(tmp_path))

    def series(tag: str) -> list[tuple[int, float]]:
        return [(s.step, s.value) for s in acc.Scalars(f"ray/tune/{tag}")]

    assert series("a") == [(1, 1.0), (3, float("inf")), (5, 1.0), (6, 0.5), (8, 2.0)]
    assert series("b") == [(1, 2.0), (2, 3.0), (3, 4.0), (4, 5.5), (6, 9.0), (8, 3.0)]
    assert series("s") == [(4, 7.0)]
    assert series("n/c") == [(6, 1.0)]
    assert list(events.metric_tags) == [
        "ray/tune/a",
        "ray/tune/b",
        "ray/tune/s",
        "ray/tune/n/c",
    ]
