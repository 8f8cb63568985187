"""Real runs after ``tunelab.init(...)``: ``import tunelab as ray`` scripts behave as under Ray.

Concurrency is measured from the trials' own recorded start and end times (no timing
assertions): a trial's body runs inside the time its executor holds its resources, so
bodies that overlap prove that the executor ran the trials at the same time.
"""

import os
import time

import pytest

import tunelab as ray
import tunelab as tune


@pytest.fixture(autouse=True)
def _shutdown(monkeypatch):
    for name in ("TUNELAB_ADDRESS", "RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    ray.shutdown()
    yield
    ray.shutdown()


def record_span(config):
    start = time.time()
    time.sleep(0.6)
    tune.report(start=start, end=time.time(), pid=os.getpid(), gpus=ray.get_gpu_ids())


def max_overlap(trials):
    """The most trials whose recorded [start, end] spans overlap at one moment."""
    events = []
    for trial in trials:
        events.append((trial.last_result["start"], 1))
        events.append((trial.last_result["end"], -1))
    running = peak = 0
    for _, delta in sorted(events, key=lambda e: (e[0], e[1])):  # ends before starts on ties
        running += delta
        peak = max(peak, running)
    return peak


def run(trainable, tmp_path, **kwargs):
    return tune.run(trainable, storage_path=str(tmp_path), verbose=0, **kwargs)


def test_num_cpus_time_shares_one_cpu_trials(tmp_path):
    ray.init(num_cpus=2)
    analysis = run(record_span, tmp_path, num_samples=4, resources_per_trial={"cpu": 1})
    assert all(t.status == "TERMINATED" for t in analysis.trials)
    assert 1 <= max_overlap(analysis.trials) <= 2


def test_num_cpus_one_runs_trials_one_at_a_time(tmp_path):
    # without init, this machine's CPUs would run these trials side by side
    ray.init(num_cpus=1)
    analysis = run(record_span, tmp_path, num_samples=3, resources_per_trial={"cpu": 1})
    assert max_overlap(analysis.trials) == 1


def test_custom_resources_bound_the_following_runs(tmp_path):
    ray.init(num_cpus=4, resources={"license": 1})
    analysis = run(
        record_span, tmp_path, num_samples=2, resources_per_trial={"cpu": 1, "license": 1}
    )
    assert max_overlap(analysis.trials) == 1


def test_an_explicit_executor_still_wins(tmp_path):
    from tunelab.execution import InProcessExecutor

    ray.init(num_cpus=1)
    analysis = run(
        record_span,
        tmp_path,
        num_samples=2,
        resources_per_trial={"cpu": 1},
        executor=InProcessExecutor(num_cpus=2),
    )
    assert {t.last_result["pid"] for t in analysis.trials} == {os.getpid()}
    assert max_overlap(analysis.trials) == 2


def test_local_mode_runs_trials_in_this_process(tmp_path):
    ray.init(local_mode=True)
    analysis = run(record_span, tmp_path, num_samples=2)
    assert {t.last_result["pid"] for t in analysis.trials} == {os.getpid()}
    ray.shutdown()  # back to worker processes
    analysis = run(record_span, tmp_path, num_samples=1)
    assert analysis.trials[0].last_result["pid"] != os.getpid()


def test_put_and_get_through_with_parameters(tmp_path):
    data = list(range(1000))

    def train(config, data=None):
        values = ray.get(data)
        tune.report(total=sum(values), pid=os.getpid())

    data_ref = ray.put(data)
    analysis = run(tune.with_parameters(train, data=data_ref), tmp_path, num_samples=2)
    assert [t.last_result["total"] for t in analysis.trials] == [sum(data)] * 2
    assert all(t.last_result["pid"] != os.getpid() for t in analysis.trials)


def test_get_gpu_ids_lists_the_trial_s_gpus(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")  # the devices init(num_gpus=2) finds
    ray.init(num_cpus=2, num_gpus=2)
    analysis = run(
        tune.with_resources(record_span, lambda config: {"cpu": 1, "gpu": config["gpu"]}),
        tmp_path,
        config={"gpu": tune.grid_search([1, 1, 0])},
    )
    gpu_trials = [t for t in analysis.trials if t.config["gpu"] == 1]
    cpu_trial = next(t for t in analysis.trials if t.config["gpu"] == 0)
    for trial in gpu_trials:
        assert len(trial.last_result["gpus"]) == 1
        assert trial.last_result["gpus"][0] in ("4", "6")
    if max_overlap(gpu_trials) == 2:  # side by side: one device each
        assert {t.last_result["gpus"][0] for t in gpu_trials} == {"4", "6"}
    assert cpu_trial.last_result["gpus"] == []


def test_get_gpu_ids_in_local_mode_lists_the_process_s_gpus(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    ray.init(local_mode=True, num_gpus=2)
    analysis = run(record_span, tmp_path, resources_per_trial={"cpu": 1, "gpu": 1})
    assert sorted(analysis.trials[0].last_result["gpus"]) == ["4", "6"]


def test_a_dask_address_runs_trials_on_the_cluster(tmp_path):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    def train(config):
        tune.report(pid=os.getpid(), x=config["x"])

    # dashboard_address=":0": a second cluster on the default port would warn (an error here)
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster, set_as_default=False) as observer,
    ):
        worker_pids = set(observer.run(os.getpid).values())
        context = ray.init(cluster.scheduler_address)
        assert context["address"] == cluster.scheduler_address
        assert ray.cluster_resources()["CPU"] == 1
        analysis = run(train, tmp_path, config={"x": tune.grid_search([1, 2])})
        assert {t.last_result["pid"] for t in analysis.trials} <= worker_pids
        clients_before = len(observer.scheduler_info()["workers"])  # the cluster is unchanged
        from tunelab._frontdoor import runtime as _runtime

        client = _runtime._runtime.client
        ray.shutdown()
        assert client.status == "closed"  # init's own client is closed by shutdown
        assert len(observer.scheduler_info()["workers"]) == clients_before
