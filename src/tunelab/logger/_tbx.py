"""TensorBoard event files: ``TBXLoggerCallback`` and the legacy ``TBXLogger``.

Each trial gets ``events.out.tfevents.<time>.<host>`` in its directory, readable by
TensorBoard: one scalar per numeric result key under the tag ``ray/tune/<flat key>`` (the
tags Ray Tune writes, so existing dashboards keep working), a histogram per non-empty list
of numbers, and, when the trial ends, its hyperparameters and final metrics for
TensorBoard's HParams view.

Events are written synchronously by this module, encoded by :mod:`._tb_wire` without
protocol buffer objects (none of tensorboardX's writer threads): each result costs one
buffered record of a few microseconds, the files are flushed to the OS at the end of each
controller step (like ``result.json``), and at most a bounded number of files is open at
once. tensorboardX itself is imported only for the first histogram. With the
``LocalExecutor``, the worker running a trial appends its events to the file the
controller named, before it sends each batch of results (``logger/_in_worker.py``); the
controller appends the hyperparameters at the end.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import math
import numbers
import operator
import os
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tunelab._errors import require
from tunelab.logger import _tb_wire as wire
from tunelab.logger._legacy import Logger
from tunelab.logger._logger_callback import LoggerCallback, _AppendFile, _each, _OpenFiles

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = ["TBXLogger", "TBXLoggerCallback", "tbx_available"]

_log = logging.getLogger("tunelab.logger")

#: The prefix of every scalar and histogram tag.
TAG_PREFIX = "ray/tune"
#: Top-level result keys never written as scalars.
SKIPPED_KEYS = frozenset(("config", "pid", "timestamp", "time_total_s", "training_iteration"))
#: Records kept in memory per file before they are written without waiting for a flush.
_MAX_BUFFERED_RECORDS = 1024
_FEATURE = "TBXLoggerCallback (TensorBoard event files)"


def tbx_available() -> bool:
    """Whether tensorboardX is installed (checked without importing it).

    Returns:
        True when the TensorBoard loggers can be used (the ``tensorboard`` extra).
    """
    try:
        return importlib.util.find_spec("tensorboardX") is not None
    except (ImportError, ValueError):
        return False


#: what ``import tensorboardX`` imports when installed, for features this module never uses
#: (tensorboardX's own Comet logging; torch tensors in its SummaryWriter; its S3 and Google
#: Cloud Storage writers, boto3 alone half of tensorboardX's import): 1-4 s together
_UNUSED_BY_TBX = ("comet_ml", "torch", "boto3", "google.cloud")


@contextlib.contextmanager
def _without_optional_libraries() -> Iterator[None]:
    """Import tensorboardX without the optional libraries it tries to import.

    While tensorboardX is imported, those of :data:`_UNUSED_BY_TBX` that are not imported yet
    read as absent, so its first use does not stall the experiment loop; afterwards they
    import as usual. (tensorboardX's own ``SummaryWriter``, if the driver also uses it, then
    treats torch tensors as plain objects and has no Comet logging.)
    """
    blocked = [name for name in _UNUSED_BY_TBX if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


class _Histograms:
    """tensorboardX's histogram summary, imported on the first histogram (the only part of
    the event files not encoded by :mod:`tunelab.logger._tb_wire`)."""

    _loaded: Any = None

    @classmethod
    def summary(cls) -> Any:
        if cls._loaded is None:
            with _without_optional_libraries():
                require("tensorboardX", extra="tensorboard", feature=_FEATURE)
                from tensorboardX.summary import histogram

            cls._loaded = histogram
        return cls._loaded


def _flat_items(data: Mapping[Any, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in data.items():
        name = f"{prefix}/{key}"
        if isinstance(value, Mapping):
            _flat_items(value, name, out)
        else:
            out[name] = value


def result_tags(result: Mapping[str, Any]) -> dict[str, Any]:
    """``{"ray/tune/<flat key>": value}`` for every key of ``result`` that is logged.

    The keys in :data:`SKIPPED_KEYS` are left out; nested dicts are flattened with "/".
    Values are returned as they are (numbers become scalars, lists histograms; the rest
    is ignored by the writer).
    """
    out: dict[str, Any] = {}
    for key, value in result.items():
        if key in SKIPPED_KEYS:
            continue
        name = _tag_of(key)
        if isinstance(value, Mapping):
            _flat_items(value, name, out)
        else:
            out[name] = value
    return out


def hparams_of(params: Mapping[str, Any]) -> dict[str, bool | str | float | int]:
    """The values of ``params`` (flattened with "/") that the HParams view can show.

    Numbers, strings and booleans are kept; lists and tuples become their text; ``None``
    and other objects are left out.
    """
    flat: dict[str, Any] = {}
    _flat_items(params, "", flat)
    out: dict[str, bool | str | float | int] = {}
    for key, value in flat.items():
        name = key[1:]
        if isinstance(value, (bool, str)):
            out[name] = value
        elif isinstance(value, numbers.Integral):
            out[name] = int(value)
        elif isinstance(value, numbers.Real):
            out[name] = float(value)
        elif isinstance(value, (list, tuple)):
            out[name] = str(list(value))
    return out


@functools.cache
def _host() -> str:
    """This machine's name, read once (a system call per trial otherwise)."""
    return socket.gethostname()


def _new_event_path(logdir: str) -> str:
    base = os.path.join(logdir, f"events.out.tfevents.{int(time.time())}.{_host()}")
    path, n = base, 0
    while os.path.exists(path):
        n += 1
        path = f"{base}.{n}"
    return path


class _EventFile(_AppendFile):
    """One TensorBoard event file: records buffered in memory, appended on :meth:`flush`.

    Without a ``path``, the file is created on the first flush (a new name, never an
    existing file). With one (a file the worker and the controller take turns to append
    to), the first flush starts the file with its version record when it is empty. Handles
    and failed writes behave as in :class:`_AppendFile`.
    """

    __slots__ = ("_begun", "logdir", "path", "records")

    def __init__(
        self,
        logdir: str,
        open_files: _OpenFiles | None,
        what: str = "",
        path: str | None = None,
    ) -> None:
        super().__init__(open_files, what or f"the TensorBoard events of the trial in {logdir}")
        self.logdir = logdir
        self.path = path
        self._begun = False  # the file's version record is written (or was there)
        self.records: list[bytes] = []

    def add_bytes(self, data: bytes) -> None:
        """Append a serialized ``Event``."""
        self.records.append(wire.record(data))
        if len(self.records) >= _MAX_BUFFERED_RECORDS:
            self.flush()

    def flush(self) -> None:
        if not self.records:
            return
        if self.broken:
            self.records.clear()
            return
        if not self._begun:
            if self.path is None:
                self.path = _new_event_path(self.logdir)  # _append makes the directory
                new = True
            else:
                new = _is_empty(self.path)
            if new:
                self.records.insert(0, wire.record(wire.file_version_event(time.time())))
            self._begun = True
        data = b"".join(self.records)
        self.records.clear()
        assert self.path is not None
        self._append(self.path, data)


def _is_empty(path: str) -> bool:
    try:
        return os.path.getsize(path) == 0
    except OSError:
        return True


def _as_scalar(value: Any) -> float | None:
    """The number TensorBoard shows for ``value``, or None (not a real number, or NaN)."""
    kind = type(value)
    if kind is float:
        return None if value != value else value  # type: ignore[no-any-return]
    if kind is str or value is None:
        return None
    if kind is int or kind is bool or isinstance(value, numbers.Real):
        try:
            number = float(value)
        except OverflowError:  # an int beyond float: what float32 stores anyway
            return math.copysign(math.inf, value)
        return None if number != number else number
    return None


#: result key -> its scalar tag (keys repeat in every result)
_TAGS: dict[Any, str] = {}


def _tag_of(key: Any) -> str:
    tag = _TAGS.get(key)
    if tag is None:
        if len(_TAGS) > 10_000:
            _TAGS.clear()
        tag = _TAGS[key] = f"{TAG_PREFIX}/{key}"
    return tag


class _Plan:
    """How to encode every result with one set of keys whose values have one set of types.

    Results of a trial repeat their keys and the types of their values, so which keys are
    scalars, their tags and the constant bytes around each value are worked out once per
    shape; a result of a known shape is then encoded by a few calls into C
    (``itemgetter``, one ``struct.pack``) instead of a Python loop over its keys.
    """

    __slots__ = ("generic", "get", "pack", "slots", "tags")

    def __init__(self, keys: tuple[Any, ...], types: tuple[type, ...]) -> None:
        scalar_keys: list[Any] = []
        #: keys written by the general path (nested dicts, lists, arrays, other objects)
        self.generic: list[Any] = []
        for key, kind in zip(keys, types, strict=True):
            if kind is str or kind is type(None) or key in SKIPPED_KEYS:
                continue
            if issubclass(kind, numbers.Real):
                scalar_keys.append(key)
            else:
                self.generic.append(key)
        self.tags = dict.fromkeys(_tag_of(k) for k in scalar_keys)
        prefixes = [wire.scalar_value(tag, 0.0)[:-4] for tag in self.tags]
        #: the scalar values of a result, as a tuple (None: the shape has no scalars)
        self.get: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None = None
        if len(scalar_keys) > 1:
            self.get = operator.itemgetter(*scalar_keys)
        elif scalar_keys:
            key = scalar_keys[0]
            self.get = lambda result: (result[key],)
        self.pack = struct.Struct("<" + "".join(f"{len(p)}sf" for p in prefixes)).pack
        #: the arguments of ``pack``: each prefix, then a place for its value (copied per
        #: result, so that results of one shape may be encoded from several threads)
        self.slots: tuple[Any, ...] = tuple(x for p in prefixes for x in (p, 0.0))


_PLANS: dict[tuple[tuple[Any, ...], tuple[type, ...]], _Plan] = {}


def _plan_for(result: Mapping[str, Any]) -> _Plan:
    shape = (tuple(result), tuple(map(type, result.values())))
    plan = _PLANS.get(shape)
    if plan is None:
        if len(_PLANS) > 1_000:
            _PLANS.clear()
        plan = _PLANS[shape] = _Plan(*shape)
    return plan


class _TrialEvents:
    """What one trial writes: its result events, then its hparams at the end."""

    __slots__ = ("_bad_tags", "file", "metric_tags", "restarted")

    def __init__(
        self,
        logdir: str,
        open_files: _OpenFiles | None,
        owner: str = "",
        path: str | None = None,
    ) -> None:
        what = f"the TensorBoard events of {owner}" if owner else ""
        self.file = _EventFile(logdir, open_files, what, path)
        #: the tags of every scalar written, in order (the metrics of the HParams view)
        self.metric_tags: dict[str, None] = {}
        self._bad_tags: set[str] = set()
        #: the trial reruns from a checkpoint: the next result's step starts a new session
        self.restarted = False

    def write_result(self, result: Mapping[str, Any]) -> None:
        """Append one event holding the scalars (and histograms) of ``result``.

        The scalars of a result whose shape was seen before are encoded in one go
        (:class:`_Plan`); a NaN (left out), a value beyond float32 or nested and list values
        take the general path, key by key.
        """
        number = _as_scalar(result.get("timesteps_total") or result.get("training_iteration"))
        step = int(number) if number is not None and math.isfinite(number) else 0
        wall_time = result.get("timestamp")
        if not isinstance(wall_time, (int, float)) or isinstance(wall_time, bool):
            wall_time = time.time()
        if self.restarted:
            # TensorBoard drops the events at this step and later that came before this
            # marker (the results of the run that is being redone)
            self.restarted = False
            self.file.add_bytes(wire.session_start_event(float(wall_time), step))
        plan = _plan_for(result)
        packed = self._pack(plan, result)
        values: list[bytes] = []
        if packed is not None:
            self.metric_tags.update(plan.tags)
            if packed:
                values.append(packed)
            rest: Mapping[str, Any] = {k: result[k] for k in plan.generic}
        else:
            rest = result
        if rest:
            for tag, value in result_tags(rest).items():
                self._add_value(tag, value, values)
        if values:
            self.file.add_bytes(wire.summary_event(float(wall_time), step, b"".join(values)))

    @staticmethod
    def _pack(plan: _Plan, result: Mapping[str, Any]) -> bytes | None:
        """The encoded scalars of ``result`` by ``plan``, or None when one is NaN or does not
        fit a float32 (those results take the general path)."""
        if plan.get is None:
            return b""
        values = plan.get(result)
        total = sum(values)
        if total != total:  # a NaN (or infinities of both signs): left to the general path
            return None
        args = list(plan.slots)
        args[1::2] = values
        try:
            return plan.pack(*args)  # type: ignore[no-any-return]
        except (OverflowError, struct.error):
            return None

    def _add_value(self, tag: str, value: Any, values: list[bytes]) -> None:
        number = _as_scalar(value)
        if number is not None:
            self.metric_tags[tag] = None
            values.append(wire.scalar_value(tag, number))
        elif _is_sequence(value) and tag not in self._bad_tags:
            values.extend(wire.field(1, v.SerializeToString()) for v in self._histogram(tag, value))

    def _histogram(self, tag: str, value: Any) -> list[Any]:
        import numpy as np

        try:
            array = np.asarray(value, dtype=float).ravel()
            array = array[np.isfinite(array)]
            if not array.size:
                return []
            return list(_Histograms.summary()(tag, array, "auto").value)
        except (TypeError, ValueError) as exc:
            self._bad_tags.add(tag)
            _log.warning("Not logging %s to TensorBoard: not a list of numbers (%s)", tag, exc)
            return []

    def add_metric_tags(self, result: Mapping[str, Any]) -> None:
        """Count the scalars of ``result`` among the metrics (a result a worker wrote)."""
        for tag, value in result_tags(result).items():
            if _as_scalar(value) is not None:
                self.metric_tags[tag] = None

    def write_hparams(self, params: Mapping[str, Any], failed: bool = False) -> None:
        hparams = hparams_of(params)
        if not hparams:
            return
        for event in wire.hparams_events(
            hparams, self.metric_tags, failed=failed, wall_time=time.time()
        ):
            self.file.add_bytes(event)

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _is_sequence(value: Any) -> bool:
    """A non-empty list, tuple or numpy array (a histogram candidate)."""
    if isinstance(value, (list, tuple)):
        return bool(value)
    return type(value).__name__ == "ndarray" and bool(getattr(value, "size", 0))


def _trial_hparams(trial: Trial | None, config: Mapping[str, Any]) -> Mapping[str, Any]:
    if trial is not None and trial.evaluated_params:
        return trial.evaluated_params
    return config


def _check_installed() -> None:
    if not tbx_available():
        require("tensorboardX", extra="tensorboard", feature=_FEATURE)


class TBXLoggerCallback(LoggerCallback):
    """Writes each trial's results as TensorBoard events in its directory.

    Scalars go under ``ray/tune/<key>`` (nested keys joined with "/"), at step
    ``timesteps_total`` when the result has it, else ``training_iteration``. ``config``,
    ``pid``, ``timestamp``, ``time_total_s`` and ``training_iteration`` are not logged;
    lists (and arrays) of numbers become histograms; other values are ignored. When a trial
    ends, its sampled hyperparameters (``trial.evaluated_params``, or its config when
    nothing was sampled) and the tags of its last metrics are written for the HParams view,
    with the session marked failed for trials that errored. A trial that reruns iterations
    from a checkpoint (a retry, a resume, a PBT exploit) starts a new session at its next
    step, so TensorBoard shows each step once, from the run that counts.

    Needs the ``tensorboard`` extra (``pip install "tunelab[tensorboard]"``). View with
    ``tensorboard --logdir <experiment dir>``. When tensorboardX is installed one is part
    of the default loggers; passing your own instance in ``callbacks`` replaces the
    default one. The constructor takes no arguments.

    Raises:
        ExtraNotInstalledError: tensorboardX is not installed (an ``ImportError``).
    """

    #: the workers write the results (see ``logger/_in_worker.py``): the controller leaves
    #: this logger out of ``on_trial_result``; it names each trial's event file, which the
    #: trial's workers append to, and appends the hyperparameters when the trial ends
    results_in_workers = False

    def __init__(self) -> None:
        _check_installed()
        self._trials: dict[Trial, _TrialEvents] = {}
        self._dirty: dict[_TrialEvents, None] = {}
        self._files = _OpenFiles()

    def _events_for(self, trial: Trial) -> _TrialEvents | None:
        events = self._trials.get(trial)
        if events is None:
            if not trial.local_path:
                _log.warning("Trial %s has no directory; TBXLoggerCallback skips it", trial)
                return None
            events = self._trials[trial] = _TrialEvents(
                trial.local_path, self._files, f"trial {trial}"
            )
        return events

    def worker_events(self, trial: Trial) -> tuple[str | None, bool]:
        """The event file the worker about to run ``trial`` appends to (named now when the
        trial has none yet), and whether its next event starts a new session.

        Args:
            trial: The trial about to start.

        Returns:
            (path, restarted); (None, False) when the trial has no directory.
        """
        events = self._events_for(trial)
        if events is None:
            return None, False
        file = events.file
        if file.path is None:
            file.path = _new_event_path(file.logdir)
        return file.path, events.restarted

    def log_trial_start(self, trial: Trial) -> None:
        events = self._events_for(trial)
        if events is not None and self.results_in_workers:
            events.restarted = False  # the worker starts the new session

    def log_trial_restore(self, trial: Trial) -> None:
        """As :meth:`log_trial_start` (the trial's file is kept across pauses).

        Args:
            trial: The trial that runs again.
        """
        self.log_trial_start(trial)

    def log_trial_result(self, iteration: int, trial: Trial, result: dict[str, Any]) -> None:
        events = self._trials.get(trial) or self._events_for(trial)
        if events is not None:
            events.write_result(result)
            self._dirty[events] = None

    def log_trial_save(self, trial: Trial) -> None:
        events = self._trials.get(trial)
        if events is not None:
            events.flush()
            self._dirty.pop(events, None)

    def log_trial_rollback(self, trial: Trial, to_iteration: int) -> None:
        """Mark ``trial`` so that its next result starts a new TensorBoard session.

        Event files cannot be cut in place: the next result of ``trial`` is preceded by a
        session start marker at its step, by which TensorBoard purges the older events of
        that step and later ones.

        Args:
            trial: The trial that reruns iterations.
            to_iteration: The ``training_iteration`` of the checkpoint it restarts from.
        """
        events = self._trials.get(trial) or self._events_for(trial)
        if events is not None:
            events.restarted = True

    def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
        events = self._trials.pop(trial, None)
        if events is None:
            return
        self._dirty.pop(events, None)
        try:
            if self.results_in_workers:
                events.add_metric_tags(trial.last_result)
            events.write_hparams(_trial_hparams(trial, trial.config), failed=failed)
        finally:
            events.close()

    def on_trial_recover(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.log_trial_save(trial)

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        dirty = self._dirty
        if dirty:
            pending = list(dirty)
            dirty.clear()
            _each(pending, _TrialEvents.flush)

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        self._dirty.clear()
        open_trials, self._trials = self._trials, {}
        _each(open_trials.values(), _TrialEvents.close)


class TBXLogger(Logger):
    """Legacy per-trial TensorBoard logger (Ray Tune 0.x/1.x; 0.6's ``TFLogger``).

    It writes what :class:`TBXLoggerCallback` writes; every result is flushed to the OS,
    the hyperparameters are written on :meth:`close`. Use it in ``loggers=[...,
    TBXLogger]``; :data:`~tunelab.logger.DEFAULT_LOGGERS` holds it when tensorboardX is
    installed.

    Args:
        config: The trial's config.
        logdir: The trial's directory (the event file goes there).
        trial: The trial, or None (its sampled parameters are the HParams when given).

    Raises:
        ExtraNotInstalledError: tensorboardX is not installed (an ``ImportError``).
    """

    def _init(self) -> None:
        _check_installed()
        owner = f"trial {self.trial}" if self.trial is not None else ""
        self._events = _TrialEvents(self.logdir, None, owner)

    def on_result(self, result: dict[str, Any]) -> None:
        """Write the scalars and histograms of ``result``.

        Args:
            result: The reported result.
        """
        self._events.write_result(result)
        self._events.flush()

    def flush(self) -> None:
        self._events.flush()

    def close(self) -> None:
        try:
            self._events.write_hparams(_trial_hparams(self.trial, self.config))
        finally:
            self._events.close()
