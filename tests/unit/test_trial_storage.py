"""Where a worker writes a trial's checkpoints (execution/_trial_storage.py), on memory://."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

pytest.importorskip("fsspec")

from tunelab import TuneError
from tunelab._storage import STAGING_MARKER, upload, uri_exists
from tunelab.execution import _trial_storage
from tunelab.execution._protocol import RemoteStorage, TrialTask
from tunelab.execution._trial_storage import TrialStorage


@pytest.fixture(autouse=True)
def _worker_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's local directories go under this test's tmp dir."""
    (tmp_path / "worker_tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "worker_tmp"))


def _task(staging: Path, token: str = "t0ken", upload: str = "auto") -> TrialTask:
    uri = f"memory://tl-{uuid.uuid4().hex[:8]}/exp"
    return TrialTask(
        trial_id="t1",
        trial_dir=str(staging / "trial_1"),
        remote=RemoteStorage(experiment_dir=str(staging), uri=uri, token=token, upload=upload),
    )


def test_a_worker_that_sees_the_staging_dir_writes_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNELAB_CHECKPOINT_UPLOAD", "direct")  # the worker's: not read
    (tmp_path / STAGING_MARKER).write_text("t0ken")
    storage = TrialStorage.for_task(_task(tmp_path))
    assert not storage.direct and storage.trial_dir == str(tmp_path / "trial_1")
    assert storage.publish("/some/checkpoint_000001") == "/some/checkpoint_000001"
    # another token (another run's staging dir at the same path): not ours
    assert TrialStorage.for_task(_task(tmp_path, token="other")).direct
    assert not TrialStorage.for_task(TrialTask(trial_id="t1", trial_dir="/x")).direct


def test_direct_mode_uploads_fetches_and_maps_unseen_staging_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / STAGING_MARKER).write_text("t0ken")  # seen, but direct is forced
    task = _task(tmp_path, upload="direct")
    assert task.remote is not None
    uri = task.remote.uri
    storage = TrialStorage.for_task(task)
    assert storage.direct and storage.remote_dir == f"{uri}/trial_1"
    assert storage.trial_dir.startswith(str(tmp_path / "worker_tmp"))  # the worker's own

    local = Path(storage.trial_dir) / "checkpoint_000002"
    local.mkdir(parents=True)
    (local / "w.txt").write_text("weights")
    announced = storage.publish(str(local))
    assert announced == f"{uri}/trial_1/checkpoint_000002"
    assert uri_exists(announced, "w.txt") and not local.exists()

    fetched = storage.fetch(announced)
    assert fetched is not None and Path(fetched, "w.txt").read_text() == "weights"
    # a checkpoint the syncer mirrored from the staging dir this machine does not see
    upload(str(Path(fetched)), f"{uri}/trial_0/checkpoint_000001")
    mapped = storage.fetch(str(tmp_path / "trial_0" / "checkpoint_000001"))
    assert mapped is not None and Path(mapped, "w.txt").read_text() == "weights"
    storage.cleanup()
    assert not os.path.exists(fetched) and not os.path.exists(mapped)
    assert not os.path.exists(storage.trial_dir)  # nothing of the trial was left in it


def test_a_failing_upload_is_retried_then_reported_with_the_local_copy_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_trial_storage, "_UPLOAD_BACKOFF_S", 0.0)
    calls = []

    def failing(local: str, uri: str) -> int:
        calls.append(uri)
        raise OSError("endpoint unreachable")

    monkeypatch.setattr(_trial_storage, "upload", failing)
    storage = TrialStorage.for_task(_task(tmp_path, upload="direct"))
    local = Path(storage.trial_dir) / "checkpoint_000001"
    local.mkdir(parents=True)
    with pytest.raises(TuneError, match=r"after 3 attempts.*endpoint unreachable.*local copy"):
        storage.publish(str(local))
    assert len(calls) == 3 and local.is_dir()


def test_a_bad_upload_mode_is_refused_at_the_front_door_before_any_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tunelab as tune

    monkeypatch.setenv("TUNELAB_CHECKPOINT_UPLOAD", "sometimes")
    started = []
    with pytest.raises(ValueError, match=r"TUNELAB_CHECKPOINT_UPLOAD.*'sometimes'"):
        tune.run(
            lambda config: started.append(1),
            storage_path=f"memory://tl-{uuid.uuid4().hex[:8]}/root",
            name="bad_mode",
            verbose=0,
        )
    assert not started
