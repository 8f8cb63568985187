"""The default loggers' per-result writes, done by the worker that runs the trial.

Per result, the default loggers cost the controller more than everything else together:
encoding the result three times (a JSON line, a CSV row, a TensorBoard event). The
controller is one process; the workers are many. So when the workers see the trial
directories (:attr:`Executor.shares_trial_dirs <tunelab.execution.Executor>`: the local
and in-process executors), the controller hands that work to them:

* :class:`WorkerLogs` (controller side) finds the default loggers in the run's callbacks
  (exactly :class:`JsonLoggerCallback`, :class:`CSVLoggerCallback`,
  :class:`TBXLoggerCallback`, not subclasses, not wrapped), takes them off the per-result
  dispatch and describes, per trial start, what the worker writes
  (:class:`~tunelab.execution._protocol.TrialLogs`).
* :class:`TrialFiles` (worker side) writes each batch of results to ``result.json``,
  ``progress.csv`` and the event file, with the classes the loggers use, *before* the batch
  is sent: every result is in the files before the controller acts on it, in order, as the
  controller's logger would have written it (the result with the trial's ``config`` and
  ``experiment_tag``).

What happens once per trial stays with the loggers in the controller: ``params.json`` and
``params.pkl``, cutting the files when a trial reruns iterations (before its worker
starts), the TensorBoard hyperparameters when it ends (appended to the file the workers
wrote, whose name the controller chose). A trial's files are written by one process at a
time: its worker, between its start and its end message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunelab._callback import CallbackList
    from tunelab._trial import Trial
    from tunelab.logger._csv import CSVLoggerCallback, _CsvTrialLog
    from tunelab.logger._json import JsonLoggerCallback, _JsonTrialLog
    from tunelab.logger._tbx import TBXLoggerCallback, _TrialEvents

__all__ = ["TrialFiles", "TrialLogs", "WorkerLogs"]

# in-band marks of a result on the wire (see execution/_protocol.py): not logged
_MARKS = ("__checkpoint__", "__wait__")


@dataclass(frozen=True)
class TrialLogs:
    """What the worker running a trial writes (a task's ``logs``; the executors' interface
    is ``ResultLogs`` in ``execution/_protocol.py``, and the task carries this class by
    reference to the worker, which imports it there).

    ``json``: a line of ``result.json`` per result; ``csv_delimiter``: a row of
    ``progress.csv`` (None: no CSV); ``events_path``: the trial's TensorBoard event file
    (None: no events), ``restarted``: its next event starts a new session (the trial reruns
    iterations from a checkpoint); ``experiment_tag``: written in each line with the
    trial's config, as the controller's logger adds them.
    """

    experiment_tag: str = ""
    json: bool = False
    csv_delimiter: str | None = None
    events_path: str | None = None
    restarted: bool = False

    def open(self, trial_dir: str, config: dict[str, Any], owner: str) -> TrialFiles:
        """The files of the trial in ``trial_dir``.

        Args:
            trial_dir: The trial's directory (the controller's, which the worker sees).
            config: The config the trial runs with (in each line of ``result.json``).
            owner: Names the trial in errors ("trial <name>").
        """
        return TrialFiles(self, trial_dir, config, owner)


class WorkerLogs:
    """The default loggers of a run whose per-result writes its workers do."""

    def __init__(
        self,
        json: JsonLoggerCallback | None,
        csv: CSVLoggerCallback | None,
        tbx: TBXLoggerCallback | None,
    ) -> None:
        self._json = json
        self._csv = csv
        self._tbx = tbx

    @classmethod
    def delegate(cls, callbacks: CallbackList, executor: Any) -> WorkerLogs | None:
        """Hand the per-result writes of the default loggers in ``callbacks`` to the
        workers when ``executor`` shares the trial directories with them (else give them
        back to the loggers: a logger object may serve several runs). Returns None when
        nothing is handed over."""
        from tunelab.logger._csv import CSVLoggerCallback
        from tunelab.logger._json import JsonLoggerCallback
        from tunelab.logger._tbx import TBXLoggerCallback

        shares = bool(getattr(executor, "shares_trial_dirs", False))
        found: dict[type, Any] = {}
        callback: Any
        for callback in callbacks:
            kind = type(callback)
            if kind in (JsonLoggerCallback, CSVLoggerCallback, TBXLoggerCallback):
                first = kind not in found
                if first:
                    found[kind] = callback
                callback.results_in_workers = shares and first
        callbacks.rebuild()
        if not shares or not found:
            return None
        return cls(
            found.get(JsonLoggerCallback),
            found.get(CSVLoggerCallback),
            found.get(TBXLoggerCallback),
        )

    def for_trial(self, trial: Trial) -> TrialLogs | None:
        """What the worker about to run ``trial`` writes (None: a trial without a
        directory, which the loggers skip)."""
        if not trial.local_path:
            return None
        events_path, restarted = None, False
        if self._tbx is not None:
            events_path, restarted = self._tbx.worker_events(trial)
        return TrialLogs(
            experiment_tag=trial.experiment_tag,
            json=self._json is not None,
            csv_delimiter=self._csv.delimiter if self._csv is not None else None,
            events_path=events_path,
            restarted=restarted,
        )


_encoders = threading.local()


def _encoder() -> Callable[[Any], str]:
    """This thread's JSON encoder (one C encoder must not serve two threads at once)."""
    encode: Callable[[Any], str] | None = getattr(_encoders, "encode", None)
    if encode is None:
        from tunelab._json import make_encoder

        encode = _encoders.encode = make_encoder()
    return encode


class TrialFiles:
    """The result files one run of a trial writes in its worker (see the module docstring).

    :meth:`write` appends a batch and hands it to the OS; a failed write (a full disk) is
    kept in :attr:`error`, and nothing more is written: the worker ends the trial with it.
    """

    def __init__(self, logs: TrialLogs, trial_dir: str, config: Any, owner: str) -> None:
        self._config = config
        self._tag = logs.experiment_tag
        self.error: BaseException | None = None
        self._json: _JsonTrialLog | None = None
        self._csv: _CsvTrialLog | None = None
        self._events: _TrialEvents | None = None
        writers: list[Callable[[dict[str, Any]], None]] = []
        if logs.json:
            from tunelab.logger._json import _JsonTrialLog

            self._json = _JsonTrialLog(trial_dir, None, _encoder(), owner)
            writers.append(self._json.write)
        if logs.csv_delimiter is not None:
            from tunelab.logger._csv import _CsvTrialLog

            self._csv = _CsvTrialLog(trial_dir, None, owner, logs.csv_delimiter)
            writers.append(self._csv.write)
        if logs.events_path is not None:
            from tunelab.logger._tbx import _TrialEvents

            self._events = _TrialEvents(trial_dir, None, owner, path=logs.events_path)
            self._events.restarted = logs.restarted
            writers.append(self._events.write_result)
        self._writers = tuple(writers)

    def write(self, results: list[dict[str, Any]]) -> None:
        """Append ``results`` (as reported, with their auto-filled keys) and flush."""
        if self.error is not None or not self._writers:
            return
        config, tag, writers = self._config, self._tag, self._writers
        try:
            for result in results:
                line = dict(result)
                if "__checkpoint__" in line or "__wait__" in line:
                    for mark in _MARKS:
                        line.pop(mark, None)
                line["config"] = config
                line["experiment_tag"] = tag
                for write in writers:
                    write(line)
            self._flush()
        except BaseException as exc:
            self.error = exc

    def _flush(self) -> None:
        for log in (self._json, self._csv):
            if log is not None:
                log.file.flush()
        if self._events is not None:
            self._events.flush()

    def close(self) -> BaseException | None:
        """Close the files; the first error of this run's writes (None: all written)."""
        for log in (self._json, self._csv):
            if log is not None:
                self._closing(log.file.close)
        if self._events is not None:
            self._closing(self._events.close)
        return self.error

    def _closing(self, close: Callable[[], None]) -> None:
        try:
            close()
        except BaseException as exc:
            if self.error is None:
                self.error = exc
