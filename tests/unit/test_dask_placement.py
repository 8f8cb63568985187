"""DaskExecutor pieces that need no cluster: resource mapping, messages, validation,
the authenticated listener, and behaviour without the dask extra."""

import importlib.util
import pickle
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import AuthenticationError, Client, wait

import pytest

from tunelab._resources import PlacementGroupFactory
from tunelab.execution._dask_nodes import DaskNode, describe_amounts, never_fits_message
from tunelab.execution._tcp_listener import TcpListener, default_listen_host
from tunelab.execution.dask import DaskExecutor

GiB = 2**30


def node(resources=None, nthreads=1, memory_limit=4 * GiB, address="tcp://10.0.0.1:1"):
    info = {"nthreads": nthreads, "memory_limit": memory_limit, "status": "running"}
    if resources is not None:
        info["resources"] = resources
    return DaskNode(address, info)


def test_a_worker_without_declared_resources_counts_threads_and_memory_limit():
    n = node(nthreads=3)
    assert n.totals() == {"CPU": 3.0, "memory": 4.0 * GiB, "GPU": 0.0}
    assert n.dask_resources({"CPU": 1, "memory": GiB}) is None  # no resources= constraint
    assert not n.has_gpus and not n.exclusive


def test_declared_resources_map_by_name_and_only_declared_names_constrain_the_task():
    n = node({"CPU": 4, "GPU": 2, "tpu": 1}, nthreads=4)
    assert n.totals() == {"CPU": 4.0, "GPU": 2.0, "tpu": 1.0, "memory": 4.0 * GiB}
    need = {"CPU": 1.0, "GPU": 1.0, "memory": GiB, "tpu": 1.0}
    assert n.dask_resources(need) == {"CPU": 1.0, "GPU": 1.0, "tpu": 1.0}
    first, second = n.try_acquire({"GPU": 1.0}), n.try_acquire({"GPU": 1.0})
    assert first is not None and second is not None
    assert {first.gpu_ids, second.gpu_ids} == {("0",), ("1",)}
    assert n.try_acquire({"GPU": 1.0}) is None
    n.pool.release(first)
    assert n.try_acquire({"GPU": 1.0}).gpu_ids == ("0",)


def test_a_worker_hosts_no_more_tasks_than_threads():
    n = node({"CPU": 8}, nthreads=1)
    assert n.try_acquire({"CPU": 1.0}) is not None
    n.tokens.add("busy")
    assert n.try_acquire({"CPU": 1.0}) is None


def test_memory_is_not_counted_on_a_worker_without_a_memory_limit():
    n = node(memory_limit=0)
    assert "memory" not in n.totals()
    assert n.why_never_fits({"CPU": 1.0, "memory": 100 * GiB}) is None
    assert n.try_acquire({"CPU": 1.0, "memory": 100 * GiB}) is not None


def test_never_fits_messages_name_what_is_missing_and_the_workers():
    nodes = [node({"CPU": 1, "GPU": 1}), node(address="tcp://10.0.0.2:1")]
    assert never_fits_message(PlacementGroupFactory([{"CPU": 1, "GPU": 1}]), nodes, "s") is None
    text = never_fits_message(PlacementGroupFactory([{"CPU": 2}]), nodes, "tcp://s:8786")
    assert "2 CPU" in text and "tcp://10.0.0.1:1" in text and "tcp://10.0.0.2:1" in text
    assert "tcp://s:8786" in text
    text = never_fits_message(PlacementGroupFactory([{"CPU": 1, "tpu": 1}]), nodes, "s")
    assert "tpu" in text and "--resources" in text
    text = never_fits_message(PlacementGroupFactory([{"GPU": 1.5}]), nodes, "s")
    assert "Fractional GPU" in text
    assert "has no workers" in never_fits_message(PlacementGroupFactory([{"CPU": 1}]), [], "s")
    assert node(resources={"GPU": 1}).why_never_fits({"tpu": 1.0}) == "no tpu"


def test_describe_amounts_shows_memory_in_gib():
    assert describe_amounts({"CPU": 2.0, "memory": 2.0 * GiB, "GPU": 0.0}) == (
        "2 CPU, 2 GiB memory"
    )


def test_default_listen_host():
    assert default_listen_host("tcp://127.0.0.1:8786") == "127.0.0.1"
    assert default_listen_host("tcp://localhost:8786") == "127.0.0.1"
    assert default_listen_host("inproc://10.0.0.1/123/1") == "127.0.0.1"
    assert isinstance(default_listen_host("tcp://192.0.2.1:8786"), str)


def _connect(address, key):
    return Client(address, family="AF_INET", authkey=key)


def test_listener_authenticates_before_unpickling_and_a_stalled_peer_blocks_nobody():
    key = b"k" * 32
    listener = TcpListener("127.0.0.1", 0, key)
    try:
        stalled = socket.create_connection(listener.address)  # never answers the challenge
        with pytest.raises(AuthenticationError):
            _connect(listener.address, b"wrong" * 7)
        conn = _connect(listener.address, key)
        conn.send(("hello", "token", 1, "host", "127.0.0.1"))
        assert wait([listener], timeout=10)
        items = listener.drain()
        assert [(i[0], i[2].token) for i in items] == [("conn", "token")]
        items[0][1].send("ping")
        assert conn.recv() == "ping"
        listener.notify(("done", "x"))
        assert listener.drain() == [("done", "x")]
        conn.close()
        items[0][1].close()
        stalled.close()
    finally:
        listener.close()


def test_listener_close_stops_the_accept_thread():
    listener = TcpListener("127.0.0.1", 0, b"k" * 32)
    before = {t.name for t in threading.enumerate()}
    assert "tunelab-accept" in before
    listener.close()
    with pytest.raises(OSError):
        socket.create_connection(listener.address, timeout=2).close()


needs_dask = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None, reason="needs tunelab[dask]"
)


@needs_dask
@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"client_or_address": 3}, TypeError, "client_or_address"),
        ({"client_or_address": " "}, ValueError, "client_or_address"),
        ({"client_or_address": "tcp://a:1", "listen_port": 70000}, ValueError, "listen_port"),
        ({"client_or_address": "tcp://a:1", "listen_host": ""}, ValueError, "listen_host"),
        ({"client_or_address": "tcp://a:1", "refresh_interval_s": 0}, ValueError, "> 0"),
        ({"client_or_address": "tcp://a:1", "connect_timeout_s": "1"}, TypeError, "number"),
        ({"client_or_address": "tcp://a:1", "worker_wait_s": -1}, ValueError, "worker_wait_s"),
    ],
)
def test_constructor_validates_its_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        DaskExecutor(**kwargs)


@needs_dask
def test_executor_pickles_as_its_configuration_without_connecting():
    executor = DaskExecutor("tcp://127.0.0.1:1", listen_port=4321, refresh_interval_s=2)
    copy = pickle.loads(pickle.dumps(executor))
    assert repr(copy) == repr(executor)
    assert copy.refresh_interval_s == 2.0 and copy._cluster.client is None


def test_without_the_extra_the_constructor_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"tunelab\[dask\]"):
        DaskExecutor("tcp://127.0.0.1:8786")


def test_importing_the_module_does_not_import_dask():
    code = (
        "import sys, tunelab.execution.dask; "
        "assert 'distributed' not in sys.modules and 'dask' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
