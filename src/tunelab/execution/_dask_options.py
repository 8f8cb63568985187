"""Validation of :class:`~tunelab.execution.dask.DaskExecutor`'s arguments, and which
``sys.path`` entries of the controller are worth sending to Dask workers."""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["check_listen", "check_number", "check_target", "user_path"]


def check_target(distributed: Any, value: Any) -> None:
    """``client_or_address``: a synchronous Client, a cluster object or an address."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError(
                "DaskExecutor: client_or_address must be a scheduler address such as "
                "'tcp://host:8786', got an empty string"
            )
    elif isinstance(value, distributed.Client):
        if value.asynchronous:
            raise ValueError(
                "DaskExecutor: client_or_address must be a synchronous distributed.Client "
                f"(asynchronous=False), got {value!r}"
            )
    elif not isinstance(getattr(value, "scheduler_address", None), str):
        raise TypeError(
            "DaskExecutor: client_or_address must be a distributed.Client, a Dask cluster "
            f"or a scheduler address string, got {value!r}"
        )


def check_listen(host: Any, port: Any) -> None:
    if host is not None and not isinstance(host, str):
        raise TypeError(f"DaskExecutor: listen_host must be None or a string, got {host!r}")
    if host is not None and not host.strip():
        raise ValueError(
            "DaskExecutor: listen_host must be None or a host name/address, got an empty string"
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"DaskExecutor: listen_port must be an int in 0..65535, got {port!r}")


def check_number(name: str, value: Any, *, low: float, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"DaskExecutor: {name} must be a number, got {value!r}")
    if value < low or (strict and value == low):
        rule = f"> {low:g}" if strict else f">= {low:g}"
        raise ValueError(f"DaskExecutor: {name} must be {rule}, got {value!r}")
    return float(value)


def user_path(path: str) -> bool:
    """True for an absolute ``sys.path`` entry outside the Python installation (the user's
    own directories); the environment's entries would shadow the packages of workers that
    have another installation."""
    if not path or not os.path.isabs(path):
        return False
    if "site-packages" in path or "dist-packages" in path:
        return False
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    return not any(path == p or path.startswith(p.rstrip(os.sep) + os.sep) for p in prefixes)
