"""``ExperimentAnalysis.stats()`` and ``runner_data()`` (Ray Tune 0.x-2.0), which Ray Tune's
own analysis tests call: the experiment's timing and what its state says of the run, both for
the analysis a run returns and for one read back from the directory."""

from __future__ import annotations

import os
import time
from typing import Any

import tunelab as tune
from tunelab.analysis import ExperimentAnalysis


def trainable(config: dict[str, Any]) -> None:
    for step in range(2):
        tune.report(score=config["x"] + step)


def run(tmp_path: Any) -> ExperimentAnalysis:
    return tune.run(
        trainable,
        config={"x": tune.grid_search([1, 2])},
        metric="score",
        mode="max",
        storage_path=str(tmp_path),
        name="exp",
        verbose=0,
    )


def test_stats_and_runner_data_of_a_run_and_of_its_directory(tmp_path: Any) -> None:
    before = time.time()
    live = run(tmp_path)
    after = time.time()
    from_disk = ExperimentAnalysis(os.path.join(str(tmp_path), "exp"))
    for analysis in (live, from_disk):
        stats = analysis.stats()
        assert set(stats) == {"start_time", "timestamp"}
        assert before - 1 <= stats["start_time"] <= stats["timestamp"] <= after + 1
        data = analysis.runner_data()
        assert data["name"] == "exp"
        assert data["_local_checkpoint_dir"] == analysis.experiment_path
        assert os.path.isfile(data["checkpoint_file"])
        assert os.path.dirname(data["checkpoint_file"]) == analysis.experiment_path
        assert (data["_metric"], data["_mode"]) == ("score", "max")
        assert data["_start_time"] == stats["start_time"]
    assert live.stats() == from_disk.stats()


def test_stats_and_runner_data_are_empty_without_a_saved_state(tmp_path: Any) -> None:
    run(tmp_path)
    experiment = os.path.join(str(tmp_path), "exp")
    for name in os.listdir(experiment):
        if name.startswith("experiment_state"):
            os.remove(os.path.join(experiment, name))
    analysis = ExperimentAnalysis(experiment, default_metric="score", default_mode="max")
    assert len(analysis.trials) == 2  # read from the trial directories
    assert analysis.stats() == {}
    assert analysis.runner_data() == {}
