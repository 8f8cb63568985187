"""SkOptSearch with the real scikit-optimize: the conformance suite, a real experiment, an
Optimizer instance with names (0.8 and 1.x spellings), evaluated rewards, resume."""

from __future__ import annotations

import math
import statistics
import sys
from typing import Any

import pytest
from _searcher_checks import drive, learn_quadratic, round_trip, run_and_resume, space

import tunelab as tune
from tunelab.search import create_searcher
from tunelab.testing.searcher_conformance import check_searcher

skopt = pytest.importorskip("skopt", reason="scikit-optimize is not installed (tunelab[skopt])")

from tunelab.search.skopt import SkOptSearch  # noqa: E402

FAST = {"n_initial_points": 3, "random_state": 0, "acq_optimizer": "sampling"}


@pytest.mark.parametrize("mode", ["min", "max"])
def test_conforms_on_the_default_space(mode):
    # the default space: a float, an int, a stepped int, a category, a constant, sample_from
    check_searcher(lambda: SkOptSearch(optimizer_kwargs=FAST), mode=mode, num_samples=6)


def test_learns_in_a_real_experiment(tmp_path):
    losses = learn_quadratic(
        SkOptSearch(optimizer_kwargs={"n_initial_points": 5, "random_state": 1}),
        tmp_path,
        num_samples=12,
        max_concurrent_trials=1,  # one at a time: each suggestion sees every result
    )
    # the Gaussian process's points beat the 5 random ones (the best and the typical one)
    assert min(losses[5:]) < min(losses[:5])
    assert statistics.median(losses[5:]) < statistics.median(losses[:5])


def test_parallel_trials_get_distinct_points():
    searcher = SkOptSearch(space=space(), metric="loss", mode="min", optimizer_kwargs=FAST)
    for trial_id in ("a", "b", "c"):
        searcher.suggest(trial_id)
        searcher.on_trial_complete(trial_id, {"loss": 1.0 + len(trial_id)})
    running = [searcher.suggest(trial_id) for trial_id in ("d", "e", "f")]
    assert len({(c["x"], c["y"]) for c in running}) == 3  # scikit-optimize alone repeats one


def test_optimizer_instance_with_names_and_0_8_list_points(tmp_path):
    def trainable(config: dict[str, Any]) -> None:
        tune.report({"mean_loss": (config["width"] - 5) ** 2 + abs(config["height"])})

    optimizer = skopt.Optimizer([(0, 20), (-100, 100)], random_state=0, n_initial_points=4)
    searcher = SkOptSearch(
        optimizer,
        ["width", "height"],
        metric="mean_loss",
        mode="min",
        points_to_evaluate=[[10, 0], [15, -20]],
        evaluated_rewards=[25, 120],
    )
    analysis = tune.run(
        trainable,
        search_alg=searcher,
        config={"steps": 3},
        num_samples=4,
        storage_path=str(tmp_path),
        verbose=0,
    )
    assert len(analysis.trials) == 4
    for trial in analysis.trials:
        width, height = trial.config["width"], trial.config["height"]
        assert type(width) is int and type(height) is int  # convert_to_python
        assert 0 <= width <= 20 and -100 <= height <= 100 and trial.config["steps"] == 3
    # the two rewarded points were told, not run; the trials were told too
    assert [list(x) for x in optimizer.Xi[:2]] == [[10, 0], [15, -20]]
    assert optimizer.yi[:2] == [25, 120] and len(optimizer.yi) == 6


def test_points_to_evaluate_run_first_and_rewards_follow_the_mode():
    searcher = SkOptSearch(
        points_to_evaluate=[{"x": 1.0, "y": -2.0}, {"x": 0.5}],
        optimizer_kwargs=FAST,
    )
    configs = drive(searcher, space(), 3, lambda c: c["x"] ** 2)
    assert configs[0] == {"x": 1.0, "y": -2.0, "tag": "fixed"}
    assert configs[1]["x"] == 0.5 and -5 <= configs[1]["y"] < 5

    told = SkOptSearch(
        space=space(),
        metric="loss",
        mode="max",
        points_to_evaluate=[{"x": 1.0, "y": 1.0}],
        evaluated_rewards=[3.0],
        optimizer_kwargs=FAST,
    )
    told.suggest("a")
    assert told._get_optimizer().yi == [-3.0]  # negated: scikit-optimize minimizes


def test_native_dict_space_with_categories_priors_and_nesting():
    searcher = SkOptSearch(
        space={"lr": (1e-4, 1e-1, "log-uniform"), "opt": ["sgd", "adam"], "net/layers": (1, 4)},
        metric="loss",
        mode="min",
        optimizer_kwargs=FAST,
    )
    configs = drive(searcher, {}, 5, lambda c: c["lr"] + (c["opt"] == "sgd") + c["net"]["layers"])
    for config in configs:
        assert 1e-4 <= config["lr"] <= 1e-1 and config["opt"] in ("sgd", "adam")
        assert config["net"]["layers"] in (1, 2, 3, 4) and type(config["net"]["layers"]) is int


def test_tunelab_domains_of_every_kind():
    config = {
        "lr": tune.loguniform(1e-5, 1e-1),
        "width": tune.qrandint(16, 128, 16),
        "act": tune.choice([None, {"name": "relu"}, "tanh"]),
        "drop": tune.quniform(0.0, 0.5, 0.1),
    }
    configs = drive(
        SkOptSearch(optimizer_kwargs=FAST), config, 5, lambda c: c["lr"] + c["width"] / 100
    )
    for c in configs:
        assert 1e-5 <= c["lr"] < 1e-1 and c["width"] % 16 == 0 and 16 <= c["width"] <= 128
        assert c["act"] in (None, {"name": "relu"}, "tanh")
        assert round(c["drop"], 1) == c["drop"]


def test_failed_and_nan_trials_are_not_told():
    searcher = SkOptSearch(space=space(), metric="loss", mode="min", optimizer_kwargs=FAST)
    for trial_id, result, error in (
        ("a", {"loss": math.nan}, False),
        ("b", None, True),
        ("c", {"other": 1}, False),
    ):
        searcher.suggest(trial_id)
        searcher.on_trial_complete(trial_id, result, error=error)
    assert searcher._get_optimizer().yi == []


def test_state_round_trip_suggests_what_the_original_would():
    original, restored, _ = round_trip(
        lambda: SkOptSearch(optimizer_kwargs=FAST), num_samples=9, told=4
    )
    assert restored.suggest("next") == original.suggest("next")
    assert len(restored._get_optimizer().models) <= 1  # only the last surrogate is saved


def test_resumed_experiment_continues_the_same_search(tmp_path):
    first, second, searcher = run_and_resume(
        lambda: SkOptSearch(optimizer_kwargs=FAST), tmp_path, 4, 6
    )
    assert len(second.trials) == 6
    assert [t.config for t in second.trials[:4]] == [t.config for t in first.trials]
    assert len(searcher._get_optimizer().yi) == 6


def test_clear_errors():
    optimizer = skopt.Optimizer([(0.0, 1.0)])
    with pytest.raises(ValueError, match="list of its parameter names"):
        SkOptSearch(optimizer, {"x": (0.0, 1.0)})
    with pytest.raises(ValueError, match="1 dimensions but 2 parameter names"):
        SkOptSearch(optimizer, ["x", "y"])
    with pytest.raises(ValueError, match=r"pass the skopt\.Optimizer"):
        SkOptSearch(space=["x"])
    with pytest.raises(TypeError, match="`optimizer`"):
        SkOptSearch("gp")
    with pytest.raises(ValueError, match="normal distribution"):
        SkOptSearch(space={"x": tune.randn()})
    with pytest.raises(TypeError, match="goes to `space=`"):
        SkOptSearch({"x": tune.uniform(0, 1)})
    with pytest.raises(ValueError, match="one reward per point"):
        SkOptSearch(points_to_evaluate=[{"x": 1}], evaluated_rewards=[1, 2])
    with pytest.raises(ValueError, match="outside the optimizer's space"):
        SkOptSearch(optimizer, ["x"], metric="m", mode="min", points_to_evaluate=[[5.0]]).suggest(
            "t"
        )


def test_missing_library_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "skopt", None)
    with pytest.raises(ImportError, match=r"tunelab\[skopt\]"):
        SkOptSearch()


def test_ray_paths_and_create_searcher():
    from tunelab.suggest.skopt import SkOptSearch as from_suggest

    import tunelab.suggest as suggest

    assert from_suggest is SkOptSearch and suggest.SkOptSearch is SkOptSearch
    assert isinstance(create_searcher("skopt", metric="loss", mode="min"), SkOptSearch)
