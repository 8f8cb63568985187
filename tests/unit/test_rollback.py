"""Cutting a trial's logs back to the iteration it restarts from (_rollback.py)."""

from __future__ import annotations

import json
from pathlib import Path

from tunelab._persistence.rollback import rollback_trial_logs


def _logs(trial_dir: Path, iterations: int, torn: bool = False) -> None:
    lines = [
        json.dumps({"training_iteration": i, "loss": 1 / i}) + "\n"
        for i in range(1, 1 + iterations)
    ]
    text = "".join(lines) + ('{"training_iteration": 9' if torn else "")
    (trial_dir / "result.json").write_text(text)
    rows = ["training_iteration,loss\n"] + [f"{i},{1 / i}\n" for i in range(1, 1 + iterations)]
    (trial_dir / "progress.csv").write_text("".join(rows) + ("9,0." if torn else ""))


def _iterations(trial_dir: Path) -> tuple[list[int], list[int]]:
    json_its = [
        json.loads(x)["training_iteration"]
        for x in (trial_dir / "result.json").read_text().splitlines()
    ]
    csv_its = [
        int(x.split(",")[0]) for x in (trial_dir / "progress.csv").read_text().splitlines()[1:]
    ]
    return json_its, csv_its


def test_results_after_the_checkpoint_are_cut_from_both_files(tmp_path: Path) -> None:
    _logs(tmp_path, 6)
    last = rollback_trial_logs(str(tmp_path), 4)
    assert last == {"training_iteration": 4, "loss": 0.25}
    assert _iterations(tmp_path) == ([1, 2, 3, 4], [1, 2, 3, 4])


def test_nothing_after_the_checkpoint_leaves_the_files_as_they_are(tmp_path: Path) -> None:
    _logs(tmp_path, 5)
    before = (tmp_path / "result.json").read_bytes(), (tmp_path / "progress.csv").read_bytes()
    assert rollback_trial_logs(str(tmp_path), 5) == {"training_iteration": 5, "loss": 0.2}
    assert rollback_trial_logs(str(tmp_path), 7)["training_iteration"] == 5
    assert (
        (tmp_path / "result.json").read_bytes(),
        (tmp_path / "progress.csv").read_bytes(),
    ) == before


def test_a_torn_last_line_from_a_kill_is_cut(tmp_path: Path) -> None:
    _logs(tmp_path, 3, torn=True)
    assert rollback_trial_logs(str(tmp_path), 5) == {"training_iteration": 3, "loss": 1 / 3}
    assert _iterations(tmp_path) == ([1, 2, 3], [1, 2, 3])
    assert (tmp_path / "result.json").read_text().endswith("\n")


def test_no_logs_or_empty_logs(tmp_path: Path) -> None:
    assert rollback_trial_logs(str(tmp_path), 3) is None
    (tmp_path / "result.json").write_text("")
    (tmp_path / "progress.csv").write_text("training_iteration,loss\n")
    assert rollback_trial_logs(str(tmp_path), 3) is None
    assert (tmp_path / "progress.csv").read_text() == "training_iteration,loss\n"
