"""TensorBoard event files: ``TBXLoggerCallback`` and the legacy ``TBXLogger``.

Each trial gets ``events.out.tfevents.<time>.<host>`` in its directory, readable by
TensorBoard: one scalar per numeric result key under the tag ``ray/tune/<flat key>`` (the
tags Ray Tune writes, so existing dashboards keep working), a histogram per non-empty list
of numbers, and, when the trial ends, its hyperparameters and final metrics for
TensorBoard's HParams view.

Events are written synchronously by this module (tensorboardX's protocol buffers and
record checksum, none of its writer threads): each result costs one buffered record, the
files are flushed to the OS at the end of each controller step (like ``result.json``), and
at most a bounded number of files is open at once. tensorboardX is imported when the first
event is written, never at ``import tunelab``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import numbers
import os
import socket
import struct
import sys
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tunelab._errors import require, writing
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


class _Protos:
    """The tensorboardX pieces this module uses, imported once on first use."""

    _loaded: _Protos | None = None

    def __init__(self) -> None:
        with _without_optional_libraries():
            require("tensorboardX", extra="tensorboard", feature=_FEATURE)
            from tensorboardX.proto.api_pb2 import Status
            from tensorboardX.proto.event_pb2 import Event, SessionLog
            from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData, SessionEndInfo
            from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
            from tensorboardX.record_writer import masked_crc32c
            from tensorboardX.summary import histogram, hparams

        self.Event = Event
        self.SessionLog = SessionLog
        self.Summary = Summary
        self.SummaryMetadata = SummaryMetadata
        self.HParamsPluginData = HParamsPluginData
        self.SessionEndInfo = SessionEndInfo
        self.Status = Status
        self.masked_crc32c = masked_crc32c
        self.hparams = hparams
        self.histogram = histogram

    @classmethod
    def get(cls) -> _Protos:
        if cls._loaded is None:
            cls._loaded = cls()
        return cls._loaded


def _is_scalar(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not (isinstance(value, float) and math.isnan(value))


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
        name = f"{TAG_PREFIX}/{key}"
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


def _new_event_path(logdir: str) -> str:
    base = os.path.join(logdir, f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}")
    path, n = base, 0
    while os.path.exists(path):
        n += 1
        path = f"{base}.{n}"
    return path


class _EventFile(_AppendFile):
    """One TensorBoard event file: records buffered in memory, appended on :meth:`flush`.

    The file is created on the first flush (a new name, never an existing file); handles
    and failed writes behave as in :class:`_AppendFile`.
    """

    __slots__ = ("logdir", "path", "records")

    def __init__(self, logdir: str, open_files: _OpenFiles | None, what: str = "") -> None:
        super().__init__(open_files, what or f"the TensorBoard events of the trial in {logdir}")
        self.logdir = logdir
        self.path: str | None = None
        self.records: list[bytes] = []

    def add(self, event: Any) -> None:
        """Append an ``Event`` protocol buffer."""
        self.add_bytes(event.SerializeToString())

    def add_bytes(self, data: bytes) -> None:
        """Append a serialized ``Event``."""
        self.records.append(_record_bytes(data))
        if len(self.records) >= _MAX_BUFFERED_RECORDS:
            self.flush()

    def flush(self) -> None:
        if not self.records:
            return
        if self.broken:
            self.records.clear()
            return
        if self._fh is None and self.path is None:
            with writing(self.what, self.logdir):
                os.makedirs(self.logdir, exist_ok=True)
            self.path = _new_event_path(self.logdir)
            first = _Protos.get().Event(wall_time=time.time(), file_version="brain.Event:2")
            self.records.insert(0, _record_bytes(first.SerializeToString()))
        data = b"".join(self.records)
        self.records.clear()
        assert self.path is not None
        self._append(self.path, data)


def _record_bytes(data: bytes) -> bytes:
    """One TFRecord: length, its masked CRC-32C, the data, its masked CRC-32C."""
    crc = _Protos.get().masked_crc32c
    header = _U64.pack(len(data))
    return header + _U32.pack(crc(header)) + data + _U32.pack(crc(data))


# -- the wire format of scalar events, written directly (the per-result path) --------------
# Event {double wall_time = 1; int64 step = 2; Summary summary = 5}; Summary {repeated Value
# value = 1}; Value {string tag = 1; float simple_value = 2}. Encoding these by hand costs a
# fraction of building protocol buffer objects; histograms and hparams use tensorboardX.
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")
_VALUE_PREFIXES: dict[str, bytes] = {}


def _varint(number: int) -> bytes:
    number &= 0xFFFFFFFFFFFFFFFF  # int64 two's complement for negative numbers
    out = bytearray()
    while number > 0x7F:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _length_delimited(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _scalar_value(tag: str, number: float) -> bytes:
    """``Summary.value`` entry (field 1 of Summary) holding ``tag`` and ``simple_value``."""
    prefix = _VALUE_PREFIXES.get(tag)
    if prefix is None:
        encoded = tag.encode("utf-8")
        inner = _length_delimited(1, encoded) + b"\x15"  # then 4 bytes of simple_value
        prefix = b"\x0a" + _varint(len(inner) + 4) + inner
        if len(_VALUE_PREFIXES) > 10_000:
            _VALUE_PREFIXES.clear()
        _VALUE_PREFIXES[tag] = prefix
    try:
        packed = _F32.pack(number)
    except OverflowError:  # beyond float32: what protobuf stores too
        packed = _F32.pack(math.copysign(math.inf, number))
    return prefix + packed


def _summary_event(wall_time: float, step: int, summary: bytes) -> bytes:
    return b"\x09" + _F64.pack(wall_time) + b"\x10" + _varint(step) + _length_delimited(5, summary)


class _TrialEvents:
    """What one trial writes: its result events, then its hparams at the end."""

    __slots__ = ("_bad_tags", "file", "last_scalars", "restarted")

    def __init__(self, logdir: str, open_files: _OpenFiles | None, owner: str = "") -> None:
        what = f"the TensorBoard events of {owner}" if owner else ""
        self.file = _EventFile(logdir, open_files, what)
        self.last_scalars: dict[str, float] = {}
        self._bad_tags: set[str] = set()
        #: the trial reruns from a checkpoint: the next result's step starts a new session
        self.restarted = False

    def write_result(self, result: Mapping[str, Any]) -> None:
        step = result.get("timesteps_total") or result.get("training_iteration") or 0
        if not _is_scalar(step) or not math.isfinite(step):
            step = 0
        wall_time = result.get("timestamp")
        if not isinstance(wall_time, (int, float)) or isinstance(wall_time, bool):
            wall_time = time.time()
        if self.restarted:
            # TensorBoard drops the events at this step and later that came before this
            # marker (the results of the run that is being redone)
            self.restarted = False
            protos = _Protos.get()
            self.file.add(
                protos.Event(
                    wall_time=float(wall_time),
                    step=int(step),
                    session_log=protos.SessionLog(status=protos.SessionLog.START),
                )
            )
        values: list[bytes] = []
        scalars = self.last_scalars
        for tag, value in result_tags(result).items():
            if _is_scalar(value):
                number = float(value)
                scalars[tag] = number
                values.append(_scalar_value(tag, number))
            elif _is_sequence(value) and tag not in self._bad_tags:
                values.extend(
                    _length_delimited(1, v.SerializeToString()) for v in self._histogram(tag, value)
                )
        if values:
            self.file.add_bytes(_summary_event(float(wall_time), int(step), b"".join(values)))

    def _histogram(self, tag: str, value: Any) -> list[Any]:
        import numpy as np

        try:
            array = np.asarray(value, dtype=float).ravel()
            array = array[np.isfinite(array)]
            if not array.size:
                return []
            return list(_Protos.get().histogram(tag, array, "auto").value)
        except (TypeError, ValueError) as exc:
            self._bad_tags.add(tag)
            _log.warning("Not logging %s to TensorBoard: not a list of numbers (%s)", tag, exc)
            return []

    def write_hparams(self, params: Mapping[str, Any], failed: bool = False) -> None:
        protos = _Protos.get()
        hparams = hparams_of(params)
        if not hparams:
            return
        experiment, start, end = protos.hparams(hparams, dict(self.last_scalars))
        if failed:
            end = _session_end(protos, failed=True)
        now = time.time()
        for summary in (experiment, start, end):
            self.file.add(protos.Event(wall_time=now, summary=summary))

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _session_end(protos: _Protos, *, failed: bool) -> Any:
    status = protos.Status.Value("STATUS_FAILURE" if failed else "STATUS_SUCCESS")
    content = protos.HParamsPluginData(
        session_end_info=protos.SessionEndInfo(status=status), version=0
    )
    metadata = protos.SummaryMetadata(
        plugin_data=protos.SummaryMetadata.PluginData(
            plugin_name="hparams", content=content.SerializeToString()
        )
    )
    return protos.Summary(
        value=[protos.Summary.Value(tag="_hparams_/session_end_info", metadata=metadata)]
    )


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

    def __init__(self) -> None:
        _check_installed()
        self._trials: dict[Trial, _TrialEvents] = {}
        self._dirty: dict[_TrialEvents, None] = {}
        self._files = _OpenFiles()

    def setup(
        self,
        stop: Any = None,
        num_samples: int | None = None,
        total_num_samples: int | None = None,
        **info: Any,
    ) -> None:
        """Import tensorboardX's pieces now, before the first trial starts: on the first
        result the import held up the experiment loop (and REST requests waiting for it).

        Args:
            stop: See :meth:`tunelab.Callback.setup`.
            num_samples: See :meth:`tunelab.Callback.setup`.
            total_num_samples: See :meth:`tunelab.Callback.setup`.
            **info: See :meth:`tunelab.Callback.setup`.
        """
        _Protos.get()
        super().setup(
            stop=stop, num_samples=num_samples, total_num_samples=total_num_samples, **info
        )

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

    def log_trial_start(self, trial: Trial) -> None:
        self._events_for(trial)

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
