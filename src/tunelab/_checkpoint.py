"""``Checkpoint``: the state a trial saves and restores from.

One class covers both Ray Tune generations:

* the 2.0-2.6 AIR API: dict checkpoints (``from_dict``/``to_dict``), ``from_bytes``/``to_bytes``;
* the newest API: a directory (``Checkpoint(path)``, ``from_directory``, ``to_directory``,
  ``as_directory``) with JSON metadata (``get_metadata``/``set_metadata``/``update_metadata``).
  The directory may be remote (an fsspec URI such as ``s3://bucket/exp/trial/checkpoint_000003``,
  where workers on other machines upload their checkpoints): reading it downloads it once
  into a temporary directory.

A dict checkpoint lives in memory until it is written somewhere; written to a directory it is
the single file ``_dict_checkpoint.pkl`` (cloudpickle), and a directory holding that file
reads back as the dict. Metadata lives in ``.metadata.json`` inside the directory.

Workers call :func:`persist_checkpoint` to place a reported checkpoint in trial storage.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any

from tunelab._errors import TuneError, raise_storage_error

__all__ = [
    "DICT_CHECKPOINT_FILE",
    "METADATA_FILE",
    "TRAINABLE_STATE_FILE",
    "Checkpoint",
    "TrialCheckpoint",
    "checkpoint_directory_of",
    "make_temp_checkpoint_dir",
    "persist_checkpoint",
    "saved_file_of",
]

DICT_CHECKPOINT_FILE = "_dict_checkpoint.pkl"
METADATA_FILE = ".metadata.json"
#: written by ``Trainable.save`` into each checkpoint directory: the iteration counters and
#: how ``save_checkpoint`` returned the checkpoint (``saved_as`` "dir", "dict" or "file",
#: with ``file`` the returned path relative to the directory)
TRAINABLE_STATE_FILE = ".tunelab_trainable_state.json"
_BYTES_FORMAT = "__tunelab_checkpoint_bytes__"
_TEMP_PREFIX = "tunelab_checkpoint_"

# Temporary directories tunelab created in this process; persist_checkpoint may move them.
_owned_temp_dirs: set[str] = set()
# Local copies of remote checkpoints made in this process (removed at exit).
_download_dirs: set[str] = set()
_cleanup_registered = False


def _cleanup_owned_temp_dirs() -> None:
    for path in list(_owned_temp_dirs) + list(_download_dirs):
        shutil.rmtree(path, ignore_errors=True)
    _owned_temp_dirs.clear()
    _download_dirs.clear()


def make_temp_checkpoint_dir(prefix: str = _TEMP_PREFIX) -> str:
    """Create a temporary directory owned by tunelab and return its path.

    :func:`persist_checkpoint` moves (rather than copies) a checkpoint that lives in such a
    directory. Directories not persisted by the end of the process are removed then.
    """
    global _cleanup_registered
    path = tempfile.mkdtemp(prefix=prefix)
    _owned_temp_dirs.add(os.path.realpath(path))
    if not _cleanup_registered:
        atexit.register(_cleanup_owned_temp_dirs)
        _cleanup_registered = True
    return path


def _is_owned_temp_dir(path: str) -> bool:
    return os.path.realpath(path) in _owned_temp_dirs


def _location(value: Any, argument: str) -> str:
    """A checkpoint's own location: a local directory path, or a remote URI kept as is."""
    from tunelab._storage import is_uri

    if isinstance(value, str) and is_uri(value):
        return value.rstrip("/")
    return _local_path(value, argument)


def _local_path(value: Any, argument: str) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"{argument} must be a directory path (str or os.PathLike), got "
            f"{type(value).__name__}: {value!r}"
        )
    path = os.fspath(value)
    if not isinstance(path, str) or not path:
        raise ValueError(f"{argument} must be a non-empty directory path, got {value!r}")
    if path.startswith("file://"):
        path = path[len("file://") :]
    elif "://" in path:
        raise ValueError(
            f"{argument} must be a local directory path, got the URI {path!r}; "
            "copy a remote checkpoint with Checkpoint(uri).to_directory(local_path)"
        )
    return os.path.abspath(os.path.expanduser(path))


def _is_within(inner: str, outer: str) -> bool:
    inner_real, outer_real = os.path.realpath(inner), os.path.realpath(outer)
    return inner_real == outer_real or inner_real.startswith(outer_real.rstrip(os.sep) + os.sep)


def _atomic_write(path: str, payload: bytes) -> None:
    tmp = f"{path}.tmp-{os.urandom(4).hex()}"
    try:
        with open(tmp, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, path)
    except BaseException as exc:
        raise_storage_error(exc, "checkpoint metadata", path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextlib.contextmanager
def _writing_checkpoint(directory: str) -> Iterator[None]:
    """Write a checkpoint into ``directory``: when the block fails, a ``directory`` it
    created is removed (no half-written checkpoint stays behind), and a storage failure
    becomes a one-line :class:`~tunelab._errors.StorageError` naming the directory."""
    existed = os.path.lexists(directory)
    try:
        yield
    except BaseException as exc:
        if not existed:
            shutil.rmtree(directory, ignore_errors=True)
        raise_storage_error(exc, "a checkpoint", directory)


def _check_metadata(metadata: Any, argument: str) -> dict[str, Any]:
    if not isinstance(metadata, Mapping):
        raise TypeError(f"{argument} must be a dict, got {type(metadata).__name__}: {metadata!r}")
    try:
        text = json.dumps(dict(metadata))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{argument} must be JSON-serializable: {exc}") from None
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _write_dict_checkpoint(
    directory: str, data: dict[str, Any], metadata: dict[str, Any] | None
) -> None:
    import cloudpickle

    with _writing_checkpoint(directory):
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, DICT_CHECKPOINT_FILE)
        tmp = f"{path}.tmp-{os.urandom(4).hex()}"
        try:
            # streamed with protocol 5: large buffers (numpy arrays) go to the file without an
            # intermediate copy of the whole pickle in memory
            with open(tmp, "wb") as handle:
                cloudpickle.dump(data, handle, protocol=5)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        if metadata:
            _atomic_write(os.path.join(directory, METADATA_FILE), json.dumps(metadata).encode())


class Checkpoint:
    """A trial's saved state: a directory (local or remote), or an in-memory dict.

    A trainable reports one with ``train.report(metrics, checkpoint=...)`` (or
    ``session.report``/``tune.report``) and reads the one to resume from with
    :func:`tunelab.get_checkpoint`; the analysis hands them back (``Result.checkpoint``,
    ``ExperimentAnalysis.get_best_checkpoint``).

    ``Checkpoint(path)`` (or :meth:`from_directory`) refers to a directory without copying
    it; :meth:`from_dict` holds a dict (the Ray AIR 2.0-2.6 style). Both forms
    interconvert: :meth:`to_directory` and :meth:`as_directory` write a dict checkpoint as
    the single file ``_dict_checkpoint.pkl`` (cloudpickle), and :meth:`to_dict` reads that
    file back from a directory. When a trial reports a checkpoint, tunelab copies (or, for
    a temporary directory it created, moves) it into the trial directory as
    ``checkpoint_<iteration:06d>``, so the reported directory may be reused afterwards.

    Metadata is a JSON-safe dict, kept in ``.metadata.json`` inside the directory (in memory
    for a dict checkpoint, written out with it). Checkpoint objects are cheap to pickle: a
    directory checkpoint carries only its path.

    ``path`` may be an fsspec URI (``s3://...``): every read downloads the directory once
    into a temporary directory (removed when the process exits) and works there;
    :meth:`set_metadata` writes the metadata file back to the URI.

    Checkpoints are pickles your trainable wrote: load only checkpoints you trust.

    Args:
        path: The checkpoint directory: a local path (``str`` or ``os.PathLike``, made
            absolute; a ``file://`` prefix is dropped) or a remote fsspec URI such as
            ``s3://bucket/exp/trial/checkpoint_000003``. The directory is not checked here
            (:meth:`from_directory` checks that it exists).
        filesystem: Ray 2.x's ``pyarrow.fs.FileSystem`` argument; only ``None`` is
            accepted (give remote checkpoints as URIs instead).
        local_path: Ray AIR's keyword spelling of ``path`` (a local directory).
        data_dict: Ray AIR's keyword for a dict checkpoint, the same as
            :meth:`from_dict` (a shallow copy is kept).

    Raises:
        ValueError: Not exactly one of ``path``, ``local_path`` and ``data_dict`` was
            given, ``filesystem`` is not None, or the path is empty.
        TypeError: ``path`` is not a path or ``data_dict`` is not a dict.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        filesystem: Any = None,
        *,
        local_path: str | os.PathLike[str] | None = None,
        data_dict: dict[str, Any] | None = None,
    ) -> None:
        if filesystem is not None:
            raise ValueError(
                f"filesystem must be None (checkpoints are local directories), got {filesystem!r}"
            )
        given = [name for name, value in (("path", path), ("local_path", local_path),
                 ("data_dict", data_dict)) if value is not None]  # fmt: skip
        if len(given) != 1:
            raise ValueError(
                "Checkpoint needs exactly one of path, local_path or data_dict, got "
                + (", ".join(given) if given else "none")
            )
        self._path: str | None = None
        self._data: dict[str, Any] | None = None
        self._metadata: dict[str, Any] = {}
        self._download: str | None = None  # the local copy of a remote checkpoint
        if data_dict is not None:
            if not isinstance(data_dict, Mapping):
                raise TypeError(
                    f"data_dict must be a dict, got {type(data_dict).__name__}: {data_dict!r}"
                )
            self._data = dict(data_dict)
        else:
            self._path = _location(path if path is not None else local_path, given[0])

    # -- the directory form -------------------------------------------------------------

    @property
    def path(self) -> str | None:
        """The checkpoint directory (absolute, or a remote URI), or None for an in-memory
        dict checkpoint."""
        return self._path

    @property
    def is_remote(self) -> bool:
        """True when the checkpoint lives at a remote URI (``s3://...``)."""
        return self._path is not None and "://" in self._path

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str]) -> Checkpoint:
        """Refer to the existing directory ``path`` (no copy is made).

        Args:
            path: A local directory (``str`` or ``os.PathLike``) or a remote URI
                (``s3://...``) that must exist.

        Returns:
            A directory checkpoint for ``path``.

        Raises:
            ValueError: ``path`` is not an existing directory (or the URI holds nothing).
            TypeError: ``path`` is not a ``str`` or ``os.PathLike``.
        """
        location = _location(path, "path")
        if "://" in location:
            from tunelab._storage import uri_exists

            if not uri_exists(location):
                raise ValueError(f"path must be an existing directory, got {location!r}")
        elif not os.path.isdir(location):
            raise ValueError(f"path must be an existing directory, got {os.fspath(path)!r}")
        return cls(location)

    def _existing_dir(self) -> str:
        assert self._path is not None
        if self.is_remote:
            return self._downloaded()
        if not os.path.isdir(self._path):
            raise FileNotFoundError(f"checkpoint directory {self._path!r} does not exist")
        return self._path

    def _downloaded(self) -> str:
        """The local copy of a remote checkpoint (downloaded on first use)."""
        assert self._path is not None
        if self._download is not None and os.path.isdir(self._download):
            return self._download
        from tunelab._storage import download

        local = make_temp_checkpoint_dir(prefix="tunelab_remote_checkpoint_")
        _owned_temp_dirs.discard(os.path.realpath(local))  # a cache: never moved away
        _download_dirs.add(local)
        try:
            download(self._path, local)
        except FileNotFoundError:
            shutil.rmtree(local, ignore_errors=True)
            raise FileNotFoundError(f"checkpoint directory {self._path!r} does not exist") from None
        self._download = local
        return local

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_download"] = None  # a local cache means nothing in another process
        return state

    def to_directory(self, path: str | os.PathLike[str] | None = None) -> str:
        """Copy the checkpoint into a local directory.

        A dict checkpoint is written as ``_dict_checkpoint.pkl`` (plus its metadata); a
        directory checkpoint is copied (a remote one is downloaded first). Files already in
        ``path`` with other names are left alone.

        Args:
            path: The local directory to copy into, created if needed; ``None`` makes a new
                temporary directory. It must not lie inside the checkpoint's own directory.

        Returns:
            The directory written. The caller owns it; tunelab never deletes or moves it.

        Raises:
            ValueError: ``path`` is a remote URI or lies inside the checkpoint directory.
            FileNotFoundError: The checkpoint's directory does not exist any more.
        """
        dest = tempfile.mkdtemp(prefix=_TEMP_PREFIX) if path is None else _local_path(path, "path")
        if self._data is not None:
            _write_dict_checkpoint(dest, self._data, self._metadata)
            return dest
        source = self._existing_dir()
        if os.path.realpath(source) == os.path.realpath(dest):
            return dest
        if _is_within(dest, source):
            raise ValueError(f"path {dest!r} lies inside the checkpoint directory {source!r}")
        with _writing_checkpoint(dest):
            shutil.copytree(source, dest, dirs_exist_ok=True)
        return dest

    @contextlib.contextmanager
    def as_directory(self) -> Iterator[str]:
        """Yield a local directory holding the checkpoint; treat it as read-only.

        A directory checkpoint yields its own path (no copy; a remote one yields its local
        download). A dict checkpoint is written to a temporary directory that is removed
        when the block ends.

        Yields:
            The path of a local directory holding the checkpoint's files.
        """
        if self._data is None:
            yield self._existing_dir()
            return
        tmp = tempfile.mkdtemp(prefix=_TEMP_PREFIX)
        try:
            _write_dict_checkpoint(tmp, self._data, self._metadata)
            yield tmp
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # -- the dict form --------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        """A checkpoint holding ``data`` in memory.

        Args:
            data: The dict to hold; a shallow copy is kept. Its values must be picklable
                (with cloudpickle) when the checkpoint is reported.

        Returns:
            A dict checkpoint.

        Raises:
            TypeError: ``data`` is not a dict.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"data must be a dict, got {type(data).__name__}: {data!r}")
        return cls(data_dict=dict(data))

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint's dict (a shallow copy).

        Works on a dict checkpoint and on a directory holding ``_dict_checkpoint.pkl`` (a
        dict checkpoint written out, or a class trainable's ``save_checkpoint`` that
        returned a dict).

        Returns:
            The dict.

        Raises:
            ValueError: The directory holds no ``_dict_checkpoint.pkl``.
            TuneError: That file cannot be unpickled or does not hold a dict.
        """
        if self._data is not None:
            return dict(self._data)
        directory = self._existing_dir()
        file = os.path.join(directory, DICT_CHECKPOINT_FILE)
        if not os.path.isfile(file):
            raise ValueError(
                f"the checkpoint at {directory!r} is a directory checkpoint, not a dict "
                f"checkpoint (it has no {DICT_CHECKPOINT_FILE}); read its files with "
                "to_directory() or as_directory()"
            )
        import cloudpickle

        try:
            with open(file, "rb") as handle:
                data = cloudpickle.load(handle)
        except Exception as exc:
            raise TuneError(
                f"could not load the dict checkpoint file {file!r}: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(data, dict):
            raise TuneError(
                f"the dict checkpoint file {file!r} holds a {type(data).__name__}, not a dict"
            )
        return data

    # -- bytes ----------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """Serialize the checkpoint: the dict, or the directory's files as a tar archive.

        Returns:
            Bytes that :meth:`from_bytes` turns back into a checkpoint.
        """
        import cloudpickle

        if self._data is not None:
            record: dict[str, Any] = {
                _BYTES_FORMAT: 1,
                "data": self._data,
                "metadata": self._metadata,
            }
        else:
            import io
            import tarfile

            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w") as archive:
                archive.add(self._existing_dir(), arcname=".")
            record = {_BYTES_FORMAT: 1, "directory_tar": buffer.getvalue()}
        payload: bytes = cloudpickle.dumps(record)
        return payload

    @classmethod
    def from_bytes(cls, data: bytes) -> Checkpoint:
        """Rebuild a checkpoint from :meth:`to_bytes` output (or a pickled plain dict).

        A directory checkpoint is unpacked into a new temporary directory owned by tunelab
        (moved into the trial directory when reported, else removed at exit).

        Args:
            data: Bytes from :meth:`to_bytes`. Only pass bytes you trust: they are
                unpickled.

        Returns:
            A dict checkpoint, or a directory checkpoint in a temporary directory.

        Raises:
            TypeError: ``data`` is not bytes.
            ValueError: ``data`` does not hold a serialized checkpoint.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, got {type(data).__name__}")
        import pickle

        try:
            record = pickle.loads(bytes(data))
        except Exception as exc:
            raise ValueError(
                f"data is not a serialized checkpoint: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(record, dict):
            raise ValueError(f"data holds a {type(record).__name__}, not a checkpoint")
        if record.get(_BYTES_FORMAT) is None:
            return cls.from_dict(record)
        if "data" in record:
            checkpoint = cls.from_dict(record["data"])
            checkpoint._metadata = dict(record.get("metadata") or {})
            return checkpoint
        import io
        import tarfile

        directory = make_temp_checkpoint_dir()
        with tarfile.open(fileobj=io.BytesIO(record["directory_tar"]), mode="r") as archive:
            if hasattr(tarfile, "data_filter"):
                archive.extractall(directory, filter="data")
            else:  # Python < 3.10.12: refuse members that would land outside the directory
                for member in archive.getmembers():
                    target = os.path.join(directory, member.name)
                    if not _is_within(target, directory) or member.issym() or member.islnk():
                        raise ValueError(f"data holds an unsafe archive member {member.name!r}")
                archive.extractall(directory)
        return cls(directory)

    # -- metadata -------------------------------------------------------------------------

    def get_metadata(self) -> dict[str, Any]:
        """The checkpoint's metadata.

        Returns:
            A copy of the metadata dict; ``{}`` when none was set.

        Raises:
            TuneError: The ``.metadata.json`` file is damaged.
        """
        if self._data is not None:
            loaded: dict[str, Any] = json.loads(json.dumps(self._metadata))
            return loaded
        file = os.path.join(self._existing_dir(), METADATA_FILE)
        try:
            with open(file, encoding="utf-8") as handle:
                metadata = json.load(handle)
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise TuneError(f"could not read the checkpoint metadata file {file!r}: {exc}") from exc
        if not isinstance(metadata, dict):
            raise TuneError(f"the checkpoint metadata file {file!r} does not hold a JSON object")
        return metadata

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        """Replace the metadata.

        For a directory checkpoint the file ``.metadata.json`` is rewritten atomically (and
        uploaded back for a remote checkpoint).

        Args:
            metadata: The new metadata, a JSON-serializable dict.

        Raises:
            TypeError: ``metadata`` is not a dict or not JSON-serializable.
        """
        checked = _check_metadata(metadata, "metadata")
        if self._data is not None:
            self._metadata = checked
            return
        file = os.path.join(self._existing_dir(), METADATA_FILE)
        _atomic_write(file, json.dumps(checked).encode())
        if self.is_remote:
            from tunelab._storage import split_uri

            assert self._path is not None
            fs, root = split_uri(self._path)
            fs.put_file(file, f"{root}/{METADATA_FILE}")

    def update_metadata(self, metadata: dict[str, Any]) -> None:
        """Merge ``metadata`` into the existing metadata.

        Args:
            metadata: A JSON-serializable dict; its top-level keys replace those already
                there, other keys stay.

        Raises:
            TypeError: ``metadata`` is not a dict or not JSON-serializable.
        """
        checked = _check_metadata(metadata, "metadata")
        merged = self.get_metadata()
        merged.update(checked)
        self.set_metadata(merged)

    # -- Ray Tune 1.x --------------------------------------------------------------------

    @property
    def value(self) -> Any:
        """Ray Tune 1.x's ``trial.checkpoint.value``: the checkpoint's path as a string.

        That is the file a class trainable's ``save_checkpoint`` returned when it returned a
        file inside the checkpoint directory (as 1.x did), else the directory (or URI); for
        an in-memory dict checkpoint, a copy of the dict (1.x's in-memory checkpoints held
        the object itself).
        """
        if self._path is None:
            return self.to_dict()
        return saved_file_of(self._path) or self._path

    def __repr__(self) -> str:
        if self._data is not None:
            return f"Checkpoint(data_dict with keys {sorted(map(str, self._data))!r})"
        return f"Checkpoint(path={self._path!r})"


def saved_file_of(directory: str) -> str | None:
    """The file a class trainable's ``save_checkpoint`` returned for the checkpoint in
    ``directory`` (an absolute path inside it), or None.

    None when the trainable returned nothing, the directory itself or a dict, when the
    checkpoint was not written by ``Trainable.save`` (no trainable state file), and for a
    remote URI (its state file is not fetched for this).
    """
    if "://" in directory:
        return None
    try:
        with open(os.path.join(directory, TRAINABLE_STATE_FILE), encoding="utf-8") as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("saved_as") != "file":
        return None
    file = state.get("file")
    if not isinstance(file, str) or not file or os.path.isabs(file):
        return None
    return os.path.join(directory, file)


def checkpoint_directory_of(path: str) -> str:
    """The checkpoint directory of ``path`` when ``path`` is the file a class trainable's
    ``save_checkpoint`` returned (the 1.x form of a checkpoint's path, as handed out by
    ``trial.checkpoint.value`` or ``get_trial_checkpoints_paths``); ``path`` unchanged
    otherwise."""
    if "://" in path or not os.path.isfile(path):
        return path
    file = os.path.normpath(os.path.abspath(path))
    directory = os.path.dirname(file)
    while not os.path.isfile(os.path.join(directory, TRAINABLE_STATE_FILE)):
        parent = os.path.dirname(directory)
        if parent == directory:
            return path
        directory = parent
    saved = saved_file_of(directory)
    return directory if saved is not None and os.path.normpath(saved) == file else path


class TrialCheckpoint(Checkpoint):
    """A trial's checkpoint as the analysis hands it out: a :class:`Checkpoint` that is also
    a path, as Ray Tune 1.x's ``best_checkpoint`` was a path string.

    The path is 1.x's: the file a class trainable's ``save_checkpoint`` returned when it
    returned a file inside the checkpoint directory (``.../checkpoint_000003/checkpoint``),
    else the checkpoint directory. ``os.fspath(ckpt)`` is that local path (a remote
    checkpoint is downloaded once), so ``open(analysis.best_checkpoint)`` (file) and
    ``os.path.join(analysis.best_checkpoint, "model.pt")`` (directory) work as in 1.x, and so
    do ``pathlib.Path(...)``; ``str(ckpt)`` is the same path (or the URI);
    ``ckpt + "/checkpoint"`` and ``"prefix" + ckpt`` concatenate like the 1.x string; a
    checkpoint equals a string or path naming its directory or that file. Everything else is
    :class:`Checkpoint`'s: ``ckpt.path`` is always the directory, and ``to_directory()``,
    ``as_directory()`` work on the directory. A dict checkpoint has no directory:
    ``os.fspath`` raises ``TypeError`` for it.
    """

    _UNREAD: Any = object()

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        filesystem: Any = None,
        *,
        local_path: str | os.PathLike[str] | None = None,
        data_dict: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(path, filesystem, local_path=local_path, data_dict=data_dict)
        self._saved_file: str | None = self._UNREAD

    def _file(self) -> str | None:
        """The file ``save_checkpoint`` returned (read once from the directory), or None."""
        saved: str | None = self.__dict__.get("_saved_file", self._UNREAD)
        if saved is self._UNREAD:
            saved = saved_file_of(self._path) if self._path is not None else None
            self._saved_file = saved
        return saved

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_saved_file", None)  # read again where it is unpickled
        return state

    def __fspath__(self) -> str:
        if self._path is None:
            raise TypeError(
                "a dict checkpoint has no directory; use to_directory() to write one first"
            )
        if self.is_remote:
            return self._downloaded()
        return self._file() or self._path

    def __str__(self) -> str:
        if self._path is None:
            return repr(self)
        return self._file() or self._path

    def __add__(self, other: object) -> str:
        if not isinstance(other, str):
            return NotImplemented
        return os.fspath(self) + other

    def __radd__(self, other: object) -> str:
        if not isinstance(other, str):
            return NotImplemented
        return other + os.fspath(self)

    def __eq__(self, other: object) -> bool:
        if self._path is None:
            return self is other
        if isinstance(other, Checkpoint):
            return other.path is not None and _same_location(self._path, other.path)
        if isinstance(other, str | os.PathLike):
            location = os.fspath(other)
            if not isinstance(location, str):
                return False
            file = self._file()
            return _same_location(self._path, location) or (
                file is not None and _same_location(file, location)
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._path) if self._path is not None else id(self)

    def __repr__(self) -> str:
        return f"TrialCheckpoint(path={self._path!r})" if self._path else super().__repr__()


def _same_location(a: str, b: str) -> bool:
    if "://" in a or "://" in b:
        return a.rstrip("/") == b.rstrip("/")
    return os.path.normpath(os.path.abspath(a)) == os.path.normpath(os.path.abspath(b))


def persist_checkpoint(
    checkpoint: Checkpoint, dest_dir: str | os.PathLike[str], *, move: bool | None = None
) -> Checkpoint:
    """Place ``checkpoint`` in ``dest_dir`` and return a directory checkpoint for it there.

    * a dict checkpoint is written as ``dest_dir/_dict_checkpoint.pkl`` (+ metadata);
    * a directory checkpoint already at ``dest_dir`` is returned as is;
    * another directory is moved when ``move`` is True, or when ``move`` is None and it is a
      temporary directory tunelab created (:func:`make_temp_checkpoint_dir`,
      :meth:`Checkpoint.from_bytes`); ``checkpoint`` itself then points at ``dest_dir``.
      Otherwise it is copied, through a staging directory renamed into place when
      ``dest_dir`` does not exist yet, so that a crash never leaves a half-copied
      ``dest_dir``.
    """
    if not isinstance(checkpoint, Checkpoint):
        raise TypeError(
            f"checkpoint must be a tunelab Checkpoint, got {type(checkpoint).__name__}: "
            f"{checkpoint!r}"
        )
    dest = _local_path(dest_dir, "dest_dir")
    if checkpoint._data is not None:
        _write_dict_checkpoint(dest, checkpoint._data, checkpoint._metadata)
        return Checkpoint(dest)
    source = checkpoint._existing_dir()
    if os.path.realpath(source) == os.path.realpath(dest):
        return checkpoint
    if _is_within(dest, source):
        raise ValueError(f"dest_dir {dest!r} lies inside the checkpoint directory {source!r}")
    parent = os.path.dirname(dest)
    with _writing_checkpoint(dest):
        os.makedirs(parent, exist_ok=True)
        dest_is_empty = not os.path.exists(dest) or (os.path.isdir(dest) and not os.listdir(dest))
        if move if move is not None else _is_owned_temp_dir(source):
            if dest_is_empty:
                if os.path.exists(dest):
                    os.rmdir(dest)
                _move_into_place(source, dest)
            else:
                shutil.copytree(source, dest, dirs_exist_ok=True)
                shutil.rmtree(source)
            _owned_temp_dirs.discard(os.path.realpath(source))
            checkpoint._path = dest
            return Checkpoint(dest)
        if os.path.exists(dest):
            shutil.copytree(source, dest, dirs_exist_ok=True)
            return Checkpoint(dest)
        _copy_into_place(source, dest)
    return Checkpoint(dest)


def _copy_into_place(source: str, dest: str, *, symlinks: bool = False) -> None:
    """Copy ``source`` to the new directory ``dest`` through a staging directory renamed
    into place: a crash or a full disk never leaves a half-copied ``dest`` (nor the
    staging directory)."""
    parent = os.path.dirname(dest)
    staging = os.path.join(parent, f".{os.path.basename(dest)}.partial-{os.urandom(4).hex()}")
    try:
        shutil.copytree(source, staging, symlinks=symlinks)
        os.rename(staging, dest)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging, ignore_errors=True)


def _move_into_place(source: str, dest: str) -> None:
    """Move ``source`` to the new directory ``dest``: a rename on the same file system,
    else (as ``shutil.move``) a copy, through a staging directory, then the source is
    removed; the source stays whole when the copy fails."""
    try:
        os.rename(source, dest)
        return
    except OSError:
        pass  # another file system
    _copy_into_place(source, dest, symlinks=True)
    shutil.rmtree(source, ignore_errors=True)
