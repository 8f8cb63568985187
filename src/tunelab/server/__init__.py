"""Control and watch an experiment over HTTP: the REST API, its client and the dashboard.

``tune.run(..., with_server=True)`` (port 4321, or ``server_port=N``; ``0`` picks a free
port) and ``RunConfig(server_port=N)`` start a :class:`TuneServer` in the driver. It listens
on 127.0.0.1, needs a random per-experiment token on every request (written to
``<experiment dir>/.tunelab_server_token``, mode 0600, and printed once as part of the
dashboard URL), and only enqueues commands: the experiment's loop applies them.
:class:`TuneClient` calls the API from Python::

    from tunelab.server import TuneClient

    client = TuneClient.for_experiment("/home/me/tunelab_results/my_exp")
    client.get_all_trials()["trials"][0]["status"]  # 'RUNNING'

``tunelab dashboard <dir>`` (:func:`serve_dashboard` from Python) serves the same page,
read-only, for experiments on disk, finished or still running. ``GET /openapi.json``
describes the API. The guide "Dashboard, REST API and TuneClient" lists every route.

Wiring used by the front doors: :func:`server_callback` makes the :class:`ServerCallback`
to add to the experiment's callbacks, :func:`start_server_for` starts the server once the
controller exists, :func:`print_dashboard_url` prints the one line users need.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import IO

from tunelab.server._client import (
    ADDRESS_FILE,
    TOKEN_FILE,
    TuneClient,
    TuneClientError,
    read_address,
    read_token,
)
from tunelab.server._commands import CommandError, Commands, ControllerCommands, ControllerLike
from tunelab.server._disk import DiskSource, dashboard_main, serve_dashboard
from tunelab.server._http import DEFAULT_PORT, MAX_BODY_BYTES
from tunelab.server._server import TuneServer, check_port
from tunelab.server._state import ResultStore, ServerCallback

__all__ = [
    "ADDRESS_FILE",
    "DEFAULT_PORT",
    "MAX_BODY_BYTES",
    "TOKEN_FILE",
    "CommandError",
    "Commands",
    "ControllerCommands",
    "DiskSource",
    "ResultStore",
    "ServerCallback",
    "TuneClient",
    "TuneClientError",
    "TuneServer",
    "check_port",
    "dashboard_main",
    "print_dashboard_url",
    "read_address",
    "read_token",
    "serve_dashboard",
    "server_callback",
    "start_server_for",
    "write_token_file",
]

logger = logging.getLogger("tunelab.server")


def server_callback(
    *, metric: str | None = None, mode: str | None = None, name: str = ""
) -> ServerCallback:
    """The callback that feeds the server of a live experiment; add it to its callbacks.

    Args:
        metric: The experiment's metric, shown by the dashboard (None: not set).
        mode: ``"min"``, ``"max"`` or None.
        name: The experiment's name.

    Returns:
        A :class:`ServerCallback` with a fresh, controllable :class:`ResultStore`.
    """
    return ServerCallback(metric=metric, mode=mode, name=name)


def write_token_file(experiment_path: str, token: str) -> str:
    """Write ``token`` to ``<experiment_path>/.tunelab_server_token``, readable by the owner
    only (mode 0600).

    The file is created ``O_EXCL | O_NOFOLLOW`` beside the path and moved into place: a stale
    token file is replaced, and a symlink planted there is replaced, never followed.

    Args:
        experiment_path: The experiment directory (it must exist).
        token: The server's token.

    Returns:
        The file's path.

    Raises:
        OSError: The file cannot be written.
    """
    return _write_private(os.path.join(experiment_path, TOKEN_FILE), token, 0o600)


def _write_private(path: str, text: str, mode: int) -> str:
    from tunelab._trust import write_private_file

    return write_private_file(path, (text + "\n").encode(), mode)


def start_server_for(
    controller: ControllerLike,
    experiment_path: str,
    port: int,
    host: str = "127.0.0.1",
    *,
    callback: ServerCallback,
    token: str | None = None,
    command_timeout_s: float = 10.0,
) -> TuneServer:
    """Start the server of a live experiment and write its token and address files.

    Writes the token (mode 0600) and the server's address to the experiment directory
    (:meth:`TuneClient.for_experiment` reads them) and removes both when the server stops.
    For an experiment stored at a URI nothing is written (use :attr:`TuneServer.token`).

    Args:
        controller: The experiment's controller (its ``enqueue`` runs the commands on the
            loop's thread).
        experiment_path: The experiment directory.
        port: The port (0-65535); 0 picks a free one.
        host: The address to listen on (default 127.0.0.1, this machine only).
        callback: The :class:`ServerCallback` already in the controller's callbacks (see
            :func:`server_callback`); the server shows its store.
        token: The token; None makes a random one.
        command_timeout_s: Seconds a stop or add request waits for the loop (503 after).

    Returns:
        The started server.

    Raises:
        TypeError: ``port`` is not an int or ``callback`` is not a :class:`ServerCallback`.
        ValueError: ``port`` is out of range.
        OSError: The port cannot be bound (the message names ``server_port``), or the files
            cannot be written (the server is stopped again).
    """
    check_port(port, "server_port")
    if not isinstance(callback, ServerCallback):
        raise TypeError(f"callback must be a ServerCallback, got {callback!r}")
    commands = ControllerCommands(controller, callback, timeout_s=command_timeout_s)
    server = TuneServer(callback.store, commands, host=host, port=port, token=token)
    try:
        server.start()
    except OSError as exc:
        raise OSError(
            exc.errno,
            f"server_port={port}: cannot listen on {host}:{port} ({exc.strerror or exc}); "
            "choose another port (0 = any free one)",
        ) from exc
    if "://" in experiment_path:
        logger.info("tunelab server: experiment at a URI; no token file written")
    else:
        try:
            written = [
                write_token_file(experiment_path, server.token),
                _write_private(os.path.join(experiment_path, ADDRESS_FILE), server.url, 0o644),
            ]
        except OSError:
            server.stop()
            raise

        def remove_files() -> None:
            for path in written:
                with contextlib.suppress(OSError):
                    os.remove(path)

        server.add_stop_hook(remove_files)
    callback.store.set_meta(path=experiment_path, url=server.url)
    return server


def print_dashboard_url(server: TuneServer, file: IO[str] | None = None) -> None:
    """Print ``tunelab: dashboard at <url with token>`` (once, at start; verbose > 0).

    Args:
        server: The started server.
        file: Where to print; None: standard output.
    """
    print(f"tunelab: dashboard at {server.dashboard_url}", file=file or sys.stdout, flush=True)
