"""Search behaviour that Ray Tune's own unit tests rely on (found by running them on tunelab).

- ``convert_search_space`` of OptunaSearch, HyperOptSearch and NevergradSearch turns a tunelab
  space into the library's own, and the searchers take that result back as ``space=``;
- OptunaSearch takes a nested dict of Optuna distributions, HyperOptSearch a space mixing
  tunelab domains with ``hp.*`` expressions, NevergradSearch ``"a/b"`` names in an
  ``ng.p.Dict`` (nested keys of the config);
- a searcher given a ``mode`` but no ``metric`` searches the anonymous ``"_metric"``;
- ``np.random.seed(n)`` makes random search repeatable (``tune.run``, ``generate_variants``,
  ``Domain.sample``);
- a ``points_to_evaluate`` value that overrides a constant of the config is logged;
- the library searchers can be deep-copied and pickled (they held the library's module).
"""

from __future__ import annotations

import copy
import logging
import pickle
from typing import Any

import pytest

import tunelab as tune
from tunelab.result import DEFAULT_METRIC
from tunelab.search import BasicVariantGenerator
from tunelab.search.variant_generator import generate_variants

np = pytest.importorskip("numpy")
hyperopt = pytest.importorskip("hyperopt")
optuna = pytest.importorskip("optuna")
ng = pytest.importorskip("nevergrad")

from tunelab.search.bohb import TuneBOHB  # noqa: E402
from tunelab.search.hyperopt import HyperOptSearch  # noqa: E402
from tunelab.search.hyperopt._space import is_hyperopt_expression  # noqa: E402
from tunelab.search.nevergrad import NevergradSearch  # noqa: E402
from tunelab.search.optuna import OptunaSearch  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
hp = hyperopt.hp


def nested_space() -> dict[str, Any]:
    return {
        "act": tune.choice(["relu", "tanh", "gelu"]),
        "opt": {
            "layers": tune.randint(1, 4),
            "lr": tune.loguniform(1e-5, 1e-2),
            "momentum": 0.9,
        },
    }


def check_config(config: dict[str, Any]) -> None:
    assert config["act"] in ("relu", "tanh", "gelu")
    assert config["opt"]["layers"] in (1, 2, 3)
    assert isinstance(config["opt"]["layers"], int)
    assert 1e-5 <= config["opt"]["lr"] <= 1e-2


# -- OptunaSearch ------------------------------------------------------------------------------
def test_optuna_convert_search_space_gives_flat_distributions() -> None:
    converted = OptunaSearch.convert_search_space(nested_space())
    assert set(converted) == {"act", "opt/layers", "opt/lr"}  # the constant is left out
    d = optuna.distributions
    assert converted["act"] == d.CategoricalDistribution(["relu", "tanh", "gelu"])
    assert converted["opt/layers"] == d.IntDistribution(1, 3)
    assert converted["opt/lr"] == d.FloatDistribution(1e-5, 1e-2, log=True)
    assert OptunaSearch.convert_search_space({"c": 3}) == {}


def test_optuna_converted_space_is_searched_with_nested_keys() -> None:
    searcher = OptunaSearch(
        space=OptunaSearch.convert_search_space(nested_space()),
        metric="loss",
        mode="min",
        sampler=optuna.samplers.RandomSampler(seed=3),
    )
    for i in range(10):
        config = searcher.suggest(str(i))
        assert isinstance(config, dict)
        assert set(config) == {"act", "opt"} and set(config["opt"]) == {"layers", "lr"}
        check_config({**config, "opt": {**config["opt"], "momentum": 0.9}})


def test_optuna_convert_search_space_rejects_what_optuna_cannot_hold() -> None:
    with pytest.raises(ValueError, match="grid_search"):
        OptunaSearch.convert_search_space({"g": tune.grid_search([1, 2])})
    with pytest.raises(ValueError, match=r"categories of 'c'.*cannot be stored"):
        OptunaSearch.convert_search_space({"c": tune.choice([[1, 2], [3]])})
    with pytest.raises(ValueError, match="normal"):
        OptunaSearch.convert_search_space({"n": tune.randn(0, 1)})
    with pytest.raises(TypeError, match="must be a dict"):
        OptunaSearch.convert_search_space([tune.uniform(0, 1)])  # type: ignore[arg-type]


def test_optuna_takes_a_nested_dict_of_distributions() -> None:
    d = optuna.distributions
    nested = {"a": d.FloatDistribution(0, 1), "b": {"c": d.IntDistribution(0, 10, step=5)}}
    flat = {"a": d.FloatDistribution(0, 1), "b/c": d.IntDistribution(0, 10, step=5)}
    configs = []
    for space in (nested, flat):
        searcher = OptunaSearch(
            space=space, metric="m", mode="max", sampler=optuna.samplers.RandomSampler(seed=7)
        )
        configs.append([searcher.suggest(str(i)) for i in range(5)])
    assert configs[0] == configs[1]
    for config in configs[0]:
        assert 0 <= config["a"] <= 1 and config["b"]["c"] in (0, 5, 10)
    with pytest.raises(TypeError, match="Optuna distributions"):
        OptunaSearch(space={"a": d.FloatDistribution(0, 1), "b": {"c": 3}})


# -- HyperOptSearch ----------------------------------------------------------------------------
def test_hyperopt_convert_search_space_gives_hp_expressions() -> None:
    converted = HyperOptSearch.convert_search_space(nested_space())
    assert is_hyperopt_expression(converted["act"])
    assert is_hyperopt_expression(converted["opt"]["layers"])
    assert is_hyperopt_expression(converted["opt"]["lr"])
    assert converted["opt"]["momentum"] == 0.9  # constants stay
    with pytest.raises(ValueError, match="grid_search"):
        HyperOptSearch.convert_search_space({"g": tune.grid_search([1, 2])})


def test_hyperopt_converted_space_matches_the_hand_written_one() -> None:
    by_hand = {
        "act": hp.choice("act", ["relu", "tanh", "gelu"]),
        "opt": {
            "layers": hp.uniformint("opt/layers", 1, 3),
            "lr": hp.loguniform("opt/lr", np.log(1e-5), np.log(1e-2)),
            "momentum": 0.9,
        },
    }
    suggestions = []
    for space in (HyperOptSearch.convert_search_space(nested_space()), by_hand):
        searcher = HyperOptSearch(space=space, metric="m", mode="max", random_state_seed=11)
        suggestions.append([searcher.suggest(str(i)) for i in range(6)])
    assert suggestions[0] == suggestions[1]
    for config in suggestions[0]:
        check_config(config)
        assert config["opt"]["momentum"] == 0.9


def test_hyperopt_searches_a_space_mixing_domains_and_hp_expressions() -> None:
    searcher = HyperOptSearch(
        space={"a": tune.uniform(5, 6), "b": hp.uniform("b", 8, 9), "c": 1},
        metric="m",
        mode="max",
        random_state_seed=0,
    )
    for i in range(8):
        config = searcher.suggest(str(i))
        assert isinstance(config, dict)
        assert 5 <= config["a"] <= 6 and 8 <= config["b"] <= 9 and config["c"] == 1


def test_hyperopt_convert_search_space_converts_domains_inside_categories() -> None:
    space = {"net": tune.choice([{"width": tune.randint(8, 16)}, {"depth": 3}])}
    converted = HyperOptSearch.convert_search_space(space)
    searcher = HyperOptSearch(space=converted, metric="m", mode="max", random_state_seed=2)
    seen = set()
    for i in range(20):
        net = searcher.suggest(str(i))["net"]  # type: ignore[index]
        if "width" in net:
            assert net["width"] in range(8, 16)
            seen.add("width")
        else:
            assert net == {"depth": 3}
            seen.add("depth")
    assert seen == {"width", "depth"}


# -- NevergradSearch ---------------------------------------------------------------------------
def test_nevergrad_convert_search_space_gives_a_dict_of_parameters() -> None:
    converted = NevergradSearch.convert_search_space(nested_space())
    assert isinstance(converted, ng.p.Dict)
    assert set(converted.value) == {"act", "opt/layers", "opt/lr"}
    searcher = NevergradSearch(
        optimizer=ng.optimizers.RandomSearch, space=converted, metric="m", mode="max"
    )
    for i in range(10):
        config = searcher.suggest(str(i))
        assert isinstance(config, dict)
        check_config({**config, "opt": {**config["opt"], "momentum": 0.9}})


def test_nevergrad_convert_search_space_drops_quantization_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="tunelab.search"):
        converted = NevergradSearch.convert_search_space({"q": tune.quniform(0, 1, 0.25)})
    assert "q=0.25 of 'q' is dropped" in caplog.text
    assert 0 <= converted.value["q"] <= 1
    with pytest.raises(ValueError, match="grid_search"):
        NevergradSearch.convert_search_space({"g": tune.grid_search([1, 2])})


def test_nevergrad_native_names_with_slashes_become_nested_keys() -> None:
    space = ng.p.Dict(**{"a": ng.p.Scalar(lower=0, upper=1), "b/c": ng.p.Choice(["x", "y"])})
    searcher = NevergradSearch(
        optimizer=ng.optimizers.RandomSearch, space=space, metric="m", mode="max"
    )
    config = searcher.suggest("0")
    assert isinstance(config, dict)
    assert set(config) == {"a", "b"} and config["b"]["c"] in ("x", "y")


# -- anonymous metric --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["hyperopt", "optuna", "nevergrad"])
def test_a_mode_without_metric_searches_the_anonymous_metric(kind: str) -> None:
    space = {"x": tune.uniform(0, 1)}
    searcher: Any
    if kind == "hyperopt":
        searcher = HyperOptSearch(space=space, mode="max", random_state_seed=0)
    elif kind == "optuna":
        searcher = OptunaSearch(space=space, mode="max")
    else:
        searcher = NevergradSearch(optimizer=ng.optimizers.RandomSearch, space=space, mode="max")
    config = searcher.suggest("t1")
    assert searcher.metric == DEFAULT_METRIC == "_metric"
    searcher.on_trial_complete("t1", {DEFAULT_METRIC: config["x"]})
    assert isinstance(searcher.suggest("t2"), dict)


def test_a_run_with_mode_only_optimises_what_the_trainable_returns(tmp_path: Any) -> None:
    def trainable(config: dict[str, Any]) -> float:
        return -((config["x"] - 0.7) ** 2)

    analysis = tune.run(
        trainable,
        config={"x": tune.uniform(0, 1)},
        search_alg=NevergradSearch(optimizer=ng.optimizers.RandomSearch),
        mode="max",
        num_samples=4,
        storage_path=str(tmp_path),
        verbose=0,
    )
    assert len(analysis.trials) == 4
    assert all(DEFAULT_METRIC in t.last_result for t in analysis.trials)
    best = analysis.best_trial
    assert best is not None
    assert best.last_result[DEFAULT_METRIC] == max(
        t.last_result[DEFAULT_METRIC] for t in analysis.trials
    )


# -- np.random.seed ----------------------------------------------------------------------------
SPACE = {
    "i": tune.randint(0, 100_000),
    "c": tune.choice(list(range(1000))),
    "f": tune.uniform(0, 1),
}


def test_np_random_seed_repeats_generate_variants_and_domain_samples() -> None:
    def draw() -> tuple[Any, ...]:
        configs = [c for _ in range(3) for _, c in generate_variants({"config": SPACE})]
        return (configs, tune.uniform(0, 1).sample(), tune.randint(0, 10**9).sample(size=3))

    np.random.seed(1234)
    first = draw()
    np.random.seed(1234)
    assert draw() == first
    np.random.seed(4321)
    assert draw() != first


def test_np_random_seed_repeats_a_run(tmp_path: Any) -> None:
    def trainable(config: dict[str, Any]) -> None:
        tune.report(done=True)

    def configs(name: str) -> list[dict[str, Any]]:
        analysis = tune.run(
            trainable,
            config=SPACE,
            num_samples=4,
            storage_path=str(tmp_path),
            name=name,
            verbose=0,
        )
        return [trial.config for trial in analysis.trials]

    np.random.seed(99)
    first = configs("a")
    np.random.seed(99)
    assert configs("b") == first
    assert len({c["i"] for c in first}) > 1


def test_an_explicit_random_state_still_wins_over_the_global_seed() -> None:
    def configs() -> list[Any]:
        generator = BasicVariantGenerator(random_state=5)
        generator.add_configurations(tune.Experiment("e", lambda c: None, config=SPACE))
        out = []
        while (trial := generator.next_trial()) is not None:
            out.append(trial.config)
        return out

    np.random.seed(1)
    first = configs()
    np.random.seed(2)
    assert configs() == first


# -- points_to_evaluate over a constant ------------------------------------------------------
def test_a_point_overriding_a_constant_is_used_and_logged(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def trainable(config: dict[str, Any]) -> None:
        tune.report(a=config["a"])

    with caplog.at_level(logging.WARNING, logger="tunelab.search"):
        analysis = tune.run(
            trainable,
            config={"a": 1, "b": tune.randint(0, 3), "pair": [tune.randint(0, 5), 7]},
            search_alg=BasicVariantGenerator(points_to_evaluate=[{"a": 2, "pair": [1, 7]}]),
            num_samples=2,
            storage_path=str(tmp_path),
            verbose=0,
        )
    assert [t.config["a"] for t in analysis.trials] == [2, 1]
    assert analysis.trials[0].config["pair"] == [1, 7]
    messages = [r.getMessage() for r in caplog.records if r.name == "tunelab.search"]
    assert [m for m in messages if "differs from the constant" in m] == [
        "points_to_evaluate value 2 for a differs from the constant 1 of the config; the "
        "point's value is used"
    ]


# -- copying and pickling searchers ------------------------------------------------------------
@pytest.mark.parametrize("kind", ["hyperopt", "optuna", "nevergrad", "bohb"])
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_library_searchers_can_be_copied_and_pickled(kind: str, how: str) -> None:
    space = {"x": tune.uniform(0, 1)}
    searcher: Any
    if kind == "hyperopt":
        searcher = HyperOptSearch(space=space, metric="m", mode="max", random_state_seed=0)
    elif kind == "optuna":
        searcher = OptunaSearch(space=space, metric="m", mode="max", seed=0)
    elif kind == "nevergrad":
        searcher = NevergradSearch(
            optimizer=ng.optimizers.RandomSearch, space=space, metric="m", mode="max"
        )
    else:
        searcher = TuneBOHB(space=space, metric="m", mode="max", seed=0)
    searcher.suggest("t1")
    clone = copy.deepcopy(searcher) if how == "deepcopy" else pickle.loads(pickle.dumps(searcher))
    assert clone is not searcher
    clone.on_trial_complete("t1", {"m": 0.5})
    for i in range(2, 5):
        config = clone.suggest(f"t{i}")
        assert isinstance(config, dict) and 0 <= config["x"] <= 1
    searcher.on_trial_complete("t1", {"m": 0.5})  # the original goes on independently
    assert isinstance(searcher.suggest("t2"), dict)
