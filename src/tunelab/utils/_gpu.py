"""``wait_for_gpu``: block until a GPU's memory is free (reads ``nvidia-smi``)."""

from __future__ import annotations

import logging
import math
import numbers
import os
import shutil
import time
import warnings
from typing import Any, NamedTuple

__all__ = ["wait_for_gpu"]

logger = logging.getLogger("tunelab")

_QUERY = "--query-gpu=index,uuid,memory.used,memory.total"


class _GpuMemory(NamedTuple):
    ordinal: str
    uuid: str
    used: float
    total: float


def _query_gpus() -> list[_GpuMemory]:
    """Memory use of every GPU ``nvidia-smi`` lists (RuntimeError when there is none)."""
    import subprocess

    exe = shutil.which("nvidia-smi")
    if exe is None:
        raise RuntimeError(
            "wait_for_gpu needs an NVIDIA GPU, but the nvidia-smi command was not found on "
            "PATH: no GPU (or no NVIDIA driver) is available on this machine"
        )
    try:
        proc = subprocess.run(
            [exe, _QUERY, "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError(f"wait_for_gpu could not run nvidia-smi: {exc}") from exc
    if proc.returncode != 0:
        raise RuntimeError(
            f"nvidia-smi failed with exit code {proc.returncode}: "
            f"{(proc.stderr or proc.stdout).strip()} (no usable GPU)"
        )
    gpus = []
    for line in proc.stdout.splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) != 4:
            continue
        try:
            gpus.append(_GpuMemory(parts[0], parts[1], float(parts[2]), float(parts[3])))
        except ValueError:
            continue
    if not gpus:
        raise RuntimeError("nvidia-smi lists no GPU: no GPU is available on this machine")
    return gpus


def _fraction(argument: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{argument} must be a number between 0 and 1, got {type(value).__name__}: {value!r}"
        )
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{argument} must be between 0 and 1, got {value!r}")
    return number


def _default_gpu_id() -> str | None:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return None
    ids = [part.strip() for part in visible.split(",") if part.strip()]
    if not ids:
        raise RuntimeError(
            "wait_for_gpu: CUDA_VISIBLE_DEVICES is empty, so no GPU is assigned to this "
            "process; request GPUs for the trial (resources_per_trial={'gpu': 1})"
        )
    return ids[0]


def _select(gpus: list[_GpuMemory], gpu_id: str | None) -> _GpuMemory:
    if gpu_id is None:
        return gpus[0]
    for gpu in gpus:
        if gpu_id in (gpu.ordinal, gpu.uuid):
            return gpu
    listed = ", ".join(f"{gpu.ordinal} ({gpu.uuid})" for gpu in gpus)
    raise RuntimeError(f"wait_for_gpu: GPU {gpu_id!r} not found; nvidia-smi lists: {listed}")


def wait_for_gpu(
    gpu_id: int | str | None = None,
    target_util: float = 0.01,
    retry: int = 20,
    delay_s: float = 5,
    gpu_memory_limit: float | None = None,
) -> bool:
    """Wait until the GPU's memory utilisation is at most ``target_util``; return True.

    ``gpu_id`` is a GPU index (int or str) or UUID as ``nvidia-smi`` shows them; by default
    the first id in ``CUDA_VISIBLE_DEVICES`` (or the first GPU when it is unset). Checks
    ``retry`` times, ``delay_s`` seconds apart, then raises ``RuntimeError``; also raises
    ``RuntimeError`` when no GPU or no ``nvidia-smi`` is available. ``gpu_memory_limit`` is
    the deprecated name of ``target_util``. Call it at the start of a GPU trainable so that
    a trial does not start while the previous one still holds GPU memory.
    """
    if gpu_id is not None and (
        isinstance(gpu_id, bool) or not isinstance(gpu_id, (numbers.Integral, str))
    ):
        raise TypeError(
            f"gpu_id must be a GPU index (int or str), a GPU UUID or None, got "
            f"{type(gpu_id).__name__}: {gpu_id!r}"
        )
    if gpu_memory_limit is not None:
        warnings.warn(
            "wait_for_gpu(gpu_memory_limit=...) is deprecated; use target_util=...",
            DeprecationWarning,
            stacklevel=2,
        )
        target_util = gpu_memory_limit
    target = _fraction(
        "gpu_memory_limit" if gpu_memory_limit is not None else "target_util", target_util
    )
    if isinstance(retry, bool) or not isinstance(retry, numbers.Integral) or retry < 1:
        raise ValueError(f"retry must be an int >= 1, got {retry!r}")
    if (
        isinstance(delay_s, bool)
        or not isinstance(delay_s, numbers.Real)
        or not math.isfinite(delay_s)
        or delay_s < 0
    ):
        raise ValueError(f"delay_s must be a number of seconds >= 0, got {delay_s!r}")
    wanted = str(gpu_id) if gpu_id is not None else _default_gpu_id()
    utilisation = math.nan
    for attempt in range(int(retry)):
        gpu = _select(_query_gpus(), wanted)
        utilisation = gpu.used / gpu.total if gpu.total > 0 else 0.0
        if utilisation <= target:
            return True
        logger.info(
            "GPU %s memory utilisation is %.1f%% (target %.1f%%); check %d of %d",
            gpu.ordinal,
            100 * utilisation,
            100 * target,
            attempt + 1,
            retry,
        )
        if attempt + 1 < retry:
            time.sleep(delay_s)
    raise RuntimeError(
        f"wait_for_gpu: the memory of GPU {wanted if wanted is not None else 0} was not freed: "
        f"utilisation {100 * utilisation:.1f}% > target_util {target} after {retry} checks "
        f"{delay_s} s apart"
    )
