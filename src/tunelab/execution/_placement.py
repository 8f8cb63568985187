"""Placement: the part of an executor that decides where a trial may run and keeps the books
of what trials hold (no processes, no connections: see ``_launcher.py`` for those).

An executor built by composition (:class:`~tunelab.execution._executor.ConnectionExecutor`)
asks its placement, for each trial it is to start, for a :class:`Choice`: an idle worker to
reuse, or the site of a new worker (its GPUs and its reuse key), and what the trial holds
while it runs. :class:`PoolPlacement` is the placement of one machine (local worker
processes, in-process threads); Dask's node-aware placement lives in ``_dask_cluster.py``.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tunelab._resources import PlacementGroupFactory
from tunelab.execution._resource_pool import Allocation, ResourcePool

if TYPE_CHECKING:
    from tunelab.execution._executor import WorkerHandle

__all__ = ["Choice", "Placement", "PoolPlacement", "Seat"]


@dataclass(frozen=True)
class Seat:
    """Room a new worker holds for its whole life (a Dask task keeps its resources in
    Dask's books between trials): the amounts, and where (a placement's own name)."""

    allocation: Allocation
    where: str


@dataclass(frozen=True)
class Choice:
    """Where a trial is to run.

    Attributes:
        worker: An idle worker to run it on; None: start a new worker for it.
        gpu_ids: The GPU devices the trial (and a new worker) gets.
        key: What a later trial must match to reuse the worker (equal keys: same site).
        allocation: What the trial alone holds until it ends (released then); None when
            its worker holds the room (``seat``).
        seat: What a new worker holds for its whole life (handed back to the placement
            in :meth:`Placement.occupy`); None when it holds nothing.
    """

    worker: WorkerHandle | None
    gpu_ids: tuple[str, ...]
    key: Hashable
    allocation: Allocation | None
    seat: Seat | None = None


class Placement(abc.ABC):
    """Where trials may run, and the books of what they hold: one per executor.

    Contract (the executor is the only caller, from the controller's thread):

    * :meth:`choose` reserves room for a request, or returns None (nothing changed) when
      there is none now. It may pick an idle worker (one of ``idle``) whose site suits the
      request, else a site for a new worker. The executor then calls :meth:`occupy` with a
      new worker before starting it.
    * A trial's own :attr:`Choice.allocation` goes back through :meth:`release` when its
      run ends; what a worker holds for its whole life goes back through :meth:`vacate`
      when the executor drops the worker.
    * :meth:`evictable`: when :meth:`choose` found no room, an idle worker whose end could
      make room (the executor retires it and asks again); None when ending idle workers
      cannot help (they hold nothing).
    * Never starts, ends or talks to anything: that is the launcher's job.
    """

    @abc.abstractmethod
    def total(self) -> dict[str, float]:
        """Everything that can be handed out: resource name -> amount."""

    @abc.abstractmethod
    def used(self, running: Collection[WorkerHandle]) -> dict[str, float]:
        """What the trials running on ``running`` (busy workers) hold now."""

    @abc.abstractmethod
    def why_never_fits(self, request: PlacementGroupFactory) -> str | None:
        """None when ``request`` fits when everything is free, else a sentence why not."""

    @abc.abstractmethod
    def choose(self, request: PlacementGroupFactory, idle: Iterable[WorkerHandle]) -> Choice | None:
        """Reserve room for ``request``: on one of the ``idle`` workers, or for a new one.

        Returns:
            The choice, or None (nothing reserved) when there is no room now.
        """

    def has_room(self, request: PlacementGroupFactory) -> bool:
        """Whether :meth:`choose` may find room for ``request`` now, nothing reserved:
        False only when it surely would not (default: True, it may)."""
        return True

    def evictable(
        self, request: PlacementGroupFactory, idle: Iterable[WorkerHandle]
    ) -> WorkerHandle | None:
        """An idle worker whose end may make room for ``request`` (default: None)."""
        return None

    def occupy(self, worker: WorkerHandle, choice: Choice) -> None:  # noqa: B027
        """A new worker takes the site of ``choice`` (before it is started)."""

    def vacate(self, worker: WorkerHandle) -> None:  # noqa: B027
        """The worker is gone: what it held for its life is free again."""

    @abc.abstractmethod
    def release(self, allocation: Allocation) -> None:
        """A trial's run ended: what it alone held is free again."""

    def prestart_site(self) -> Choice | None:
        """The site of a worker started ahead of its trial (one that needs no GPU), or
        None when workers are not started ahead."""
        return None


class PoolPlacement(Placement):
    """One machine's resources (:class:`ResourcePool`): a trial holds its request while it
    runs; an idle worker holds nothing and is reused by a trial with the same GPUs."""

    def __init__(self, pool: ResourcePool) -> None:
        self.pool = pool

    def total(self) -> dict[str, float]:
        return dict(self.pool.total)

    def used(self, running: Collection[WorkerHandle]) -> dict[str, float]:
        return dict(self.pool.used)

    def why_never_fits(self, request: PlacementGroupFactory) -> str | None:
        return self.pool.why_never_fits(request)

    def has_room(self, request: PlacementGroupFactory) -> bool:
        return self.pool.fits_now(request)

    def choose(self, request: PlacementGroupFactory, idle: Iterable[WorkerHandle]) -> Choice | None:
        allocation = self.pool.try_acquire(request)
        if allocation is None:
            return None
        gpu_ids = allocation.gpu_ids
        worker = next((w for w in idle if w.key == gpu_ids), None)
        return Choice(worker, gpu_ids, gpu_ids, allocation)

    def release(self, allocation: Allocation) -> None:
        self.pool.release(allocation)

    def prestart_site(self) -> Choice | None:
        return Choice(None, (), (), None)
