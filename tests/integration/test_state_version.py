"""An experiment written today still resumes; a state this tunelab cannot read is refused
with a clear error before any trial starts.

``tests/fixtures/experiment_state_v1/`` is an experiment as tunelab wrote it at state
version 1: two trials of :func:`trainable`, ``a=1`` finished its four iterations and ``a=2``
failed at its third after checkpointing its second. Regenerate it with
``python tests/integration/test_state_version.py`` (then drop the TensorBoard event files,
which name the machine) only when the state format changes on purpose, and keep the old
fixture under its version's name.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any

import pytest

import tunelab as tune
from tunelab import train
from tunelab._persistence.experiment_state import STATE_VERSION
from tunelab.analysis import ExperimentAnalysis
from tunelab.train import Checkpoint

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "experiment_state_v1")


def trainable(config: dict[str, Any]) -> None:
    start = 0
    checkpoint = train.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder, open(os.path.join(folder, "it.json")) as fh:
            start = json.load(fh)["it"]
    for it in range(start + 1, 5):
        if config["a"] == 2 and it == 3 and os.environ.get("FIXTURE_FAIL"):
            raise RuntimeError("fixture failure")
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "it.json"), "w") as fh:
                json.dump({"it": it}, fh)
            train.report({"score": config["a"] * it}, checkpoint=Checkpoint.from_directory(folder))


def _copy_fixture(tmp_path: Any) -> str:
    target = os.path.join(str(tmp_path), "exp")
    shutil.copytree(FIXTURE, target)
    return target


def _run(tmp_path: Any, **kwargs: Any) -> Any:
    return tune.run(
        trainable,
        config={"a": tune.grid_search([1, 2])},
        storage_path=str(tmp_path),
        name="exp",
        verbose=0,
        **kwargs,
    )


def _iterations(trial: Any) -> list[int]:
    with open(os.path.join(trial.local_path, "result.json")) as fh:
        return [json.loads(line)["training_iteration"] for line in fh if line.strip()]


def test_a_version_1_experiment_resumes_its_errored_trial_from_its_checkpoint(tmp_path):
    _copy_fixture(tmp_path)
    analysis = _run(tmp_path, resume="ERRORED_ONLY")
    by_a = {t.config["a"]: t for t in analysis.trials}
    assert {a: t.status for a, t in by_a.items()} == {1: "TERMINATED", 2: "TERMINATED"}
    # every iteration exactly once: 1-2 from before, 3-4 after restoring checkpoint 2
    assert _iterations(by_a[1]) == [1, 2, 3, 4]
    assert _iterations(by_a[2]) == [1, 2, 3, 4]
    assert by_a[2].last_result["score"] == 8


def test_a_version_1_experiment_is_read_by_the_analysis(tmp_path):
    analysis = ExperimentAnalysis(_copy_fixture(tmp_path))
    by_a = {t.config["a"]: t for t in analysis.trials}
    assert {a: t.status for a, t in by_a.items()} == {1: "TERMINATED", 2: "ERROR"}
    assert {a: t.last_result["training_iteration"] for a, t in by_a.items()} == {1: 4, 2: 2}
    assert analysis.get_best_config(metric="score", mode="min", scope="all") == {"a": 1}


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (STATE_VERSION + 1, f"written by a newer tunelab \\(state version {STATE_VERSION + 1}\\)"),
        ("1", "invalid state version '1'"),
        (0, "invalid state version 0"),
    ],
)
def test_a_state_this_tunelab_cannot_read_is_refused_before_any_trial(tmp_path, version, message):
    path = _copy_fixture(tmp_path)
    state_file = os.path.join(path, "experiment_state.json")
    with open(state_file) as fh:
        state = json.load(fh)
    state["version"] = version
    with open(state_file, "w") as fh:
        json.dump(state, fh)
    before = sorted(os.listdir(path))
    with pytest.raises(ValueError, match=message) as raised:
        _run(tmp_path, resume=True)
    assert f"resumes state versions 1 to {STATE_VERSION}" in str(raised.value)
    assert sorted(os.listdir(path)) == before  # nothing ran, nothing was written


if __name__ == "__main__":
    os.environ["FIXTURE_FAIL"] = "1"
    out = tempfile.mkdtemp()
    _run(out, raise_on_failed_trial=False)
    shutil.rmtree(FIXTURE, ignore_errors=True)
    shutil.copytree(os.path.join(out, "exp"), FIXTURE)
    print("written", os.path.abspath(FIXTURE))
