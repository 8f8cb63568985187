"""The exception tree of tunelab.

``TuneError`` is the root of every error tunelab raises on its own behalf::

    TuneError
    ├── TrialError            a trial's trainable raised (carries the trial id and traceback)
    ├── ResourceError         a trial asks for resources that can never be satisfied
    ├── StorageError          (also an OSError) writing tunelab's files failed: disk full, an
    │                         I/O error, a read-only file system; the experiment stopped
    ├── CorruptFileError      (also a ValueError) a file tunelab reads back is damaged
    ├── ExtraNotInstalledError (also an ImportError) an optional integration is missing
    ├── TuneValueError        (also a ValueError) a malformed experiment spec or argument
    └── TuneTypeError         (also a TypeError) an argument of the wrong type

A malformed spec (an argument of ``tune.run``, ``run_experiments``, ``Experiment``, a
config dataclass) raises :class:`TuneValueError` or :class:`TuneTypeError`: a ``TuneError``
as Ray Tune raises, and still the built-in ``ValueError``/``TypeError`` that earlier
releases raised, so ``except ValueError`` keeps working. Their messages name the argument,
the value received and what is allowed. ``StopTrial`` is not an error: it is the
control-flow exception the session raises inside a trainable to end it early.
"""

from __future__ import annotations

import contextlib
import errno as _errno
import logging
import os
import re
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

_log = logging.getLogger("tunelab")


class TuneError(Exception):
    """The root of every error tunelab raises on its own behalf (Ray's ``TuneError``).

    ``tune.run`` and ``run_experiments`` raise it when trials failed and
    ``raise_on_failed_trial`` is True (the message lists them, ``trials`` holds them).
    Its subclasses name what went wrong: an argument of the wrong value or type (also a
    ``ValueError``/``TypeError``, so ``except ValueError`` keeps working), a damaged file
    (:class:`CorruptFileError`), failing storage (:class:`StorageError`), a result that
    cannot be sent (:class:`ResultNotSerializable`), resources that can never be met, a
    missing optional extra (also an ``ImportError``).

    Example::

        try:
            tune.run(train, config=space)
        except tune.TuneError as error:
            for trial in error.trials:
                print(trial, trial.error_file)

    Args:
        message: The error message.
        trials: The :class:`~tunelab.Trial` objects concerned, when known.

    Attributes:
        trials (list): The trials concerned (empty when none are known).
    """

    def __init__(self, message: str = "", trials: list[Any] | None = None) -> None:
        super().__init__(message)
        self.trials = list(trials or [])


class TrialError(TuneError):
    """A trainable raised. ``trial_id`` names the trial, ``traceback`` holds its text."""

    def __init__(self, message: str, trial_id: str = "", traceback: str = "") -> None:
        super().__init__(message)
        self.trial_id = trial_id
        self.traceback = traceback


class TuneValueError(TuneError, ValueError):
    """A malformed experiment spec or argument value (a ``TuneError`` and a ``ValueError``)."""


class TuneTypeError(TuneError, TypeError):
    """An argument of the wrong type in an experiment spec (a ``TuneError`` and a
    ``TypeError``)."""


class ResultNotSerializable(TuneError):
    """A reported result holds a value that cannot be sent to the driver.

    Results travel from the worker process to the driver pickled, so a value such as a
    lock, a generator or an open file cannot be reported. The trial ends with this error
    (in status ERROR, the message naming the value in ``error.txt``); the results it
    reported before are kept. Report plain numbers, strings, lists and dicts instead.

    Args:
        message: The error message.
        trials: The trials concerned, when known.
    """


class ResourceError(TuneError):
    """A trial asks for resources that no placement can ever satisfy."""


#: The errors of a write that say the storage itself failed (not a wrong path or a missing
#: permission): no space, no quota left, an I/O error, a read-only file system, a file over
#: the size limit.
STORAGE_ERRNOS = frozenset(
    code
    for code in (
        _errno.ENOSPC,
        getattr(_errno, "EDQUOT", None),
        _errno.EIO,
        _errno.EROFS,
        _errno.EFBIG,
    )
    if code is not None
)
#: The subset that means "the disk is full", whoever wrote: a trial's own code that meets it
#: stops the experiment too (every other trial would meet it next).
DISK_FULL_ERRNOS = frozenset(
    code for code in (_errno.ENOSPC, getattr(_errno, "EDQUOT", None)) if code is not None
)


class StorageError(TuneError, OSError):
    """Writing one of tunelab's files failed because the storage did.

    Raised for a full disk or quota, an I/O error, a read-only file system or a file over
    the size limit (not for a wrong path or a missing permission), also when a trial's own
    code meets a full disk. It is a :class:`TuneError` and an ``OSError``. The message is
    one line naming what was being written and where, with the system's error, e.g.
    ``tunelab: could not write the results of trial t_00001 to
    /exp/t_00001/result.json: [Errno 28] No space left on device``. An experiment that
    meets one stops at once and writes nothing more, so that what is on disk stays a
    state it can resume from, as after a kill; resume it once the cause is fixed. The
    ``OSError`` it replaces is logged at debug level only (``logging.getLogger("tunelab")``).

    Args:
        message: The one-line message.
        path: The file that could not be written (also ``filename``).
        what: What was being written (``"the results of trial t_00001"``...).
        errno: The system's error number (``errno.ENOSPC``...), or None.
        strerror: The system's error text, or None.
    """

    def __init__(
        self,
        message: str,
        path: str = "",
        what: str = "",
        errno: int | None = None,
        strerror: str | None = None,
    ) -> None:
        TuneError.__init__(self, message)
        self.message = message
        self.path = path
        self.what = what
        self.errno = errno
        self.strerror = strerror
        self.filename = path or None

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.path, self.what, self.errno, self.strerror))

    @classmethod
    def from_os_error(cls, exc: OSError, what: str, path: str) -> StorageError:
        """The StorageError for ``exc``, met while writing ``what`` to ``path``.

        Args:
            exc: The ``OSError`` the write raised.
            what: What was being written, for the message.
            path: Where it was being written.

        Returns:
            A StorageError with the one-line message and the parts filled in.
        """
        code, reason = exc.errno, exc.strerror or str(exc)
        detail = f"[Errno {code}] {reason}" if code is not None else reason
        return cls(
            f"tunelab: could not write {what} to {path}: {detail}",
            path=path,
            what=what,
            errno=code,
            strerror=reason,
        )


def storage_error(exc: BaseException, what: str, path: str) -> StorageError | None:
    """The :class:`StorageError` to raise for ``exc`` met while writing ``what`` to ``path``
    (``exc`` itself when it is one already), or None when ``exc`` is not a storage failure
    (then re-raise ``exc``). Logs ``exc`` with its traceback at debug level."""
    if isinstance(exc, StorageError):
        return exc
    if not isinstance(exc, OSError):
        return None
    if exc.errno is None:
        exc = _first_copy_error(exc) or exc
    if exc.errno not in STORAGE_ERRNOS:
        return None
    _log.debug("tunelab: writing %s to %s failed", what, path, exc_info=exc)
    return StorageError.from_os_error(exc, what, path)


_ERRNO_TEXT = re.compile(r"\[Errno (\d+)\] ([^:']*)")


def _first_copy_error(exc: OSError) -> OSError | None:
    """The first storage failure inside a ``shutil.Error`` (``copytree`` collects the
    errors of the files it copies as ``(source, destination, str(error))`` text)."""
    entries = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
    for entry in entries:
        text = entry[-1] if isinstance(entry, tuple) and entry else entry
        match = _ERRNO_TEXT.search(str(text))
        if match is not None and int(match.group(1)) in STORAGE_ERRNOS:
            return OSError(int(match.group(1)), match.group(2).strip())
    return None


@contextlib.contextmanager
def writing(what: str, path: str) -> Iterator[None]:
    """Turn a storage failure in the block into a one-line :class:`StorageError` (raised
    ``from None``: the OSError's traceback goes to the debug log, not to the user)."""
    try:
        yield
    except OSError as exc:
        raise_storage_error(exc, what, path)


def raise_storage_error(exc: BaseException, what: str, path: str) -> NoReturn:
    """Raise what ``exc``, met while writing ``what`` to ``path``, becomes: its one-line
    :class:`StorageError` (``from None``, see :func:`storage_error`), or ``exc`` itself when
    it is not a storage failure. For an ``except`` clause that cleaned up first."""
    error = storage_error(exc, what, path)
    if error is None:
        raise exc
    raise error from None


def write_fully(handle: Any, data: bytes) -> None:
    """Write all of ``data`` to the unbuffered binary file ``handle`` (``open(..., "ab",
    buffering=0)``), looping over short writes. Unbuffered, so that a failed write leaves
    nothing in a buffer that a later close or garbage collection would try to write again
    after the torn part."""
    _write_all(handle.write, data)


def write_fd_fully(fd: int, data: bytes) -> None:
    """:func:`write_fully` to the file descriptor ``fd`` (no file object: for the files
    written once per trial, whose file objects would cost more than their writes)."""
    _write_all(lambda view: os.write(fd, view), data)


def _write_all(write: Callable[[Any], int | None], data: bytes) -> None:
    """Hand all of ``data`` to ``write`` (returns how many bytes it took), looping over
    short writes; an ``OSError`` (EIO) when it takes none."""
    view = memoryview(data)
    while view:
        written = write(view)
        if not written:
            raise OSError(_errno.EIO, "the file accepted no more bytes")
        view = view[written:]


_REPORTED_STORAGE_ERROR = re.compile(r"^(?:[\w.]+\.)?StorageError: (tunelab: .*)$")
_MESSAGE_PARTS = re.compile(r"^tunelab: could not write (.*?) to (.*): \[Errno (\d+)\] (.*)$")
_REPORTED_OS_ERROR = re.compile(r"^(?:[\w.]+\.)?\w*Error: \[Errno (\d+)\] (.*?)(?:: '(.*)')?$")


def storage_error_in_report(
    traceback_text: str, who: str, directory: str = ""
) -> StorageError | None:
    """The :class:`StorageError` behind a trial's failure report (the traceback text a worker
    sends), or None when the trial failed for another reason.

    A report ends with the exception's line: a :class:`StorageError` raised by tunelab's own
    writes in the worker (persisting a checkpoint) is rebuilt with its message; an OSError
    of a full disk (ENOSPC, EDQUOT) raised by the trial's own code (a checkpoint it writes
    itself) becomes one naming ``who`` and the file when the report names it (else the
    trial's ``directory``). Other errors, an I/O error of a dataset read included, stay
    trial failures.
    """
    lines = [line for line in traceback_text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    last = lines[-1].strip()
    match = _REPORTED_STORAGE_ERROR.match(last)
    if match is not None:
        message = match.group(1)
        parts = _MESSAGE_PARTS.match(message)
        if parts is None:
            return StorageError(message)
        return StorageError(
            message,
            path=parts.group(2),
            what=parts.group(1),
            errno=int(parts.group(3)),
            strerror=parts.group(4),
        )
    match = _REPORTED_OS_ERROR.match(last)
    if match is None or int(match.group(1)) not in DISK_FULL_ERRNOS:
        return None
    code, reason, path = int(match.group(1)), match.group(2), match.group(3) or ""
    where = f" to {path}" if path else (f" (its directory: {directory})" if directory else "")
    return StorageError(
        f"tunelab: {who} could not write{where}: [Errno {code}] {reason}",
        path=path,
        what=who,
        errno=code,
        strerror=reason,
    )


def json_problem(exc: ValueError) -> tuple[int | None, str]:
    """(line within the parsed text or None, what is wrong) for a failed ``json.loads``."""
    import json

    if isinstance(exc, UnicodeDecodeError):
        data = bytes(exc.object)
        return data[: exc.start].count(b"\n") + 1, f"byte 0x{data[exc.start]:02x} is not UTF-8"
    if isinstance(exc, json.JSONDecodeError):
        return exc.lineno, f"not valid JSON ({exc.msg} at column {exc.colno})"
    return None, f"not valid JSON ({exc})"


def loads_line(raw: bytes) -> tuple[Any, str | None]:
    """``json.loads`` of one line of a JSON-lines file, read leniently: bytes that are not
    UTF-8 (a damaged disk, a tool that wrote Latin-1) become U+FFFD, so that the line's other
    values are kept. Returns ``(value, note)``: ``note`` says what was replaced (None when
    nothing was). Raises ``ValueError`` (described by :func:`json_problem`) when the line is
    not JSON even so."""
    import json

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        note = f"byte 0x{raw[exc.start]:02x} at column {exc.start + 1} is not UTF-8"
        return json.loads(raw.decode("utf-8", "replace")), note + " (read as U+FFFD)"
    return json.loads(text), None


class CorruptFileError(TuneError, ValueError):
    """A file tunelab reads back (experiment state, journal, results) is damaged.

    Raised when resuming or analysing an experiment whose files cannot be read back. It is
    a :class:`TuneError` and a ``ValueError``. The message names the file and, when known,
    the line: ``tunelab: /exp/experiment_state.json, line 3: not valid JSON (Expecting
    value at column 5)``.

    Args:
        message: The message.
        path: The damaged file.
        line: The 1-based line where the damage was found, or None.
    """

    def __init__(self, message: str, path: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.path, self.line))

    @classmethod
    def at(cls, path: str, line: int | None, problem: str) -> CorruptFileError:
        """The error for ``problem`` found in ``path`` (at ``line``), with its message.

        Args:
            path: The damaged file.
            line: The 1-based line, or None.
            problem: What is wrong, e.g. ``"not valid JSON (...)"``.

        Returns:
            A CorruptFileError whose message is ``tunelab: <path>, line <line>: <problem>``.
        """
        where = f"{path}, line {line}" if line is not None else path
        return cls(f"tunelab: {where}: {problem}", path=path, line=line)


class ExtraNotInstalledError(TuneError, ImportError):
    """An optional integration is used but its extra is not installed.

    ``feature``, ``extra`` and ``module`` hold the constructor's arguments; the error
    survives pickling (a worker that raises it reaches the driver whole)."""

    def __init__(self, feature: str, extra: str, module: str) -> None:
        super().__init__(
            f"{feature} needs the optional package {module!r}; "
            f'install it with: pip install "tunelab[{extra}]"'
        )
        self.feature = feature
        self.extra = extra
        self.module = module

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.feature, self.extra, self.module))


class StopTrial(BaseException):
    """Raised inside a trainable by ``report`` when the controller decided to stop it.

    It derives from ``BaseException`` so that a user's ``except Exception`` does not swallow it.
    """


def require(module: str, *, extra: str, feature: str) -> Any:
    """Import ``module`` or raise :class:`ExtraNotInstalledError` naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ExtraNotInstalledError(feature, extra, module) from exc
