"""Dask workers as tunelab sees them: resource totals, placement, and why a request can
never fit (pure bookkeeping over ``Client.scheduler_info()`` entries; no dask import).

Resource mapping (trial request -> Dask worker resources):

* names are unchanged: ``CPU`` -> ``"CPU"``, ``GPU`` -> ``"GPU"``, ``memory`` (bytes) ->
  ``"memory"``, custom names as they are;
* a worker's totals are the resources it declares (``dask worker --resources "GPU=1"``,
  ``LocalCluster(resources=...)``); where it declares no ``CPU`` its thread count stands in,
  where it declares no ``memory`` its ``memory_limit`` does (no limit: memory is not
  counted), and where it declares no ``GPU`` it has none;
* the Dask task of a trial carries ``resources=`` with the requested names the chosen worker
  declares, so a cluster whose workers declare nothing gets no ``resources=`` constraint.

Every task also occupies one worker thread, so a worker never hosts more tunelab tasks than
it has threads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from tunelab._resources import PlacementGroupFactory, _fmt
from tunelab.execution._resource_pool import Allocation, ResourcePool

__all__ = ["ClusterView", "DaskNode", "describe_amounts", "never_fits_message"]

_EPS = 1e-9
PLACEABLE = ("running",)
PRESENT = ("running", "paused", "init")


class DaskNode:
    """One Dask worker: its declared resources, the accounted totals, tunelab's tasks."""

    def __init__(self, address: str, info: Mapping[str, Any]) -> None:
        self.address = address
        self.name = str(info.get("name", address))
        self.nthreads = max(1, int(info.get("nthreads") or 1))
        declared = {
            str(k): float(v)
            for k, v in dict(info.get("resources") or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        self.declared = frozenset(declared)
        total: dict[str, float] = dict(declared)
        total.setdefault("CPU", float(self.nthreads))
        memory_limit = info.get("memory_limit")
        if "memory" not in total and memory_limit:
            total["memory"] = float(memory_limit)
        gpus = math.floor(total.pop("GPU", 0.0) + _EPS)
        self.pool = ResourcePool(total, [str(i) for i in range(gpus)])
        self.status = str(info.get("status", "running"))
        self.tokens: set[str] = set()
        self.suspect_until = 0.0

    # -- what the worker has -------------------------------------------------------------------
    @property
    def has_gpus(self) -> bool:
        return self.pool.total.get("GPU", 0.0) > 0

    @property
    def exclusive(self) -> bool:
        """One thread: a task owns the process (cwd, output, environment)."""
        return self.nthreads == 1

    def available(self, now: float) -> bool:
        return self.status in PLACEABLE and now >= self.suspect_until

    def accounted(self, need: Mapping[str, float]) -> PlacementGroupFactory | None:
        """``need`` restricted to the names this worker counts; None if it asks for a name
        the worker lacks (memory on a worker without a memory limit is not counted)."""
        kept: dict[str, float] = {}
        for key, amount in need.items():
            if amount <= _EPS:
                continue
            if key in self.pool.total:
                kept[key] = amount
            elif key != "memory":
                return None
        return PlacementGroupFactory([kept])

    def why_never_fits(self, need: Mapping[str, float]) -> str | None:
        request = self.accounted(need)
        if request is None:
            missing = sorted(k for k in need if k not in self.pool.total and k != "memory")
            return f"no {', '.join(missing)}"
        return self.pool.why_never_fits(request)

    def try_acquire(self, need: Mapping[str, float]) -> Allocation | None:
        if len(self.tokens) >= self.nthreads:
            return None
        request = self.accounted(need)
        if request is None:
            return None
        return self.pool.try_acquire(request)

    def dask_resources(self, need: Mapping[str, float]) -> dict[str, float] | None:
        """The ``resources=`` of a Dask task placing ``need`` here (None: no constraint)."""
        out = {k: v for k, v in need.items() if k in self.declared and v > _EPS}
        return out or None

    def load(self) -> float:
        return len(self.tokens) / self.nthreads

    def describe(self) -> str:
        return f"{self.address} ({describe_amounts(self.totals())})"

    def totals(self) -> dict[str, float]:
        return dict(self.pool.total)


def describe_amounts(amounts: Mapping[str, float]) -> str:
    parts = []
    for key, value in sorted(amounts.items()):
        if not value:
            continue
        if key == "memory":
            parts.append(f"{value / 2**30:.3g} GiB memory")
        else:
            parts.append(f"{_fmt(value)} {key}")
    return ", ".join(parts) or "nothing"


def never_fits_message(
    request: PlacementGroupFactory, nodes: Iterable[DaskNode], scheduler: str
) -> str | None:
    """None if some worker of the cluster can host ``request`` when idle, else why not."""
    need = request.required_resources
    nodes = [n for n in nodes if n.status in PRESENT]
    if not nodes:
        return (
            f"the trial asks for {request.describe()}, but the Dask cluster at {scheduler} "
            "has no workers (start some, or wait for them before tuning)"
        )
    if any(node.why_never_fits(need) is None for node in nodes):
        return None
    shown = ", ".join(node.describe() for node in nodes[:5])
    more = f" and {len(nodes) - 5} more" if len(nodes) > 5 else ""
    gpu = need.get("GPU", 0.0)
    hint = ""
    if gpu > 1 and not float(gpu).is_integer():
        hint = " Fractional GPU requests must be below 1 or whole."
    return (
        f"the trial asks for {request.describe()}, which no single Dask worker of the "
        f"cluster at {scheduler} can provide; workers: {shown}{more}. Dask workers declare "
        'resources with e.g. `dask worker --resources "GPU=1"` or '
        "LocalCluster(resources={...})." + hint
    )


class ClusterView:
    """The workers of a cluster, updated from ``scheduler_info()["workers"]``."""

    def __init__(self) -> None:
        self.nodes: dict[str, DaskNode] = {}

    def update(self, workers: Mapping[str, Mapping[str, Any]], now: float) -> list[DaskNode]:
        """Take in a fresh worker list; returns the nodes that left."""
        gone = []
        for address, node in list(self.nodes.items()):
            info = workers.get(address)
            status = str(info.get("status", "running")) if info is not None else ""
            if status in PRESENT:
                node.status = status
                if node.suspect_until and now >= node.suspect_until:
                    node.suspect_until = 0.0  # still listed after a loss: it is alive
                continue
            gone.append(self.nodes.pop(address))
        for address, info in workers.items():
            if address not in self.nodes and str(info.get("status", "running")) in PRESENT:
                self.nodes[address] = DaskNode(address, info)
        return gone

    def totals(self) -> dict[str, float]:
        total: dict[str, float] = {}
        for node in self.nodes.values():
            for key, value in node.totals().items():
                total[key] = total.get(key, 0.0) + value
        return total

    def place(self, need: Mapping[str, float], now: float) -> tuple[DaskNode, Allocation] | None:
        """Reserve ``need`` on the least loaded available worker that has room now."""
        nodes = [n for n in self.nodes.values() if n.available(now)]
        nodes.sort(key=lambda n: (n.load(), n.address))
        for node in nodes:
            allocation = node.try_acquire(need)
            if allocation is not None:
                return node, allocation
        return None
