"""Ray Tune 0.x-1.x trial and checkpoint behaviour that Ray Tune's own unit tests rely on:
``Trial.TERMINATED`` and the other status constants, ``trial.has_checkpoint()``,
``trial.checkpoint.value``, ``trial.metric_analysis[metric]["last"]``, the file a class
trainable's ``save_checkpoint`` returned as the 1.x checkpoint path, ``export_formats`` names
passed on to the trainable, and ``checkpoint_freq`` with a function trainable."""

from __future__ import annotations

import json
import math
import os
import pickle
import sys
import tracemalloc
from typing import Any

import pytest

import tunelab as tune
from tunelab import Experiment, run_experiments
from tunelab._checkpoint import Checkpoint, TrialCheckpoint
from tunelab._trial import Trial, TrialStatus
from tunelab.trainable import Trainable


class FileSaver(Trainable):
    """1.x style: save_checkpoint returns the file it wrote."""

    def setup(self, config: dict[str, Any]) -> None:
        self.value = 0

    def step(self) -> dict[str, Any]:
        self.value += 1
        return {"score": self.value * self.config.get("scale", 1)}

    def save_checkpoint(self, checkpoint_dir: str) -> str:
        path = os.path.join(checkpoint_dir, "model.json")
        with open(path, "w") as handle:
            json.dump({"value": self.value}, handle)
        return path

    def load_checkpoint(self, checkpoint: Any) -> None:
        with open(checkpoint) as handle:
            self.value = json.load(handle)["value"]


class DirSaver(FileSaver):
    """2.x style: save_checkpoint writes into the directory and returns nothing."""

    def save_checkpoint(self, checkpoint_dir: str) -> None:  # type: ignore[override]
        with open(os.path.join(checkpoint_dir, "model.json"), "w") as handle:
            json.dump({"value": self.value}, handle)

    def load_checkpoint(self, checkpoint: Any) -> None:
        with open(os.path.join(checkpoint, "model.json")) as handle:
            self.value = json.load(handle)["value"]


def run_class(trainable: type, tmp_path: Any, **kwargs: Any) -> Any:
    return tune.run(
        trainable,
        name="exp",
        storage_path=str(tmp_path),
        config={"scale": tune.grid_search([1, 3])},
        stop={"training_iteration": 2},
        checkpoint_freq=1,
        metric="score",
        mode="max",
        verbose=0,
        **kwargs,
    )


# -- the Trial record -------------------------------------------------------------------
def test_status_constants_are_class_attributes_equal_to_the_names() -> None:
    for status in TrialStatus:
        constant = getattr(Trial, status.name)
        assert constant is status and constant == status.name
    trial = Trial("t", trial_id="abc")
    assert trial.status == Trial.PENDING == "PENDING"
    assert not trial.has_checkpoint()


def test_a_finished_run_shows_terminated_trials_with_checkpoints(tmp_path: Any) -> None:
    trials = run_experiments(
        {
            "exp": {
                "run": DirSaver,
                "stop": {"training_iteration": 2},
                "checkpoint_freq": 1,
                "storage_path": str(tmp_path),
            }
        },
        verbose=0,
    )
    assert [t.status for t in trials] == [Trial.TERMINATED]
    assert trials[0].has_checkpoint()


def test_metric_analysis_entries_read_like_ray_dicts() -> None:
    trial = Trial("t", trial_id="abc")
    for value in (1.0, 5.0, 3.0):
        trial.update_last_result({"loss": value})
    stats = trial.metric_analysis["loss"]
    assert stats["last"] == 3.0 and stats["max"] == 5.0 and stats["min"] == 1.0
    assert stats["avg"] == pytest.approx(3.0)
    assert dict(stats) == stats.as_dict()
    assert set(stats) == {"max", "min", "avg", "last", "last-5-avg", "last-10-avg"}
    with pytest.raises(KeyError):
        stats["median"]


# -- 1.x checkpoint paths -----------------------------------------------------------------
def test_file_returned_by_save_checkpoint_is_the_1x_checkpoint_path(tmp_path: Any) -> None:
    analysis = run_class(FileSaver, tmp_path)
    best = analysis.get_best_trial("score", "max")
    logdir = analysis.get_best_logdir("score", "max")
    assert best is not None and logdir is not None
    file_1 = os.path.join(logdir, "checkpoint_000001", "model.json")
    file_2 = os.path.join(logdir, "checkpoint_000002", "model.json")

    # trial.checkpoint.value (1.x) is the file; .path stays the directory
    assert best.checkpoint.value == file_2
    assert best.checkpoint.path == os.path.dirname(file_2)
    for trial in (best, logdir):
        assert analysis.get_trial_checkpoints_paths(trial) == [[file_1, 1], [file_2, 2]]
        assert analysis.get_trial_checkpoints_paths(trial, "score") == [[file_1, 3], [file_2, 6]]

    checkpoint = analysis.best_checkpoint
    assert isinstance(checkpoint, TrialCheckpoint)
    assert checkpoint == file_2 and checkpoint == os.path.dirname(file_2)
    assert checkpoint == analysis.get_best_checkpoint(best, "score", "max")
    assert os.fspath(checkpoint) == str(checkpoint) == file_2
    assert checkpoint.path == os.path.dirname(file_2)
    with open(checkpoint) as handle:  # the 1.x idiom: open(analysis.best_checkpoint)
        assert json.load(handle) == {"value": 2}
    with checkpoint.as_directory() as directory:
        assert sorted(n for n in os.listdir(directory) if not n.startswith(".")) == ["model.json"]
    copy = pickle.loads(pickle.dumps(checkpoint))
    assert os.fspath(copy) == file_2 and copy == checkpoint


def test_checkpoint_directories_stay_the_path_when_nothing_was_returned(tmp_path: Any) -> None:
    analysis = run_class(DirSaver, tmp_path)
    logdir = analysis.get_best_logdir("score", "max")
    assert logdir is not None
    directory = os.path.join(logdir, "checkpoint_000002")
    assert analysis.get_trial_checkpoints_paths(logdir)[-1] == [directory, 2]
    assert os.fspath(analysis.best_checkpoint) == directory
    assert analysis.best_trial.checkpoint.value == directory


def test_a_run_restores_from_the_1x_file_path(tmp_path: Any) -> None:
    first = run_class(FileSaver, tmp_path)
    file_path = os.fspath(first.best_checkpoint)
    assert os.path.isfile(file_path)
    again = tune.run(
        FileSaver,
        name="again",
        storage_path=str(tmp_path),
        config={"scale": 3},
        stop={"training_iteration": 3},
        restore=file_path,
        verbose=0,
    )
    (trial,) = again.trials
    # restored from value 2 at iteration 2: one more step
    assert trial.last_result["score"] == 9 and trial.last_result["training_iteration"] == 3


def test_trainable_restore_takes_the_returned_file(tmp_path: Any) -> None:
    first = FileSaver(config={})
    first.train()
    directory = first.save(str(tmp_path / "ckpt"))
    second = FileSaver(config={})
    second.restore(os.path.join(directory, "model.json"))
    assert second.value == 1 and second.iteration == 1


def test_value_of_a_plain_and_of_a_dict_checkpoint(tmp_path: Any) -> None:
    assert Checkpoint(str(tmp_path)).value == str(tmp_path)
    assert Checkpoint.from_dict({"a": 1}).value == {"a": 1}


# -- export_formats -----------------------------------------------------------------------
def test_any_export_format_name_reaches_the_trainable(tmp_path: Any) -> None:
    class Exporter(Trainable):
        def step(self) -> dict[str, Any]:
            return {"done": True}

        def _export_model(self, export_formats: list[str], export_dir: str) -> dict[str, str]:
            path = os.path.join(export_dir, "exported")
            with open(path, "w") as handle:
                handle.write(",".join(export_formats))
            return {export_formats[0]: path}

    trials = run_experiments(
        {
            "foo": {
                "run": Exporter,
                "export_formats": ["my_format", "Model"],
                "storage_path": str(tmp_path),
            }
        },
        verbose=0,
    )
    with open(os.path.join(trials[0].local_path, "exported")) as handle:
        assert handle.read() == "my_format,model"


@pytest.mark.parametrize(
    ("value", "error"), [(5, TypeError), (["model", 3], TypeError), ([""], ValueError)]
)
def test_export_formats_must_be_names(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="export_formats must be None, a format name"):
        Experiment("exp", DirSaver, export_formats=value)


# -- checkpoint_freq with a function trainable ------------------------------------------
def nan_fn(config: dict[str, Any]) -> float:
    return math.nan


def checkpointing_fn(config: dict[str, Any], checkpoint_dir: str | None = None) -> None:
    tune.report(score=1)


@pytest.mark.parametrize("kwargs", [{"checkpoint_freq": 1}, {"checkpoint_at_end": True}])
def test_legacy_checkpoint_arguments_are_ignored_for_functions(
    kwargs: dict[str, Any], tmp_path: Any
) -> None:
    with pytest.warns(UserWarning, match="ignored for the function trainable"):
        exp = Experiment("exp", nan_fn, **kwargs)
    assert exp.checkpoint_config.checkpoint_frequency == 0
    assert not exp.checkpoint_config.checkpoint_at_end
    with pytest.warns(UserWarning, match="ignored for the function trainable") as record:
        analysis = tune.run(
            lambda config: math.nan,
            storage_path=str(tmp_path),
            stop={"training_iteration": 1},
            num_samples=2,
            verbose=0,
            **kwargs,
        )
    assert record[0].filename == __file__  # the warning points at the caller's line
    assert analysis.get_best_config("score", mode="max") is None
    assert analysis.get_best_logdir("score", mode="max") is None


@pytest.mark.parametrize("kwargs", [{"checkpoint_freq": 2}, {"checkpoint_at_end": True}])
def test_legacy_checkpoint_arguments_fail_for_functions_taking_checkpoint_dir(
    kwargs: dict[str, Any],
) -> None:
    with pytest.raises(ValueError, match="takes checkpoint_dir"):
        Experiment("exp", checkpointing_fn, **kwargs)


def test_checkpoint_config_stays_an_error_for_functions() -> None:
    with pytest.raises(ValueError, match="function trainable"):
        Experiment("exp", nan_fn, checkpoint_config=tune.CheckpointConfig(checkpoint_frequency=1))


@pytest.mark.parametrize("count", [0, 1, 2, 5, 6, 10, 11, 25])
def test_metric_windows_over_the_last_5_and_10_values(count: int) -> None:
    trial = Trial("t", trial_id="abc")
    values = [float((i * 7) % 11) for i in range(count)]
    for value in values:
        trial.update_last_result({"loss": value})
    if not count:
        assert "loss" not in trial.metric_analysis
        return
    stats = trial.metric_analysis["loss"]
    assert stats["last"] == values[-1]
    assert stats["avg"] == pytest.approx(sum(values) / count)
    assert stats["last-5-avg"] == pytest.approx(sum(values[-5:]) / len(values[-5:]))
    assert stats["last-10-avg"] == pytest.approx(sum(values[-10:]) / len(values[-10:]))


def test_a_finished_trial_shares_its_result_strings_with_the_others() -> None:
    import pickle

    wire = pickle.dumps({"time_this_iter_s": 0.5, "hostname": "node-a", "loss": 1.0})
    first, second = Trial("t", trial_id="a"), Trial("t", trial_id="b")
    for trial in (first, second):
        trial.update_last_result(pickle.loads(wire))  # each decoded on its own, as results are
    held = first.last_result
    key_a = next(iter(first.last_result))
    key_b = next(iter(second.last_result))
    assert key_a == key_b and key_a is not key_b
    for trial in (first, second):
        trial.compact()
    assert first.last_result == pickle.loads(wire) == held  # the same result, rebuilt...
    first.last_result["extra"] = 1  # still a dict like any other
    assert first.last_result == {**pickle.loads(wire), "extra": 1}
    assert json.loads(json.dumps(second.last_result)) == pickle.loads(wire)
    for key_a, key_b in zip(first.last_result, second.last_result):
        assert key_a is key_b
    assert first.last_result["hostname"] is second.last_result["hostname"]
    assert first.metric_analysis["loss"]["last"] == 1.0
    assert next(iter(first.metric_analysis)) is next(iter(second.metric_analysis))


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="CPython's key-sharing dicts")
def test_results_rebuilt_with_a_shared_key_table_take_less_memory() -> None:
    from tunelab._trial import _shared_keys_dict

    result = {f"metric_{i}": float(i) for i in range(16)} | {"hostname": "node-a"}
    items = list(result.items())
    _shared_keys_dict(items)  # the shape's class, made once
    # CPython keeps up to 2,000 freed tuples of each short length for reuse, which
    # tracemalloc counts as held: fill that free list first (the keys are looked up as a
    # tuple), so that what is measured is the dicts
    spare = [tuple(range(len(items))) for _ in range(2100)]
    del spare
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        plain = [dict(items) for _ in range(500)]
        middle = tracemalloc.get_traced_memory()[0]
        shared = [_shared_keys_dict(items) for _ in range(500)]
        end = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert end - middle < 0.7 * (middle - start)  # about 265 against 470 bytes each
    assert shared == plain and all(type(d) is dict for d in shared)
    # a key that is not a plain string, or that a class attribute could take: not rebuilt
    assert _shared_keys_dict([(1, "x")]) is None
    assert _shared_keys_dict([("__class__", "x")]) is None
