"""Comet (``CometLoggerCallback``, offline experiments: zip files read back here) and Aim
(``AimLoggerCallback``, a local Aim repository read back through ``aim.Repo``) in real
experiments."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

import tunelab as tune

pytestmark = [pytest.mark.timeout(300)]


def _objective(config: dict[str, Any]) -> None:
    for step in range(1, 4):
        tune.report(loss=config["a"] * step, extra={"depth": step})
    if config["a"] == 3:
        raise RuntimeError("this trial fails on purpose")


def _run(tmp_path: Path, callback: Any) -> Any:
    return tune.run(
        _objective,
        config={"a": tune.grid_search([1, 3])},
        callbacks=[callback],
        storage_path=str(tmp_path / "r"),
        name="exp",
        verbose=0,
        raise_on_failed_trial=False,
    )


# comet_ml leaves UDP sockets of its own unclosed (collected later)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_comet_offline_experiment_per_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("comet_ml", reason="the comet extra is not installed")
    from tunelab.integration.comet import CometLoggerCallback

    monkeypatch.setenv("HOME", str(tmp_path))  # no Comet config of this machine
    offline = tmp_path / "comet"
    callback = CometLoggerCallback(
        online=False, tags=["tuned"], offline_directory=str(offline), project_name="p"
    )
    analysis = _run(tmp_path, callback)
    experiments = {}
    for archive in offline.glob("*.zip"):
        with zipfile.ZipFile(archive) as zf:
            messages = [json.loads(line) for line in zf.read("messages.json").splitlines()]
            meta = json.loads(zf.read("experiment.json"))
        others = {
            m["payload"]["key"]: m["payload"]["value"] for m in messages if m["type"] == "log_other"
        }
        metrics: dict[str, list[tuple[int, float]]] = {}
        for m in messages:
            if m["type"] == "metric_msg":
                metric = m["payload"]["metric"]
                metrics.setdefault(metric["metricName"], []).append(
                    (metric["step"], metric["metricValue"])
                )
        params = {
            m["payload"]["param"]["paramName"]: m["payload"]["param"]["paramValue"]
            for m in messages
            if m["type"] == "parameter_msg"
        }
        experiments[others["trial_id"]] = (meta, others, metrics, params)
    assert set(experiments) == {t.trial_id for t in analysis.trials}
    for trial in analysis.trials:
        meta, others, metrics, params = experiments[trial.trial_id]
        a = trial.config["a"]
        assert meta["project_name"] == "p" and meta["tags"] == ["tuned"]
        assert others["Name"] == str(trial)
        assert others["Trial status"] == ("FAILED" if a == 3 else "FINISHED")
        assert [(s, float(v)) for s, v in metrics["loss"]] == [(1, a), (2, 2.0 * a), (3, 3.0 * a)]
        assert [s for s, _ in metrics["extra/depth"]] == [1, 2, 3]
        assert "done" not in metrics and "hostname" not in metrics  # system info, not metrics
        assert str(params["a"]) == str(a)


def test_aim_run_per_trial_in_a_local_repo(tmp_path: Path) -> None:
    pytest.importorskip("aim", reason="the aim extra is not installed")
    from aim.sdk import Repo
    from aim.sdk.index_manager import RepoIndexManager

    from tunelab.logger.aim import AimLoggerCallback

    repo_path = tmp_path / "aim"
    analysis = _run(tmp_path, AimLoggerCallback(repo=str(repo_path), experiment_name="study"))
    repo = Repo.from_path(str(repo_path))
    index = RepoIndexManager.get_index_manager(repo)
    for run_hash in repo.list_all_runs():
        index.index(run_hash)  # what Aim's UI does in the background
    runs = {run["trial_id"]: run for run in repo.iter_runs()}
    assert set(runs) == {t.trial_id for t in analysis.trials}
    for trial in analysis.trials:
        run = runs[trial.trial_id]
        a = trial.config["a"]
        assert run.experiment == "study" and run["hparams"] == {"a": a}
        assert run["trial_log_dir"] == trial.local_path
        assert run["trial_status"] == ("FAILED" if a == 3 else "FINISHED")
        tracked = {m.name: m.data.items_list() for m in run.metrics()}
        steps, values = tracked["ray/tune/loss"]
        assert list(steps) == [1, 2, 3] and list(values[0]) == [a, 2.0 * a, 3.0 * a]
        assert "ray/tune/extra/depth" in tracked and "ray/tune/training_iteration" not in tracked


def test_aim_and_comet_arguments_are_validated() -> None:
    pytest.importorskip("aim", reason="the aim extra is not installed")
    pytest.importorskip("comet_ml", reason="the comet extra is not installed")
    from tunelab.integration.comet import CometLoggerCallback
    from tunelab.logger.aim import AimLoggerCallback

    with pytest.raises(ValueError, match="metrics must be a non-empty list"):
        AimLoggerCallback(metrics=[])
    with pytest.raises(TypeError, match="online must be True or False"):
        CometLoggerCallback(online="no")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tags must be a list of strings"):
        CometLoggerCallback(tags="a")  # type: ignore[arg-type]
