"""The HTTP server: the REST API of a running experiment and the dashboard page.

Routes (JSON in and out, never pickles)::

    GET  /                       the dashboard page (token as ?token=... or header)
    GET  /static/<file>          its script and style sheet (public: they hold no data)
    GET  /experiment             name, metric, mode, counts, finished, controllable
    GET  /trials                 {"trials": [info, ...]}
    GET  /trials/<id>            {"trial": info}                     404 unknown id
    GET  /trials/<id>/history    {"trial_id", "results": [metrics, ...]}
    GET  /results?since=N        what changed after sequence number N (live updates)
    POST /trials                 body {"name": str, "spec": {...}}: 201 {"trials": [...]}
    PUT  /trials/<id>            stop the trial: {"trials": [info]}
    PUT  /stop_experiment        stop the experiment: {"trials": [info, ...]}

Every request except ``/static/...`` and ``/openapi.json`` needs the experiment's token, as
``Authorization: Bearer <token>`` (compared in constant time); 401 otherwise, before
anything else is looked at. Bodies over ``max_body_bytes`` get 413 unread, malformed JSON
400, unknown trials 404, methods the server does not know 405; a handler that fails answers
500 and the experiment goes on. Requests are logged to the ``tunelab.server`` logger at DEBUG
level, never to stderr.

A spec posted to ``/trials`` is data: a config value that is code (``{"eval": ...}``) is a
400 whose JSON names the key path (``{"error": ..., "key": "config/lr"}``), and the
controller resolves the spec as untrusted (see :mod:`tunelab.search._resolve`), so nothing
from a request body is ever compiled or unpickled. ``GET /openapi.json`` describes the API.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import re
import secrets
import socket
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tunelab.server._commands import CommandError, Commands, check_trial_spec
from tunelab.server._state import ResultStore

__all__ = ["DEFAULT_PORT", "MAX_BODY_BYTES", "new_token"]

logger = logging.getLogger("tunelab.server")

DEFAULT_PORT = 4321
MAX_BODY_BYTES = 1 << 20
_TOKEN_IN_URL = re.compile(r"(token=)[^&\s]*")
_STATIC_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


#: Methods the server answers (others get 405, not the 501 of ``http.server``).
_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")


class _HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _load_static() -> dict[str, bytes]:
    from importlib import resources

    files: dict[str, bytes] = {}
    folder = resources.files("tunelab.server").joinpath("static")
    if not folder.is_dir():
        return files
    for entry in folder.iterdir():
        if entry.is_file() and _STATIC_NAME.match(entry.name):
            files[entry.name] = entry.read_bytes()
    return files


class _App:
    """What every request handler shares: the store, the commands, the token, the files."""

    def __init__(
        self,
        store: ResultStore,
        commands: Commands | None,
        token: str,
        max_body_bytes: int,
    ) -> None:
        self.store = store
        self.commands = commands
        self.token = token.encode()
        self.max_body = max_body_bytes
        self.static = _load_static()

    def token_ok(self, given: str | None) -> bool:
        if not given:
            return False
        return hmac.compare_digest(given.encode("utf-8", "replace"), self.token)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "tunelab"
    sys_version = ""
    timeout = 30  # seconds a connection may stay silent (slow clients do not pin threads)
    wbufsize = -1  # headers and body leave in one write (flushed after each request)

    _linger = False

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):  # no Nagle delay on small answers
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def finish(self) -> None:
        super().finish()
        if self._linger:
            # a body was left unread (401, 413...): half-close and drain briefly, so that the
            # client reads the answer instead of a connection reset
            with contextlib.suppress(OSError):
                self.request.shutdown(socket.SHUT_WR)
                self.request.settimeout(0.5)
                drained = 0
                while drained < 4 * MAX_BODY_BYTES:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        break
                    drained += len(chunk)

    # -- plumbing ------------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        text = format % args if args else format
        logger.debug("%s %s", self.address_string(), _TOKEN_IN_URL.sub(r"\1***", text))

    def log_error(self, format: str, *args: Any) -> None:
        text = format % args if args else format
        logger.info("%s %s", self.address_string(), _TOKEN_IN_URL.sub(r"\1***", text))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # errors raised by the base class (bad request line, unsupported method...) as JSON;
        # they are the client's doing, so never a 5xx
        self.close_connection = True
        headers: dict[str, str] = {}
        if code == HTTPStatus.NOT_IMPLEMENTED:  # a method the server does not know
            code, message = 405, f"method {self.command!r} is not allowed"
            headers = self._allow_header(_METHODS)
        elif code == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED:
            code, message = 400, message or "HTTP version not supported"
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        if getattr(self, "command", None) is None:
            self.command = ""  # the request line could not be parsed
        self._send_json(code, {"error": message or phrase}, headers, close=True)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        if close:
            self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(
        self,
        status: int,
        data: Any,
        headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        body = json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
        self._send(status, body, "application/json", headers, close)

    def _dispatch(self) -> None:
        self._body_read = False
        try:
            self._route()
        except _HTTPError as exc:
            self._linger = not self._body_read
            self._send_json(
                exc.status, {"error": exc.message}, exc.headers, close=not self._body_read
            )
        except CommandError as exc:
            self._linger = not self._body_read
            answer = {"error": exc.message}
            if exc.key is not None:
                answer["key"] = exc.key
            self._send_json(exc.status, answer, close=not self._body_read)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            logger.exception(
                "tunelab server: request %s %s failed", self.command, self._safe_path()
            )
            try:
                self._send_json(500, {"error": "internal server error"}, close=True)
            except OSError:
                self.close_connection = True

    def _safe_path(self) -> str:
        return _TOKEN_IN_URL.sub(r"\1***", self.path)

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    # -- requests ------------------------------------------------------------------------------
    def _authenticate(self, query: dict[str, list[str]], allow_query: bool) -> None:
        app = self.server.app
        header = self.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and app.token_ok(given.strip()):
            return
        if allow_query and app.token_ok((query.get("token") or [""])[-1]):
            return
        raise _HTTPError(
            401,
            "missing or wrong token: send 'Authorization: Bearer <token>' (the token is in "
            "<experiment dir>/.tunelab_server_token and in the dashboard URL printed at start)",
            {"WWW-Authenticate": 'Bearer realm="tunelab"'},
        )

    def _read_json(self) -> Any:
        if self.headers.get("Transfer-Encoding"):
            raise _HTTPError(411, "chunked request bodies are not accepted; send Content-Length")
        text = self.headers.get("Content-Length")
        if text is None:
            raise _HTTPError(411, "a JSON body with a Content-Length header is required")
        try:
            length = int(text)
        except ValueError:
            raise _HTTPError(400, f"Content-Length must be an integer, got {text!r}") from None
        if length < 0:
            raise _HTTPError(400, f"Content-Length must be >= 0, got {length}")
        limit = self.server.app.max_body
        if length > limit:
            raise _HTTPError(413, f"request body of {length} bytes is over the {limit}-byte limit")
        data = self.rfile.read(length)
        self._body_read = True
        if len(data) != length:
            self.close_connection = True
            raise _HTTPError(400, f"request body ended after {len(data)} of {length} bytes")
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise _HTTPError(400, f"request body is not valid JSON: {exc}") from None

    def _skip_body(self) -> None:
        """Consume a (small) body the route does not use, so the connection stays usable."""
        text = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return
        try:
            length = int(text) if text is not None else 0
        except ValueError:
            raise _HTTPError(400, f"Content-Length must be an integer, got {text!r}") from None
        if length > self.server.app.max_body:
            limit = self.server.app.max_body
            raise _HTTPError(413, f"request body of {length} bytes is over the {limit}-byte limit")
        if length > 0:
            self.rfile.read(length)
        self._body_read = True

    def _route(self) -> None:
        method = self.command
        if method == "GET" or method == "HEAD":
            self._body_read = not self.headers.get("Content-Length")
        try:
            split = urlsplit(self.path)
            path = split.path
            query = parse_qs(split.query, keep_blank_values=True, max_num_fields=20)
        except ValueError as exc:  # e.g. "//[x", or too many query fields
            raise _HTTPError(400, f"malformed request target: {exc}") from None
        if path.startswith("/static/") and method in ("GET", "HEAD"):
            self._static(path[len("/static/") :])
            return
        if path == "/favicon.ico" and method in ("GET", "HEAD"):
            self._send(204, b"", "text/plain")
            return
        if path == "/openapi.json" and method in ("GET", "HEAD"):
            from tunelab.server._openapi import openapi_document

            self._send_json(200, openapi_document())
            return
        is_page = path in ("/", "/index.html")
        self._authenticate(query, allow_query=is_page)
        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        if is_page:
            self._allow(method, ("GET", "HEAD"))
            self._page()
        elif parts == ["experiment"]:
            self._allow(method, ("GET", "HEAD"))
            self._send_json(200, self.server.app.store.meta())
        elif parts == ["trials"]:
            self._allow(method, ("GET", "HEAD", "POST"))
            if method == "POST":
                self._add_trials()
            else:
                self._send_json(200, {"trials": self.server.app.store.trials()})
        elif len(parts) == 2 and parts[0] == "trials":
            self._allow(method, ("GET", "HEAD", "PUT"))
            if method == "PUT":
                self._stop_trial(parts[1])
            else:
                self._get_trial(parts[1])
        elif len(parts) == 3 and parts[0] == "trials" and parts[2] == "history":
            self._allow(method, ("GET", "HEAD"))
            history = self.server.app.store.history(parts[1])
            if history is None:
                raise _HTTPError(404, f"no trial with id {parts[1]!r}")
            self._send_json(200, {"trial_id": parts[1], "results": history})
        elif parts == ["results"]:
            self._allow(method, ("GET", "HEAD"))
            self._results(query)
        elif parts == ["stop_experiment"]:
            self._allow(method, ("PUT",))
            self._skip_body()
            self._control().stop_experiment()
            self._send_json(200, {"trials": self.server.app.store.trials()})
        else:
            raise _HTTPError(404, f"no route {path!r}")

    @staticmethod
    def _allow_header(allowed: tuple[str, ...]) -> dict[str, str]:
        return {"Allow": ", ".join(allowed)}

    def _allow(self, method: str, allowed: tuple[str, ...]) -> None:
        if method not in allowed:
            raise _HTTPError(
                405,
                f"method {method} is not allowed here; allowed: {', '.join(allowed)}",
                self._allow_header(allowed),
            )

    def _control(self) -> Commands:
        commands = self.server.app.commands
        if commands is None:
            raise _HTTPError(
                403, "this dashboard shows an experiment from disk: it cannot control trials"
            )
        return commands

    def _static(self, name: str) -> None:
        body = self.server.app.static.get(name) if _STATIC_NAME.match(name) else None
        if body is None:
            raise _HTTPError(404, f"no static file {name!r}")
        suffix = name[name.rfind(".") :] if "." in name else ""
        content_type = _CONTENT_TYPES.get(suffix, "application/octet-stream")
        self._send(200, body, content_type)

    def _page(self) -> None:
        body = self.server.app.static.get("index.html")
        if body is None:
            raise _HTTPError(404, "the dashboard files are not installed")
        self._send(200, body, _CONTENT_TYPES[".html"], {"Content-Security-Policy": _CSP})

    def _get_trial(self, trial_id: str) -> None:
        info = self.server.app.store.trial(trial_id)
        if info is None:
            raise _HTTPError(404, f"no trial with id {trial_id!r}")
        self._send_json(200, {"trial": info})

    def _stop_trial(self, trial_id: str) -> None:
        self._skip_body()
        store = self.server.app.store
        if not store.has_trial(trial_id):
            raise _HTTPError(404, f"no trial with id {trial_id!r}")
        self._control().stop_trial(trial_id)
        self._send_json(200, {"trials": store.trials([trial_id])})

    def _add_trials(self) -> None:
        commands = self._control()
        body = self._read_json()
        if not isinstance(body, dict):
            raise _HTTPError(
                400,
                f'the body must be a JSON object {{"name": str, "spec": {{...}}}}, got '
                f"{type(body).__name__}",
            )
        unknown = sorted(set(body) - {"name", "spec"})
        if unknown:
            raise _HTTPError(400, f"unknown keys {unknown} in the body; allowed: name, spec")
        name = body.get("name")
        if not isinstance(name, str):
            raise _HTTPError(
                400, f'"name" must be a string (the experiment name), got {name!r:.200}'
            )
        spec = body.get("spec")
        if not isinstance(spec, dict):
            raise _HTTPError(
                400,
                f'"spec" must be a JSON object such as {{"config": {{...}}}}, got {spec!r:.200}',
            )
        check_trial_spec(spec)
        ids = commands.add_trials(name, spec)
        self._send_json(
            201, {"trials": self.server.app.store.trials(ids)}, {"Location": "/trials/"}
        )

    def _results(self, query: dict[str, list[str]]) -> None:
        def int_arg(name: str, default: int, low: int) -> int:
            text = (query.get(name) or [str(default)])[-1]
            try:
                value = int(text)
            except ValueError:
                raise _HTTPError(400, f"{name} must be an integer, got {text!r}") from None
            if value < low:
                raise _HTTPError(400, f"{name} must be >= {low}, got {value}")
            return value

        since = int_arg("since", 0, 0)
        limit = min(int_arg("max", 5000, 1), 50000)
        self._send_json(200, self.server.app.store.changes_since(since, limit))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    app: _App

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("tunelab server: connection from %s failed", client_address, exc_info=True)
