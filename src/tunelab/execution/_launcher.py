"""Launcher: the part of an executor that starts workers, brings their connections, and ends
them (processes on this machine, threads, Dask tasks). Where a trial runs is the
placement's decision (``_placement.py``); the executor that joins the two is
:class:`~tunelab.execution._executor.ConnectionExecutor`.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from tunelab.execution._protocol import TrialTask

if TYPE_CHECKING:
    from tunelab.execution._executor import WorkerHandle

__all__ = ["Arrival", "Launcher"]

#: what a launcher's waitable brings: ``("conn", connection, hello)`` (a worker connected
#: and authenticated) or ``("done", token)`` (the worker's runner ended, connected or not)
Arrival = tuple[Any, ...]


class Launcher(abc.ABC):
    """Starts, watches and ends the workers of one executor.

    Contract (the executor is the only caller, from the controller's thread; a worker is
    identified by its :class:`WorkerHandle` and its random ``token``):

    * :meth:`setup` once per run before the first :meth:`launch` (a launch without it
      sets up first); :meth:`shutdown` once at the end, after every worker was ended.
    * :meth:`launch` starts a worker that will run the worker loop and say hello with the
      handle's token: either over a connection returned at once, or through
      :meth:`arrivals` once one of :meth:`waitables` is ready.
    * :meth:`check` is called at every poll: workers found lost without their connection
      saying so (a process that died before it connected, a machine that left).
    * :meth:`lost` is called when a worker's connection failed or was found lost, before
      the executor drops the worker; :meth:`retire` when an idle worker is asked to exit;
      :meth:`kill` ends a worker at once (a forced shutdown); :meth:`force_end` ends the
      worker of a trial that does not answer a stop; :meth:`forgotten` after the executor
      dropped the worker; :meth:`reap` waits for a worker that was asked to end.
    * Never decides anything about trials or resources.
    """

    #: True when a worker takes long to start (a new interpreter), so that starting the
    #: first trials' workers ahead of the run's setup pays (``Executor.prestart``)
    prestarts = False

    def setup(self, sys_path: list[str]) -> list[str]:
        """Prepare to launch workers; returns the ``sys.path`` entries to send them."""
        return sys_path

    @abc.abstractmethod
    def launch(self, worker: WorkerHandle) -> Any | None:
        """Start a worker for ``worker`` (its GPUs are ``worker.gpu_ids``).

        Returns:
            Its connection when there is one at once (the hello then comes over it), or
            None: the connection arrives through :meth:`arrivals`.
        """

    def waitables(self) -> Sequence[Any]:
        """Objects to wait on (with ``multiprocessing.connection.wait``) besides the
        workers' connections."""
        return ()

    def arrivals(self, ready: Any) -> list[Arrival]:
        """What one of :meth:`waitables` that became ready brought."""
        return []

    def check(self, workers: Collection[WorkerHandle]) -> list[tuple[WorkerHandle, str | None]]:
        """Which of ``workers`` (the executor's) are lost without their connection saying
        so: ``(worker, why)``, ``why`` None for the usual message."""
        return []

    def trainable_key(self, key: str) -> str:
        """The key a trainable is known by to the workers (default: ``key``)."""
        return key

    def adapt(self, task: TrialTask, worker: WorkerHandle) -> TrialTask:
        """The task as ``worker`` can run it (default: unchanged)."""
        return task

    def env_changes(self, worker: WorkerHandle) -> dict[str, str]:
        """Environment variables to send with the worker's setup (default: none)."""
        return {}

    @abc.abstractmethod
    def lost(self, worker: WorkerHandle, why: str | None) -> str:
        """The worker's connection failed (``why`` None), or it must be ended for ``why``
        (it sent what cannot be read, or it was found lost): end what is left of it.

        Returns:
            Why the worker is gone, for the trial's error.
        """

    def retire(self, worker: WorkerHandle) -> None:  # noqa: B027
        """An idle worker was asked to exit (over its connection, when it has one)."""

    @abc.abstractmethod
    def kill(self, worker: WorkerHandle) -> None:
        """End the worker at once."""

    @abc.abstractmethod
    def force_end(self, worker: WorkerHandle) -> str:
        """End the worker of a trial that does not answer a stop (see
        ``Executor.kill_trial``); returns what was done, as a phrase."""

    def forgotten(self, worker: WorkerHandle) -> None:  # noqa: B027
        """The executor dropped the worker (its connection is closed)."""

    def reap(self, worker: WorkerHandle) -> None:  # noqa: B027
        """Wait (briefly) for a worker that was asked to end, and clean up after it."""

    def shutdown(self, force: bool) -> None:  # noqa: B027
        """The run ended and every worker was ended: release what the launcher holds."""

    def describe(self) -> str:
        """Where workers run, in a few words."""
        return type(self).__name__
