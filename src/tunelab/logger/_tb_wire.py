"""The bytes of TensorBoard event files, encoded without protocol buffer objects.

An event file is a sequence of TFRecords (length, masked CRC-32C of the length, data,
masked CRC-32C of the data), each holding one serialized ``Event`` message. This module
writes the few messages the TensorBoard loggers need, field by field in the protocol
buffer wire format, so that no result pays for building message objects and the
loggers do not import tensorboardX and protobuf (about 0.2 s) unless a histogram is
written:

* ``Event {double wall_time = 1; int64 step = 2; string file_version = 3;
  Summary summary = 5; SessionLog session_log = 7}``
* ``Summary {repeated Value value = 1}``, ``Value {string tag = 1; float simple_value = 2;
  SummaryMetadata metadata = 9}``
* ``SummaryMetadata {PluginData plugin_data = 1}``, ``PluginData {string plugin_name = 1;
  bytes content = 2}``
* the HParams plugin's ``HParamsPluginData {Experiment experiment = 2; SessionStartInfo
  session_start_info = 3; SessionEndInfo session_end_info = 4}`` and their parts, as
  tensorboardX's ``summary.hparams`` builds them.

``tests/unit/test_tb_wire.py`` parses every encoding back with tensorboardX's message
classes and compares it with what tensorboardX itself produces. Pure functions; nothing
here touches files.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable, Mapping


def _load_crc32c() -> Callable[[bytes], int]:
    """The C function of the ``crc32c`` package (part of the ``tensorboard`` extra), loaded
    from its extension module without running the package's ``__init__``: that one reads
    the installed distributions' metadata for its ``__version__`` (``importlib.metadata``,
    15-40 ms, paid inside the first ``fit()`` of a process). Falls back to the package's
    normal import, then to tensorboardX's pure-Python CRC."""
    import importlib.machinery
    import importlib.util

    try:
        package = importlib.util.find_spec("crc32c")
        if package is not None and package.submodule_search_locations:
            finder = importlib.machinery.FileFinder(
                next(iter(package.submodule_search_locations)),
                (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
            )
            spec = finder.find_spec("crc32c._crc32c")
            if spec is not None and spec.loader is not None:
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                function: Callable[[bytes], int] = module.crc32c
                if function(b"123456789") == 0xE3069283:  # the CRC-32C check value
                    return function
    except Exception:  # a layout this does not know: the package's import below
        pass
    try:
        from crc32c import crc32c

        return crc32c
    except ImportError:  # pragma: no cover - tensorboardX's own fallback (pure Python)
        from tensorboardX.crc32c import crc32c as pure

        return pure  # type: ignore[no-any-return]


_crc32c = _load_crc32c()

__all__ = [
    "file_version_event",
    "hparams_events",
    "masked_crc32c",
    "record",
    "scalar_value",
    "session_start_event",
    "summary_event",
]

_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")

#: the data types of tensorboardX's HParamInfo (``api.proto``)
DATA_TYPE_STRING, DATA_TYPE_BOOL, DATA_TYPE_FLOAT64 = 1, 2, 3
#: ``Status`` of a session's end (``api.proto``)
STATUS_SUCCESS, STATUS_FAILURE = 1, 2
_SESSION_LOG_START = 1
_HPARAMS_PLUGIN = "hparams"


def masked_crc32c(data: bytes) -> int:
    """The CRC-32C of ``data`` masked as TFRecords store it."""
    x = _crc32c(data) & 0xFFFFFFFF
    return (((x >> 15) | (x << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(data: bytes) -> bytes:
    """One TFRecord holding ``data`` (a serialized ``Event``)."""
    header = _U64.pack(len(data))
    return header + _U32.pack(masked_crc32c(header)) + data + _U32.pack(masked_crc32c(data))


_SMALL_VARINTS = [bytes((n,)) for n in range(0x80)]


def varint(number: int) -> bytes:
    """``number`` as a protocol buffer varint (negative numbers as 64-bit two's complement)."""
    if 0 <= number < 0x80:
        return _SMALL_VARINTS[number]
    number &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while number > 0x7F:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (string, bytes or message) ``number`` holding ``payload``."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def _varint_field(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def _double_field(number: int, value: float) -> bytes:
    return varint(number << 3 | 1) + _F64.pack(value)


def _text(number: int, text: str) -> bytes:
    return field(number, text.encode("utf-8"))


_VALUE_PREFIXES: dict[str, bytes] = {}


def _float32(number: float) -> bytes:
    try:
        return _F32.pack(number)
    except OverflowError:  # beyond float32: what protobuf stores too
        return _F32.pack(math.copysign(math.inf, number))


def scalar_value(tag: str, number: float) -> bytes:
    """One ``Summary.value`` entry (field 1 of ``Summary``): ``tag`` and ``simple_value``."""
    prefix = _VALUE_PREFIXES.get(tag)
    if prefix is None:
        inner = _text(1, tag) + b"\x15"  # then the 4 bytes of simple_value (field 2, fixed32)
        prefix = b"\x0a" + varint(len(inner) + 4) + inner
        if len(_VALUE_PREFIXES) > 10_000:
            _VALUE_PREFIXES.clear()
        _VALUE_PREFIXES[tag] = prefix
    return prefix + _float32(number)


def summary_event(wall_time: float, step: int, summary: bytes) -> bytes:
    """An ``Event`` at ``wall_time`` and ``step`` holding the serialized ``Summary``
    ``summary`` (the concatenated :func:`scalar_value` entries, or other values)."""
    return b"\x09" + _F64.pack(wall_time) + b"\x10" + varint(step) + field(5, summary)


def file_version_event(wall_time: float) -> bytes:
    """The first event of every file: ``file_version = "brain.Event:2"``."""
    return _double_field(1, wall_time) + _text(3, "brain.Event:2")


def session_start_event(wall_time: float, step: int) -> bytes:
    """A ``SessionLog`` START at ``step``: TensorBoard drops the events at this step and
    later that came before it (the results of a run that is being redone)."""
    return (
        _double_field(1, wall_time)
        + _varint_field(2, step)
        + field(7, _varint_field(1, _SESSION_LOG_START))
    )


def _plugin_summary(tag: str, content: bytes) -> bytes:
    plugin_data = _text(1, _HPARAMS_PLUGIN) + field(2, content)
    metadata = field(1, plugin_data)
    return field(1, _text(1, tag) + field(9, metadata))


def _hparam_value(value: bool | str | float | int) -> tuple[bytes, int]:
    """``google.protobuf.Value`` of an hparam and its ``DataType``."""
    if isinstance(value, str):
        return _text(3, value), DATA_TYPE_STRING
    if isinstance(value, bool):
        return _varint_field(4, int(value)), DATA_TYPE_BOOL
    return _double_field(2, float(value)), DATA_TYPE_FLOAT64


def hparams_events(
    hparams: Mapping[str, bool | str | float | int],
    metric_tags: Iterable[str],
    *,
    failed: bool,
    wall_time: float,
) -> list[bytes]:
    """The three events of TensorBoard's HParams view for one trial: the experiment (the
    hparams' names and types, the metric tags), the session start (the hparams' values)
    and the session end (success or failure), as tensorboardX's ``hparams`` writes them.

    Args:
        hparams: Name to value (strings, booleans and numbers only).
        metric_tags: The tags of the metrics the view shows.
        failed: The session ends with ``STATUS_FAILURE`` instead of ``STATUS_SUCCESS``.
        wall_time: The events' ``wall_time``.

    Returns:
        Three serialized ``Event`` messages, in the order they are written.
    """
    entries = []
    types = []
    for name, value in hparams.items():
        encoded, data_type = _hparam_value(value)
        entries.append(field(1, _text(1, name) + field(2, encoded)))
        types.append((name, data_type))
    start = field(3, b"".join(entries))
    summaries = (
        _experiment_summary(tuple(types), tuple(metric_tags)),
        _plugin_summary("_hparams_/session_start_info", start),
        _SESSION_END_FAILURE if failed else _SESSION_END_SUCCESS,
    )
    head = _double_field(1, wall_time)
    return [head + field(5, summary) for summary in summaries]


def _experiment_summary(types: tuple[tuple[str, int], ...], metric_tags: tuple[str, ...]) -> bytes:
    """The ``_hparams_/experiment`` summary of hparams (name, DataType) ``types`` and
    ``metric_tags``: the same for most trials of an experiment, so encoded once each."""
    key = (types, metric_tags)
    summary = _EXPERIMENT_SUMMARIES.get(key)
    if summary is None:
        infos = [field(4, _text(1, name) + _varint_field(4, kind)) for name, kind in types]
        metrics = [field(5, field(1, _text(2, tag))) for tag in metric_tags]
        experiment = field(2, b"".join(infos) + b"".join(metrics))
        summary = _plugin_summary("_hparams_/experiment", experiment)
        if len(_EXPERIMENT_SUMMARIES) >= 256:
            _EXPERIMENT_SUMMARIES.clear()
        _EXPERIMENT_SUMMARIES[key] = summary
    return summary


_EXPERIMENT_SUMMARIES: dict[tuple[tuple[tuple[str, int], ...], tuple[str, ...]], bytes] = {}
_SESSION_END_SUCCESS = _plugin_summary(
    "_hparams_/session_end_info", field(4, _varint_field(1, STATUS_SUCCESS))
)
_SESSION_END_FAILURE = _plugin_summary(
    "_hparams_/session_end_info", field(4, _varint_field(1, STATUS_FAILURE))
)
