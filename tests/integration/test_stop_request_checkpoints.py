"""A stop request leaves no unregistered checkpoint behind (issue 12: found while sharing
one result machine between the worker, the simulator and the conformance suite). What the
trial reported before it saw the request is kept, with its checkpoint (issue 14: its worker
logged it already)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from typing import Any

import tunelab as tune
from tunelab import train
from tunelab.train import Checkpoint


def reports_with_checkpoints(config: dict[str, Any]) -> None:
    for it in range(1, 1000):
        time.sleep(0.1)
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "it"), "w") as fh:
                fh.write(str(it))
            train.report({"it": it}, checkpoint=Checkpoint.from_directory(folder))


def test_the_time_budget_stop_leaves_only_registered_checkpoints(tmp_path: Any) -> None:
    analysis = tune.run(
        reports_with_checkpoints,
        storage_path=str(tmp_path),
        name="budget",
        time_budget_s=1.0,
        keep_checkpoints_num=1000,
        verbose=0,
    )
    [trial] = analysis.trials
    on_disk = sorted(n for n in os.listdir(trial.local_path) if n.startswith("checkpoint_"))
    with open(os.path.join(trial.local_path, "result.json")) as fh:
        logged = [json.loads(line) for line in fh]
    # every checkpoint directory belongs to a logged result, and each is registered
    assert on_disk == [r["checkpoint_dir_name"] for r in logged]
    assert logged and trial.checkpoint is not None
    assert os.path.basename(str(trial.checkpoint.path)) == on_disk[-1]
    assert trial.last_result["it"] == logged[-1]["it"]


class SavesEveryStep(tune.Trainable):
    def step(self) -> dict[str, Any]:
        time.sleep(0.1)
        return {"it": self.iteration + 1}

    def save_checkpoint(self, checkpoint_dir: str) -> str:
        with open(os.path.join(checkpoint_dir, "it"), "w") as fh:
            fh.write(str(self.iteration))
        return checkpoint_dir

    def load_checkpoint(self, checkpoint: Any) -> None:
        pass


def test_a_class_trainable_stopped_by_the_budget_keeps_no_unregistered_save(
    tmp_path: Any,
) -> None:
    analysis = tune.run(
        SavesEveryStep,
        storage_path=str(tmp_path),
        name="class_budget",
        time_budget_s=1.0,
        checkpoint_freq=1,
        keep_checkpoints_num=1000,
        verbose=0,
    )
    [trial] = analysis.trials
    on_disk = sorted(n for n in os.listdir(trial.local_path) if n.startswith("checkpoint_"))
    registered = sorted(os.path.basename(path) for path, _ in trial.checkpoint_history)
    assert on_disk and on_disk == registered
