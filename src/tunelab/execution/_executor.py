"""The executor interface, and :class:`ConnectionExecutor`: an executor made of a placement
(``_placement.py``: where trials run, what they hold) and a launcher (``_launcher.py``: how
workers start, connect and end), whose workers speak the worker protocol over
``multiprocessing.connection`` connections.

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
from collections.abc import Callable, Hashable
from multiprocessing.connection import wait
from typing import Any

from tunelab._resources import PlacementGroupFactory
from tunelab.execution import _protocol as P
from tunelab.execution._launcher import Arrival, Launcher
from tunelab.execution._placement import Choice, Placement
from tunelab.execution._protocol import EndReason, Event, TrialTask, Verdict
from tunelab.execution._resource_pool import Allocation

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
    #: True when every worker writes to the driver's trial directories (same machine, same
    #: paths): the run then lets the workers write the default loggers' result files
    #: (``result.json``, ``progress.csv``, TensorBoard events) as they report, instead of
    #: the controller (see ``logger/_in_worker.py``; the task's ``logs`` say what).
    shares_trial_dirs = False

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

    def may_start(self, request: PlacementGroupFactory) -> bool:
        """Whether :meth:`try_start` may start a trial with ``request`` now: False only
        when it surely would not (the controller then does not build the trial's task).
        The default says it may.

        Args:
            request: A trial's resource request.
        """
        return True

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
    """The executor's side of one worker: its connection, its site and the trial it runs.
    What a launcher keeps about the worker's process (or thread, or task) it keeps in its
    own books, by ``token``."""

    _ids = itertools.count()

    def __init__(self, gpu_ids: tuple[str, ...], key: Hashable, token: str) -> None:
        self.worker_id = next(self._ids)
        self.gpu_ids = gpu_ids
        self.key = key  # the placement's reuse key: a trial with an equal key may run here
        self.token = token
        self.conn: Any = None
        self.pid = 0
        self.hostname = ""
        self.ip = ""
        self.ready = False
        self.trial_id: str | None = None
        self.queued: TrialTask | None = None
        self.known_keys: set[str] = set()
        self._location: str | None = None

    def started(self, pid: int, hostname: str, ip: str) -> None:
        """The worker process said hello: where it runs."""
        self.pid, self.hostname, self.ip = pid, hostname, ip
        self._location = None

    @property
    def location(self) -> str:
        """``"ip:pid"``, one string for all the trials it runs (each trial keeps it)."""
        if not self.pid:
            return "starting"
        if self._location is None:
            self._location = f"{self.ip}:{self.pid}"
        return self._location


#: finished trials whose location an executor still tells (see ``_finish_trial``)
_LAST_LOCATIONS = 1024


class ConnectionExecutor(Executor):
    """An executor made of two parts, whose workers speak the worker protocol over
    ``multiprocessing.connection`` connections:

    * a :class:`~tunelab.execution._placement.Placement`: where a trial may run and what
      it holds (one machine's resource pool; Dask's workers);
    * a :class:`~tunelab.execution._launcher.Launcher`: how workers start, connect and end
      (processes with a Unix socket; threads with pipes; Dask tasks with a TCP socket).

    This class joins them: it keeps the workers (idle ones are reused by trials with the
    same site, at most ``max_idle_workers`` of them), which trial runs where, the
    trainables' blobs, and it moves messages. :class:`LocalExecutor`,
    :class:`InProcessExecutor` and :class:`~tunelab.execution.dask.DaskExecutor` are this
    class with their parts.
    """

    def __init__(
        self, placement: Placement, launcher: Launcher, *, max_idle_workers: int | None = None
    ) -> None:
        self._placement = placement
        self._launcher = launcher
        self._workers: dict[str, WorkerHandle] = {}  # by token
        self._by_conn: dict[Any, WorkerHandle] = {}
        self._by_trial: dict[str, WorkerHandle] = {}
        self._allocations: dict[str, Allocation] = {}
        self._blobs: dict[str, bytes] = {}
        self._sys_path: list[str] = []
        self._set_up = False
        self._max_idle = max_idle_workers  # None: no limit
        self._pending_events: list[Event] = []
        self._last_location: dict[str, str] = {}

    # -- resources -----------------------------------------------------------------------------
    def total_resources(self) -> dict[str, float]:
        return self._placement.total()

    def used_resources(self) -> dict[str, float]:
        return self._placement.used(list(self._by_trial.values()))

    def why_never_fits(self, request: PlacementGroupFactory) -> str | None:
        return self._placement.why_never_fits(request)

    def setup(self, sys_path: list[str] | None = None) -> None:
        self._sys_path = self._launcher.setup(list(sys_path if sys_path is not None else sys.path))
        self._set_up = True

    def describe(self) -> str:
        return self._launcher.describe()

    # -- starting trials -----------------------------------------------------------------------
    def _idle(self) -> list[WorkerHandle]:
        return [w for w in self._workers.values() if w.trial_id is None]

    def may_start(self, request: PlacementGroupFactory) -> bool:
        placement = self._placement
        return placement.has_room(request) or placement.evictable(request, self._idle()) is not None

    def try_start(self, trial_id: str, request: PlacementGroupFactory, task: TrialTask) -> bool:
        if not self._set_up:
            self.setup()
        choice = self._placement.choose(request, self._idle())
        while choice is None:  # idle workers holding room may have to make way
            victim = self._placement.evictable(request, self._idle())
            if victim is None:
                return False
            self._retire(victim)
            choice = self._placement.choose(request, self._idle())
        worker = choice.worker
        if worker is None:
            try:
                worker = self._new_worker(choice)
            except BaseException:
                if choice.allocation is not None:
                    self._placement.release(choice.allocation)
                raise
        worker.trial_id = trial_id
        self._by_trial[trial_id] = worker
        if choice.allocation is not None:
            self._allocations[trial_id] = choice.allocation
        key = self._launcher.trainable_key(task.trainable_key)
        if task.gpu_ids != worker.gpu_ids or task.trainable_key != key:
            task = dataclasses.replace(task, gpu_ids=worker.gpu_ids, trainable_key=key)
        if worker.ready:
            self._send_run(worker, task)
        else:
            worker.queued = task
        return True

    def _new_worker(self, choice: Choice) -> WorkerHandle:
        if self._max_idle is not None:
            idle = self._idle()
            if len(idle) >= self._max_idle:
                self._retire(idle[0])
        worker = WorkerHandle(choice.gpu_ids, choice.key, os.urandom(8).hex())
        self._workers[worker.token] = worker
        self._placement.occupy(worker, choice)
        try:
            conn = self._launcher.launch(worker)
        except BaseException:
            self._forget(worker)
            raise
        if conn is not None:
            self._register_conn(conn, worker)
        return worker

    def prestart(self, count: int) -> None:
        """Start workers for up to ``count`` trials that need no GPU now, when the
        launcher's workers take long to start (see :meth:`Executor.prestart`); fewer when
        the executor has fewer CPUs or keeps fewer idle workers, none beyond those idle.

        Args:
            count: How many workers the first trials will use at most.
        """
        site = self._placement.prestart_site()
        if not self._launcher.prestarts or site is None:
            return
        if not self._set_up:
            self.setup()
        cpus = max(1, int(self._placement.total().get("CPU", 1)))
        count = min(count, cpus, self._max_idle or count)
        idle = sum(1 for w in self._idle() if w.key == site.key)
        for _ in range(count - idle):
            self._new_worker(site)

    def _send_run(self, worker: WorkerHandle, task: TrialTask) -> None:
        task = self._launcher.adapt(task, worker)  # the worker said hello: its pid is known
        key = task.trainable_key
        if key not in worker.known_keys:
            task = dataclasses.replace(task, trainable_blob=self._blobs[key])
            worker.known_keys.add(key)
        with contextlib.suppress(OSError):  # the connection broke: poll() reports it lost
            worker.conn.send_bytes(P.encode_command(task))

    def register_trainable(self, key: str, blob: bytes) -> None:
        self._blobs[self._launcher.trainable_key(key)] = blob

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
        done = self._launcher.force_end(worker)
        self._forget(worker)  # no more messages from it
        self._finish_trial(trial_id)
        return done

    def location(self, trial_id: str) -> str:
        worker = self._by_trial.get(trial_id)
        if worker is not None:
            return worker.location
        return self._last_location.pop(trial_id, "")

    # -- polling -------------------------------------------------------------------------------
    def poll(self, timeout: float) -> list[Event]:
        events: list[Event] = self._pending_events
        self._pending_events = []
        for lost, why in self._launcher.check(self._workers.values()):
            self._on_lost(lost, events, why)
        if events:
            timeout = 0
        waitables: list[Any] = [*self._by_conn, *self._launcher.waitables()]
        if waitables:
            for ready in wait(waitables, timeout):
                worker = self._by_conn.get(ready)
                if worker is None:
                    self._on_arrivals(self._launcher.arrivals(ready), events)
                else:
                    self._drain(worker, events)
        if self._pending_events:  # losses found while starting trials meanwhile
            events.extend(self._pending_events)
            self._pending_events = []
        return events

    def _on_arrivals(self, arrivals: list[Arrival], events: list[Event]) -> None:
        for item in arrivals:
            if item[0] == "conn":
                _, conn, hello = item
                worker = self._workers.get(hello.token)
                if worker is None or worker.conn is not None:
                    conn.close()  # a worker given up meanwhile, or a second connection
                    continue
                self._register_conn(conn, worker)
                self._on_hello(worker, hello)
            elif item[0] == "done":  # its runner ended: lost, unless its connection says so
                worker = self._workers.get(item[1])
                if worker is not None and worker.conn is None:
                    self._on_lost(worker, events)

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
        worker.started(hello.pid, hello.hostname, hello.node_ip)
        worker.known_keys = set(hello.cached)
        worker.ready = True
        self._send(worker, P.Setup(tuple(self._sys_path), self._launcher.env_changes(worker)))
        if worker.queued is not None:
            task, worker.queued = worker.queued, None
            self._send_run(worker, task)

    def _register_conn(self, conn: Any, worker: WorkerHandle) -> None:
        worker.conn = conn
        self._by_conn[conn] = worker

    def _finish_trial(self, trial_id: str) -> None:
        worker = self._by_trial.pop(trial_id, None)
        if worker is not None:
            # for results of the trial the controller reads after this (the same poll);
            # the oldest go, so that the book does not grow with every trial run
            last = self._last_location
            last[trial_id] = worker.location
            if len(last) > _LAST_LOCATIONS:
                del last[next(iter(last))]
        if worker is not None and worker.trial_id == trial_id:
            worker.trial_id = None
        allocation = self._allocations.pop(trial_id, None)
        if allocation is not None:
            self._placement.release(allocation)

    def _on_lost(self, worker: WorkerHandle, events: list[Event], why: str | None = None) -> None:
        """The worker's connection failed (it died), or it must be ended for ``why`` (it
        sent what cannot be read; it was found lost)."""
        trial_id = worker.trial_id
        message = self._launcher.lost(worker, why)
        self._forget(worker)
        if trial_id is not None:
            self._finish_trial(trial_id)
            events.append(P.Lost(trial_id, message))

    def _forget(self, worker: WorkerHandle) -> None:
        if self._workers.pop(worker.token, None) is None:
            return
        if worker.conn is not None:
            self._by_conn.pop(worker.conn, None)
            with contextlib.suppress(OSError):
                worker.conn.close()
        self._placement.vacate(worker)
        self._launcher.forgotten(worker)

    def _retire(self, worker: WorkerHandle) -> None:
        self._send(worker, P.Exit())
        self._launcher.retire(worker)
        self._forget(worker)
        self._launcher.reap(worker)

    def shutdown(self, force: bool = False) -> None:
        """Ask every worker to exit (``force``: kill at once) and wait for them."""
        workers = list(self._workers.values())
        for worker in workers:
            if force:
                self._launcher.kill(worker)
            else:
                self._send(worker, P.Exit())
            self._forget(worker)
        for worker in workers:
            self._launcher.reap(worker)
        # the books start empty for the executor's next run (a forced shutdown comes with
        # trials still running; their ends will never be polled)
        for trial_id in [*self._by_trial, *self._allocations]:
            self._finish_trial(trial_id)
        self._pending_events = []
        self._launcher.shutdown(force)
        self._blobs.clear()
        self._set_up = False
