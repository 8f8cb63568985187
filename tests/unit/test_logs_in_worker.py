"""The default loggers' result files written by the worker (``logger/_in_worker.py``):
byte for byte what the controller's loggers write, and handed over only where the workers
see the trial directories."""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path
from typing import Any

import pytest

from tunelab._callback import Callback, CallbackList
from tunelab._errors import StorageError
from tunelab._trial import Trial
from tunelab.execution import InProcessExecutor, LocalExecutor
from tunelab.logger import CSVLoggerCallback, JsonLoggerCallback, _logger_callback
from tunelab.logger._in_worker import TrialFiles, TrialLogs, WorkerLogs
from tunelab.logger._logger_callback import ForExperiments

CONFIG = {"lr": 0.1, "layers": [32, 32], "opt": {"name": "adam"}}
TAG = "0_lr=0.1"


def make_trial(root: Path, name: str) -> Trial:
    trial = Trial("train", trial_id=name, config=dict(CONFIG), experiment_path=str(root))
    trial.dirname = name
    trial.experiment_tag = TAG
    os.makedirs(trial.local_path, exist_ok=True)
    return trial


def reported(i: int) -> dict[str, Any]:
    """A result as the worker's session fills it in (no config, no experiment tag)."""
    return {
        "loss": 1.0 / i,
        "acc": 0.5 + i / 100,
        "info": {"grad": float(i), "name": f'step {i}, "quoted"'},
        "hist": [1.0, 2.0, float(i)],
        "time_this_iter_s": 0.01,
        "training_iteration": i,
        "time_total_s": 0.01 * i,
        "timestamp": 1_700_000_000 + i,
        "date": "2026-12-07_12-00-00",
        "done": False,
        "trial_id": "t",
        "pid": 4242,
        "hostname": "host",
        "node_ip": "127.0.0.1",
        "nan": float("nan"),
    }


def controller_side(trial: Trial, results: list[dict[str, Any]], callbacks: list[Any]) -> None:
    """What the controller's loggers write: each result with the config and tag added."""
    trials = [trial]
    for callback in callbacks:
        callback.on_trial_start(iteration=0, trials=trials, trial=trial)
    for step, raw in enumerate(results, 1):
        result = dict(raw)
        result["config"] = trial.config
        result["experiment_tag"] = trial.experiment_tag
        trial.update_last_result(result)
        for callback in callbacks:
            callback.on_trial_result(iteration=step, trials=trials, trial=trial, result=result)
            callback.on_step_end(iteration=step, trials=trials)
    for callback in callbacks:
        callback.on_trial_complete(iteration=len(results), trials=trials, trial=trial)
        callback.on_experiment_end(trials=trials)


def worker_side(
    trial: Trial, results: list[dict[str, Any]], events_path: str | None = None
) -> TrialFiles:
    logs = TrialLogs(experiment_tag=TAG, json=True, csv_delimiter="/", events_path=events_path)
    files = TrialFiles(logs, trial.local_path, dict(CONFIG), f"trial {trial}")
    files.write(results[:3])  # two batches, as the outbox sends them
    files.write(results[3:])
    assert files.close() is None
    return files


def read(trial: Trial, name: str) -> bytes:
    return (Path(trial.local_path) / name).read_bytes()


def test_the_worker_writes_the_bytes_the_controllers_loggers_write(tmp_path: Path) -> None:
    results = [reported(i) for i in range(1, 7)]
    mine = make_trial(tmp_path, "controller")
    theirs = make_trial(tmp_path, "worker")
    controller_side(mine, results, [JsonLoggerCallback(), CSVLoggerCallback()])
    worker_side(theirs, results)
    for name in ("result.json", "progress.csv"):
        assert read(theirs, name) == read(mine, name), name
    assert read(theirs, "result.json").count(b"\n") == 6


def test_the_wire_marks_are_not_logged(tmp_path: Path) -> None:
    trial = make_trial(tmp_path, "t")
    first, second = reported(1), reported(2)
    first["__checkpoint__"] = "/somewhere/checkpoint_000001"
    second["__wait__"] = True
    files = TrialFiles(TrialLogs(json=True, csv_delimiter="/"), trial.local_path, {}, "trial t")
    files.write([first, second])
    files.close()
    assert b"__checkpoint__" not in read(trial, "result.json")
    assert b"__wait__" not in read(trial, "result.json")
    assert b"__checkpoint__" not in read(trial, "progress.csv")
    assert "__checkpoint__" in first  # the result that is sent keeps its mark


def test_a_failed_write_is_kept_and_nothing_more_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trial = make_trial(tmp_path, "t")
    files = TrialFiles(TrialLogs(json=True), trial.local_path, {}, "trial t")
    files.write([reported(1)])
    before = read(trial, "result.json")

    def full(handle: Any, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_logger_callback, "write_fully", full)
    files.write([reported(2)])
    assert isinstance(files.error, StorageError)
    assert "trial t" in str(files.error) and "result.json" in str(files.error)
    monkeypatch.undo()
    files.write([reported(3)])  # nothing after the failure
    assert files.close() is files.error
    assert read(trial, "result.json") == before


class MyJson(JsonLoggerCallback):
    pass


def dispatched(callbacks: CallbackList, trial: Trial) -> None:
    trials = [trial]
    result = {**reported(1), "config": trial.config, "experiment_tag": TAG}
    callbacks.on_trial_start(iteration=0, trials=trials, trial=trial)
    callbacks.on_trial_result(iteration=1, trials=trials, trial=trial, result=result)
    callbacks.on_step_end(iteration=1, trials=trials)
    callbacks.on_experiment_end(trials=trials)


def test_only_the_default_loggers_themselves_are_handed_to_local_workers(tmp_path: Path) -> None:
    json_cb, csv_cb, second_json, mine = (
        JsonLoggerCallback(),
        CSVLoggerCallback(delimiter="."),
        JsonLoggerCallback(),
        MyJson(),
    )
    wrapped = CSVLoggerCallback()
    callbacks = CallbackList(
        [json_cb, csv_cb, second_json, mine, ForExperiments(wrapped, set(), include=False)]
    )
    logs = WorkerLogs.delegate(callbacks, LocalExecutor(num_cpus=1))
    assert logs is not None
    assert json_cb.results_in_workers and csv_cb.results_in_workers
    assert not second_json.results_in_workers  # one writer per file: the first one
    assert not mine.results_in_workers and not wrapped.results_in_workers
    trial = make_trial(tmp_path, "t")
    task_logs = logs.for_trial(trial)
    assert task_logs == TrialLogs(experiment_tag=TAG, json=True, csv_delimiter=".")
    dispatched(callbacks, trial)
    # the handed-over loggers hear no result; params.json is still the controller's
    assert (Path(trial.local_path) / "params.json").exists()
    lines = read(trial, "result.json").splitlines()
    assert len(lines) == 2  # second_json's and MyJson's lines only
    # the wrapped CSV logger still writes its rows (under the default "/" delimiter)
    assert b"info/grad" in read(trial, "progress.csv")


def test_loggers_are_given_back_when_the_workers_do_not_see_the_trial_dirs(
    tmp_path: Path,
) -> None:
    json_cb = JsonLoggerCallback()
    callbacks = CallbackList([json_cb])
    assert WorkerLogs.delegate(callbacks, LocalExecutor(num_cpus=1)) is not None
    assert json_cb.results_in_workers
    # the same logger object in a later run, on threads of this process
    assert WorkerLogs.delegate(callbacks, InProcessExecutor()) is None
    assert not json_cb.results_in_workers
    trial = make_trial(tmp_path, "t")
    dispatched(callbacks, trial)
    assert len(read(trial, "result.json").splitlines()) == 1


def test_no_default_logger_hands_nothing_over() -> None:
    class Other(Callback):
        pass

    assert WorkerLogs.delegate(CallbackList([Other()]), LocalExecutor(num_cpus=1)) is None


def _records(path: str) -> list[bytes]:
    data, out, at = Path(path).read_bytes(), [], 0
    while at < len(data):
        (size,) = struct.unpack_from("<Q", data, at)
        out.append(data[at + 12 : at + 12 + size])
        at += 12 + size + 4
    return out


def test_one_event_file_per_trial_the_workers_and_the_controller_take_turns(
    tmp_path: Path,
) -> None:
    pytest.importorskip("tensorboardX")
    from tunelab.logger import TBXLoggerCallback

    tbx = TBXLoggerCallback()
    callbacks = CallbackList([tbx])
    logs = WorkerLogs.delegate(callbacks, LocalExecutor(num_cpus=1))
    assert logs is not None and tbx.results_in_workers
    trial = make_trial(tmp_path, "t")
    results = [reported(i) for i in range(1, 7)]
    first = logs.for_trial(trial)
    assert first.events_path is not None and not first.restarted
    callbacks.on_trial_start(iteration=0, trials=[trial], trial=trial)
    # a first run (its worker), a rollback, a second run on another worker
    for run, part in enumerate((results[:4], results[2:])):
        if run:
            callbacks.on_trial_rollback(iteration=1, trials=[trial], trial=trial, to_iteration=2)
        task_logs = logs.for_trial(trial)
        assert task_logs.events_path == first.events_path
        assert task_logs.restarted == bool(run)
        callbacks.on_trial_restore(iteration=1, trials=[trial], trial=trial)
        assert not logs.for_trial(trial).restarted  # the worker starts the new session
        files = TrialFiles(task_logs, trial.local_path, dict(CONFIG), "trial t")
        files.write(part)
        assert files.close() is None
    trial.update_last_result({**results[-1], "config": trial.config})
    callbacks.on_trial_complete(iteration=2, trials=[trial], trial=trial)
    callbacks.on_experiment_end(trials=[trial])
    assert os.listdir(trial.local_path) == [os.path.basename(first.events_path)]
    records = _records(first.events_path)
    assert sum(b"brain.Event:2" in r for r in records) == 1  # one version record, first
    assert b"brain.Event:2" in records[0]
    assert b"_hparams_/experiment" in records[-3]  # the controller's hparams, at the end
    # TensorBoard shows each step once: the second session purged steps 3 and 4
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator"
    )
    acc = event_accumulator.EventAccumulator(trial.local_path, size_guidance={"scalars": 0})
    acc.Reload()
    assert [e.step for e in acc.Scalars("ray/tune/loss")] == [1, 2, 3, 4, 5, 6]
    assert "ray/tune/info/grad" in acc.Tags()["scalars"]
    assert acc.PluginTagToContent("hparams")
