"""A trial restarting from a checkpoint: the leftovers of a killed writer are removed
before its new run starts, never while the new run writes (a checkpoint's temp file looks
like a leftover until it is renamed; removing it failed the run with FileNotFoundError)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import tunelab as tune
from tunelab import Checkpoint
from tunelab.execution import InProcessExecutor


class WritesAtOnce(InProcessExecutor):
    """Plays a worker that starts writing a checkpoint the moment its trial starts."""

    def __init__(self) -> None:
        super().__init__(num_cpus=1)
        self.planted: list[str] = []
        self.seen: list[bool] = []

    def try_start(self, trial_id, request, task):  # type: ignore[no-untyped-def]
        started = super().try_start(trial_id, request, task)
        if started and task.restore_path:
            directory = os.path.join(task.trial_dir, "checkpoint_000099")
            os.makedirs(directory, exist_ok=True)
            path = os.path.join(directory, "_dict_checkpoint.pkl.tmp-0123abcd")
            Path(path).touch()
            self.planted.append(path)
        return started

    def poll(self, timeout):  # type: ignore[no-untyped-def]
        self.seen.extend(os.path.exists(path) for path in self.planted)
        return super().poll(timeout)


def train(config: dict[str, Any]) -> None:
    start = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        start = checkpoint.to_dict()["step"]
    for step in range(start + 1, 4):
        if step == 2 and not os.path.exists(config["marker"]):
            Path(config["marker"]).touch()
            raise RuntimeError("first attempt fails at step 2")
        tune.report({"step": step}, checkpoint=Checkpoint.from_dict({"step": step}))


def test_a_restarted_trials_new_writes_are_not_removed_as_leftovers(tmp_path: Path) -> None:
    executor = WritesAtOnce()
    analysis = tune.run(
        train,
        config={"marker": str(tmp_path / "failed-once")},
        max_failures=1,
        executor=executor,
        storage_path=str(tmp_path / "results"),
        verbose=0,
    )
    (trial,) = analysis.trials
    assert trial.status == "TERMINATED"
    assert executor.planted, "the trial was not restarted from its checkpoint"
    assert executor.seen and all(executor.seen)
