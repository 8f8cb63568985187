"""Remote storage against a real S3-compatible server (moto's server mode) through s3fs.

The server listens on a free loopback port; s3fs and boto3 reach it through the
``AWS_ENDPOINT_URL`` environment variable. Every test uses its own bucket.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

from s3_helpers import free_port, remote_files, s3  # noqa: E402

from tunelab._storage import Syncer, download, uri_exists  # noqa: E402


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _fast_failing_fs(endpoint: str) -> Any:
    """An s3fs filesystem that gives up on an unreachable endpoint at once."""
    import s3fs

    fs = s3fs.S3FileSystem(
        skip_instance_cache=True,
        client_kwargs={"endpoint_url": endpoint},
        config_kwargs={"retries": {"max_attempts": 1}, "connect_timeout": 2, "read_timeout": 5},
    )
    fs.retries = 1
    return fs


def test_syncer_mirrors_new_and_changed_files(tmp_path: Path, bucket: str) -> None:
    local = tmp_path / "exp"
    _write(local / "experiment_state.json", '{"version": 1}')
    _write(local / "trial_0" / "result.json", '{"i": 1}\n')
    _write(local / "trial_0" / "checkpoint_000000" / "model.bin", "weights-0")
    syncer = Syncer(local, f"s3://{bucket}/root/exp", period_s=0.05)
    syncer.start()
    try:
        assert syncer.sync_now(timeout_s=60)
        assert remote_files(f"{bucket}/root/exp") == {
            "experiment_state.json",
            "trial_0/result.json",
            "trial_0/checkpoint_000000/model.bin",
        }
        _write(local / "trial_0" / "result.json", '{"i": 1}\n{"i": 2}\n')
        _write(local / "trial_1" / "params.json", "{}")
    finally:
        assert syncer.stop(final_sync=True, timeout_s=60)
    assert s3().cat_file(f"{bucket}/root/exp/trial_0/result.json") == b'{"i": 1}\n{"i": 2}\n'
    assert s3().cat_file(f"{bucket}/root/exp/trial_1/params.json") == b"{}"
    assert syncer.errors == []


def test_deleted_checkpoint_dirs_are_deleted_remotely(tmp_path: Path, bucket: str) -> None:
    local = tmp_path / "exp"
    _write(local / "t" / "checkpoint_000000" / "w", "0")
    _write(local / "t" / "checkpoint_000001" / "w", "1")
    _write(local / "t" / "result.json", "r")
    syncer = Syncer(local, f"s3://{bucket}/exp")
    assert syncer.sync_once()
    shutil.rmtree(local / "t" / "checkpoint_000000")
    (local / "t" / "result.json").unlink()
    assert syncer.sync_once()
    assert remote_files(f"{bucket}/exp") == {"t/checkpoint_000001/w", "t/result.json"}


def test_failed_uploads_are_retried_reported_and_recovered(
    tmp_path: Path, s3_env: str, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    name = f"tl-{uuid.uuid4().hex[:12]}"
    local = tmp_path / "exp"
    sleeps: list[float] = []
    try:
        _fast_failing_fs(endpoint).mkdir(name)
        _write(local / "t" / "result.json", "1")
        syncer = Syncer(
            local,
            f"s3://{name}/exp",
            retries=3,
            backoff_s=0.25,
            sleep=sleeps.append,
            filesystem=_fast_failing_fs(endpoint),
        )
        assert syncer.sync_once()
    finally:
        server.stop()

    _write(local / "t" / "result.json", "12")
    with caplog.at_level(logging.ERROR, logger="tunelab.storage"):
        assert not syncer.sync_once()
    assert sleeps == [0.25, 0.5]
    assert len(syncer.errors) == 1
    failure = syncer.errors[0]
    assert failure.local_path == str(local / "t" / "result.json")
    assert failure.remote_path == f"{name}/exp/t/result.json"
    assert failure.attempts == 3
    assert "Could not connect" in failure.error or "Connect" in failure.error
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "local copy is kept" in caplog.records[0].getMessage()
    assert (local / "t" / "result.json").read_text() == "12"

    # The endpoint comes back (moto keeps its state in the process): the next pass succeeds.
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        assert syncer.sync_once()
        assert _fast_failing_fs(endpoint).cat_file(f"{name}/exp/t/result.json") == b"12"
    finally:
        server.stop()


def test_wrong_endpoint_in_background_keeps_going(tmp_path: Path, s3_env: str) -> None:
    local = tmp_path / "exp"
    _write(local / "a.txt", "a")
    syncer = Syncer(
        local,
        "s3://nowhere-bucket/exp",
        period_s=0.05,
        retries=2,
        backoff_s=0.0,
        filesystem=_fast_failing_fs(f"http://127.0.0.1:{free_port()}"),
    )
    syncer.start()
    assert not syncer.sync_now(timeout_s=60)
    assert syncer.running  # the thread survives failures
    assert not syncer.stop(final_sync=True, timeout_s=60)
    assert len(syncer.errors) == 1
    assert (local / "a.txt").read_text() == "a"


def test_download_brings_everything_back(tmp_path: Path, bucket: str) -> None:
    source = tmp_path / "src"
    files = {
        "experiment_state.json": "{}",
        "experiment_state.journal": "line\n",
        "tuner.pkl": "pkl",
        "trial_0/result.json": '{"i": 1}\n',
        "trial_0/checkpoint_000000/model.bin": "w0",
        "trial_1/sub/dir/deep.txt": "deep",
    }
    for rel, text in files.items():
        _write(source / rel, text)
    uri = f"s3://{bucket}/root/exp"
    assert Syncer(source, uri).sync_once()
    assert uri_exists(uri, "tuner.pkl")
    assert uri_exists(uri, "experiment_state*")
    assert not uri_exists(uri, "missing.pkl")

    empty = tmp_path / "empty"
    assert download(uri, empty) == str(empty)
    got = {
        str(p.relative_to(empty)).replace(os.sep, "/"): p.read_text()
        for p in empty.rglob("*")
        if p.is_file()
    }
    assert got == files
    with pytest.raises(FileNotFoundError, match="no files found"):
        download(f"s3://{bucket}/root/none", tmp_path / "none")


# -- end to end through the front doors ------------------------------------------------------


def _trainable(config: dict[str, Any]) -> None:
    import tunelab as tune

    for step in range(3):
        tune.report({"score": config["x"] * (step + 1)})


def _run(cwd: Path, **kwargs: Any) -> Any:
    import tunelab as tune

    analysis = tune.run(_trainable, verbose=0, **kwargs)
    assert not (cwd / "s3:").exists()  # nothing treated the URI as a local path
    return analysis


def _fresh_local_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tag: str) -> Path:
    """A new, empty results root (as on another machine)."""
    root = tmp_path / f"machine_{tag}"
    monkeypatch.setenv("TUNELAB_RESULTS_DIR", str(root / "results"))
    return root


def test_end_to_end_run_restore_and_analyse_from_s3(
    tmp_path: Path, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tunelab as tune

    storage = f"s3://{bucket}/root"
    uri = f"{storage}/exp"
    _fresh_local_disk(tmp_path, monkeypatch, "a")
    analysis = _run(
        tmp_path,
        config={"x": tune.grid_search([1, 2, 3])},
        storage_path=storage,
        name="exp",
        metric="score",
        mode="max",
    )
    assert len(analysis.trials) == 3

    remote = remote_files(f"{bucket}/root/exp")
    result_files = sorted(p for p in remote if p.endswith("/result.json"))
    assert len(result_files) == 3
    for rel in result_files:
        lines = s3().cat_file(f"{bucket}/root/exp/{rel}").decode().splitlines()
        assert len(lines) == 3
    assert any(p.startswith("experiment_state") for p in remote)
    assert uri_exists(uri, "tuner.pkl") or uri_exists(uri, "experiment_state*")

    # ExperimentAnalysis from a machine with an empty local disk.
    _fresh_local_disk(tmp_path, monkeypatch, "b")
    fresh = tune.ExperimentAnalysis(uri, default_metric="score", default_mode="max")
    assert len(fresh.trials) == 3
    assert fresh.get_best_config()["x"] == 3

    # tune.run(resume=True) from another empty disk: everything finished, nothing reruns.
    _fresh_local_disk(tmp_path, monkeypatch, "c")
    resumed = _run(
        tmp_path,
        config={"x": tune.grid_search([1, 2, 3])},
        storage_path=storage,
        name="exp",
        resume=True,
        metric="score",
        mode="max",
    )
    assert len(resumed.trials) == 3
    assert resumed.get_best_config()["x"] == 3
    for rel in result_files:
        lines = s3().cat_file(f"{bucket}/root/exp/{rel}").decode().splitlines()
        assert len(lines) == 3  # every iteration exactly once


def test_end_to_end_tuner_restore_from_s3(
    tmp_path: Path, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tunelab as tune

    storage = f"s3://{bucket}/tuner"
    _fresh_local_disk(tmp_path, monkeypatch, "a")
    tuner = tune.Tuner(
        _trainable,
        param_space={"x": tune.grid_search([1, 2])},
        tune_config=tune.TuneConfig(metric="score", mode="max"),
        run_config=tune.RunConfig(name="exp", storage_path=storage, verbose=0),
    )
    grid = tuner.fit()
    assert not (tmp_path / "s3:").exists()
    assert len(grid) == 2
    uri = f"{storage}/exp"
    assert uri_exists(uri, "tuner.pkl")

    _fresh_local_disk(tmp_path, monkeypatch, "b")
    assert tune.Tuner.can_restore(uri)
    restored = tune.Tuner.restore(uri, trainable=_trainable)
    grid2 = restored.fit()
    assert len(grid2) == 2
    assert grid2.get_best_result().config["x"] == 2
    assert not grid2.errors


def _result_lines(bucket: str, prefix: str, trials: list[Any]) -> list[int]:
    """How many results each trial's result.json in the bucket holds."""
    return [
        len(
            s3()
            .cat_file(f"{bucket}/{prefix}/{os.path.basename(t.local_path)}/result.json")
            .decode()
            .splitlines()
        )
        for t in trials
    ]


def test_running_an_experiment_never_changes_it_so_it_can_be_run_again(
    tmp_path: Path, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tunelab as tune

    storage = f"s3://{bucket}/root"
    root_a = _fresh_local_disk(tmp_path, monkeypatch, "a")
    exp = tune.Experiment(
        "exp", _trainable, config={"x": tune.grid_search([1, 2])}, storage_path=storage
    )
    before = dict(vars(exp))
    trials = tune.run_experiments(exp, verbose=0)
    assert vars(exp) == before  # not placed in the staging directory it ran in
    assert (exp.storage_path, exp.experiment_path) == (storage, f"{storage}/exp")
    assert exp.remote_path is None and exp.staging_token is None
    # the trials ran in the local staging directory, as they always did
    staging = os.path.dirname(trials[0].local_path)
    assert staging.startswith(str(root_a)) and all(t.experiment_path == staging for t in trials)
    assert _result_lines(bucket, "root/exp", trials) == [3, 3]

    # a retry with resume on the same object finds its trials; nothing reruns
    again = tune.run_experiments(exp, resume=True, verbose=0)
    assert vars(exp) == before
    assert sorted(t.trial_id for t in again) == sorted(t.trial_id for t in trials)
    assert all(t.status == "TERMINATED" for t in again)
    assert _result_lines(bucket, "root/exp", trials) == [3, 3]

    # tune.run(experiment) on an empty disk: downloaded from the bucket; the analysis is the
    # local staging copy, as before
    root_b = _fresh_local_disk(tmp_path, monkeypatch, "b")
    analysis = tune.run(exp, resume=True, verbose=0, metric="score", mode="max")
    assert vars(exp) == before
    assert sorted(t.trial_id for t in analysis.trials) == sorted(t.trial_id for t in trials)
    assert analysis.experiment_path.startswith(str(root_b))
    assert analysis.experiment_path == analysis.trials[0].experiment_path
    assert analysis.get_best_config()["x"] == 2
    assert _result_lines(bucket, "root/exp", trials) == [3, 3]


# -- the 0.x/1.x upload_dir: a local experiment mirrored to the bucket -------------------------


def test_seed_spec_with_upload_dir_mirrors_the_local_experiment(
    tmp_path: Path, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tunelab as tune

    local = tmp_path / "ray_results"
    spec = {
        "my_experiment": {
            "run": _trainable,
            "stop": {"training_iteration": 3},
            "config": {"x": tune.grid_search([1, 2])},
            "local_dir": str(local),
            "upload_dir": f"s3://{bucket}/path",
        }
    }
    trials = tune.run_experiments(spec, verbose=0)
    assert len(trials) == 2 and all(t.status == "TERMINATED" for t in trials)
    assert (local / "my_experiment" / "experiment_state.json").exists()  # the local copy
    remote = remote_files(f"{bucket}/path/my_experiment")
    assert "experiment_state.json" in remote and ".tunelab_staging" not in remote
    for trial in trials:
        rel = f"{os.path.basename(trial.local_path)}/result.json"
        assert rel in remote
        lines = s3().cat_file(f"{bucket}/path/my_experiment/{rel}").decode().splitlines()
        assert len(lines) == 3

    # resume on a machine whose local_dir is empty: the mirror is downloaded, nothing reruns
    shutil.rmtree(local)
    resumed = tune.run(
        _trainable,
        name="my_experiment",
        config={"x": tune.grid_search([1, 2])},
        local_dir=str(local),
        sync_config=tune.SyncConfig(upload_dir=f"s3://{bucket}/path"),
        resume=True,
        verbose=0,
    )
    assert sorted(t.config["x"] for t in resumed.trials) == [1, 2]
    assert all(len(t.last_result) and t.status == "TERMINATED" for t in resumed.trials)
    for trial in trials:
        rel = f"{os.path.basename(trial.local_path)}/result.json"
        assert len((local / "my_experiment" / rel).read_text().splitlines()) == 3


def test_an_experiment_with_upload_dir_is_unchanged_by_running_it(
    tmp_path: Path, bucket: str
) -> None:
    import tunelab as tune

    local = tmp_path / "ray_results"
    exp = tune.Experiment(
        "my_experiment",
        _trainable,
        config={"x": tune.grid_search([1, 2])},
        local_dir=str(local),
        upload_dir=f"s3://{bucket}/path",
    )
    before = dict(vars(exp))
    trials = tune.run_experiments(exp, verbose=0)
    assert vars(exp) == before
    assert exp.experiment_path == str(local / "my_experiment") and exp.remote_path is None
    assert all(t.experiment_path == exp.experiment_path for t in trials)
    assert _result_lines(bucket, "path/my_experiment", trials) == [3, 3]

    # the same object resumed on an empty local_dir: the mirror is downloaded, nothing reruns
    shutil.rmtree(local)
    again = tune.run_experiments(exp, resume=True, verbose=0)
    assert vars(exp) == before
    assert sorted(t.trial_id for t in again) == sorted(t.trial_id for t in trials)
    for trial in trials:
        rel = f"{os.path.basename(trial.local_path)}/result.json"
        assert len((local / "my_experiment" / rel).read_text().splitlines()) == 3


def test_upload_dir_must_be_a_remote_uri_and_not_doubled() -> None:
    import tunelab as tune

    with pytest.raises(ValueError, match=r"upload_dir must be a remote URI.*'/tmp/x'"):
        tune.Experiment("e", _trainable, upload_dir="/tmp/x")
    with pytest.raises(ValueError, match="storage_path is already remote"):
        tune.Experiment("e", _trainable, storage_path="s3://b/p", upload_dir="s3://b/q")
