"""The default executor: worker processes on this machine.

Each worker is a fresh Python process (``python -c "...worker.main()"``) that connects back
over a Unix socket authenticated with a random key per experiment; no unauthenticated data
is ever unpickled. A worker serves many trials one after another; a GPU trial runs in a
worker started with ``CUDA_VISIBLE_DEVICES`` naming exactly its GPUs (empty for CPU trials).

Process hygiene:

* each worker leads a session (and process group) of its own, which the processes its
  trials start share; ending a worker ends that whole group;
* one reaper process per executor (``_reaper.py``) kills every worker's group as soon as
  this process dies, even by SIGKILL;
* the socket lives in a private directory ``<tmp>/tunelab-<driver pid>-<random>``, removed
  at the end (and by the reaper); directories whose driver died without either are removed
  at the next start;
* :meth:`LocalExecutor.kill_trial` kills a worker whose trial does not answer a stop.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable
from typing import Any

from tunelab.execution._executor import ConnectionExecutor, WorkerHandle
from tunelab.execution._protocol import Event, Lost
from tunelab.execution._reaper import Reaper
from tunelab.execution._resource_pool import ResourcePool, detect_gpus
from tunelab.execution._tcp_listener import UnixListener

__all__ = ["LocalExecutor", "clean_stale_socket_dirs"]

#: name of a socket directory: the driver's pid, then mkdtemp's random part
_SOCKET_DIR = re.compile(r"tunelab-(\d+)-[a-z0-9_]{8}")
_SOCKET_NAME = "controller.sock"

_WORKER_CODE = "from tunelab.execution._worker import main; main()"


def _check_count(name: str, value: Any, *, integer: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"LocalExecutor: {name} must be a number >= 0, got {value!r}")
    if integer and not float(value).is_integer():
        raise ValueError(f"LocalExecutor: {name} must be a whole number, got {value!r}")


def _relay_output(stream: Any) -> None:
    for line in iter(stream.readline, b""):
        try:
            sys.stdout.write(line.decode(errors="replace"))
            sys.stdout.flush()
        except (OSError, ValueError):  # the driver's stdout went away
            break
    stream.close()


class LocalExecutor(ConnectionExecutor):
    """Run trials in worker processes on this machine (the default executor).

    Each worker is a fresh Python process that serves trials one after another (reused
    while its GPUs match the next trial's) and talks to the driver over a Unix socket
    authenticated with a random key. A trial starts when its whole resource request fits
    in what is free, so the totals below decide how many trials run at once: with the
    default totals and 1-CPU trials, one trial per core.

    GPUs are whole devices with capacity 1: a request of 1 or more takes that many free
    devices, a fraction below 1 shares a device with other fractional trials. A worker is
    started with ``CUDA_VISIBLE_DEVICES`` naming exactly its trial's devices (empty for a
    trial that asked for no GPU).

    Each worker leads its own process group; when a trial ends its worker's leftover
    processes are killed, and a small reaper process kills every worker if the driver dies
    (even by SIGKILL).

    Example::

        tune.run(train, resources_per_trial={"cpu": 1, "accelerator": 1},
                 executor=LocalExecutor(num_cpus=8, resources={"accelerator": 2}))

    Args:
        num_cpus: Total CPUs to hand out (default: ``os.cpu_count()``). Not a limit on
            what a trial's code may use: it only counts requests.
        num_gpus: Total GPUs, a whole number (default: the devices found in
            ``CUDA_VISIBLE_DEVICES``, else by ``nvidia-smi``). Fewer than found uses the
            first ones; more than found invents ids ``"0"``, ``"1"``, ...
        memory: Total memory in bytes that trials may request (default: physical memory).
        resources: Custom resource totals, e.g. ``{"accelerator": 2}``; trials ask for
            them by name in their request.
        gpu_ids: The device ids to hand out (default: the detected ones); with
            ``num_gpus`` the first ``num_gpus`` of them.

    Raises:
        ValueError: A total is negative or not a number, or ``num_gpus`` is fractional.
        TypeError: ``resources`` is not a dict.
    """

    def __init__(
        self,
        num_cpus: float | None = None,
        num_gpus: int | None = None,
        memory: float | None = None,
        resources: dict[str, float] | None = None,
        gpu_ids: list[str] | None = None,
    ) -> None:
        _check_count("num_cpus", num_cpus)
        _check_count("num_gpus", num_gpus, integer=True)
        _check_count("memory", memory)
        if resources is not None and not isinstance(resources, dict):
            raise TypeError(f"LocalExecutor: resources must be a dict, got {resources!r}")
        for key, value in (resources or {}).items():
            _check_count(f"resources[{key!r}]", value)
        import psutil

        ids = list(gpu_ids) if gpu_ids is not None else detect_gpus()
        if num_gpus is not None:
            ids = ids[:num_gpus] if len(ids) >= num_gpus else [str(i) for i in range(num_gpus)]
        total: dict[str, float] = {
            "CPU": float(num_cpus if num_cpus is not None else (os.cpu_count() or 1)),
            "memory": float(memory if memory is not None else psutil.virtual_memory().total),
        }
        total.update({k: float(v) for k, v in (resources or {}).items()})
        super().__init__(ResourcePool(total, ids))
        self._listener: UnixListener | None = None
        self._authkey = secrets.token_bytes(32)
        self._tmpdir: str | None = None
        self._reaper: Reaper | None = None
        self._relays: list[threading.Thread] = []

    def setup(self, sys_path: list[str] | None = None) -> None:
        """Open the socket workers connect to and start the reaper; a run calls this.

        Args:
            sys_path: The driver's ``sys.path`` for the workers (default: this process's).
        """
        super().setup(sys_path)
        if self._listener is not None:
            return
        clean_stale_socket_dirs()
        self._tmpdir = tempfile.mkdtemp(prefix=f"tunelab-{os.getpid()}-")
        try:
            self._listener = UnixListener(os.path.join(self._tmpdir, _SOCKET_NAME), self._authkey)
            self._reaper = Reaper([self._tmpdir])
        except BaseException:
            self.shutdown(force=True)
            raise

    def prestart(self, count: int) -> None:
        """Start worker processes for up to ``count`` trials that need no GPU now (a new
        worker takes 0.1-0.2 s to import tunelab); fewer when the executor has fewer CPUs
        or keeps fewer idle workers, none beyond those already idle.

        Args:
            count: How many workers the first trials will use at most.
        """
        count = min(count, self._max_idle, max(1, int(self._pool.total.get("CPU", 1))))
        idle = sum(1 for w in self._workers.values() if w.trial_id is None and not w.gpu_key)
        for _ in range(count - idle):
            self._new_worker(())

    def _spawn(self, worker: WorkerHandle) -> None:
        if self._listener is None:
            self.setup()
        assert self._listener is not None
        worker.spawn_env = dict(os.environ)
        env = dict(worker.spawn_env)
        env["CUDA_VISIBLE_DEVICES"] = ",".join(worker.gpu_key)
        env.setdefault("PYTHONUNBUFFERED", "1")
        # On a terminal, worker output goes through this process's sys.stdout, so that the
        # in-place status redraw never paints over what trainables print.
        relay = sys.stdout.isatty()
        process = subprocess.Popen(
            [sys.executable, "-c", _WORKER_CODE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE if relay else None,
            stderr=subprocess.STDOUT if relay else None,
            env=env,
            close_fds=True,
            start_new_session=True,  # its own process group, shared by what trials start
        )
        worker.process = process
        if self._reaper is not None:
            self._reaper.register(process.pid)
        if relay and process.stdout is not None:
            thread = threading.Thread(
                target=_relay_output, args=(process.stdout,), name="tunelab-relay", daemon=True
            )
            thread.start()
            self._relays = [t for t in self._relays if t.is_alive()]
            self._relays.append(thread)
        assert process.stdin is not None
        line = f"AF_UNIX {self._listener.address} {self._authkey.hex()} {worker.token}\n"
        try:
            process.stdin.write(line.encode())
            process.stdin.close()
        except OSError:  # it died at once: poll() reports the trial lost
            pass

    def _extra_waitables(self) -> Iterable[Any]:
        return (self._listener,) if self._listener is not None else ()

    def _on_waitable_ready(self, obj: Any) -> None:
        for item in obj.drain():
            if item[0] != "conn":
                continue
            _, conn, hello = item
            worker = self._by_token.get(hello.token)
            if worker is None or worker.conn is not None:
                conn.close()  # a worker given up meanwhile, or a second connection
                continue
            self._register_conn(conn, worker)
            self._on_hello(worker, hello)

    def _check_unready(self, events: list[Event]) -> None:
        for worker in list(self._workers.values()):
            if worker.ready or worker.process is None:
                continue
            if worker.process.poll() is not None:
                trial_id = worker.trial_id
                message = self._exit_message(worker)
                self._forget(worker)
                self._release_group(worker)
                if trial_id is not None:
                    self._finish_trial(trial_id)
                    events.append(Lost(trial_id, message + " before it connected"))

    def _on_lost(self, worker: WorkerHandle, events: list[Event], why: str | None = None) -> None:
        super()._on_lost(worker, events, why)
        self._release_group(worker)

    def _exit_message(self, worker: WorkerHandle) -> str:
        process = worker.process
        code = None
        if process is not None:
            try:
                code = process.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                self._kill(worker)
                code = process.wait()
        if code is None:
            return "the worker process stopped unexpectedly"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the worker process (pid {process.pid}) was killed by {name}"
        return f"the worker process (pid {process.pid}) exited with code {code}"

    def _kill(self, worker: WorkerHandle) -> None:
        """SIGKILL the worker, its process group and every process below it."""
        process = worker.process
        if process is None or process.poll() is not None:
            return
        below = _descendants(process.pid)
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            process.kill()
        for pid in below:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def _force_end_worker(self, worker: WorkerHandle) -> str:
        process = worker.process
        if process is None:
            return "it had no worker process yet"
        self._kill(worker)
        self._reap(worker)
        return f"its worker process (pid {process.pid}) was killed"

    def _reap(self, worker: WorkerHandle) -> None:
        process = worker.process
        if process is None:
            return
        if not _wait_exit(process, 3.0):
            self._kill(worker)
            process.wait()
        self._release_group(worker)

    def _release_group(self, worker: WorkerHandle) -> None:
        """Once the worker is reaped: end what its trials left in its process group, and
        take the group off the reaper's list."""
        process = worker.process
        if process is None or process.returncode is None or worker.cleaned_up:
            return
        worker.cleaned_up = True
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        if self._reaper is not None:
            self._reaper.forget(process.pid)

    def shutdown(self, force: bool = False) -> None:
        """End every worker, close the socket and remove its directory; a run calls this.

        Args:
            force: True kills the workers at once; False asks them to exit and waits.
        """
        super().shutdown(force)
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        reaper, self._reaper = self._reaper, None
        if reaper is not None:
            reaper.close()
        relays, self._relays = self._relays, []
        for thread in relays:
            thread.join(timeout=2.0)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def describe(self) -> str:
        """``"local worker processes"``."""
        return "local worker processes"


def _wait_exit(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``process`` to exit and reap it; False if it is
    still running.

    Wakes up as soon as it exits: on Linux through a pidfd (``Popen.wait(timeout)`` polls
    with sleeps of up to 50 ms, which every ``fit()`` paid at its end for each worker).
    """
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None and process.returncode is None:
        try:
            fd = pidfd_open(process.pid)
        except OSError:  # exited and reaped already, or pidfds unsupported: Popen decides
            pass
        else:
            try:
                poller = select.poll()
                poller.register(fd, select.POLLIN)
                if not poller.poll(timeout * 1000):
                    return False
            finally:
                os.close(fd)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return True


def _descendants(pid: int) -> list[int]:
    """Pids of every process below ``pid`` (empty when it cannot be read)."""
    try:
        import psutil

        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except Exception:  # gone already, or no permission
        return []


def _driver_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        import psutil

        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except Exception:  # NoSuchProcess; AccessDenied: it exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True


def clean_stale_socket_dirs(root: str | None = None) -> list[str]:
    """Remove socket directories (``tunelab-<pid>-<random>`` holding at most the socket)
    of this user whose driver process is dead; returns their paths."""
    root = root or tempfile.gettempdir()
    removed: list[str] = []
    try:
        names = os.listdir(root)
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for name in names:
        match = _SOCKET_DIR.fullmatch(name)
        if match is None or _driver_alive(int(match.group(1))):
            continue
        path = os.path.join(root, name)
        try:
            info = os.lstat(path)
            if not os.path.isdir(path) or os.path.islink(path):
                continue
            if uid is not None and info.st_uid != uid:
                continue
            if set(os.listdir(path)) - {_SOCKET_NAME}:
                continue  # not ours: it holds something else
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed
