"""A simulated run keeps one clock: time budgets and stoppers measure simulated seconds,
never the wall clock (issue 12's "one clock")."""

from __future__ import annotations

import pickle
import time
from typing import Any

import pytest

from tunelab.stopper import CombinedStopper, MaximumIterationStopper, TimeoutStopper
from tunelab.testing import SimulatedExecutor, simulate


def curve(config: dict[str, Any], iteration: int) -> dict[str, Any]:
    return {"loss": config["q"] / iteration}


def _executor() -> SimulatedExecutor:
    # one trial at a time, 10 simulated seconds per iteration, up to 100 iterations
    return SimulatedExecutor(curve, num_cpus=1, time_per_iteration=10.0, max_iterations=100)


def _frozen_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wall clock that never moves: a decision that read it would never end the run."""
    monkeypatch.setattr(time, "time", lambda: 1_000_000.0)


def test_time_budget_counts_simulated_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    _frozen_wall_clock(monkeypatch)
    executor = _executor()
    analysis = simulate(
        curve, config={"q": 1.0}, executor=executor, metric="loss", mode="min", time_budget_s=55
    )
    [trial] = analysis.trials
    # the budget ends the run at the first result at or past 55 simulated seconds
    assert trial.last_result["training_iteration"] == 6
    assert trial.last_result["time_total_s"] == pytest.approx(60.0)
    assert executor.iterations_run <= 7  # at most the iteration running when it stopped


def test_a_user_timeout_stopper_inside_a_combined_stopper_uses_the_run_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _frozen_wall_clock(monkeypatch)
    executor = _executor()
    timeout = TimeoutStopper(35)
    analysis = simulate(
        curve,
        config={"q": 1.0},
        executor=executor,
        metric="loss",
        mode="min",
        stop=CombinedStopper(MaximumIterationStopper(50), timeout),
    )
    assert analysis.trials[0].last_result["training_iteration"] == 4
    # pickled with the experiment, it keeps the simulated time used, not the executor
    restored = pickle.loads(pickle.dumps(timeout))
    assert restored.elapsed() == pytest.approx(40.0)
    assert restored._run_clock is None


def test_a_stopper_given_its_own_clock_keeps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _frozen_wall_clock(monkeypatch)
    own_time = [0.0]
    own = TimeoutStopper(5, clock=lambda: own_time[0])
    analysis = simulate(
        curve, config={"q": 1.0}, executor=_executor(), metric="loss", mode="min", stop=own
    )
    # its own clock never moves: the run ends by max_iterations, not after 5 simulated s
    assert analysis.trials[0].last_result["training_iteration"] == 100
    assert own._run_clock is not None and own.elapsed() == 0.0
