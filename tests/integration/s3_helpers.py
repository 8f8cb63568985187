"""Helpers for the tests against the moto S3 server (fixtures: conftest.py)."""

from __future__ import annotations

import socket
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def s3() -> Any:
    """An s3fs filesystem on the server of ``AWS_ENDPOINT_URL`` (no instance cache)."""
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True)


def remote_files(prefix: str) -> set[str]:
    """Every file under ``bucket/prefix``, relative to it."""
    return {path[len(prefix) + 1 :] for path in s3().find(prefix)}
