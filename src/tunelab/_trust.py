"""What tunelab unpickles from disk, authenticated; and the writer of every secret file.

Data read back from the network or from disk never becomes code unless tunelab can show that
it wrote that data itself. The proof is an HMAC-SHA256 over the pickled bytes, keyed with a
secret generated once per experiment and kept in the experiment directory:

- :data:`KEY_FILE` (``<experiment dir>/.tunelab_key``): 32 random bytes as hex. It is created
  with ``O_CREAT | O_EXCL | O_NOFOLLOW`` and mode 0600 (:func:`ensure_key`) and *used* only
  when it is a regular file (not a symlink, a FIFO...), owned by this user, not readable or
  writable by group or others, and holds exactly one key (:func:`load_key`). Anything else is
  refused with :class:`KeyFileError` naming the file and the reason.
- Signed files (``tuner.pkl``) start with one header line ``tunelab-hmac-sha256 <hex>``
  before the pickle (:func:`signed_content`, :func:`signed_payload`).
- Signed blobs inside JSON state (a searcher's pickled state in ``experiment_state.json``)
  are ``{"format": "pickle", "data": <base64>, "mac": <hex>}`` (:func:`dumps_signed`,
  :func:`loads_signed`). They are signed while a :func:`signing` scope is active and checked
  while a :func:`verifying` scope is active; the resume path opens that scope. Outside one,
  :func:`loads_signed` trusts its caller: it is the user's own driver code handing back a
  state it holds (``searcher.set_state(state)``), not tunelab reading a file.

:func:`write_private_file` writes every file that holds a secret (the key, the REST server's
token): a temporary file created ``O_EXCL | O_NOFOLLOW`` with its final mode, then moved into
place, so a symlink planted at the path is replaced, never followed.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import hashlib
import hmac
import logging
import os
import secrets
import stat
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from tunelab._errors import TuneError

__all__ = [
    "KEY_FILE",
    "KeyFileError",
    "SignatureError",
    "TrustError",
    "dumps_signed",
    "ensure_key",
    "is_signed_blob",
    "load_key",
    "loads_signed",
    "seal",
    "sign",
    "signed_content",
    "signed_payload",
    "signing",
    "unseal",
    "verify",
    "verifying",
    "write_private_file",
]

logger = logging.getLogger("tunelab")

#: The experiment's signing key, in the experiment directory.
KEY_FILE = ".tunelab_key"
_KEY_BYTES = 32
_FILE_HEADER = b"tunelab-hmac-sha256 "
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_POSIX = os.name == "posix"


class TrustError(TuneError):
    """Data that would be unpickled cannot be authenticated. ``path`` names the file."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class KeyFileError(TrustError):
    """The experiment's key file is missing or refused (symlink, wrong owner or mode...)."""


class SignatureError(TrustError):
    """Signed data whose signature is missing or does not match the experiment's key."""


# -- secret files ----------------------------------------------------------------------------
def write_private_file(
    path: str, data: bytes, mode: int = 0o600, *, exclusive: bool = False
) -> str:
    """Write ``data`` to ``path`` with ``mode`` without ever following a symlink there.

    The bytes go to a new temporary file next to ``path`` (``O_CREAT | O_EXCL | O_NOFOLLOW``,
    created with ``mode``), are flushed, and the file is then moved to ``path``: replacing
    whatever is there (a stale file, a planted symlink: the link itself is replaced, its
    target is untouched), or with ``exclusive=True`` only when nothing is there
    (``FileExistsError`` otherwise). Returns ``path``.
    """
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    temp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
    fd = os.open(temp, flags, mode)
    try:
        try:
            with contextlib.suppress(OSError):  # the umask may have cleared bits of ``mode``
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if not exclusive:
            os.replace(temp, path)
        else:
            try:
                os.link(temp, path)  # atomic; fails when anything (even a symlink) is there
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links
                _write_exclusive(path, data, mode)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    return path


def _write_exclusive(path: str, data: bytes, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
    fd = os.open(path, flags, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


# -- the experiment's key ------------------------------------------------------------------
def load_key(directory: str) -> bytes:
    """The key of the experiment in ``directory``; :class:`KeyFileError` when it is missing
    or refused (see the module docstring for what a usable key file is)."""
    path = os.path.join(directory, KEY_FILE)
    try:
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK)
    except FileNotFoundError:
        raise KeyFileError(f"the experiment has no key file {path}", path) from None
    except OSError as exc:
        if os.path.islink(path):
            raise KeyFileError(f"the key file {path} is a symlink: refused", path) from None
        raise KeyFileError(f"the key file {path} cannot be read: {exc}", path) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"the key file {path} is not a regular file: refused", path)
        if _POSIX:
            if info.st_uid != os.geteuid():
                raise KeyFileError(
                    f"the key file {path} belongs to user id {info.st_uid}, not to this user "
                    f"({os.geteuid()}): refused",
                    path,
                )
            if info.st_mode & 0o077:
                raise KeyFileError(
                    f"the key file {path} has mode {stat.S_IMODE(info.st_mode):04o}; only "
                    "0600 (readable by its owner alone) is trusted: refused",
                    path,
                )
        raw = os.read(fd, 4 * _KEY_BYTES + 2)
    finally:
        os.close(fd)
    text = raw.decode("ascii", "replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != _KEY_BYTES:
        raise KeyFileError(f"the key file {path} does not hold a key: refused", path)
    return key


def ensure_key(directory: str) -> bytes:
    """The experiment's key, created (0600, exclusively, never through a symlink) when the
    directory has none. A key file that is refused is replaced by a new key, with a warning:
    what the old one signed is then no longer trusted."""
    try:
        return load_key(directory)
    except KeyFileError as exc:
        refused = exc
    path = os.path.join(directory, KEY_FILE)
    key = secrets.token_bytes(_KEY_BYTES)
    data = key.hex().encode() + b"\n"
    exists = os.path.lexists(path)
    if not exists:
        try:
            write_private_file(path, data, 0o600, exclusive=True)
            return key
        except FileExistsError:  # another process created it just now
            return load_key(directory)
    logger.warning(
        "tunelab: %s; a new key replaces it (files signed with the old one are no longer trusted)",
        refused,
    )
    write_private_file(path, data, 0o600)
    return key


# -- signatures ----------------------------------------------------------------------------
def sign(key: bytes, data: bytes) -> str:
    """The hex HMAC-SHA256 of ``data`` under ``key``."""
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def verify(key: bytes, data: bytes, mac: object) -> bool:
    """Whether ``mac`` is the signature of ``data`` under ``key`` (constant-time compare)."""
    if not isinstance(mac, str):
        return False
    return hmac.compare_digest(sign(key, data).encode(), mac.encode("ascii", "replace"))


def signed_content(key: bytes, data: bytes) -> bytes:
    """The content of a signed file holding ``data`` (header line, then ``data``)."""
    return _FILE_HEADER + sign(key, data).encode() + b"\n" + data


def signed_payload(path: str, raw: bytes, key: bytes) -> bytes:
    """The payload of the signed file ``path`` whose content is ``raw``, after checking its
    signature; :class:`SignatureError` naming ``path`` when it is missing or wrong."""
    if not raw.startswith(_FILE_HEADER):
        raise SignatureError(
            f"{path} carries no signature (it was not written by this experiment's tunelab, "
            "or by an older version): it is not unpickled",
            path,
        )
    header, _, payload = raw.partition(b"\n")
    mac = header[len(_FILE_HEADER) :].decode("ascii", "replace")
    if not verify(key, payload, mac):
        raise SignatureError(
            f"{path} does not match its signature under the experiment's key "
            f"({KEY_FILE}): it was changed after tunelab wrote it, and is not unpickled",
            path,
        )
    return payload


# -- signed blobs in JSON state --------------------------------------------------------------
class _Signer:
    __slots__ = ("key", "provide", "tried")

    def __init__(self, provide: Callable[[], bytes | None]) -> None:
        self.provide = provide
        self.key: bytes | None = None
        self.tried = False

    def get(self) -> bytes | None:
        if not self.tried:
            self.tried = True
            self.key = self.provide()
        return self.key


class _Verifier:
    __slots__ = ("key", "reason", "source")

    def __init__(self, key: bytes | None, source: str, reason: str) -> None:
        self.key = key
        self.source = source
        self.reason = reason


_SIGNER: contextvars.ContextVar[_Signer | None] = contextvars.ContextVar(
    "tunelab_signer", default=None
)
_VERIFIER: contextvars.ContextVar[_Verifier | None] = contextvars.ContextVar(
    "tunelab_verifier", default=None
)


@contextlib.contextmanager
def signing(provide_key: Callable[[], bytes | None]) -> Iterator[None]:
    """Sign the blobs :func:`dumps_signed`/:func:`seal` produce in this scope with the key
    ``provide_key()`` returns (called once, on the first blob; ``None``: left unsigned)."""
    token = _SIGNER.set(_Signer(provide_key))
    try:
        yield
    finally:
        _SIGNER.reset(token)


@contextlib.contextmanager
def verifying(key: bytes | None, source: str, reason: str = "") -> Iterator[None]:
    """Check every blob loaded in this scope against ``key`` (``None``: no usable key, so
    every blob is refused, with ``reason``). ``source`` names the file the blobs came from."""
    token = _VERIFIER.set(_Verifier(key, source, reason))
    try:
        yield
    finally:
        _VERIFIER.reset(token)


def seal(raw: bytes, format: str = "pickle") -> dict[str, Any]:
    """``raw`` as a JSON-safe blob, signed when a :func:`signing` scope has a key."""
    blob: dict[str, Any] = {"format": format, "data": base64.b64encode(raw).decode()}
    signer = _SIGNER.get()
    key = signer.get() if signer is not None else None
    if key is not None:
        blob["mac"] = sign(key, raw)
    return blob


def unseal(blob: Mapping[str, Any] | str, what: str = "state") -> bytes:
    """The bytes of a blob made by :func:`seal` (a bare base64 string: an unsigned blob of
    an older version). Inside a :func:`verifying` scope its signature must match, else
    :class:`SignatureError` naming the source file and ``what``."""
    if isinstance(blob, str):
        data, mac = blob, None
    elif isinstance(blob, Mapping) and isinstance(blob.get("data"), str):
        data, mac = blob["data"], blob.get("mac")
    else:
        raise ValueError(f"{what}: not a packed blob: {blob!r:.200}")
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        raise ValueError(f"{what}: the packed data is not base64") from None
    verifier = _VERIFIER.get()
    if verifier is None:
        return raw
    if verifier.key is None:
        raise SignatureError(
            f"the {what} in {verifier.source} cannot be authenticated ({verifier.reason}): "
            "it is not unpickled",
            verifier.source,
        )
    if mac is None:
        raise SignatureError(
            f"the {what} in {verifier.source} carries no signature: it is not unpickled",
            verifier.source,
        )
    if not verify(verifier.key, raw, mac):
        raise SignatureError(
            f"the {what} in {verifier.source} does not match its signature under the "
            f"experiment's key ({KEY_FILE}): it was changed after tunelab wrote it, and is "
            "not unpickled",
            verifier.source,
        )
    return raw


def dumps_signed(value: Any) -> dict[str, Any]:
    """``value`` cloudpickled into a blob (see :func:`seal`)."""
    import cloudpickle

    return seal(cloudpickle.dumps(value))


def loads_signed(blob: Mapping[str, Any] | str, what: str = "state") -> Any:
    """The value of a blob made by :func:`dumps_signed`, unpickled only once
    :func:`unseal` accepted it."""
    import pickle

    return pickle.loads(unseal(blob, what))


def is_signed_blob(value: object) -> bool:
    """Whether ``value`` looks like a blob :func:`seal` made."""
    return (
        isinstance(value, Mapping)
        and isinstance(value.get("data"), str)
        and value.get("format") in ("pickle", "bytes")
    )
