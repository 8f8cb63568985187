"""The hand-encoded TensorBoard events parse back, with tensorboardX's own message classes,
to exactly what tensorboardX builds (``tunelab.logger._tb_wire``)."""

from __future__ import annotations

import struct

import pytest

pytest.importorskip("tensorboardX")

from tensorboardX.proto.api_pb2 import Status
from tensorboardX.proto.event_pb2 import Event, SessionLog
from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData
from tensorboardX.record_writer import masked_crc32c as tbx_masked_crc32c
from tensorboardX.summary import hparams as tbx_hparams

from tunelab.logger import _tb_wire as wire


def test_scalar_events_hold_tags_values_and_steps() -> None:
    values = [("ray/tune/loss", 0.25), ("ray/tune/ünïcode", -3.0), ("ray/tune/" + "x" * 200, 1e40)]
    data = wire.summary_event(
        1.7e9 + 0.5, 123456789, b"".join(wire.scalar_value(t, v) for t, v in values)
    )
    event = Event.FromString(data)
    assert event.wall_time == 1.7e9 + 0.5 and event.step == 123456789
    assert [(v.tag, v.simple_value) for v in event.summary.value] == [
        ("ray/tune/loss", 0.25),
        ("ray/tune/ünïcode", -3.0),
        ("ray/tune/" + "x" * 200, float("inf")),  # beyond float32, as protobuf stores it
    ]
    assert Event.FromString(wire.summary_event(0.0, -2, b"")).step == -2
    assert Event.FromString(wire.summary_event(0.0, 127, b"")).step == 127
    assert Event.FromString(wire.summary_event(0.0, 128, b"")).step == 128


def test_file_version_and_session_start_events() -> None:
    first = Event.FromString(wire.file_version_event(12.5))
    assert first == Event(wall_time=12.5, file_version="brain.Event:2")
    start = Event.FromString(wire.session_start_event(3.0, 300))
    assert start == Event(wall_time=3.0, step=300, session_log=SessionLog(status=SessionLog.START))


def _plugin_view(event: Event) -> tuple[Event, HParamsPluginData]:
    """``event`` without its plugin content, and the content parsed (map entries compare
    as maps, whatever order they were serialized in)."""
    copy = Event()
    copy.CopyFrom(event)
    (value,) = copy.summary.value
    content = HParamsPluginData.FromString(value.metadata.plugin_data.content)
    value.metadata.plugin_data.content = b""
    return copy, content


@pytest.mark.parametrize("failed", [False, True])
def test_hparams_events_equal_tensorboardx(failed: bool) -> None:
    hparams = {"lr": 0.01, "layers": 3, "act": "relu", "deep": False, "name/nested": "x"}
    metrics = {"ray/tune/loss": 0.1, "ray/tune/acc": 0.9}
    ours = [
        _plugin_view(Event.FromString(e))
        for e in wire.hparams_events(hparams, metrics, failed=failed, wall_time=7.0)
    ]
    expected = [
        _plugin_view(Event(wall_time=7.0, summary=s)) for s in tbx_hparams(hparams, metrics)
    ]
    if failed:  # tensorboardX writes success; tunelab marks the sessions of failed trials
        expected[2][1].session_end_info.status = Status.Value("STATUS_FAILURE")
    assert ours == expected
    assert ours[1][1].session_start_info.hparams["deep"].HasField("bool_value")


def test_records_carry_tensorflows_masked_checksums() -> None:
    for data in (b"", b"x", bytes(range(256)) * 3):
        assert wire.masked_crc32c(data) == tbx_masked_crc32c(data)
        rec = wire.record(data)
        (length,) = struct.unpack("<Q", rec[:8])
        assert length == len(data) and rec[12 : 12 + length] == data
        assert struct.unpack("<I", rec[8:12])[0] == tbx_masked_crc32c(rec[:8])
        assert struct.unpack("<I", rec[-4:])[0] == tbx_masked_crc32c(data)


def test_the_crc_is_crc32c_s_own_loaded_without_its_package_init() -> None:
    import subprocess
    import sys

    import crc32c

    from tunelab.logger import _tb_wire

    for data in (b"", b"123456789", bytes(range(256)) * 3):
        assert _tb_wire._crc32c(data) == crc32c.crc32c(data)
    # importing the wire format does not import importlib.metadata (crc32c's __init__ does)
    code = (
        "import sys; import tunelab.logger._tb_wire as w; "
        "assert w._crc32c(b'123456789') == 0xE3069283; "
        "print('importlib.metadata' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
