"""Workers that do not see the driver's staging directory (Dask workers on other machines)
upload checkpoints straight to the experiment's URI, restore from it, and the controller
applies retention there; against a real S3 server (moto) over HTTP.

``TUNELAB_CHECKPOINT_UPLOAD=direct`` in the workers' environment makes local worker
processes behave as such remote workers (they inherit the test's environment).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")

from s3_helpers import remote_files, s3

import tunelab as tune
from tunelab import Checkpoint
from tunelab.schedulers import FIFOScheduler


@pytest.fixture
def direct(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("TUNELAB_CHECKPOINT_UPLOAD", "direct")
    monkeypatch.setenv("TUNELAB_RESULTS_DIR", str(tmp_path / "driver"))
    return tmp_path


def _lines(bucket: str, rel: str) -> list[dict[str, Any]]:
    text = s3().cat_file(f"{bucket}/{rel}").decode()
    return [json.loads(line) for line in text.splitlines()]


def _checkpoint_dirs(files: set[str], trial_dir: str) -> list[str]:
    return sorted({p.split("/")[1] for p in files if p.startswith(trial_dir + "/checkpoint_")})


def _fails_once(config: dict[str, Any]) -> None:
    checkpoint = tune.get_checkpoint()
    start = checkpoint.to_dict()["step"] if checkpoint else 0
    for step in range(start + 1, 7):
        if step == 4 and not os.path.exists(config["marker"]):
            Path(config["marker"]).write_text("failed once")
            raise RuntimeError("first attempt dies at step 4")
        tune.report(
            {"score": step, "restored_from": start},
            checkpoint=Checkpoint.from_dict({"step": step, "blob": b"x" * 4096}),
        )


def test_checkpoints_go_straight_to_the_bucket_and_restore_from_it(
    direct: Path, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = f"s3://{bucket}/root"
    analysis = tune.run(
        _fails_once,
        config={"marker": str(direct / "marker")},
        storage_path=storage,
        name="exp",
        max_failures=1,
        keep_checkpoints_num=2,
        metric="score",
        mode="max",
        verbose=0,
    )
    trial = analysis.trials[0]
    assert trial.status == "TERMINATED" and trial.num_failures == 1
    # nothing of the checkpoints went through the driver's staging directory
    assert not [p for p in os.listdir(trial.local_path) if p.startswith("checkpoint_")]

    files = remote_files(f"{bucket}/root/exp")
    trial_dir = os.path.basename(trial.local_path)
    assert _checkpoint_dirs(files, trial_dir) == ["checkpoint_000005", "checkpoint_000006"]
    lines = _lines(bucket, f"root/exp/{trial_dir}/result.json")
    assert [r["training_iteration"] for r in lines] == [1, 2, 3, 4, 5, 6]  # each once
    assert [r["restored_from"] for r in lines] == [0, 0, 0, 3, 3, 3]  # read back from S3

    latest = trial.checkpoint
    assert latest.path == f"{storage}/exp/{trial_dir}/checkpoint_000006"
    assert latest.to_dict()["step"] == 6
    best = analysis.get_best_checkpoint(trial, "score", "max")
    assert best is not None and best.path == latest.path

    # from another machine's empty disk (the analysis downloads the experiment, checkpoints
    # included): the same best checkpoint
    monkeypatch.setenv("TUNELAB_RESULTS_DIR", str(direct / "other_machine"))
    fresh = tune.ExperimentAnalysis(f"{storage}/exp", default_metric="score", default_mode="max")
    again = fresh.get_best_checkpoint(fresh.trials[0])
    assert again is not None and os.path.basename(again.path) == "checkpoint_000006"
    assert again.to_dict()["step"] == 6


class _Counter(tune.Trainable):
    def setup(self, config: dict[str, Any]) -> None:
        self.total = 0

    def step(self) -> dict[str, Any]:
        self.total += 1
        return {"total": self.total}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        Path(checkpoint_dir, "total.txt").write_text(str(self.total))

    def load_checkpoint(self, checkpoint_dir: str) -> None:
        self.total = int(Path(checkpoint_dir, "total.txt").read_text())


class _PauseOnce(FIFOScheduler):
    """Pauses the trial once at iteration 2 (it saves; it resumes from that checkpoint)."""

    paused = False

    def decision_points(self) -> Any:
        return None

    def on_trial_result(self, runner: Any, trial: Any, result: dict[str, Any]) -> Any:
        if result["training_iteration"] == 2 and not self.paused:
            self.paused = True
            return "PAUSE"
        return "CONTINUE"


def test_a_class_trainable_pauses_and_resumes_through_the_bucket(direct: Path, bucket: str) -> None:
    analysis = tune.run(
        _Counter,
        storage_path=f"s3://{bucket}/root",
        name="cls",
        stop={"training_iteration": 4},
        scheduler=_PauseOnce(),
        verbose=0,
    )
    trial = analysis.trials[0]
    assert trial.status == "TERMINATED"
    trial_dir = os.path.basename(trial.local_path)
    lines = _lines(bucket, f"root/cls/{trial_dir}/result.json")
    assert [r["training_iteration"] for r in lines] == [1, 2, 3, 4]
    assert [r["total"] for r in lines] == [1, 2, 3, 4]  # the state came back from S3
    files = remote_files(f"{bucket}/root/cls")
    assert "checkpoint_000002" in _checkpoint_dirs(files, trial_dir)
    assert not [p for p in os.listdir(trial.local_path) if p.startswith("checkpoint_")]


def test_workers_that_see_the_staging_directory_keep_writing_there(
    tmp_path: Path, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TUNELAB_CHECKPOINT_UPLOAD", raising=False)
    analysis = tune.run(
        _fails_once,
        config={"marker": str(tmp_path / "marker")},
        storage_path=f"s3://{bucket}/root",
        name="auto",
        max_failures=1,
        keep_checkpoints_num=2,
        verbose=0,
    )
    trial = analysis.trials[0]
    local = sorted(p for p in os.listdir(trial.local_path) if p.startswith("checkpoint_"))
    assert local == ["checkpoint_000005", "checkpoint_000006"]
    assert trial.checkpoint.path == os.path.join(trial.local_path, "checkpoint_000006")
    files = remote_files(f"{bucket}/root/auto")
    assert _checkpoint_dirs(files, os.path.basename(trial.local_path)) == local
    assert ".tunelab_staging" not in files


def test_dask_workers_on_other_machines_upload_their_checkpoints_themselves(
    direct: Path, bucket: str
) -> None:
    """Dask worker processes started with TUNELAB_CHECKPOINT_UPLOAD=direct (as on machines
    without the driver's disk): checkpoints reach the bucket from the workers, a retry
    restores from the bucket, retention deletes there."""
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        analysis = tune.run(
            _fails_once,
            config={"marker": str(direct / "marker")},
            storage_path=f"s3://{bucket}/root",
            name="dask",
            max_failures=1,
            keep_checkpoints_num=2,
            dask_client=cluster.scheduler_address,
            verbose=0,
        )
    trial = analysis.trials[0]
    assert trial.status == "TERMINATED" and trial.num_failures == 1
    trial_dir = os.path.basename(trial.local_path)
    files = remote_files(f"{bucket}/root/dask")
    assert _checkpoint_dirs(files, trial_dir) == ["checkpoint_000005", "checkpoint_000006"]
    lines = _lines(bucket, f"root/dask/{trial_dir}/result.json")
    assert [r["training_iteration"] for r in lines] == [1, 2, 3, 4, 5, 6]
    assert [r["restored_from"] for r in lines] == [0, 0, 0, 3, 3, 3]
    assert not [p for p in os.listdir(trial.local_path) if p.startswith("checkpoint_")]
