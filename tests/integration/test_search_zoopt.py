"""ZOOptSearch with the real zoopt: the conformance suite (sequential and concurrent), real
experiments with tunelab and ZOOpt spaces, isolation of ZOOpt's global random state, failed
trials, resume."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from _searcher_checks import (
    check_every_kind,
    drive,
    every_kind_space,
    learn_quadratic,
    round_trip,
    run_and_resume,
    space,
)

import tunelab as tune
from tunelab.search import SearchGenerator, create_searcher
from tunelab.testing.searcher_conformance import check_searcher

zoopt = pytest.importorskip("zoopt", reason="zoopt is not installed (tunelab[zoopt])")
np = pytest.importorskip("numpy")

from tunelab.search.zoopt import ZOOptSearch  # noqa: E402


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("concurrency", [1, 2])
@pytest.mark.parametrize("parallel_num", [1, 2])
def test_conforms(mode, concurrency, parallel_num):
    check_searcher(
        lambda: ZOOptSearch(budget=12, random_state_seed=0, parallel_num=parallel_num),
        mode=mode,
        concurrency=concurrency,
    )


def test_learns_in_a_real_experiment(tmp_path):
    losses = learn_quadratic(
        ZOOptSearch(budget=40, parallel_num=2, random_state_seed=1),
        tmp_path,
        num_samples=40,
        max_concurrent_trials=1,  # deterministic: results in suggestion order
    )
    assert min(losses) < 0.5  # random search: 47% (see test_search_adapters_run)
    assert sorted(losses[-10:])[5] < sorted(losses[:10])[5]


def test_ray_dim_dict_with_nested_names_in_a_tuner(tmp_path):
    def trainable(config: dict[str, Any]) -> None:
        tune.report({"mean_loss": (config["width"] - 5) ** 2 + abs(config["net"]["height"])})

    vt = zoopt.ValueType
    dim_dict = {
        "net/height": (vt.CONTINUOUS, [-10, 10], 1e-2),
        "width": (vt.DISCRETE, [0, 10], False),
        "layers": (vt.GRID, [4, 8, 16]),
    }
    searcher = ZOOptSearch(
        algo="Asracos", budget=8, dim_dict=dim_dict, metric="mean_loss", mode="min"
    )
    grid = tune.Tuner(
        trainable,
        param_space={"steps": 3},
        tune_config=tune.TuneConfig(search_alg=searcher, num_samples=8),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
    ).fit()
    assert len(grid) == 8 and grid.num_errors == 0
    for result in grid:
        config = result.config
        assert type(config["width"]) is int and 0 <= config["width"] <= 10
        assert config["layers"] in (4, 8, 16) and type(config["layers"]) is int
        assert -10 <= config["net"]["height"] <= 10 and config["steps"] == 3
        assert round(config["net"]["height"], 2) == config["net"]["height"]


def test_tunelab_domains_of_every_kind():
    configs = drive(
        ZOOptSearch(budget=10, random_state_seed=3),
        every_kind_space(),
        10,
        lambda c: c["lr"] + c["width"] / 100 + c["units"] / 1000,
    )
    assert len(configs) == 10
    check_every_kind(configs)


def test_same_seed_same_search_and_the_global_random_state_is_untouched():
    np.random.seed(123)
    expected_next = np.random.random()
    np.random.seed(123)
    first = drive(ZOOptSearch(budget=10, random_state_seed=7), space(), 10, lambda c: c["x"] ** 2)
    assert np.random.random() == expected_next  # ZOOpt drew from its own generator
    second = drive(ZOOptSearch(budget=10, random_state_seed=7), space(), 10, lambda c: c["x"] ** 2)
    assert first == second


def test_points_to_evaluate_are_the_initial_samples():
    searcher = ZOOptSearch(
        budget=8, random_state_seed=0, points_to_evaluate=[{"x": 1.0, "y": -2.0}, {"x": 0.5}]
    )
    configs = drive(searcher, space(), 4, lambda c: c["x"] ** 2)
    assert configs[0] == {"x": 1.0, "y": -2.0, "tag": "fixed"}
    assert configs[1]["x"] == 0.5 and -5 <= configs[1]["y"] < 5


def test_failed_trials_count_as_the_worst_and_never_stall():
    searcher = ZOOptSearch(
        budget=8, dim_dict=space(), metric="loss", mode="min", random_state_seed=0
    )
    gen = SearchGenerator(searcher)
    gen.set_search_properties(None, None, {})
    gen.add_configurations([{"name": "t", "config": {}, "num_samples": 8}])
    seen = 0
    while (trial := gen.next_trial()) is not None:
        seen += 1
        if seen % 2:
            gen.on_trial_complete(trial.trial_id, None, error=True)
        else:
            gen.on_trial_complete(trial.trial_id, {"loss": trial.config["x"] ** 2})
    assert seen == 8 and gen.is_finished()


def test_state_round_trip_suggests_what_the_original_would():
    original, restored, _ = round_trip(
        lambda: ZOOptSearch(budget=10, random_state_seed=4), num_samples=10, told=6
    )
    assert restored.suggest("next") == original.suggest("next")
    assert restored.best_solution() == original.best_solution() is not None


def test_resumed_experiment_continues_the_same_search(tmp_path):
    first, second, searcher = run_and_resume(
        lambda: ZOOptSearch(budget=10, random_state_seed=2), tmp_path, 5, 10
    )
    assert len(second.trials) == 10
    assert [t.config for t in second.trials[:5]] == [t.config for t in first.trials]
    assert searcher._optimizer.complete_num == 10


def test_clear_errors():
    with pytest.raises(ValueError, match=r"`budget` of ZOOptSearch\(\) is required"):
        ZOOptSearch()
    with pytest.raises(ValueError, match="must be >= 3"):
        ZOOptSearch(budget=2)
    with pytest.raises(ValueError, match="`algo`"):
        ZOOptSearch(algo="racos", budget=10)
    with pytest.raises(ValueError, match=r"zoopt\.Parameter"):
        ZOOptSearch(budget=10, no_such_argument=1)
    with pytest.raises(ValueError, match="normal distribution"):
        ZOOptSearch(budget=10, dim_dict={"x": tune.randn()})
    with pytest.raises(TypeError, match=r"ValueType\.CONTINUOUS"):
        ZOOptSearch(budget=10, dim_dict={"x": (1, 2, 3, 4)})


def test_missing_library_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "zoopt", None)
    with pytest.raises(ImportError, match=r"tunelab\[zoopt\]"):
        ZOOptSearch(budget=10)


def test_ray_paths_and_create_searcher():
    from tunelab.suggest.zoopt import ZOOptSearch as from_suggest

    import tunelab.suggest as suggest

    assert from_suggest is ZOOptSearch and suggest.ZOOptSearch is ZOOptSearch
    searcher = create_searcher("zoopt", budget=20, metric="loss", mode="min")
    assert isinstance(searcher, ZOOptSearch) and searcher.budget == 20
