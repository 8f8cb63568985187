"""``LoggerCallback`` and the buffered per-trial files the built-in loggers write through."""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from tunelab._callback import Callback
from tunelab._errors import raise_storage_error, write_fully

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = ["ForExperiments", "LoggerCallback"]

_log = logging.getLogger("tunelab.logger")

#: Lines kept in memory per file before they are written out without waiting for a flush.
_MAX_BUFFERED_LINES = 2048
#: Files one logger keeps open at once (None: an eighth of the process's file-descriptor
#: limit, 64 to 4096); the least recently opened is closed beyond that (and reopened when
#: it is written again), so thousands of paused trials do not exhaust file descriptors.
_MAX_OPEN_FILES: int | None = None


def _open_file_limit() -> int:
    if _MAX_OPEN_FILES is not None:
        return _MAX_OPEN_FILES
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return 256
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return 4096
    return max(64, min(4096, soft // 8))


class LoggerCallback(Callback):
    """The base of a logger: a :class:`~tunelab.Callback` with one method per trial event.

    Subclass it and override the ``log_trial_*`` methods you need; each does nothing by
    default. The hooks map to the methods as follows (all called from the controller's thread):

    ======================  =========================================
    ``on_trial_start``      ``log_trial_start(trial)``
    ``on_trial_restore``    ``log_trial_restore(trial)``
    ``on_trial_save``       ``log_trial_save(trial)``
    ``on_trial_rollback``   ``log_trial_rollback(trial, to_iteration)``
    ``on_trial_result``     ``log_trial_result(iteration, trial, result)``
    ``on_trial_complete``   ``log_trial_end(trial, failed=False)``
    ``on_trial_error``      ``log_trial_end(trial, failed=True)``
    ======================  =========================================

    ``log_trial_result`` runs once per result: keep it cheap (buffer, do not flush). Loggers
    that buffer flush in ``on_step_end``, which the controller calls before it acts on the
    results of a step. The trial's directory (``trial.local_path``) may not exist yet when
    ``log_trial_start`` runs: create it before writing into it. The constructor takes no
    arguments.
    """

    def log_trial_start(self, trial: Trial) -> None:
        """Called when ``trial`` starts running, or runs again after a pause or a retry.

        Args:
            trial: The trial (read only: ``trial_id``, ``config``, ``local_path``,
                ``last_result``, ``status``...).
        """

    def log_trial_restore(self, trial: Trial) -> None:
        """Called when ``trial`` was restored from a checkpoint.

        Args:
            trial: The trial (read only: ``trial_id``, ``config``, ``local_path``,
                ``last_result``, ``status``...).
        """

    def log_trial_save(self, trial: Trial) -> None:
        """Called when ``trial`` wrote a checkpoint; a good time to flush its output.

        Args:
            trial: The trial (read only: ``trial_id``, ``config``, ``local_path``,
                ``last_result``, ``status``...).
        """

    def log_trial_rollback(self, trial: Trial, to_iteration: int) -> None:
        """Called before ``trial`` reruns the iterations after ``to_iteration``.

        The trial runs again from the checkpoint of that iteration (see
        :meth:`~tunelab.Callback.on_trial_rollback`): drop what was logged for the later
        iterations, so that each one is logged once.

        Args:
            trial: The trial (read only: ``trial_id``, ``config``, ``local_path``,
                ``last_result``, ``status``...).
            to_iteration: The ``training_iteration`` of the checkpoint the trial restarts
                from (0: from scratch).
        """

    def log_trial_result(self, iteration: int, trial: Trial, result: dict[str, Any]) -> None:
        """Called once per result of ``trial``, in order.

        Args:
            iteration: The experiment loop's step counter (the trial's own count is
                ``result["training_iteration"]``).
            trial: The trial (read only: ``trial_id``, ``config``, ``local_path``,
                ``last_result``, ``status``...).
            result: The reported result with the keys tunelab fills in; do not mutate it.
        """

    def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
        """Called when ``trial`` finished.

        Args:
            trial: The trial (read only: ``trial_id``, ``config``, ``local_path``,
                ``last_result``, ``status``...).
            failed: True when the trial errored for good (no retries left), False when
                it completed.
        """

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.log_trial_start(trial)

    def on_trial_restore(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.log_trial_restore(trial)

    def on_trial_save(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.log_trial_save(trial)

    def on_trial_rollback(
        self, iteration: int, trials: list[Trial], trial: Trial, to_iteration: int, **info: Any
    ) -> None:
        self.log_trial_rollback(trial, to_iteration)

    def on_trial_result(
        self,
        iteration: int,
        trials: list[Trial],
        trial: Trial,
        result: dict[str, Any],
        **info: Any,
    ) -> None:
        self.log_trial_result(iteration, trial, result)

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.log_trial_end(trial, failed=False)

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.log_trial_end(trial, failed=True)


# ---------------------------------------------------------------------------------------
# Buffered append-only files (shared by the JSON/CSV callbacks and the legacy loggers)
# ---------------------------------------------------------------------------------------
class _Releasable(Protocol):
    def release(self) -> None: ...


class _OpenFiles:
    """Caps how many buffered files (line files, TensorBoard event files) hold an open
    handle at once; the least recently opened is released first."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = _open_file_limit() if limit is None else limit
        self._open: OrderedDict[_Releasable, None] = OrderedDict()

    def opened(self, file: _Releasable) -> None:
        self._open[file] = None
        while len(self._open) > self.limit:
            oldest, _ = self._open.popitem(last=False)
            oldest.release()

    def closed(self, file: _Releasable) -> None:
        self._open.pop(file, None)


def _drop_partial_tail(path: str) -> int:
    """Truncate a trailing line without newline (left by a kill mid-write); return the size."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return 0
    if size == 0:
        return 0
    with open(path, "rb+") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return size
        end = size
        while end > 0:
            start = max(0, end - 65536)
            fh.seek(start)
            chunk = fh.read(end - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                new_size = start + cut + 1
                break
            end = start
        else:
            new_size = 0
        _log.warning("Dropping an incomplete last line of %s", path)
        fh.truncate(new_size)
        return new_size


def _open_append(path: str) -> Any:
    """``path`` opened unbuffered for appending; its directory is made when missing (the
    common case, a directory the controller made, costs no extra system call)."""
    try:
        return open(path, "ab", buffering=0)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return open(path, "ab", buffering=0)


class _AppendFile:
    """A file appended to through an unbuffered handle that :class:`_OpenFiles` may close
    between writes (it reopens on demand, in append mode).

    A failed write (disk full, I/O error) raises a one-line
    :class:`~tunelab._errors.StorageError` naming ``what`` and the path; the file is then
    *broken*: nothing more is appended after the torn part.
    """

    __slots__ = ("_fh", "_registry", "broken", "what")

    def __init__(self, registry: _OpenFiles | None, what: str) -> None:
        self.what = what
        self.broken = False
        self._fh: Any = None
        self._registry = registry

    def flush(self) -> None:
        raise NotImplementedError

    def _append(self, path: str, data: bytes) -> None:
        """Append ``data`` to ``path`` (unless the file is broken)."""
        if self.broken:
            return
        try:
            fh = self._fh
            if fh is None:
                fh = self._fh = _open_append(path)
                if self._registry is not None:
                    self._registry.opened(self)
            write_fully(fh, data)
        except BaseException as exc:
            self.broken = True
            self._close_handle()
            raise_storage_error(exc, self.what, path)

    def _close_handle(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            try:
                fh.close()
            except OSError:
                pass

    def release(self) -> None:
        """Flush and close the handle (the file stays usable; it reopens on demand)."""
        try:
            self.flush()
        finally:
            self._close_handle()

    def close(self) -> None:
        try:
            self.release()
        finally:
            if self._registry is not None:
                self._registry.closed(self)


class _LineFile(_AppendFile):
    """An append-only text file with an in-memory line buffer.

    ``lines.append`` is the per-result cost; :meth:`flush` writes the buffer in one call
    to the OS. When the file is broken (see :class:`_AppendFile`) what was buffered is
    dropped; the next run's :meth:`existing_size` drops the torn part, so a resume sees a
    log that ends at a whole line.
    """

    __slots__ = ("lines", "path")

    def __init__(self, path: str, registry: _OpenFiles | None = None, what: str = "") -> None:
        super().__init__(registry, what or f"the log of {os.path.dirname(path)}")
        self.path = path
        self.lines: list[str] = []

    def existing_size(self) -> int:
        """Size of what is already on disk (after dropping an incomplete last line)."""
        return _drop_partial_tail(self.path)

    def append(self, line: str) -> None:
        lines = self.lines
        lines.append(line)
        if len(lines) >= _MAX_BUFFERED_LINES:
            self.flush()

    def flush(self) -> None:
        lines = self.lines
        if not lines:
            return
        data = "".join(lines).encode("utf-8", "backslashreplace")
        lines.clear()
        self._append(self.path, data)


def _flush_file(file: _LineFile) -> None:
    file.flush()


def _each(items: Any, action: Callable[[Any], None]) -> None:
    """``action(item)`` for every item, also after one raised; then raise the first error
    (a disk that fills while many files are flushed reports once and leaves no file
    unclosed)."""
    first: BaseException | None = None
    for item in items:
        try:
            action(item)
        except Exception as exc:
            if first is None:
                first = exc
            else:
                _log.debug("tunelab: another write failed too", exc_info=True)
    if first is not None:
        raise first


class _TrialLog:
    """What a file-writing logger keeps per trial (JSON: result.json, CSV: progress.csv)."""

    file: _LineFile

    def start(self, trial: Trial) -> None:
        """(Re)started: called on every ``log_trial_start``."""

    def write(self, result: dict[str, Any]) -> None:
        raise NotImplementedError


_L = TypeVar("_L", bound=_TrialLog)


class _FileLoggerCallback(LoggerCallback, Generic[_L]):
    """Common machinery of the file loggers: one :class:`_TrialLog` per trial, a set of
    files written since the last flush, flush in ``on_step_end`` and at trial end; on
    rollback, flush and cut the trial's file with ``_truncate(trial_dir, iteration)``."""

    #: cuts the results after an iteration from the trial directory's file
    _truncate: Callable[[str, int], None]
    #: the workers write the results (set by ``logger/_in_worker.py``'s ``WorkerLogs``):
    #: the controller leaves this logger out of ``on_trial_result``, and the logger never
    #: opens the trial's result file (only a worker writes it while the trial runs)
    results_in_workers = False

    def __init__(self) -> None:
        self._logs: dict[Trial, _L] = {}
        self._dirty: dict[_LineFile, None] = {}
        self._files = _OpenFiles()

    def _new_log(self, trial: Trial, trial_dir: str) -> _L:
        raise NotImplementedError

    def _log_for(self, trial: Trial) -> _L | None:
        log = self._logs.get(trial)
        if log is None:
            trial_dir = trial.local_path
            if not trial_dir:
                _log.warning("Trial %s has no directory; %s skips it", trial, type(self).__name__)
                return None
            # files are made on their first write, with the directory when it is missing
            log = self._logs[trial] = self._new_log(trial, trial_dir)
        return log

    def log_trial_start(self, trial: Trial) -> None:
        if self.results_in_workers:
            self._start_in_worker(trial)
            return
        log = self._log_for(trial)
        if log is not None:
            log.start(trial)

    def _start_in_worker(self, trial: Trial) -> None:
        """What a logger whose results the workers write does when ``trial`` starts."""

    def log_trial_result(self, iteration: int, trial: Trial, result: dict[str, Any]) -> None:
        log = self._logs.get(trial)
        if log is None:
            log = self._log_for(trial)
            if log is None:
                return
            log.start(trial)
        log.write(result)
        self._dirty[log.file] = None

    def log_trial_save(self, trial: Trial) -> None:
        log = self._logs.get(trial)
        if log is not None:
            log.file.flush()
            self._dirty.pop(log.file, None)

    def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
        log = self._logs.pop(trial, None)
        if log is not None:
            self._dirty.pop(log.file, None)
            log.file.close()

    def log_trial_rollback(self, trial: Trial, to_iteration: int) -> None:
        self.log_trial_save(trial)  # what is buffered reaches the file before the cut
        if trial.local_path:
            self._truncate(trial.local_path, to_iteration)

    def on_trial_recover(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.log_trial_save(trial)  # flush what the failed run logged before it is retried

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        self.flush()

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        self.close()

    def flush(self) -> None:
        """Write every buffered line to the OS."""
        dirty = self._dirty
        if dirty:
            files = list(dirty)
            dirty.clear()
            if len(files) == 1:
                files[0].flush()
            else:
                _each(files, _flush_file)

    def close(self) -> None:
        """Flush and close every trial's file (all of them, also when one fails)."""
        self._dirty.clear()
        logs, self._logs = self._logs, {}
        _each(logs.values(), lambda log: log.file.close())


class ForExperiments(Callback):
    """Forwards every hook to ``inner``, the per-trial hooks only for the trials of the
    experiments whose paths are in ``paths`` (``include=True``) or not in them
    (``include=False``). The front doors use it for the 0.x per-experiment ``loggers`` and
    ``custom_loggers`` of a ``run_experiments`` spec: those loggers run for that
    experiment's trials, and the default loggers for the other experiments' trials."""

    def __init__(self, inner: Callback, paths: set[str] | frozenset[str], *, include: bool) -> None:
        self.inner = inner
        self._paths = frozenset(paths)
        self._include = include

    def _mine(self, trial: Trial) -> bool:
        return (trial.experiment_path in self._paths) == self._include

    def setup(
        self,
        stop: Any = None,
        num_samples: int | None = None,
        total_num_samples: int | None = None,
        **info: Any,
    ) -> None:
        self.inner.setup(
            stop=stop, num_samples=num_samples, total_num_samples=total_num_samples, **info
        )

    def on_step_begin(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        self.inner.on_step_begin(iteration=iteration, trials=trials, **info)

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        self.inner.on_step_end(iteration=iteration, trials=trials, **info)

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        if self._mine(trial):
            self.inner.on_trial_start(iteration=iteration, trials=trials, trial=trial, **info)

    def on_trial_restore(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        if self._mine(trial):
            self.inner.on_trial_restore(iteration=iteration, trials=trials, trial=trial, **info)

    def on_trial_save(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        if self._mine(trial):
            self.inner.on_trial_save(iteration=iteration, trials=trials, trial=trial, **info)

    def on_trial_rollback(
        self, iteration: int, trials: list[Trial], trial: Trial, to_iteration: int, **info: Any
    ) -> None:
        if self._mine(trial):
            self.inner.on_trial_rollback(
                iteration=iteration, trials=trials, trial=trial, to_iteration=to_iteration, **info
            )

    def on_trial_result(
        self,
        iteration: int,
        trials: list[Trial],
        trial: Trial,
        result: dict[str, Any],
        **info: Any,
    ) -> None:
        if self._mine(trial):
            self.inner.on_trial_result(
                iteration=iteration, trials=trials, trial=trial, result=result, **info
            )

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        if self._mine(trial):
            self.inner.on_trial_complete(iteration=iteration, trials=trials, trial=trial, **info)

    def on_trial_recover(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        if self._mine(trial):
            self.inner.on_trial_recover(iteration=iteration, trials=trials, trial=trial, **info)

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        if self._mine(trial):
            self.inner.on_trial_error(iteration=iteration, trials=trials, trial=trial, **info)

    def on_checkpoint(
        self, iteration: int, trials: list[Trial], trial: Trial, checkpoint: Any, **info: Any
    ) -> None:
        if self._mine(trial):
            self.inner.on_checkpoint(
                iteration=iteration, trials=trials, trial=trial, checkpoint=checkpoint, **info
            )

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        self.inner.on_experiment_end(trials=trials, **info)

    def __repr__(self) -> str:
        which = "of" if self._include else "not of"
        return f"ForExperiments({self.inner!r}, trials {which} {sorted(self._paths)})"
