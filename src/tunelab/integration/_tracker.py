"""The machinery behind the experiment-tracker callbacks (MLflow, W&B, Comet, Aim).

A tracker's client makes network or disk calls that can be slow (a remote server, an
upload) or fail (a server that is down, a quota). The controller must never wait on them
and a tracker's failure must never fail the experiment, so a :class:`TrackerCallback`:

* in its hooks (the controller's thread) only takes a snapshot of what the tracker needs
  (a :class:`TrialInfo`, a shallow copy of the result) and queues a task: microseconds;
* runs the tasks in order in one helper thread per callback, calling the subclass's
  ``_tracker_*`` methods there (never two at once, so they need no locks);
* catches every exception a task raises. A trial whose run could not be started is skipped
  from then on; any other failure is tried again with the next task. Either way the first
  failure of a trial is logged as one error naming the tracker, the trial and the cause;
  later ones are logged at debug level;
* keeps at most ``max_pending`` results queued: beyond that a result is dropped (and
  counted, with one warning) rather than letting a stalled tracker grow memory without
  bound; trial starts and ends are never dropped;
* at experiment end queues the end of the runs still open (status ``KILLED``: their trials
  did not finish) and waits at most ``flush_timeout_s`` seconds for the queue to drain; what
  is left then is abandoned with a warning (the thread is a daemon, and an ``atexit`` hook
  gives it the same time again before the interpreter exits).

The run of each trial is remembered by reference (:meth:`TrackerCallback.get_state`), so an
experiment that is resumed keeps logging into the same runs where the tracker can reopen
them.
"""

from __future__ import annotations

import atexit
import collections
import copy
import dataclasses
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tunelab.logger._legacy import Logger
from tunelab.logger._logger_callback import LoggerCallback

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = [
    "FAILED",
    "FINISHED",
    "KILLED",
    "TrackerCallback",
    "TrackerLogger",
    "TrialInfo",
    "at_trial_exit",
    "check_timeout",
    "legacy_status",
]

_log = logging.getLogger("tunelab.integration")

#: Run statuses handed to :meth:`TrackerCallback._tracker_end`.
FINISHED, FAILED, KILLED = "FINISHED", "FAILED", "KILLED"

#: Results queued at most per callback before new ones are dropped.
DEFAULT_MAX_PENDING = 10_000
#: Seconds the end of an experiment waits for a tracker's queue to drain.
DEFAULT_FLUSH_TIMEOUT_S = 60.0


def check_timeout(name: str, value: Any) -> float:
    """``value`` as a float number of seconds > 0, or ``ValueError``/``TypeError`` naming
    the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    if not value > 0:
        raise ValueError(f"{name} must be > 0 seconds, got {value!r}")
    return float(value)


def at_trial_exit(fn: Callable[[], Any]) -> bool:
    """Call ``fn`` when the trial running in this worker ends (its session ends, before
    tunelab ends the processes the trial started); False outside a trial. The in-trial
    helpers (``setup_mlflow``, ``setup_wandb``) close their runs this way, since a worker
    process outlives its trials."""
    from tunelab import _session

    session = _session._get_session()
    at_end = getattr(session, "at_end", None)
    if at_end is None:
        return False
    at_end(fn)
    return True


def legacy_status(trial: Trial | None) -> str:
    """The run status a legacy ``Logger`` closes with: its trial's status then (``close``
    does not say whether the trial failed)."""
    status = getattr(getattr(trial, "status", None), "value", None)
    if status == "ERROR":
        return FAILED
    if status in (None, "TERMINATED"):
        return FINISHED
    return KILLED


@dataclasses.dataclass(frozen=True)
class TrialInfo:
    """What a tracker learns about a trial, copied in the controller's thread (the helper
    thread never reads the live :class:`~tunelab._trial.Trial`)."""

    trial_id: str
    name: str
    trainable_name: str
    config: dict[str, Any]
    evaluated_params: dict[str, Any]
    local_path: str
    experiment_name: str
    experiment_path: str

    @property
    def experiment_dir_name(self) -> str:
        """The experiment directory's base name (Ray's ``trial.experiment_dir_name``)."""
        return (
            os.path.basename(os.path.normpath(self.experiment_path)) if self.experiment_path else ""
        )

    @classmethod
    def of(cls, trial: Trial) -> TrialInfo:
        try:
            config = copy.deepcopy(trial.config)
        except Exception:  # something in the config cannot be copied: share it
            config = dict(trial.config)
        return cls(
            trial_id=str(trial.trial_id),
            name=str(trial),
            trainable_name=str(getattr(trial, "trainable_name", "") or ""),
            config=config,
            evaluated_params=dict(getattr(trial, "evaluated_params", {}) or {}),
            local_path=str(getattr(trial, "local_path", "") or ""),
            experiment_name=str(getattr(trial, "experiment_name", "") or ""),
            experiment_path=str(getattr(trial, "experiment_path", "") or ""),
        )


@dataclasses.dataclass
class _TrialRun:
    """The helper thread's record of one trial: the tracker's handle (``None`` when the run
    could not be started) and whether an error was logged for it already."""

    info: TrialInfo
    handle: Any = None
    started: bool = False
    failed_to_start: bool = False
    error_logged: bool = False
    dropped: int = 0


_Task = tuple[str, str, Any]  # (kind, trial_id, payload)
_RESULT, _START, _SAVE, _END, _CLOSE = "result", "start", "save", "end", "close"


class _TaskQueue:
    """A FIFO of tasks with a cap on queued *results* only (a condition variable, no
    polling). ``put`` never blocks."""

    def __init__(self, max_pending: int) -> None:
        self.max_pending = max_pending
        self._items: collections.deque[_Task] = collections.deque()
        self._results = 0
        self._busy = False
        self._cond = threading.Condition()

    def put(self, task: _Task) -> bool:
        """Queue ``task``; False when it is a result and the cap is reached (not queued)."""
        with self._cond:
            if task[0] == _RESULT:
                if self._results >= self.max_pending:
                    return False
                self._results += 1
            self._items.append(task)
            self._cond.notify_all()
            return True

    def get(self) -> _Task:
        """The next task (blocks until there is one); marks the queue busy until
        :meth:`done`."""
        with self._cond:
            while not self._items:
                self._cond.wait()
            task = self._items.popleft()
            if task[0] == _RESULT:
                self._results -= 1
            self._busy = True
            return task

    def done(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._items) + (1 if self._busy else 0)

    def wait_empty(self, timeout: float) -> bool:
        """Wait until nothing is queued or running; False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._items or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def clear(self) -> int:
        with self._cond:
            count = len(self._items)
            self._items.clear()
            self._results = 0
            self._cond.notify_all()
            return count


# Helper threads still running, joined (each for its flush timeout) when the interpreter
# exits, so that a script that ends right after its last trial still has its runs closed.
_live_threads: weakref.WeakSet[_TrackerThread] = weakref.WeakSet()


@atexit.register
def _drain_at_exit() -> None:
    for worker in list(_live_threads):
        worker.join_at_exit()


class _TrackerThread:
    """One helper thread and its queue, running ``owner``'s tracker methods."""

    def __init__(self, owner: TrackerCallback) -> None:
        self.owner = owner
        self.queue = _TaskQueue(owner._max_pending)
        self.runs: dict[str, _TrialRun] = {}
        self.setup_done = False
        self.abandoned = False
        self.thread = threading.Thread(
            target=self._serve, name=f"tunelab-{owner._tracker_label()}", daemon=True
        )
        self.thread.start()
        _live_threads.add(self)

    # -- the thread -------------------------------------------------------------------
    def _serve(self) -> None:
        try:
            while True:
                kind, trial_id, payload = self.queue.get()
                try:
                    if kind == _CLOSE:
                        if not self.abandoned:
                            self._close()
                        return
                    if not self.abandoned:
                        self._run(kind, trial_id, payload)
                finally:
                    self.queue.done()
        finally:
            _live_threads.discard(self)

    def _run(self, kind: str, trial_id: str, payload: Any) -> None:
        if kind == _START:
            self._start(payload)
            return
        run = self.runs.get(trial_id)
        if run is None:  # a result or end of a trial whose start this thread never saw
            return
        if run.failed_to_start:
            if kind == _END:
                self.runs.pop(trial_id, None)
            return
        owner = self.owner
        try:
            if kind == _RESULT:
                owner._tracker_log(run.handle, run.info, payload)
            elif kind == _SAVE:
                owner._tracker_save(run.handle, run.info, payload)
            elif kind == _END:
                self.runs.pop(trial_id, None)
                owner._tracker_end(run.handle, run.info, payload)
        except Exception as exc:
            self._failed(run, f"could not {_VERBS[kind]}", exc)

    def _start(self, info: TrialInfo) -> None:
        owner = self.owner
        run = self.runs.get(info.trial_id)
        if run is not None and run.started and not run.failed_to_start:
            # restarted (after a pause or a failure): same run, the config may be new
            run.info = info
            try:
                owner._tracker_restart(run.handle, info)
            except Exception as exc:
                self._failed(run, "could not reopen the run of", exc)
            return
        run = run or _TrialRun(info)
        run.info, run.failed_to_start = info, False
        self.runs[info.trial_id] = run
        try:
            if not self.setup_done:
                owner._tracker_setup()
                self.setup_done = True
            run.handle = owner._tracker_start(info, owner._reference_of(info.trial_id))
            run.started = True
            reference = owner._tracker_reference(run.handle)
            if reference is not None:
                owner._remember(info.trial_id, reference)
        except Exception as exc:
            run.failed_to_start = True
            self._failed(run, "could not start a run for", exc, skipped=True)

    def _close(self) -> None:
        owner = self.owner
        for trial_id in list(self.runs):
            run = self.runs.pop(trial_id)
            if run.started and not run.failed_to_start:
                try:
                    owner._tracker_end(run.handle, run.info, KILLED)
                except Exception as exc:
                    self._failed(run, "could not close the run of", exc)
        if self.setup_done:
            try:
                owner._tracker_teardown()
            except Exception as exc:
                _log.error("%s: closing %s failed: %s", owner._tracker_label(), owner.tracker, exc)

    def _failed(self, run: _TrialRun, what: str, exc: BaseException, skipped: bool = False) -> None:
        owner = self.owner
        if run.error_logged:
            _log.debug("%s: %s trial %s", owner._tracker_label(), what, run.info.name, exc_info=exc)
            return
        run.error_logged = True
        consequence = (
            "nothing of this trial is logged to it"
            if skipped
            else "the experiment goes on; later failures of this trial are logged at debug level"
        )
        _log.error(
            "%s: %s trial %s in %s (%s: %s); %s",
            owner._tracker_label(),
            what,
            run.info.name,
            owner.tracker,
            type(exc).__name__,
            _one_line(exc),
            consequence,
        )
        _log.debug("%s: the failure's traceback", owner._tracker_label(), exc_info=exc)

    # -- the controller's side ---------------------------------------------------------
    def submit(self, task: _Task) -> bool:
        return self.queue.put(task)

    def finish(self, timeout: float) -> None:
        """Queue the close, wait up to ``timeout`` s; abandon what is left after that."""
        self.queue.put((_CLOSE, "", None))
        if self.queue.wait_empty(timeout) and self._joined(min(timeout, 5.0)):
            return
        left = self.queue.pending()
        self.abandoned = True
        dropped = self.queue.clear()
        self.queue.put((_CLOSE, "", None))  # wake the thread so it can end
        _log.warning(
            "%s: %s still had %d call(s) pending after %.0f s at the end of the experiment; "
            "%d were dropped and the one running is left to finish in the background",
            self.owner._tracker_label(),
            self.owner.tracker,
            left,
            timeout,
            dropped,
        )

    def _joined(self, timeout: float) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def wait_ended(self, timeout: float) -> None:
        """Wait up to ``timeout`` s for the thread to end (its close is queued); after that
        it goes on in the background, and the ``atexit`` hook waits for it again."""
        if self._joined(timeout):
            return
        _log.warning(
            "%s: %s still had %d call(s) pending %.0f s after the end of the experiment; they "
            "go on in the background",
            self.owner._tracker_label(),
            self.owner.tracker,
            self.queue.pending(),
            timeout,
        )

    def join_at_exit(self) -> None:
        if self.thread.is_alive() and not self.abandoned:
            self.finish(self.owner._flush_timeout_s)


_VERBS = {_RESULT: "log a result of", _SAVE: "upload a checkpoint of", _END: "end the run of"}


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    return line if len(line) <= 300 else line[:297] + "..."


class TrackerCallback(LoggerCallback):
    """Base of the tracker callbacks (see the module docstring for the threading contract).

    Subclasses set :attr:`tracker` (the tracker's name for messages) and implement, all
    called in the helper thread, in the order of the trial's events:

    * ``_tracker_setup()``: once, before the first run (connect, pick the experiment);
      when it raises, the next trial start tries again;
    * ``_tracker_start(info, reference) -> handle``: open the run of a trial (``reference``
      is what :meth:`_tracker_reference` returned for it in an earlier session, or None);
    * ``_tracker_restart(handle, info)``: the trial runs again (after a pause or a retry);
    * ``_tracker_log(handle, info, result)``: one result;
    * ``_tracker_save(handle, info, checkpoint_path)``: a checkpoint was written;
    * ``_tracker_end(handle, info, status)``: ``status`` is ``FINISHED``, ``FAILED`` or
      ``KILLED`` (the experiment ended before the trial did);
    * ``_tracker_teardown()``: once at experiment end, after the last run ended.

    Keyword-only ``flush_timeout_s`` and ``max_pending`` set how long the experiment's end
    waits for the queue and how many results may be queued.
    """

    #: The tracker's name in messages ("MLflow", "Weights & Biases", ...).
    tracker = "the tracker"

    def __init__(
        self,
        *,
        flush_timeout_s: float = DEFAULT_FLUSH_TIMEOUT_S,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        self._flush_timeout_s = check_timeout("flush_timeout_s", flush_timeout_s)
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise ValueError(f"max_pending must be an int >= 1, got {max_pending!r}")
        self._max_pending = max_pending
        self._worker: _TrackerThread | None = None
        self._references: dict[str, Any] = {}
        self._references_lock = threading.Lock()
        self._dropped_warned = False
        self._pending_ends: list[tuple[str, str]] = []

    #: Attributes that belong to this process (thread, lock, clients): left out when the
    #: callback is pickled (``Tuner`` saves its run options), rebuilt on first use.
    _transient: tuple[str, ...] = ("_worker", "_references_lock", "_pending_ends")

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in type(self)._transient:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._worker = None
        self._references_lock = threading.Lock()
        self._pending_ends = []

    # -- what subclasses implement ----------------------------------------------------
    def _tracker_setup(self) -> None:
        """Connect to the tracker (helper thread, once)."""

    def _tracker_start(self, info: TrialInfo, reference: Any) -> Any:
        raise NotImplementedError

    def _tracker_restart(self, handle: Any, info: TrialInfo) -> None:
        """The trial runs again; by default nothing changes."""

    def _tracker_log(self, handle: Any, info: TrialInfo, result: dict[str, Any]) -> None:
        raise NotImplementedError

    def _tracker_save(self, handle: Any, info: TrialInfo, checkpoint_path: str) -> None:
        """A checkpoint was written; by default nothing is uploaded."""

    def _tracker_end(self, handle: Any, info: TrialInfo, status: str) -> None:
        raise NotImplementedError

    def _tracker_teardown(self) -> None:
        """After the experiment's last run ended (helper thread)."""

    def _tracker_reference(self, handle: Any) -> Any:
        """A JSON-safe reference to the run behind ``handle`` to reopen it after a resume
        (None: the run cannot be reopened)."""
        return None

    def _wants_checkpoints(self) -> bool:
        """Whether checkpoints are queued for :meth:`_tracker_save`."""
        return False

    # -- helpers ------------------------------------------------------------------------
    def _tracker_label(self) -> str:
        return type(self).__name__

    def _remember(self, trial_id: str, reference: Any) -> None:
        with self._references_lock:
            self._references[trial_id] = reference

    def _reference_of(self, trial_id: str) -> Any:
        with self._references_lock:
            return self._references.get(trial_id)

    def _submit(self, kind: str, trial_id: str, payload: Any) -> None:
        worker = self._worker
        if worker is None or not worker.thread.is_alive():
            worker = self._worker = _TrackerThread(self)
        if not worker.submit((kind, trial_id, payload)):
            self._dropped(trial_id)

    def _dropped(self, trial_id: str) -> None:
        if not self._dropped_warned:
            self._dropped_warned = True
            _log.warning(
                "%s: %s is falling behind (%d results queued); results are dropped until it "
                "catches up (first dropped: trial %s)",
                self._tracker_label(),
                self.tracker,
                self._max_pending,
                trial_id,
            )

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued call ran (at most ``timeout`` s, default the flush
        timeout); True when nothing is left."""
        worker = self._worker
        if worker is None:
            return True
        return worker.queue.wait_empty(self._flush_timeout_s if timeout is None else timeout)

    def close(self, wait: bool = True) -> None:
        """End the runs still open (``KILLED``) and stop the helper thread, waiting at most
        the flush timeout (``wait=False``: not at all; the thread ends by itself, and the
        ``atexit`` hook waits for it). The callback can be used again afterwards (a new
        thread)."""
        worker, self._worker = self._worker, None
        if worker is None or not worker.thread.is_alive():
            return
        if wait:
            worker.finish(self._flush_timeout_s)
        else:
            worker.submit((_CLOSE, "", None))

    # -- LoggerCallback ---------------------------------------------------------------
    def log_trial_start(self, trial: Trial) -> None:
        self._submit(_START, str(trial.trial_id), TrialInfo.of(trial))

    def log_trial_result(self, iteration: int, trial: Trial, result: dict[str, Any]) -> None:
        self._submit(_RESULT, str(trial.trial_id), dict(result))

    # A saved checkpoint reaches every callback twice, as in Ray (on_trial_save, then
    # on_checkpoint with the checkpoint itself): trackers upload it once, from on_checkpoint.
    def on_checkpoint(
        self, iteration: int, trials: list[Trial], trial: Trial, checkpoint: Any, **info: Any
    ) -> None:
        self._queue_checkpoint(trial, checkpoint)

    def _queue_checkpoint(self, trial: Trial, checkpoint: Any) -> None:
        if not self._wants_checkpoints():
            return
        path = getattr(checkpoint, "path", checkpoint)
        if isinstance(path, (str, os.PathLike)) and os.path.isdir(path):
            self._submit(_SAVE, str(trial.trial_id), os.fspath(path))

    def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
        # Queued at the step's end, once every callback handled the trial's end: the file
        # loggers have closed (flushed) its files by then, for a tracker that uploads them.
        self._pending_ends.append((str(trial.trial_id), FAILED if failed else FINISHED))

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        if self._pending_ends:
            self._queue_ends()

    def _queue_ends(self) -> None:
        ends, self._pending_ends = self._pending_ends, []
        for trial_id, status in ends:
            self._submit(_END, trial_id, status)

    def _end_now(self, trial_id: str, status: str) -> None:
        """Queue the end of a trial's run at once (the legacy loggers, which see no step
        ends)."""
        self._submit(_END, trial_id, status)

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        self._queue_ends()
        self.close()

    # -- resume -------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any] | None:
        with self._references_lock:
            if not self._references:
                return None
            return {"runs": dict(self._references)}

    def set_state(self, state: dict[str, Any]) -> None:
        runs = state.get("runs") if isinstance(state, dict) else None
        if isinstance(runs, dict):
            with self._references_lock:
                self._references.update({str(k): v for k, v in runs.items()})


#: the helper threads of closed :class:`TrackerLogger` instances, until the end of the
#: experiment waits for them
_closed_logger_threads: weakref.WeakSet[_TrackerThread] = weakref.WeakSet()


class TrackerLogger(Logger):
    """The legacy per-trial form of a tracker (Ray Tune 0.x/1.x ``loggers=[...]``).

    Each instance drives its own :class:`TrackerCallback` (``_experiment_logger_cls``),
    with its own helper thread: results are queued to it, ``close`` queues the end of the
    trial's run and does not wait (a trial's end never stalls the run), and
    :meth:`wait_for_closed` waits, at the end of the experiment, for the threads of the
    closed loggers (each at most its callback's flush timeout). Subclasses set
    ``_experiment_logger_cls`` and, in ``_init``, ``self._callback`` and ``self._trial_id``.
    """

    _experiment_logger_cls: type[TrackerCallback]
    _callback: TrackerCallback
    _trial_id: str

    def on_result(self, result: dict[str, Any]) -> None:
        """Queue ``result`` for the trial's run.

        Args:
            result: The reported result.
        """
        self._callback._submit(_RESULT, self._trial_id, dict(result))

    def close(self) -> None:
        callback = self._callback
        callback._end_now(self._trial_id, legacy_status(self.trial))
        worker = callback._worker
        callback.close(wait=False)
        if worker is not None and worker.thread.is_alive():
            _closed_logger_threads.add(worker)

    @classmethod
    def wait_for_closed(cls) -> None:
        owner_type = cls._experiment_logger_cls
        for worker in [w for w in _closed_logger_threads if isinstance(w.owner, owner_type)]:
            _closed_logger_threads.discard(worker)
            worker.wait_ended(worker.owner._flush_timeout_s)
