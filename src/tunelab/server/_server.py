"""``TuneServer``: binds the HTTP server of :mod:`tunelab.server._http` and runs it in a
daemon thread of the driver."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from tunelab.server._commands import Commands
from tunelab.server._http import DEFAULT_PORT, MAX_BODY_BYTES, _App, _Handler, _Server, new_token
from tunelab.server._state import ResultStore

__all__ = ["TuneServer", "check_port"]

logger = logging.getLogger("tunelab.server")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TuneServer:
    """Serves the REST API and the dashboard of ``store`` in a background thread.

    ``commands`` applies stop/add requests (None: read-only, those requests get 403).
    ``host`` defaults to 127.0.0.1 (another address exposes the server beyond this machine:
    a warning is logged; the token is still required). ``port=0`` picks a free port (read
    it back from :attr:`port`). ``token`` defaults to a fresh random one.
    """

    DEFAULT_PORT = DEFAULT_PORT

    def __init__(
        self,
        store: ResultStore,
        commands: Commands | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        token: str | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        if not isinstance(store, ResultStore):
            raise TypeError(f"store must be a ResultStore, got {store!r}")
        if not isinstance(host, str) or not host:
            raise TypeError(f"host must be a non-empty string, got {host!r}")
        check_port(port, "port")
        if token is not None and (not isinstance(token, str) or len(token) < 16):
            raise ValueError("token must be a string of at least 16 characters (or None)")
        if (
            isinstance(max_body_bytes, bool)
            or not isinstance(max_body_bytes, int)
            or max_body_bytes < 1024
        ):
            raise ValueError(f"max_body_bytes must be an int >= 1024, got {max_body_bytes!r}")
        self.store = store
        self._app = _App(store, commands, token or new_token(), max_body_bytes)
        self._host = host
        self._requested_port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._on_stop: list[Callable[[], None]] = []

    @property
    def token(self) -> str:
        return self._app.token.decode()

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The bound port (the requested one until :meth:`start`)."""
        if self._httpd is not None:
            return int(self._httpd.server_address[1])
        return self._requested_port

    @property
    def url(self) -> str:
        """``http://host:port`` (the API's base address)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def dashboard_url(self) -> str:
        """The dashboard page's address, token included."""
        return f"{self.url}/?token={self.token}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def add_stop_hook(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` when the server stops (e.g. to end a disk reader)."""
        self._on_stop.append(hook)

    def start(self) -> TuneServer:
        """Bind and serve in a daemon thread. OSError when the port is taken."""
        if self._httpd is not None:
            raise RuntimeError("the server is already started")
        if not _is_loopback(self._host):
            logger.warning(
                "tunelab server: listening on %s makes the API reachable from other machines "
                "(requests still need the token; traffic is not encrypted)",
                self._host,
            )
        server_class = _Server
        if ":" in self._host:

            class _Server6(_Server):
                address_family = socket.AF_INET6

            server_class = _Server6
        httpd = server_class((self._host, self._requested_port), _Handler)
        httpd.app = self._app
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"tunelab-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("tunelab server: listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        hooks, self._on_stop = self._on_stop, []
        for hook in hooks:
            hook()

    def __enter__(self) -> TuneServer:
        if self._httpd is None:
            self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"TuneServer({self.url}, {state})"


def check_port(port: Any, argument: str) -> None:
    """ValueError/TypeError unless ``port`` is an int in 0..65535 (0 = any free port)."""
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"{argument} must be an int port number (0 = any free port), got {port!r}")
    if not 0 <= port <= 65535:
        raise ValueError(f"{argument} must be between 0 and 65535, got {port!r}")
