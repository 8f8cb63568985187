"""The Dask cluster as one run sees it (:class:`DaskCluster`: the client and the workers,
refreshed from the scheduler), and Dask's node-aware :class:`DaskPlacement`.

The cluster object is shared by the placement (which worker has room) and the launcher
(``_dask_launcher.py``: tasks, connections, restarts). The bookkeeping of each worker's
resources is ``_dask_nodes`` (pure).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunelab._errors import require
from tunelab._resources import PlacementGroupFactory
from tunelab.execution._dask_nodes import ClusterView, DaskNode, never_fits_message
from tunelab.execution._placement import Choice, Placement, Seat
from tunelab.execution._resource_pool import Allocation

if TYPE_CHECKING:
    from tunelab.execution._executor import WorkerHandle

__all__ = ["DaskCluster", "DaskPlacement", "PlacedTask", "request_key"]

logger = logging.getLogger("tunelab")


def request_key(request: PlacementGroupFactory) -> tuple[Any, ...]:
    """A Dask task serves trials with equal requests: this is what they share."""
    return tuple(sorted(request.required_resources.items()))


@dataclass(frozen=True)
class PlacedTask:
    """A task's Dask worker and what the task holds there for its life."""

    node: DaskNode
    allocation: Allocation


class DaskCluster:
    """The client (connected on first use) and the cluster's workers, refreshed from
    ``Client.scheduler_info()`` every ``refresh_interval_s``.

    Args:
        target: A ``distributed.Client``, a cluster object or a scheduler address.
        refresh_interval_s: Seconds between refreshes of the worker list.
        worker_wait_s: Seconds to wait once for a first worker (0: do not wait).
    """

    def __init__(self, target: Any, refresh_interval_s: float, worker_wait_s: float) -> None:
        self.target = target
        self.refresh_interval_s = refresh_interval_s
        self.worker_wait_s = worker_wait_s
        self.client: Any = None
        self.own_client = False
        self.scheduler = ""
        self.view = ClusterView()
        self.next_refresh = 0.0
        self._waited = False
        #: where each of this run's tasks runs and what it holds, by the worker's token
        self.tasks: dict[str, PlacedTask] = {}
        #: (token, why) of tasks on workers that left, for the launcher to report
        self.gone: list[tuple[str, str]] = []

    def connect(self) -> Any:
        """The client, with the workers refreshed when due."""
        client = self.client
        if client is None:
            distributed = require("distributed", extra="dask", feature="DaskExecutor")
            if isinstance(self.target, distributed.Client):
                client = self.target
            else:
                client = distributed.Client(self.target, set_as_default=False)
                self.own_client = True
            self.client = client
            self.scheduler = str(client.scheduler.address)
        if time.monotonic() >= self.next_refresh:
            self.refresh()
        if not self.view.nodes and not self._waited and self.worker_wait_s > 0:
            self._waited = True  # once per experiment
            with contextlib.suppress(Exception):
                client.wait_for_workers(1, timeout=self.worker_wait_s)
            self.refresh()
        return client

    def refresh(self) -> None:
        """Re-read the workers; tasks on workers that left go to :attr:`gone`."""
        now = time.monotonic()
        self.next_refresh = now + self.refresh_interval_s
        try:
            workers = dict(self.client.scheduler_info().get("workers") or {})
        except Exception as exc:  # scheduler unreachable: keep what we know
            logger.warning("tunelab: could not read the Dask cluster's workers: %s", exc)
            return
        for node in self.view.update(workers, now):
            why = f"the Dask worker {node.address} left the cluster"
            self.gone.extend((token, why) for token in sorted(node.tokens))

    def suspect(self, node: DaskNode, seconds: float) -> None:
        """Place nothing on ``node`` until a refresh ``seconds`` from now still lists it."""
        node.suspect_until = time.monotonic() + seconds
        self.next_refresh = min(self.next_refresh, node.suspect_until)

    def has_nanny(self, address: str) -> bool:
        try:
            info = self.client.scheduler_info().get("workers", {}).get(address, {})
        except Exception:
            return False
        return bool(info.get("nanny"))

    def close(self) -> None:
        """Forget the workers; close the client if it was opened here."""
        if self.client is not None and self.own_client:
            with contextlib.suppress(Exception):
                self.client.close()
            self.client = None
            self.own_client = False
        self.view.nodes.clear()
        self.tasks.clear()
        self.gone.clear()
        self.next_refresh = 0.0
        self._waited = False


class DaskPlacement(Placement):
    """A trial runs on the least loaded Dask worker with room for its whole request; the
    task that serves it holds that room for its life and serves the next trial with the
    same request (an idle task makes way when another request needs the room)."""

    def __init__(self, cluster: DaskCluster) -> None:
        self._cluster = cluster

    def total(self) -> dict[str, float]:
        """The resources of the workers the scheduler listed at the last refresh."""
        return self._cluster.view.totals()

    def used(self, running: Collection[WorkerHandle]) -> dict[str, float]:
        """What this run's running trials hold on the cluster, summed over the workers."""
        used = {key: 0.0 for key in self.total()}
        for worker in running:
            task = self._cluster.tasks.get(worker.token)
            if task is not None:
                for key, value in task.allocation.amounts.items():
                    used[key] = used.get(key, 0.0) + value
        return used

    def why_never_fits(self, request: PlacementGroupFactory) -> str | None:
        cluster = self._cluster
        cluster.connect()
        return never_fits_message(request, cluster.view.nodes.values(), cluster.scheduler)

    def choose(self, request: PlacementGroupFactory, idle: Iterable[WorkerHandle]) -> Choice | None:
        cluster = self._cluster
        cluster.connect()
        key = request_key(request)
        now = time.monotonic()
        best: WorkerHandle | None = None
        for worker in idle:
            task = cluster.tasks.get(worker.token)
            if worker.key == key and task is not None and task.node.available(now):
                if worker.ready:
                    best = worker
                    break
                best = best or worker
        if best is not None:
            return Choice(best, best.gpu_ids, key, None)
        placed = cluster.view.place(request.required_resources, now)
        if placed is None:
            return None
        node, allocation = placed
        return Choice(None, allocation.gpu_ids, key, None, Seat(allocation, node.address))

    def evictable(
        self, request: PlacementGroupFactory, idle: Iterable[WorkerHandle]
    ) -> WorkerHandle | None:
        need = request.required_resources
        for worker in idle:
            task = self._cluster.tasks.get(worker.token)
            if task is not None and task.node.why_never_fits(need) is None:
                return worker
        return None

    def occupy(self, worker: WorkerHandle, choice: Choice) -> None:
        seat = choice.seat
        if seat is None:
            return
        node = self._cluster.view.nodes[seat.where]
        node.tokens.add(worker.token)
        self._cluster.tasks[worker.token] = PlacedTask(node, seat.allocation)

    def vacate(self, worker: WorkerHandle) -> None:
        task = self._cluster.tasks.pop(worker.token, None)
        if task is not None:
            task.node.tokens.discard(worker.token)
            task.node.pool.release(task.allocation)

    def release(self, allocation: Allocation) -> None:
        """Never called: a trial on Dask holds nothing apart from its task's seat."""
