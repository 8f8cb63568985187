"""System utilisation in results (``config={"log_sys_usage": True}``) and the slow-block
warning: Ray Tune's ``UtilMonitor`` and ``warn_if_slow``."""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

__all__ = ["UtilMonitor", "trial_sys_usage", "warn_if_slow"]

logger = logging.getLogger("tunelab")

_GPU_QUERY = "--query-gpu=index,utilization.gpu,memory.used,memory.total"


class UtilMonitor(threading.Thread):
    """A daemon thread that samples the machine's utilisation every ``delay`` seconds.

    Each sample records ``cpu_util_percent`` and ``ram_util_percent`` (psutil, in percent)
    and, where ``nvidia-smi`` is on ``PATH``, ``gpu_util_percent<i>`` and
    ``vram_util_percent<i>`` for every GPU ``i`` as fractions in [0, 1] (Ray Tune's values,
    read through GPUtil, are fractions despite the names). :meth:`get_data` returns the
    means of the samples taken since the previous call as ``{"perf": {...}}`` and forgets
    them (when no sample was taken since, the previous means again, so that frequent results
    all carry values); it returns ``{}`` before the thread runs and after :meth:`stop`.

    In a trial whose config has ``"log_sys_usage": True``, tunelab runs one and adds its
    ``perf`` dict to every result (:func:`trial_sys_usage`). ``start=False`` creates it
    without starting it.
    """

    def __init__(self, start: bool = True, delay: float = 0.7) -> None:
        super().__init__(name="tunelab-util-monitor", daemon=True)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay <= 0:
            raise ValueError(f"`delay` must be a number of seconds > 0, got {delay!r}")
        self.delay = float(delay)
        self.stopped = True
        self.values: defaultdict[str, list[float]] = defaultdict(list)
        self.lock = threading.Lock()
        self._wake = threading.Event()
        self._last: dict[str, float] = {}
        self._nvidia_smi = shutil.which("nvidia-smi")
        import psutil

        self._psutil = psutil
        psutil.cpu_percent(interval=None)  # the first reading only starts the measure
        if start:
            self.start()

    def start(self) -> None:
        self.stopped = False
        super().start()

    def run(self) -> None:
        while not self.stopped:
            self._read_utilization()
            self._wake.wait(self.delay)

    def stop(self) -> None:
        """End the sampling (the thread exits within one sample)."""
        self.stopped = True
        self._wake.set()

    def get_data(self) -> dict[str, Any]:
        if self.stopped:
            return {}
        with self.lock:
            from statistics import fmean

            means = {key: fmean(vals) for key, vals in self.values.items() if vals}
            for samples in self.values.values():
                samples.clear()
            if means:
                self._last = means
            else:  # no sample since the last call: repeat the last means
                means = dict(self._last)
        return {"perf": means}

    def _read_utilization(self) -> None:
        cpu = float(self._psutil.cpu_percent(interval=None))
        ram = float(self._psutil.virtual_memory().percent)
        gpus = self._read_gpus()
        with self.lock:
            self.values["cpu_util_percent"].append(cpu)
            self.values["ram_util_percent"].append(ram)
            for index, load, memory in gpus:
                self.values[f"gpu_util_percent{index}"].append(load)
                self.values[f"vram_util_percent{index}"].append(memory)

    def _read_gpus(self) -> list[tuple[str, float, float]]:
        """(index, load fraction, memory fraction) per GPU; [] without nvidia-smi. A failing
        nvidia-smi is not asked again by this monitor."""
        if self._nvidia_smi is None:
            return []
        try:
            proc = subprocess.run(
                [self._nvidia_smi, _GPU_QUERY, "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            logger.debug("tunelab: nvidia-smi failed; GPU utilisation is not sampled")
            self._nvidia_smi = None
            return []
        gpus = []
        for line in proc.stdout.splitlines():
            parts = [part.strip() for part in line.split(",")]
            try:
                index, load, used, total = parts[0], *(float(p) for p in parts[1:4])
            except (ValueError, TypeError, IndexError):
                continue  # "[N/A]" on GPUs that do not report a value
            gpus.append((index, load / 100.0, used / total if total else 0.0))
        return gpus


@contextlib.contextmanager
def trial_sys_usage(config: Any) -> Iterator[UtilMonitor | None]:
    """Run a :class:`UtilMonitor` while the block runs a trial whose ``config`` has a true
    ``"log_sys_usage"``: every result the trial reports in this thread gets the ``perf``
    dict of the samples since its previous result. Yields the monitor, or None (and does
    nothing) for other configs."""
    if not isinstance(config, Mapping) or not config.get("log_sys_usage"):
        yield None
        return
    from tunelab.trainable import _progress

    monitor = UtilMonitor(start=True)
    previous = _progress.set_usage_monitor(monitor)
    try:
        yield monitor
    finally:
        _progress.set_usage_monitor(previous)
        monitor.stop()
        monitor.join(timeout=5)


class warn_if_slow:
    """Log a warning when the block takes longer than ``threshold`` seconds::

        with warn_if_slow("loading the dataset"):
            load()

    ``threshold`` defaults to ``TUNELAB_WARN_THRESHOLD_S`` (Ray: ``TUNE_WARN_THRESHOLD_S``),
    0.5 s unless set; a default of 0 turns the warning off, and ``threshold=None`` or ``0``
    means the default (as in Ray Tune). ``message`` is formatted with ``{name}`` and
    ``{duration}``. ``disable=True`` never warns. After the block, ``too_slow`` says whether
    it warned. The warning goes to the ``tunelab`` logger. Unlike Ray Tune, it warns from
    the start of the process (Ray stays silent in its first 60 s).
    """

    DEFAULT_MESSAGE = (
        "The `{name}` operation took {duration:.3f} s, which may be a performance bottleneck."
    )

    def __init__(
        self,
        name: str,
        threshold: float | None = None,
        message: str | None = None,
        disable: bool = False,
    ) -> None:
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold < 0
        ):
            raise ValueError(
                f"`threshold` must be a number of seconds >= 0 or None, got {threshold!r}"
            )
        if not threshold:
            from tunelab._defaults import warn_threshold_s

            threshold = warn_threshold_s()
        self.name = name
        self.threshold = float(threshold)
        self.message = message or self.DEFAULT_MESSAGE
        self.disable = disable or self.threshold == 0
        self.too_slow = False
        self.start = 0.0

    def __enter__(self) -> warn_if_slow:
        self.start = time.monotonic()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        duration = time.monotonic() - self.start
        if self.disable or duration <= self.threshold:
            return
        self.too_slow = True
        logger.warning(self.message.format(name=self.name, duration=duration))
