"""An executor that runs workers as threads of this process: the test double.

Same worker loop and protocol as :class:`LocalExecutor`, over ``multiprocessing.Pipe``
pairs instead of sockets; no processes are started, so a whole experiment runs in
milliseconds. GPUs are bookkeeping only (``CUDA_VISIBLE_DEVICES`` is not touched).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from multiprocessing import Pipe
from typing import Any

from tunelab.execution import _protocol as P
from tunelab.execution._executor import ConnectionExecutor, WorkerHandle
from tunelab.execution._launcher import Launcher
from tunelab.execution._placement import PoolPlacement
from tunelab.execution._protocol import TrialTask
from tunelab.execution._resource_pool import ResourcePool

__all__ = ["InProcessExecutor", "ThreadLauncher"]


class InProcessExecutor(ConnectionExecutor):
    """Run trials in threads of this process: for tests, debugging and tiny trials.

    The same worker loop and messages as :class:`LocalExecutor`, over in-memory pipes; no
    process is started, so a run starts in milliseconds and a debugger or a breakpoint in
    the trainable works. Trials share the process: they do not change the working
    directory (``chdir_to_trial_dir`` and ``log_to_file`` are left out), GPUs are
    bookkeeping only (``CUDA_VISIBLE_DEVICES`` is not touched), and a trial that never
    reports again after a stop request can only be abandoned, not killed.
    ``tunelab.init(local_mode=True)`` makes it the default executor.

    Args:
        num_cpus: Total CPUs to hand out (default 2, whatever the machine has).
        num_gpus: Total GPUs, ids ``"0"``, ``"1"``, ... (bookkeeping only).
        resources: Custom resource totals, e.g. ``{"accelerator": 2}``.
        memory: Total memory in bytes that trials may request (default 1 TiB, so that
            memory never limits).
    """

    def __init__(
        self,
        num_cpus: float = 2,
        num_gpus: int = 0,
        resources: dict[str, float] | None = None,
        memory: float = 2**40,
    ) -> None:
        total = {"CPU": float(num_cpus), "memory": float(memory)}
        total.update({k: float(v) for k, v in (resources or {}).items()})
        pool = ResourcePool(total, [str(i) for i in range(num_gpus)])
        super().__init__(
            PoolPlacement(pool), ThreadLauncher(), max_idle_workers=max(2, int(num_cpus))
        )


class ThreadLauncher(Launcher):
    """Workers as daemon threads of this process, each with a ``multiprocessing.Pipe``."""

    def __init__(self) -> None:
        self._threads: dict[str, threading.Thread] = {}

    def launch(self, worker: WorkerHandle) -> Any:
        from tunelab.execution._worker import Worker

        ours, theirs = Pipe()
        hello = P.hello_message(worker.token, os.getpid(), "localhost", "127.0.0.1")

        def serve() -> None:
            try:
                Worker(theirs, in_process=True).serve(hello)
            finally:  # at once, not when the garbage collector gets to it
                theirs.close()

        thread = threading.Thread(
            target=serve, name=f"tunelab-worker-{worker.worker_id}", daemon=True
        )
        thread.start()
        self._threads[worker.token] = thread
        return ours

    def adapt(self, task: TrialTask, worker: WorkerHandle) -> TrialTask:
        # threads share the process's working directory and file descriptors
        if task.chdir or task.log_to_file is not None:
            task = dataclasses.replace(task, chdir=False, log_to_file=None)
        return task

    def lost(self, worker: WorkerHandle, why: str | None) -> str:
        self._threads.pop(worker.token, None)  # ended, or abandoned
        return why or "the worker stopped unexpectedly"

    def kill(self, worker: WorkerHandle) -> None:
        """A thread cannot be killed: its connection, closed by the executor, ends it at
        its next report."""

    def force_end(self, worker: WorkerHandle) -> str:
        self._threads.pop(worker.token, None)  # abandoned
        return (
            "its worker thread cannot be killed and was abandoned (its connection is "
            "closed: it ends at its next report, if ever)"
        )

    def reap(self, worker: WorkerHandle) -> None:
        thread = self._threads.pop(worker.token, None)
        if thread is not None:
            thread.join(timeout=3.0)

    def describe(self) -> str:
        return "in-process worker threads"
