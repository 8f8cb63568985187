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
    """A request of :class:`TuneClient` failed: the server refused it or could not be reached.

    The message names the method and path and gives the server's error text, for example
    ``GET /trials/x: 404 no trial with id 'x'``.

    Args:
        message: What went wrong.
        status: The HTTP status of the answer (400, 401, 403, 404, 409, 503, ...), or 0 when
            no answer came (the server could not be reached or timed out).

    Attributes:
        status: The HTTP status of the answer, or 0 when there was none.
    """

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def read_token(experiment_path: str) -> str:
    """The server token written to ``experiment_path`` when the experiment started.

    The file (``.tunelab_server_token``) is opened without following a symlink.

    Args:
        experiment_path: The experiment directory.

    Returns:
        The token.

    Raises:
        ValueError: The file is missing, unreadable or empty (the experiment was not started
            with a server, or its server has stopped).
    """
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
    ``experiment_path``, written there (``.tunelab_server_address``) when the server started.

    Args:
        experiment_path: The experiment directory.

    Returns:
        The base URL.

    Raises:
        ValueError: The file is missing or holds no URL (no server is running for it).
    """
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
    """Talks to the REST API of a running experiment (``tune.run(..., with_server=True)``).

    The client of the API that :class:`TuneServer` serves, with Ray Tune's method names
    (``get_all_trials``, ``get_trial``, ``add_trial``, ``stop_trial``, ``stop_experiment``)
    plus ``get_results`` and ``get_experiment``. Requests go through the standard library
    (``urllib``). Every method returns the server's JSON answer as a dict (configs and
    results are plain JSON objects, never pickles) and raises :class:`TuneClientError` when
    the server refuses the request or cannot be reached. Unlike Ray Tune's client, it sends
    the experiment's token with every request; :meth:`for_experiment` finds both the address
    and the token of a local experiment.

    Args:
        tune_address: The server's host (``"127.0.0.1"``, ``"localhost"``, an IPv6
            address), used with ``port_forward``; or a base URL
            ``"http(s)://host[:port][/prefix]"``, whose port, when it has one, wins over
            ``port_forward``.
        port_forward: The server's port when ``tune_address`` has none (1-65535). Defaults
            to 4321, the port of ``with_server=True``.
        token: The experiment's token: the end of the dashboard URL printed at start, also
            in ``<experiment dir>/.tunelab_server_token``. None: read it from
            ``experiment_path``; with neither, every request gets status 401.
        experiment_path: The experiment directory whose token file is read when ``token``
            is None.
        timeout: Seconds each request may take (> 0), or None to wait without limit. The
            ``timeout`` argument of a method overrides it for that call.

    Raises:
        TypeError: ``tune_address`` is not a non-empty string, ``port_forward`` is not an
            int, or ``token`` is not a string.
        ValueError: ``port_forward`` is out of range; ``tune_address`` is a URL that is not
            ``http``/``https`` or has a malformed port; ``timeout`` is not a positive
            number; or ``experiment_path`` holds no token.

    Example::

        from tunelab.server import TuneClient

        client = TuneClient.for_experiment("~/tunelab_results/my_exp")
        for info in client.get_all_trials()["trials"]:
            print(info["id"], info["status"], info["metrics"])
        client.stop_trial(info["id"])
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
        """A client for the running experiment at ``experiment_path``.

        The server's address and token are read from the two files it wrote into the
        experiment directory when it started (``.tunelab_server_address`` and
        ``.tunelab_server_token``); both are removed when the server stops.

        Args:
            experiment_path: The experiment directory (``<storage_path>/<name>``). ``~`` is
                not expanded.
            timeout: Seconds each request may take (> 0), or None for no limit.

        Returns:
            A client for that server.

        Raises:
            ValueError: A file is missing or unreadable: the experiment was not started
                with a server, the server has not started yet, or it has stopped.
        """
        path = os.fspath(experiment_path)
        return cls(read_address(path), token=read_token(path), timeout=timeout)

    @property
    def server_address(self) -> str:
        """The server's host name or address (Ray Tune's attribute)."""
        return self._address

    @property
    def server_port(self) -> int:
        """The server's port (Ray Tune's attribute)."""
        return self._port

    @property
    def base_url(self) -> str:
        """The URL every request path is appended to, e.g. ``http://127.0.0.1:4321``."""
        return self._base

    def __repr__(self) -> str:
        return f"TuneClient({self._base!r})"

    # -- the API -------------------------------------------------------------------------------
    def get_all_trials(self, timeout: float | None = None) -> dict[str, Any]:
        """Every trial of the experiment (``GET /trials``).

        Args:
            timeout: Seconds this request may take; None: the client's ``timeout``.

        Returns:
            ``{"trials": [info, ...]}``, one info dict per trial with its ``id``,
            ``status``, ``config``, latest ``result``, numeric ``metrics``, ``iterations``,
            ``time_total_s``, ``error`` and ``logdir`` (among others).

        Raises:
            TuneClientError: The server refused the request (status 401: wrong token) or
                could not be reached (status 0).
        """
        return self._request("GET", "/trials", timeout=timeout)

    def get_trial(self, trial_id: str, timeout: float | None = None) -> dict[str, Any]:
        """One trial (``GET /trials/<trial_id>``).

        Args:
            trial_id: The trial's id (``info["id"]`` of :meth:`get_all_trials`).
            timeout: Seconds this request may take; None: the client's ``timeout``.

        Returns:
            ``{"trial": info}``, with the same fields as in :meth:`get_all_trials`.

        Raises:
            TypeError: ``trial_id`` is not a non-empty string.
            TuneClientError: Status 404 for an unknown id, 401 for a wrong token, 0 when the
                server could not be reached.
        """
        return self._request("GET", f"/trials/{_segment(trial_id)}", timeout=timeout)

    def add_trial(self, name: str, specification: dict[str, Any]) -> dict[str, Any]:
        """Add trials to the running experiment (``POST /trials``).

        The trials run the experiment's trainable with its resources and stop criteria.
        ``config`` is the whole config of the new trials (it is not merged with the
        experiment's search space) and is expanded like a search space: each
        ``{"grid_search": [...]}`` multiplies the trials, ``num_samples`` repeats them. It
        may hold data only (numbers, strings, booleans, None, lists, dicts and
        ``grid_search``); code such as ``{"eval": "..."}`` is refused.

        Args:
            name: The experiment's name (the server adds to the run's first experiment when
                no experiment has this name).
            specification: ``{"config": {...}, "num_samples": n, "run": trainable_name}``;
                every key is optional (``num_samples`` defaults to 1; ``run``, when given,
                must be the experiment's trainable name). At most 1,000 trials per request.

        Returns:
            ``{"trials": [info, ...]}``, the infos of the new (PENDING) trials.

        Raises:
            TypeError: ``name`` is not a string or ``specification`` is not a dict.
            TuneClientError: Status 400 for a refused specification (the message names the
                key, such as ``config/lr``), 403 from a read-only server (``tunelab
                dashboard``), 409 once the experiment has finished, 503 when the
                experiment's loop did not take the request within 10 seconds.
        """
        if not isinstance(name, str):
            raise TypeError(f"name must be a string, got {name!r}")
        if not isinstance(specification, dict):
            raise TypeError(f"specification must be a dict, got {type(specification).__name__}")
        return self._request("POST", "/trials", {"name": name, "spec": specification})

    def stop_trial(self, trial_id: str) -> dict[str, Any]:
        """Stop one trial (``PUT /trials/<trial_id>``).

        A pending or paused trial ends at once; a running one at its next report (or is
        killed after the grace period, ``TUNELAB_FORCE_TRIAL_CLEANUP_S``, if it never reports
        again). It ends TERMINATED and keeps the results it logged.

        Args:
            trial_id: The trial's id.

        Returns:
            ``{"trials": [info]}``: the trial's info once the request was applied; a running
            trial may still read ``RUNNING`` (poll :meth:`get_trial` to see it end).

        Raises:
            TypeError: ``trial_id`` is not a non-empty string.
            TuneClientError: Status 404 for an unknown id, 403 from a read-only server, 409
                once the experiment has finished, 503 when the experiment's loop did not
                take the request within 10 seconds.
        """
        return self._request("PUT", f"/trials/{_segment(trial_id)}")

    def stop_experiment(self) -> dict[str, Any]:
        """Stop the experiment (``PUT /stop_experiment``).

        Running trials are stopped (they end TERMINATED, not paused for a resume), no new
        trial starts, and the front door (``tune.run``, ``Tuner.fit``) returns.

        Returns:
            ``{"trials": [info, ...]}``: every trial, once the request was applied.

        Raises:
            TuneClientError: Status 403 from a read-only server, 409 once the experiment has
                finished, 503 when the experiment's loop did not take the request in time.
        """
        return self._request("PUT", "/stop_experiment")

    def get_results(self, since: int = 0) -> dict[str, Any]:
        """What changed after sequence number ``since`` (``GET /results?since=N``).

        Poll it to follow an experiment: pass the ``seq`` of the previous answer.

        Args:
            since: The sequence number of the last change already seen; 0 for everything
                the server still holds.

        Returns:
            ``{"seq", "reset", "more", "trials", "results"}``: the number to pass next time;
            whether the new results replace what you had (older results were dropped or
            rolled back: ``results`` then holds every trial's kept history); whether more
            results wait (ask again from ``seq``); the infos of the trials that changed; and
            the new results as ``{"seq", "trial_id", "metrics"}``, in order.

        Raises:
            ValueError: ``since`` cannot be converted to an integer.
            TuneClientError: Status 400 for a negative ``since``, 401 for a wrong token, 0
                when the server could not be reached.
        """
        return self._request("GET", f"/results?since={int(since)}")

    def get_experiment(self) -> dict[str, Any]:
        """The experiment's description (``GET /experiment``).

        Returns:
            A dict with ``name``, ``metric``, ``mode``, ``controllable`` (False for a
            read-only server), ``finished``, ``start_time``, ``num_trials``, ``counts``
            (trials per status), ``seq`` and, depending on the server, ``path``, ``url``,
            ``experiments`` and ``total_samples``.

        Raises:
            TuneClientError: Status 401 for a wrong token, 0 when the server could not be
                reached.
        """
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
