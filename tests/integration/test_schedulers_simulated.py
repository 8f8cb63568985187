"""Whole experiments of scheduler decisions through ``tune.run`` on the SimulatedExecutor:
learning curves instead of training, simulated time, milliseconds per experiment."""

from __future__ import annotations

import itertools
import json
import os
import random
from collections import Counter
from typing import Any

import pytest

import tunelab as tune
from tunelab import TuneError
from tunelab.schedulers import (
    AsyncHyperBandScheduler,
    FIFOScheduler,
    HyperBandScheduler,
    MedianStoppingRule,
    RunnerView,
)
from tunelab.search import BasicVariantGenerator
from tunelab.testing import SimulatedExecutor, simulate, simulated_trainable

#: with a runner that can stop held trials, they end exactly at their rung; without, they
#: are resumed and stopped at the first result they report (one iteration later)
VIEW_CAN_STOP = hasattr(RunnerView, "stop_trial")
EXTRA = 0 if VIEW_CAN_STOP else 1

QUALITIES = [0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6]


def curve(config: dict[str, Any], iteration: int) -> dict[str, Any]:
    return {"loss": config["q"] + 1.0 / iteration}


def noisy_curve(config: dict[str, Any], iteration: int) -> dict[str, Any]:
    rng = random.Random(f"{config['q']!r}-{iteration}")
    return {"loss": config["q"] + 1.0 / iteration + rng.gauss(0, 0.05)}


def read_lines(trial: Any) -> list[dict[str, Any]]:
    with open(os.path.join(trial.local_path, "result.json")) as fh:
        return [json.loads(line) for line in fh]


def run(scheduler: Any, *, num_cpus: int = 2, qualities: list[float] = QUALITIES, **kw: Any) -> Any:
    executor = kw.pop("executor", None) or SimulatedExecutor(
        kw.pop("curves", curve), num_cpus=num_cpus, max_iterations=kw.pop("max_iterations", 9)
    )
    return tune.run(
        simulated_trainable,
        config={"q": tune.grid_search(qualities)},
        scheduler=scheduler,
        metric="loss",
        mode="min",
        executor=executor,
        verbose=0,
        **kw,
    )


def iterations(trial: Any) -> list[int]:
    return [r["training_iteration"] for r in read_lines(trial)]


def rung_of(last: int, rungs: tuple[int, ...]) -> int:
    """The rung a trial ended at (allowing the one extra iteration of the fallback)."""
    for rung in rungs:
        if last == rung or (last == rung + EXTRA and rung != rungs[-1]):
            return rung
    raise AssertionError(f"a trial ended at iteration {last}, not at a rung of {rungs}")


# -- ASHA ------------------------------------------------------------------------------------
def test_asha_stops_bad_trials_at_the_rungs_the_policy_chose() -> None:
    analysis = run(AsyncHyperBandScheduler(max_t=9, grace_period=1, reduction_factor=3), num_cpus=1)
    by_q = {t.config["q"]: t for t in analysis.trials}
    for trial in analysis.trials:
        its = iterations(trial)
        assert its == list(range(1, len(its) + 1))  # nothing past the STOP, nothing twice
        assert its[-1] in (1, 3, 9)
        assert trial.status == "TERMINATED"
    assert iterations(by_q[0.1])[-1] == 9
    assert iterations(by_q[0.9])[-1] == 1
    # replaying the rung results through the pure policy gives the same stops
    replay = AsyncHyperBandScheduler(
        max_t=9, grace_period=1, reduction_factor=3, metric="loss", mode="min"
    )
    view = RunnerView(lambda status: iter(()), [])
    for trial in analysis.trials:  # one CPU: trials ran one after another
        twin = tune.Trial("replay", trial_id=trial.trial_id)
        replay.on_trial_add(view, twin)
        expected_last = 9
        for line in read_lines(trial):
            at_rung = line["training_iteration"] in (1, 3, 9)
            if at_rung and replay.on_trial_result(view, twin, line) == "STOP":
                expected_last = line["training_iteration"]
                break
        assert iterations(trial)[-1] == expected_last


def test_asha_promotion_pauses_at_rungs_and_resumes_the_best_from_checkpoints() -> None:
    scheduler = AsyncHyperBandScheduler(max_t=9, grace_period=1, reduction_factor=3, promotion=True)
    analysis = run(scheduler)
    resumed = 0
    ends = Counter()
    for trial in analysis.trials:
        lines = read_lines(trial)
        its = [r["training_iteration"] for r in lines]
        assert its == list(range(1, len(its) + 1))  # each iteration once, resumed in place
        ends[rung_of(its[-1], (1, 3, 9))] += 1
        for before, after in itertools.pairwise(lines):
            if after["iterations_since_restore"] == 1:
                resumed += 1  # resumed from the checkpoint taken where it paused
                assert before["training_iteration"] in (1, 3)
        assert trial.status == "TERMINATED"
    assert resumed >= 3
    assert ends[9] >= 1 and ends[1] >= 5
    best = min(analysis.trials, key=lambda t: t.config["q"])
    assert iterations(best)[-1] == 9


def test_asha_brackets_use_their_own_rungs() -> None:
    analysis = run(
        AsyncHyperBandScheduler(max_t=9, grace_period=1, reduction_factor=3, brackets=2, seed=1),
        num_cpus=1,
        qualities=QUALITIES * 2,
    )
    lasts = {iterations(t)[-1] for t in analysis.trials}
    assert lasts <= {1, 3, 9}
    assert 3 in lasts and 9 in lasts


# -- HyperBand -------------------------------------------------------------------------------
def test_hyperband_fills_brackets_and_halves_them_synchronously() -> None:
    qualities = [round(0.05 * i, 2) for i in range(14)]
    random.Random(0).shuffle(qualities)
    analysis = run(HyperBandScheduler(max_t=9, reduction_factor=3), qualities=qualities)
    trials = analysis.trials
    assert len(trials) == 14
    first = Counter(rung_of(iterations(t)[-1], (1, 3, 9)) for t in trials[:9])
    second = Counter(rung_of(iterations(t)[-1], (3, 9)) for t in trials[9:])
    assert first == {1: 6, 3: 2, 9: 1}  # 9 trials: best 3 go past 1, best 1 past 3
    assert second == {3: 3, 9: 2}  # 5 trials start at milestone 3: best 2 go on
    for trial in trials:
        its = iterations(trial)
        assert its == list(range(1, len(its) + 1))
    # in each bracket, the best trial (lowest q) ran to max_t
    assert iterations(min(trials[:9], key=lambda t: t.config["q"]))[-1] == 9


def test_hyperband_with_checkpoints_resumes_from_the_pause() -> None:
    analysis = run(HyperBandScheduler(max_t=9, reduction_factor=3))
    best = min(analysis.trials, key=lambda t: t.config["q"])
    lines = read_lines(best)
    assert [r["training_iteration"] for r in lines] == list(range(1, 10))
    restarts = [r["training_iteration"] for r in lines if r["iterations_since_restore"] == 1]
    assert restarts == [1, 2, 4]  # started, resumed after rung 1, resumed after rung 3
    assert [r["time_total_s"] for r in lines] == [float(i) for i in range(1, 10)]


# -- median stopping -------------------------------------------------------------------------
def test_median_stopping_rule_stops_trials_worse_than_the_median() -> None:
    def seconds(config: dict[str, Any], iteration: int) -> float:
        return 2.0 if config["q"] > 0.5 else 1.0

    executor = SimulatedExecutor(curve, num_cpus=3, time_per_iteration=seconds, max_iterations=20)
    analysis = run(MedianStoppingRule(grace_period=4.0, min_samples_required=2), executor=executor)
    for trial in analysis.trials:
        lines = read_lines(trial)
        step = 2.0 if trial.config["q"] > 0.5 else 1.0
        assert [r["time_total_s"] for r in lines] == [step * (i + 1) for i in range(len(lines))]
    lasts = {t.config["q"]: iterations(t)[-1] for t in analysis.trials}
    assert lasts[0.1] == 20 and lasts[0.2] == 20
    assert lasts[0.9] < 20 and lasts[0.8] < 20


# -- determinism -----------------------------------------------------------------------------
class Record(tune.Callback):
    def __init__(self) -> None:
        self.seen: list[tuple[str, int, float]] = []

    def on_trial_result(self, iteration, trials, trial, result, **info):  # type: ignore[no-untyped-def]
        self.seen.append((trial.experiment_tag, result["training_iteration"], result["loss"]))


@pytest.mark.parametrize(
    "make",
    [
        lambda: AsyncHyperBandScheduler(max_t=27, reduction_factor=3, brackets=3, seed=3),
        lambda: AsyncHyperBandScheduler(max_t=27, reduction_factor=3, promotion=True, seed=3),
        lambda: HyperBandScheduler(max_t=27, reduction_factor=3),
        lambda: MedianStoppingRule(time_attr="training_iteration", grace_period=3),
    ],
    ids=["asha", "asha-promotion", "hyperband", "median"],
)
def test_same_seed_and_curves_give_identical_decisions(make: Any, tmp_path: Any) -> None:
    def once(name: str) -> tuple[list[Any], list[Any], float]:
        record = Record()
        executor = SimulatedExecutor(noisy_curve, num_cpus=3, max_iterations=27)
        analysis = tune.run(
            simulated_trainable,
            name=name,
            storage_path=str(tmp_path),
            config={"q": tune.uniform(0, 1)},
            num_samples=24,
            search_alg=BasicVariantGenerator(random_state=7),
            scheduler=make(),
            metric="loss",
            mode="min",
            executor=executor,
            callbacks=[record],
            verbose=0,
        )
        ends = [(t.experiment_tag, t.status.value, t.last_result["training_iteration"])
                for t in analysis.trials]  # fmt: skip
        return record.seen, ends, executor.now

    first, second = once("a"), once("b")
    assert first == second
    assert any(last < 27 for _, _, last in first[1])  # the scheduler did cut trials short


# -- the executor itself ---------------------------------------------------------------------
def test_stop_criteria_max_iterations_and_the_simulated_clock() -> None:
    executor = SimulatedExecutor(curve, num_cpus=1, time_per_iteration=2.0, max_iterations=6)
    analysis = run(FIFOScheduler(), executor=executor, qualities=[0.1, 0.2], stop={"loss": 99})
    for trial in analysis.trials:
        lines = read_lines(trial)
        assert [r["training_iteration"] for r in lines] == [1, 2, 3, 4, 5, 6]
        assert [r["done"] for r in lines] == [False] * 5 + [True]
        assert lines[-1]["time_total_s"] == 12.0 and lines[-1]["time_this_iter_s"] == 2.0
        assert lines[0]["trial_id"] == trial.trial_id and lines[0]["hostname"] == "simulated"
    assert executor.simulated_clock() == 24.0  # two trials, one after the other
    assert executor.iterations_run == 12
    stopped = run(FIFOScheduler(), qualities=[0.1], stop={"training_iteration": 4})
    lines = read_lines(stopped.trials[0])
    assert [r["training_iteration"] for r in lines] == [1, 2, 3, 4] and lines[-1]["done"]


def test_recorded_curves_pick_their_table_row_and_end_with_it() -> None:
    table = {
        "short": [{"loss": 3.0}, {"loss": 2.0}],
        "long": [{"loss": 1.0 / i} for i in range(1, 8)],
    }
    analysis = tune.run(
        simulated_trainable,
        config={"curve": tune.grid_search(["short", "long"])},
        executor=SimulatedExecutor(table, max_iterations=5),
        verbose=0,
    )
    lengths = {t.config["curve"]: len(read_lines(t)) for t in analysis.trials}
    assert lengths == {"short": 2, "long": 5}


def test_a_failing_curve_is_retried_from_the_latest_checkpoint() -> None:
    failed: set[float] = set()

    def flaky(config: dict[str, Any], iteration: int) -> dict[str, Any]:
        if iteration == 5 and config["q"] not in failed:
            failed.add(config["q"])
            raise RuntimeError("simulated crash")
        return curve(config, iteration)

    executor = SimulatedExecutor(flaky, max_iterations=9, checkpoint_every=2)
    analysis = run(FIFOScheduler(), executor=executor, qualities=[0.1], max_failures=1)
    (trial,) = analysis.trials
    assert trial.status == "TERMINATED" and trial.num_failures == 1
    lines = read_lines(trial)
    assert [r["training_iteration"] for r in lines] == list(range(1, 10))
    assert lines[4]["iterations_since_restore"] == 1  # restarted after the checkpoint at 4
    with open(os.path.join(trial.local_path, "error.txt")) as fh:
        assert "simulated crash" in fh.read()

    def broken(config: dict[str, Any], iteration: int) -> dict[str, Any]:
        raise ValueError("no curve")

    with pytest.raises(TuneError, match="did not complete"):
        run(FIFOScheduler(), curves=broken, qualities=[0.1])


def test_a_scheduler_that_holds_trials_forever_is_reported_not_hung() -> None:
    class HoldsForever(FIFOScheduler):
        def decision_points(self):  # type: ignore[no-untyped-def]
            return None

        def on_trial_result(self, runner, trial, result):  # type: ignore[no-untyped-def]
            return "PAUSE"

        def choose_trial_to_run(self, runner):  # type: ignore[no-untyped-def]
            return next(iter(runner.pending_trials()), None)

    executor = SimulatedExecutor(curve, max_iterations=5, max_idle_polls=50)
    with pytest.raises(TuneError, match="stalled"):
        run(HoldsForever(), executor=executor, qualities=[0.1])


def test_simulate_runs_tune_run_on_curves() -> None:
    analysis = simulate(
        curve,
        {"q": tune.grid_search([0.3, 0.1])},
        scheduler=AsyncHyperBandScheduler(max_t=9, reduction_factor=3),
        metric="loss",
        mode="min",
        max_iterations=9,
    )
    assert analysis.get_best_config(metric="loss", mode="min") == {"q": 0.1}


@pytest.mark.parametrize(
    ("kwargs", "error", "word"),
    [
        ({"curves": 5}, TypeError, "curves"),
        ({"num_cpus": 0}, ValueError, "num_cpus"),
        ({"time_per_iteration": 0}, ValueError, "time_per_iteration"),
        ({"max_iterations": 0}, ValueError, "max_iterations"),
        ({"max_iterations": 2.5}, TypeError, "max_iterations"),
        ({"num_gpus": -1}, ValueError, "num_gpus"),
        ({"checkpoint_every": -1}, ValueError, "checkpoint_every"),
    ],
)
def test_simulated_executor_validates_its_arguments(
    kwargs: dict[str, Any], error: type, word: str
) -> None:
    curves = kwargs.pop("curves", curve)
    with pytest.raises(error, match=word):
        SimulatedExecutor(curves, **kwargs)


def test_the_placeholder_trainable_refuses_to_run_for_real() -> None:
    with pytest.raises(RuntimeError, match="SimulatedExecutor"):
        simulated_trainable({})


# -- runner.reconfigure_trial ------------------------------------------------------------------
class _MovePaused(FIFOScheduler):
    """Pauses the q=0.9 trial at iteration 3, then asks the controller to restart it from
    its checkpoint with q=0.05 (what PBT's synch mode does with the trials at a barrier)."""

    def __init__(self, *, reconfigure_running: bool = False) -> None:
        super().__init__()
        self.reconfigure_running = reconfigure_running
        self.moved = False

    def decision_points(self) -> Any:
        return None  # every result

    def on_trial_result(self, runner: Any, trial: Any, result: dict[str, Any]) -> Any:
        if trial.config["q"] == 0.9 and result["training_iteration"] == 3 and not self.moved:
            if self.reconfigure_running:
                runner.reconfigure_trial(trial, tune.schedulers.Reconfigure(config={"q": 0.05}))
            return "PAUSE"
        return "CONTINUE"

    def choose_trial_to_run(self, runner: Any) -> Any:
        for trial in runner.paused_trials():
            if not self.moved:
                self.moved = True
                runner.reconfigure_trial(
                    trial, tune.schedulers.Reconfigure(config={"q": 0.05}, tag_suffix="@moved")
                )
                assert trial.status == "PENDING" and trial.config == {"q": 0.05}
        return super().choose_trial_to_run(runner)


def test_a_scheduler_restarts_a_paused_trial_with_a_new_config_through_the_runner() -> None:
    analysis = run(_MovePaused(), qualities=[0.5, 0.9], num_cpus=1)
    moved = next(t for t in analysis.trials if t.experiment_tag.endswith("@moved"))
    lines = read_lines(moved)
    assert [r["training_iteration"] for r in lines] == list(range(1, 10))  # each once
    assert [r["config"]["q"] for r in lines] == [0.9] * 3 + [0.05] * 6
    assert moved.config == {"q": 0.05} and moved.status == "TERMINATED"
    assert lines[-1]["loss"] == pytest.approx(0.05 + 1 / 9)


def test_reconfiguring_a_running_trial_through_the_runner_is_an_error() -> None:
    with pytest.raises(ValueError, match="only PENDING or PAUSED"):
        run(_MovePaused(reconfigure_running=True), qualities=[0.5, 0.9], num_cpus=1)


# -- PBT time-shares a population larger than the resources ------------------------------------
def test_pbt_advances_a_population_larger_than_the_cpus_together() -> None:
    from tunelab.schedulers import PopulationBasedTraining

    arrivals: list[tuple[float, int]] = []

    class Arrivals(tune.Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):  # type: ignore[no-untyped-def]
            arrivals.append((trial.config["x"], result["training_iteration"]))

    executor = SimulatedExecutor(
        lambda config, t: {"acc": config["x"] * t}, num_cpus=2, max_iterations=6, checkpoint_every=2
    )
    pbt = PopulationBasedTraining(
        time_attr="training_iteration",
        perturbation_interval=2,
        hyperparam_mutations={"x": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]},
        seed=0,
        log_config=False,
    )
    analysis = tune.run(
        simulated_trainable,
        config={"x": tune.grid_search([0.1, 0.6, 0.2, 0.5, 0.3, 0.4])},
        scheduler=pbt,
        metric="acc",
        mode="max",
        executor=executor,
        callbacks=[Arrivals()],
        verbose=0,
    )
    assert all(t.status == "TERMINATED" for t in analysis.trials)
    # nobody trains past a perturbation point (2, 4) before all six have reached it
    iterations = [it for _, it in arrivals]
    assert max(iterations[: iterations.index(3)]) == 2
    assert iterations[: iterations.index(3)].count(2) == 6
    assert iterations[: iterations.index(5)].count(4) >= 6
