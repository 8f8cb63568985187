"""PBT's explore step: mutations stay inside their domains, deterministically."""

import random

import pytest

import tunelab as tune
from tunelab.schedulers._pbt_explore import explore, fill_missing, format_changes

LRS = [0.001, 0.01, 0.1, 1.0]


# -- explore ---------------------------------------------------------------------------------
def test_list_values_shift_by_one_index_or_stay_clamped_at_the_ends():
    rng = random.Random(1)
    for start in range(len(LRS)):
        seen = set()
        for _ in range(60):
            new, changes = explore(
                {"lr": LRS[start]},
                {"lr": LRS},
                resample_probability=0.0,
                perturbation_factors=(1.2, 0.8),
                custom_explore_fn=None,
                rng=rng,
            )
            seen.add(LRS.index(new["lr"]))
            assert changes["lr"][1].startswith("shift")
        expected = {max(start - 1, 0), min(start + 1, len(LRS) - 1)}
        assert seen == expected


def test_list_values_are_resampled_when_not_in_the_list_or_by_probability():
    rng = random.Random(2)
    new, changes = explore(
        {"lr": 0.5},
        {"lr": LRS},
        resample_probability=0.0,
        perturbation_factors=(1.2,),
        custom_explore_fn=None,
        rng=rng,
    )
    assert new["lr"] in LRS and changes["lr"][1] == "resample"
    ops = set()
    for _ in range(50):
        _, changes = explore(
            {"lr": 0.1},
            {"lr": LRS},
            resample_probability=1.0,
            perturbation_factors=(1.2,),
            custom_explore_fn=None,
            rng=rng,
        )
        ops.add(changes["lr"][1])
    assert ops == {"resample"}


@pytest.mark.parametrize(
    ("domain", "value", "check"),
    [
        (tune.uniform(0.0, 1.0), 0.95, lambda v: isinstance(v, float) and 0.0 <= v < 1.0),
        (tune.loguniform(1e-4, 1e-1), 0.09, lambda v: 1e-4 <= v <= 1e-1),
        (tune.randint(1, 10), 9, lambda v: type(v) is int and 1 <= v <= 9),
        (tune.quniform(0.0, 1.0, 0.25), 0.75, lambda v: v in (0.0, 0.25, 0.5, 0.75, 1.0)),
        (tune.qrandint(2, 20, 2), 18, lambda v: type(v) is int and v % 2 == 0 and 2 <= v <= 20),
    ],
)
def test_domain_mutations_stay_inside_their_domain(domain, value, check):
    rng = random.Random(3)
    for resample in (0.0, 0.5, 1.0):
        current = value
        for _ in range(40):
            new, _ = explore(
                {"x": current},
                {"x": domain},
                resample_probability=resample,
                perturbation_factors=(1.2, 0.8),
                custom_explore_fn=None,
                rng=rng,
            )
            assert check(new["x"]), new["x"]
            current = new["x"]


def test_numbers_are_multiplied_by_a_perturbation_factor():
    rng = random.Random(4)
    values = set()
    for _ in range(40):
        new, changes = explore(
            {"x": 0.5},
            {"x": tune.uniform(0.0, 10.0)},
            resample_probability=0.0,
            perturbation_factors=(2.0, 0.5),
            custom_explore_fn=None,
            rng=rng,
        )
        values.add(new["x"])
        assert changes["x"][1] in ("* 2", "* 0.5")
    assert values == {1.0, 0.25}


def test_ints_stay_ints_and_move_even_when_rounding_would_keep_them():
    rng = random.Random(5)
    seen = set()
    for _ in range(40):
        new, _ = explore(
            {"n": 2},
            {"n": lambda: 7},
            resample_probability=0.0,
            perturbation_factors=(1.2, 0.8),
            custom_explore_fn=None,
            rng=rng,
        )
        assert type(new["n"]) is int
        seen.add(new["n"])
    assert seen == {1, 3}


def test_bools_stay_bools_and_callables_resample():
    rng = random.Random(6)
    for _ in range(20):
        new, _ = explore(
            {"flag": True, "opt": "adam"},
            {"flag": [True, False], "opt": lambda: "sgd"},
            resample_probability=0.0,
            perturbation_factors=(1.2,),
            custom_explore_fn=None,
            rng=rng,
        )
        assert type(new["flag"]) is bool
        assert new["opt"] == "sgd"  # not a number: resampled
    new, _ = explore(
        {"flag": True},
        {"flag": tune.choice([True, False])},
        resample_probability=0.0,
        perturbation_factors=(1.2,),
        custom_explore_fn=None,
        rng=rng,
    )
    assert type(new["flag"]) is bool


def test_categorical_domains_shift_like_lists_and_nested_dicts_recurse():
    rng = random.Random(7)
    new, changes = explore(
        {"opt": {"name": "b", "momentum": 0.9}, "keep": 1},
        {"opt": {"name": tune.choice(["a", "b", "c"])}},
        resample_probability=0.0,
        perturbation_factors=(1.2,),
        custom_explore_fn=None,
        rng=rng,
    )
    assert new["opt"]["name"] in ("a", "c")
    assert new["opt"]["momentum"] == 0.9 and new["keep"] == 1
    assert list(changes) == ["opt/name"]


def test_custom_explore_fn_is_applied_last_to_the_mutated_config():
    seen = []

    def custom(config):
        seen.append(dict(config))
        config["lr"] = round(config["lr"] * 10, 6)
        return config

    rng = random.Random(8)
    new, _ = explore(
        {"lr": 0.01},
        {"lr": LRS},
        resample_probability=0.0,
        perturbation_factors=(1.2,),
        custom_explore_fn=custom,
        rng=rng,
    )
    assert seen[0]["lr"] in (0.001, 0.1)  # already shifted when custom_explore_fn ran
    assert new["lr"] == round(seen[0]["lr"] * 10, 6)
    with pytest.raises(TypeError, match="custom_explore_fn must return"):
        explore(
            {"lr": 0.01},
            {"lr": LRS},
            resample_probability=0.0,
            perturbation_factors=(1.2,),
            custom_explore_fn=lambda c: None,
            rng=rng,
        )


def test_explore_is_deterministic_for_a_seed_and_does_not_touch_its_input():
    config = {"lr": 0.01, "nested": {"x": 0.5}}
    mutations = {"lr": LRS, "nested": {"x": tune.uniform(0, 1)}}
    runs = []
    for _ in range(2):
        runs.append(
            explore(
                config,
                mutations,
                resample_probability=0.25,
                perturbation_factors=(1.2, 0.8),
                custom_explore_fn=None,
                rng=random.Random(42),
            )
        )
    assert runs[0] == runs[1]
    assert config == {"lr": 0.01, "nested": {"x": 0.5}}


def test_fill_missing_and_tag_format():
    config = {"lr": 0.1}
    added = fill_missing(
        config, {"lr": LRS, "opt": {"m": tune.uniform(0.5, 0.9)}}, random.Random(0)
    )
    assert list(added) == ["opt/m"] and 0.5 <= config["opt"]["m"] < 0.9
    assert format_changes({"lr": (0.0123456789, "resample"), "n": (3, "")}) == (
        "@perturbed[lr=0.012346,n=3]"
    )
    assert format_changes({}) == ""
