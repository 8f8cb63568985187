"""An authenticated TCP listener for workers that connect back from other hosts.

Connections are accepted in a thread; each is authenticated in a thread of its own
(HMAC challenge in both directions with the experiment's random key, as
``multiprocessing.connection`` does) so that a stray or stalled client never blocks the
others, and nothing is unpickled before authentication succeeds. The first message of an
authenticated worker, its hello, is read there too. The controller's loop waits on
:meth:`TcpListener.fileno` and collects arrivals with :meth:`TcpListener.drain`; other
threads can post items of their own with :meth:`TcpListener.notify` (they wake the loop).
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import threading
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
from typing import Any
from urllib.parse import urlsplit

from tunelab.execution import _protocol as P

__all__ = ["TcpListener", "default_listen_host"]

HELLO_TIMEOUT_S = 30.0
_LOOPBACK = ("127.", "localhost", "::1", "0.0.0.0")


class TcpListener:
    """Listen on ``(host, port)`` (port 0: any free port) for workers knowing ``authkey``.

    :meth:`drain` returns ``("conn", connection, hello)`` for each authenticated worker and
    the items posted with :meth:`notify`, in arrival order.
    """

    def __init__(self, host: str, port: int, authkey: bytes) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._server: socket.socket | None = socket.create_server(
            (host, port), family=family, backlog=128
        )
        self.address: tuple[str, int] = (host, int(self._server.getsockname()[1]))
        self._authkey = authkey
        self._inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)  # a full pipe already wakes the loop
        threading.Thread(
            target=self._accept_loop, args=(self._server,), name="tunelab-accept", daemon=True
        ).start()

    def fileno(self) -> int:
        """A descriptor that becomes readable when :meth:`drain` has something."""
        return self._wake_r

    def notify(self, item: tuple[Any, ...]) -> None:
        """Post ``item`` and wake the waiting loop (any thread)."""
        self._inbox.put(item)
        with self._lock, contextlib.suppress(OSError):  # never a descriptor closed meanwhile
            if self._wake_w >= 0:
                os.write(self._wake_w, b"x")

    def drain(self) -> list[tuple[Any, ...]]:
        with contextlib.suppress(OSError):
            os.read(self._wake_r, 65536)
        items = []
        while True:
            try:
                items.append(self._inbox.get_nowait())
            except queue.Empty:
                return items

    def close(self) -> None:
        """Stop accepting; connections that arrived but were never collected are closed."""
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            server.close()
        for item in self.drain():
            if item[0] == "conn":
                item[1].close()
        with self._lock:
            for fd in (self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._wake_r = self._wake_w = -1

    def _accept_loop(self, server: socket.socket) -> None:
        while True:
            try:
                sock, _ = server.accept()
            except OSError:
                if self._server is not server:
                    return
                continue
            threading.Thread(
                target=self._handshake, args=(sock,), name="tunelab-auth", daemon=True
            ).start()

    def _handshake(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn: Connection[Any, Any] = Connection(sock.detach())
        try:
            deliver_challenge(conn, self._authkey)
            answer_challenge(conn, self._authkey)
            if not conn.poll(HELLO_TIMEOUT_S):
                raise TimeoutError("no hello")
            hello = P.loads(conn.recv_bytes())  # authenticated peer
            if not (isinstance(hello, tuple) and len(hello) >= 5 and hello[0] == "hello"):
                raise ValueError("not a hello")
        except Exception:  # failed authentication, a stray client, a closed socket
            conn.close()
            return
        if self._server is None:
            conn.close()
            return
        self.notify(("conn", conn, hello))


def default_listen_host(scheduler: str) -> str:
    """An address of this host that the network of ``scheduler`` (an address such as
    ``tcp://10.0.0.5:8786``) can reach: 127.0.0.1 for a scheduler on this host, else the
    address of the interface on the route to it."""
    parts = urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}")
    host = parts.hostname or ""
    if not host or parts.scheme == "inproc" or host.startswith(_LOOPBACK):
        return "127.0.0.1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((host, parts.port or 8786))  # a UDP connect sends no packet
            return str(probe.getsockname()[0])
    except OSError:
        return socket.gethostbyname(socket.gethostname())
