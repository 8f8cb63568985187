"""Hand-made experiment directories for the analysis tests (shared, not a test module)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tunelab._trial import Trial, TrialStatus

# Four trials of 12 results each, chosen so that every scope picks a different best (max):
# last -> c (11), avg -> a (8.33), last-5-avg -> b (10), last-10-avg -> d (7), all -> a (100).
SCORES = {
    "a": [100.0] + [0.0] * 11,
    "b": [0.0] * 6 + [10.0] * 6,
    "c": [0.0] * 11 + [11.0],
    "d": [7.0] * 12,
}


def _results(trial_id: str, config: dict[str, Any], scores: list[float]) -> list[dict[str, Any]]:
    return [
        {
            "score": score,
            "nested": {"inner": {"value": -score}},
            "training_iteration": i + 1,
            "trial_id": trial_id,
            "config": config,
        }
        for i, score in enumerate(scores)
    ]


def write_trial_dir(
    trial_dir: Path,
    results: list[dict[str, Any]],
    config: dict[str, Any],
    checkpoints: tuple[int, ...] = (),
    error: str | None = None,
) -> None:
    trial_dir.mkdir(parents=True, exist_ok=True)
    with open(trial_dir / "result.json", "w") as handle:
        for row in results:
            handle.write(json.dumps(row) + "\n")
    (trial_dir / "params.json").write_text(json.dumps(config))
    for iteration in checkpoints:
        (trial_dir / f"checkpoint_{iteration:06d}").mkdir()
    if error is not None:
        (trial_dir / "error.txt").write_text(error)


def make_experiment(
    root: Path,
    scores: dict[str, list[float]] | None = None,
    *,
    metric: str | None = "score",
    mode: str | None = "max",
    checkpoints: dict[str, tuple[int, ...]] | None = None,
    statuses: dict[str, TrialStatus] | None = None,
    errors: dict[str, str] | None = None,
    write_state: bool = True,
) -> tuple[Path, list[Trial]]:
    """Write an experiment directory by hand; return it and the live trial records."""
    exp = root / "exp"
    exp.mkdir()
    trials = []
    for index, (name, values) in enumerate((scores or SCORES).items()):
        trial_id = f"id_{name}"
        config = {"lr": 0.1 * (index + 1), "model": {"depth": index}}
        dirname = f"train_{trial_id}_{index}_lr={config['lr']:.1f}"
        results = _results(trial_id, config, values)
        write_trial_dir(
            exp / dirname,
            results,
            config,
            (checkpoints or {}).get(name, ()),
            (errors or {}).get(name),
        )
        trial = Trial(
            "train",
            trial_id=trial_id,
            config=config,
            experiment_path=str(exp),
            dirname=dirname,
            experiment_tag=f"{index}_lr={config['lr']}",
        )
        for row in results:
            trial.update_last_result(row)
        trial.status = (statuses or {}).get(name, TrialStatus.TERMINATED)
        if trial.status is TrialStatus.ERROR:
            trial.error_msg = "boom"
        trials.append(trial)
    if write_state:
        state = {
            "version": 1,
            "name": "exp",
            "metric": metric,
            "mode": mode,
            "trials": [t.to_state() for t in trials],
        }
        (exp / "experiment_state.json").write_text(json.dumps(state))
    return exp, trials
