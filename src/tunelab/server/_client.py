"""``TuneClient``: the REST API of a running experiment from Python (stdlib ``urllib``)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlsplit

from tunelab._errors import TuneError
from tunelab._storage import SERVER_TOKEN_FILE

__all__ = [
    "ADDRESS_FILE",
    "TOKEN_FILE",
    "TuneClient",
    "TuneClientError",
    "read_address",
    "read_token",
]

#: the file in the experiment directory that holds the server's token (mode 0600; never
#: uploaded with the experiment)
TOKEN_FILE = SERVER_TOKEN_FILE
#: the file in the experiment directory that holds the server's base URL (not secret)
ADDRESS_FILE = ".tunelab_server_address"


class TuneClientError(TuneError):
    """The server answered with an error; ``status`` is the HTTP status (0: unreachable)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def read_token(experiment_path: str) -> str:
    """The server token written to ``experiment_path`` when the experiment started."""
    path = os.path.join(os.fspath(experiment_path), TOKEN_FILE)
    try:  # never through a symlink planted at the token's path
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
        with os.fdopen(fd) as fh:
            token = fh.read(4096).strip()
    except OSError as exc:
        raise ValueError(
            f"experiment_path={experiment_path!r}: cannot read the server token at {path!r} "
            f"({exc}); was the experiment started with with_server=True?"
        ) from None
    if not token:
        raise ValueError(f"experiment_path={experiment_path!r}: the token file {path!r} is empty")
    return token


def read_address(experiment_path: str) -> str:
    """The base URL (``http://host:port``) of the server of the experiment at
    ``experiment_path``, written there when the server started."""
    path = os.path.join(os.fspath(experiment_path), ADDRESS_FILE)
    try:
        with open(path) as fh:
            address = fh.read().strip()
    except OSError as exc:
        raise ValueError(
            f"experiment_path={experiment_path!r}: no running server recorded at {path!r} "
            f"({exc}); was the experiment started with with_server=True?"
        ) from None
    if not address.startswith("http"):
        raise ValueError(f"experiment_path={experiment_path!r}: {path!r} holds no URL")
    return address


class TuneClient:
    """Talks to the server of a running experiment (``tune.run(..., with_server=True)``).

    ``tune_address`` is the host (``"127.0.0.1"``, ``"localhost"``) or a full base URL
    (``"http://host:port"``, which then wins over ``port_forward``). The token comes from
    ``token``, else from ``experiment_path`` (the file the server wrote there). Every method
    returns the server's JSON answer as a dict (configs and results are plain JSON objects)
    and raises :class:`TuneClientError` (with ``status``) when the server refuses.
    """

    def __init__(
        self,
        tune_address: str,
        port_forward: int = 4321,
        token: str | None = None,
        *,
        experiment_path: str | os.PathLike[str] | None = None,
        timeout: float | None = 30.0,
    ) -> None:
        if not isinstance(tune_address, str) or not tune_address:
            raise TypeError(f"tune_address must be a host name or URL, got {tune_address!r}")
        if isinstance(port_forward, bool) or not isinstance(port_forward, int):
            raise TypeError(f"port_forward must be an int port number, got {port_forward!r}")
        if not 0 < port_forward <= 65535:
            raise ValueError(f"port_forward must be between 1 and 65535, got {port_forward!r}")
        if token is not None and not isinstance(token, str):
            raise TypeError(f"token must be a string or None, got {type(token).__name__}")
        if token is None and experiment_path is not None:
            token = read_token(os.fspath(experiment_path))
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
        ):
            raise ValueError(f"timeout must be a number of seconds > 0 or None, got {timeout!r}")
        if "://" in tune_address:
            split = urlsplit(tune_address)
            try:
                explicit_port = split.port
            except ValueError:
                explicit_port = -1
            if split.scheme not in ("http", "https") or not split.hostname or explicit_port == -1:
                raise ValueError(
                    f"tune_address must be a host name or an http(s)://host[:port] URL, got "
                    f"{tune_address!r}"
                )
            self._address = split.hostname
            self._port = explicit_port or port_forward
            host = f"[{split.hostname}]" if ":" in split.hostname else split.hostname
            base = f"{split.scheme}://{host}:{self._port}{split.path.rstrip('/')}"
        else:
            self._address, self._port = tune_address, port_forward
            host = f"[{tune_address}]" if ":" in tune_address else tune_address
            base = f"http://{host}:{port_forward}"
        self._base = base
        self._token = token
        self._timeout = timeout

    @classmethod
    def for_experiment(
        cls, experiment_path: str | os.PathLike[str], *, timeout: float | None = 30.0
    ) -> TuneClient:
        """A client for the running experiment at ``experiment_path``: its server's address
        and token are read from the files the server wrote there."""
        path = os.fspath(experiment_path)
        return cls(read_address(path), token=read_token(path), timeout=timeout)

    @property
    def server_address(self) -> str:
        return self._address

    @property
    def server_port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return self._base

    def __repr__(self) -> str:
        return f"TuneClient({self._base!r})"

    # -- the API -------------------------------------------------------------------------------
    def get_all_trials(self, timeout: float | None = None) -> dict[str, Any]:
        """``{"trials": [info, ...]}`` for every trial of the experiment."""
        return self._request("GET", "/trials", timeout=timeout)

    def get_trial(self, trial_id: str, timeout: float | None = None) -> dict[str, Any]:
        """``{"trial": info}``; TuneClientError (status 404) for an unknown id."""
        return self._request("GET", f"/trials/{_segment(trial_id)}", timeout=timeout)

    def add_trial(self, name: str, specification: dict[str, Any]) -> dict[str, Any]:
        """Add trials expanded from ``specification`` (``{"config": {...}, "num_samples": n}``,
        grid and sampled values as in a search space written in JSON). Returns
        ``{"trials": [info of each new trial]}``."""
        if not isinstance(name, str):
            raise TypeError(f"name must be a string, got {name!r}")
        if not isinstance(specification, dict):
            raise TypeError(f"specification must be a dict, got {type(specification).__name__}")
        return self._request("POST", "/trials", {"name": name, "spec": specification})

    def stop_trial(self, trial_id: str) -> dict[str, Any]:
        """Ask the experiment to stop one trial. Returns ``{"trials": [info]}``."""
        return self._request("PUT", f"/trials/{_segment(trial_id)}")

    def stop_experiment(self) -> dict[str, Any]:
        """Ask the experiment to stop (running trials are stopped, no new ones start)."""
        return self._request("PUT", "/stop_experiment")

    def get_results(self, since: int = 0) -> dict[str, Any]:
        """What changed after sequence number ``since`` (see ``GET /results``)."""
        return self._request("GET", f"/results?since={int(since)}")

    def get_experiment(self) -> dict[str, Any]:
        """The experiment's name, metric, mode and trial counts."""
        return self._request("GET", "/experiment")

    # -- transport -----------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self._base + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        elif method in ("PUT", "POST"):
            request.add_header("Content-Length", "0")
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        wait = timeout if timeout is not None else self._timeout
        try:
            with urllib.request.urlopen(request, timeout=wait) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            raise TuneClientError(
                f"{method} {path}: {exc.code} {_message(raw) or exc.reason}", exc.code
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TuneClientError(f"{method} {path}: cannot reach {self._base}: {reason}") from None
        try:
            parsed = json.loads(raw.decode())
        except ValueError:
            raise TuneClientError(
                f"{method} {path}: the answer is not JSON: {raw[:200]!r}"
            ) from None
        if not isinstance(parsed, dict):
            raise TuneClientError(f"{method} {path}: unexpected answer {parsed!r}")
        return parsed


def _segment(trial_id: str) -> str:
    if not isinstance(trial_id, str) or not trial_id:
        raise TypeError(f"trial_id must be a non-empty string, got {trial_id!r}")
    return quote(trial_id, safe="")


def _message(raw: bytes) -> str:
    try:
        data = json.loads(raw.decode())
    except ValueError:
        return raw.decode("utf-8", "replace")[:200]
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return str(data)[:200]
