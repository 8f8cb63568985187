"""Workloads shared by the tunelab and anchor (Ray Tune, Optuna) runners.

Each runner is a small script run in its own interpreter (so that imports, process start
and memory are measured honestly) that prints one JSON line of measurements.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any


class RssSampler:
    """Samples the RSS of this process and of all its children every 50 ms."""

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self.driver_peak = 0
        self.total_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                driver = self._proc.memory_info().rss
                total = driver
                for child in self._proc.children(recursive=True):
                    try:
                        total += child.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                continue
            self.driver_peak = max(self.driver_peak, driver)
            self.total_peak = max(self.total_peak, total)
            self._stop.wait(0.05)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def mb(value: float) -> float:
    return round(value / 2**20, 1)


def now() -> float:
    return time.perf_counter()


def cpu_count() -> int:
    return os.cpu_count() or 1
