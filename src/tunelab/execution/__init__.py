"""Execution: executors place trials on workers; the worker loop runs trainables.

Holds the :class:`Executor` interface and its implementations (local worker processes,
in-process threads, Dask, and the simulated executor), the worker protocol
(``_protocol``: the task and every event, typed), the per-result state machine
(``_result_machine``) and the worker loop (``_worker``).

May import: the foundation modules at the package root (``tunelab._trial``, ``_errors``,
``_resources``, ``_checkpoint``, ``_session``, ``_storage``, ...), ``tunelab.trainable``
and, for decision points and dict stop criteria, the policies' value types
(``tunelab.schedulers``, ``tunelab.stopper``). Never the core (``tunelab._core``), the
persistence layer, the front doors or the outputs. ``tests/unit/test_layers.py`` checks it.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunelab.execution._executor import Executor
    from tunelab.execution._inprocess import InProcessExecutor
    from tunelab.execution._local import LocalExecutor
    from tunelab.execution.dask import DaskExecutor

__all__ = ["DaskExecutor", "Executor", "InProcessExecutor", "LocalExecutor"]

# imported on first use: a worker process imports its own modules of this package only,
# and dask is an optional extra
_LAZY = {
    "DaskExecutor": "tunelab.execution.dask",
    "Executor": "tunelab.execution._executor",
    "InProcessExecutor": "tunelab.execution._inprocess",
    "LocalExecutor": "tunelab.execution._local",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tunelab.execution' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # DaskExecutor too (imported on first use), so that dir() and Sphinx autodoc list it
    return sorted(set(globals()) | set(__all__))
