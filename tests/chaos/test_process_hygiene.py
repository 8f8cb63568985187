"""Workers never outlive their driver, many runs in one process leak nothing, and a silent
client cannot block the controller (issue 10, points 4, 7 and 8; driver side).

* A driver killed by SIGKILL leaves no worker behind within 2 s, whatever the trials do
  (``time.sleep(1000)``, a C call that holds the GIL, child processes of their own): the
  reaper process of the LocalExecutor kills every worker's process group.
* Socket directories are removed at a clean exit; those of dead drivers at the next start.
* Consecutive runs in one process end with the same number of threads, open descriptors
  and child processes (``TUNELAB_CHAOS_RUNS`` sets how many; 30 by default, the issue's
  100 in the soak).
* A client that connects to the controller's socket and says nothing delays no worker and
  is dropped after the handshake timeout.
"""

from __future__ import annotations

import gc
import glob
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from multiprocessing.connection import Client

import psutil
import pytest

import tunelab as tune
from tunelab.execution import InProcessExecutor, LocalExecutor
from tunelab.execution import _tcp_listener as tcp

RUNS = int(os.environ.get("TUNELAB_CHAOS_RUNS", "30"))


def _gone(pid):
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _socket_dirs(pid):
    return glob.glob(os.path.join(tempfile.gettempdir(), f"tunelab-{pid}-*"))


_DRIVER = textwrap.dedent(
    """
    import ctypes, os, subprocess, sys, time
    import tunelab as tune
    from tunelab.execution import LocalExecutor

    def train(config):
        folder = config["pids"]
        tune.report({"started": 1})
        child = subprocess.Popen(["sleep", "1000"])  # a process the trial started
        for kind, pid in (("worker", os.getpid()), ("child", child.pid)):
            with open(os.path.join(folder, f"{kind}-{config['mode']}-{pid}"), "w") as fh:
                fh.write("x")
        if config["mode"] == "c":
            ctypes.PyDLL(None).sleep(1000)  # blocked in C, holding the GIL
        else:
            time.sleep(1000)

    tune.run(
        train,
        config={"pids": sys.argv[2], "mode": tune.grid_search(["py", "c"])},
        storage_path=sys.argv[1],
        executor=LocalExecutor(num_cpus=4),
        verbose=0,
    )
    """
)


def test_driver_sigkill_leaves_no_worker_within_two_seconds(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(_DRIVER)
    pids = tmp_path / "pids"
    pids.mkdir()
    log = tmp_path / "driver.log"
    with open(log, "wb") as out:
        driver = subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "results"), str(pids)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while len(os.listdir(pids)) < 4 and time.monotonic() < deadline:
            assert driver.poll() is None, log.read_text()
            time.sleep(0.05)
        names = os.listdir(pids)
        assert len(names) == 4, names
        time.sleep(0.2)  # the C trial is inside its sleep
        watched = {int(name.rsplit("-", 1)[1]): name for name in names}
        helpers = psutil.Process(driver.pid).children()
        for helper in helpers:  # the workers and the reaper
            watched.setdefault(helper.pid, " ".join(helper.cmdline()))
        sockets = _socket_dirs(driver.pid)
        assert len(sockets) == 1
        os.kill(driver.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        driver.wait()
        while time.monotonic() - killed_at < 2.0:
            if all(_gone(pid) for pid in watched) and not os.path.exists(sockets[0]):
                break
            time.sleep(0.02)
        alive = {pid: what for pid, what in watched.items() if not _gone(pid)}
        assert not alive, f"alive 2 s after the driver's SIGKILL: {alive}"
        assert not os.path.exists(sockets[0]), "the reaper did not remove the socket dir"
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        for name in os.listdir(pids):
            try:
                os.kill(int(name.rsplit("-", 1)[1]), signal.SIGKILL)
            except OSError:
                pass


def _quick(config):
    tune.report({"x": config.get("x", 0)})


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_socket_dirs_are_removed_at_exit_and_stale_ones_at_the_next_start(tmp_path):
    root = tempfile.gettempdir()
    dead = _dead_pid()
    stale = os.path.join(root, f"tunelab-{dead}-abcdefgh")
    foreign = os.path.join(root, f"tunelab-{dead}-zzzzzzzz")
    for folder, name in ((stale, "controller.sock"), (foreign, "keep.txt")):
        os.makedirs(folder)
        with open(os.path.join(folder, name), "w") as fh:
            fh.write("x")
    try:
        tune.run(_quick, storage_path=str(tmp_path), verbose=0)
        assert not os.path.exists(stale), "a dead driver's socket dir was kept"
        assert os.path.exists(os.path.join(foreign, "keep.txt")), "a dir not ours was removed"
        assert _socket_dirs(os.getpid()) == [], "this run's socket dir was kept"
    finally:
        import shutil

        shutil.rmtree(stale, ignore_errors=True)
        shutil.rmtree(foreign, ignore_errors=True)


@pytest.mark.skipif(not os.path.isdir("/tmp"), reason="needs /tmp")
def test_a_deep_temp_directory_still_gets_a_socket_short_enough(tmp_path, monkeypatch):
    """A socket path longer than the system allows (``AF_UNIX path too long``, about 100
    bytes) would stop every local run under a deep ``TMPDIR``: the socket goes to /tmp."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setenv("TMPDIR", str(deep))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    seen = []

    class Sockets(tune.Callback):
        def on_trial_result(self, **info):
            seen.extend(glob.glob(f"/tmp/tunelab-{os.getpid()}-*/controller.sock"))

    analysis = tune.run(_quick, storage_path=str(tmp_path / "r"), verbose=0, callbacks=[Sockets()])
    assert [t.status for t in analysis.trials] == ["TERMINATED"]
    assert seen, "the socket was not placed in /tmp"
    assert glob.glob(f"/tmp/tunelab-{os.getpid()}-*") == []  # removed at the end


def _counts():
    """Threads, descriptors and children, once threads that just ended are gone."""
    previous = _sample()
    for _ in range(30):
        time.sleep(0.1)
        current = _sample()
        if current == previous:
            return current
        previous = current
    return previous


def _sample():
    gc.collect()  # in-process workers' pipe ends close when their Worker is collected
    me = psutil.Process()
    children = [c for c in me.children(recursive=True) if not _gone(c.pid)]
    return {
        "threads": threading.active_count(),
        "os_threads": me.num_threads(),
        "fds": me.num_fds(),
        "children": len(children),
    }


def _child_between_runs(i):
    if i % 2:
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    else:
        process = multiprocessing.get_context("fork").Process(target=time.sleep, args=(0,))
        process.start()
        process.join()


@pytest.mark.parametrize(
    ("executor", "runs"),
    [(LocalExecutor, RUNS), (InProcessExecutor, 100)],
    ids=["local-processes", "in-process"],
)
def test_many_runs_in_one_process_leak_no_thread_descriptor_or_child(tmp_path, executor, runs):
    def run(i):
        analysis = tune.run(
            _quick,
            name=f"run{i}",
            config={"x": i},
            storage_path=str(tmp_path),
            executor=executor(num_cpus=2),
            verbose=0,
        )
        (trial,) = analysis.trials
        assert trial.status == "TERMINATED" and trial.last_result["x"] == i

    for i in range(2):  # imports, caches and thread pools of C libraries settle (a fork
        run(i)  # ends OpenBLAS's pool, for one)
        _child_between_runs(i)
    before = _counts()
    for i in range(2, runs):
        run(i)
        _child_between_runs(i)
    after = _counts()
    assert after == before, (before, after, [t.name for t in threading.enumerate()])
    assert _socket_dirs(os.getpid()) == []


def test_a_silent_client_delays_no_worker(tmp_path, monkeypatch):
    monkeypatch.setattr(tcp, "HANDSHAKE_TIMEOUT_S", 120.0)  # it would hold a blocking loop
    silent: list[socket.socket] = []

    class ConnectSilently(tune.Callback):
        def setup(self, **info):
            (path,) = glob.glob(
                os.path.join(tempfile.gettempdir(), f"tunelab-{os.getpid()}-*", "controller.sock")
            )
            for _ in range(3):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(path)
                silent.append(sock)

    threads_before = threading.active_count()
    outcome: dict = {}

    def target():
        try:
            outcome["analysis"] = tune.run(
                _quick,
                config={"x": tune.grid_search([1, 2, 3])},
                storage_path=str(tmp_path),
                callbacks=[ConnectSilently()],
                executor=LocalExecutor(num_cpus=2),
                verbose=0,
            )
        except BaseException as exc:
            outcome["error"] = exc

    start = time.monotonic()
    runner = threading.Thread(target=target, daemon=True)
    runner.start()
    runner.join(60)
    try:
        assert not runner.is_alive(), "the run hung behind silent clients"
        assert "error" not in outcome, outcome
        assert len(silent) == 3
        assert time.monotonic() - start < 60
        statuses = {t.status.value for t in outcome["analysis"].trials}
        assert statuses == {"TERMINATED"}
        assert threading.active_count() == threads_before  # handshake threads ended too
    finally:
        for sock in silent:
            sock.close()


def test_a_silent_client_is_dropped_after_the_handshake_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(tcp, "HANDSHAKE_TIMEOUT_S", 0.5)
    key = os.urandom(32)
    path = str(tmp_path / "controller.sock")
    listener = tcp.UnixListener(path, key)
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        silent.connect(path)
        silent.settimeout(10)
        good = Client(path, family="AF_UNIX", authkey=key)  # served meanwhile
        good.send(("hello", "token", 1, "host", "127.0.0.1"))
        from multiprocessing.connection import wait

        assert wait([listener], timeout=10)
        (item,) = listener.drain()
        assert item[0] == "conn" and item[2].token == "token"
        item[1].close()
        good.close()
        start = time.monotonic()
        while silent.recv(4096):  # the challenge, then end of file once dropped
            pass
        assert time.monotonic() - start < 5
    finally:
        silent.close()
        listener.close()
    assert not os.path.exists(path)
    assert "tunelab-accept" not in {t.name for t in threading.enumerate()}
