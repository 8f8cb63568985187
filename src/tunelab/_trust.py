"""What tunelab unpickles from disk, authenticated; and the writer of every secret file.

Data read back from the network or from disk never becomes code unless tunelab can show that
it wrote that data itself. The proof is an HMAC-SHA256 over the pickled bytes, keyed with a
secret of the user who runs tunelab:

- the key file (:func:`key_path`: ``$XDG_CONFIG_HOME/tunelab/signing_key``, by default
  ``~/.config/tunelab/signing_key``) holds 32 random bytes as hex. It is created once, with
  ``O_CREAT | O_EXCL | O_NOFOLLOW`` and mode 0600 in a 0700 directory (:func:`ensure_key`),
  and *used* only when it is a regular file (not a symlink, a FIFO...) owned by this user,
  neither readable nor writable by group or others, in a directory of this user that others
  cannot write, holding exactly one key (:func:`load_key`). Anything else is refused with
  :class:`KeyFileError` naming the file and the reason.

  The key is kept per user, outside every experiment directory, on purpose: experiment
  directories are mirrored to remote storage and copied between machines, so a key kept in
  one would travel with the data it vouches for (anyone who can read the bucket could sign a
  pickle). The same user restores their experiments from any results directory or bucket on
  a machine that has their key; an experiment from anyone else is data only.
- Signed files (``tuner.pkl``) start with one header line
  ``tunelab-hmac-sha256 <key id> <mac>`` before the pickle (:func:`signed_content`,
  :func:`signed_payload`).
- Signed blobs inside JSON state (a searcher's pickled state in ``experiment_state.json``)
  are ``{"format": "pickle", "data": <base64>, "kid": <key id>, "mac": <hex>}``
  (:func:`dumps_signed`,
  :func:`loads_signed`). They are signed while a :func:`signing` scope is active and checked
  while a :func:`verifying` scope is active; the resume path opens that scope. Outside one,
  :func:`loads_signed` trusts its caller: it is the user's own driver code handing back a
  state it holds (``searcher.set_state(state)``), not tunelab reading a file.

A check that fails raises :class:`SignatureError` when the data was signed with this user's
key and changed since (tampering or corruption), and :class:`NotAuthenticatedError` when it
cannot be checked here (no signature, another key, no usable key file); either way nothing is
unpickled.

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
    "KeyFileError",
    "NotAuthenticatedError",
    "SignatureError",
    "TrustError",
    "dumps_signed",
    "ensure_key",
    "key_id",
    "key_path",
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

#: The name of the key file in its directory (see :func:`key_path`).
KEY_FILE = "signing_key"
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


class NotAuthenticatedError(TrustError):
    """Data that cannot be checked here: it carries no signature, it was signed with another
    key (another user's, another machine's), or there is no usable key."""


class KeyFileError(NotAuthenticatedError):
    """The user's key file is missing or refused (symlink, wrong owner or mode...)."""


class SignatureError(TrustError):
    """Data signed with this user's key whose signature does not match: it was changed
    after tunelab wrote it."""


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


# -- the user's key --------------------------------------------------------------------------
def key_path() -> str:
    """Where this user's key lives: ``$XDG_CONFIG_HOME/tunelab/signing_key``, by default
    ``~/.config/tunelab/signing_key`` (the XDG base directory convention)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "tunelab", KEY_FILE)


def load_key(path: str | None = None) -> bytes:
    """The key in ``path`` (default :func:`key_path`); :class:`KeyFileError` when it is
    missing or refused (see the module docstring for what a usable key file is)."""
    path = path or key_path()
    _check_key_dir(path)
    try:
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK)
    except FileNotFoundError:
        raise KeyFileError(f"there is no key file {path}", path) from None
    except OSError as exc:
        if os.path.islink(path):
            raise KeyFileError(f"the key file {path} is a symlink: refused", path) from None
        raise KeyFileError(f"the key file {path} cannot be read: {exc}", path) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"the key file {path} is not a regular file: refused", path)
        if _POSIX:
            _check_owner(path, info, "key file")
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


def _check_key_dir(path: str) -> None:
    """The key's directory must be this user's and writable by nobody else (else someone
    could swap the key file)."""
    directory = os.path.dirname(path) or "."
    try:
        info = os.stat(directory)
    except FileNotFoundError:
        return  # no key either: load_key says so
    except OSError as exc:
        raise KeyFileError(f"the key's directory {directory} cannot be read: {exc}", path) from None
    if _POSIX:
        _check_owner(path, info, f"key's directory {directory}")
        if info.st_mode & 0o022:
            raise KeyFileError(
                f"the key's directory {directory} is writable by others (mode "
                f"{stat.S_IMODE(info.st_mode):04o}): the key file {path} is refused",
                path,
            )


def _check_owner(path: str, info: os.stat_result, what: str) -> None:
    if info.st_uid != os.geteuid():
        raise KeyFileError(
            f"the {what} belongs to user id {info.st_uid}, not to this user "
            f"({os.geteuid()}): {path} is refused",
            path,
        )


def ensure_key(path: str | None = None) -> bytes:
    """This user's key, created (0600, exclusively, never through a symlink, in a 0700
    directory) when there is none. A key file that is refused is replaced by a new key, with
    a warning: what the old one signed is then no longer trusted. ``OSError`` when the key
    cannot be created (e.g. a read-only home directory)."""
    path = path or key_path()
    try:
        return load_key(path)
    except KeyFileError as exc:
        refused = exc
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    _check_key_dir(path)
    key = secrets.token_bytes(_KEY_BYTES)
    data = key.hex().encode() + b"\n"
    if not os.path.lexists(path):
        try:
            write_private_file(path, data, 0o600, exclusive=True)
            return key
        except FileExistsError:  # another process created it just now
            return load_key(path)
    logger.warning(
        "tunelab: %s; a new key replaces it (what the old one signed is no longer trusted)",
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


def key_id(key: bytes) -> str:
    """A short public name of ``key`` (a hash of it), stored next to each signature so that
    data signed with another key is told apart from data changed after signing."""
    return hashlib.sha256(b"tunelab key id\0" + key).hexdigest()[:16]


def _check(key: bytes | None, data: bytes, kid: object, mac: object, what: str, why: str) -> None:
    """Raise unless ``mac`` is ``data``'s signature under ``key``: NotAuthenticatedError when
    it cannot be checked, SignatureError when it was signed with ``key`` and does not match."""
    if key is None:
        raise NotAuthenticatedError(f"{what} cannot be authenticated ({why}): it is not unpickled")
    if not isinstance(mac, str):
        raise NotAuthenticatedError(
            f"{what} carries no signature (written by an older tunelab, or not by tunelab): "
            "it is not unpickled"
        )
    if kid is not None and kid != key_id(key):
        raise NotAuthenticatedError(
            f"{what} was signed with another tunelab key than this user's ({key_path()}): "
            "another user's or another machine's; it is not unpickled"
        )
    if not verify(key, data, mac):
        raise SignatureError(
            f"{what} does not match its signature under this user's tunelab key "
            f"({key_path()}): it was changed after tunelab wrote it, and is not unpickled"
        )


def signed_content(key: bytes, data: bytes) -> bytes:
    """The content of a signed file holding ``data``: the header line
    ``tunelab-hmac-sha256 <key id> <mac>``, then ``data``."""
    return _FILE_HEADER + f"{key_id(key)} {sign(key, data)}".encode() + b"\n" + data


def signed_payload(path: str, raw: bytes, key: bytes | None, why: str = "") -> bytes:
    """The payload of the signed file ``path`` whose content is ``raw``, once its signature
    checks out under ``key`` (see :func:`_check` for the errors; they name ``path``)."""
    kid: str | None = None
    mac: str | None = None
    payload = raw
    if raw.startswith(_FILE_HEADER):
        header, _, payload = raw.partition(b"\n")
        fields = header[len(_FILE_HEADER) :].decode("ascii", "replace").split()
        if len(fields) == 2:
            kid, mac = fields
    try:
        _check(key, payload, kid, mac, path, why)
    except TrustError as exc:
        exc.path = path
        raise
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
        blob["kid"] = key_id(key)
        blob["mac"] = sign(key, raw)
    return blob


def unseal(blob: Mapping[str, Any] | str, what: str = "state") -> bytes:
    """The bytes of a blob made by :func:`seal` (a bare base64 string: an unsigned blob of
    an older version). Inside a :func:`verifying` scope its signature must check out, else
    :class:`NotAuthenticatedError` or :class:`SignatureError` naming the source file and
    ``what``."""
    if isinstance(blob, str):
        data, mac, kid = blob, None, None
    elif isinstance(blob, Mapping) and isinstance(blob.get("data"), str):
        data, mac, kid = blob["data"], blob.get("mac"), blob.get("kid")
    else:
        raise ValueError(f"{what}: not a packed blob: {blob!r:.200}")
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        raise ValueError(f"{what}: the packed data is not base64") from None
    verifier = _VERIFIER.get()
    if verifier is None:
        return raw
    try:
        _check(verifier.key, raw, kid, mac, f"the {what} in {verifier.source}", verifier.reason)
    except TrustError as exc:
        exc.path = verifier.source
        raise
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
