"""tunelab.init/shutdown/put/get: Ray's module-level calls after ``import tunelab as ray``.

Argument handling, warnings, the second-init error, shutdown, defaults and the address
environment variables; real runs under ``init`` are in tests/integration/test_runtime_init_runs.py.
"""

import os
import pickle
import socket
import warnings

import pytest

import tunelab
import tunelab as ray
from tunelab._frontdoor import runtime as _runtime
from tunelab.execution import InProcessExecutor, LocalExecutor


@pytest.fixture(autouse=True)
def _clean_runtime(monkeypatch):
    for name in ("TUNELAB_ADDRESS", "RAY_ADDRESS", "DASK_SCHEDULER_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU detected, whatever the machine
    ray.shutdown()
    yield
    ray.shutdown()


# -- lifecycle -------------------------------------------------------------------------------
def test_init_shutdown_and_is_initialized():
    assert not ray.is_initialized()
    ray.init()
    assert ray.is_initialized()
    ray.shutdown()
    assert not ray.is_initialized()
    ray.shutdown()  # a second shutdown does nothing
    ray.init()  # and init works again after shutdown
    assert ray.is_initialized()


def test_second_init_is_an_error_unless_ignored():
    first = ray.init(num_cpus=3)
    with pytest.raises(RuntimeError, match=r"Maybe you called ray\.init twice by accident"):
        ray.init(num_cpus=1)
    again = ray.init(num_cpus=1, ignore_reinit_error=True)
    assert again is first
    assert ray.cluster_resources()["CPU"] == 3  # the first call's settings stay


def test_context_is_a_read_only_mapping_of_address_info():
    context = ray.init()
    assert context.address_info["address"] == "local"
    assert context["node_ip_address"] == "127.0.0.1"
    assert dict(context) == dict(context.address_info)
    assert context.dashboard_url is None
    with pytest.raises(TypeError):
        context.address_info["address"] = "elsewhere"
    with pytest.raises(AttributeError, match="read-only"):
        context.dashboard_url = "http://x"


def test_context_manager_and_disconnect_shut_down():
    with ray.init(num_cpus=1) as context:
        assert ray.is_initialized()
        assert context["address"] == "local"
    assert not ray.is_initialized()
    ray.init().disconnect()
    assert not ray.is_initialized()


# -- the default executor --------------------------------------------------------------------
def test_without_init_runs_use_a_local_executor_over_the_machine():
    executor = _runtime.default_executor()
    assert isinstance(executor, LocalExecutor)
    assert executor.total_resources()["CPU"] == os.cpu_count()


def test_totals_set_the_local_executor_of_the_following_runs():
    ray.init(
        num_cpus=2,
        num_gpus=2,
        resources={"accelerator": 3},
        _memory=2**30,
        object_store_memory=2**29,
    )
    executor = _runtime.default_executor()
    assert isinstance(executor, LocalExecutor)
    assert executor.total_resources() == {
        "CPU": 2.0,
        "GPU": 2.0,
        "memory": float(2**30),
        "accelerator": 3.0,
        "object_store_memory": float(2**29),
    }
    ray.shutdown()
    assert _runtime.default_executor().total_resources()["CPU"] == os.cpu_count()


def test_memory_is_the_0x_spelling_of__memory():
    ray.init(memory=2**31)
    assert ray.cluster_resources()["memory"] == 2**31
    ray.shutdown()
    with pytest.raises(ValueError, match="_memory"):
        ray.init(_memory=1, memory=2)


def test_local_mode_runs_trials_in_this_process():
    ray.init(local_mode=True, num_cpus=3, resources={"token": 1})
    executor = _runtime.default_executor()
    assert isinstance(executor, InProcessExecutor)
    assert executor.total_resources()["CPU"] == 3
    assert executor.total_resources()["token"] == 1


def test_cluster_and_available_resources_report_the_totals():
    ray.init(num_cpus=4, resources={"custom": 2})
    totals = ray.cluster_resources()
    assert totals["CPU"] == 4
    assert totals["GPU"] == 0
    assert totals["custom"] == 2
    assert totals["memory"] > 0
    assert ray.available_resources() == totals
    (node,) = ray.nodes()
    assert node["Alive"] is True
    assert node["Resources"] == totals


# -- argument checks -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_cpus": -1}, ValueError, "num_cpus must be None or a finite number >= 0, got -1"),
        ({"num_cpus": "2"}, ValueError, "num_cpus"),
        ({"num_cpus": True}, ValueError, "num_cpus"),
        ({"num_cpus": float("nan")}, ValueError, "num_cpus"),
        ({"num_gpus": 1.5}, ValueError, "num_gpus must be a whole number, got 1.5"),
        ({"object_store_memory": -5}, ValueError, "object_store_memory"),
        ({"_memory": "lots"}, ValueError, "_memory"),
        ({"resources": [("a", 1)]}, TypeError, "resources must be a dict"),
        ({"resources": {"CPU": 2}}, ValueError, "use the 'num_cpus' keyword instead of 'CPU'"),
        ({"resources": {"GPU": 2}}, ValueError, "use the 'num_gpus' keyword instead of 'GPU'"),
        ({"resources": {"a": -1}}, ValueError, r"resources\['a'\] must be a finite number"),
        ({"resources": {1: 1}}, TypeError, "resource names must be strings"),
        ({"local_mode": "yes"}, TypeError, "local_mode must be True or False"),
        ({"ignore_reinit_error": 1}, TypeError, "ignore_reinit_error"),
        ({"address": 8786}, TypeError, "address must be None"),
    ],
)
def test_malformed_arguments_are_rejected(kwargs, error, match):
    with pytest.raises(error, match=match):
        ray.init(**kwargs)
    assert not ray.is_initialized()


def test_a_keyword_no_ray_init_had_is_a_type_error_with_a_suggestion():
    with pytest.raises(TypeError, match=r"'num_cpu'.*did you mean 'num_cpus'"):
        ray.init(num_cpu=2)
    assert not ray.is_initialized()


def test_other_ray_keywords_are_accepted_with_one_warning_naming_them():
    with pytest.warns(UserWarning, match="include_dashboard has no effect in tunelab; ignored"):
        ray.init(include_dashboard=False)
    ray.shutdown()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ray.init(log_to_driver=False, logging_level=40, _temp_dir="/tmp/x", dashboard_port=1)
    assert len(caught) == 1
    message = str(caught[0].message)
    for name in ("log_to_driver", "logging_level", "_temp_dir", "dashboard_port"):
        assert name in message
    assert "have no effect in tunelab; ignored" in message
    assert caught[0].filename == __file__  # stacklevel points at the caller


def test_keywords_left_at_none_are_not_warned_about():
    ray.init(include_dashboard=None, namespace=None, redis_password=None, num_cpus=None)
    assert ray.is_initialized()


# -- the address and the environment ---------------------------------------------------------
def test_totals_and_local_mode_are_refused_with_a_dask_address():
    with pytest.raises(ValueError, match="num_cpus, resources cannot be given with the Dask"):
        ray.init("tcp://127.0.0.1:8786", num_cpus=2, resources={"a": 1})
    with pytest.raises(ValueError, match="local_mode=True cannot be given"):
        ray.init(address="tcp://127.0.0.1:8786", local_mode=True)
    assert not ray.is_initialized()


def test_a_ray_client_address_is_explained():
    pytest.importorskip("distributed")
    with pytest.raises(ValueError, match=r"Ray Client address.*Dask"):
        ray.init("ray://head:10001")


def test_ray_address_is_the_default_address(monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    with pytest.raises(ValueError, match="RAY_ADDRESS='ray://head:10001' is a Ray Client address"):
        ray.init()
    with pytest.raises(ValueError, match="RAY_ADDRESS='ray://head:10001' is a Ray Client address"):
        ray.init(address="auto")
    ray.init(address="local")  # an explicit address wins over the environment
    assert ray.init(ignore_reinit_error=True)["address"] == "local"


def test_tunelab_address_wins_over_ray_address(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    monkeypatch.setenv("TUNELAB_ADDRESS", "local")
    assert ray.init()["address"] == "local"
    assert isinstance(_runtime.default_executor(), LocalExecutor)


def test_redis_address_is_the_0x_spelling_of_address(monkeypatch):
    pytest.importorskip("distributed")
    with pytest.raises(
        ValueError, match="redis_address='ray://head:10001' is a Ray Client address"
    ):
        ray.init(redis_address="ray://head:10001")
    with pytest.raises(ValueError, match="not both"):
        ray.init(address="local", redis_address="local")
    ray.init(redis_address=None)  # 0.x scripts pass their --redis-address default
    assert ray.init(ignore_reinit_error=True)["address"] == "local"


def test_auto_without_a_dask_scheduler_is_a_clear_error():
    pytest.importorskip("distributed")
    import dask

    with (
        dask.config.set({"scheduler-address": None}),
        pytest.raises(ConnectionError, match="found no running Dask scheduler"),
    ):
        ray.init(address="auto")
    assert not ray.is_initialized()


def test_an_unreachable_scheduler_is_a_connection_error():
    pytest.importorskip("distributed")
    import dask

    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "0.5s"}),
        pytest.raises(
            ConnectionError, match=f"could not connect to the Dask scheduler at '{address}'"
        ),
    ):
        ray.init(address)
    assert not ray.is_initialized()


# -- put / get -------------------------------------------------------------------------------
def test_put_and_get_round_trip():
    data = {"weights": list(range(10))}
    ref = ray.put(data)
    assert isinstance(ref, ray.ObjectRef)
    assert ray.get(ref) is data  # in the process that put it, the object itself
    assert ray.get([ref, ray.put(3)], timeout=5) == [data, 3]
    shipped = pickle.loads(pickle.dumps(ref))  # what a worker receives
    assert ray.get(shipped) == data


def test_get_and_put_reject_what_ray_rejects():
    ref = ray.put(1)
    with pytest.raises(ValueError, match=r"must be an object reference from tunelab\.put"):
        ray.get(3)
    with pytest.raises(ValueError, match="tuple"):
        ray.get((ref,))
    with pytest.raises(TypeError, match=r"holds 3 \(int\)"):
        ray.get([ref, 3])
    with pytest.raises(TypeError, match="already an object reference"):
        ray.put(ref)
    with pytest.raises(TypeError, match="timeout"):
        ray.get(ref, timeout="soon")


def test_pinned_objects_and_put_refs_are_the_same_mechanism():
    ref = tunelab.pin_in_object_store([1, 2])
    assert ray.get(ref) == [1, 2]
    assert tunelab.get_pinned_object(ray.put("x")) == "x"


# -- GPUs and Ray Core names -----------------------------------------------------------------
def test_get_gpu_ids_outside_a_trial_is_empty(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert ray.get_gpu_ids() == []


@pytest.mark.parametrize("name", ["remote", "wait", "get_actor", "kill", "rllib"])
def test_ray_core_names_say_tunelab_has_no_counterpart(name):
    with pytest.raises(AttributeError, match=f"no counterpart of Ray Core's ray.{name}"):
        getattr(ray, name)
    assert not hasattr(ray, name)


def test_ray_util_placement_group_says_tunelab_has_no_counterpart():
    import tunelab.util

    with pytest.raises(AttributeError, match=r"ray\.util\.placement_group"):
        tunelab.util.placement_group  # noqa: B018
    with pytest.raises(ImportError):
        from tunelab.util import placement_group  # noqa: F401
