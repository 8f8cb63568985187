"""Authenticated listeners for workers that connect back to the controller: over TCP
(workers on other hosts, :class:`TcpListener`) or a Unix socket (local worker processes,
:class:`UnixListener`).

Connections are accepted in a thread; each is authenticated in a short-lived thread of its
own (HMAC challenge in both directions with the experiment's random key, as
``multiprocessing.connection`` does) with a timeout on every read and write
(``HANDSHAKE_TIMEOUT_S``), so that a stray, silent or stalled client never blocks the others
and never holds a thread for long; nothing is unpickled before authentication succeeds. The
first message of an authenticated worker, its hello, is read there too. The controller's loop
waits on :meth:`SocketListener.fileno` and collects arrivals with
:meth:`SocketListener.drain`; other threads can post items of their own with
:meth:`SocketListener.notify` (they wake the loop).

:meth:`SocketListener.close` wakes the accept thread (it waits on the listening socket and a
stop pipe, never in a blocking ``accept()``), joins it and the handshake threads, and closes
every descriptor it opened: a process can run many experiments one after another with a
constant number of threads and open files.
"""

from __future__ import annotations

import contextlib
import os
import queue
import selectors
import socket
import struct
import threading
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
from typing import Any
from urllib.parse import urlsplit

from tunelab.execution import _protocol as P

__all__ = [
    "HANDSHAKE_TIMEOUT_S",
    "SocketListener",
    "TcpListener",
    "UnixListener",
    "default_listen_host",
]

#: seconds a connecting client may take for each step of the handshake (reading the
#: challenge's answer, ...); a client that says nothing for that long is dropped
HANDSHAKE_TIMEOUT_S = 10.0
#: seconds an authenticated worker may take to send its hello
HELLO_TIMEOUT_S = 30.0
_LOOPBACK = ("127.", "localhost", "::1", "0.0.0.0")


def _set_timeouts(sock: socket.socket, seconds: float) -> None:
    """Kernel timeouts on blocking reads and writes of ``sock`` (0: none). Unlike
    ``settimeout`` they leave the descriptor blocking, as ``Connection`` needs."""
    whole = int(seconds)
    value = struct.pack("ll", whole, int((seconds - whole) * 1e6))
    for option in (socket.SO_RCVTIMEO, socket.SO_SNDTIMEO):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, option, value)


class SocketListener:
    """Accept and authenticate workers knowing ``authkey`` on the listening ``server``.

    :meth:`drain` returns ``("conn", connection, hello)`` (a ``_protocol.Hello``) for each
    authenticated worker and the items posted with :meth:`notify`, in arrival order.
    """

    def __init__(self, server: socket.socket, authkey: bytes) -> None:
        server.setblocking(False)
        self._server = server
        self._authkey = authkey
        self._inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        self._handshaking: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)  # a full pipe already wakes the loop
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(
            target=self._accept_loop, name="tunelab-accept", daemon=True
        )
        self._thread.start()

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
        with self._lock, contextlib.suppress(OSError):
            if self._wake_r >= 0:
                os.read(self._wake_r, 65536)
        items = []
        while True:
            try:
                items.append(self._inbox.get_nowait())
            except queue.Empty:
                return items

    def close(self) -> None:
        """Stop accepting, end the accept and handshake threads (joined), and close every
        descriptor; connections that arrived but were never collected are closed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for sock in self._handshaking:  # wakes their blocked reads
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            threads = list(self._threads)
        with contextlib.suppress(OSError):
            os.write(self._stop_w, b"x")
        self._thread.join(timeout=5.0)
        self._server.close()
        self._after_close()
        for thread in threads:
            thread.join(timeout=2.0)
        for item in self.drain():
            if item[0] == "conn":
                item[1].close()
        with self._lock:
            for fd in (self._wake_r, self._wake_w, self._stop_r, self._stop_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._wake_r = self._wake_w = self._stop_r = self._stop_w = -1

    def _after_close(self) -> None:
        """Subclasses: remove what the listening socket left behind (a socket file)."""

    def _accept_loop(self) -> None:
        server = self._server
        with selectors.DefaultSelector() as selector:
            selector.register(server, selectors.EVENT_READ)
            selector.register(self._stop_r, selectors.EVENT_READ)
            while True:
                events = selector.select()
                if any(key.fileobj == self._stop_r for key, _ in events):
                    return
                try:
                    sock, _ = server.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:  # out of descriptors, a connection reset before accept
                    if self._closed:
                        return
                    selector.select(timeout=0.1)  # not a busy loop while it lasts
                    continue
                sock.setblocking(True)
                thread = threading.Thread(
                    target=self._handshake, args=(sock,), name="tunelab-auth", daemon=True
                )
                with self._lock:
                    if self._closed:
                        sock.close()
                        return
                    self._handshaking.add(sock)
                    self._threads.add(thread)
                thread.start()

    def _handshake(self, sock: socket.socket) -> None:
        conn: Connection[Any, Any] | None = None
        hello: Any = None
        try:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _set_timeouts(sock, HANDSHAKE_TIMEOUT_S)
            # the connection owns a duplicate: ``sock`` stays ours, for close() to shut down
            conn = Connection(os.dup(sock.fileno()))
            deliver_challenge(conn, self._authkey)
            answer_challenge(conn, self._authkey)
            if not conn.poll(HELLO_TIMEOUT_S):
                raise TimeoutError("no hello")
            hello = P.decode_hello(P.loads(conn.recv_bytes()))  # authenticated peer
            _set_timeouts(sock, 0)
        except Exception:  # failed authentication, a silent or stray client, a closed socket
            if conn is not None:
                conn.close()
            conn = None
        finally:
            with self._lock:
                self._handshaking.discard(sock)
                self._threads.discard(threading.current_thread())
                sock.close()
                closed = self._closed
        if conn is None:
            return
        if closed:
            conn.close()
            return
        self.notify(("conn", conn, hello))


class TcpListener(SocketListener):
    """Listen on ``(host, port)`` (port 0: any free port) for workers knowing ``authkey``."""

    def __init__(self, host: str, port: int, authkey: bytes) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server = socket.create_server((host, port), family=family, backlog=128)
        self.address: tuple[str, int] = (host, int(server.getsockname()[1]))
        super().__init__(server, authkey)


class UnixListener(SocketListener):
    """Listen on the Unix socket ``path`` (created here) for workers knowing ``authkey``."""

    def __init__(self, path: str, authkey: bytes) -> None:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            server.bind(path)
            server.listen(128)
        except BaseException:
            server.close()
            raise
        self.address = path
        super().__init__(server, authkey)

    def _after_close(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.address)


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
