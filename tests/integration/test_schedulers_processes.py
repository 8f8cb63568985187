"""Each built-in scheduler with real worker processes: function trainables that report a
checkpoint every step, so that PAUSE resumes them where they paused. Checked on disk: no
result past a STOP, every iteration logged once, resumed trials continue at the right step.
"""

from __future__ import annotations

import json
import os
from typing import Any

import tunelab as tune
from tunelab import Checkpoint
from tunelab.execution import LocalExecutor
from tunelab.schedulers import (
    AsyncHyperBandScheduler,
    HyperBandForBOHB,
    HyperBandScheduler,
    MedianStoppingRule,
    RunnerView,
)

#: held trials end at their rung, or one step later with a runner that cannot stop them
EXTRA = 0 if hasattr(RunnerView, "stop_trial") else 1


def train(config: dict[str, Any]) -> None:
    start = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        start = checkpoint.to_dict()["step"]
    for step in range(start + 1, config["steps"] + 1):
        tune.report(
            {"loss": config["q"] + 1.0 / step, "step": step},
            checkpoint=Checkpoint.from_dict({"step": step}),
        )


def run(scheduler: Any, qualities: list[float], steps: int, tmp_path: Any, **kw: Any) -> list[Any]:
    analysis = tune.run(
        train,
        config={"q": tune.grid_search(qualities), "steps": steps},
        scheduler=scheduler,
        metric="loss",
        mode="min",
        storage_path=str(tmp_path),
        resources_per_trial={"cpu": 1},
        verbose=0,
        **kw,
    )
    trials: list[Any] = analysis.trials
    for trial in trials:
        assert trial.status == "TERMINATED"
        lines = read_lines(trial)
        its = [r["training_iteration"] for r in lines]
        assert its == list(range(1, len(its) + 1))  # each iteration once, nothing past a STOP
        assert [r["step"] for r in lines] == its  # resumed at the step it paused at
    return trials


def read_lines(trial: Any) -> list[dict[str, Any]]:
    with open(os.path.join(trial.local_path, "result.json")) as fh:
        return [json.loads(line) for line in fh]


def last(trial: Any) -> int:
    return int(read_lines(trial)[-1]["training_iteration"])


def resumes(trial: Any) -> int:
    return sum(1 for r in read_lines(trial)[1:] if r["iterations_since_restore"] == 1)


def rung_of(value: int, rungs: tuple[int, ...]) -> int:
    for rung in rungs:
        if value == rung or (value == rung + EXTRA and rung != rungs[-1]):
            return rung
    raise AssertionError(f"a trial ended at iteration {value}, not at a rung of {rungs}")


QUALITIES = [0.5, 0.1, 0.9, 0.3, 0.7, 0.6]


def test_asha_stops_trials_at_rungs_with_no_result_past_the_stop(tmp_path: Any) -> None:
    scheduler = AsyncHyperBandScheduler(max_t=9, grace_period=1, reduction_factor=3, seed=0)
    trials = run(scheduler, QUALITIES, 9, tmp_path)
    lasts = [last(t) for t in trials]
    assert set(lasts) <= {1, 3, 9}
    assert min(lasts) < 9 and max(lasts) == 9


def test_asha_promotion_pauses_and_resumes_from_the_rung_checkpoint(tmp_path: Any) -> None:
    scheduler = AsyncHyperBandScheduler(
        max_t=9, grace_period=1, reduction_factor=3, promotion=True, seed=0
    )
    # one worker: the order of arrivals at the rungs, so the promotions, are fixed
    trials = run(
        scheduler,
        [*QUALITIES, 0.2, 0.8, 0.4],
        9,
        tmp_path,
        executor=LocalExecutor(num_cpus=1),
    )
    ends = {t.config["q"]: rung_of(last(t), (1, 3, 9)) for t in trials}
    assert ends == {0.5: 1, 0.1: 9, 0.9: 1, 0.3: 3, 0.7: 1, 0.6: 1, 0.2: 3, 0.8: 1, 0.4: 1}
    best = next(t for t in trials if t.config["q"] == 0.1)
    # second at rung 1 (floor(2 / 3) = 0 go on): paused, later promoted past rungs 1 and 3
    restarts = [
        r["training_iteration"] for r in read_lines(best) if r["iterations_since_restore"] == 1
    ]
    assert restarts == [1, 2, 4]


def test_hyperband_halves_the_bracket_and_resumes_the_best(tmp_path: Any) -> None:
    qualities = [0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6]
    trials = run(HyperBandScheduler(max_t=9, reduction_factor=3), qualities, 9, tmp_path)
    ends = {t.config["q"]: rung_of(last(t), (1, 3, 9)) for t in trials}
    assert ends == {
        0.1: 9,
        0.2: 3,
        0.3: 3,
        0.4: 1,
        0.5: 1,
        0.6: 1,
        0.7: 1,
        0.8: 1,
        0.9: 1,
    }
    best = next(t for t in trials if t.config["q"] == 0.1)
    restarts = [
        r["training_iteration"] for r in read_lines(best) if r["iterations_since_restore"] == 1
    ]
    # resumed right after the rungs it paused at (not when it was the last to arrive there)
    assert restarts[0] == 1 and set(restarts[1:]) <= {2, 4}
    assert sum(resumes(t) for t in trials) >= 2


def test_hyperband_for_bohb_runs_its_brackets(tmp_path: Any) -> None:
    trials = run(HyperBandForBOHB(max_t=3, reduction_factor=3), [0.3, 0.1, 0.2], 3, tmp_path)
    ends = {t.config["q"]: rung_of(last(t), (1, 3)) for t in trials}
    assert ends == {0.1: 3, 0.2: 1, 0.3: 1}


def test_median_stopping_rule_stops_the_worst_trials(tmp_path: Any) -> None:
    scheduler = MedianStoppingRule(
        time_attr="training_iteration", grace_period=2, min_samples_required=2
    )
    trials = run(scheduler, QUALITIES, 8, tmp_path)
    lasts = {t.config["q"]: last(t) for t in trials}
    assert lasts[0.1] == 8
    assert min(lasts.values()) < 8
