"""Remote storage through fsspec: URIs, a background mirror and downloads.

An experiment whose storage is a URI (``s3://bucket/prefix``, ``gs://...``, ``memory://...``)
runs in a local *staging* directory exactly like a local experiment;
:class:`Syncer` mirrors that directory to ``<uri>/<name>`` from a background thread, so the
controller's loop never waits on the network. Restoring or analysing a URI first copies it
into a local directory with :func:`download`.

Workers that cannot see the staging directory (Dask workers on other machines) write their
checkpoints straight to the URI with :func:`upload` (``execution/_trial_storage.py``); the
staging directory holds the marker file :data:`STAGING_MARKER` that tells them apart. The
controller deletes such checkpoints (retention) through :meth:`Syncer.delete_later`.

``file://`` URIs are local paths (:func:`is_uri` is false for them; :func:`strip_file_scheme`
turns them into paths). fsspec (and s3fs for ``s3://``) are imported only when a URI is used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from tunelab._errors import require

__all__ = [
    "LOCAL_ONLY_FILES",
    "SERVER_TOKEN_FILE",
    "STAGING_MARKER",
    "SyncFailure",
    "Syncer",
    "download",
    "get_filesystem",
    "is_uri",
    "join_uri",
    "local_path_for_uri",
    "split_uri",
    "strip_file_scheme",
    "upload",
    "uri_exists",
]

logger = logging.getLogger("tunelab.storage")

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_UNSAFE = re.compile(r"[^A-Za-z0-9._\-]+")
_GLOB_CHARS = frozenset("*?[")
_CHECKPOINT_PREFIX = "checkpoint_"
# Files failing in a row after which a pass stops trying (the endpoint is likely down).
_GIVE_UP_AFTER = 3
# fsspec's name of the extra needed per protocol; other protocols report fsspec's own error.
_PROTOCOL_MODULES = {"s3": "s3fs", "s3a": "s3fs"}
#: In a staging directory: a random token that workers compare with the one in their task to
#: know whether they see the driver's files (never uploaded).
STAGING_MARKER = ".tunelab_staging"
#: The REST server's token (a secret, mode 0600): it stays on this machine.
SERVER_TOKEN_FILE = ".tunelab_server_token"
#: Where the REST server listens (host:port of this machine, removed when it stops).
SERVER_ADDRESS_FILE = ".tunelab_server_address"
#: Files of an experiment directory that are never uploaded (a copy in remote storage would
#: be a secret, or an address that is stale once the run ends).
LOCAL_ONLY_FILES = frozenset({STAGING_MARKER, SERVER_TOKEN_FILE, SERVER_ADDRESS_FILE})


def _as_str(path: str | os.PathLike[str], argument: str) -> str:
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(f"{argument} must be a str or os.PathLike, got {path!r}")
    return path


def is_uri(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` names remote storage (``scheme://...``), false for ``file://``."""
    match = _SCHEME.match(os.fspath(path))
    return match is not None and match.group(1).lower() != "file"


def strip_file_scheme(path: str) -> str:
    """A ``file://`` URI as a local path; any other string unchanged."""
    if path.lower().startswith("file://"):
        return path[len("file://") :] or "/"
    return path


def join_uri(uri: str, *parts: str) -> str:
    """``uri`` with ``parts`` appended, separated by single slashes."""
    pieces = [uri.rstrip("/")] + [part.strip("/") for part in parts if part.strip("/")]
    return "/".join(pieces)


def local_path_for_uri(uri: str, root: str | os.PathLike[str]) -> str:
    """The staging directory for ``uri`` under the local results ``root``.

    ``<root>/.staging/<uri made safe as a directory name>_<8 hex digits of its hash>``; the
    caller appends the experiment name. Different URIs never share a directory.
    """
    uri = _as_str(uri, "uri")
    root_str = _as_str(root, "root")
    if not is_uri(uri):
        raise ValueError(f"uri must be a remote URI such as 's3://bucket/prefix', got {uri!r}")
    if is_uri(root_str):
        raise ValueError(f"root must be a local directory for staging files, got {root_str!r}")
    normalized = uri.rstrip("/")
    readable = _UNSAFE.sub("_", normalized).strip("_")[:80]
    digest = hashlib.sha1(normalized.encode("utf-8")).hexdigest()[:8]
    base = os.path.abspath(os.path.expanduser(strip_file_scheme(root_str)))
    return os.path.join(base, ".staging", f"{readable}_{digest}")


def get_filesystem(uri: str, **storage_options: Any) -> Any:
    """The fsspec filesystem for ``uri`` (a fresh instance, so no stale listing caches).

    ``storage_options`` go to the filesystem's constructor (for example s3fs's
    ``client_kwargs``). Raises an ImportError naming ``tunelab[s3]`` when fsspec, or s3fs for
    ``s3://``, is not installed, and ``ValueError`` for a protocol fsspec does not know.
    """
    return split_uri(uri, **storage_options)[0]


def split_uri(uri: str, *, reuse: bool = False, **storage_options: Any) -> tuple[Any, str]:
    """``(filesystem, path inside it)`` for ``uri``; see :func:`get_filesystem`.
    ``reuse=True`` shares fsspec's cached instance (and its connections) between calls: for
    writes, which never read a listing cache."""
    uri = _as_str(uri, "uri")
    match = _SCHEME.match(uri)
    if match is None:
        raise ValueError(f"uri must look like 'scheme://...', got {uri!r}")
    protocol = match.group(1).lower()
    fsspec = require("fsspec", extra="s3", feature=f"Remote storage ({protocol}://)")
    module = _PROTOCOL_MODULES.get(protocol)
    if module is not None:
        require(module, extra="s3", feature=f"Remote storage on {protocol}://")
    try:
        cls = fsspec.get_filesystem_class(protocol)
    except ValueError as exc:
        raise ValueError(
            f"uri {uri!r} uses the protocol {protocol!r}, which fsspec does not know; "
            f"use one of fsspec's protocols such as s3://, gs://, memory://, file://"
        ) from exc
    options = storage_options if reuse else {"skip_instance_cache": True, **storage_options}
    fs = cls(**options)
    return fs, fs._strip_protocol(uri)


def uri_exists(uri: str, filename: str = "") -> bool:
    """Whether ``<uri>/<filename>`` exists; ``filename`` may be a glob (``state-*.json``)."""
    fs, root = split_uri(uri)
    target = join_uri(root, filename) if filename else root
    if _GLOB_CHARS.intersection(filename):
        return bool(fs.glob(target))
    return bool(fs.exists(target))


def download(uri: str, local_dir: str | os.PathLike[str]) -> str:
    """Copy every file under the remote directory ``uri`` into ``local_dir``; return it.

    ``local_dir`` is created if needed; files of the same relative name are replaced and
    other local files are left alone (pass an empty directory for an exact copy). Raises
    ``FileNotFoundError`` when nothing exists under ``uri``.
    """
    local = os.path.abspath(_as_str(local_dir, "local_dir"))
    fs, root = split_uri(uri)
    root = root.rstrip("/")
    remote_files = sorted(fs.find(root, detail=False)) if fs.exists(root) else []
    if not remote_files:
        raise FileNotFoundError(f"no files found under {uri!r} to download")
    os.makedirs(local, exist_ok=True)
    local_files: list[str] = []
    for remote in remote_files:
        relative = remote[len(root) :].lstrip("/") if remote.startswith(root) else remote
        target = os.path.join(local, *relative.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        local_files.append(target)
    fs.get(remote_files, local_files)
    return local


def upload(local_dir: str | os.PathLike[str], uri: str) -> int:
    """Copy every file under ``local_dir`` to the remote directory ``uri``; return the bytes
    sent. Files of the same name are replaced; others under ``uri`` are left alone."""
    local = os.path.abspath(_as_str(local_dir, "local_dir"))
    if not os.path.isdir(local):
        raise FileNotFoundError(f"no directory {local!r} to upload")
    fs, root = split_uri(uri, reuse=True)  # a worker uploads every checkpoint: keep the session
    root = root.rstrip("/")
    sources: list[str] = []
    targets: list[str] = []
    size = 0
    for dirpath, _, filenames in os.walk(local):
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            sources.append(full)
            targets.append(f"{root}/{os.path.relpath(full, local).replace(os.sep, '/')}")
            size += os.path.getsize(full)
    if sources:
        fs.put(sources, targets)
    return size


@dataclasses.dataclass(frozen=True)
class SyncFailure:
    """One file (or checkpoint directory) that could not be mirrored after every retry."""

    local_path: str
    remote_path: str
    attempts: int
    error: str


_Signature = tuple[int, int]  # (size, mtime_ns)


class Syncer:
    """Mirror ``local_dir`` to the remote directory ``uri`` from a background thread.

    Every ``period_s`` seconds (and on :meth:`sync_now`) one *pass* uploads the files that
    are new or changed since their last upload (by size and modification time). Remote files
    are never deleted, except checkpoint directories (``checkpoint_*``) this syncer uploaded
    and that were since deleted locally. Files of trial directories go up before the
    experiment-level files of the same pass, so remote experiment state never names a
    checkpoint that is not there yet. Temporary files (``*.tmp``, ``*.tmp-<pid>``) are skipped.

    A file that keeps changing (a trial's growing ``result.json``) is uploaded whole each
    time (object stores cannot append), so periodic passes re-upload a file of ``size``
    bytes at most once per ``size / reupload_bytes_per_s`` seconds: repeated uploads of one
    growing file cost at most about that bandwidth. A trial directory with a new file (a new
    checkpoint) has its changed files uploaded in the same pass, and :meth:`sync_now` and the
    final pass upload everything.

    A failing upload is retried ``retries`` times with exponential backoff starting at
    ``backoff_s`` (waiting with ``sleep``); if it still fails, one error is logged for that
    file, a :class:`SyncFailure` is appended to :attr:`errors`, the local copy is kept and
    the next pass tries again (without logging again until it has succeeded once). Within a
    pass, after a file has failed every retry the next files get one attempt each, and after
    three files failed in a row the rest wait for the next pass, so an unreachable endpoint
    costs a bounded time per pass.

    Threads: :meth:`start`, :meth:`sync_now` and :meth:`stop` are called from the
    controller's thread and only signal the syncer's thread, which makes every network call.
    :meth:`sync_once` runs one pass in the calling thread (for tests and for callers without
    a thread); it must not run while the thread is started.
    """

    def __init__(
        self,
        local_dir: str | os.PathLike[str],
        uri: str,
        *,
        period_s: float = 1.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        filesystem: Any = None,
        reupload_bytes_per_s: float = 1024 * 1024,
    ) -> None:
        self.local_dir = os.path.abspath(_as_str(local_dir, "local_dir"))
        self.uri = _as_str(uri, "uri").rstrip("/")
        if not is_uri(self.uri):
            raise ValueError(f"uri must be a remote URI such as 's3://bucket/exp', got {uri!r}")
        if isinstance(period_s, bool) or not isinstance(period_s, (int, float)) or period_s <= 0:
            raise ValueError(f"period_s must be a number of seconds > 0, got {period_s!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 1:
            raise ValueError(
                f"retries must be an integer >= 1 (attempts per file), got {retries!r}"
            )
        if isinstance(backoff_s, bool) or not isinstance(backoff_s, (int, float)) or backoff_s < 0:
            raise ValueError(f"backoff_s must be a number of seconds >= 0, got {backoff_s!r}")
        if (
            isinstance(reupload_bytes_per_s, bool)
            or not isinstance(reupload_bytes_per_s, (int, float))
            or reupload_bytes_per_s <= 0
        ):
            raise ValueError(
                f"reupload_bytes_per_s must be a number > 0, got {reupload_bytes_per_s!r}"
            )
        self.reupload_bytes_per_s = float(reupload_bytes_per_s)
        self.period_s = float(period_s)
        self.retries = retries
        self.backoff_s = float(backoff_s)
        self._clock = clock
        self._sleep = sleep
        if filesystem is None:
            self._fs, self._remote_root = split_uri(self.uri)
        else:
            self._fs = filesystem
            self._remote_root = filesystem._strip_protocol(self.uri)
        self._remote_root = self._remote_root.rstrip("/")
        self.errors: list[SyncFailure] = []
        self.last_success_time: float | None = None
        self.uploaded_files = 0
        self._synced: dict[str, _Signature] = {}
        self._uploaded_at: dict[str, float] = {}  # clock time of each file's last upload
        self.deferred_uploads = 0
        self._reported: set[str] = set()
        self._deletions: list[str] = []  # remote paths (inside the root) to remove
        self._pass_lock = threading.Lock()
        self._cond = threading.Condition()
        self._requested = 0
        self._done = 0
        self._last_ok = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"Syncer({self.local_dir!r}, {self.uri!r}, period_s={self.period_s!r})"

    # -- controller-thread API -------------------------------------------------------------

    def mark_synced(self) -> None:
        """Record the local files present now as already uploaded (after :func:`download`)."""
        self._synced.update(self._scan())

    def delete_later(self, uri: str) -> None:
        """Remove the remote directory ``uri`` (under this syncer's root) in the next pass,
        with the retries of an upload: retention of checkpoints that workers uploaded
        straight to the URI. Safe to call from any thread; never waits on the network."""
        uri = _as_str(uri, "uri").rstrip("/")
        if not uri.startswith(self.uri + "/"):
            raise ValueError(f"uri must lie under {self.uri!r}, got {uri!r}")
        with self._cond:
            self._deletions.append(f"{self._remote_root}/{uri[len(self.uri) + 1 :]}")

    def start(self) -> None:
        """Start the background thread (once)."""
        with self._cond:
            if self._stopping:
                raise RuntimeError("this Syncer was stopped; create a new one")
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name=f"tunelab-syncer:{self.uri}", daemon=True
            )
            self._thread.start()

    def sync_now(self, timeout_s: float = 60.0) -> bool:
        """Ask for a full pass and wait up to ``timeout_s`` for it; True if it uploaded all.

        False when the pass did not finish in time or some file still failed (see
        :attr:`errors`). Starts the thread if needed.
        """
        self.start()
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._cond:
            self._requested += 1
            target = self._requested
            self._cond.notify_all()
            while self._done < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None or not self._thread.is_alive():
                    return False
                self._cond.wait(remaining)
            return self._last_ok

    def stop(self, final_sync: bool = True, timeout_s: float = 60.0) -> bool:
        """End the thread, after one last full pass when ``final_sync``; True if it succeeded.

        Without ``final_sync`` (or when the thread was never started) returns whether the
        last pass succeeded. Waits at most about ``timeout_s`` seconds in all.
        """
        started = time.monotonic()
        result = self._last_ok
        if final_sync and not self._stopping:
            result = self.sync_now(timeout_s)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(max(0.0, timeout_s - (time.monotonic() - started)))
        return result

    @property
    def running(self) -> bool:
        """True while the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    # -- the syncer thread -----------------------------------------------------------------

    def _run(self) -> None:
        started = -math.inf
        while True:
            with self._cond:
                # passes start every period_s (a slow pass is followed by the next at once)
                wait = self.period_s - (time.monotonic() - started)
                if not self._stopping and self._requested == self._done and wait > 0:
                    self._cond.wait(wait)
                if self._stopping:
                    return
                target = self._requested
                forced = self._requested > self._done
            started = time.monotonic()
            try:
                ok = self.sync_once(full=forced)
            except Exception:  # never let the thread die silently
                logger.exception("syncing %s to %s failed unexpectedly", self.local_dir, self.uri)
                ok = False
            with self._cond:
                self._last_ok = ok
                self._done = max(self._done, target)
                self._cond.notify_all()

    def sync_once(self, full: bool = True) -> bool:
        """One pass in the calling thread; True when every file it took is uploaded.
        ``full=False``: a periodic pass, which may defer re-uploads of growing files."""
        with self._pass_lock:
            return self._pass(full)

    def _pass(self, full: bool = True) -> bool:
        ok = self._delete_removed_checkpoints() & self._delete_requested()
        current = self._scan()
        changed = [rel for rel, sig in current.items() if self._synced.get(rel) != sig]
        if not full:
            changed = self._due(changed, current)
        # Trial files first, experiment-level files (state, journal, tuner.pkl) last.
        changed.sort(key=lambda rel: ("/" not in rel, rel))
        trial_files = [rel for rel in changed if "/" in rel]
        if len(trial_files) > 1 and self._upload_together(trial_files, current):
            changed = changed[len(trial_files) :]
        failed_in_a_row = 0
        for index, rel in enumerate(changed):
            if failed_in_a_row >= _GIVE_UP_AFTER:
                logger.warning(
                    "storage %s keeps failing: %d more changed file(s) wait for the next pass",
                    self.uri,
                    len(changed) - index,
                )
                break
            attempts = 1 if failed_in_a_row else self.retries
            if self._upload(rel, current[rel], attempts):
                failed_in_a_row = 0
            else:
                ok = False
                failed_in_a_row += 1
        if ok:
            self.last_success_time = self._clock()
        return ok

    def _due(self, changed: list[str], current: dict[str, _Signature]) -> list[str]:
        """The changed files a periodic pass uploads now (see the class docstring)."""
        fresh = {rel.split("/", 1)[0] for rel in changed if rel not in self._synced}
        now = self._clock()
        due = []
        for rel in changed:
            last = self._uploaded_at.get(rel)
            if (
                last is not None
                and rel.split("/", 1)[0] not in fresh
                and now - last < current[rel][0] / self.reupload_bytes_per_s
            ):
                self.deferred_uploads += 1
                continue
            due.append(rel)
        return due

    def _scan(self) -> dict[str, _Signature]:
        found: dict[str, _Signature] = {}
        if not os.path.isdir(self.local_dir):
            return found
        for dirpath, dirnames, filenames in os.walk(self.local_dir):
            dirnames.sort()
            for name in filenames:
                if name.endswith(".tmp") or ".tmp-" in name or name in LOCAL_ONLY_FILES:
                    continue
                full = os.path.join(dirpath, name)
                try:
                    stat = os.stat(full)
                except OSError:  # removed or replaced meanwhile
                    continue
                rel = os.path.relpath(full, self.local_dir).replace(os.sep, "/")
                found[rel] = (stat.st_size, stat.st_mtime_ns)
        return found

    def _upload_together(self, rels: list[str], current: dict[str, _Signature]) -> bool:
        """Upload ``rels`` in one call (concurrent on async filesystems such as s3fs); False
        when it failed (the caller then uploads them one by one, with retries)."""
        # fsspec sorts a list of local paths before pairing it with the remote list
        pairs = sorted((os.path.join(self.local_dir, *rel.split("/")), rel) for rel in rels)
        local = [path for path, _ in pairs]
        remote = [f"{self._remote_root}/{rel}" for _, rel in pairs]
        try:
            self._fs.put(local, remote)
        except Exception:
            return False
        now = self._clock()
        for rel in rels:
            self._synced[rel] = current[rel]
            self._uploaded_at[rel] = now
            self._reported.discard(rel)
        self.uploaded_files += len(rels)
        return True

    def _upload(self, rel: str, signature: _Signature, attempts: int) -> bool:
        local = os.path.join(self.local_dir, *rel.split("/"))
        remote = f"{self._remote_root}/{rel}"
        error: BaseException | None = None
        for attempt in range(attempts):
            if attempt:
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                self._fs.put_file(local, remote)
            except FileNotFoundError as exc:
                if not os.path.exists(local):  # deleted locally meanwhile: nothing to do
                    self._reported.discard(rel)
                    return True
                error = exc
            except Exception as exc:
                error = exc
            else:
                self._synced[rel] = signature
                self._uploaded_at[rel] = self._clock()
                self.uploaded_files += 1
                self._reported.discard(rel)
                return True
        self._fail(local, remote, attempts, error, rel)
        return False

    def _fail(
        self,
        local: str,
        remote: str,
        attempts: int,
        error: BaseException | None,
        key: str,
        *,
        deleting: bool = False,
    ) -> None:
        message = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
        if key in self._reported:
            return
        self._reported.add(key)
        self.errors.append(SyncFailure(local, remote, attempts, message))
        if deleting:
            logger.error(
                "could not delete %s after %d attempt(s) (%s); the deletion will be retried",
                remote,
                attempts,
                message,
            )
            return
        logger.error(
            "could not upload %s to %s after %d attempt(s) (%s); the local copy is kept and "
            "the upload will be retried",
            local,
            remote,
            attempts,
            message,
        )

    def _delete_removed_checkpoints(self) -> bool:
        ok = True
        checkpoint_dirs: dict[str, list[str]] = {}
        for rel in self._synced:
            parts = rel.split("/")
            for depth, part in enumerate(parts[:-1]):
                if part.startswith(_CHECKPOINT_PREFIX):
                    checkpoint_dirs.setdefault("/".join(parts[: depth + 1]), []).append(rel)
                    break
        for rel_dir, files in checkpoint_dirs.items():
            local = os.path.join(self.local_dir, *rel_dir.split("/"))
            if os.path.isdir(local):
                continue
            remote = f"{self._remote_root}/{rel_dir}"
            error = self._remove(remote)
            if error is None:
                for rel in files:
                    self._synced.pop(rel, None)
                self._reported.discard(rel_dir)
            else:
                ok = False
                self._fail(local, remote, self.retries, error, rel_dir, deleting=True)
        return ok

    def _delete_requested(self) -> bool:
        with self._cond:
            pending, self._deletions = self._deletions, []
        failed = []
        for remote in pending:
            error = self._remove(remote)
            if error is not None:
                failed.append(remote)
                self._fail(remote, remote, self.retries, error, remote, deleting=True)
        if failed:
            with self._cond:
                self._deletions[:0] = failed
        return not failed

    def _remove(self, remote: str) -> BaseException | None:
        """Remove ``remote`` (recursively) with retries; the last error, or None."""
        error: BaseException | None = None
        for attempt in range(self.retries):
            if attempt:
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                if self._fs.exists(remote):
                    self._fs.rm(remote, recursive=True)
            except FileNotFoundError:
                return None
            except Exception as exc:
                error = exc
            else:
                return None
        return error
