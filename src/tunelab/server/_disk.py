"""The dashboard for experiments on disk (``tunelab dashboard PATH``).

A :class:`DiskSource` re-reads one experiment directory, or a results directory holding
several, every ``poll_s`` seconds and feeds a :class:`ResultStore`: trial records from
``experiment_state.json`` plus its journal (re-read only when they changed), results from
each trial's ``result.json`` read incrementally from where the last pass stopped (a file
that shrank, because a retried trial rolled its log back, is read again from the start).
Directories without a state file (hand-made, or written by Ray Tune) are scanned for trial
directories holding ``result.json``. URIs (``s3://...``, ``memory://...``) are read through
fsspec (the ``s3`` extra).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import webbrowser
from typing import Any

from tunelab.server._state import ResultStore

__all__ = ["DiskSource", "dashboard_main", "serve_dashboard"]

logger = logging.getLogger("tunelab.server")

STATE_FILE = "experiment_state.json"
ARCHIVE_PREFIX = "experiment_state-"  # see tunelab._persistence.experiment_state.archive_state
JOURNAL_FILE = "experiment_state.journal"
RESULT_FILE = "result.json"
PARAMS_FILE = "params.json"
_CHUNK = 4 << 20


class _Files:
    """The few file operations the reader needs, on the local disk or through fsspec."""

    def __init__(self, path: str) -> None:
        self.fs: Any = None
        if "://" in path and not path.startswith("file://"):
            from tunelab._errors import require

            fsspec = require("fsspec", extra="s3", feature="the dashboard for a URI")
            self.fs, self.root = fsspec.core.url_to_fs(path)
            self.root = self.root.rstrip("/")
        else:
            local = path[len("file://") :] if path.startswith("file://") else path
            self.root = os.path.abspath(os.path.expanduser(local))

    def join(self, *parts: str) -> str:
        return "/".join(parts) if self.fs is not None else os.path.join(*parts)

    def stamp(self, path: str) -> tuple[Any, ...] | None:
        """(size, modification stamp) or None when ``path`` is not a file."""
        if self.fs is None:
            try:
                st = os.stat(path)
            except OSError:
                return None
            return (st.st_size, st.st_mtime_ns)
        try:
            info = self.fs.info(path)
        except (OSError, ValueError):
            return None
        if info.get("type") != "file":
            return None
        return (
            info.get("size"),
            info.get("mtime") or info.get("LastModified") or info.get("created"),
        )

    def size(self, path: str) -> int | None:
        stamp = self.stamp(path)
        return None if stamp is None or stamp[0] is None else int(stamp[0])

    def isdir(self, path: str) -> bool:
        if self.fs is None:
            return os.path.isdir(path)
        try:
            return bool(self.fs.isdir(path))
        except (OSError, ValueError):
            return False

    def subdirs(self, path: str) -> list[str]:
        if self.fs is None:
            try:
                with os.scandir(path) as entries:
                    return sorted(e.name for e in entries if e.is_dir() and e.name[:1] != ".")
            except OSError:
                return []
        try:
            entries = self.fs.ls(path, detail=True)
        except (OSError, ValueError):
            return []
        names = [
            e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries if e["type"] == "directory"
        ]
        return sorted(n for n in names if n[:1] != ".")

    def files(self, path: str, prefix: str, suffix: str) -> list[str]:
        """The names of the files in ``path`` that start with ``prefix`` and end with
        ``suffix``, sorted."""
        if self.fs is None:
            try:
                with os.scandir(path) as entries:
                    names = [e.name for e in entries if e.is_file()]
            except OSError:
                return []
        else:
            try:
                entries = self.fs.ls(path, detail=True)
            except (OSError, ValueError):
                return []
            names = [e["name"].rsplit("/", 1)[-1] for e in entries if e["type"] == "file"]
        return sorted(n for n in names if n.startswith(prefix) and n.endswith(suffix))

    def read(self, path: str, offset: int = 0, limit: int = -1) -> bytes:
        opener = open if self.fs is None else self.fs.open
        with opener(path, "rb") as fh:
            if offset:
                fh.seek(offset)
            data = fh.read(limit)
        return bytes(data)


class _Tail:
    """Where the reading of one append-only JSON-lines file stands."""

    __slots__ = ("offset", "size")

    def __init__(self) -> None:
        self.offset = 0
        self.size = 0


class _Experiment:
    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path
        self.state_stamp: tuple[Any, ...] | None = None
        self.journal = _Tail()
        self.journal_seq = 0
        self.entries: dict[str, dict[str, Any]] = {}  # trial id -> latest state entry
        self.applied: dict[str, dict[str, Any]] = {}  # trial id -> fields last sent
        self.tails: dict[str, _Tail] = {}  # trial id -> result.json position
        self.keys: dict[str, str] = {}  # trial id -> key in the store
        self.scanned = False  # no state file: trials come from a scan of the directories
        self.scanned_dirs: set[str] = set()
        self.archives: set[str] = set()  # earlier experiments' states already read
        # its own metric, mode and start time (from its state file): a results root holds
        # unrelated experiments, each shown with its own metric
        self.info: dict[str, Any] = {}


class DiskSource:
    """Feeds a :class:`~tunelab.server.ResultStore` from the experiment(s) at ``path``.

    :meth:`refresh` does one pass (trial records from the state file and its journal,
    results read on from where the last pass stopped); :meth:`start` runs passes every
    ``poll_s`` seconds in a daemon thread until :meth:`stop`.

    Args:
        path: An experiment directory, a results directory holding several experiments, or
            an fsspec URI of either.
        store: The store the dashboard server reads.
        poll_s: Seconds between two passes of :meth:`start`'s thread (> 0; default 1).

    Raises:
        TypeError: ``path`` is not a path or a string.
        ValueError: ``path`` is not a directory, or ``poll_s`` is not a number > 0.
    """

    def __init__(self, path: str, store: ResultStore, *, poll_s: float = 1.0) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a directory or URI, got {path!r}")
        if isinstance(poll_s, bool) or not isinstance(poll_s, (int, float)) or poll_s <= 0:
            raise ValueError(f"poll_s must be a number of seconds > 0, got {poll_s!r}")
        self._files = _Files(os.fspath(path))
        if not self._files.isdir(self._files.root):
            raise ValueError(f"path must be an experiment or results directory, got {path!r}")
        self._store = store
        self._poll = float(poll_s)
        self._experiments: dict[str, _Experiment] = {}
        self._used_keys: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error = ""
        self._sent_meta: dict[str, Any] = {}

    # -- discovery -----------------------------------------------------------------------------
    def _is_experiment(self, path: str) -> bool:
        files = self._files
        if files.stamp(files.join(path, STATE_FILE)) is not None:
            return True
        return any(
            files.stamp(files.join(path, d, RESULT_FILE)) is not None for d in files.subdirs(path)
        )

    def _discover(self) -> None:
        files = self._files
        root = files.root
        found: dict[str, str] = {}
        if self._is_experiment(root):
            found[os.path.basename(root.rstrip("/")) or root] = root
        else:
            for name in files.subdirs(root):
                sub = files.join(root, name)
                if self._is_experiment(sub):
                    found[name] = sub
        for name, path in found.items():
            if name not in self._experiments:
                self._experiments[name] = _Experiment(name, path)
        self._meta(experiments=sorted(self._experiments), source="disk", path=root)

    # -- one pass ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read what changed on disk since the last pass."""
        self._discover()
        for experiment in list(self._experiments.values()):
            self._read_state(experiment)
            if experiment.scanned:
                self._scan(experiment)
            for trial_id, entry in list(experiment.entries.items()):
                self._apply_entry(experiment, trial_id, entry)
                dirname = entry.get("dirname") or ""
                if dirname:
                    self._read_results(experiment, trial_id, dirname)
        statuses = {
            e.get("status") for exp in self._experiments.values() for e in exp.entries.values()
        }
        running = bool(statuses & {"RUNNING", "PENDING", "PAUSED"})
        self._meta(
            finished=not running and bool(statuses),
            experiment_info={name: dict(exp.info) for name, exp in self._experiments.items()},
        )

    def _meta(self, **meta: Any) -> None:
        changed = {k: v for k, v in meta.items() if self._sent_meta.get(k, object()) != v}
        if changed:
            self._sent_meta.update(changed)
            self._store.set_meta(**changed)

    def _read_archives(self, experiment: _Experiment) -> None:
        """The trials of earlier experiments run in this directory under the same name (a
        new run keeps their state as ``experiment_state-<date>.json``): shown, never hidden.
        Each such file is read once (it does not change)."""
        files = self._files
        for name in files.files(experiment.path, ARCHIVE_PREFIX, ".json"):
            if name in experiment.archives:
                continue
            try:
                data = json.loads(files.read(files.join(experiment.path, name)))
            except (OSError, ValueError):
                continue  # being written; the next pass reads it
            experiment.archives.add(name)
            for entry in data.get("trials", []) if isinstance(data, dict) else []:
                if isinstance(entry, dict) and entry.get("trial_id"):
                    experiment.entries.setdefault(str(entry["trial_id"]), entry)

    def _read_state(self, experiment: _Experiment) -> None:
        files = self._files
        self._read_archives(experiment)
        state_path = files.join(experiment.path, STATE_FILE)
        stamp = files.stamp(state_path)
        if stamp is None:
            experiment.scanned = True
            return
        experiment.scanned = False
        if stamp != experiment.state_stamp:
            try:
                data = json.loads(files.read(state_path))
            except ValueError:
                return  # being replaced; the next pass reads it
            if not isinstance(data, dict) or not isinstance(data.get("trials"), list):
                raise ValueError(f"{state_path!r} is not a tunelab experiment state file")
            experiment.state_stamp = stamp
            experiment.journal_seq = int(data.get("journal_seq", 0) or 0)
            experiment.journal = _Tail()
            for entry in data["trials"]:
                if isinstance(entry, dict) and entry.get("trial_id"):
                    experiment.entries[str(entry["trial_id"])] = entry
            experiment.info = {
                "metric": data.get("metric"),
                "mode": data.get("mode"),
                "start_time": data.get("start_time"),
            }
            if len(self._experiments) == 1:
                self._meta(
                    name=data.get("name") or experiment.name,
                    metric=data.get("metric"),
                    mode=data.get("mode"),
                    start_time=data.get("start_time"),
                )
        self._read_journal(experiment)

    def _read_journal(self, experiment: _Experiment) -> None:
        files = self._files
        path = files.join(experiment.path, JOURNAL_FILE)
        for line in self._new_lines(path, experiment.journal):
            entry = line.get("trial", line.get("update"))
            if line.get("seq", 0) <= experiment.journal_seq or not isinstance(entry, dict):
                continue
            if not entry.get("trial_id"):
                continue
            trial_id = str(entry["trial_id"])
            if "trial" in line:
                experiment.entries[trial_id] = entry
            elif trial_id in experiment.entries:  # an update: what changed while it ran
                experiment.entries[trial_id] = {**experiment.entries[trial_id], **entry}

    def _new_lines(self, path: str, tail: _Tail) -> list[dict[str, Any]]:
        """Complete JSON lines appended to ``path`` since ``tail`` (reset if it shrank)."""
        size = self._files.size(path)
        if size is None:
            return []
        if size < tail.offset:
            tail.offset = 0
        if size == tail.offset:
            tail.size = size
            return []
        out: list[dict[str, Any]] = []
        while tail.offset < size:
            data = self._files.read(path, tail.offset, min(_CHUNK, size - tail.offset))
            end = data.rfind(b"\n")
            if end < 0:
                if len(data) >= _CHUNK:  # one absurdly long line: skip it
                    tail.offset += len(data)
                    continue
                break  # a line still being written
            for raw in data[: end + 1].splitlines():
                if raw.strip():
                    try:
                        value = json.loads(raw)
                    except ValueError:
                        continue
                    if isinstance(value, dict):
                        out.append(value)
            tail.offset += end + 1
        tail.size = size
        return out

    def _scan(self, experiment: _Experiment) -> None:
        files = self._files
        for dirname in files.subdirs(experiment.path):
            if dirname in experiment.scanned_dirs:
                continue
            result_path = files.join(experiment.path, dirname, RESULT_FILE)
            if files.stamp(result_path) is None:
                continue
            first = files.read(result_path, 0, 65536).split(b"\n", 1)[0]
            try:
                head = json.loads(first) if first.strip() else {}
            except ValueError:
                head = {}
            trial_id = str(head.get("trial_id") or dirname) if isinstance(head, dict) else dirname
            config: Any = head.get("config", {}) if isinstance(head, dict) else {}
            params_path = files.join(experiment.path, dirname, PARAMS_FILE)
            if files.stamp(params_path) is not None:
                try:
                    config = json.loads(files.read(params_path))
                except ValueError:
                    pass
            experiment.scanned_dirs.add(dirname)
            experiment.entries[trial_id] = {
                "trial_id": trial_id,
                "trainable_name": "",
                "trial_name": dirname,
                "config": config if isinstance(config, dict) else {},
                "status": "TERMINATED",
                "dirname": dirname,
                "experiment_tag": "",
            }

    def _key(self, experiment: _Experiment, trial_id: str) -> str:
        key = experiment.keys.get(trial_id)
        if key is None:
            key = trial_id if trial_id not in self._used_keys else f"{experiment.name}:{trial_id}"
            self._used_keys.add(key)
            experiment.keys[trial_id] = key
        return key

    def _apply_entry(self, experiment: _Experiment, trial_id: str, entry: dict[str, Any]) -> None:
        trainable = str(entry.get("trainable_name") or "")
        name = entry.get("trial_name") or (f"{trainable}_{trial_id}" if trainable else trial_id)
        dirname = str(entry.get("dirname") or "")
        fields = {
            "name": str(name),
            "trainable_name": trainable,
            "experiment": experiment.name,
            "status": str(entry.get("status") or "PENDING"),
            "config": entry.get("config") or {},
            "params": entry.get("evaluated_params") or {},
            "tag": str(entry.get("experiment_tag") or ""),
            "error": entry.get("error_msg"),
            "num_failures": entry.get("num_failures") or 0,
            "logdir": self._files.join(experiment.path, dirname) if dirname else "",
        }
        if experiment.applied.get(trial_id) != fields:
            experiment.applied[trial_id] = fields
            self._store.upsert_trial(self._key(experiment, trial_id), **fields)

    def _read_results(self, experiment: _Experiment, trial_id: str, dirname: str) -> None:
        path = self._files.join(experiment.path, dirname, RESULT_FILE)
        tail = experiment.tails.get(trial_id)
        if tail is None:
            tail = experiment.tails[trial_id] = _Tail()
        size = self._files.size(path)
        key = self._key(experiment, trial_id)
        if size is not None and size < tail.offset:
            self._store.clear_results(key)  # rolled back: read it again
        for result in self._new_lines(path, tail):
            self._store.add_result(key, result)

    # -- the thread ----------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                self.refresh()
                self._last_error = ""
            except Exception as exc:  # keep serving what was read; say why once
                message = f"{type(exc).__name__}: {exc}"
                if message != self._last_error:
                    logger.warning(
                        "tunelab dashboard: cannot read %s: %s", self._files.root, message
                    )
                    self._last_error = message

    def start(self) -> None:
        """Run :meth:`refresh` every ``poll_s`` seconds in a daemon thread (once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="tunelab-disk-source", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the thread of :meth:`start` (waits up to 5 s for its pass to finish)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def serve_dashboard(
    path: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    poll_s: float = 1.0,
) -> Any:
    """Start a read-only dashboard server for the experiment(s) at ``path``.

    The server re-reads the experiment directory (or every experiment of a results
    directory) every ``poll_s`` seconds, so a run that is still writing there shows live.
    It serves the same dashboard and REST API as ``with_server=True`` minus the commands
    (nothing can be stopped or added). ``tunelab dashboard PATH`` runs it from the shell.

    Example::

        server = serve_dashboard("~/tunelab_results/my_exp")
        print(server.dashboard_url)  # open it in a browser (the URL carries the token)
        ...
        server.stop()

    Args:
        path: An experiment directory, a results directory holding several experiments
            (shown one at a time, the newest first), or an fsspec URI of either
            (``s3://...``, needs the ``s3`` extra).
        host: The address to listen on. The default, ``127.0.0.1``, serves this machine
            only; ``0.0.0.0`` serves every interface (the token still guards each request).
        port: The port to listen on; 0 (the default) picks a free one.
        token: The bearer token requests must carry. None (the default): a new random one,
            part of :attr:`TuneServer.dashboard_url`.
        poll_s: Seconds between two reads of ``path`` (> 0; default 1).

    Returns:
        The started :class:`~tunelab.server.TuneServer`; stop it with ``.stop()``.

    Raises:
        TypeError: ``path`` is not a path or a string.
        ValueError: ``path`` is not a directory, ``port`` is not in 0..65535, or ``poll_s``
            is not a number > 0.
    """
    from tunelab.server._server import TuneServer, check_port

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a directory or URI, got {path!r}")
    check_port(port, "port")
    path = os.fspath(path)
    name = os.path.basename(path.rstrip("/")) or path
    store = ResultStore(name=name, controllable=False)
    source = DiskSource(path, store, poll_s=poll_s)
    source.refresh()
    server = TuneServer(store, None, host=host, port=port, token=token)
    server.start()
    server.add_stop_hook(source.stop)
    source.start()
    return server


def dashboard_main(
    path: str, host: str = "127.0.0.1", port: int = 0, open_browser: bool = False
) -> int:
    """Serve the dashboard for ``path`` until Ctrl+C: what ``tunelab dashboard`` runs.

    Args:
        path: An experiment directory, a results directory or a URI of either, as for
            :func:`serve_dashboard`.
        host: The address to listen on (default ``127.0.0.1``: this machine only).
        port: The port to listen on; 0 (the default) picks a free one.
        open_browser: Also open the dashboard in the default web browser.

    Returns:
        0, the command's exit status, once Ctrl+C stopped the server.
    """
    server = serve_dashboard(path, host=host, port=port)
    try:
        print(
            f"tunelab: dashboard for {path} at {server.dashboard_url} (Ctrl+C to stop)",
            flush=True,
        )
        if open_browser:
            webbrowser.open(server.dashboard_url)
        while server.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
