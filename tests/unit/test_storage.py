"""The storage helpers and the Syncer's mirroring logic, on fsspec's in-memory filesystem."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

fsspec = pytest.importorskip("fsspec")

from tunelab import _storage  # noqa: E402
from tunelab._errors import ExtraNotInstalledError  # noqa: E402
from tunelab._storage import (  # noqa: E402
    Syncer,
    download,
    is_uri,
    join_uri,
    local_path_for_uri,
    strip_file_scheme,
    uri_exists,
)


@pytest.fixture
def uri() -> str:
    """A fresh memory:// directory per test (the memory store is shared by the process)."""
    return f"memory://tunelab-test-{uuid.uuid4().hex}/exp"


def _memfs() -> Any:
    return fsspec.filesystem("memory")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _remote_text(uri: str, rel: str) -> str:
    with fsspec.open(f"{uri}/{rel}", "r") as fh:
        return str(fh.read())


def _remote_files(uri: str) -> set[str]:
    fs = _memfs()
    root = fs._strip_protocol(uri)
    return {p[len(root) + 1 :] for p in fs.find(root)}


def test_is_uri() -> None:
    assert is_uri("s3://bucket/x")
    assert is_uri("memory://x")
    assert is_uri("gs://b")
    assert not is_uri("file:///tmp/x")
    assert not is_uri("/tmp/x")
    assert not is_uri("relative/dir")
    assert not is_uri(Path("/tmp/x"))
    assert strip_file_scheme("file:///tmp/x") == "/tmp/x"
    assert strip_file_scheme("/tmp/x") == "/tmp/x"
    assert join_uri("s3://b/root/", "exp", "/trial/") == "s3://b/root/exp/trial"


def test_local_path_for_uri_is_distinct_and_local(tmp_path: Path) -> None:
    first = local_path_for_uri("s3://bucket/a_b", tmp_path)
    second = local_path_for_uri("s3://bucket/a/b", tmp_path)
    assert first != second
    assert first.startswith(str(tmp_path / ".staging") + os.sep)
    assert local_path_for_uri("s3://bucket/a_b/", tmp_path) == first
    assert "bucket" in os.path.basename(first)
    with pytest.raises(ValueError, match="uri must be a remote URI"):
        local_path_for_uri("/local/dir", tmp_path)
    with pytest.raises(ValueError, match="root must be a local directory"):
        local_path_for_uri("s3://bucket/x", "s3://other")


def test_get_filesystem_errors() -> None:
    with pytest.raises(ValueError, match="protocol 'nosuchproto'"):
        _storage.get_filesystem("nosuchproto://x/y")
    with pytest.raises(ValueError, match="scheme://"):
        _storage.get_filesystem("/just/a/path")


def test_missing_s3fs_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "s3fs", None)  # makes `import s3fs` raise ImportError
    with pytest.raises(ExtraNotInstalledError, match=r"tunelab\[s3\]"):
        _storage.get_filesystem("s3://bucket/x")
    with pytest.raises(ImportError, match=r"pip install \"tunelab\[s3\]\""):
        Syncer("/tmp", "s3://bucket/x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"period_s": 0}, "period_s must be a number of seconds > 0, got 0"),
        ({"retries": 0}, "retries must be an integer >= 1"),
        ({"backoff_s": -1.0}, "backoff_s must be a number of seconds >= 0, got -1.0"),
        ({"reupload_bytes_per_s": 0}, "reupload_bytes_per_s must be a number > 0, got 0"),
    ],
)
def test_syncer_validates_arguments(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Syncer(tmp_path, "memory://x/y", **kwargs)
    with pytest.raises(ValueError, match="uri must be a remote URI"):
        Syncer(tmp_path, str(tmp_path))


def test_sync_once_uploads_new_and_changed_files_only(tmp_path: Path, uri: str) -> None:
    _write(tmp_path / "experiment_state.json", "{}")
    _write(tmp_path / "trial_a" / "result.json", '{"i": 1}\n')
    _write(tmp_path / "trial_a" / "checkpoint_000001" / "model.bin", "w1")
    _write(tmp_path / "experiment_state.json.tmp-123", "partial")
    syncer = Syncer(tmp_path, uri)
    assert syncer.sync_once()
    assert _remote_files(uri) == {
        "experiment_state.json",
        "trial_a/result.json",
        "trial_a/checkpoint_000001/model.bin",
    }
    assert syncer.uploaded_files == 3

    assert syncer.sync_once()
    assert syncer.uploaded_files == 3  # nothing changed, nothing uploaded

    _write(tmp_path / "trial_a" / "result.json", '{"i": 1}\n{"i": 2}\n')
    assert syncer.sync_once()
    assert syncer.uploaded_files == 4
    assert _remote_text(uri, "trial_a/result.json") == '{"i": 1}\n{"i": 2}\n'


def test_trial_files_go_up_before_experiment_state(tmp_path: Path, uri: str) -> None:
    order: list[str] = []
    fs = _memfs()

    class Recording:
        def _strip_protocol(self, path: str) -> str:
            return str(fs._strip_protocol(path))

        def put_file(self, local: str, remote: str) -> None:
            order.append(remote.rsplit("/", 2)[-1])
            fs.put_file(local, remote)

    _write(tmp_path / "experiment_state.json", "{}")
    _write(tmp_path / "z_trial" / "checkpoint_000000" / "w", "1")
    Syncer(tmp_path, uri, filesystem=Recording()).sync_once()
    assert order == ["w", "experiment_state.json"]


def test_deleted_checkpoint_dirs_are_removed_remotely_other_files_kept(
    tmp_path: Path, uri: str
) -> None:
    _write(tmp_path / "t" / "checkpoint_000001" / "w", "1")
    _write(tmp_path / "t" / "checkpoint_000002" / "w", "2")
    _write(tmp_path / "t" / "result.json", "r")
    syncer = Syncer(tmp_path, uri)
    assert syncer.sync_once()
    import shutil

    shutil.rmtree(tmp_path / "t" / "checkpoint_000001")
    os.remove(tmp_path / "t" / "result.json")  # an ordinary file: never deleted remotely
    assert syncer.sync_once()
    assert _remote_files(uri) == {"t/checkpoint_000002/w", "t/result.json"}


def test_failed_uploads_are_retried_then_reported_once(
    tmp_path: Path, uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    fs = _memfs()
    sleeps: list[float] = []
    failing = {"on": True}
    calls: list[str] = []

    class Flaky:
        def _strip_protocol(self, path: str) -> str:
            return str(fs._strip_protocol(path))

        def put_file(self, local: str, remote: str) -> None:
            calls.append(remote)
            if failing["on"]:
                raise ConnectionError("endpoint unreachable")
            fs.put_file(local, remote)

    _write(tmp_path / "a" / "result.json", "a")
    _write(tmp_path / "b" / "result.json", "b")
    syncer = Syncer(
        tmp_path, uri, retries=3, backoff_s=0.5, sleep=sleeps.append, filesystem=Flaky()
    )
    with caplog.at_level("ERROR", logger="tunelab.storage"):
        assert not syncer.sync_once()
    # first file: 3 attempts with backoff 0.5, 1.0; the next failing file: one attempt
    assert len(calls) == 4
    assert sleeps == [0.5, 1.0]
    assert [f.local_path for f in syncer.errors] == [
        str(tmp_path / "a" / "result.json"),
        str(tmp_path / "b" / "result.json"),
    ]
    assert "ConnectionError: endpoint unreachable" in syncer.errors[0].error
    assert syncer.errors[0].attempts == 3
    assert len(caplog.records) == 2
    assert "local copy is kept" in caplog.records[0].getMessage()
    assert (tmp_path / "a" / "result.json").read_text() == "a"

    with caplog.at_level("ERROR", logger="tunelab.storage"):
        assert not syncer.sync_once()
    assert len(caplog.records) == 2  # no second error for the same files
    assert len(syncer.errors) == 2

    failing["on"] = False
    assert syncer.sync_once()
    assert _remote_files(uri) == {"a/result.json", "b/result.json"}
    assert syncer.last_success_time is not None


def test_background_thread_sync_now_and_stop(tmp_path: Path, uri: str) -> None:
    _write(tmp_path / "t" / "result.json", "1")
    syncer = Syncer(tmp_path, uri, period_s=30.0)
    syncer.start()
    try:
        assert syncer.running
        assert syncer.sync_now(timeout_s=30)
        assert _remote_text(uri, "t/result.json") == "1"
        _write(tmp_path / "t" / "result.json", "12")
        _write(tmp_path / "t" / "params.json", "{}")
    finally:
        assert syncer.stop(final_sync=True, timeout_s=30)
    assert not syncer.running
    assert _remote_text(uri, "t/result.json") == "12"
    assert _remote_text(uri, "t/params.json") == "{}"
    with pytest.raises(RuntimeError, match="stopped"):
        syncer.start()


def test_download_and_mark_synced(tmp_path: Path, uri: str) -> None:
    src = tmp_path / "src"
    _write(src / "experiment_state.json", "{}")
    _write(src / "tuner.pkl", "pkl")
    _write(src / "t" / "checkpoint_000003" / "w", "3")
    assert Syncer(src, uri).sync_once()

    assert uri_exists(uri, "tuner.pkl")
    assert uri_exists(uri, "experiment_state*.json")
    assert uri_exists(uri)
    assert not uri_exists(uri, "missing.txt")
    assert not uri_exists(uri, "nothing-*.json")

    dest = tmp_path / "dest"
    assert download(uri, dest) == str(dest)
    assert (dest / "t" / "checkpoint_000003" / "w").read_text() == "3"
    assert (dest / "tuner.pkl").read_text() == "pkl"
    with pytest.raises(FileNotFoundError, match="no files found"):
        download(uri + "-missing", tmp_path / "none")

    resumed = Syncer(dest, uri)
    resumed.mark_synced()
    assert resumed.sync_once()
    assert resumed.uploaded_files == 0  # what was downloaded is not uploaded again


def test_a_pass_gives_up_after_three_failing_files(tmp_path: Path, uri: str) -> None:
    calls: list[str] = []

    class Down:
        def _strip_protocol(self, path: str) -> str:
            return str(_memfs()._strip_protocol(path))

        def put_file(self, local: str, remote: str) -> None:
            calls.append(remote)
            raise OSError("connection refused")

    for name in "abcdef":
        _write(tmp_path / name / "result.json", name)
    syncer = Syncer(tmp_path, uri, retries=2, sleep=lambda s: None, filesystem=Down())
    assert not syncer.sync_once()
    assert len(calls) == 2 + 1 + 1
    assert len(syncer.errors) == 3
    assert (tmp_path / "f" / "result.json").read_text() == "f"


def test_periodic_passes_bound_the_reuploads_of_a_growing_file(tmp_path: Path, uri: str) -> None:
    now = [0.0]
    syncer = Syncer(tmp_path, uri, clock=lambda: now[0], reupload_bytes_per_s=1000)
    result = tmp_path / "trial_a" / "result.json"
    _write(result, "x" * 5000)  # 5 s of re-upload budget at 1000 B/s
    assert syncer.sync_once(full=False)
    assert syncer.uploaded_files == 1  # a new file goes up at once

    _write(result, "x" * 5100)
    now[0] = 2.0
    assert syncer.sync_once(full=False)
    assert syncer.uploaded_files == 1 and syncer.deferred_uploads == 1
    assert len(_remote_text(uri, "trial_a/result.json")) == 5000

    now[0] = 5.5  # its budget has passed: up it goes
    assert syncer.sync_once(full=False)
    assert len(_remote_text(uri, "trial_a/result.json")) == 5100

    # a new checkpoint takes the trial's changed files along in the same pass
    _write(result, "x" * 5200)
    _write(tmp_path / "trial_a" / "checkpoint_000002" / "w", "w")
    now[0] = 6.0
    assert syncer.sync_once(full=False)
    assert len(_remote_text(uri, "trial_a/result.json")) == 5200

    # a full pass (sync_now, the final sync) uploads everything
    _write(result, "x" * 5300)
    now[0] = 6.5
    assert syncer.sync_once()
    assert len(_remote_text(uri, "trial_a/result.json")) == 5300


def test_files_uploaded_together_land_under_their_own_names(tmp_path: Path, uri: str) -> None:
    names = [
        "trial-b/result.json",
        "trial_a/result.json",
        "trial_a/checkpoint_000010/w.bin",
        "trial_a/checkpoint_000002/w.bin",
        "trial_a/checkpoint_000002/sub/meta.json",
        "trial_a0/params.json",
        "Trial_Z/result.json",
    ]
    for name in names:
        _write(tmp_path / name, f"content of {name}")
    syncer = Syncer(tmp_path, uri)
    assert syncer.sync_once()
    assert _remote_files(uri) == set(names)
    for name in names:
        assert _remote_text(uri, name) == f"content of {name}"


def test_secrets_and_markers_stay_on_this_machine(tmp_path: Path, uri: str) -> None:
    from tunelab._storage import SERVER_ADDRESS_FILE, SERVER_TOKEN_FILE, STAGING_MARKER
    from tunelab.server._client import ADDRESS_FILE

    assert ADDRESS_FILE == SERVER_ADDRESS_FILE
    _write(tmp_path / "experiment_state.json", "{}")
    _write(tmp_path / SERVER_ADDRESS_FILE, "127.0.0.1:4321")
    _write(tmp_path / SERVER_TOKEN_FILE, "secret-token-secret-token")
    _write(tmp_path / STAGING_MARKER, "staging")
    Syncer(tmp_path, uri).sync_once()
    assert _remote_files(uri) == {"experiment_state.json"}


def test_atomic_writes_replace_a_planted_symlink_and_leave_its_target_alone(
    tmp_path: Path,
) -> None:
    from tunelab._persistence.experiment_state import write_bytes_atomic

    target = tmp_path / "victim"
    target.write_text("precious")
    link = tmp_path / "state.json"
    link.symlink_to(target)
    write_bytes_atomic(str(link), b"{}")
    assert target.read_text() == "precious"
    assert not link.is_symlink() and link.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "victim"]
