"""BlendSearch and CFO with the real FLAML: the conformance suite, real experiments (tunelab
and flaml.tune spaces, low-cost starting points, constraints, a time budget), resume."""

from __future__ import annotations

import sys
import warnings
from typing import Any

import pytest
from _searcher_checks import drive, learn_quadratic, round_trip, run_and_resume, space

import tunelab as tune
from tunelab.search import ConcurrencyLimiter, SearchGenerator, create_searcher
from tunelab.testing.searcher_conformance import check_searcher

with warnings.catch_warnings():  # flaml warns that its AutoML part (unused here) is missing
    warnings.filterwarnings("ignore", message=r"flaml\.automl is not available")
    flaml = pytest.importorskip("flaml", reason="FLAML is not installed (tunelab[flaml])")
pytest.importorskip("optuna", reason="optuna is not installed (tunelab[flaml])")

from tunelab.search.flaml import CFO, BlendSearch

SEARCHERS = {"blendsearch": BlendSearch, "cfo": CFO}
TIMED = {"time_total_s": 1.0}  # a trial time in each result drive() reports


@pytest.mark.parametrize("name", sorted(SEARCHERS))
@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("concurrency", [1, 2])
def test_conforms(name, mode, concurrency):
    check_searcher(lambda: SEARCHERS[name](seed=1), mode=mode, concurrency=concurrency)


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_learns_in_a_real_experiment(name, tmp_path):
    losses = learn_quadratic(
        SEARCHERS[name](seed=3), tmp_path, num_samples=30, max_concurrent_trials=2
    )
    assert min(losses) < 0.5  # random search: 47% (see test_search_adapters_run)


def test_low_cost_start_points_and_categories_of_any_value():
    config = {
        "n_estimators": tune.lograndint(4, 1000),
        "lr": tune.loguniform(1e-4, 1.0),
        "act": tune.choice([None, {"name": "relu"}, "tanh"]),
        "width": tune.qrandint(16, 128, 16),
    }
    searcher = CFO(low_cost_partial_config={"n_estimators": 4}, seed=0)
    configs = drive(
        searcher,
        config,
        10,
        lambda c: abs(c["lr"] - 0.1) + (c["act"] != {"name": "relu"}) + c["n_estimators"] / 1e3,
        extra=TIMED,
    )
    assert configs[0]["n_estimators"] == 4  # CFO starts at the low-cost point
    for c in configs:
        assert 4 <= c["n_estimators"] <= 1000 and 1e-4 <= c["lr"] < 1.0
        assert c["act"] in (None, {"name": "relu"}, "tanh")
        assert c["width"] % 16 == 0 and 16 <= c["width"] <= 128


def test_points_to_evaluate_with_rewards_and_config_constraints():
    seen: list[dict[str, Any]] = []

    def area(config: dict[str, Any]) -> float:
        seen.append(config)
        return config["x"] * config["opt"]["w"]

    searcher = BlendSearch(
        space={"x": tune.uniform(0, 10), "opt": {"w": tune.uniform(0, 10)}},
        metric="loss",
        mode="min",
        points_to_evaluate=[{"x": 1.0, "opt": {"w": 1.0}}, {"x": 2.0, "opt": {"w": 2.0}}],
        evaluated_rewards=[3.0],
        config_constraints=[(area, "<=", 20.0)],
        seed=2,
    )
    configs = drive(
        searcher, {}, 6, lambda c: (c["x"] - 3) ** 2 + (c["opt"]["w"] - 3) ** 2, extra=TIMED
    )
    assert configs[0] == {"x": 2.0, "opt": {"w": 2.0}}  # the rewarded point is not run again
    assert all(c["x"] * c["opt"]["w"] <= 20.0 + 1e-9 for c in configs)
    assert seen and all(isinstance(c["opt"], dict) for c in seen)


def test_native_flaml_space_and_the_ray_1_x_budget_call(tmp_path):
    from flaml import tune as ftune

    searcher = BlendSearch(
        metric="mean_loss",
        mode="min",
        space={"width": ftune.uniform(0, 20), "activation": ftune.choice(["relu", "tanh"])},
    )
    searcher.set_search_properties(config={"time_budget_s": 30})  # as Ray 1.13's example

    def trainable(config: dict[str, Any]) -> None:
        tune.report({"mean_loss": (config["width"] - 5) ** 2, "steps": config["steps"]})

    analysis = tune.run(
        trainable,
        search_alg=ConcurrencyLimiter(searcher, max_concurrent=2),
        config={"steps": 3},
        metric="mean_loss",
        mode="min",
        num_samples=6,
        storage_path=str(tmp_path),
        verbose=0,
    )
    assert len(analysis.trials) == 6
    for trial in analysis.trials:
        assert 0 <= trial.config["width"] <= 20 and trial.config["activation"] in ("relu", "tanh")
        assert type(trial.config["width"]) is float and trial.config["steps"] == 3


def test_failed_and_metric_less_trials_teach_nothing_and_never_stall():
    searcher = CFO(space=space(), metric="loss", mode="min", seed=0)
    gen = SearchGenerator(searcher)
    gen.set_search_properties(None, None, {})
    gen.add_configurations([{"name": "t", "config": {}, "num_samples": 8}])
    count = 0
    while (trial := gen.next_trial()) is not None:
        count += 1
        if count % 3 == 0:
            gen.on_trial_complete(trial.trial_id, None, error=True)
        elif count % 3 == 1:
            gen.on_trial_complete(trial.trial_id, {"other": 1.0})
        else:
            gen.on_trial_complete(trial.trial_id, {"loss": trial.config["x"] ** 2})
    assert count == 8


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_state_round_trip_suggests_what_the_original_would(name):
    original, restored, _ = round_trip(lambda: SEARCHERS[name](seed=4), num_samples=12, told=6)
    assert restored.suggest("next") == original.suggest("next")


def test_resumed_experiment_continues_the_same_search(tmp_path):
    first, second, _ = run_and_resume(lambda: BlendSearch(seed=5), tmp_path, 5, 9)
    assert len(second.trials) == 9
    assert [t.config for t in second.trials[:5]] == [t.config for t in first.trials]


def test_clear_errors():
    with pytest.raises(ValueError, match="normal distribution"):
        BlendSearch(space={"x": tune.randn()})
    with pytest.raises(TypeError, match=r"flaml\.tune domains"):
        CFO(space={"x": 1})
    with pytest.raises(ValueError, match="one reward per point"):
        CFO(points_to_evaluate=[{"x": 1.0}], evaluated_rewards=[1.0, 2.0])
    with pytest.raises(RuntimeError, match="without a search space"):
        CFO(metric="loss", mode="min").suggest("t")


def test_missing_library_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "flaml", None)
    with pytest.raises(ImportError, match=r"tunelab\[flaml\]"):
        BlendSearch()


def test_missing_optuna_names_the_extra_for_blendsearch_only(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ImportError, match=r"tunelab\[flaml\]"):
        BlendSearch()
    assert isinstance(CFO(), CFO)  # CFO has no global search: no optuna needed


def test_ray_paths_and_create_searcher():
    from tunelab.suggest.flaml import CFO as suggest_cfo
    from tunelab.suggest.flaml import BlendSearch as suggest_blend

    import tunelab.suggest as suggest

    assert suggest_blend is BlendSearch and suggest_cfo is CFO and suggest.CFO is CFO
    assert isinstance(create_searcher("blendsearch", metric="loss", mode="min"), BlendSearch)
    assert isinstance(create_searcher("CFO", metric="loss", mode="min"), CFO)
