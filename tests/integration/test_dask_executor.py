"""DaskExecutor against real Dask clusters (LocalCluster / SpecCluster with worker processes)."""

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

import dask
from distributed import Client, LocalCluster, Nanny, Scheduler, SpecCluster

import tunelab as tune
from tunelab import Checkpoint, Trainable
from tunelab._errors import ResourceError
from tunelab._resources import PlacementGroupFactory
from tunelab.execution.dask import DaskExecutor
from tunelab.schedulers import Decision, FIFOScheduler


def _local_cluster():
    # dashboard_address=":0": with None the scheduler's HTTP server still takes port 8787,
    # and a second cluster warns (an error here) that the port is in use
    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")


@pytest.fixture(scope="module")
def client():
    with _local_cluster() as cluster, Client(cluster, set_as_default=False) as c:
        yield c


@pytest.fixture
def fresh_client():
    """A cluster of its own, for tests that kill or add workers."""
    with _local_cluster() as cluster, Client(cluster, set_as_default=False) as c:
        yield c


def worker_pids(client):
    return set(client.run(os.getpid).values())


def read_results(trial_dir):
    with open(os.path.join(trial_dir, "result.json")) as fh:
        return [json.loads(line) for line in fh]


def no_tunelab_tasks_left(client, deadline_s=10.0):
    """True once the scheduler holds no task of ours (released asynchronously)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        keys = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.tasks))
        if not [k for k in keys if str(k).startswith("tunelab-")]:
            return True
        time.sleep(0.05)
    return False


class Counter(Trainable):
    def setup(self, config):
        self.value = config["start"]

    def step(self):
        self.value += 1
        return {"value": self.value, "pid": os.getpid()}

    def save_checkpoint(self, checkpoint_dir):
        return {"value": self.value}

    def load_checkpoint(self, checkpoint):
        self.value = checkpoint["value"]


def test_function_and_class_trainables_run_on_dask_workers(client, tmp_path):
    def train(config):
        for i in range(3):
            tune.report({"y": config["x"] * i, "pid": os.getpid()})

    executor = DaskExecutor(client)  # one executor serves both experiments in turn
    analysis = tune.run(
        train,
        config={"x": tune.grid_search([1, 2, 3, 4])},
        executor=executor,
        storage_path=str(tmp_path),
        verbose=0,
    )
    pids = worker_pids(client)
    assert os.getpid() not in pids
    assert len(analysis.trials) == 4
    for trial in analysis.trials:
        assert trial.status == "TERMINATED"
        rows = read_results(trial.local_path)
        assert [r["training_iteration"] for r in rows] == [1, 2, 3]
        assert [r["y"] for r in rows] == [trial.config["x"] * i for i in range(3)]
        assert {r["pid"] for r in rows} <= pids

    grid = tune.Tuner(
        Counter,
        param_space={"start": tune.grid_search([0, 10])},
        tune_config=tune.TuneConfig(executor=executor),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path),
            verbose=0,
            stop={"training_iteration": 4},
            checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=True),
        ),
    ).fit()
    assert sorted(r.metrics["value"] for r in grid) == [4, 14]
    for result in grid:
        assert result.metrics["pid"] in pids
        assert result.checkpoint.to_dict()["value"] == result.metrics["value"]
    assert no_tunelab_tasks_left(client)


class PauseOnceAtTwo(FIFOScheduler):
    """Every result is a decision point; each trial is paused once, at iteration 2."""

    def __init__(self):
        super().__init__()
        self.paused = set()

    def decision_points(self):
        return None

    def on_trial_result(self, runner, trial, result):
        if result["training_iteration"] == 2 and trial.trial_id not in self.paused:
            self.paused.add(trial.trial_id)
            return Decision.PAUSE
        return Decision.CONTINUE


def test_decisions_pause_and_resume_from_the_checkpoint_on_dask_workers(client, tmp_path):
    analysis = tune.run(
        Counter,
        config={"start": 0},
        num_samples=3,
        scheduler=PauseOnceAtTwo(),
        stop={"training_iteration": 5},
        executor=DaskExecutor(client),
        storage_path=str(tmp_path),
        verbose=0,
    )
    for trial in analysis.trials:
        assert trial.status == "TERMINATED"
        rows = read_results(trial.local_path)
        assert [r["training_iteration"] for r in rows] == [1, 2, 3, 4, 5]
        assert [r["value"] for r in rows] == [1, 2, 3, 4, 5]
        assert rows[2]["iterations_since_restore"] == 1


def test_executor_connects_from_a_scheduler_address(client, tmp_path):
    def train(config):
        tune.report({"pid": os.getpid()})

    executor = DaskExecutor(client.scheduler.address)
    for _ in range(2):  # its own client is closed at the end of a run, and reopened
        analysis = tune.run(
            train, num_samples=3, executor=executor, storage_path=str(tmp_path), verbose=0
        )
        assert {t.last_result["pid"] for t in analysis.trials} <= worker_pids(client)
        assert executor._cluster.client is None


class Marker:
    """Appends this process's pid to ``path`` each time it is unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (_unpickled_marker, (self.path,))


def _unpickled_marker(path):
    with open(path, "a") as fh:
        fh.write(f"{os.getpid()}\n")
    return Marker(path)


def test_trainable_and_with_parameters_objects_travel_once_per_worker_process(client, tmp_path):
    blob_log = tmp_path / "blob_unpickled"
    param_log = tmp_path / "param_unpickled"
    closure_marker = Marker(str(blob_log))

    def train(config, data):
        assert isinstance(data, Marker) and closure_marker.path  # closure travels by value
        tune.report({"pid": os.getpid()})

    # requests of three shapes alternate, so Dask tasks come and go on each worker process
    # and the process's cache is what saves the second transfer
    trainable = tune.with_resources(
        tune.with_parameters(train, data=Marker(str(param_log))),
        lambda config: {"cpu": 1, "memory": 2**20 * (1 + config["i"] % 3)},
    )
    analysis = tune.run(
        trainable,
        config={"i": tune.grid_search(list(range(9)))},
        executor=DaskExecutor(client),
        storage_path=str(tmp_path),
        verbose=0,
    )
    used = {t.last_result["pid"] for t in analysis.trials}
    assert used <= worker_pids(client)
    blob_pids = blob_log.read_text().split()
    param_pids = param_log.read_text().split()
    assert sorted(blob_pids) == sorted(set(blob_pids)), "trainable unpickled twice in a process"
    assert sorted(param_pids) == sorted(set(param_pids)), "object unpickled twice in a process"
    assert {int(p) for p in param_pids} == used


def test_a_request_no_worker_can_host_is_reported(client, tmp_path):
    executor = DaskExecutor(client)
    try:
        assert executor.why_never_fits(PlacementGroupFactory([{"CPU": 1}])) is None
        reason = executor.why_never_fits(PlacementGroupFactory([{"CPU": 1, "GPU": 1}]))
        assert reason is not None and "GPU" in reason
        assert all(address in reason for address in client.scheduler_info()["workers"])
        # two CPUs exist in the cluster, but not on one worker
        assert executor.why_never_fits(PlacementGroupFactory([{"CPU": 2}])) is not None
        assert "tpu" in executor.why_never_fits(PlacementGroupFactory([{"tpu": 1}]))
    finally:
        executor.shutdown()

    def train(config):
        tune.report({"x": 1})

    with pytest.raises(ResourceError, match="GPU"):
        tune.run(
            train,
            resources_per_trial={"cpu": 1, "gpu": 1},
            executor=DaskExecutor(client),
            storage_path=str(tmp_path),
            verbose=0,
        )


def test_gpu_trials_land_only_on_the_worker_with_a_gpu(tmp_path):
    def nanny(resources):
        return {"cls": Nanny, "options": {"nthreads": 1, "resources": resources}}

    workers = {"gpu": nanny({"CPU": 1, "GPU": 1}), "cpu": nanny({"CPU": 1})}
    scheduler = {"cls": Scheduler, "options": {"dashboard": False, "dashboard_address": ":0"}}

    def train(config):
        from distributed import get_worker

        tune.report(
            {
                "worker": get_worker().name,
                "visible": os.environ.get("CUDA_VISIBLE_DEVICES"),
                "gpu": config["gpu"],
            }
        )

    with (
        SpecCluster(workers=workers, scheduler=scheduler) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        executor = DaskExecutor(client)
        assert executor.why_never_fits(PlacementGroupFactory([{"CPU": 1, "GPU": 1}])) is None
        assert executor.why_never_fits(PlacementGroupFactory([{"CPU": 1, "GPU": 2}]))
        executor.shutdown()
        analysis = tune.run(
            tune.with_resources(train, lambda config: {"cpu": 1, "gpu": 1 if config["gpu"] else 0}),
            config={"gpu": tune.grid_search([True, False, True, False, True, False])},
            executor=DaskExecutor(client),
            storage_path=str(tmp_path),
            verbose=0,
        )
    results = [t.last_result for t in analysis.trials]
    assert all(t.status == "TERMINATED" for t in analysis.trials)
    gpu_runs = [r for r in results if r["gpu"]]
    assert len(gpu_runs) == 3
    assert all(r["worker"] == "gpu" and r["visible"] == "0" for r in gpu_runs)
    # a CPU trial on the GPU worker sees no device
    assert all(r["visible"] == "" for r in results if not r["gpu"] and r["worker"] == "gpu")


def _run_with_a_kill(client, tmp_path):
    marker = tmp_path / "killed"

    def train(config):
        start = 0
        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            start = checkpoint.to_dict()["step"]
        for step in range(start + 1, 7):
            if step == 4 and not marker.exists():
                marker.write_text(str(os.getpid()))
                os.kill(os.getpid(), signal.SIGKILL)  # the whole Dask worker process
            tune.report({"step": step}, checkpoint=Checkpoint.from_dict({"step": step}))

    analysis = tune.run(
        train,
        max_failures=1,
        executor=DaskExecutor(client),
        storage_path=str(tmp_path),
        verbose=0,
    )
    (trial,) = analysis.trials
    return trial, int(marker.read_text())


def test_a_killed_dask_worker_is_noticed_and_its_trial_retried(fresh_client, tmp_path):
    pids_before = worker_pids(fresh_client)
    trial, killed = _run_with_a_kill(fresh_client, tmp_path)
    assert killed in pids_before
    assert trial.status == "TERMINATED" and trial.num_failures == 1
    rows = read_results(trial.local_path)
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r["training_iteration"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[3]["pid"] != killed
    error = Path(trial.local_path, "error.txt").read_text()
    assert "Dask worker" in error
    assert no_tunelab_tasks_left(fresh_client)


def test_killed_worker_error_from_dask_is_handled_too(tmp_path):
    # allowed-failures=0: Dask fails the task with KilledWorker at once, besides the
    # connection dropping; the trial is still retried exactly once
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        _local_cluster() as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        trial, _ = _run_with_a_kill(client, tmp_path)
        assert trial.status == "TERMINATED" and trial.num_failures == 1
        assert [r["step"] for r in read_results(trial.local_path)] == [1, 2, 3, 4, 5, 6]
        assert no_tunelab_tasks_left(client)


def _block_until(path):
    """Someone else's task: keeps its worker busy until ``path`` exists."""
    deadline = time.monotonic() + 60
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)


def _kill_worker_of_our_task(client, release):
    """Wait until a tunelab task is pinned to a (busy) worker, SIGKILL that worker's
    process, then let the other workers go."""

    def pinned(dask_scheduler):
        return [
            sorted(ts.worker_restrictions or ())
            for key, ts in dask_scheduler.tasks.items()
            if str(key).startswith("tunelab-")
        ]

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        restrictions = client.run_on_scheduler(pinned)
        if restrictions:
            (address,) = restrictions[0]
            os.kill(client.run(os.getpid, workers=[address])[address], signal.SIGKILL)
            break
        time.sleep(0.02)
    release.write_text("go")


def test_a_worker_dying_before_its_trial_connects_is_noticed(fresh_client, tmp_path):
    # both workers are busy with someone else's task, so our task waits on its worker
    # without connecting; that worker is killed: Dask keeps the pinned task pending, and
    # the executor notices that the worker left the cluster
    release = tmp_path / "release"
    blockers = [
        fresh_client.submit(_block_until, str(release), workers=[address], pure=False)
        for address in fresh_client.scheduler_info()["workers"]
    ]

    def train(config):
        tune.report({"pid": os.getpid()})

    killer = threading.Thread(target=_kill_worker_of_our_task, args=(fresh_client, release))
    killer.start()
    analysis = tune.run(
        train,
        max_failures=1,
        executor=DaskExecutor(fresh_client, refresh_interval_s=0.2),
        storage_path=str(tmp_path),
        verbose=0,
    )
    killer.join()
    fresh_client.cancel(blockers)
    (trial,) = analysis.trials
    assert trial.status == "TERMINATED" and trial.num_failures == 1
    assert "left the cluster" in Path(trial.local_path, "error.txt").read_text()
    assert no_tunelab_tasks_left(fresh_client)


def test_workers_joining_are_picked_up(fresh_client):
    executor = DaskExecutor(fresh_client, refresh_interval_s=0.05)
    try:
        executor.setup()
        assert executor.total_resources()["CPU"] == 2
        fresh_client.cluster.scale(3)
        fresh_client.wait_for_workers(3, timeout=20)
        deadline = time.monotonic() + 10
        while executor.total_resources()["CPU"] < 3 and time.monotonic() < deadline:
            executor.poll(0.05)
        assert executor.total_resources()["CPU"] == 3
    finally:
        executor.shutdown()


class _Unreachable(DaskExecutor):
    """Its launcher advertises a port nobody listens on: tasks cannot connect back."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

        def advertised():
            import socket

            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            return ("127.0.0.1", port)

        self._launcher.advertised = advertised


def test_a_task_that_cannot_reach_the_controller_fails_the_trial_clearly(client, tmp_path):
    def train(config):
        tune.report({"x": 1})

    analysis = tune.run(
        train,
        max_failures=1,
        executor=_Unreachable(client, connect_timeout_s=5),
        storage_path=str(tmp_path),
        verbose=0,
        raise_on_failed_trial=False,
    )
    (trial,) = analysis.trials
    assert trial.status == "ERROR" and trial.num_failures == 2
    assert "ConnectionRefusedError" in Path(trial.error_file).read_text()
    assert no_tunelab_tasks_left(client)
