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

    The front doors build one for ``with_server=True`` / ``server_port`` (through
    :func:`start_server_for`), and :func:`serve_dashboard` builds a read-only one for
    experiments on disk; build one yourself only to serve a store of your own. The server
    binds when :meth:`start` is called (or on entering a ``with`` block) and serves from a
    daemon thread until :meth:`stop`. Every request but ``/static/...`` and
    ``/openapi.json`` needs ``Authorization: Bearer <token>``; the dashboard page also takes
    the token as ``?token=`` (:attr:`dashboard_url`).

    Args:
        store: The :class:`ResultStore` whose trials and results are served.
        commands: What applies stop and add requests (a :class:`ControllerCommands` for a
            live experiment); None makes the server read-only: those requests get 403.
        host: The address to listen on. The default, 127.0.0.1, is reachable from this
            machine only; any other address exposes the API to other machines (a warning is
            logged: the token is still required, but the traffic is not encrypted). An IPv6
            address listens on IPv6.
        port: The port to listen on (0-65535); 0 picks a free one, read it back from
            :attr:`port` after :meth:`start`. Defaults to 4321.
        token: The token requests must carry, at least 16 characters; None (the default)
            makes a fresh random one (256 bits).
        max_body_bytes: The largest request body accepted (>= 1024); larger ones get 413
            unread. Defaults to 1 MiB.

    Raises:
        TypeError: ``store`` is not a :class:`ResultStore`, ``host`` is not a non-empty
            string, or ``port`` is not an int.
        ValueError: ``port`` is out of range, ``token`` is shorter than 16 characters, or
            ``max_body_bytes`` is below 1024.

    Example::

        with TuneServer(store, None, port=0) as server:
            print(server.dashboard_url)
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
        """The token every request must carry (keep it secret)."""
        return self._app.token.decode()

    @property
    def host(self) -> str:
        """The address the server listens on."""
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
        """Whether the server's thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def add_stop_hook(self, hook: Callable[[], None]) -> None:
        """Have ``hook()`` called once when the server stops (e.g. to end a disk reader or
        remove the token file).

        Args:
            hook: A function without arguments; hooks run in the order they were added.
        """
        self._on_stop.append(hook)

    def start(self) -> TuneServer:
        """Bind the port and serve in a daemon thread.

        Returns:
            The server itself, so that ``server = TuneServer(...).start()`` works.

        Raises:
            RuntimeError: The server was already started.
            OSError: The port cannot be bound (taken, or not allowed).
        """
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
        """Stop serving, close the socket and run the stop hooks.

        Calling it again does nothing. Hooks run once, on the first call.
        """
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
    """Check that ``port`` is an int in 0..65535 (0 = any free port).

    Args:
        port: The value to check.
        argument: The argument's name, used in the error message.

    Raises:
        TypeError: ``port`` is not an int (a bool is not accepted either).
        ValueError: ``port`` is out of range.
    """
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"{argument} must be an int port number (0 = any free port), got {port!r}")
    if not 0 <= port <= 65535:
        raise ValueError(f"{argument} must be between 0 and 65535, got {port!r}")
