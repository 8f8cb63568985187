"""MLflow (``tunelab.integration.mlflow``, Ray Tune's ``ray.tune.integration.mlflow`` /
``ray.air.integrations.mlflow``) against a real tracking server started here (``mlflow
server`` with a SQLite backend on 127.0.0.1) and a local file store, read back through
``MlflowClient``: one run per trial with its params, every metric at its step, artifacts,
statuses; the in-trial helpers of every generation; a server that is down."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")

import tunelab as tune  # noqa: E402
from tunelab.integration.mlflow import (  # noqa: E402
    MLflowLoggerCallback,
    MLflowTrainableMixin,
    mlflow_mixin,
)

pytestmark = [
    pytest.mark.timeout(420),
    # MLflow's SQL store on SQLAlchemy 2.1 (its deprecations are MLflow's to fix)
    pytest.mark.filterwarnings("ignore::DeprecationWarning:sqlalchemy.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow.*"),
    pytest.mark.filterwarnings("ignore::FutureWarning:mlflow.*"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    log = open(root / "server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240  # a loaded 2-core machine needs a while
        while True:
            if process.poll() is not None:
                log.flush()
                pytest.fail(f"mlflow server exited: {(root / 'server.log').read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/health", timeout=2) as response,
            ):
                if response.status == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail("mlflow server did not answer /health within 240 s")
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _objective(config: dict[str, Any]) -> None:
    for step in range(1, 4):
        tune.report(loss=config["a"] * step, extra={"depth": step})
    if config["a"] == 3:
        raise RuntimeError("this trial fails on purpose")


def _runs(uri: str, experiment: str) -> dict[str, Any]:
    client = mlflow.tracking.MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r}"
    return {run.info.run_name: run for run in client.search_runs([found.experiment_id])}


def _history(uri: str, run: Any, key: str) -> list[tuple[int, float]]:
    client = mlflow.tracking.MlflowClient(uri)
    return [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, key)]


def _check_experiment(uri: str, analysis: Any, experiment: str, artifacts: bool) -> None:
    runs = _runs(uri, experiment)
    trials = {str(t): t for t in analysis.trials}
    assert set(runs) == set(trials)
    client = mlflow.tracking.MlflowClient(uri)
    for name, run in runs.items():
        a = trials[name].config["a"]
        assert run.data.params == {"a": str(a), "opt/lr": "0.1"}
        assert run.data.tags["trial_name"] == name and run.data.tags["team"] == "tuning"
        assert _history(uri, run, "loss") == [(1, a * 1.0), (2, a * 2.0), (3, a * 3.0)]
        assert _history(uri, run, "extra/depth") == [(1, 1.0), (2, 2.0), (3, 3.0)]
        assert [s for s, _ in _history(uri, run, "training_iteration")] == [1, 2, 3]
        assert run.info.status == ("FAILED" if a == 3 else "FINISHED")
        listed = {item.path for item in client.list_artifacts(run.info.run_id)}
        if artifacts:
            assert {"params.json", "result.json", "progress.csv"} <= listed
            local = client.download_artifacts(run.info.run_id, "result.json")
            assert len(Path(local).read_text().splitlines()) == 3  # flushed before upload
        else:
            assert not listed


def _run(tmp_path: Path, callback: MLflowLoggerCallback) -> Any:
    return tune.run(
        _objective,
        config={"a": tune.grid_search([1, 2, 3]), "opt": {"lr": 0.1}},
        callbacks=[callback],
        storage_path=str(tmp_path / "results"),
        name="exp",
        verbose=0,
        raise_on_failed_trial=False,
    )


def test_a_run_per_trial_on_a_tracking_server(server: str, tmp_path: Path) -> None:
    callback = MLflowLoggerCallback(
        tracking_uri=server,
        experiment_name="server-exp",
        tags={"team": "tuning"},
        save_artifact=True,
    )
    analysis = _run(tmp_path, callback)
    _check_experiment(server, analysis, "server-exp", artifacts=True)


def test_a_run_per_trial_in_a_local_file_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3.x's opt-in
    store = str(tmp_path / "mlruns")
    # Ray 1.x's positional order: tracking_uri, registry_uri, experiment_name, tags
    callback = MLflowLoggerCallback(store, None, "file-exp", {"team": "tuning"})
    analysis = _run(tmp_path, callback)
    _check_experiment(store, analysis, "file-exp", artifacts=False)


def test_runs_left_open_end_killed_and_a_resume_reopens_them(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    callback = MLflowLoggerCallback(uri, experiment_name="killed")
    trial = tune.Trial("f", trial_id="t1", config={"a": 1}, experiment_path=str(tmp_path))
    callback.setup()
    callback.on_trial_start(iteration=0, trials=[trial], trial=trial)
    callback.on_trial_result(
        iteration=1, trials=[trial], trial=trial, result={"training_iteration": 1, "loss": 2.0}
    )
    callback.on_experiment_end(trials=[trial])
    run = _runs(uri, "killed")["f_t1"]
    assert run.info.status == "KILLED"
    state = callback.get_state()
    assert state == {"runs": {"t1": run.info.run_id}}

    resumed = MLflowLoggerCallback(uri, experiment_name="killed")
    resumed.set_state(state)
    resumed.on_trial_start(iteration=0, trials=[trial], trial=trial)
    resumed.on_trial_result(
        iteration=2, trials=[trial], trial=trial, result={"training_iteration": 2, "loss": 1.0}
    )
    resumed.on_trial_complete(iteration=2, trials=[trial], trial=trial)
    resumed.on_experiment_end(trials=[trial])
    runs = _runs(uri, "killed")
    assert list(runs) == ["f_t1"] and runs["f_t1"].info.status == "FINISHED"
    assert _history(uri, runs["f_t1"], "loss") == [(1, 2.0), (2, 1.0)]


def _setup_mlflow_objective(config: dict[str, Any]) -> None:
    from tunelab.air.integrations.mlflow import setup_mlflow

    client = setup_mlflow(config, experiment_name="inside", create_experiment_if_not_exists=True)
    for step in range(1, 3):
        client.log_metric("inner", config["a"] * step, step=step)
        tune.report(loss=step)


@mlflow_mixin
def _mixin_objective(config: dict[str, Any]) -> None:
    import mlflow as inner

    for step in range(1, 3):
        inner.log_metric("inner", config["a"] * step, step=step)
        tune.report(loss=step)


class _MixinTrainable(MLflowTrainableMixin, tune.Trainable):
    def step(self) -> dict[str, Any]:
        import mlflow as inner

        inner.log_metric("inner", self.config["a"] * (self.iteration + 1), step=self.iteration + 1)
        return {"loss": 1.0, "done": self.iteration + 1 >= 2}


@pytest.mark.parametrize(
    ("trainable", "generation"),
    [
        (_setup_mlflow_objective, "2.x setup_mlflow"),
        (_mixin_objective, "1.x mlflow_mixin"),
        (_MixinTrainable, "1.x MLflowTrainableMixin"),
    ],
)
def test_mlflow_inside_the_trial(
    server: str, tmp_path: Path, trainable: Any, generation: str
) -> None:
    experiment = "inside" if generation.startswith("2") else f"mixin-{tmp_path.name}"
    client = mlflow.tracking.MlflowClient(server)
    if experiment != "inside":
        client.create_experiment(experiment)
    config: dict[str, Any] = {"a": tune.grid_search([1, 2])}
    config["mlflow"] = {"tracking_uri": server, "experiment_name": experiment}
    analysis = tune.run(
        trainable, config=config, storage_path=str(tmp_path / "r"), name="exp", verbose=0
    )
    trials = {t.trial_id: t for t in analysis.trials}
    runs = [
        r
        for r in client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
        if any(trial_id in (r.info.run_name or "") for trial_id in trials)
        or generation.startswith("2")
    ]
    by_a = {}
    for run in runs:
        values = _history(server, run, "inner")
        by_a[values[0][1]] = values
        assert run.info.status == "FINISHED"
    assert by_a[1.0] == [(1, 1.0), (2, 2.0)] and by_a[2.0] == [(1, 2.0), (2, 4.0)]
    if generation.startswith("1"):  # named <trial name>_<trial id>
        assert {r.info.run_name for r in runs} == {f"{t}_{t.trial_id}" for t in analysis.trials}


def test_the_0_8_mlflow_logger_logs_through_loggers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tunelab.logger import DEFAULT_LOGGERS, MLFLowLogger

    uri = f"sqlite:///{tmp_path / 'legacy.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    experiment_id = mlflow.tracking.MlflowClient().create_experiment("legacy")
    tune.run(
        _objective,
        config={"a": tune.grid_search([1, 2]), "mlflow_experiment_id": experiment_id},
        loggers=[*DEFAULT_LOGGERS, MLFLowLogger],
        storage_path=str(tmp_path / "r"),
        name="exp",
        verbose=0,
    )
    runs = _runs(uri, "legacy")
    assert len(runs) == 2
    for run in runs.values():
        a = int(run.data.params["a"])
        assert "mlflow_experiment_id" not in run.data.params
        assert _history(uri, run, "loss") == [(1, a * 1.0), (2, a * 2.0), (3, a * 3.0)]
        assert run.info.status == "FINISHED"


def test_a_server_that_is_down_logs_one_error_per_trial_and_the_experiment_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    down = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    callback = MLflowLoggerCallback(tracking_uri=down, experiment_name="nowhere")
    with caplog.at_level(logging.ERROR, logger="tunelab.integration"):
        analysis = tune.run(
            _objective,
            config={"a": tune.grid_search([1, 2])},
            callbacks=[callback],
            storage_path=str(tmp_path / "r"),
            name="exp",
            verbose=0,
        )
    assert all(t.last_result["loss"] == t.config["a"] * 3 for t in analysis.trials)
    errors = [r.getMessage() for r in caplog.records if r.name == "tunelab.integration"]
    assert len(errors) == 2
    for trial in analysis.trials:
        assert sum(str(trial) in message for message in errors) == 1
    assert all(down in message and "MLflow" in message for message in errors)


def test_arguments_are_validated() -> None:
    with pytest.raises(TypeError, match="save_artifact must be True or False"):
        MLflowLoggerCallback(save_artifact="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tags must be a dict"):
        MLflowLoggerCallback(tags=["a"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="experiment_name must be a string"):
        MLflowLoggerCallback(experiment_name=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mlflow_mixin decorates a function"):
        mlflow_mixin(_MixinTrainable)
