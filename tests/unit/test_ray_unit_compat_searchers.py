"""Library searchers as Ray Tune's own searcher tests drive them: ``set_search_properties``
returns False for a searcher that already has a space (the front doors raise for a config
that still holds domains), ``save``/``restore`` carry the space, metric and mode so that a
searcher built empty continues the search, ``TuneBOHB.convert_search_space`` and a seed
from a ConfigurationSpace, and HyperOpt's error for a config with nothing to search."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import pytest

import tunelab as tune
from tunelab.search import SearchGenerator

pytest.importorskip("hyperopt")
pytest.importorskip("optuna")
pytest.importorskip("nevergrad")
ConfigSpace = pytest.importorskip("ConfigSpace")

import nevergrad as ng  # noqa: E402

from tunelab.search.bohb import TuneBOHB  # noqa: E402
from tunelab.search.hyperopt import HyperOptSearch  # noqa: E402
from tunelab.search.nevergrad import NevergradSearch  # noqa: E402
from tunelab.search.optuna import OptunaSearch  # noqa: E402

SPACE = {"a": tune.uniform(0.0, 5.0), "nested": {"b": tune.choice(["x", "y"])}, "k": 7}


def built(kind: str, **kwargs: Any) -> Any:
    if kind == "hyperopt":
        return HyperOptSearch(random_state_seed=1, n_initial_points=2, **kwargs)
    if kind == "optuna":
        return OptunaSearch(seed=1, **kwargs)
    if kind == "nevergrad":
        return NevergradSearch(optimizer=ng.optimizers.RandomSearch, **kwargs)
    return TuneBOHB(seed=1, **kwargs)


KINDS = ["hyperopt", "optuna", "nevergrad", "bohb"]


def in_space(config: dict[str, Any]) -> bool:
    return 0.0 <= config["a"] <= 5.0 and config["nested"]["b"] in ("x", "y")


def complete(searcher: Any, trial_id: str, value: float) -> None:
    result = {"training_iteration": 1, "metric": value}
    searcher.on_trial_result(trial_id, result)
    searcher.on_trial_complete(trial_id, result)


# -- a space given twice --------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_set_search_properties_keeps_the_constructor_space(kind: str) -> None:
    searcher = built(kind, space=SPACE)
    assert searcher.set_search_properties("metric", "max", {"other": tune.uniform(0, 1)}) is False
    assert (searcher.metric, searcher.mode) == ("metric", "max")
    config = searcher.suggest("t1")
    assert in_space(config) and "other" not in config


@pytest.mark.parametrize("front_door", ["run", "tuner"])
def test_front_doors_reject_a_space_given_twice(front_door: str, tmp_path: Any) -> None:
    def trainable(config: dict[str, Any]) -> None:
        tune.report(metric=1.0)

    searcher = HyperOptSearch(space=SPACE, metric="metric", mode="max")
    with pytest.raises(ValueError, match=r"HyperOptSearch\(\) already has a search space"):
        if front_door == "run":
            tune.run(
                trainable,
                config={"other": tune.uniform(0, 1)},
                search_alg=searcher,
                storage_path=str(tmp_path),
                verbose=0,
            )
        else:
            tune.Tuner(
                trainable,
                param_space={"other": tune.uniform(0, 1)},
                tune_config=tune.TuneConfig(search_alg=searcher, num_samples=1),
                run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
            ).fit()
    assert not list(tmp_path.glob("*/*/result.json"))


def test_constants_beside_a_constructor_space_run(tmp_path: Any) -> None:
    def trainable(config: dict[str, Any]) -> None:
        tune.report(metric=config["a"], k=config["k"])

    analysis = tune.run(
        trainable,
        config={"k": 3},
        search_alg=HyperOptSearch(space={"a": tune.uniform(0, 1)}, metric="metric", mode="max"),
        num_samples=2,
        storage_path=str(tmp_path),
        verbose=0,
    )
    assert [t.last_result["k"] for t in analysis.trials] == [3, 3]


# -- save / restore -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_searcher_restores_space_metric_and_mode(kind: str, tmp_path: Any) -> None:
    path = str(tmp_path / "searcher.pkl")
    saved = built(kind)
    assert saved.set_search_properties("metric", "max", SPACE) is True
    for trial_id in ("1", "2", "open"):
        assert in_space(saved.suggest(trial_id))
    complete(saved, "1", 1.0)
    saved.save(path)

    restored = built(kind)
    restored.restore(path)
    assert (restored.metric, restored.mode) == ("metric", "max")
    complete(restored, "2", 2.0)
    for trial_id in ("3", "4"):
        assert in_space(restored.suggest(trial_id))
        complete(restored, trial_id, 3.0)
    complete(restored, "open", 0.5)  # suggested before the save: still known


@pytest.mark.parametrize("kind", KINDS)
def test_the_saved_space_and_objective_replace_the_restoring_searchers(
    kind: str, tmp_path: Any
) -> None:
    path = str(tmp_path / "searcher.pkl")
    saved = built(kind, space=SPACE, metric="metric", mode="max")
    saved.suggest("1")
    saved.save(path)
    other = {"a": tune.uniform(10.0, 11.0), "nested": {"b": tune.choice(["z"])}}
    restored = built(kind, space=other, metric="other", mode="min")
    restored.restore(path)  # as Ray: the restored searcher is the saved one
    assert (restored.metric, restored.mode) == ("metric", "max")
    assert in_space(restored.suggest("2"))


def test_restore_reads_a_plain_state_pickle(tmp_path: Any) -> None:
    import pickle

    saved = HyperOptSearch(space=SPACE, metric="metric", mode="max", random_state_seed=3)
    saved.suggest("1")
    path = tmp_path / "state.pkl"
    path.write_bytes(pickle.dumps(saved.get_state()))
    restored = HyperOptSearch(space=SPACE, metric="metric", mode="max")
    restored.restore(str(path))
    assert restored.get_state()["docs"] == saved.get_state()["docs"]


def test_the_journaled_state_does_not_carry_the_space() -> None:
    searcher = HyperOptSearch(space=SPACE, metric="metric", mode="max")
    searcher.suggest("1")
    assert "uniform" not in json.dumps(searcher.get_state())
    assert "space" not in searcher.get_state()


# -- TuneBOHB and ConfigSpace ---------------------------------------------------------------
def convertible() -> dict[str, Any]:
    return {
        "a": tune.choice([2, 3, 4]),
        "b": {"x": tune.qrandint(0, 4, 2), "y": 4, "z": tune.loguniform(1e-4, 1e-2)},
        "f": tune.sample_from(lambda spec: 1),
    }


def test_convert_search_space_builds_a_configuration_space(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="tunelab.search"):
        converted = TuneBOHB.convert_search_space(convertible())
    assert "q=2" in caplog.text and "'b/x'" in caplog.text
    assert isinstance(converted, ConfigSpace.ConfigurationSpace)
    assert sorted(converted) == ["a", "b/x", "b/z"]
    a, x, z = converted["a"], converted["b/x"], converted["b/z"]
    assert list(a.choices) == [2, 3, 4]
    assert (x.lower, x.upper, x.log) == (0, 4, False)
    assert (z.lower, z.upper, z.log) == (1e-4, 1e-2, True)


@pytest.mark.parametrize(
    "spec",
    [{"g": tune.grid_search([0, 1])}, {"n": tune.randn(0, 1)}],
)
def test_convert_search_space_rejects_what_configspace_cannot_hold(spec: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"TuneBOHB.convert_search_space\(\)"):
        TuneBOHB.convert_search_space(spec)


def test_a_seeded_configuration_space_makes_the_search_reproducible() -> None:
    def searcher(seed: int) -> TuneBOHB:
        space = TuneBOHB.convert_search_space(convertible())
        space.seed(seed)
        return TuneBOHB(space=space, metric="m", mode="max")

    first, second, other = searcher(1234), searcher(1234), searcher(99)
    runs = [[s.suggest(str(i)) for i in range(5)] for s in (first, second, other)]
    assert runs[0] == runs[1] and runs[0] != runs[2]
    assert first.seed == second.seed is not None
    config = runs[0][0]
    assert config["a"] in (2, 3, 4) and config["b"]["x"] in range(5)
    assert 1e-4 < config["b"]["z"] < 1e-2 and "b/x" not in config
    assert TuneBOHB(space=convertible_space_seeded(), seed=5, metric="m", mode="max").seed == 5


def convertible_space_seeded() -> Any:
    space = TuneBOHB.convert_search_space(convertible())
    space.seed(1)
    return space


def test_bohb_searches_a_nested_run_config_and_keeps_its_constants(tmp_path: Any) -> None:
    def trainable(config: dict[str, Any]) -> None:
        tune.report(m=config["a"], y=config["b"]["y"], x=config["b"]["x"])

    analysis = tune.run(
        trainable,
        config=convertible(),
        search_alg=TuneBOHB(metric="m", mode="max", seed=0),
        num_samples=2,
        storage_path=str(tmp_path),
        verbose=0,
    )
    for trial in analysis.trials:
        assert trial.last_result["y"] == 4 and trial.last_result["x"] in (0, 2, 4)


# -- HyperOpt with nothing to search --------------------------------------------------------
def test_hyperopt_without_anything_to_search_raises_at_set_search_properties() -> None:
    searcher = HyperOptSearch()
    with pytest.raises(RuntimeError, match="This issue can also come up with HyperOpt"):
        searcher.set_search_properties(metric="a", mode="max", config={"a": 4})
    # with a space of its own, constants in the config are fine
    own = HyperOptSearch(space={"x": tune.uniform(0, 1)})
    assert own.set_search_properties("a", "max", {"a": 4}) is False


def test_hyperopt_with_constants_only_fails_before_any_trial(tmp_path: Any) -> None:
    def trainable(config: dict[str, Any]) -> None:
        tune.report(a=1)

    with pytest.raises(RuntimeError, match="has no search space"):
        tune.run(
            trainable,
            config={"a": 4},
            search_alg=HyperOptSearch(metric="a", mode="max"),
            storage_path=str(tmp_path),
            verbose=0,
        )
    assert not [p for p in tmp_path.rglob("result.json") if os.path.getsize(p)]


def test_search_generator_passes_the_false_on() -> None:
    generator = SearchGenerator(HyperOptSearch(space=SPACE, metric="metric", mode="max"))
    assert generator.set_search_properties("metric", "max", {"o": tune.uniform(0, 1)}) is False
