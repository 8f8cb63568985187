"""tunelab.utils.UtilMonitor (config "log_sys_usage") and tunelab.utils.warn_if_slow."""

from __future__ import annotations

import logging
import os
import stat
import time
from pathlib import Path

import pytest

from tunelab.trainable._progress import IterationState
from tunelab.utils import UtilMonitor, warn_if_slow
from tunelab.utils._monitor import trial_sys_usage


def wait_for_samples(monitor: UtilMonitor, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with monitor.lock:
            if monitor.values.get("cpu_util_percent"):
                return
        time.sleep(0.01)
    raise AssertionError("the monitor took no sample")


def test_monitor_reports_means_of_cpu_and_ram_and_forgets_them() -> None:
    monitor = UtilMonitor(delay=0.01)
    try:
        wait_for_samples(monitor)
        time.sleep(0.05)
        perf = monitor.get_data()["perf"]
        assert 0 <= perf["cpu_util_percent"] <= 100 and 0 < perf["ram_util_percent"] <= 100
    finally:
        monitor.stop()
        monitor.join(2)
    assert not monitor.is_alive()
    assert monitor.get_data() == {}


def test_get_data_averages_the_samples_since_the_last_call() -> None:
    monitor = UtilMonitor(start=False)
    monitor.values["cpu_util_percent"].extend([10.0, 30.0])
    monitor.values["ram_util_percent"].append(50.0)
    monitor.stopped = False  # as if running
    means = {"cpu_util_percent": 20.0, "ram_util_percent": 50.0}
    assert monitor.get_data() == {"perf": means}
    assert monitor.get_data() == {"perf": means}  # no new sample: the last means again
    monitor.values["cpu_util_percent"].append(90.0)
    assert monitor.get_data() == {"perf": {"cpu_util_percent": 90.0}}  # only what was sampled


def test_unstarted_and_stopped_monitors_report_nothing_and_stop_at_once() -> None:
    idle = UtilMonitor(start=False)
    assert idle.get_data() == {} and not idle.is_alive()
    slow = UtilMonitor(delay=30)
    wait_for_samples(slow)
    started = time.monotonic()
    slow.stop()
    slow.join(5)
    assert not slow.is_alive() and time.monotonic() - started < 2  # no 30 s sleep to wait out
    with pytest.raises(ValueError, match=r"`delay` must be a number of seconds > 0, got 0"):
        UtilMonitor(delay=0)


def fake_nvidia_smi(directory: Path, body: str) -> None:
    script = directory / "nvidia-smi"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_gpus_are_sampled_through_nvidia_smi_as_fractions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_nvidia_smi(
        tmp_path, "printf '0, 50, 2048, 8192\\n1, [N/A], [N/A], 8192\\n2, 100, 8192, 8192\\n'"
    )
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monitor = UtilMonitor(start=False)
    assert monitor._read_gpus() == [("0", 0.5, 0.25), ("2", 1.0, 1.0)]
    monitor._read_utilization()
    monitor.stopped = False  # as if running: get_data reads what was sampled
    perf = monitor.get_data()["perf"]
    assert perf["gpu_util_percent0"] == 0.5 and perf["vram_util_percent2"] == 1.0
    assert "gpu_util_percent1" not in perf


def test_a_failing_nvidia_smi_is_not_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_nvidia_smi(tmp_path, f"echo called >> {tmp_path / 'calls'}; exit 9")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monitor = UtilMonitor(start=False)
    assert monitor._read_gpus() == [] and monitor._read_gpus() == []
    assert (tmp_path / "calls").read_text().count("called") == 1


def test_trial_sys_usage_adds_perf_to_results_filled_in_its_thread() -> None:
    state = IterationState("t1")
    with trial_sys_usage({"log_sys_usage": True}) as monitor:
        assert isinstance(monitor, UtilMonitor)
        wait_for_samples(monitor)
        result = state.fill({"loss": 1.0})
        assert "cpu_util_percent" in result["perf"] and result["loss"] == 1.0
    assert not monitor.is_alive()
    assert "perf" not in state.fill({"loss": 0.5})
    with trial_sys_usage({"log_sys_usage": False}) as nothing:
        assert nothing is None and "perf" not in state.fill({})
    with trial_sys_usage(None) as nothing:
        assert nothing is None


def test_warn_if_slow_logs_a_slow_block_only(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tunelab"):
        with warn_if_slow("fast step", threshold=5) as fast:
            pass
        with warn_if_slow("slow step", threshold=0.01) as slow:
            time.sleep(0.05)
        with warn_if_slow("quiet", threshold=0.01, disable=True) as quiet:
            time.sleep(0.05)
        with warn_if_slow("custom", threshold=0.01, message="{name} needed {duration:.1f}s"):
            time.sleep(0.05)
    assert not fast.too_slow and slow.too_slow and not quiet.too_slow
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("The `slow step` operation took 0.")
    assert messages[0].endswith("s, which may be a performance bottleneck.")
    assert messages[1].startswith("custom needed 0.") and messages[1].endswith("s")


def test_warn_if_slow_threshold_defaults_to_the_setting(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("TUNELAB_WARN_THRESHOLD_S", raising=False)
    monkeypatch.delenv("TUNE_WARN_THRESHOLD_S", raising=False)
    assert warn_if_slow("x").threshold == 0.5
    assert warn_if_slow("x", threshold=0).threshold == 0.5  # Ray: 0 means the default
    monkeypatch.setenv("TUNE_WARN_THRESHOLD_S", "0.01")
    assert warn_if_slow("x").threshold == 0.01
    monkeypatch.setenv("TUNELAB_WARN_THRESHOLD_S", "0")  # off; tunelab's name wins
    with caplog.at_level(logging.WARNING, logger="tunelab"), warn_if_slow("off") as off:
        time.sleep(0.02)
    assert not off.too_slow and not caplog.records
    with pytest.raises(ValueError, match=r"`threshold` must be .* got -1"):
        warn_if_slow("x", threshold=-1)
