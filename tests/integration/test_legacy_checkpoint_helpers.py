"""Ray Tune 0.8.6's function-API checkpointing in real experiments: ``make_checkpoint_dir`` +
``save_checkpoint`` inside a function trainable, and a restore (after a failure) that hands
the saved path to the function's ``checkpoint`` parameter."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import tunelab as tune


def counting(config: dict[str, Any], checkpoint: str | None = None) -> None:
    """Counts to 6, checkpointing a file each step; fails once at step 4 (first attempt)."""
    start, restored_from = 0, None
    if checkpoint:
        restored_from = checkpoint
        with open(checkpoint) as handle:
            start = json.load(handle)["step"] + 1
    for step in range(start, 6):
        if step == 4 and not os.path.exists(config["failed_once"]):
            Path(config["failed_once"]).touch()
            raise RuntimeError("failing once on purpose")
        directory = tune.make_checkpoint_dir(step=step)
        path = os.path.join(directory, "state.json")
        with open(path, "w") as handle:
            json.dump({"step": step}, handle)
        tune.save_checkpoint(path)
        tune.report(step=step, restored_from=restored_from or "")


def test_a_failed_trial_restores_from_the_saved_file(tmp_path):
    analysis = tune.run(
        counting,
        config={"failed_once": str(tmp_path / "failed")},
        max_failures=1,
        storage_path=str(tmp_path / "results"),
        verbose=0,
    )
    (trial,) = analysis.trials
    assert trial.status == "TERMINATED" and (tmp_path / "failed").exists()
    steps = [row["step"] for row in _results(trial)]
    assert steps == [0, 1, 2, 3, 4, 5]  # steps 0-3, then 4-5 after restoring from step 3
    restored = _results(trial)[4]["restored_from"]
    assert os.path.basename(restored) == "state.json"
    assert json.loads(Path(trial.checkpoint.path, "state.json").read_text()) == {"step": 5}
    assert analysis.get_last_checkpoint(trial) is not None


def _results(trial: Any) -> list[dict[str, Any]]:
    path = os.path.join(trial.local_path, "result.json")
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def directory_style(config: dict[str, Any], checkpoint: str | None = None) -> None:
    """Saves the directory itself (Ray 0.8.6's PyTorch Lightning callback did)."""
    if checkpoint:
        with open(os.path.join(checkpoint, "model.txt")) as handle:
            tune.report(resumed_at=int(handle.read()))
        return
    for step in range(3):
        directory = tune.make_checkpoint_dir(step)
        with open(os.path.join(directory, "model.txt"), "w") as handle:
            handle.write(str(step))
        tune.save_checkpoint(directory)
        tune.report(step=step)


def test_a_saved_directory_restores_into_a_new_run(tmp_path):
    first = tune.run(directory_style, storage_path=str(tmp_path), name="first", verbose=0)
    checkpoint = first.trials[0].checkpoint
    assert checkpoint is not None
    second = tune.run(
        directory_style,
        restore=checkpoint.path,
        storage_path=str(tmp_path),
        name="second",
        verbose=0,
    )
    (trial,) = second.trials
    assert trial.status == "TERMINATED" and trial.last_result["resumed_at"] == 2
