from __future__ import annotations

import datetime
import os
import pickle
import shutil
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import tunelab.utils as utils_pkg
from tunelab.utils import (
    PinnedObjectRef,
    _gpu,
    _serialization,
    date_str,
    deep_update,
    diagnose_serialization,
    flatten_dict,
    get_pinned_object,
    merge_dicts,
    pin_in_object_store,
    unflatten_dict,
    unflattened_lookup,
    wait_for_gpu,
)

_GLOBAL_LOCK = threading.Lock()


def test_public_names_are_pinned() -> None:
    assert sorted(utils_pkg.__all__) == [
        "PinnedObjectRef",
        "UtilMonitor",
        "date_str",
        "deep_update",
        "diagnose_serialization",
        "flatten_dict",
        "get_pinned_object",
        "merge_dicts",
        "pin_in_object_store",
        "unflatten_dict",
        "unflattened_lookup",
        "validate_save_restore",
        "wait_for_gpu",
        "warn_if_slow",
    ]


# -- dict helpers ----------------------------------------------------------------------------


def test_flatten_and_unflatten_round_trip() -> None:
    nested = {"a": 1, "b": {"c": 2, "d": {"e": [3, 4]}}, "f": "x"}
    flat = flatten_dict(nested)
    assert flat == {"a": 1, "b/c": 2, "b/d/e": [3, 4], "f": "x"}
    assert list(flat) == ["a", "b/c", "b/d/e", "f"]
    assert unflatten_dict(flat) == nested
    assert flatten_dict(nested, delimiter=".") == {"a": 1, "b.c": 2, "b.d.e": [3, 4], "f": "x"}


def test_flatten_drops_empty_nested_dicts_and_keeps_input() -> None:
    nested: dict[str, Any] = {"a": {}, "b": {"c": 1}}
    assert flatten_dict(nested) == {"b/c": 1}
    assert nested == {"a": {}, "b": {"c": 1}}


def test_flatten_prevent_delimiter() -> None:
    assert flatten_dict({"a/b": 1}) == {"a/b": 1}
    with pytest.raises(ValueError, match="'a/b'"):
        flatten_dict({"a/b": 1}, prevent_delimiter=True)
    with pytest.raises(ValueError, match="'c/d'"):
        flatten_dict({"x": {"c/d": 1}}, prevent_delimiter=True)


def test_flatten_validates_arguments() -> None:
    with pytest.raises(TypeError, match="dt"):
        flatten_dict([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delimiter"):
        flatten_dict({}, delimiter="")


def test_unflatten_conflicting_keys() -> None:
    with pytest.raises(ValueError, match="'a/b'"):
        unflatten_dict({"a": 1, "a/b": 2})
    with pytest.raises(ValueError, match="'a'"):
        unflatten_dict({"a/b": 2, "a": 1})
    assert unflatten_dict({"a": {"x": 1}, "a/y": 2}) == {"a": {"x": 1, "y": 2}}


def test_unflattened_lookup() -> None:
    data = {"info": {"reward": 3, "hist": [10, 20]}, "flat/key": 5}
    assert unflattened_lookup("info/reward", data) == 3
    assert unflattened_lookup("info/hist/1", data) == 20
    assert unflattened_lookup("flat/key", data) == 5
    assert unflattened_lookup("info.reward", data, delimiter=".") == 3
    assert unflattened_lookup("info/missing", data, default=None) is None
    assert unflattened_lookup("info/hist/9", data, default=-1) == -1
    with pytest.raises(KeyError, match="info/missing"):
        unflattened_lookup("info/missing", data)


def test_deep_update_rejects_unknown_keys_by_default() -> None:
    original = {"a": 1, "b": {"c": 2}}
    with pytest.raises(ValueError, match="'z'"):
        deep_update(original, {"z": 1})
    with pytest.raises(ValueError, match="'d'"):
        deep_update(original, {"b": {"d": 3}})
    result = deep_update(original, {"b": {"d": 3}, "z": 0}, new_keys_allowed=True)
    assert result is original
    assert original == {"a": 1, "b": {"c": 2, "d": 3}, "z": 0}


def test_deep_update_subkey_and_override_lists() -> None:
    original = {"opt": {"type": "sgd", "lr": 0.1}, "env": {"x": 1}, "whole": {"keep": 1}}
    deep_update(
        original,
        {"opt": {"type": "adam", "beta": 0.9}, "env": {"y": 2}, "whole": {"new": 2}},
        allow_new_subkey_list=["env"],
        override_all_if_type_changes=["opt"],
        override_all_key_list=["whole"],
    )
    assert original == {
        "opt": {"type": "adam", "beta": 0.9},
        "env": {"x": 1, "y": 2},
        "whole": {"new": 2},
    }


def test_merge_dicts_is_deep_and_leaves_inputs_alone() -> None:
    d1 = {"a": {"b": 1, "c": [1]}, "x": 0}
    d2 = {"a": {"b": 2, "new": 3}, "y": 1}
    merged = merge_dicts(d1, d2)
    assert merged == {"a": {"b": 2, "c": [1], "new": 3}, "x": 0, "y": 1}
    merged["a"]["c"].append(2)
    assert d1 == {"a": {"b": 1, "c": [1]}, "x": 0}


def test_date_str_format() -> None:
    value = date_str()
    parsed = datetime.datetime.strptime(value, "%Y-%m-%d_%H-%M-%S")
    assert abs((datetime.datetime.now() - parsed).total_seconds()) < 5


# -- diagnose_serialization --------------------------------------------------------------------


def test_diagnose_serialization_success(capsys: pytest.CaptureFixture[str]) -> None:
    factor = 3

    def train(config: dict[str, Any]) -> None:
        print(config["x"] * factor)

    assert diagnose_serialization(train) is True
    assert "nothing to fix" in capsys.readouterr().out


def test_diagnose_serialization_names_closure_variables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lock = threading.Lock()
    fine = [1, 2]

    def train(config: dict[str, Any]) -> None:
        with lock:
            print(fine)

    assert diagnose_serialization(train) == {"lock"}
    out = capsys.readouterr().out
    assert "'lock' (closure variable)" in out
    assert "'fine'" not in out


def test_diagnose_serialization_follows_globals_and_helpers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def helper() -> None:
        with _GLOBAL_LOCK:
            pass

    def train(config: dict[str, Any]) -> None:
        helper()

    assert diagnose_serialization(train) == {"helper"}
    out = capsys.readouterr().out
    assert "'helper' (closure variable)" in out
    assert "'_GLOBAL_LOCK' (global variable)" in out


def test_diagnose_serialization_checks_default_arguments() -> None:
    def train(config: dict[str, Any], lock: Any = _GLOBAL_LOCK) -> None:
        pass

    assert diagnose_serialization(train) == {"lock"}


@pytest.mark.parametrize("bad", [object(), len, type("T", (), {})])
def test_diagnose_serialization_only_takes_functions(bad: Any) -> None:
    with pytest.raises(TypeError, match="function trainable"):
        diagnose_serialization(bad)


# -- pin_in_object_store -----------------------------------------------------------------------


class CountingPayload:
    pickled = 0
    built = 0

    def __init__(self, value: int) -> None:
        CountingPayload.built += 1
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        CountingPayload.pickled += 1
        return (CountingPayload, (self.value,))


def test_pinned_object_is_pickled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CountingPayload, "pickled", 0)
    obj = CountingPayload(7)
    ref = pin_in_object_store(obj)
    assert CountingPayload.pickled == 1
    copies = [pickle.loads(pickle.dumps(ref)) for _ in range(3)]
    assert CountingPayload.pickled == 1
    assert all(copy == ref for copy in copies)
    # In the pinning process the original object comes back.
    assert get_pinned_object(copies[0]) is obj


def test_pinned_object_is_unpickled_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    ref = pin_in_object_store(CountingPayload(5))
    # Simulate a fresh worker process: its registry does not know the id yet.
    monkeypatch.setattr(_serialization, "_pinned", {})
    monkeypatch.setattr(CountingPayload, "built", 0)
    shipped = pickle.loads(pickle.dumps(ref))
    first = get_pinned_object(shipped)
    second = get_pinned_object(pickle.loads(pickle.dumps(ref)))
    assert first is second
    assert first.value == 5
    assert CountingPayload.built == 1


def test_pinned_object_ref_repr_and_type_check() -> None:
    ref = pin_in_object_store({"big": list(range(10))})
    assert isinstance(ref, PinnedObjectRef)
    assert repr(ref).startswith(f"PinnedObjectRef(id={ref.id!r}, nbytes=")
    with pytest.raises(TypeError, match="PinnedObjectRef"):
        get_pinned_object(ref.id)  # type: ignore[arg-type]


# -- wait_for_gpu ------------------------------------------------------------------------------


class FakeSmi:
    """Answers _query_gpus with a scripted sequence of memory readings for two GPUs."""

    def __init__(self, used_gpu1: list[float]) -> None:
        self.used_gpu1 = list(used_gpu1)
        self.calls = 0

    def __call__(self) -> list[Any]:
        used = self.used_gpu1[min(self.calls, len(self.used_gpu1) - 1)]
        self.calls += 1
        return [
            _gpu._GpuMemory("0", "GPU-aaaa", 50000.0, 80000.0),
            _gpu._GpuMemory("1", "GPU-bbbb", used, 80000.0),
        ]


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(time, "sleep", recorded.append)
    return recorded


def test_wait_for_gpu_polls_until_memory_is_free(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    fake = FakeSmi([40000, 20000, 100])
    monkeypatch.setattr(_gpu, "_query_gpus", fake)
    assert wait_for_gpu(1, delay_s=2) is True
    assert fake.calls == 3
    assert sleeps == [2, 2]


def test_wait_for_gpu_defaults_to_first_visible_device(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    monkeypatch.setattr(_gpu, "_query_gpus", FakeSmi([0]))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,0")
    assert wait_for_gpu(retry=1) is True  # GPU 0 is busy, GPU 1 is free
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-aaaa")
    with pytest.raises(RuntimeError, match="not freed"):
        wait_for_gpu(retry=2, delay_s=0)
    assert sleeps == [0]


def test_wait_for_gpu_accepts_uuid_and_target(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    monkeypatch.setattr(_gpu, "_query_gpus", FakeSmi([0]))
    assert wait_for_gpu("GPU-aaaa", target_util=0.7, retry=1) is True
    with pytest.raises(RuntimeError, match="'7' not found"):
        wait_for_gpu(7, retry=1)


def test_wait_for_gpu_gives_up_after_retries(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    fake = FakeSmi([40000])
    monkeypatch.setattr(_gpu, "_query_gpus", fake)
    with pytest.raises(RuntimeError, match=r"50\.0%"):
        wait_for_gpu(1, retry=4, delay_s=1)
    assert fake.calls == 4
    assert sleeps == [1, 1, 1]


def test_wait_for_gpu_empty_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(RuntimeError, match="no GPU is assigned"):
        wait_for_gpu()


def test_wait_for_gpu_without_nvidia_smi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with pytest.raises(RuntimeError, match="nvidia-smi command was not found"):
        wait_for_gpu(retry=1)


def _fake_nvidia_smi(directory: Path, body: str) -> None:
    script = directory / "nvidia-smi"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


@pytest.mark.skipif(os.name != "posix", reason="uses a shell script as nvidia-smi")
def test_query_parses_nvidia_smi_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_nvidia_smi(
        tmp_path, "echo '0, GPU-aaaa, 100, 1000'\necho '1, GPU-bbbb, 999, 1000'\necho 'junk'"
    )
    monkeypatch.setenv("PATH", str(tmp_path))
    assert _gpu._query_gpus() == [
        ("0", "GPU-aaaa", 100.0, 1000.0),
        ("1", "GPU-bbbb", 999.0, 1000.0),
    ]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert wait_for_gpu(target_util=0.1, retry=1) is True
    with pytest.raises(RuntimeError, match="not freed"):
        wait_for_gpu("GPU-bbbb", retry=1)


@pytest.mark.skipif(os.name != "posix", reason="uses a shell script as nvidia-smi")
def test_query_reports_nvidia_smi_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_nvidia_smi(tmp_path, "echo 'NVIDIA-SMI has failed' >&2\nexit 9")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match=r"exit code 9.*NVIDIA-SMI has failed"):
        wait_for_gpu(0, retry=1)


def test_wait_for_gpu_deprecated_memory_limit(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    monkeypatch.setattr(_gpu, "_query_gpus", FakeSmi([0]))
    with pytest.warns(DeprecationWarning, match="target_util"):
        assert wait_for_gpu(0, gpu_memory_limit=0.7, retry=1) is True


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"target_util": 2}, ValueError, "target_util"),
        ({"target_util": "0.1"}, TypeError, "target_util"),
        ({"retry": 0}, ValueError, "retry"),
        ({"delay_s": -1}, ValueError, "delay_s"),
        ({"gpu_id": 1.5}, TypeError, "gpu_id"),
    ],
)
def test_wait_for_gpu_validates(kwargs: dict[str, Any], error: type[Exception], name: str) -> None:
    with pytest.raises(error, match=name):
        wait_for_gpu(**kwargs)


@pytest.mark.skipif(shutil.which("nvidia-smi") is None, reason="needs an NVIDIA GPU")
def test_wait_for_gpu_on_a_real_gpu() -> None:
    assert wait_for_gpu(0, target_util=1.0, retry=1) is True
    assert len(_gpu._query_gpus()) >= 1
