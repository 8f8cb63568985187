"""A trial retried from its checkpoint: every output rolls itself back (issue 12's
"rollback is the outputs' job"), so each iteration is logged once, by the run that counts,
in result.json, progress.csv, TensorBoard and a custom callback's own records."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from typing import Any

import pytest

import tunelab as tune
from tunelab import Callback, train
from tunelab.train import Checkpoint

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
pytest.importorskip("tensorboardX")


def flaky(config: dict[str, Any]) -> None:
    """Checkpoints every other iteration; the first attempt fails after reporting 5."""
    start = 0
    checkpoint = train.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder, open(os.path.join(folder, "it")) as fh:
            start = int(fh.read())
    attempt = 2 if start else 1
    for it in range(start + 1, 7):
        metrics = {"score": it + 100 * attempt}
        if it % 2 == 0:
            with tempfile.TemporaryDirectory() as folder:
                with open(os.path.join(folder, "it"), "w") as fh:
                    fh.write(str(it))
                train.report(metrics, checkpoint=Checkpoint.from_directory(folder))
        else:
            train.report(metrics)
        if it == 5 and attempt == 1:
            raise RuntimeError("first attempt fails after iteration 5")


class Records(Callback):
    """A user's own output: keeps its records and rolls them back itself."""

    def __init__(self) -> None:
        self.rows: dict[str, list[int]] = {}
        self.rollbacks: list[int] = []

    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any], **info: Any
    ) -> None:
        self.rows.setdefault(trial.trial_id, []).append(result["training_iteration"])

    def on_trial_rollback(
        self, iteration: int, trials: list[Any], trial: Any, to_iteration: int, **info: Any
    ) -> None:
        self.rollbacks.append(to_iteration)
        rows = self.rows.get(trial.trial_id, [])
        rows[:] = [i for i in rows if i <= to_iteration]


def test_every_output_logs_each_iteration_once_after_a_retry(tmp_path: Any) -> None:
    records = Records()
    analysis = tune.run(
        flaky,
        storage_path=str(tmp_path),
        name="retry",
        max_failures=1,
        callbacks=[records],
        verbose=0,
    )
    [trial] = analysis.trials
    assert trial.status == "TERMINATED" and trial.num_failures == 1
    expected = [101, 102, 103, 104, 205, 206]  # 5 from the second attempt, not 105
    with open(os.path.join(trial.local_path, "result.json")) as fh:
        lines = [json.loads(line) for line in fh]
    assert [r["score"] for r in lines] == expected
    with open(os.path.join(trial.local_path, "progress.csv")) as fh:
        assert [int(row["score"]) for row in csv.DictReader(fh)] == expected
    acc = event_accumulator.EventAccumulator(trial.local_path, size_guidance={"scalars": 0})
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("ray/tune/score")] == list(
        enumerate(map(float, expected), 1)
    )
    assert records.rollbacks == [4]
    assert records.rows[trial.trial_id] == [1, 2, 3, 4, 5, 6]
