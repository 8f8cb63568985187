"""The Dask side of :class:`~tunelab.execution.dask.DaskExecutor`: what one Dask task runs.

:func:`serve_trials` is submitted as a Dask task. It connects back to the controller over
TCP, authenticates with the experiment's key (HMAC challenge in both directions, before
anything is unpickled), says hello and runs the ordinary worker loop
(:class:`~tunelab.execution._worker.Worker`) in this Dask worker thread until the
controller sends "exit" or the connection drops. One task may serve several trials in a row
when they ask for the same resources.

Trainables are cached per Dask worker process (:data:`CACHE_SIZE` most recently used): the
hello names the cached ones, and the controller sends a trainable's blob only to processes
that do not have it. Objects passed with ``with_parameters``/``pin_in_object_store`` travel
inside the blob and are unpickled once per process.

This module does not import dask; it only runs inside Dask workers.
"""

from __future__ import annotations

import os
import socket
import threading
from collections import OrderedDict
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
from typing import Any

__all__ = ["CACHE_SIZE", "connect", "serve_trials"]

CACHE_SIZE = 8
"""How many loaded trainables a Dask worker process keeps for later tasks."""

_cache: OrderedDict[str, Any] = OrderedDict()
_cache_lock = threading.Lock()
_ORIGINAL_GPUS = os.environ.get("CUDA_VISIBLE_DEVICES")


def connect(host: str, port: int, authkey: bytes, timeout: float) -> Connection[Any, Any]:
    """Open an authenticated connection to the controller (mutual HMAC challenge)."""
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(None)  # Connection uses blocking reads on the descriptor
    except OSError:
        sock.close()
        raise
    conn: Connection[Any, Any] = Connection(sock.detach())
    try:
        if not conn.poll(timeout):
            raise TimeoutError(f"the controller at {host}:{port} did not start the handshake")
        answer_challenge(conn, authkey)
        deliver_challenge(conn, authkey)
    except BaseException:
        conn.close()
        raise
    return conn


def physical_gpu_ids(logical: list[str]) -> list[str]:
    """Map the controller's per-worker GPU indices ("0", "1", ...) onto the devices this
    process was started with (its own ``CUDA_VISIBLE_DEVICES``, when it had one)."""
    visible = [g.strip() for g in (_ORIGINAL_GPUS or "").split(",") if g.strip()]
    out = []
    for gpu in logical:
        index = int(gpu) if gpu.isdigit() else -1
        out.append(visible[index] if 0 <= index < len(visible) else gpu)
    return out


def serve_trials(
    host: str,
    port: int,
    authkey: bytes,
    token: str,
    gpu_ids: list[str] | None,
    exclusive: bool,
    connect_timeout_s: float,
) -> None:
    """Body of one Dask task: serve trials for the controller at ``host:port``.

    ``gpu_ids``: None leaves ``CUDA_VISIBLE_DEVICES`` alone; a list sets it to those
    devices for the task. ``exclusive``: this Dask worker runs one thread, so the task owns
    the process environment and restores it when it ends.
    """
    from tunelab.execution import _protocol as P
    from tunelab.execution._worker import Worker
    from tunelab.trainable._progress import process_info

    conn = connect(host, port, authkey, connect_timeout_s)
    with _cache_lock:
        loaded = dict(_cache)
    previous = os.environ.get("CUDA_VISIBLE_DEVICES")
    if gpu_ids is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(physical_gpu_ids(gpu_ids))
    worker = Worker(conn, in_process=True, trainables=dict(loaded))
    pid, hostname, ip = process_info()
    try:
        worker.serve(P.hello_message(token, pid, hostname, ip, cached=sorted(loaded)))
    finally:
        if gpu_ids is not None and exclusive:
            if previous is None:
                os.environ.pop("CUDA_VISIBLE_DEVICES", None)
            else:
                os.environ["CUDA_VISIBLE_DEVICES"] = previous
        _remember(worker._trainables)
        conn.close()


def _remember(trainables: dict[str, Any]) -> None:
    with _cache_lock:
        for key, trainable in trainables.items():
            _cache[key] = trainable
            _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def cached_keys() -> list[str]:
    """Keys of the trainables this process holds (for tests and diagnostics)."""
    with _cache_lock:
        return list(_cache)
