"""The worker loop: runs trials one after another in a worker process (or thread).

A worker connects to the controller, says hello, then serves "run" messages. While a trial
runs, a reader thread receives decisions and stop requests, and a flusher thread sends
results that wait in the outbox longer than ``MAX_DELAY_S`` (results reported in quick
succession travel together in one message). The controller's per-result cost thus does not
include one message per result when a trainable reports fast.

Faults a trainable can cause stay within its trial:

* a result that cannot be serialized ends the trial with an error naming the key and the
  type; the results before it are kept (:class:`Outbox`);
* an exception whose ``repr``/``str`` raises still ends the trial with its type named;
* a process forked inside a trial (``os.fork``, ``multiprocessing`` with fork) is detached
  from the connection: it can neither report for the trial nor end it, and if it unwinds
  back into this loop it exits with ``os._exit`` instead of serving;
* in a worker process (:func:`main`), the processes a trial started are ended with it, and
  the worker dies with its driver (``_process_guard``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import shutil
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tunelab._errors import ResultNotSerializable, StopTrial
from tunelab.execution import _protocol as P
from tunelab.execution._protocol import EndReason, TrialTask, Verdict
from tunelab.execution._result_machine import ResultMachine
from tunelab.execution._trial_storage import TrialStorage

if TYPE_CHECKING:
    from tunelab.execution._protocol import ResultLog

MAX_DELAY_S = 0.005
MAX_BATCH = 2000


def _remove_unannounced(path: str, trial_dir: str) -> None:
    """Remove a checkpoint directory a class trainable saved in ``trial_dir`` for a result
    that was dropped (a stop request): it would never be announced or registered."""
    root = os.path.realpath(trial_dir)
    target = os.path.realpath(path)
    if target.startswith(root + os.sep) and os.path.isdir(target):
        shutil.rmtree(target, ignore_errors=True)


class _Ended(StopTrial):
    """The run ends as the result machine decided (``save_at_end``: save a checkpoint
    first, class trainables with ``checkpoint_at_end``)."""

    def __init__(self, reason: EndReason, save_at_end: bool = False) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.save_at_end = save_at_end


class _RestoreFailed(Exception):
    """Loading a checkpoint failed (the controller may fall back to an older one)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def _type_name(obj: Any) -> str:
    kind = type(obj)
    module = getattr(kind, "__module__", None)
    name = getattr(kind, "__qualname__", None) or getattr(kind, "__name__", "?")
    return f"{module}.{name}" if module and module != "builtins" else str(name)


def _safe_repr(obj: Any) -> str:
    """``repr(obj)``, or a description naming its type when ``repr`` raises."""
    try:
        return repr(obj)
    except BaseException as exc:  # user code: anything may come out of it
        return f"<{_type_name(obj)} object (repr() raised {_type_name(exc)})>"


def _safe_str(obj: Any) -> str:
    try:
        return str(obj)
    except BaseException:
        return _safe_repr(obj)


def _format_exception(exc: BaseException) -> str:
    """The traceback text of ``exc``; never raises (its type is always named)."""
    try:
        return "".join(traceback.format_exception(exc))
    except BaseException:
        return f"{_type_name(exc)}: <the exception could not be formatted>\n"


def _error_payload(exc: BaseException) -> tuple[str, str]:
    return _format_exception(exc), _safe_repr(exc)


def _exception_line(exc: BaseException) -> str:
    text = _safe_str(exc)
    return f"{_type_name(exc)}: {text}" if text else _type_name(exc)


def _try_encode(encode: Callable[[Any], bytes], value: Any) -> BaseException | None:
    try:
        encode(value)
    except BaseException as exc:  # a __reduce__ may raise anything
        return exc
    return None


def _locate(
    value: Any,
    encode: Callable[[Any], bytes],
    error: BaseException,
    path: list[str],
    seen: set[int],
) -> tuple[list[str], Any, BaseException]:
    """The key path, the value and the error of the innermost part of ``value`` that cannot
    be serialized (``value`` itself fails with ``error``)."""
    if len(path) >= 32 or id(value) in seen:
        return path, value, error
    seen.add(id(value))
    try:
        if isinstance(value, Mapping):
            items: list[tuple[str, Any]] = [(_safe_str(k), v) for k, v in value.items()]
        elif isinstance(value, (list, tuple, set, frozenset)):
            items = [(str(i), v) for i, v in enumerate(value)]
        else:
            return path, value, error
    except BaseException:  # a mapping whose items() raises
        return path, value, error
    for key, child in items:
        child_error = _try_encode(encode, child)
        if child_error is not None:
            return _locate(child, encode, child_error, [*path, key], seen)
    return path, value, error


def describe_unserializable(
    result: dict[str, Any], encode: Callable[[Any], bytes], error: BaseException
) -> str:
    """Why ``result`` cannot be sent, naming the key (``a/b`` for nested dicts) and the type."""
    path, culprit, culprit_error = _locate(result, encode, error, [], set())
    where = f"result key '{'/'.join(path)}'" if path else "the result"
    iteration = result.get("training_iteration", "?")
    return (
        f"{where} holds a value of type {_type_name(culprit)} that cannot be serialized to "
        f"send it to the driver ({_exception_line(culprit_error)}). The trial was ended at "
        f"training_iteration {iteration}; the results reported before it were kept. Report "
        "plain values (numbers, strings, lists and dicts of them) and keep such objects out "
        "of results."
    )


class Outbox:
    """Results of the running trial waiting to be sent (thread-safe).

    A trial's first result is sent at once (the first feedback of a trial: progress, a
    scheduler's first look); later ones wait up to ``MAX_DELAY_S`` (the flusher thread) or
    until ``MAX_BATCH`` are buffered, and go in one message. A batch is pickled once. When
    that fails (a result holds a lock, a generator, an open file...), the results before
    the offending one are sent one by one, the rest is dropped, and :attr:`error` says which
    key holds what: the trial thread raises it at its next report, and the trial ends with
    it. The flusher thread never dies of it.

    With :attr:`files` (the result files of the trial, when its worker writes them: see
    ``logger/_in_worker.py``), each batch is written there once it is pickled and before it
    is sent. A failed write (a full disk) is kept in the files' ``error``; the trial
    thread raises it at its next report, and the trial ends with it.
    """

    def __init__(self, encode: Callable[[Any], bytes], write: Callable[[bytes], None]) -> None:
        self._encode = encode
        self._write = write
        self._cond = threading.Condition()
        self._buffer: list[dict[str, Any]] = []
        self._first = 0.0
        self.trial_id = ""
        self.error: str | None = None  # why the current trial's results stopped flowing
        self._sent_one = False  # the running trial's first result was sent
        self._closed = False
        self.files: ResultLog | None = None  # the running trial's result files

    def begin(self, trial_id: str) -> None:
        with self._cond:
            self.trial_id = trial_id
            self.error = None
            self._sent_one = False

    def end_files(self) -> BaseException | None:
        """Close the running trial's result files; the first error writing them, if any."""
        with self._cond:
            files, self.files = self.files, None
        return files.close() if files is not None else None

    def take_error(self) -> str | None:
        with self._cond:
            error, self.error = self.error, None
            return error

    def add(self, result: dict[str, Any]) -> None:
        with self._cond:
            if self.error is not None:  # nothing after an unserializable result is sent
                return
            buffer = self._buffer
            buffer.append(result)
            if not self._sent_one:  # a trial's first result goes at once (the first feedback)
                self._sent_one = True
                self._flush_locked()
            elif len(buffer) == 1:
                self._first = time.monotonic()
                self._cond.notify()
            elif len(buffer) >= MAX_BATCH:
                self._flush_locked()

    def flush(self) -> None:
        with self._cond:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        try:
            data = self._encode(P.results_message(self.trial_id, batch))
        except BaseException:  # a __reduce__ may raise anything
            self._salvage(batch)
            return
        if self.files is not None:
            self.files.write(batch)
        self._write(data)

    def _salvage(self, batch: list[dict[str, Any]]) -> None:
        """Send the results before the first one that cannot be serialized; record why."""
        for result in batch:
            try:
                data = self._encode(P.results_message(self.trial_id, [result]))
            except BaseException as exc:
                self.error = describe_unserializable(result, self._encode, exc)
                return
            if self.files is not None:
                self.files.write([result])
            self._write(data)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def run_flusher(self) -> None:
        """Thread body: send results that waited ``MAX_DELAY_S``."""
        with self._cond:
            while not self._closed:
                if not self._buffer:
                    self._cond.wait()
                    continue
                delay = self._first + MAX_DELAY_S - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                try:
                    self._flush_locked()
                except Exception:  # the connection is gone: the reader thread ends the trial
                    self._buffer = []


def _encode(message: Any) -> bytes:
    """Pickle ``message``; values plain pickle cannot handle (local classes, lambdas) go
    through cloudpickle."""
    try:
        return P.dumps(message)
    except Exception:
        import cloudpickle

        data: bytes = cloudpickle.dumps(message)
        return data


def _exit_code_ok(code: Any) -> bool:
    """``sys.exit(code)`` means success (None, 0 or False)."""
    return code is None or (isinstance(code, int) and int(code) == 0)


_FORKED_REPORT = (
    "tunelab: a result was reported from a process forked inside trial {trial_id}; only the "
    "trial's own process can report (nothing was sent). Report from the parent process."
)


def _exit_forked_child(exc: BaseException | None) -> None:
    """End a process forked inside a trial that unwound back into the worker loop, the way
    Python would have ended it, without serving trials or ending its parent's trial."""
    code = 0
    try:
        if isinstance(exc, SystemExit):
            if isinstance(exc.code, int):
                code = int(exc.code)
            elif exc.code is not None:
                sys.stderr.write(f"{_safe_str(exc.code)}\n")
                code = 1
        elif exc is not None and not isinstance(exc, (StopTrial, StopIteration)):
            sys.stderr.write(_format_exception(exc))
            code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code & 0xFF)


_live_workers: weakref.WeakSet[Worker] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for worker in list(_live_workers):
        worker._detach()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Worker:
    """Serves trials over ``conn`` (a ``multiprocessing.connection.Connection``)."""

    def __init__(
        self,
        conn: Any,
        *,
        in_process: bool = False,
        trainables: dict[str, Any] | None = None,
        end_trial_processes: bool = False,
    ) -> None:
        self._conn = conn
        self._detached = False  # True in a process forked while this worker served
        self._end_trial_processes = end_trial_processes
        self._trial_baseline: frozenset[tuple[int, int]] = frozenset()
        self._kept_baseline: frozenset[tuple[int, int]] = frozenset()
        self._next_baseline: frozenset[tuple[int, int]] | None = None
        self._kept_now = False  # the running trial keeps its Trainable object for reuse
        self._in_process = in_process
        self._send_lock = threading.Lock()
        self._tasks: queue.Queue[TrialTask | None] = queue.Queue()
        self._decisions: queue.Queue[Verdict] = queue.Queue()
        self._stop_requested: set[str] = set()
        self._pause_requested: set[str] = set()
        self._current: str | None = None
        self._trainables: dict[str, Any] = trainables if trainables is not None else {}
        self._unloaded: dict[str, bytes] = {}
        self._reusable: tuple[str, Any] | None = None
        self._last_checkpoint: str | None = None
        self._storage = TrialStorage("")  # the current trial's (set by run_task)
        self._save_requested = False
        self.outbox = Outbox(_encode, self._write)
        _live_workers.add(self)

    # -- transport -----------------------------------------------------------------------------
    def send(self, message: Any) -> None:
        self._write(_encode(message))

    def _write(self, data: bytes) -> None:
        if self._detached:  # a forked child never speaks for its parent's trial
            return
        try:
            with self._send_lock:
                self._conn.send_bytes(data)
        except OSError:  # the driver is gone (or abandoned this thread): nobody to tell
            if self._current is not None:
                self._stop_requested.add(self._current)
            self._tasks.put(None)

    def _detach(self) -> None:
        """In a forked child: drop the connection (the parent keeps its own copy)."""
        self._detached = True
        with contextlib.suppress(Exception):
            self._conn.close()

    def _read_loop(self) -> None:
        while True:
            try:
                command = P.decode_command(self._conn.recv_bytes())
            except (EOFError, OSError) as exc:
                if isinstance(exc, P.UnreadableMessage):  # cannot go on: the driver sees EOF
                    sys.stderr.write(f"tunelab worker: {exc}; leaving\n")
                    with contextlib.suppress(Exception):
                        self._conn.close()
                if self._current is not None:  # the controller is gone: end at next report
                    self._stop_requested.add(self._current)
                self._tasks.put(None)
                self._decisions.put(Verdict.STOP)
                return
            if isinstance(command, TrialTask):
                self._tasks.put(command)
            elif isinstance(command, P.Decide):
                if command.trial_id == self._current:
                    self._decisions.put(command.verdict)
            elif isinstance(command, P.PauseRequest):
                self._pause_requested.add(command.trial_id)
                if command.trial_id == self._current:
                    self._decisions.put(Verdict.PAUSE)
            elif isinstance(command, P.StopRequest):
                self._stop_requested.add(command.trial_id)
                if command.trial_id == self._current:
                    self._decisions.put(Verdict.STOP)
            elif isinstance(command, P.Setup):
                self._apply_setup(command)
            elif isinstance(command, P.Exit):
                self._tasks.put(None)
                return

    def _next_decision(self, trial_id: str) -> Verdict:
        return self._decisions.get()

    @staticmethod
    def _apply_setup(setup: P.Setup) -> None:
        for entry in reversed(setup.sys_path):
            if entry not in sys.path:
                sys.path.insert(0, entry)
        os.environ.update(setup.env)

    # -- main loop -----------------------------------------------------------------------------
    def serve(self, hello: tuple[Any, ...]) -> None:
        self.send(hello)
        threading.Thread(target=self._read_loop, name="tunelab-reader", daemon=True).start()
        threading.Thread(
            target=self.outbox.run_flusher, name="tunelab-flusher", daemon=True
        ).start()
        try:
            while True:
                task = self._tasks.get()
                if task is None:
                    break
                self._in_parent_only(self.run_task, task)
        finally:
            self.outbox.close()
            if self._reusable is not None:
                with contextlib.suppress(Exception):
                    self._reusable[1].stop()
                self._reusable = None
                if self._end_trial_processes:
                    self._end_processes(self._kept_baseline)

    def _trainable(self, task: TrialTask) -> Any:
        key = task.trainable_key
        trainable = self._trainables.get(key)
        if trainable is None:
            import cloudpickle

            blob = task.trainable_blob or self._unloaded.get(key)
            if blob is None:
                raise RuntimeError(f"worker has no code for trainable {key!r}")
            try:
                trainable = cloudpickle.loads(blob)
            except Exception:
                self._unloaded[key] = blob  # keep it: the next trial reports the same error
                raise
            self._unloaded.pop(key, None)
            self._trainables[key] = trainable
        return trainable

    def run_task(self, task: TrialTask) -> None:
        trial_id = task.trial_id
        self._current = trial_id
        self._kept_now = False
        self.outbox.begin(trial_id)
        while not self._decisions.empty():
            self._decisions.get_nowait()
        if self._end_trial_processes:
            # the children listed when the last trial's processes were ended (nothing of
            # the worker's own starts processes between two trials), else listed now
            baseline, self._next_baseline = self._next_baseline, None
            if baseline is None:
                from tunelab.execution._process_guard import child_snapshot

                baseline = child_snapshot()
            self._trial_baseline = baseline
        reason, payload = EndReason.DONE, None
        storage = None
        raised_unserializable = False
        raised: BaseException | None = None
        try:
            from tunelab.utils._monitor import trial_sys_usage  # config "log_sys_usage"

            if task.logs is not None:  # this worker writes the trial's result files
                self.outbox.files = task.logs.open(
                    task.trial_dir, task.config, f"trial {task.trial_name}"
                )
            storage = self._storage = TrialStorage.for_task(task)
            if storage.direct:  # this machine does not see the driver's staging directory
                task = dataclasses.replace(task, trial_dir=storage.trial_dir)
            with _trial_environment(task), trial_sys_usage(task.config):
                reason, payload = self._run_guarded(task)
        except _Ended as ended:
            reason = ended.reason
        except StopTrial:
            reason = EndReason.STOPPED
        except StopIteration:
            reason = EndReason.DONE
        except SystemExit as exc:
            if not _exit_code_ok(exc.code):
                reason, payload = EndReason.ERROR, _error_payload(exc)
        except _RestoreFailed as failed:
            cause = failed.__cause__ or failed
            text = f"Restoring from {failed.path} failed:\n{_format_exception(cause)}"
            reason, payload = EndReason.ERROR, (text, _safe_repr(cause), "restore")
        except BaseException as exc:  # the trainable failed: report it, keep serving
            raised_unserializable = isinstance(exc, ResultNotSerializable)
            raised = exc
            reason, payload = EndReason.ERROR, _error_payload(exc)
        finally:
            from tunelab import _session

            _session._set_session(None, thread_local=self._in_process)
            self._current = None
            if storage is not None:
                storage.cleanup()
        self.outbox.flush()
        unwritten = self.outbox.end_files()
        if unwritten is not None and unwritten is not raised:
            # the result files could not be written (a full disk): that ends the trial,
            # and the controller recognises a StorageError's report (it ends the run)
            reason, payload = EndReason.ERROR, _error_payload(unwritten)
        unsent = self.outbox.take_error()
        if unsent is not None and not raised_unserializable:
            text = f"{ResultNotSerializable.__name__}: {unsent}\n"
            if reason == EndReason.ERROR and payload:
                text += f"\nThe trainable then raised:\n{payload[0]}"
            reason, payload = EndReason.ERROR, (text, _safe_repr(ResultNotSerializable(unsent)))
        if self._kept_now:
            self._kept_baseline = self._trial_baseline  # its processes live with the object
        elif self._end_trial_processes:
            self._next_baseline = self._end_processes(self._trial_baseline)
        if reason == EndReason.PAUSED and payload is None:
            payload = self._last_checkpoint
        self.send(P.end_message(trial_id, reason, payload))
        self._stop_requested.discard(trial_id)
        self._pause_requested.discard(trial_id)

    def _end_processes(
        self, baseline: frozenset[tuple[int, int]]
    ) -> frozenset[tuple[int, int]] | None:
        """End the processes started since ``baseline`` (never fails the worker); the
        children that remain (None when that failed)."""
        from tunelab.execution._process_guard import end_new_children_listed

        try:
            return end_new_children_listed(baseline)[1]
        except Exception:
            return None

    # -- one trial -----------------------------------------------------------------------------
    def _run_guarded(self, task: TrialTask) -> tuple[EndReason, Any]:
        """:meth:`_run`; a process forked inside the trial exits here instead of returning
        into the worker loop (which would end the parent's trial)."""
        outcome: tuple[EndReason, Any] = self._in_parent_only(self._run, task)
        return outcome

    def _in_parent_only(self, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)``; a forked child (see :meth:`_detach`) that gets back here, by a
        return or an exception, exits at once instead."""
        try:
            result = call(*args)
        except BaseException as exc:
            if self._detached:
                _exit_forked_child(exc)
            raise
        if self._detached:
            _exit_forked_child(None)
        return result

    def _run(self, task: TrialTask) -> tuple[EndReason, Any]:
        from tunelab import _session
        from tunelab._checkpoint import Checkpoint
        from tunelab._resources import PlacementGroupFactory
        from tunelab.trainable._progress import IterationState

        trial_id = task.trial_id
        trial_dir = task.trial_dir
        machine = ResultMachine.for_task(task)
        on_result = machine.on_result
        outbox = self.outbox
        stop_requested = self._stop_requested
        pause_requested = self._pause_requested
        restore_path = task.restore_path
        self._last_checkpoint = restore_path  # as the controller knows it (maybe a URI)
        if restore_path:
            try:
                restore_path = self._storage.fetch(restore_path)
            except Exception as exc:
                raise _RestoreFailed(str(task.restore_path)) from exc
            task = dataclasses.replace(task, restore_path=restore_path)
        resources = (
            PlacementGroupFactory.from_state(task.resources)
            if task.resources is not None
            else PlacementGroupFactory([{"CPU": 1}])
        )
        context = _session.TuneContext(
            experiment_name=task.experiment_name,
            trial_name=task.trial_name,
            trial_id=trial_id,
            trial_dir=trial_dir,
            trial_resources=resources,
            storage_path=task.storage_path,
        )
        files = outbox.files
        state = IterationState(trial_id)
        if task.iteration_state:
            state.restored(dict(task.iteration_state))

        def sink(result: dict[str, Any], checkpoint: Any) -> None:
            """Each report of the trial: do what the result machine says."""
            if self._detached:
                raise RuntimeError(_FORKED_REPORT.format(trial_id=trial_id))
            if outbox.error is not None:
                raise ResultNotSerializable(outbox.error)
            if files is not None and files.error is not None:
                raise files.error  # the trial's result files could not be written
            step = on_result(
                result,
                checkpoint=checkpoint is not None,
                stop_requested=trial_id in stop_requested,
                pause_requested=trial_id in pause_requested,
            )
            if step.checkpoint:
                path = self._storage.publish(
                    self._persist(checkpoint, trial_dir, result["training_iteration"])
                )
                P.mark_checkpoint(result, path)
                session.checkpoint = Checkpoint(path)
                self._last_checkpoint = path
            elif isinstance(checkpoint, str):  # a class trainable saved for a dropped result
                _remove_unannounced(checkpoint, trial_dir)
            if step.wait:
                P.mark_wait(result)
                outbox.add(result)
                outbox.flush()
                if outbox.error is not None:  # the controller never got it: do not wait
                    raise ResultNotSerializable(outbox.error)
                step = machine.on_verdict(self._next_decision(trial_id))
            elif step.send:
                outbox.add(result)
            if step.end is not None:
                raise _Ended(step.end, step.save_at_end)
            if step.save:
                self._save_requested = True

        session = _session.TrialSession(
            context,
            sink,
            checkpoint=Checkpoint(restore_path) if restore_path else None,
            iteration_state=state,
        )
        _session._set_session(session, thread_local=self._in_process)
        trainable = self._trainable(task)
        if task.is_function:
            from tunelab.trainable._function import call_function_trainable

            state.restart_clock()
            call_function_trainable(trainable, task.config, restore_path)
            self._keep_final_checkpoint(session, task)
            return EndReason.DONE, None
        return self._run_class(task, trainable, session, sink, machine)

    def _keep_final_checkpoint(self, session: Any, task: TrialTask) -> None:
        """A function that wrote a checkpoint (``with tune.checkpoint_dir(step)``) after its
        last report: the checkpoint is kept, with the metrics of that last result, as Ray
        Tune keeps it (it would otherwise wait for a report that never comes)."""
        pending = session.pending_checkpoint_dir
        if pending is None or not os.path.isdir(pending):
            return
        session.pending_checkpoint_dir = None
        from tunelab._checkpoint import Checkpoint

        iteration = session.state.iteration
        trial_dir = task.trial_dir
        name = f"checkpoint_{int(iteration):06d}"
        if os.path.lexists(os.path.join(trial_dir, name)):  # the last report saved one too
            name += "_final"
        persisted = self._persist(Checkpoint.from_directory(pending), trial_dir, iteration, name)
        path = self._storage.publish(persisted)
        self._last_checkpoint = path
        self.outbox.flush()
        if self.outbox.error is not None:
            raise ResultNotSerializable(self.outbox.error)
        self.send(P.checkpoint_message(task.trial_id, path, iteration))

    def _run_class(
        self,
        task: TrialTask,
        cls: Any,
        session: Any,
        sink: Callable[..., None],
        machine: ResultMachine,
    ) -> tuple[EndReason, Any]:
        obj = None
        if task.reuse and self._reusable is not None and self._reusable[0] == task.trainable_key:
            candidate = self._reusable[1]
            self._reusable = None
            ok = candidate.reset(
                task.config,
                trial_id=task.trial_id,
                trial_name=task.trial_name,
                logdir=task.trial_dir,
                trial_resources=session.context.get_trial_resources(),
            )
            if ok:
                obj = candidate
                self._trial_baseline = self._kept_baseline  # its processes are its own
            else:
                candidate.stop()
                if self._end_trial_processes:
                    self._end_processes(self._kept_baseline)
        elif self._reusable is not None:
            self._reusable[1].stop()
            self._reusable = None
            if self._end_trial_processes:
                self._end_processes(self._kept_baseline)
        if obj is None:
            obj = cls(task.config)
        obj._state = session.state
        keep = False
        try:
            if task.restore_path:
                try:
                    obj.restore(task.restore_path)
                except Exception as exc:
                    raise _RestoreFailed(task.restore_path) from exc
            while True:
                result = obj.train()
                checkpoint = None
                if machine.checkpoint_due(
                    result["training_iteration"], result.pop("should_checkpoint", False)
                ):
                    checkpoint = obj.save()
                try:
                    self._save_requested = False
                    sink(result, checkpoint)
                    if self._save_requested:
                        self._save_and_announce(obj, task)
                except _Ended as ended:
                    if ended.reason == EndReason.PAUSED:
                        path = self._storage.publish(obj.save())
                        self._last_checkpoint = path
                        return EndReason.PAUSED, path
                    if ended.save_at_end:
                        self._save_and_announce(obj, task)
                    if task.export_formats:  # 0.x/1.x: exported when the trial ends
                        obj.export_model(list(task.export_formats))
                    raise
            # unreachable
        finally:
            if task.reuse:
                self._reusable = (task.trainable_key, obj)
                self._kept_now = keep = True
            if not keep and not self._detached:  # a forked child leaves the object alone
                obj.stop()

    def _save_and_announce(self, obj: Any, task: TrialTask) -> None:
        path = self._storage.publish(obj.save())
        self._last_checkpoint = path
        self.outbox.flush()
        if self.outbox.error is not None:
            raise ResultNotSerializable(self.outbox.error)
        self.send(P.checkpoint_message(task.trial_id, path, obj.iteration))

    @staticmethod
    def _persist(checkpoint: Any, trial_dir: str, iteration: int, name: str = "") -> str:
        if isinstance(checkpoint, str):
            return checkpoint
        from tunelab._checkpoint import persist_checkpoint

        dest = os.path.join(trial_dir, name or f"checkpoint_{int(iteration):06d}")
        source = getattr(checkpoint, "path", None) or ""
        # directories made by tune.checkpoint_dir() inside the trial dir are moved, not copied
        ours = os.path.dirname(str(source)) == os.path.abspath(trial_dir) and os.path.basename(
            str(source)
        ).startswith("checkpoint_tmp_")
        persisted = persist_checkpoint(checkpoint, dest, move=True if ours else None)
        return str(persisted.path)


@contextlib.contextmanager
def _trial_environment(task: TrialTask) -> Iterator[None]:
    """chdir into the trial dir and redirect output when ``log_to_file`` asks for it."""
    trial_dir = task.trial_dir
    if not os.path.isdir(trial_dir):  # the driver usually made it already: one stat
        os.makedirs(trial_dir, exist_ok=True)
    previous = os.getcwd()
    chdir = task.chdir
    if chdir:
        os.chdir(trial_dir)
    out_name, err_name = task.log_to_file or (None, None)
    saved: list[tuple[int, int]] = []
    files = []
    try:
        if out_name or err_name:
            sys.stdout.flush()
            sys.stderr.flush()
            opened: dict[str, Any] = {}
            for fd, name in ((1, out_name), (2, err_name)):
                if not name:
                    continue
                path = name if os.path.isabs(name) else os.path.join(trial_dir, name)
                handle = opened.get(path)
                if handle is None:
                    handle = opened[path] = open(path, "ab", buffering=0)  # noqa: SIM115
                    files.append(handle)
                saved.append((fd, os.dup(fd)))
                os.dup2(handle.fileno(), fd)
        yield
    finally:
        if saved:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in saved:
                os.dup2(copy, fd)
                os.close(copy)
        for handle in files:
            handle.close()
        if chdir:
            os.chdir(previous)


def main() -> None:
    """Entry point of a local worker process: read address and key from stdin, serve.

    The stdin line is ``FAMILY ADDRESS AUTHKEY_HEX TOKEN [DRIVER_PID]``. The worker dies with
    its driver (SIGKILL on the driver's death where the kernel offers it), and it ends the
    processes each trial started when the trial ends.
    """
    parent = os.getppid()  # before anything else: the driver that started us
    from tunelab.execution import _process_guard

    _process_guard.die_with_parent(parent)

    import signal
    from multiprocessing.connection import Client

    from tunelab.trainable._progress import process_info

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides how trials end

    line = sys.stdin.readline().split()
    if len(line) < 4:  # the driver went away before it told us where to connect
        sys.exit(1)
    family, address, authkey_hex, token = line[0], line[1], line[2], line[3]
    if len(line) > 4 and line[4].isdigit() and int(line[4]) != parent:
        sys.exit(1)  # started through an intermediate process whose driver is gone
    if family == "AF_INET":
        host, port = address.rsplit(":", 1)
        target: Any = (host, int(port))
    else:
        target = address
    conn = Client(target, family=family, authkey=bytes.fromhex(authkey_hex))
    _process_guard.become_subreaper()
    pid, hostname, ip = process_info()
    Worker(conn, end_trial_processes=True).serve(P.hello_message(token, pid, hostname, ip))
    _exit_served()


def _exit_served() -> None:
    """End the worker once the driver let it go, as the interpreter's own exit does up to
    its atexit handlers: wait for the non-daemon threads a trial left running, run the
    atexit handlers (a tracker's final upload, ``logging``'s flush), flush stdout and
    stderr, Python's and C's. What it skips is tearing every module and object down one by
    one, which takes a worker that ran trials tens of milliseconds that the driver waits for
    at the end of each ``fit()`` (the children of :mod:`multiprocessing` end the same way,
    without even the atexit handlers)."""
    import atexit

    try:
        shutdown = getattr(threading, "_shutdown", None)  # what the interpreter's exit calls
        if shutdown is not None:
            shutdown()
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        with contextlib.suppress(Exception):  # what C code printed (os._exit skips that)
            import ctypes

            ctypes.CDLL(None).fflush(None)
        os._exit(0)


if __name__ == "__main__":
    main()
