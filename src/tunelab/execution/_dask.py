"""Run trials on a Dask cluster (``pip install "tunelab[dask]"``).

How it works
------------
* **Placement.** tunelab keeps the books per Dask worker (see ``_dask_nodes``: totals come
  from the workers' declared resources, refreshed from ``Client.scheduler_info()`` every
  ``refresh_interval_s``, so workers that join or leave are picked up). A trial starts only
  when one worker has room for its whole request; it then runs in a Dask task pinned to that
  worker (``workers=[address]``, ``allow_other_workers=False``, ``pure=False``) with
  ``resources=`` mapped from the request. Pinning keeps tunelab's books and Dask's in step:
  a trial the controller shows as running is not waiting in a Dask queue, and it knows which
  of that worker's GPUs the trial got (``CUDA_VISIBLE_DEVICES`` is set in the task).
  A request that no worker can ever host is reported by :meth:`DaskExecutor.why_never_fits`
  (Dask itself would leave such a task pending without a word).
* **One task, several trials.** The Dask task runs the ordinary worker loop and stays for the
  next trial with the same resource request (it holds its resources meanwhile, as an idle
  local worker process does); it is retired when another request needs the room, and at the
  end. This keeps the per-trial cost near the local executor's.
* **Transport.** Each task connects back to a TCP listener of the controller
  (``listen_host``) and authenticates with a random 32-byte key (HMAC challenge in both
  directions) before any message is unpickled; results stream over that connection in
  batches exactly as with local workers. The key reaches the task as a task argument, so
  it is as private as Dask's own communication (use Dask's TLS on untrusted networks).
* **Code and large objects.** A trainable's blob (with its ``with_parameters`` and
  ``pin_in_object_store`` objects) goes to each Dask worker process once: the process
  caches loaded trainables, and its hello tells the controller which it has.
* **Failures.** A Dask worker that dies drops its connection: the trial is reported lost
  at once and retried from its latest checkpoint under ``max_failures``; its Dask future
  is cancelled, so nothing stays pending. A task that fails before connecting (for example
  ``KilledWorker``, or a controller address the worker cannot reach) is noticed through its
  future; a worker that leaves the cluster is noticed at the next refresh. tunelab does not
  rely on ``distributed.scheduler.allowed-failures``: pinned tasks are never re-run on
  another worker, whatever its value.
* **Trials that do not answer a stop.** A trial whose trainable never reports again (blocked
  in C code, sleeping) is force-ended by :meth:`DaskExecutor.kill_trial` after the grace
  period: its connection is closed and its Dask future cancelled; when its Dask worker has
  one thread (the task owns the process) and a nanny, that worker is restarted
  (``Client.restart_workers``, in the background) so the thread really ends. On a worker
  with several threads, or without a nanny, a Python thread cannot be killed: it is
  abandoned (it ends at its next report, if ever) and Dask counts its resources as used
  until then, so a trial placed there may wait in Dask's queue.
* **Process-wide settings.** Dask runs tasks in threads. On a worker with one thread the task
  owns the process, so ``chdir_to_trial_dir`` and ``log_to_file`` work as with local
  workers; on workers with several threads they are left out (they would affect the other
  threads). ``CUDA_VISIBLE_DEVICES`` is managed only on workers that declare GPUs (give GPU
  workers one thread: with several, concurrent trials share one process environment).
* **Shared clusters.** tunelab only sees its own tasks: a trial placed on a worker that is
  busy with other clients' tasks waits in Dask's queue (shown as running, location
  "starting") until that worker has room.
* **Storage.** Workers write trial directories themselves: on a multi-machine cluster, put
  ``storage_path`` on a file system every worker mounts at the same path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterable
from typing import Any, cast

from tunelab._errors import require
from tunelab._resources import PlacementGroupFactory
from tunelab.execution import _protocol as P
from tunelab.execution._dask_nodes import ClusterView, DaskNode, never_fits_message
from tunelab.execution._dask_options import check_listen, check_number, check_target, user_path
from tunelab.execution._executor import ConnectionExecutor, WorkerHandle
from tunelab.execution._protocol import Event, TrialTask
from tunelab.execution._resource_pool import Allocation, ResourcePool
from tunelab.execution._tcp_listener import TcpListener, default_listen_host

__all__ = ["DaskExecutor"]

logger = logging.getLogger("tunelab")


class _DaskHandle(WorkerHandle):
    """One Dask task serving trials on one Dask worker."""

    def __init__(
        self, token: str, node: DaskNode, key: tuple[Any, ...], allocation: Allocation
    ) -> None:
        super().__init__(allocation.gpu_ids, token)
        self.node = node
        self.key = key
        self.allocation: Allocation | None = allocation
        self.future: Any = None
        self.lost_reason: str | None = None


def _request_key(request: PlacementGroupFactory) -> tuple[Any, ...]:
    return tuple(sorted(request.required_resources.items()))


class DaskExecutor(ConnectionExecutor):
    """Run trials on the workers of a Dask cluster (``pip install "tunelab[dask]"``).

    The experiment loop stays in this process (the driver); each running trial is a Dask
    task pinned to one worker that has room for the trial's whole resource request. The
    task runs the same worker loop as a local worker process and streams results back over
    a TCP connection to this process, authenticated with a random key per experiment. A
    task stays for the next trial with the same request, so a trial costs about what it
    costs locally.

    Resources: a worker offers what it declares (``dask worker --resources "GPU=1"``,
    ``LocalCluster(resources=...)``); where it declares no ``CPU``, its thread count stands
    in, and a worker never runs more tunelab trials at once than it has threads. Workers
    that join or leave are picked up every ``refresh_interval_s``. A request that no worker
    can ever host fails before the run starts.

    Failures: a worker that dies (or leaves the cluster) loses its trial, which is retried
    from its latest checkpoint under ``max_failures`` like any failed trial; its Dask task
    is cancelled, never re-run elsewhere by Dask.

    Give Dask workers one thread each (``--nthreads 1``) when trials set process-wide
    state: on such a worker a task owns the process, so ``chdir_to_trial_dir``,
    ``log_to_file`` and per-trial ``CUDA_VISIBLE_DEVICES`` work, and a trial that never
    answers a stop can be ended by restarting the worker (with a nanny). Workers must have
    tunelab and the trainable's imports installed, and see ``storage_path`` at the same path
    (shared file system) unless it is a URI such as ``s3://bucket/prefix``.

    The same executor is what ``tune.run(..., dask_client=...)``,
    ``TuneConfig(dask_client=...)`` and ``tunelab.init(address=...)`` build.

    Example::

        from distributed import Client
        from tunelab.execution.dask import DaskExecutor

        client = Client("tcp://scheduler:8786")
        tune.run(train, config=..., executor=DaskExecutor(client))

    Args:
        client_or_address: A synchronous ``distributed.Client`` (left open at the end), a
            Dask cluster object (``LocalCluster``, ``SpecCluster``...) or a scheduler
            address such as ``"tcp://host:8786"``; for the last two the executor opens a
            client of its own and closes it at the end of the run.
        listen_host: The address Dask workers use to reach this process (default: the
            address of this host on the route to the scheduler; ``127.0.0.1`` when the
            scheduler is on this machine). Set it when workers cannot reach the default
            (a host with several networks, NAT).
        listen_port: The TCP port to listen on; 0 (default) picks a free one. Set it to a
            port your firewall opens.
        refresh_interval_s: Seconds between refreshes of the worker list and the workers'
            resources (> 0).
        connect_timeout_s: Seconds a task may take to connect back to this process before
            its trial fails (> 0).
        worker_wait_s: Seconds to wait for a first worker when the cluster has none yet
            (>= 0; 0 does not wait).

    Raises:
        ImportError: ``distributed`` is not installed (names ``tunelab[dask]``).
        ValueError: An empty address, an asynchronous client, or a number out of range.
        TypeError: ``client_or_address`` or a number has the wrong type.
    """

    capacity_may_grow = True  # workers join and leave the cluster

    def __init__(
        self,
        client_or_address: Any,
        *,
        listen_host: str | None = None,
        listen_port: int = 0,
        refresh_interval_s: float = 1.0,
        connect_timeout_s: float = 30.0,
        worker_wait_s: float = 10.0,
    ) -> None:
        check_target(
            require("distributed", extra="dask", feature="DaskExecutor"), client_or_address
        )
        check_listen(listen_host, listen_port)
        self.client_or_address = client_or_address
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.refresh_interval_s = check_number(
            "refresh_interval_s", refresh_interval_s, low=0, strict=True
        )
        self.connect_timeout_s = check_number(
            "connect_timeout_s", connect_timeout_s, low=0, strict=True
        )
        self.worker_wait_s = check_number("worker_wait_s", worker_wait_s, low=0)
        super().__init__(ResourcePool({}))
        self._client: Any = None
        self._own_client = False
        self._scheduler = ""
        self._view = ClusterView()
        self._next_refresh = 0.0
        self._waited = False
        self._authkey = secrets.token_bytes(32)
        self._listener: TcpListener | None = None
        self._qualified: dict[str, str] = {}
        self._draining: list[Any] = []
        self._restarts: list[threading.Thread] = []

    def __repr__(self) -> str:
        return (
            f"DaskExecutor({self.client_or_address!r}, listen_host={self.listen_host!r}, "
            f"listen_port={self.listen_port!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # pickles as its configuration: a client becomes its scheduler address
        target = self.client_or_address
        if not isinstance(target, str):
            target = str(getattr(target, "scheduler_address", "") or target.scheduler.address)
        return (
            functools.partial(
                DaskExecutor,
                listen_host=self.listen_host,
                listen_port=self.listen_port,
                refresh_interval_s=self.refresh_interval_s,
                connect_timeout_s=self.connect_timeout_s,
                worker_wait_s=self.worker_wait_s,
            ),
            (target,),
        )

    # -- the cluster ---------------------------------------------------------------------------
    def _connect(self) -> Any:
        """The client (connected on first use), with the workers refreshed when due."""
        client = self._client
        if client is None:
            distributed = require("distributed", extra="dask", feature="DaskExecutor")
            target = self.client_or_address
            if isinstance(target, distributed.Client):
                client = target
            else:
                client = distributed.Client(target, set_as_default=False)
                self._own_client = True
            self._client = client
            self._scheduler = str(client.scheduler.address)
        if time.monotonic() >= self._next_refresh:
            self._refresh(self._pending_events)  # losses reach the controller at next poll
        if not self._view.nodes and not self._waited and self.worker_wait_s > 0:
            self._waited = True  # once per experiment
            with contextlib.suppress(Exception):
                client.wait_for_workers(1, timeout=self.worker_wait_s)
            self._refresh(self._pending_events)
        return client

    def _refresh(self, events: list[Event]) -> None:
        """Re-read the workers; trials on workers that left are reported lost."""
        now = time.monotonic()
        self._next_refresh = now + self.refresh_interval_s
        try:
            workers = dict(self._client.scheduler_info().get("workers") or {})
        except Exception as exc:  # scheduler unreachable: keep what we know
            logger.warning("tunelab: could not read the Dask cluster's workers: %s", exc)
            return
        for node in self._view.update(workers, now):
            for token in list(node.tokens):
                handle = self._by_token.get(token)
                if handle is not None:
                    lost = cast(_DaskHandle, handle)
                    lost.lost_reason = f"the Dask worker {node.address} left the cluster"
                    self._on_lost(lost, events)

    def total_resources(self) -> dict[str, float]:
        """The resources of the workers the scheduler listed at the last refresh, summed."""
        return self._view.totals()

    def used_resources(self) -> dict[str, float]:
        """What this run's trials hold on the cluster now, summed over the workers."""
        used = {key: 0.0 for key in self.total_resources()}
        for handle in self._workers.values():
            allocation = cast(_DaskHandle, handle).allocation
            if handle.trial_id is not None and allocation is not None:
                for key, value in allocation.amounts.items():
                    used[key] = used.get(key, 0.0) + value
        return used

    def why_never_fits(self, request: PlacementGroupFactory) -> str | None:
        """None when some worker of the cluster could host ``request`` when idle, else why
        not (it names the workers and how they declare resources).

        Args:
            request: A trial's resource request.
        """
        self._connect()
        return never_fits_message(request, self._view.nodes.values(), self._scheduler)

    def describe(self) -> str:
        """``"Dask cluster at <scheduler address>"``."""
        return f"Dask cluster at {self._scheduler or self.client_or_address}"

    # -- setup and the listener ----------------------------------------------------------------
    def setup(self, sys_path: list[str] | None = None) -> None:
        """Connect to the scheduler and open the TCP listener; a run calls this.

        Args:
            sys_path: The driver's ``sys.path``; only the user's own directories (outside
                the Python installation) are sent to the workers.
        """
        super().setup(sys_path)
        # the user's own directories only: the environment's paths would shadow the
        # packages of workers with another installation
        self._sys_path = [p for p in self._sys_path if user_path(p)]
        self._connect()
        if self._listener is None:
            self._authkey = secrets.token_bytes(32)  # a new key for every experiment
            host = self.listen_host or default_listen_host(self._scheduler)
            self._listener = TcpListener(host, self.listen_port, self._authkey)

    def _advertised(self) -> tuple[str, int]:
        """(host, port) the Dask tasks connect to."""
        assert self._listener is not None
        return self._listener.address

    def _extra_waitables(self) -> Iterable[Any]:
        return (self._listener,) if self._listener is not None else ()

    def _on_waitable_ready(self, obj: Any) -> None:
        for item in obj.drain():
            if item[0] == "conn":
                _, conn, hello = item
                handle = self._by_token.get(hello.token)
                if handle is None or handle.conn is not None:
                    conn.close()  # a task of a trial that was already given up
                    continue
                self._register_conn(conn, handle)
                self._on_hello(handle, hello)
            else:
                self._on_future_done(item[1])

    def _on_hello(self, worker: WorkerHandle, hello: P.Hello) -> None:
        worker.known_keys = set(hello.cached)
        super()._on_hello(worker, hello)

    def _on_future_done(self, token: str) -> None:
        handle = self._by_token.get(token)
        if handle is None or handle.conn is not None:
            return  # given up already, or its connection reports the end itself
        self._on_lost(handle, self._pending_events)

    # -- starting trials -----------------------------------------------------------------------
    def register_trainable(self, key: str, blob: bytes) -> None:
        """Keep a trainable's pickled form to send to each Dask worker process once.

        Args:
            key: The trainable's key in this run.
            blob: The pickled trainable (with its ``with_parameters`` objects).
        """
        # Dask worker processes outlive experiments: names must not collide across runs
        qualified = f"{key}@{secrets.token_hex(6)}"
        self._qualified[key] = qualified
        super().register_trainable(qualified, blob)

    def try_start(self, trial_id: str, request: PlacementGroupFactory, task: TrialTask) -> bool:
        """Start the trial on the least loaded worker that has room for ``request`` (reusing
        an idle task with the same request when there is one).

        Args:
            trial_id: The trial's id.
            request: Its resource request.
            task: What the worker needs to run it.

        Returns:
            False when no worker has room now.
        """
        self._connect()
        if self._listener is None:
            self.setup()
        key = _request_key(request)
        handle = self._take_idle(key)
        if handle is None:
            handle = self._new_handle(request, key)
            if handle is None:
                return False
        handle.trial_id = trial_id
        self._by_trial[trial_id] = handle
        task = dataclasses.replace(
            task,
            trainable_key=self._qualified.get(task.trainable_key, task.trainable_key),
            gpu_ids=tuple(handle.gpu_key),
        )
        if handle.ready:
            self._send_run(handle, task)
        else:
            handle.queued = task
        return True

    def _take_idle(self, key: tuple[Any, ...]) -> _DaskHandle | None:
        now = time.monotonic()
        best: _DaskHandle | None = None
        for worker in self._workers.values():
            handle = cast(_DaskHandle, worker)
            if handle.trial_id is None and handle.key == key and handle.node.available(now):
                if handle.ready:
                    return handle
                best = best or handle
        return best

    def _new_handle(
        self, request: PlacementGroupFactory, key: tuple[Any, ...]
    ) -> _DaskHandle | None:
        need = request.required_resources
        placed = self._view.place(need, time.monotonic())
        if placed is None:
            for worker in list(self._workers.values()):
                handle = cast(_DaskHandle, worker)
                if handle.trial_id is not None or handle.node.why_never_fits(need) is not None:
                    continue
                self._retire(handle)
                placed = self._view.place(need, time.monotonic())
                if placed is not None:
                    break
        if placed is None:
            return None
        node, allocation = placed
        handle = _DaskHandle(secrets.token_hex(8), node, key, allocation)
        self._workers[handle.worker_id] = handle
        self._by_token[handle.token] = handle
        node.tokens.add(handle.token)
        try:
            self._spawn(handle)
        except Exception:
            self._forget(handle)
            raise
        return handle

    def _spawn(self, worker: WorkerHandle) -> None:
        from tunelab.execution._dask_worker import serve_trials

        handle = cast(_DaskHandle, worker)
        node = handle.node
        need = dict(handle.key)
        gpu_ids = list(handle.gpu_key) if node.has_gpus else None
        if gpu_ids is not None and not gpu_ids and not node.exclusive:
            gpu_ids = None  # other threads may be using GPUs: leave the environment alone
        host, port = self._advertised()
        future = self._client.submit(
            serve_trials,
            host,
            port,
            self._authkey,
            handle.token,
            gpu_ids,
            node.exclusive,
            self.connect_timeout_s,
            key=f"tunelab-worker-{handle.token}",
            pure=False,
            workers=[node.address],
            allow_other_workers=False,
            resources=node.dask_resources(need),
            retries=0,
        )
        handle.future = future
        future.add_done_callback(functools.partial(self._future_callback, handle.token))

    def _send_run(self, worker: WorkerHandle, task: TrialTask) -> None:
        handle = cast(_DaskHandle, worker)
        if not handle.node.exclusive or handle.pid == os.getpid():
            # other threads share the process (a threaded worker, or processes=False)
            task = dataclasses.replace(task, chdir=False, log_to_file=None)
        try:
            super()._send_run(worker, task)
        except OSError:
            pass  # the connection broke: poll() reports the trial lost

    def _future_callback(self, token: str, future: Any) -> None:
        listener = self._listener
        if listener is not None:
            listener.notify(("done", token))

    # -- polling and losses --------------------------------------------------------------------
    def poll(self, timeout: float) -> list[Event]:
        """Wait up to ``timeout`` seconds for events, including trials lost with a worker.

        Args:
            timeout: The longest wait in seconds.
        """
        events = super().poll(timeout)
        if self._pending_events:
            events.extend(self._pending_events)
            self._pending_events = []
        return events

    def _check_unready(self, events: list[Event]) -> None:
        if self._client is not None and time.monotonic() >= self._next_refresh:
            self._refresh(events)

    def _on_lost(self, worker: WorkerHandle, events: list[Event], why: str | None = None) -> None:
        handle = cast(_DaskHandle, worker)
        now = time.monotonic()
        # the scheduler may not know yet that the worker died: place nothing there until a
        # refresh after this moment still lists it
        handle.node.suspect_until = now + 1.0
        self._next_refresh = min(self._next_refresh, handle.node.suspect_until)
        self._cancel(handle)  # a pinned task whose worker died would wait forever
        super()._on_lost(worker, events, why)

    def _exit_message(self, worker: WorkerHandle) -> str:
        handle = cast(_DaskHandle, worker)
        if handle.lost_reason:
            return handle.lost_reason
        where = f"Dask worker {handle.node.address}"
        if handle.pid:
            where += f" (pid {handle.pid})"
        future = handle.future
        if future is not None and future.status == "error":
            with contextlib.suppress(Exception):
                exc = future.exception(timeout=2.0)  # done already: no real wait
                text = f"the Dask task serving the trial on {where} failed: {exc!r}"
                if isinstance(exc, OSError) and handle.conn is None:
                    host, port = self._advertised()
                    text += (
                        f" (it could not connect to the controller at {host}:{port}; set "
                        "DaskExecutor(listen_host=...) to an address the workers can reach)"
                    )
                return text
        if future is not None and future.status == "finished" and handle.conn is None:
            return f"the Dask task on {where} ended without connecting to the controller"
        return (
            f"the {where} running the trial stopped unexpectedly (its connection to the "
            "controller closed: the worker process died or was killed)"
        )

    def _forget(self, worker: WorkerHandle) -> None:
        handle = cast(_DaskHandle, worker)
        super()._forget(worker)
        handle.node.tokens.discard(handle.token)
        if handle.allocation is not None:
            handle.node.pool.release(handle.allocation)
            handle.allocation = None
        if handle.future is not None and not handle.future.done():
            self._draining = [f for f in self._draining if not f.done()]
            self._draining.append(handle.future)
        handle.future = None

    def _retire(self, worker: WorkerHandle) -> None:
        if not worker.ready:
            self._cancel(cast(_DaskHandle, worker))
        super()._retire(worker)

    def _cancel(self, handle: _DaskHandle) -> None:
        future = handle.future
        if future is None or future.done() or self._client is None:
            return
        try:
            self._client.cancel([future])
        except Exception as exc:
            logger.debug("tunelab: cancelling Dask task %s failed: %s", future.key, exc)

    def _kill(self, worker: WorkerHandle) -> None:
        handle = cast(_DaskHandle, worker)
        if handle.conn is not None:
            with contextlib.suppress(OSError):
                handle.conn.close()
        self._cancel(handle)

    def _force_end_worker(self, worker: WorkerHandle) -> str:
        handle = cast(_DaskHandle, worker)
        address = handle.node.address
        where = f"the Dask worker {address}" + (f" (pid {handle.pid})" if handle.pid else "")
        self._cancel(handle)
        if handle.pid != os.getpid() and handle.node.exclusive and self._has_nanny(address):
            # a restarted worker comes back under another address: place nothing on this
            # one until a refresh shows what is there
            handle.node.suspect_until = time.monotonic() + 60.0
            self._next_refresh = min(self._next_refresh, time.monotonic())
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

    def _has_nanny(self, address: str) -> bool:
        try:
            info = self._client.scheduler_info().get("workers", {}).get(address, {})
        except Exception:
            return False
        return bool(info.get("nanny"))

    def _restart_worker(self, address: str) -> None:
        client = self._client
        if client is None:
            return
        try:
            client.restart_workers([address], timeout=30, raise_for_error=False)
        except Exception as exc:
            logger.warning("tunelab: restarting the Dask worker %s failed: %s", address, exc)

    # -- the end -------------------------------------------------------------------------------
    def shutdown(self, force: bool = False) -> None:
        """End this run's tasks and close the listener (and the client the executor
        opened itself); the Dask workers keep running.

        Args:
            force: True cancels the tasks at once; False asks them to exit and waits up to
                5 seconds.
        """
        super().shutdown(force)
        restarts, self._restarts = self._restarts, []
        for thread in restarts:
            thread.join(timeout=30.0)
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        draining, self._draining = [f for f in self._draining if not f.done()], []
        client = self._client
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
        if client is not None and self._own_client:
            with contextlib.suppress(Exception):
                client.close()
            self._client = None
            self._own_client = False
        self._view.nodes.clear()
        self._next_refresh = 0.0
        self._waited = False
        self._blobs.clear()
        self._qualified.clear()
