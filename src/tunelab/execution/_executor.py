"""The executor interface, and the machinery shared by executors whose workers speak the
worker protocol over a ``multiprocessing.connection`` connection.

Contract of :class:`Executor` (the controller is its only caller, from one thread):

* ``setup(sys_path)`` once before the first trial; ``shutdown()`` once at the end.
* ``total_resources()`` / ``used_resources()``: dicts of resource name -> amount.
* ``why_never_fits(request)``: None, or a sentence saying why the request can never run.
* ``try_start(trial_id, request, task)``: reserve resources and start the trial (a
  :class:`~tunelab.execution._protocol.TrialTask`) on a worker; False (and nothing changed)
  when the resources are not free now.
* ``send_decision(trial_id, verdict)``, ``request_stop(trial_id)``,
  ``request_pause(trial_id)``: forwarded to the worker.
* ``poll(timeout)``: wait up to ``timeout`` seconds for events and return them in arrival
  order, typed (``execution/_protocol.py``): ``Results``, ``CheckpointSaved``, ``Ended``,
  ``Paused``, ``Failed``, ``Lost`` (the worker died). Resources of a trial are released
  before its ``Ended``/``Paused``/``Failed``/``Lost`` event is returned.
* ``location(trial_id)``: "ip:pid" of the worker running it.
* ``kill_trial(trial_id)`` (executors with ``can_kill_trials``): force-end a running trial
  that did not answer a stop or pause request in time; see :meth:`Executor.kill_trial`.

An executor never decides anything about trials: it places them and moves messages.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import itertools
import os
import sys
import threading
from collections.abc import Callable, Iterable
from multiprocessing.connection import wait
from typing import Any

from tunelab._resources import PlacementGroupFactory
from tunelab.execution import _protocol as P
from tunelab.execution._protocol import EndReason, Event, TrialTask, Verdict
from tunelab.execution._resource_pool import Allocation, ResourcePool

__all__ = ["ConnectionExecutor", "Executor", "WorkerHandle"]


class Executor(abc.ABC):
    """Where trials run: the interface between the experiment loop and the workers.

    An executor places trials on workers (processes, threads, Dask tasks), keeps the books
    of the resources they hold, and moves messages between the controller and the workers;
    it never decides anything about trials. Pick one and pass it as
    ``tune.run(..., executor=...)`` or ``TuneConfig(executor=...)``:

    * :class:`LocalExecutor` (the default): worker processes on this machine;
    * :class:`InProcessExecutor`: threads of the calling process (tests, debugging);
    * :class:`~tunelab.execution.dask.DaskExecutor`: tasks on a Dask cluster;
    * ``tunelab.testing.SimulatedExecutor``: scheduler decisions on synthetic learning
      curves, in simulated time.

    One executor object serves one run at a time: the run calls :meth:`setup` before its
    first trial and :meth:`shutdown` at its end; the run's controller is the only caller,
    from one thread. A new executor implements the abstract methods below (the messages
    are defined in ``tunelab/execution/_protocol.py``).
    """

    #: True when capacity can grow without a trial ending (workers joining a cluster); the
    #: controller then retries a start that failed for lack of resources once a second.
    #: False when only a trial's end (or a STOP/PAUSE) frees resources, and the controller
    #: waits for one (deterministic in simulated time).
    capacity_may_grow = False

    def setup(self, sys_path: list[str] | None = None) -> None:  # noqa: B027
        """Prepare to run trials; called once by a run before its first trial.

        Args:
            sys_path: The driver's ``sys.path``, for workers to import the user's modules;
                None means this process's ``sys.path``.
        """

    def prestart(self, count: int) -> None:  # noqa: B027
        """A hint from the front door, before the run's own setup: ``count`` trials that
        need no GPU will soon start. An executor whose workers take long to start (a new
        Python process importing tunelab) may start up to that many now, so that their
        start overlaps the driver's setup instead of following it; the default does
        nothing. Whatever is started is ended by :meth:`shutdown`, which the front door
        calls even when the run fails before its first trial.

        Args:
            count: How many workers the first trials will use at most (>= 1).
        """

    def clock(self) -> Callable[[], float] | None:
        """The run's clock when this executor keeps its own time (simulated time), else
        None: the run measures wall-clock time. The front door hands it to the controller,
        the stoppers and the ``time_budget_s`` stopper, so a simulated run never reads the
        wall clock to decide anything."""
        return None

    @abc.abstractmethod
    def total_resources(self) -> dict[str, float]:
        """Everything the executor can hand out.

        Returns:
            Resource name -> amount (``CPU``, ``GPU``, ``memory`` in bytes, custom names).
        """

    @abc.abstractmethod
    def used_resources(self) -> dict[str, float]:
        """What running trials hold now.

        Returns:
            Resource name -> amount in use.
        """

    @abc.abstractmethod
    def why_never_fits(self, request: PlacementGroupFactory) -> str | None:
        """Whether ``request`` could ever run here; the run checks every trial's request
        before it starts, so that a request too large fails at once instead of waiting.

        Args:
            request: A trial's resource request.

        Returns:
            None when the request fits the executor when idle, else a sentence saying what
            is missing.
        """

    @abc.abstractmethod
    def try_start(self, trial_id: str, request: PlacementGroupFactory, task: TrialTask) -> bool:
        """Reserve ``request`` and start the trial on a worker, if the resources are free.

        Args:
            trial_id: The trial's id.
            request: Its resource request.
            task: What the worker needs to run it (``execution/_protocol.TrialTask``).

        Returns:
            True when the trial was started; False (nothing changed) when the resources
            are not free now.
        """

    @abc.abstractmethod
    def send_decision(self, trial_id: str, verdict: Verdict) -> None:
        """Send the controller's verdict on the result the trial waits on.

        Args:
            trial_id: The trial's id.
            verdict: CONTINUE, STOP, PAUSE or SAVE.
        """

    @abc.abstractmethod
    def request_stop(self, trial_id: str) -> None:
        """Ask the running trial to stop at its next report.

        Args:
            trial_id: The trial's id.
        """

    def request_pause(self, trial_id: str) -> None:
        """Ask the running trial to end at its next report as paused (class trainables
        save first). Executors that cannot pause stop the trial instead.

        Args:
            trial_id: The trial's id.
        """
        self.request_stop(trial_id)

    #: True when :meth:`kill_trial` can force-end a running trial. The controller then
    #: enforces a grace period on stop and pause requests (and on a ``time_total_s`` stop
    #: criterion) by its own clock; an executor without it (simulated time) is left alone.
    can_kill_trials = False

    def kill_trial(self, trial_id: str) -> str:
        """Force-end the running trial now, whatever its trainable is doing (blocked in C
        code, sleeping, never reporting again).

        The controller calls this when the trial did not end within the grace period after
        a stop or pause request. On return the executor holds no resources for the trial
        and reports no further event about it (no "results", "checkpoint", "end" or "lost"
        for this run, including ones already queued): the controller ends the trial itself.
        What the worker sent before is not taken back: results the controller already
        logged stay. The phrase returned goes to the trial's ``error.txt`` (e.g. "its
        worker process (pid 123) was killed").

        Per executor: :class:`LocalExecutor` SIGKILLs the worker process, its process group
        and every process below it; :class:`InProcessExecutor` cannot kill a thread and
        abandons it (the connection is closed: the thread ends at its next report, if any;
        it holds no resources in the books); :class:`DaskExecutor` closes the connection,
        cancels the Dask future and, on a worker with one thread (where the task owns the
        process), restarts that Dask worker; on a worker with several threads the task's
        thread is abandoned as in-process.

        Args:
            trial_id: The trial's id.

        Returns:
            What was done, as a phrase.

        Raises:
            NotImplementedError: The executor cannot force-end trials
                (``can_kill_trials`` is False).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot force-end a trial")

    @abc.abstractmethod
    def poll(self, timeout: float) -> list[Event]:
        """Wait up to ``timeout`` seconds for events from the workers.

        A trial's resources are released before its ``Ended``/``Paused``/``Failed``/
        ``Lost`` event is returned.

        Args:
            timeout: The longest wait in seconds (0: do not wait).

        Returns:
            The events in arrival order (``Results``, ``CheckpointSaved``, ``Ended``,
            ``Paused``, ``Failed``, ``Lost``; see ``execution/_protocol.py``).
        """

    @abc.abstractmethod
    def location(self, trial_id: str) -> str:
        """Where the trial runs, for the status table.

        Args:
            trial_id: The trial's id.

        Returns:
            ``"ip:pid"`` of its worker (``"starting"`` before the worker connected).
        """

    @abc.abstractmethod
    def shutdown(self, force: bool = False) -> None:
        """End every worker; called once by a run at its end.

        On return no trial holds resources in the books (an executor object may serve
        another run after this one, e.g. a resume after an error), and no event of this
        run is pending.

        Args:
            force: True kills the workers at once (an error or a second Ctrl+C); False
                asks them to exit and waits for them.
        """

    def describe(self) -> str:
        """Where trials run, in a few words for the status output."""
        return type(self).__name__


class WorkerHandle:
    """The controller's side of one worker."""

    _ids = itertools.count()

    def __init__(self, gpu_key: tuple[str, ...], token: str) -> None:
        self.worker_id = next(self._ids)
        self.gpu_key = gpu_key
        self.token = token
        self.conn: Any = None
        self.process: Any = None
        self.pid = 0
        self.hostname = ""
        self.ip = ""
        self.ready = False
        self.trial_id: str | None = None
        self.queued: TrialTask | None = None
        #: the driver's environment when the worker process was started (None: unknown)
        self.spawn_env: dict[str, str] | None = None
        self.known_keys: set[str] = set()
        self.cleaned_up = False  # the executor released what the worker left behind

    @property
    def location(self) -> str:
        return f"{self.ip}:{self.pid}" if self.pid else "starting"


class ConnectionExecutor(Executor):
    """Shared bookkeeping: the resource pool, idle workers, trial <-> worker maps, polling.

    Subclasses implement :meth:`_spawn` (start a worker that will say hello with its token)
    and may override :meth:`_extra_waitables` / :meth:`_on_waitable_ready` to accept
    connections, and :meth:`_exit_message` to explain a lost worker.
    """

    def __init__(self, pool: ResourcePool, *, max_idle_workers: int | None = None) -> None:
        self._pool = pool
        self._workers: dict[int, WorkerHandle] = {}
        self._by_conn: dict[Any, WorkerHandle] = {}
        self._by_token: dict[str, WorkerHandle] = {}
        self._by_trial: dict[str, WorkerHandle] = {}
        self._allocations: dict[str, Allocation] = {}
        self._blobs: dict[str, bytes] = {}
        self._sys_path: list[str] = []
        self._max_idle = max_idle_workers or max(2, int(pool.total.get("CPU", 1)))
        self._pending_events: list[Event] = []
        self._last_location: dict[str, str] = {}

    # -- resources -----------------------------------------------------------------------------
    def total_resources(self) -> dict[str, float]:
        return dict(self._pool.total)

    def used_resources(self) -> dict[str, float]:
        return dict(self._pool.used)

    def why_never_fits(self, request: PlacementGroupFactory) -> str | None:
        return self._pool.why_never_fits(request)

    def setup(self, sys_path: list[str] | None = None) -> None:
        self._sys_path = list(sys_path if sys_path is not None else sys.path)

    # -- starting trials -----------------------------------------------------------------------
    def try_start(self, trial_id: str, request: PlacementGroupFactory, task: TrialTask) -> bool:
        allocation = self._pool.try_acquire(request)
        if allocation is None:
            return False
        self._allocations[trial_id] = allocation
        gpu_key = allocation.gpu_ids
        if task.gpu_ids != tuple(gpu_key):
            task = dataclasses.replace(task, gpu_ids=tuple(gpu_key))
        worker = self._idle_worker(gpu_key) or self._new_worker(gpu_key)
        worker.trial_id = trial_id
        self._by_trial[trial_id] = worker
        if worker.ready:
            self._send_run(worker, task)
        else:
            worker.queued = task
        return True

    def _idle_worker(self, gpu_key: tuple[str, ...]) -> WorkerHandle | None:
        for worker in self._workers.values():
            if worker.trial_id is None and worker.gpu_key == gpu_key:
                return worker
        return None

    def _new_worker(self, gpu_key: tuple[str, ...]) -> WorkerHandle:
        idle = [w for w in self._workers.values() if w.trial_id is None]
        if len(idle) >= self._max_idle:
            self._retire(idle[0])
        token = os.urandom(8).hex()
        worker = WorkerHandle(gpu_key, token)
        self._workers[worker.worker_id] = worker
        self._by_token[token] = worker
        self._spawn(worker)
        return worker

    def _send_run(self, worker: WorkerHandle, task: TrialTask) -> None:
        key = task.trainable_key
        if key not in worker.known_keys:
            task = dataclasses.replace(task, trainable_blob=self._blobs[key])
            worker.known_keys.add(key)
        worker.conn.send_bytes(P.encode_command(task))

    def register_trainable(self, key: str, blob: bytes) -> None:
        self._blobs[key] = blob

    # -- messages to workers -------------------------------------------------------------------
    def _send(self, worker: WorkerHandle, command: P.Command) -> None:
        if worker.conn is None:
            return
        with contextlib.suppress(OSError):
            worker.conn.send_bytes(P.encode_command(command))

    def send_decision(self, trial_id: str, verdict: Verdict) -> None:
        worker = self._by_trial.get(trial_id)
        if worker is not None:
            self._send(worker, P.Decide(trial_id, verdict))

    def request_stop(self, trial_id: str) -> None:
        worker = self._by_trial.get(trial_id)
        if worker is None:
            return
        if worker.ready:
            self._send(worker, P.StopRequest(trial_id))
        else:
            worker.queued = None
            self._finish_trial(trial_id)
            self._pending_events.append(P.Ended(trial_id, EndReason.STOPPED))

    def request_pause(self, trial_id: str) -> None:
        worker = self._by_trial.get(trial_id)
        if worker is None:
            return
        if worker.ready:
            self._send(worker, P.PauseRequest(trial_id))
        else:
            worker.queued = None
            self._finish_trial(trial_id)
            self._pending_events.append(P.Paused(trial_id, None))

    # -- force-ending a trial --------------------------------------------------------------------
    can_kill_trials = True

    def kill_trial(self, trial_id: str) -> str:
        self._pending_events = [e for e in self._pending_events if e.trial_id != trial_id]
        worker = self._by_trial.get(trial_id)
        if worker is None:
            self._finish_trial(trial_id)
            return "it had no worker any more"
        worker.queued = None
        self._forget(worker)  # no more messages from it
        self._finish_trial(trial_id)
        return self._force_end_worker(worker)

    def _force_end_worker(self, worker: WorkerHandle) -> str:
        """End ``worker`` (already forgotten) at once; say what was done (see
        :meth:`Executor.kill_trial`)."""
        if isinstance(worker.process, threading.Thread):  # in-process: a thread
            return (
                "its worker thread cannot be killed and was abandoned (its connection is "
                "closed: it ends at its next report, if ever)"
            )
        self._kill(worker)
        self._reap(worker)
        return f"its worker ({worker.location}) was ended"

    def location(self, trial_id: str) -> str:
        worker = self._by_trial.get(trial_id)
        if worker is not None:
            return worker.location
        return self._last_location.pop(trial_id, "")

    # -- polling -------------------------------------------------------------------------------
    def poll(self, timeout: float) -> list[Event]:
        events: list[Event] = self._pending_events
        self._pending_events = []
        self._check_unready(events)
        if events:
            timeout = 0
        waitables: list[Any] = [*self._by_conn, *self._extra_waitables()]
        if not waitables:
            return events
        for ready in wait(waitables, timeout):
            worker = self._by_conn.get(ready)
            if worker is None:
                self._on_waitable_ready(ready)
                continue
            self._drain(worker, events)
        return events

    def _drain(self, worker: WorkerHandle, events: list[Event]) -> None:
        conn = worker.conn
        try:
            while True:
                event = P.decode_event(P.loads(conn.recv_bytes()))
                if isinstance(event, P.Hello):
                    self._on_hello(worker, event)
                else:
                    if not isinstance(event, (P.Results, P.CheckpointSaved)):
                        self._finish_trial(event.trial_id)  # the trial's run ended
                    events.append(event)
                if not conn.poll():
                    break
        except P.UnreadableMessage as exc:  # a result the driver cannot unpickle
            self._on_lost(worker, events, f"a message from its worker could not be read: {exc}")
        except (EOFError, OSError):
            self._on_lost(worker, events)

    def _on_hello(self, worker: WorkerHandle, hello: P.Hello) -> None:
        worker.pid, worker.hostname, worker.ip = hello.pid, hello.hostname, hello.node_ip
        worker.ready = True
        self._send(worker, P.Setup(tuple(self._sys_path), self._env_changes(worker)))
        if worker.queued is not None:
            task, worker.queued = worker.queued, None
            self._send_run(worker, task)

    @staticmethod
    def _env_changes(worker: WorkerHandle) -> dict[str, str]:
        """The driver's environment variables set or changed since ``worker`` was started
        (a worker started ahead of the run, :meth:`prestart`, gets what the run's setup
        exported, such as ``TUNE_ORIG_WORKING_DIR`` or a tracker's API key); never
        ``CUDA_VISIBLE_DEVICES``, which is the worker's own. Empty when the worker's
        environment is not the driver's."""
        started_with = worker.spawn_env
        if started_with is None:
            return {}
        return {
            k: v
            for k, v in os.environ.items()
            if started_with.get(k) != v and k != "CUDA_VISIBLE_DEVICES"
        }

    def _register_conn(self, conn: Any, worker: WorkerHandle) -> None:
        worker.conn = conn
        self._by_conn[conn] = worker

    def _finish_trial(self, trial_id: str) -> None:
        worker = self._by_trial.pop(trial_id, None)
        if worker is not None:
            self._last_location[trial_id] = worker.location
        if worker is not None and worker.trial_id == trial_id:
            worker.trial_id = None
        allocation = self._allocations.pop(trial_id, None)
        if allocation is not None:
            self._pool.release(allocation)

    def _on_lost(self, worker: WorkerHandle, events: list[Event], why: str | None = None) -> None:
        """The worker's connection failed: it died, or (``why``) it sent what cannot be
        read, and it is ended here."""
        trial_id = worker.trial_id
        if why is None:
            message = self._exit_message(worker)
        else:
            self._kill(worker)
            message = why
        self._forget(worker)
        if why is not None:
            self._reap(worker)
        if trial_id is not None:
            self._finish_trial(trial_id)
            events.append(P.Lost(trial_id, message))

    def _forget(self, worker: WorkerHandle) -> None:
        self._workers.pop(worker.worker_id, None)
        self._by_token.pop(worker.token, None)
        if worker.conn is not None:
            self._by_conn.pop(worker.conn, None)
            with contextlib.suppress(OSError):
                worker.conn.close()

    def _retire(self, worker: WorkerHandle) -> None:
        self._send(worker, P.Exit())
        self._forget(worker)
        self._reap(worker)

    # -- hooks for subclasses ------------------------------------------------------------------
    @abc.abstractmethod
    def _spawn(self, worker: WorkerHandle) -> None: ...

    def _extra_waitables(self) -> Iterable[Any]:
        return ()

    def _on_waitable_ready(self, obj: Any) -> None:
        pass

    def _check_unready(self, events: list[Event]) -> None:
        pass

    def _exit_message(self, worker: WorkerHandle) -> str:
        return "the worker stopped unexpectedly"

    def _reap(self, worker: WorkerHandle) -> None:
        pass

    def shutdown(self, force: bool = False) -> None:
        """Ask every worker to exit (``force``: kill at once) and wait for them."""
        workers = list(self._workers.values())
        for worker in workers:
            if force:
                self._kill(worker)
            else:
                self._send(worker, P.Exit())
            self._forget(worker)
        for worker in workers:
            self._reap(worker)
        # the books start empty for the executor's next run (a forced shutdown comes with
        # trials still running; their ends will never be polled)
        for trial_id in [*self._by_trial, *self._allocations]:
            self._finish_trial(trial_id)
        self._pending_events = []

    def _kill(self, worker: WorkerHandle) -> None:
        pass
