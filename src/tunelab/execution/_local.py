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
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Collection, Sequence
from typing import Any

from tunelab.execution._executor import ConnectionExecutor, WorkerHandle
from tunelab.execution._launcher import Arrival, Launcher
from tunelab.execution._placement import PoolPlacement
from tunelab.execution._reaper import Reaper, wait_exit
from tunelab.execution._resource_pool import ResourcePool, detect_gpus
from tunelab.execution._tcp_listener import UnixListener

__all__ = ["LocalExecutor", "ProcessLauncher", "clean_stale_socket_dirs"]

#: name of a socket directory: the driver's pid, then mkdtemp's random part
_SOCKET_DIR = re.compile(r"tunelab-(\d+)-[a-z0-9_]{8}")
_SOCKET_NAME = "controller.sock"

_WORKER_CODE = "from tunelab.execution._worker import main; main()"


def _total_memory() -> float:
    """This machine's memory in bytes: from ``sysconf`` where there is one (psutil's import
    costs 10-15 ms, paid before the first worker could start), else psutil's figure."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        pages = size = -1
    if pages > 0 and size > 0:
        return float(pages * size)
    import psutil

    return float(psutil.virtual_memory().total)


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

    # the workers write the default loggers' result files themselves (a worker that
    # outlives its trial is killed, so a trial's files have one writer at a time)
    shares_trial_dirs = True

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
        ids = list(gpu_ids) if gpu_ids is not None else detect_gpus()
        if num_gpus is not None:
            ids = ids[:num_gpus] if len(ids) >= num_gpus else [str(i) for i in range(num_gpus)]
        total: dict[str, float] = {
            "CPU": float(num_cpus if num_cpus is not None else (os.cpu_count() or 1)),
            "memory": float(memory if memory is not None else _total_memory()),
        }
        total.update({k: float(v) for k, v in (resources or {}).items()})
        super().__init__(
            PoolPlacement(ResourcePool(total, ids)),
            ProcessLauncher(),
            max_idle_workers=max(2, int(total["CPU"])),
        )


class ProcessLauncher(Launcher):
    """Worker processes on this machine, connecting back over a Unix socket in a private
    directory; a reaper process ends them all if the driver dies (see the module's
    docstring)."""

    prestarts = True  # a new worker takes 0.1-0.2 s to import tunelab

    def __init__(self) -> None:
        self._listener: UnixListener | None = None
        self._authkey = secrets.token_bytes(32)
        self._tmpdir: str | None = None
        self._reaper: Reaper | None = None
        self._relays: list[threading.Thread] = []
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._spawn_env: dict[str, dict[str, str]] = {}

    def setup(self, sys_path: list[str]) -> list[str]:
        """Open the socket workers connect to and start the reaper."""
        if self._listener is None:
            root = _socket_root()
            clean_stale_socket_dirs(root)
            self._tmpdir = tempfile.mkdtemp(prefix=f"tunelab-{os.getpid()}-", dir=root)
            try:
                self._listener = UnixListener(
                    os.path.join(self._tmpdir, _SOCKET_NAME), self._authkey
                )
                self._reaper = Reaper([self._tmpdir])
            except BaseException:
                self.shutdown(force=True)
                raise
        return sys_path

    def launch(self, worker: WorkerHandle) -> None:
        if self._listener is None:
            self.setup([])
        assert self._listener is not None
        spawn_env = dict(os.environ)
        self._spawn_env[worker.token] = spawn_env
        env = dict(spawn_env)
        env["CUDA_VISIBLE_DEVICES"] = ",".join(worker.gpu_ids)
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
        self._processes[worker.token] = process
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
        return None

    def process(self, worker: WorkerHandle) -> subprocess.Popen[bytes] | None:
        """The worker's process (None once it was reaped)."""
        return self._processes.get(worker.token)

    def waitables(self) -> Sequence[Any]:
        return (self._listener,) if self._listener is not None else ()

    def arrivals(self, ready: Any) -> list[Arrival]:
        return [item for item in ready.drain() if item[0] == "conn"]

    def check(self, workers: Collection[WorkerHandle]) -> list[tuple[WorkerHandle, str | None]]:
        """Workers whose process exited before it connected."""
        lost: list[tuple[WorkerHandle, str | None]] = []
        for worker in workers:
            process = None if worker.ready else self._processes.get(worker.token)
            if process is not None and process.poll() is not None:
                lost.append((worker, self._exit_message(process) + " before it connected"))
        return lost

    def env_changes(self, worker: WorkerHandle) -> dict[str, str]:
        """The driver's environment variables set or changed since the worker was started
        (a worker started ahead of the run, ``Executor.prestart``, gets what the run's
        setup exported, such as ``TUNE_ORIG_WORKING_DIR`` or a tracker's API key); never
        ``CUDA_VISIBLE_DEVICES``, which is the worker's own."""
        started_with = self._spawn_env.pop(worker.token, {})
        return {
            k: v
            for k, v in os.environ.items()
            if started_with.get(k) != v and k != "CUDA_VISIBLE_DEVICES"
        }

    def lost(self, worker: WorkerHandle, why: str | None) -> str:
        if why is not None:
            self.kill(worker)
            self.reap(worker)  # and what its trials left in its process group
            return why
        message = self._exit_message(self._processes.get(worker.token))  # it has exited
        self._release_group(worker.token)
        return message

    def _exit_message(self, process: subprocess.Popen[bytes] | None) -> str:
        if process is None:
            return "the worker process stopped unexpectedly"
        try:
            code = process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            _kill_process(process)
            code = process.wait()
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the worker process (pid {process.pid}) was killed by {name}"
        return f"the worker process (pid {process.pid}) exited with code {code}"

    def kill(self, worker: WorkerHandle) -> None:
        """SIGKILL the worker, its process group and every process below it."""
        process = self._processes.get(worker.token)
        if process is not None:
            _kill_process(process)

    def force_end(self, worker: WorkerHandle) -> str:
        process = self._processes.get(worker.token)
        if process is None:
            return "it had no worker process yet"
        self.kill(worker)
        self.reap(worker)
        return f"its worker process (pid {process.pid}) was killed"

    def forgotten(self, worker: WorkerHandle) -> None:
        self._spawn_env.pop(worker.token, None)

    def reap(self, worker: WorkerHandle) -> None:
        process = self._processes.get(worker.token)
        if process is None:
            return
        if not wait_exit(process, 3.0):
            _kill_process(process)
            process.wait()
        self._release_group(worker.token)

    def _release_group(self, token: str) -> None:
        """Once the worker is reaped: end what its trials left in its process group, and
        take the group off the reaper's list."""
        process = self._processes.get(token)
        if process is None or process.returncode is None:
            return
        del self._processes[token]
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        if self._reaper is not None:
            self._reaper.forget(process.pid)

    def shutdown(self, force: bool) -> None:
        """Close the socket, end the reaper and remove the socket's directory."""
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
        return "local worker processes"


def _kill_process(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``process``, its process group and every process below it."""
    if process.poll() is not None:
        return
    below = _descendants(process.pid)
    with contextlib.suppress(OSError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        process.kill()
    for pid in below:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


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


#: the longest socket path every platform accepts (Linux: 107 bytes, macOS: 103)
_MAX_SOCKET_PATH = 100


def _socket_root() -> str:
    """Where the driver's socket directory goes: the temp directory, unless a socket path
    in it would be too long for the system (a deep ``TMPDIR``: ``AF_UNIX path too long``);
    then ``/tmp``."""
    root = tempfile.gettempdir()
    longest = len(os.path.join(root, f"tunelab-{os.getpid()}-xxxxxxxx", _SOCKET_NAME))
    if longest > _MAX_SOCKET_PATH and os.path.isdir("/tmp") and os.access("/tmp", os.W_OK):
        return "/tmp"
    return root


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
