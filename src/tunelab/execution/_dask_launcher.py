"""Dask tasks as workers: each serves trials from a thread of a Dask worker and connects
back to the controller's TCP listener (see ``_dask.py`` for the whole design)."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import secrets
import threading
import time
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from tunelab.execution._dask_cluster import DaskCluster
from tunelab.execution._dask_nodes import DaskNode
from tunelab.execution._dask_options import user_path
from tunelab.execution._launcher import Arrival, Launcher
from tunelab.execution._protocol import TrialTask
from tunelab.execution._tcp_listener import TcpListener, default_listen_host

if TYPE_CHECKING:
    from tunelab.execution._executor import WorkerHandle

__all__ = ["DaskLauncher"]

logger = logging.getLogger("tunelab")


class DaskLauncher(Launcher):
    """Starts a pinned Dask task per worker (``distributed.Client.submit``), accepts its
    authenticated connection, notices tasks that end or workers that leave, and ends tasks
    (cancel; restart a one-thread worker with a nanny whose trial does not answer)."""

    def __init__(
        self,
        cluster: DaskCluster,
        listen_host: str | None,
        listen_port: int,
        connect_timeout_s: float,
    ) -> None:
        self._cluster = cluster
        self._listen_host = listen_host
        self._listen_port = listen_port
        self._connect_timeout_s = connect_timeout_s
        self._authkey = secrets.token_bytes(32)
        self._listener: TcpListener | None = None
        self._qualified: dict[str, str] = {}
        self._futures: dict[str, Any] = {}  # by token
        self._draining: list[Any] = []
        self._restarts: list[threading.Thread] = []

    # -- setup and connections ---------------------------------------------------------------
    def setup(self, sys_path: list[str]) -> list[str]:
        """Connect to the scheduler and open the TCP listener; returns the user's own
        directories of ``sys_path`` only (the environment's paths would shadow the packages
        of workers with another installation)."""
        self._cluster.connect()
        if self._listener is None:
            self._authkey = secrets.token_bytes(32)  # a new key for every experiment
            host = self._listen_host or default_listen_host(self._cluster.scheduler)
            self._listener = TcpListener(host, self._listen_port, self._authkey)
        return [p for p in sys_path if user_path(p)]

    def advertised(self) -> tuple[str, int]:
        """(host, port) the Dask tasks connect to."""
        assert self._listener is not None
        return self._listener.address

    def waitables(self) -> Sequence[Any]:
        return (self._listener,) if self._listener is not None else ()

    def arrivals(self, ready: Any) -> list[Arrival]:
        return list(ready.drain())

    def check(self, workers: Collection[WorkerHandle]) -> list[tuple[WorkerHandle, str | None]]:
        """Tasks on workers that left the cluster (the worker list is refreshed when due)."""
        cluster = self._cluster
        if cluster.client is not None and time.monotonic() >= cluster.next_refresh:
            cluster.refresh()
        if not cluster.gone:
            return []
        gone, cluster.gone = dict(cluster.gone), []
        return [(w, gone[w.token]) for w in workers if w.token in gone]

    # -- starting ------------------------------------------------------------------------------
    def trainable_key(self, key: str) -> str:
        # Dask worker processes outlive experiments: names must not collide across runs
        qualified = self._qualified.get(key)
        if qualified is None:
            qualified = self._qualified[key] = f"{key}@{secrets.token_hex(6)}"
        return qualified

    def launch(self, worker: WorkerHandle) -> None:
        from tunelab.execution._dask_worker import serve_trials

        if self._listener is None:
            self.setup([])
        placed = self._cluster.tasks[worker.token]
        node, need = placed.node, placed.allocation.amounts
        gpu_ids = list(worker.gpu_ids) if node.has_gpus else None
        if gpu_ids is not None and not gpu_ids and not node.exclusive:
            gpu_ids = None  # other threads may be using GPUs: leave the environment alone
        host, port = self.advertised()
        future = self._cluster.client.submit(
            serve_trials,
            host,
            port,
            self._authkey,
            worker.token,
            gpu_ids,
            node.exclusive,
            self._connect_timeout_s,
            key=f"tunelab-worker-{worker.token}",
            pure=False,
            workers=[node.address],
            allow_other_workers=False,
            resources=node.dask_resources(need),
            retries=0,
        )
        self._futures[worker.token] = future
        future.add_done_callback(functools.partial(self._future_done, worker.token))
        return None

    def _node(self, worker: WorkerHandle) -> DaskNode | None:
        placed = self._cluster.tasks.get(worker.token)
        return None if placed is None else placed.node

    def _future_done(self, token: str, future: Any) -> None:
        listener = self._listener
        if listener is not None:
            listener.notify(("done", token))

    def adapt(self, task: TrialTask, worker: WorkerHandle) -> TrialTask:
        node = self._node(worker)
        if node is None or not node.exclusive or worker.pid == os.getpid():
            # other threads share the process (a threaded worker, or processes=False)
            task = dataclasses.replace(task, chdir=False, log_to_file=None)
        return task

    # -- ending --------------------------------------------------------------------------------
    def lost(self, worker: WorkerHandle, why: str | None) -> str:
        node = self._node(worker)
        if node is not None:
            # the scheduler may not know yet that the worker died: place nothing there
            # until a refresh after this moment still lists it
            self._cluster.suspect(node, 1.0)
        self._cancel(worker)  # a pinned task whose worker died would wait forever
        return why or self._exit_message(worker)

    def _exit_message(self, worker: WorkerHandle) -> str:
        node = self._node(worker)
        where = f"Dask worker {node.address if node is not None else '?'}"
        if worker.pid:
            where += f" (pid {worker.pid})"
        future = self._futures.get(worker.token)
        if future is not None and future.status == "error":
            with contextlib.suppress(Exception):
                exc = future.exception(timeout=2.0)  # done already: no real wait
                text = f"the Dask task serving the trial on {where} failed: {exc!r}"
                if isinstance(exc, OSError) and worker.conn is None:
                    host, port = self.advertised()
                    text += (
                        f" (it could not connect to the controller at {host}:{port}; set "
                        "DaskExecutor(listen_host=...) to an address the workers can reach)"
                    )
                return text
        if future is not None and future.status == "finished" and worker.conn is None:
            return f"the Dask task on {where} ended without connecting to the controller"
        return (
            f"the {where} running the trial stopped unexpectedly (its connection to the "
            "controller closed: the worker process died or was killed)"
        )

    def retire(self, worker: WorkerHandle) -> None:
        if not worker.ready:  # it cannot be asked to exit: it never connected
            self._cancel(worker)

    def kill(self, worker: WorkerHandle) -> None:
        self._cancel(worker)

    def _cancel(self, worker: WorkerHandle) -> None:
        future = self._futures.get(worker.token)
        client = self._cluster.client
        if future is None or future.done() or client is None:
            return
        try:
            client.cancel([future])
        except Exception as exc:
            logger.debug("tunelab: cancelling Dask task %s failed: %s", future.key, exc)

    def force_end(self, worker: WorkerHandle) -> str:
        node = self._node(worker)
        address = node.address if node is not None else "?"
        where = f"the Dask worker {address}" + (f" (pid {worker.pid})" if worker.pid else "")
        self._cancel(worker)
        exclusive = node is not None and node.exclusive
        if worker.pid != os.getpid() and exclusive and self._cluster.has_nanny(address):
            # a restarted worker comes back under another address: place nothing on this
            # one until a refresh shows what is there
            assert node is not None
            node.suspect_until = time.monotonic() + 60.0
            self._cluster.next_refresh = min(self._cluster.next_refresh, time.monotonic())
            thread = threading.Thread(
                target=self._restart_worker, args=(address,), name="tunelab-dask-restart"
            )
            thread.start()
            self._restarts = [t for t in self._restarts if t.is_alive()]
            self._restarts.append(thread)
            return f"its Dask task was cancelled and {where} is being restarted"
        return (
            f"its Dask task was cancelled; its thread on {where} cannot be killed and was "
            "abandoned (it ends at its next report, if ever)"
        )

    def _restart_worker(self, address: str) -> None:
        client = self._cluster.client
        if client is None:
            return
        try:
            client.restart_workers([address], timeout=30, raise_for_error=False)
        except Exception as exc:
            logger.warning("tunelab: restarting the Dask worker %s failed: %s", address, exc)

    def forgotten(self, worker: WorkerHandle) -> None:
        future = self._futures.pop(worker.token, None)
        if future is not None and not future.done():
            self._draining = [f for f in self._draining if not f.done()]
            self._draining.append(future)

    def shutdown(self, force: bool) -> None:
        """Join restarts, close the listener, end (``force``: cancel) or wait up to 5 s for
        this run's tasks, and close the client if it was opened here."""
        restarts, self._restarts = self._restarts, []
        for thread in restarts:
            thread.join(timeout=30.0)
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        draining, self._draining = [f for f in self._draining if not f.done()], []
        client = self._cluster.client
        if client is not None and draining:
            try:
                if force:
                    client.cancel(draining)
                else:
                    # polled rather than distributed.wait, which waits through the process's
                    # default client: with another client (a scheduler address given to
                    # this executor) that client's futures are bound to another event loop
                    deadline = time.monotonic() + 5.0
                    while not all(f.done() for f in draining) and time.monotonic() < deadline:
                        time.sleep(0.02)
            except Exception as exc:
                logger.debug("tunelab: waiting for Dask tasks to end failed: %s", exc)
        self._cluster.close()
        self._qualified.clear()

    def describe(self) -> str:
        return f"Dask cluster at {self._cluster.scheduler or self._cluster.target}"
