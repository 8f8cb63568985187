"""The default executor: worker processes on this machine.

Each worker is a fresh Python process (``python -c "...worker.main()"``) that connects back
over a Unix socket authenticated with a random key per experiment; no unauthenticated data
is ever unpickled. A worker serves many trials one after another; a GPU trial runs in a
worker started with ``CUDA_VISIBLE_DEVICES`` naming exactly its GPUs (empty for CPU trials).
"""

from __future__ import annotations

import os
import queue
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable
from multiprocessing.connection import Listener
from typing import Any

from tunelab.execution._executor import ConnectionExecutor, WorkerHandle
from tunelab.execution._resource_pool import ResourcePool, detect_gpus

__all__ = ["LocalExecutor"]

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
    """Run trials in worker processes on this machine.

    ``num_cpus`` (default: all cores), ``num_gpus`` (default: detected), ``memory`` in bytes
    (default: physical memory), ``resources``: custom resources, e.g. ``{"accelerator": 2}``.
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
        self._listener: Listener | None = None
        self._authkey = secrets.token_bytes(32)
        self._accepted: queue.Queue[Any] = queue.Queue()
        self._wake_r, self._wake_w = -1, -1
        self._tmpdir: str | None = None

    def setup(self, sys_path: list[str] | None = None) -> None:
        super().setup(sys_path)
        if self._listener is not None:
            return
        self._tmpdir = tempfile.mkdtemp(prefix="tunelab-")
        address = os.path.join(self._tmpdir, "controller.sock")
        self._listener = Listener(address, family="AF_UNIX", authkey=self._authkey)
        self._wake_r, self._wake_w = os.pipe()
        threading.Thread(target=self._accept_loop, name="tunelab-accept", daemon=True).start()

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while True:
            try:
                conn = listener.accept()
            except Exception:  # closed listener, or a peer that failed authentication
                if self._listener is None:
                    return
                continue
            self._accepted.put(conn)
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                return

    def _spawn(self, worker: WorkerHandle) -> None:
        if self._listener is None:
            self.setup()
        assert self._listener is not None
        env = dict(os.environ)
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
        )
        if relay and process.stdout is not None:
            threading.Thread(
                target=_relay_output, args=(process.stdout,), name="tunelab-relay", daemon=True
            ).start()
        assert process.stdin is not None
        line = f"AF_UNIX {self._listener.address} {self._authkey.hex()} {worker.token}\n"
        process.stdin.write(line.encode())
        process.stdin.close()
        worker.process = process

    def _extra_waitables(self) -> Iterable[Any]:
        return (self._wake_r,) if self._wake_r >= 0 else ()

    def _on_waitable_ready(self, obj: Any) -> None:
        os.read(self._wake_r, 4096)
        while True:
            try:
                conn = self._accepted.get_nowait()
            except queue.Empty:
                return
            try:
                message = __import__("pickle").loads(conn.recv_bytes())
            except (EOFError, OSError):
                conn.close()
                continue
            worker = self._by_token.get(message[1]) if message[0] == "hello" else None
            if worker is None:
                conn.close()
                continue
            self._register_conn(conn, worker)
            self._on_hello(worker, message)

    def _check_unready(self, events: list[tuple[Any, ...]]) -> None:
        for worker in list(self._workers.values()):
            if worker.ready or worker.process is None:
                continue
            if worker.process.poll() is not None:
                trial_id = worker.trial_id
                message = self._exit_message(worker)
                self._forget(worker)
                if trial_id is not None:
                    self._finish_trial(trial_id)
                    events.append(("lost", trial_id, message + " before it connected"))

    def _exit_message(self, worker: WorkerHandle) -> str:
        process = worker.process
        code = None
        if process is not None:
            try:
                code = process.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                process.kill()
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
        if worker.process is not None and worker.process.poll() is None:
            worker.process.kill()

    def _reap(self, worker: WorkerHandle) -> None:
        process = worker.process
        if process is None:
            return
        try:
            process.wait(timeout=3.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def shutdown(self, force: bool = False) -> None:
        super().shutdown(force)
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._wake_r = self._wake_w = -1
        if self._tmpdir is not None:
            import shutil

            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def describe(self) -> str:
        return "local worker processes"
