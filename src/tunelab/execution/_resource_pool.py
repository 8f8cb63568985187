"""Resource accounting for one executor: what exists, what is in use, which GPUs a trial got.

Pure bookkeeping (no processes, no files). GPUs are devices with capacity 1.0 each: whole
requests take whole free devices; a fractional request (< 1) shares a device with others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tunelab._resources import PlacementGroupFactory, _fmt

_EPS = 1e-9


@dataclass
class Allocation:
    """What one trial holds: resource amounts and the GPU devices (id -> fraction)."""

    amounts: dict[str, float]
    gpus: dict[str, float] = field(default_factory=dict)

    @property
    def gpu_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.gpus))


class ResourcePool:
    """Totals, usage and GPU placement. ``total`` holds CPU, GPU, memory and custom names."""

    def __init__(self, total: dict[str, float], gpu_ids: list[str] | None = None) -> None:
        self.total = {k: float(v) for k, v in total.items()}
        ids = (
            list(gpu_ids)
            if gpu_ids is not None
            else [str(i) for i in range(int(total.get("GPU", 0)))]
        )
        self.total["GPU"] = float(len(ids))
        self._gpu_free = {gpu: 1.0 for gpu in ids}
        self.used: dict[str, float] = {k: 0.0 for k in self.total}

    def why_never_fits(self, request: PlacementGroupFactory) -> str | None:
        """None if ``request`` fits an empty pool, else a sentence saying what is missing."""
        need = request.required_resources
        problems = []
        for key, amount in sorted(need.items()):
            have = self.total.get(key, 0.0)
            if amount > have + _EPS:
                problems.append(f"{_fmt(amount)} {key} (this executor has {_fmt(have)})")
        gpu = need.get("GPU", 0.0)
        if gpu > 1 and not float(gpu).is_integer():
            problems.append(f"{gpu:g} GPU (fractional GPU requests must be below 1 or whole)")
        if problems:
            return (
                f"the trial asks for {request.describe()}, which can never fit: "
                + "; ".join(problems)
                + f". Available in total: {self.describe_total()}"
            )
        return None

    def describe_total(self) -> str:
        return ", ".join(f"{_fmt(v)} {k}" for k, v in sorted(self.total.items()) if v) or "nothing"

    def fits_now(self, request: PlacementGroupFactory) -> bool:
        """Whether :meth:`try_acquire` would reserve ``request`` now (nothing changes)."""
        return self._room(request.required_resources) is not None

    def _room(self, need: dict[str, float]) -> dict[str, float] | None:
        """The GPU fractions the amounts ``need`` would take now; None when they do not fit."""
        for key, amount in need.items():
            if key == "GPU":
                continue
            if self.used.get(key, 0.0) + amount > self.total.get(key, 0.0) + _EPS:
                return None
        return self._place_gpus(need.get("GPU", 0.0))

    def try_acquire(self, request: PlacementGroupFactory) -> Allocation | None:
        need = request.required_resources
        gpus = self._room(need)
        if gpus is None:
            return None
        for key, amount in need.items():
            self.used[key] = self.used.get(key, 0.0) + amount
        for gpu, fraction in gpus.items():
            self._gpu_free[gpu] -= fraction
        return Allocation(dict(need), gpus)

    def _place_gpus(self, amount: float) -> dict[str, float] | None:
        if amount <= _EPS:
            return {}
        if amount < 1:
            candidates = [g for g, free in self._gpu_free.items() if free + _EPS >= amount]
            if not candidates:
                return None
            best = min(candidates, key=lambda g: (self._gpu_free[g], g))
            return {best: amount}
        count = math.ceil(amount - _EPS)
        free = [g for g, left in self._gpu_free.items() if left >= 1 - _EPS]
        if len(free) < count:
            return None
        return {g: 1.0 for g in free[:count]}

    def release(self, allocation: Allocation) -> None:
        for key, amount in allocation.amounts.items():
            self.used[key] = max(0.0, self.used.get(key, 0.0) - amount)
        for gpu, fraction in allocation.gpus.items():
            self._gpu_free[gpu] = min(1.0, self._gpu_free[gpu] + fraction)


def detect_gpus() -> list[str]:
    """GPU ids visible to this process: CUDA_VISIBLE_DEVICES if set, else nvidia-smi."""
    import os
    import shutil
    import subprocess

    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [v.strip() for v in visible.split(",") if v.strip() and v.strip() != "-1"]
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]
