"""Execution: executors place trials on workers; the worker loop runs trainables."""

from typing import Any

from tunelab.execution._executor import Executor
from tunelab.execution._inprocess import InProcessExecutor
from tunelab.execution._local import LocalExecutor

__all__ = ["DaskExecutor", "Executor", "InProcessExecutor", "LocalExecutor"]


def __getattr__(name: str) -> Any:
    if name == "DaskExecutor":  # imported on first use: dask is an optional extra
        from tunelab.execution.dask import DaskExecutor

        return DaskExecutor
    raise AttributeError(f"module 'tunelab.execution' has no attribute {name!r}")


def __dir__() -> list[str]:
    # DaskExecutor too (imported on first use), so that dir() and Sphinx autodoc list it
    return sorted(set(globals()) | set(__all__))
