"""Variant resolution and BasicVariantGenerator (grid search, random search, resume)."""

from __future__ import annotations

import json
import logging
import random
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from tunelab.search import (
    BasicVariantGenerator,
    Categorical,
    RecursiveDependencyError,
    TrialSuggestion,
    choice,
    count_grid_variants,
    flatten_resolved_vars,
    generate_variants,
    grid_search,
    randint,
    sample_from,
    uniform,
)
from tunelab.search.variant_generator import format_vars


@dataclass
class Exp:
    config: dict[str, Any]
    num_samples: int = 1
    name: str = "exp"
    extra: dict[str, Any] = field(default_factory=dict)


def configs(spec: Any, **kwargs: Any) -> list[Any]:
    return [config for _, config in generate_variants(spec, **kwargs)]


def run_all(gen: BasicVariantGenerator, limit: int = 100_000) -> list[TrialSuggestion]:
    out = []
    for _ in range(limit):
        suggestion = gen.next_trial()
        if suggestion is None:
            break
        out.append(suggestion)
    return out


# -- generate_variants ---------------------------------------------------------------------
def test_grid_product_sorted_by_path_first_varies_fastest() -> None:
    spec = {"b": grid_search([1, 2]), "a": grid_search(["x", "y"])}
    assert [(c["a"], c["b"]) for c in configs(spec)] == [
        ("x", 1),
        ("y", 1),
        ("x", 2),
        ("y", 2),
    ]


def test_nested_dicts_lists_and_tuples_are_resolved_and_spec_left_alone() -> None:
    spec = {
        "opt": {"lr": uniform(0, 1), "name": "sgd"},
        "layers": [randint(1, 4), {"units": grid_search([8, 16])}],
        "pair": (choice(["a", "b"]), 5),
        "fn": len,
    }
    out = configs(spec, random_state=0)
    assert [c["layers"][1]["units"] for c in out] == [8, 16]
    for config in out:
        assert 0 <= config["opt"]["lr"] < 1 and config["opt"]["name"] == "sgd"
        assert config["layers"][0] in (1, 2, 3)
        assert isinstance(config["pair"], tuple) and config["pair"][0] in ("a", "b")
        assert config["fn"] is len
    assert isinstance(spec["layers"][1]["units"], dict)  # type: ignore[index]
    out[0]["opt"]["name"] = "changed"
    assert out[1]["opt"]["name"] == "sgd"


def test_resolved_vars_are_keyed_by_path() -> None:
    [(resolved, config)] = list(
        generate_variants({"a": {"b": grid_search([3])}, "c": 1}, random_state=0)
    )
    assert resolved == {("a", "b"): 3}
    assert flatten_resolved_vars(resolved) == {"a/b": 3}
    assert config == {"a": {"b": 3}, "c": 1}


@pytest.mark.parametrize(
    "make",
    [
        lambda key: sample_from(lambda spec: spec.config[key] * 2),
        lambda key: sample_from(lambda config: config[key] * 2),
        lambda key: sample_from(lambda spec: getattr(spec.config, key) * 2),
        lambda key: {"eval": f"spec.config.{key} * 2"},
    ],
    ids=["spec-item", "config-item", "spec-attr", "eval"],
)
def test_conditional_values_resolve_in_dependency_order(make: Any) -> None:
    # "a" sorts first but depends on "b", which depends on "c" (a random domain)
    spec = {"a": make("b"), "b": make("c"), "c": uniform(1, 2)}
    for config in configs(spec, random_state=1):
        assert config["b"] == config["c"] * 2 and config["a"] == config["c"] * 4


def test_long_dependency_chains_resolve() -> None:
    spec: dict[str, Any] = {"k000": 1}
    for i in range(1, 40):  # each key reads the previous one; sorted order is worst case
        spec[f"k{i:03d}"] = sample_from(lambda c, prev=f"k{i - 1:03d}": c[prev] + 1)
    [config] = configs(spec)
    assert config["k039"] == 40


def test_cycles_raise_recursive_dependency_error_naming_paths() -> None:
    spec = {"a": sample_from(lambda c: c["b"]), "b": sample_from(lambda c: c["a"]), "c": 1}
    with pytest.raises(RecursiveDependencyError, match=r"a \(reads b\).*b \(reads a\)"):
        configs(spec)
    assert issubclass(RecursiveDependencyError, ValueError)


def test_errors_of_user_functions_propagate() -> None:
    with pytest.raises(KeyError, match="missing"):
        configs({"a": sample_from(lambda c: c["missing"])})


def test_sample_from_can_read_nested_values_and_return_subtrees() -> None:
    spec = {
        "model": {"width": grid_search([2, 3])},
        "copy": sample_from(lambda spec: spec.config.model),
        "double": sample_from(lambda c: [c["model"]["width"]] * 2),
    }
    out = configs(spec)
    assert [c["copy"] for c in out] == [{"width": 2}, {"width": 3}]
    assert type(out[0]["copy"]) is dict
    assert out[1]["double"] == [3, 3]


def test_eval_leaf_sees_spec_random_and_numpy() -> None:
    pytest.importorskip("numpy")
    spec = {
        "a": 3,
        "r": {"eval": "random.uniform(0, 1)"},
        "n": {"eval": "int(np.sqrt(spec.config.a ** 2))"},
    }
    first, second = configs(spec, random_state=4), configs(spec, random_state=4)
    assert first == second and first[0]["n"] == 3 and 0 <= first[0]["r"] < 1


def test_grid_values_holding_domains_and_grids_are_resolved() -> None:
    spec = {
        "opt": grid_search([{"name": "sgd", "lr": uniform(0, 1)}, {"name": "adam"}]),
        "depth": grid_search([{"n": grid_search([1, 2])}, 3]),
    }
    out = configs(spec, random_state=0)
    assert count_grid_variants(spec) == len(out) == 6
    # "depth" sorts first, so it varies fastest; its first value expands to two configs
    assert [c["opt"]["name"] for c in out] == ["sgd"] * 3 + ["adam"] * 3
    assert [c["depth"] for c in out[:3]] == [{"n": 1}, {"n": 2}, 3]
    assert all(isinstance(c["opt"]["lr"], float) for c in out[:3])
    assert len({c["opt"]["lr"] for c in out[:3]}) == 3


def test_categorical_grid_counts_as_grid() -> None:
    spec = {"a": Categorical([1, 2, 3]).grid(), "b": grid_search([0, 1])}
    assert count_grid_variants(spec) == 6
    assert [c["a"] for c in configs(spec)] == [1, 2, 3, 1, 2, 3]


def test_count_grid_variants_of_a_space_without_grids_is_one() -> None:
    assert count_grid_variants({"a": uniform(0, 1), "b": 2}) == 1


def test_empty_grid_literal_is_rejected_with_its_path() -> None:
    with pytest.raises(ValueError, match="grid_search at a/b"):
        configs({"a": {"b": {"grid_search": []}}})


def test_constant_grid_search_holds_random_values_over_the_grid() -> None:
    spec = {
        "g": grid_search([1, 2, 3]),
        "r": uniform(0, 1),
        "f": sample_from(lambda c: c["r"] + 1),
        "h": sample_from(lambda c: c["g"] * 10),
    }
    held = configs(spec, constant_grid_search=True, random_state=0)
    assert len({c["r"] for c in held}) == 1 and len({c["f"] for c in held}) == 1
    assert [c["h"] for c in held] == [10, 20, 30]
    fresh = configs(spec, random_state=0)
    assert len({c["r"] for c in fresh}) == 3


def test_same_seed_same_configs_in_same_order() -> None:
    spec = {"a": uniform(0, 1), "b": grid_search([1, 2]), "c": choice(["x", "y", "z"])}
    assert configs(spec, random_state=3) == configs(spec, random_state=3)
    assert configs(spec, random_state=3) != configs(spec, random_state=4)
    rng_a, rng_b = random.Random(9), random.Random(9)
    assert configs(spec, random_state=rng_a) == configs(spec, random_state=rng_b)


# -- tags ----------------------------------------------------------------------------------
def test_format_vars_uses_last_keys_sorted_paths_and_cleans_values() -> None:
    tag = format_vars({("z",): 0.123456, ("a", "lr"): "x y/z", ("m",): [1, 2]})
    assert tag == "lr=x_y_z,m=1_2,z=0.1235"


# -- BasicVariantGenerator -----------------------------------------------------------------
def test_generator_yields_num_samples_times_grid_with_ids_and_tags() -> None:
    gen = BasicVariantGenerator(random_state=0)
    gen.add_configurations([Exp({"g": grid_search(["a", "b"]), "x": uniform(0, 1)}, 3)])
    assert gen.total_samples == 6
    out = run_all(gen)
    assert len(out) == 6 and gen.is_finished()
    prefix = out[0].trial_id.split("_")[0]
    assert re.fullmatch(r"[0-9a-f]{5}", prefix)
    assert [s.trial_id for s in out] == [f"{prefix}_{i:05d}" for i in range(6)]
    assert [s.config["g"] for s in out] == ["a", "b"] * 3
    assert out[1].experiment_tag == f"1_g=b,x={out[1].config['x']:.4f}"
    assert out[1].evaluated_params == {"g": "b", "x": out[1].config["x"]}
    assert len({s.config["x"] for s in out}) == 6
    assert all(s.experiment.name == "exp" for s in out)


def test_tag_without_resolved_values_is_the_counter() -> None:
    gen = BasicVariantGenerator()
    gen.add_configurations(Exp({"a": 1}, 2))
    assert [s.experiment_tag for s in run_all(gen)] == ["0", "1"]


def test_counter_continues_across_experiments() -> None:
    gen = BasicVariantGenerator(random_state=0)
    gen.add_configurations([Exp({"a": grid_search([1, 2])}, 1, "one"), Exp({}, 2, "two")])
    out = run_all(gen)
    assert [s.experiment_tag.split("_")[0] for s in out] == ["0", "1", "2", "3"]
    assert [s.experiment.name for s in out] == ["one", "one", "two", "two"]
    assert gen.total_samples == 4


def test_is_finished_turns_true_with_the_last_suggestion() -> None:
    gen = BasicVariantGenerator()
    assert not gen.is_finished()
    gen.add_configurations(Exp({"a": grid_search([1, 2])}, 1))
    assert gen.next_trial() is not None and not gen.is_finished()
    assert gen.next_trial() is not None and gen.is_finished()
    assert gen.next_trial() is None


def test_zero_samples_finish_immediately() -> None:
    gen = BasicVariantGenerator()
    gen.add_configurations(Exp({"a": uniform(0, 1)}, 0))
    assert gen.is_finished() and gen.next_trial() is None and gen.total_samples == 0


def test_experiment_spec_dicts_are_accepted() -> None:
    gen = BasicVariantGenerator()
    gen.add_configurations({"config": {"a": grid_search([1, 2])}, "num_samples": 2})
    assert len(run_all(gen)) == 4


def test_generation_is_lazy_and_unbounded_samples_never_finish() -> None:
    calls = []
    spec = {"a": sample_from(lambda: calls.append(1) or len(calls))}
    gen = BasicVariantGenerator()
    gen.add_configurations(Exp(spec, 100_000))
    assert calls == [] and gen.total_samples == 100_000
    assert [gen.next_trial().config["a"] for _ in range(3)] == [1, 2, 3]  # type: ignore[union-attr]
    unbounded = BasicVariantGenerator()
    unbounded.add_configurations(Exp({"a": uniform(0, 1)}, -1))
    assert len(run_all(unbounded, limit=500)) == 500
    assert not unbounded.is_finished() and unbounded.total_samples == 0


def test_same_seed_same_suggestions() -> None:
    spec = {"a": uniform(0, 1), "b": randint(0, 1000), "g": grid_search([1, 2])}

    def run(seed: Any) -> list[Any]:
        gen = BasicVariantGenerator(random_state=seed)
        gen.add_configurations(Exp(spec, 5))
        return [(s.config, s.experiment_tag) for s in run_all(gen)]

    assert run(11) == run(11) and run(11) != run(12)
    np = pytest.importorskip("numpy")
    assert run(np.random.default_rng(3)) == run(np.random.default_rng(3))
    assert run(np.random.RandomState(3)) == run(np.random.RandomState(3))


def test_max_concurrent_limits_live_trials() -> None:
    gen = BasicVariantGenerator(max_concurrent=2)
    gen.add_configurations(Exp({"a": uniform(0, 1)}, 5))
    first, second = gen.next_trial(), gen.next_trial()
    assert first is not None and second is not None
    assert gen.next_trial() is None and not gen.is_finished()
    gen.on_trial_complete(first.trial_id, {"loss": 1.0})
    assert gen.next_trial() is not None and gen.next_trial() is None


def test_points_to_evaluate_come_first_and_partial_points_are_completed() -> None:
    spec = {"a": uniform(0, 1), "b": grid_search([1, 2]), "c": {"d": choice([5, 6])}}
    points = [{"a": 0.5, "b": 2}, {"c": {"d": 6}}]
    gen = BasicVariantGenerator(points_to_evaluate=points, random_state=0)
    gen.add_configurations(Exp(spec, 3))
    assert gen.total_samples == 1 + 2 + 2
    out = run_all(gen)
    assert len(out) == 5
    assert out[0].config["a"] == 0.5 and out[0].config["b"] == 2
    assert out[0].config["c"]["d"] in (5, 6)
    assert [s.config["c"]["d"] for s in out[1:3]] == [6, 6]
    assert [s.config["b"] for s in out[1:3]] == [1, 2]
    assert points == [{"a": 0.5, "b": 2}, {"c": {"d": 6}}]


def test_points_outside_the_space_only_warn(caplog: pytest.LogCaptureFixture) -> None:
    gen = BasicVariantGenerator(points_to_evaluate=[{"a": 7.0, "zzz": 1}])
    with caplog.at_level(logging.WARNING, logger="tunelab.search"):
        gen.add_configurations(Exp({"a": uniform(0, 1)}, 1))
    [suggestion] = run_all(gen)
    assert suggestion.config == {"a": 7.0, "zzz": 1}
    assert "outside its search space" in caplog.text and "zzz" in caplog.text


def test_more_points_than_samples_are_all_evaluated() -> None:
    gen = BasicVariantGenerator(points_to_evaluate=[{"a": 1}, {"a": 2}, {"a": 3}])
    gen.add_configurations(Exp({"a": randint(0, 10)}, 2))
    assert [s.config["a"] for s in run_all(gen)] == [1, 2, 3]


# -- state ---------------------------------------------------------------------------------
SPACE = {
    "g": grid_search([1, 2, 3]),
    "x": uniform(0, 1),
    "f": sample_from(lambda c: c["x"] * c["g"]),
}


def _resume_matches(stop_after: int, num_samples: int, restore_first: bool) -> None:
    points = [{"x": 0.25}]
    reference = BasicVariantGenerator(points_to_evaluate=points, random_state=5)
    reference.add_configurations(Exp(SPACE, num_samples))
    expected = [(s.experiment_tag, s.config) for s in run_all(reference)]

    first = BasicVariantGenerator(points_to_evaluate=points, random_state=5)
    first.add_configurations(Exp(SPACE, num_samples))
    before = run_all(first, stop_after)
    state = json.loads(json.dumps(first.get_state()))

    resumed = BasicVariantGenerator(points_to_evaluate=points, random_state=999)
    if restore_first:
        resumed.set_state(state)
        resumed.add_configurations(Exp(SPACE, num_samples))
    else:
        resumed.add_configurations(Exp(SPACE, num_samples))
        resumed.set_state(state)
    after = run_all(resumed)
    assert [(s.experiment_tag, s.config) for s in before + after] == expected
    prefix = first.get_state()["uuid_prefix"]
    assert [s.trial_id for s in before + after] == [
        f"{prefix}_{i:05d}" for i in range(len(expected))
    ]
    assert resumed.is_finished()


@pytest.mark.parametrize("restore_first", [True, False])
@pytest.mark.parametrize("stop_after", [0, 1, 5, 6, 7])
def test_restored_generator_continues_where_it_stopped(
    stop_after: int, restore_first: bool
) -> None:
    _resume_matches(stop_after, 4, restore_first)


def test_restore_past_a_seed_block_boundary() -> None:
    _resume_matches(3 * 300 + 2, 400, restore_first=False)


def test_state_is_versioned_and_bad_state_is_rejected() -> None:
    gen = BasicVariantGenerator()
    assert gen.get_state()["version"] == 1
    with pytest.raises(ValueError, match="`state`"):
        gen.set_state({"version": 99})


def test_save_and_restore_from_dir(tmp_path: Any) -> None:
    gen = BasicVariantGenerator(random_state=1)
    gen.add_configurations(Exp({"a": uniform(0, 1)}, 4))
    run_all(gen, 2)
    gen.save_to_dir(str(tmp_path), "s1")
    assert gen.has_checkpoint(str(tmp_path))
    assert (tmp_path / "basic-variant-state-s1.json").exists()
    rest = [s.config for s in run_all(gen)]
    other = BasicVariantGenerator()
    other.add_configurations(Exp({"a": uniform(0, 1)}, 4))
    other.restore_from_dir(str(tmp_path))
    assert [s.config for s in run_all(other)] == rest


# -- validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"max_concurrent": -1}, ValueError, "`max_concurrent`"),
        ({"max_concurrent": 1.5}, TypeError, "`max_concurrent`"),
        ({"points_to_evaluate": {"a": 1}}, TypeError, "`points_to_evaluate`"),
        ({"points_to_evaluate": [1]}, TypeError, r"`points_to_evaluate\[0\]`"),
        ({"constant_grid_search": "yes"}, TypeError, "`constant_grid_search`"),
        ({"random_state": "seed"}, TypeError, "`random_state`"),
    ],
)
def test_constructor_validates_arguments(kwargs: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        BasicVariantGenerator(**kwargs)


def test_bad_experiments_are_rejected() -> None:
    gen = BasicVariantGenerator()
    with pytest.raises(ValueError, match="`num_samples`"):
        gen.add_configurations(Exp({}, -2))
    with pytest.raises(TypeError, match="`config`"):
        gen.add_configurations(Exp([1, 2], 1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="experiments"):
        gen.add_configurations(42)


def test_generator_pickles_mid_run_and_continues() -> None:
    cloudpickle = pytest.importorskip("cloudpickle")
    gen = BasicVariantGenerator(random_state=2)
    gen.add_configurations(Exp(SPACE, 3))
    run_all(gen, 4)
    clone = cloudpickle.loads(cloudpickle.dumps(gen))
    assert [s.config for s in run_all(clone)] == [s.config for s in run_all(gen)]


def test_has_unresolved_values_finds_domains_grids_and_eval() -> None:
    from tunelab.search.variant_generator import has_unresolved_values

    assert has_unresolved_values({"a": [1, {"b": uniform(0, 1)}]})
    assert has_unresolved_values({"a": grid_search([1])})
    assert has_unresolved_values({"a": {"eval": "1"}})
    assert not has_unresolved_values({"a": [1, {"b": 2}], "f": len})
