"""Execution: executors place trials on workers; the worker loop runs trainables."""

from tunelab.execution._executor import Executor
from tunelab.execution._inprocess import InProcessExecutor
from tunelab.execution._local import LocalExecutor

__all__ = ["Executor", "InProcessExecutor", "LocalExecutor"]
