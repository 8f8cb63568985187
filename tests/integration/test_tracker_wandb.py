"""Weights & Biases (``tunelab.integration.wandb``, Ray Tune's ``ray.tune.integration.wandb``
/ ``ray.air.integrations.wandb``) in W&B's offline mode (no network, no API key), read back
from the ``.wandb`` run files it writes (W&B's record format: a LevelDB-style log of
``wandb_internal_pb2.Record`` messages, parsed with W&B's own protobuf classes)."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

import pytest

wandb = pytest.importorskip("wandb", reason="the wandb extra is not installed")
pb = pytest.importorskip("wandb.proto.wandb_internal_pb2")

import tunelab as tune  # noqa: E402
from tunelab.integration.wandb import (  # noqa: E402
    WandbLogger,
    WandbLoggerCallback,
    WandbTrainableMixin,
    wandb_mixin,
)

pytestmark = [pytest.mark.timeout(300)]

_BLOCK = 32768
_HEADER = 7  # ":W&B", magic, version


def _records(path: Path) -> list[Any]:
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    out, pos, pending = [], _HEADER, b""
    while pos + 7 <= len(data):
        if _BLOCK - pos % _BLOCK < 7:
            pos += _BLOCK - pos % _BLOCK
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind == 0 and length == 0:
            break
        if kind in (1, 2):  # full, first
            pending = chunk
        else:  # middle, last
            pending += chunk
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pending)
            out.append(record)
    return out


def _read_run(path: Path) -> dict[str, Any]:
    """What a run file holds: its run record, history rows, config updates, exit code,
    artifacts."""
    run: dict[str, Any] = {"history": [], "config": {}, "artifacts": [], "exit": None}
    for record in _records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run["run"] = record.run
            for item in record.run.config.update:
                run["config"][item.key] = json.loads(item.value_json)
        elif kind == "config":
            for item in record.config.update:
                run["config"][item.key] = json.loads(item.value_json)
        elif kind == "history":
            run["history"].append(
                {
                    "/".join(i.nested_key) if i.nested_key else i.key: json.loads(i.value_json)
                    for i in record.history.item
                }
            )
        elif kind == "exit":
            run["exit"] = record.exit.exit_code
        elif kind == "artifact":
            run["artifacts"].append((record.artifact.name, record.artifact.type))
    return run


def _run_files(root: Path) -> dict[str, dict[str, Any]]:
    """Run id -> the run, for every offline run under ``root``."""
    runs = {}
    for path in root.rglob("offline-run-*/run-*.wandb"):
        run = _read_run(path)
        runs[run["run"].run_id] = {**run, "path": path}
    return runs


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)


def _objective(config: dict[str, Any]) -> None:
    for step in range(1, 4):
        with tune.checkpoint_dir(step=step) as directory:
            (Path(directory) / "weights.txt").write_text(str(step))
        tune.report(loss=config["a"] * step, extra={"depth": step}, secret=1, note="text")
    if config["a"] == 3:
        raise RuntimeError("this trial fails on purpose")


def test_a_run_per_trial_with_every_result_and_the_end_status(tmp_path: Path) -> None:
    callback = WandbLoggerCallback(
        project="tunelab-test", excludes=["secret"], upload_checkpoints=True, tags=["t"]
    )
    analysis = tune.run(
        _objective,
        config={"a": tune.grid_search([1, 3]), "secret": "hidden"},
        callbacks=[callback],
        storage_path=str(tmp_path / "r"),
        name="exp",
        verbose=0,
        raise_on_failed_trial=False,
    )
    runs = _run_files(tmp_path / "r")
    trials = {t.trial_id: t for t in analysis.trials}
    callback_runs = {k: v for k, v in runs.items() if v["run"].project == "tunelab-test"}
    assert set(callback_runs) == set(trials)
    for trial_id, run in callback_runs.items():
        trial = trials[trial_id]
        a = trial.config["a"]
        assert run["run"].display_name == str(trial)
        assert run["run"].run_group == "exp" and list(run["run"].tags) == ["t"]
        assert Path(trial.local_path) in run["path"].parents  # dir: the trial's directory
        assert run["config"]["a"] == a and "secret" not in run["config"]
        assert run["config"]["trial_id"] == trial_id  # an AUTO_CONFIG_KEY
        rows = run["history"]
        assert [row["loss"] for row in rows] == [a * 1, a * 2, a * 3]
        assert [row["_step"] for row in rows] == [1, 2, 3]
        assert [row["extra/depth"] for row in rows] == [1, 2, 3]
        assert all("secret" not in row and "note" not in row and "done" not in row for row in rows)
        assert run["exit"] == (1 if a == 3 else 0)
        assert run["artifacts"] and all(kind == "model" for _, kind in run["artifacts"])


def _setup_wandb_objective(config: dict[str, Any]) -> None:
    from tunelab.air.integrations.wandb import setup_wandb

    run = setup_wandb(config, project="inside")
    for step in range(1, 3):
        run.log({"inner": config["a"] * step})
        tune.report(loss=step)


@wandb_mixin
def _mixin_objective(config: dict[str, Any]) -> None:
    import wandb as inner

    assert "wandb" not in config
    for step in range(1, 3):
        inner.log({"inner": config["a"] * step})
        tune.report(loss=step)


class _MixinTrainable(WandbTrainableMixin, tune.Trainable):
    def step(self) -> dict[str, Any]:
        import wandb as inner

        inner.log({"inner": self.config["a"] * (self.iteration + 1)})
        return {"loss": 1.0, "done": self.iteration + 1 >= 2}


@pytest.mark.parametrize(
    ("trainable", "group"),
    [
        (_setup_wandb_objective, "exp"),
        (_mixin_objective, "_mixin_objective"),
        (_MixinTrainable, "_MixinTrainable"),
    ],
)
def test_wandb_inside_the_trial(tmp_path: Path, trainable: Any, group: str) -> None:
    config: dict[str, Any] = {"a": tune.grid_search([1, 2])}
    if trainable is not _setup_wandb_objective:
        config["wandb"] = {"project": "inside"}
    analysis = tune.run(
        trainable,
        config=config,
        storage_path=str(tmp_path / "r"),
        name="exp",
        verbose=0,
        max_concurrent_trials=1,  # the second trial reuses the first one's worker
    )
    runs = _run_files(tmp_path / "r")
    assert set(runs) == {t.trial_id for t in analysis.trials}
    for trial in analysis.trials:
        run = runs[trial.trial_id]
        a = trial.config["a"]
        assert run["run"].project == "inside" and run["run"].run_group == group
        assert run["run"].display_name == str(trial)
        assert [row["inner"] for row in run["history"]] == [a, 2 * a]
        assert run["exit"] == 0  # finished before the trial's processes were ended


def test_the_0_8_wandb_logger_logs_through_loggers(tmp_path: Path) -> None:
    from tunelab.logger import DEFAULT_LOGGERS

    analysis = tune.run(
        _objective,
        config={"a": tune.grid_search([1, 2]), "wandb": {"project": "legacy"}},
        loggers=[*DEFAULT_LOGGERS, WandbLogger],
        storage_path=str(tmp_path / "r"),
        name="exp",
        verbose=0,
    )
    runs = _run_files(tmp_path / "r")
    assert set(runs) == {t.trial_id for t in analysis.trials}
    for trial in analysis.trials:
        run = runs[trial.trial_id]
        assert run["run"].project == "legacy" and "wandb" not in run["config"]
        assert [row["loss"] for row in run["history"]] == [trial.config["a"] * s for s in (1, 2, 3)]
        assert run["exit"] == 0


def test_a_project_is_required_and_online_mode_needs_an_api_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="pass project="):
        WandbLoggerCallback().setup()
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("WANDB_API_KEY", "")  # restored (unset) after the test
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ValueError, match="no API key found"):
        WandbLoggerCallback(project="p").setup()
    key_file = tmp_path / "key"
    key_file.write_text("abc123\n")
    WandbLoggerCallback(project="p", api_key_file=str(key_file)).setup()
    assert os.environ["WANDB_API_KEY"] == "abc123"
    with pytest.raises(ValueError, match="not both"):
        WandbLoggerCallback(project="p", api_key_file=str(key_file), api_key="x").setup()
    with pytest.warns(DeprecationWarning, match="use upload_checkpoints"):
        assert WandbLoggerCallback(project="p", save_checkpoints=True).upload_checkpoints
    with pytest.raises(TypeError, match="excludes must be a list"):
        WandbLoggerCallback(project="p", excludes="loss")  # type: ignore[arg-type]
