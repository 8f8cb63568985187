"""The server's store, the callback that feeds it from the controller's hooks, and the disk
reader behind ``tunelab dashboard``: no sockets, no processes."""

from __future__ import annotations

import itertools
import json
import math
import os

import pytest

from tunelab._callback import CallbackList
from tunelab._trial import Trial, TrialStatus
from tunelab.server import DiskSource, ResultStore, ServerCallback
from tunelab.server._values import json_ready, numeric_metrics


def make_trial(trial_id, status=TrialStatus.PENDING, **config):
    trial = Trial(
        "train",
        trial_id=trial_id,
        config=config,
        evaluated_params={k: v for k, v in config.items()},
        experiment_tag=f"0_x={config.get('x')}",
        experiment_name="exp",
    )
    trial.status = status
    return trial


def result(i, **metrics):
    return {"training_iteration": i, "time_total_s": 0.1 * i, "done": False, "pid": 7, **metrics}


# -- pure helpers ----------------------------------------------------------------------------
def test_numeric_metrics_keeps_numbers_and_flattens_nested_dicts():
    got = numeric_metrics(
        {
            "loss": 0.5,
            "acc": 1,
            "flag": True,
            "name": "x",
            "config": {"lr": 0.1},
            "pid": 12,
            "timestamp": 3,
            "nested": {"a": 1.5, "b": {"c": 2}, "s": "no"},
            "training_iteration": 3,
        }
    )
    assert got == {"loss": 0.5, "acc": 1, "nested/a": 1.5, "nested/b/c": 2, "training_iteration": 3}


def test_json_ready_makes_strict_json():
    value = {"a": math.nan, "b": [math.inf, 1.0, (2, 3)], 4: {"c": object}}
    ready = json_ready(value)
    json.dumps(ready, allow_nan=False)
    assert ready["a"] is None and ready["b"] == [None, 1.0, [2, 3]]
    assert isinstance(ready["4"]["c"], str)


# -- the store -------------------------------------------------------------------------------
def test_store_validates_its_arguments():
    with pytest.raises(ValueError, match="history_size must be an int >= 2, got 1"):
        ResultStore(history_size=1)
    with pytest.raises(ValueError, match="mode must be 'min', 'max' or None, got 'up'"):
        ResultStore(mode="up")
    with pytest.raises(TypeError, match=r"unknown fields \['colour'\]"):
        ResultStore().upsert_trial("t", colour="red")


def test_store_infos_and_results_since():
    store = ResultStore(name="exp", metric="loss", mode="min")
    store.upsert_trial("a", status="RUNNING", config={"x": 1})
    store.upsert_trial("b", status="PENDING", config={"x": 2})
    assert store.add_result("zzz", result(1)) is False
    for i in range(1, 4):
        store.add_result("a", result(i, loss=1 / i, extra={"k": math.nan}))
    info = store.trial("a")
    assert info["status"] == "RUNNING" and info["config"] == {"x": 1}
    assert info["iterations"] == 3 and info["metrics"]["loss"] == pytest.approx(1 / 3)
    assert info["result"]["extra"] == {"k": None} and "config" not in info["result"]
    assert store.trial("zzz") is None
    assert [t["id"] for t in store.trials()] == ["a", "b"]
    assert [t["id"] for t in store.trials(["b", "nope"])] == ["b"]
    assert store.trial_ids("RUNNING") == ["a"]

    everything = store.changes_since(0)
    assert not everything["reset"] and not everything["more"]
    assert [r["metrics"]["training_iteration"] for r in everything["results"]] == [1, 2, 3]
    seq = everything["seq"]
    nothing = store.changes_since(seq)
    assert nothing["results"] == [] and nothing["trials"] == []
    store.add_result("b", result(1, loss=2.0))
    later = store.changes_since(seq)
    assert [(r["trial_id"], r["metrics"]["loss"]) for r in later["results"]] == [("b", 2.0)]
    assert [t["id"] for t in later["trials"]] == ["b"]
    assert store.changes_since(seq + 100)["reset"]  # a reader from another server run

    meta = store.meta()
    assert meta["name"] == "exp" and meta["counts"] == {"RUNNING": 1, "PENDING": 1}
    assert meta["num_trials"] == 2 and meta["finished"] is False
    store.set_finished()
    assert store.meta()["finished"] and store.finished.is_set()


def test_store_pages_long_answers_and_resets_readers_left_behind():
    store = ResultStore(buffer_size=10, history_size=100)
    store.upsert_trial("a")
    for i in range(1, 6):
        store.add_result("a", result(i))
    page = store.changes_since(0, max_results=2)
    assert page["more"] and [r["metrics"]["training_iteration"] for r in page["results"]] == [1, 2]
    rest = store.changes_since(page["seq"])
    assert [r["metrics"]["training_iteration"] for r in rest["results"]] == [3, 4, 5]
    for i in range(6, 30):
        store.add_result("a", result(i))
    behind = store.changes_since(rest["seq"])  # its results were evicted from the buffer
    assert behind["reset"]
    assert [r["metrics"]["training_iteration"] for r in behind["results"]] == list(range(1, 30))


def test_history_is_thinned_evenly_and_keeps_the_latest_point():
    store = ResultStore(history_size=10)
    store.upsert_trial("a")
    for i in range(1, 101):
        store.add_result("a", result(i))
    points = [p["training_iteration"] for p in store.history("a")]
    assert len(points) <= 12 and points[0] == 1 and points[-1] == 100
    steps = {b - a for a, b in itertools.pairwise(points[:-1])}
    assert len(steps) == 1  # evenly spaced
    store.clear_results("a")
    assert store.history("a") == [] and store.trial("a")["iterations"] == 0
    assert store.history("zzz") is None


# -- the callback ----------------------------------------------------------------------------
class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_server_callback_follows_the_controller_hooks():
    clock = FakeClock()
    callback = ServerCallback(metric="loss", mode="min", name="exp", clock=clock)
    hooks = CallbackList([callback])
    a, b = make_trial("a", x=1), make_trial("b", x=2)
    trials = [a, b]
    hooks.setup(total_num_samples=2)
    hooks.on_step_end(iteration=1, trials=trials)  # new trials appear at once
    assert [t["status"] for t in callback.store.trials()] == ["PENDING", "PENDING"]
    a.status = TrialStatus.RUNNING
    hooks.on_trial_start(iteration=2, trials=trials, trial=a)
    hooks.on_trial_result(iteration=2, trials=trials, trial=a, result=result(1, loss=0.5))
    info = callback.store.trial("a")
    assert info["status"] == "RUNNING" and info["params"] == {"x": 1}
    assert info["name"] == "train_a" and info["experiment"] == "exp"
    assert info["metrics"] == {"loss": 0.5, "training_iteration": 1, "time_total_s": 0.1}

    # a status change without a hook (a pause) shows up at the next periodic scan
    a.status = TrialStatus.PAUSED
    hooks.on_step_end(iteration=3, trials=trials)
    assert callback.store.status_of("a") == "RUNNING"
    clock.now += 1.0
    hooks.on_step_end(iteration=4, trials=trials)
    assert callback.store.status_of("a") == "PAUSED"

    a.status = TrialStatus.ERROR
    a.error_msg = "ValueError: boom"
    hooks.on_trial_error(iteration=5, trials=trials, trial=a)
    assert callback.store.trial("a")["error"] == "ValueError: boom"
    b.status = TrialStatus.TERMINATED
    hooks.on_experiment_end(trials=trials)
    assert callback.store.status_of("b") == "TERMINATED"
    assert callback.store.finished.is_set()
    assert callback.store.meta()["total_samples"] == 2


def test_server_callback_adds_trials_it_never_saw_on_their_first_result():
    callback = ServerCallback()
    trial = make_trial("late", TrialStatus.RUNNING, x=3)
    callback.on_trial_result(iteration=1, trials=[trial], trial=trial, result=result(1, loss=1))
    assert callback.store.trial("late")["iterations"] == 1


def test_server_callback_rejects_bad_arguments():
    with pytest.raises(ValueError, match="scan_period_s must be >= 0, got -1"):
        ServerCallback(scan_period_s=-1)
    with pytest.raises(TypeError, match="scan_period_s must be a number"):
        ServerCallback(scan_period_s="1")


# -- the disk reader -------------------------------------------------------------------------
def write_experiment(root, name="exp", statuses=("RUNNING", "TERMINATED")):
    path = os.path.join(root, name)
    trials = []
    for i, status in enumerate(statuses):
        trial_id = f"t{i}"
        dirname = f"train_{trial_id}"
        os.makedirs(os.path.join(path, dirname), exist_ok=True)
        trials.append(
            {
                "trial_id": trial_id,
                "trainable_name": "train",
                "config": {"x": i},
                "evaluated_params": {"x": i},
                "status": status,
                "dirname": dirname,
                "experiment_tag": f"{i}_x={i}",
            }
        )
    state = {"version": 1, "name": name, "metric": "loss", "mode": "min", "trials": trials}
    with open(os.path.join(path, "experiment_state.json"), "w") as fh:
        json.dump(state, fh)
    return path


def append_results(path, dirname, iterations, partial=""):
    with open(os.path.join(path, dirname, "result.json"), "a") as fh:
        for i in iterations:
            fh.write(json.dumps(result(i, loss=1 / i, config={"x": 0})) + "\n")
        fh.write(partial)


def test_disk_source_reads_incrementally_and_follows_rollbacks(tmp_path):
    path = write_experiment(str(tmp_path))
    append_results(path, "train_t0", [1, 2], partial='{"training_iter')
    store = ResultStore(name="exp")
    source = DiskSource(path, store)
    source.refresh()
    assert store.trial("t0")["iterations"] == 2 and store.trial("t1")["iterations"] == 0
    assert store.trial("t0")["params"] == {"x": 0}
    assert store.meta()["metric"] == "loss" and store.meta()["finished"] is False
    seq = store.seq
    source.refresh()
    assert store.seq == seq  # nothing changed on disk, nothing changed in the store
    # finish the torn line and append more
    with open(os.path.join(path, "train_t0", "result.json"), "a") as fh:
        fh.write('ation": 3, "loss": 0.3}\n')
    append_results(path, "train_t0", [4])
    source.refresh()
    assert [p["training_iteration"] for p in store.history("t0")] == [1, 2, 3, 4]
    # a retried trial rolled its log back to iteration 1, then went on
    with open(os.path.join(path, "train_t0", "result.json"), "w") as fh:
        fh.write(json.dumps(result(1, loss=1.0)) + "\n")
    source.refresh()
    assert [p["training_iteration"] for p in store.history("t0")] == [1]
    # the journal moves a trial on without rewriting the snapshot
    with open(os.path.join(path, "experiment_state.journal"), "w") as fh:
        entry = {"trial_id": "t0", "trainable_name": "train", "status": "TERMINATED"}
        entry["dirname"] = "train_t0"
        fh.write(json.dumps({"seq": 1, "trial": entry}) + "\n")
    source.refresh()
    assert store.status_of("t0") == "TERMINATED" and store.meta()["finished"] is True


def test_disk_source_reads_a_results_root_and_dirs_without_state(tmp_path):
    write_experiment(str(tmp_path), "one", statuses=("TERMINATED",))
    write_experiment(str(tmp_path), "two", statuses=("TERMINATED",))
    bare = tmp_path / "bare" / "some_trial_dir"
    bare.mkdir(parents=True)
    (bare / "result.json").write_text(
        json.dumps({"trial_id": "abc", "training_iteration": 1, "loss": 3, "config": {"y": 1}})
        + "\n"
    )
    store = ResultStore()
    source = DiskSource(str(tmp_path), store)
    source.refresh()
    infos = {t["id"]: t for t in store.trials()}
    # same trial ids in two experiments stay apart
    assert set(infos) == {"t0", "two:t0", "abc"}
    assert infos["abc"]["config"] == {"y": 1} and infos["abc"]["iterations"] == 1
    assert infos["two:t0"]["experiment"] == "two"
    assert store.meta()["experiments"] == ["bare", "one", "two"]


def test_disk_source_shows_an_earlier_experiment_run_under_the_same_name(tmp_path):
    path = write_experiment(str(tmp_path), statuses=("TERMINATED",))
    # a new run in the same directory kept the earlier state beside its own
    os.rename(
        os.path.join(path, "experiment_state.json"),
        os.path.join(path, "experiment_state-2026-12-06_10-00-00.json"),
    )
    with open(os.path.join(path, "experiment_state.json"), "w") as fh:
        new = {"trial_id": "n0", "trainable_name": "train", "status": "RUNNING"}
        json.dump({"version": 1, "name": "exp", "trials": [{**new, "dirname": "train_n0"}]}, fh)
    os.makedirs(os.path.join(path, "train_n0"))
    append_results(path, "train_t0", [1, 2])
    store = ResultStore(name="exp")
    source = DiskSource(path, store)
    source.refresh()
    assert {t["id"] for t in store.trials()} == {"t0", "n0"}
    assert store.trial("t0")["iterations"] == 2 and store.status_of("t0") == "TERMINATED"


def test_disk_source_reads_fsspec_uris():
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    state = {
        "trials": [{"trial_id": "m1", "trainable_name": "f", "status": "RUNNING", "dirname": "d"}]
    }
    fs.pipe("/uri-exp/experiment_state.json", json.dumps(state).encode())
    fs.pipe("/uri-exp/d/result.json", (json.dumps(result(1, loss=0.5)) + "\n").encode())
    try:
        store = ResultStore()
        DiskSource("memory://uri-exp", store).refresh()
        assert store.trial("m1")["metrics"]["loss"] == 0.5
    finally:
        fs.rm("/uri-exp", recursive=True)


def test_disk_source_rejects_bad_paths(tmp_path):
    with pytest.raises(ValueError, match="must be an experiment or results directory"):
        DiskSource(str(tmp_path / "missing"), ResultStore())
    with pytest.raises(ValueError, match="poll_s must be a number of seconds > 0, got 0"):
        DiskSource(str(tmp_path), ResultStore(), poll_s=0)


def test_public_names_of_the_server_package():
    import tunelab.server

    assert sorted(tunelab.server.__all__) == [
        "ADDRESS_FILE",
        "CommandError",
        "Commands",
        "ControllerCommands",
        "DEFAULT_PORT",
        "DiskSource",
        "MAX_BODY_BYTES",
        "ResultStore",
        "ServerCallback",
        "TOKEN_FILE",
        "TuneClient",
        "TuneClientError",
        "TuneServer",
        "check_port",
        "dashboard_main",
        "print_dashboard_url",
        "read_address",
        "read_token",
        "serve_dashboard",
        "server_callback",
        "start_server_for",
        "write_token_file",
    ]
    for name in tunelab.server.__all__:
        assert hasattr(tunelab.server, name), name
    assert tunelab.server.TuneServer.DEFAULT_PORT == 4321
