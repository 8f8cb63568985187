"""BayesOptSearch with the real bayesian-optimization library: the conformance suite, real
experiments in worker processes (tunelab and native spaces), Ray Tune's arguments, resume."""

from __future__ import annotations

import math
import sys
from typing import Any

import pytest
from _searcher_checks import drive, learn_quadratic, quadratic, round_trip, run_and_resume, space

import tunelab as tune
from tunelab.search import SearchGenerator, create_searcher
from tunelab.testing.searcher_conformance import check_searcher

pytest.importorskip(
    "bayes_opt", reason="bayesian-optimization is not installed (tunelab[bayesopt])"
)

from tunelab.search.bayesopt import BayesOptSearch

CONFORMANCE_SPACE = {
    "x": tune.uniform(-2.0, 2.0),
    "n": tune.randint(0, 5),
    "nested": {"y": tune.loguniform(0.01, 1.0), "const": 7},
    "double_x": tune.sample_from(lambda config: config["x"] * 2),
}


def conformance_objective(config: dict[str, Any]) -> float:
    return (config["x"] - 0.5) ** 2 + (config["nested"]["y"] - 0.25) ** 2 + 0.1 * config["n"]


@pytest.mark.parametrize("mode", ["min", "max"])
def test_conforms(mode):
    # skip_duplicate=False: a Gaussian process that converges (as it does quickly when
    # maximizing this bowl) would otherwise end the search before num_samples, by design
    check_searcher(
        lambda: BayesOptSearch(
            random_state=0, random_search_steps=3, skip_duplicate=False, patience=50
        ),
        space=CONFORMANCE_SPACE,
        objective=conformance_objective,
        mode=mode,
        num_samples=8,
    )


def test_conforms_with_ray_defaults_when_minimizing():
    check_searcher(
        lambda: BayesOptSearch(random_state=1, random_search_steps=3),
        space={"x": tune.uniform(-2.0, 2.0), "y": tune.quniform(0.0, 1.0, 0.01), "c": 3},
        objective=lambda c: (c["x"] - 0.5) ** 2 + c["y"],
        num_samples=8,
    )


def test_learns_in_a_real_experiment_with_two_workers(tmp_path):
    losses = learn_quadratic(
        BayesOptSearch(random_state=0, random_search_steps=6),
        tmp_path,
        num_samples=16,
        max_concurrent_trials=2,
    )
    # random search with 16 samples gets below 0.5 with probability 22%; the GP does
    assert min(losses) < 0.5
    assert min(losses[6:]) < min(losses[:6])


def test_native_bounds_with_nested_names_in_a_tuner(tmp_path):
    def trainable(config: dict[str, Any]) -> None:
        tune.report({"mean_loss": (config["width"] - 5) ** 2 + abs(config["shape"]["height"])})

    searcher = BayesOptSearch(
        {"width": (0, 20), "shape/height": (-100, 100)},
        metric="mean_loss",
        mode="min",
        utility_kwargs={"kind": "ucb", "kappa": 2.5, "xi": 0.0},
        random_search_steps=3,
    )
    grid = tune.Tuner(
        trainable,
        param_space={"steps": 3},
        tune_config=tune.TuneConfig(search_alg=searcher, num_samples=6),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
    ).fit()
    assert len(grid) == 6 and grid.num_errors == 0
    for result in grid:
        config = result.config
        assert config["steps"] == 3 and 0 <= config["width"] <= 20
        assert -100 <= config["shape"]["height"] <= 100
        assert all(isinstance(v, float) for v in (config["width"], config["shape"]["height"]))


def test_integers_log_scale_and_quantized_values_come_back_in_their_domains():
    config = {
        "lr": tune.loguniform(1e-5, 1e-1),
        "layers": tune.randint(1, 4),
        "width": tune.qrandint(16, 128, 16),
        "dropout": tune.quniform(0.0, 0.5, 0.1),
    }
    configs = drive(
        BayesOptSearch(random_state=3, random_search_steps=4, skip_duplicate=False, patience=50),
        config,
        8,
        lambda c: (math.log10(c["lr"]) + 3) ** 2 + c["layers"] + c["dropout"],
    )
    assert len(configs) == 8
    for c in configs:
        assert 1e-5 <= c["lr"] <= 1e-1
        assert c["layers"] in (1, 2, 3) and c["width"] % 16 == 0 and 16 <= c["width"] <= 128
        assert round(c["dropout"] * 10) == pytest.approx(c["dropout"] * 10)


def test_points_to_evaluate_run_first_and_partial_points_are_completed():
    searcher = BayesOptSearch(
        points_to_evaluate=[{"x": 1.0, "y": -2.0, "tag": "seen"}, {"x": 0.5}],
        random_state=0,
        random_search_steps=3,
    )
    configs = drive(searcher, space(), 4, lambda c: (c["x"] - 1) ** 2 + (c["y"] + 2) ** 2)
    assert configs[0] == {"x": 1.0, "y": -2.0, "tag": "seen"}
    assert configs[1]["x"] == 0.5 and -5 <= configs[1]["y"] < 5 and configs[1]["tag"] == "fixed"
    with pytest.raises(ValueError, match="outside its domain"):
        drive(BayesOptSearch(points_to_evaluate=[{"x": 9.0}]), space(), 2, lambda c: 0.0)


def test_ray_0_8_positional_utility_kwargs_and_legacy_arguments():
    with pytest.warns(FutureWarning, match="use_early_stopped_trials"):
        searcher = BayesOptSearch(
            {"width": (0, 20)},
            "loss",
            "min",
            {"kind": "ei", "kappa": 1.0, "xi": 0.1},
            max_concurrent=2,
            use_early_stopped_trials=True,
        )
    assert searcher.utility_kwargs == {"kind": "ei", "kappa": 1.0, "xi": 0.1}
    gen = SearchGenerator(searcher)
    gen.set_search_properties(None, None, {})
    gen.add_configurations([{"name": "t", "config": {}, "num_samples": 5}])
    first, second = gen.next_trial(), gen.next_trial()
    assert first is not None and second is not None
    assert gen.next_trial() is None  # max_concurrent=2 trials run


def test_a_converged_search_ends_before_num_samples():
    searcher = BayesOptSearch(random_state=0, random_search_steps=2, patience=2)
    gen = SearchGenerator(searcher)
    config = {"n": tune.randint(0, 2)}  # two configurations only
    gen.set_search_properties("loss", "min", config)
    gen.add_configurations([{"name": "t", "config": config, "num_samples": 20}])
    seen = []
    while (trial := gen.next_trial()) is not None:
        seen.append(trial.config["n"])
        gen.on_trial_complete(trial.trial_id, {"loss": float(trial.config["n"])})
    assert gen.is_finished() and 1 <= len(seen) <= 2 and len(set(seen)) == len(seen)


def test_nan_infinite_and_failed_results_are_not_learned():
    searcher = BayesOptSearch(space(), metric="loss", mode="min", random_search_steps=2)
    for value in (math.nan, math.inf):
        searcher.suggest("a")
        searcher.on_trial_complete("a", {"loss": value})
    searcher.suggest("b")
    searcher.on_trial_complete("b", None, error=True)
    searcher.suggest("c")
    searcher.on_trial_complete("c", {"other": 1.0})
    assert searcher.get_state()["history"] == []
    assert isinstance(searcher.suggest("d"), dict)  # no stall after the random phase


def test_state_round_trip_suggests_what_the_original_would():
    config = space()
    original, restored, state = round_trip(
        lambda: BayesOptSearch(random_state=5, random_search_steps=3),
        num_samples=10,
        told=5,
        config=lambda: config,
    )
    assert len(state["history"]) == 5 and state["issued"] == 5
    assert restored.suggest("next") == original.suggest("next")


def test_resumed_experiment_continues_the_same_search(tmp_path):
    # With two trials running, the model is asked again before a result arrives and proposes
    # the same point: by default that counts toward patience=5 (as in Ray) and can end the
    # search early, depending on timing; this test is about resuming, so it waits instead.
    searcher_args: dict[str, Any] = {
        "random_state": 2,
        "random_search_steps": 3,
        "skip_duplicate": False,
        "patience": 50,
    }
    first, second, searcher = run_and_resume(
        lambda: BayesOptSearch(**searcher_args), tmp_path, 5, 8, max_concurrent_trials=2
    )
    assert len(first.trials) == 5
    assert len(second.trials) == 8
    assert [t.config for t in second.trials[:5]] == [t.config for t in first.trials]
    assert len(searcher.get_state()["history"]) == 8


def test_analysis_of_an_earlier_experiment_is_registered(tmp_path):
    earlier = tune.run(
        quadratic,
        config=space(),
        num_samples=4,
        metric="loss",
        mode="min",
        storage_path=str(tmp_path),
        verbose=0,
    )
    searcher = BayesOptSearch(space(), metric="loss", mode="min", analysis=earlier)
    searcher.suggest("first")
    assert len(searcher.get_state()["history"]) == 4
    searcher.add_evaluated_point({"x": 0.0, "y": 0.0, "tag": "fixed"}, 5.0)
    assert len(searcher.get_state()["history"]) == 5


def test_unsupported_spaces_and_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="categorical parameter 'opt'"):
        BayesOptSearch({"opt": tune.choice(["a", "b"]), "x": tune.uniform(0, 1)})
    with pytest.raises(ValueError, match="normal distribution"):
        BayesOptSearch({"x": tune.randn(0, 1)})
    with pytest.raises(TypeError, match=r"\(low, high\)"):
        BayesOptSearch({"x": (0, 1), "y": "constant"})
    with pytest.raises(ValueError, match="low < high"):
        BayesOptSearch({"x": (1, 0)})
    with pytest.raises(ValueError, match=r"`utility_kwargs`.*'nope'"):
        BayesOptSearch(utility_kwargs={"kind": "nope"})
    with pytest.raises(ValueError, match="`patience`"):
        BayesOptSearch(patience=0)
    with pytest.raises(TypeError, match="`random_state`"):
        BayesOptSearch(random_state="seed")
    with pytest.raises(RuntimeError, match="without a search space"):
        BayesOptSearch(metric="loss", mode="min").suggest("t")


def test_missing_library_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "bayes_opt", None)
    with pytest.raises(ImportError, match=r"tunelab\[bayesopt\]"):
        BayesOptSearch()


def test_ray_paths_and_create_searcher():
    from tunelab.suggest.bayesopt import BayesOptSearch as from_suggest

    import tunelab.suggest as suggest

    assert from_suggest is BayesOptSearch and suggest.BayesOptSearch is BayesOptSearch
    searcher = create_searcher("BayesOpt", metric="loss", mode="min", random_state=1)
    assert isinstance(searcher, BayesOptSearch) and searcher.random_state == 1
