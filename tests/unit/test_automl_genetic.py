"""tunelab.automl (Ray Tune 0.x-1.x's ray.tune.automl): the spaces, the genetic operators,
generations and their sizes, and the search-algorithm protocol the controller drives."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest

from tunelab.automl import (
    ContinuousSpace,
    DiscreteSpace,
    GeneticSearch,
    GridSearch,
    RandomSearch,
    SearchSpace,
)
from tunelab.automl.search_policy import AutoMLSearcher, deep_insert
from tunelab.search import SearchAlgorithm
from tunelab.search.sample import uniform


def make_space() -> SearchSpace:
    return SearchSpace(
        [
            ContinuousSpace("x1", 0, 4, 9),
            ContinuousSpace("x2", -2, 2, 5),
            DiscreteSpace("x3", ["a", "b", "c"]),
            DiscreteSpace("opt.layers", [1, 2, 3, 4]),
        ]
    )


def experiment(config: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": "exp", "config": config or {}, "num_samples": 1}


def drain(search: SearchAlgorithm) -> list[Any]:
    """Every suggestion the algorithm gives before it answers None."""
    out = []
    while (suggestion := search.next_trial()) is not None:
        out.append(suggestion)
    return out


def assert_valid_gene(space: SearchSpace, gene: list[Any]) -> None:
    assert len(gene) == len(space.param_list)
    for vector, param in zip(gene, space.param_list, strict=True):
        assert len(vector) == param.choices_count()
        assert sorted(float(v) for v in vector) == [0.0] * (param.choices_count() - 1) + [1.0]
    config = space.apply_one_hot_encoding(gene)
    for param in space.param_list:
        assert config[param.name] in param.choices


# -- spaces ----------------------------------------------------------------------------------


def test_continuous_space_samples_num_values_with_both_ends() -> None:
    space = ContinuousSpace("lr", 0, 4, 5)
    assert space.choices == [0.0, 1.0, 2.0, 3.0, 4.0] and space.choices_count() == 5
    assert ContinuousSpace("lr", 1, 5, 100).choices[-1] == 5.0
    assert ContinuousSpace("lr", 2.5, 9, 1).choices == [2.5]
    assert space.to_grid_search() == {"grid_search": [0.0, 1.0, 2.0, 3.0, 4.0]}
    assert str(space) == "ContinuousSpace lr: [0.0, 4.0]"


def test_spaces_reject_bad_arguments_naming_them() -> None:
    with pytest.raises(ValueError, match=r"`distribution` .* 'linear'.* got 'log'"):
        ContinuousSpace("lr", 0, 1, 5, distribution="log")
    with pytest.raises(ValueError, match=r"`num` .* got 0"):
        ContinuousSpace("lr", 0, 1, 0)
    with pytest.raises(TypeError, match=r"`start` .* got 'a'"):
        ContinuousSpace("lr", "a", 1, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must not be empty"):
        DiscreteSpace("act", [])
    with pytest.raises(TypeError, match=r"`choices` .* got 'relu'"):
        DiscreteSpace("act", "relu")
    with pytest.raises(TypeError, match="`name`"):
        DiscreteSpace("a..b", [1])
    with pytest.raises(ValueError, match=r"more than once: \['x'\]"):
        SearchSpace([DiscreteSpace("x", [1]), DiscreteSpace("x", [2])])
    with pytest.raises(TypeError, match="ParameterSpace"):
        SearchSpace([{"x": [1, 2]}])  # type: ignore[list-item]


def test_a_set_of_parameters_is_ordered_by_name() -> None:
    params = {DiscreteSpace("b", [1]), ContinuousSpace("a", 0, 1, 2), DiscreteSpace("c", [3])}
    assert [p.name for p in SearchSpace(params).param_list] == ["a", "b", "c"]


def test_one_hot_encoding_round_trips_and_checks_its_shape() -> None:
    space = make_space()
    rng = random.Random(3)
    for _ in range(20):
        gene = space.generate_random_one_hot_encoding(rng)
        assert_valid_gene(space, gene)
    assert space.apply_one_hot_encoding(
        [[0, 0, 1, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 1, 0], [0, 0, 0, 1]]
    ) == {
        "x1": 1.0,
        "x2": -2.0,
        "x3": "b",
        "opt.layers": 4,
    }
    with pytest.raises(ValueError, match="has 2 entries, the parameter has 3 choices"):
        space.apply_one_hot_encoding([[1] + [0] * 8, [1, 0, 0, 0, 0], [1, 0], [1, 0, 0, 0]])
    with pytest.raises(ValueError, match="3 vectors, the space has 4 parameters"):
        space.apply_one_hot_encoding([[1], [1], [1]])


def test_random_choice_domains_stay_in_the_spaces() -> None:
    domains = make_space().to_random_choice()
    rng = random.Random(0)
    for _ in range(50):
        assert 0 <= domains["x1"].sample(random_state=rng) <= 4
        assert domains["x3"].sample(random_state=rng) in ("a", "b", "c")


def test_deep_insert_creates_the_path_and_refuses_a_non_dict() -> None:
    config: dict[str, Any] = {"opt": {"lr": 1}}
    deep_insert(["opt", "layers"], 3, config)
    deep_insert(["model", "width", "n"], 8, config)
    assert config == {"opt": {"lr": 1, "layers": 3}, "model": {"width": {"n": 8}}}
    with pytest.raises(TypeError, match=r"'opt\.lr' holds 1, not a dict"):
        deep_insert(["opt", "lr", "x"], 0, config)


# -- the genetic operators -------------------------------------------------------------------


def candidates(search: GeneticSearch, count: int = 4) -> list[list[Any]]:
    rng = random.Random(11)
    return [search.search_space.generate_random_one_hot_encoding(rng) for _ in range(count)]


def indices(search: GeneticSearch, gene: list[Any]) -> list[int]:
    found = search._gene_indices(gene)
    assert found is not None
    return found


def test_selection_takes_one_parameter_from_another_candidate() -> None:
    search = GeneticSearch(make_space(), "reward", seed=1)
    parents = candidates(search)
    before = [indices(search, gene) for gene in parents]
    new = 0
    for _ in range(200):
        child = search._selection(parents)
        assert_valid_gene(search.search_space, child)
        got = indices(search, child)
        new += got not in before
        # one parent everywhere but (at most) one parameter, which comes from a parent
        assert any(sum(a != b for a, b in zip(got, p, strict=True)) <= 1 for p in before)
        for position, value in enumerate(got):
            assert value in {p[position] for p in before}
    assert new > 0  # it does mix parents (Ray Tune's version only ever copied one)
    assert [indices(search, gene) for gene in parents] == before  # parents untouched


def test_crossover_joins_a_prefix_of_one_candidate_to_a_suffix_of_another() -> None:
    search = GeneticSearch(make_space(), "reward", seed=2)
    parents = candidates(search)
    before = [indices(search, gene) for gene in parents]
    mixed = 0
    for _ in range(200):
        child = search._crossover(parents)
        assert_valid_gene(search.search_space, child)
        got = indices(search, child)
        splits = [
            cut
            for cut in range(1, 4)
            for a in before
            for b in before
            if got[: cut + 1] == a[: cut + 1] and got[cut + 1 :] == b[cut + 1 :]
        ]
        assert splits, got
        mixed += got not in before
    assert mixed > 0
    assert [indices(search, gene) for gene in parents] == before


def test_mutation_moves_a_parameter_to_another_of_its_choices() -> None:
    search = GeneticSearch(make_space(), "reward", seed=3)
    parents = candidates(search)
    before = [indices(search, gene) for gene in parents]
    for _ in range(200):
        child = search._mutation(parents)
        assert_valid_gene(search.search_space, child)
        got = indices(search, child)
        # 10% of 4 parameters rounds up to one change, always to a different choice
        assert any(sum(a != b for a, b in zip(got, p, strict=True)) == 1 for p in before)
    assert [indices(search, gene) for gene in parents] == before
    assert len(search._mutation(parents, rate=1.0)) == 4


def test_mutation_keeps_a_parameter_with_one_choice() -> None:
    search = GeneticSearch(SearchSpace([DiscreteSpace("only", ["x"])]), "reward", seed=0)
    gene = search.search_space.generate_random_one_hot_encoding()
    assert search.search_space.apply_one_hot_encoding(search._mutation([gene])) == {"only": "x"}


# -- generations through the search-algorithm protocol --------------------------------------


def reward_of(config: dict[str, Any]) -> float:
    return -((config["x1"] - 3) ** 2) - config["x2"] ** 2 + config["opt"]["layers"]


def run_generation(search: GeneticSearch, rewards: dict[str, float] | None = None) -> list[Any]:
    suggestions = drain(search)
    for suggestion in suggestions:
        reward = reward_of(suggestion.config)
        if rewards is not None:
            rewards[suggestion.trial_id] = reward
        search.on_trial_result(suggestion.trial_id, {"reward": reward})
        search.on_trial_complete(suggestion.trial_id, {"reward": reward})
    return suggestions


def test_generations_shrink_by_the_decay_and_end_after_max_generation() -> None:
    search = GeneticSearch(make_space(), "reward", max_generation=4, population_size=10, seed=5)
    assert isinstance(search, SearchAlgorithm) and isinstance(search, AutoMLSearcher)
    search.add_configurations([experiment({"fixed": 7})])
    assert search.total_samples == 10 + 9 + 8 + 7
    sizes = []
    while not search.is_finished():
        sizes.append(len(run_generation(search)))
    assert sizes == [10, 9, 8, 7]
    assert search.next_trial() is None


def test_population_never_decays_below_three() -> None:
    search = GeneticSearch(
        make_space(), "reward", max_generation=4, population_size=4, population_decay=0.5, seed=1
    )
    search.add_configurations(experiment())
    sizes = []
    while not search.is_finished():
        sizes.append(len(run_generation(search)))
    assert sizes == [4, 3, 3, 3]


def test_a_round_waits_for_all_its_trials_before_the_next_generation() -> None:
    search = GeneticSearch(make_space(), "reward", max_generation=2, population_size=5, seed=7)
    search.add_configurations(experiment())
    first = drain(search)
    assert len(first) == 5
    for suggestion in first[:-1]:
        search.on_trial_complete(suggestion.trial_id, {"reward": 1.0})
    assert search.next_trial() is None and not search.is_finished()
    search.on_trial_complete(first[-1].trial_id, None, error=True)  # a failed trial counts
    assert len(drain(search)) == 4


def test_the_best_genes_pass_to_the_next_generation_and_best_trial_is_tracked() -> None:
    search = GeneticSearch(make_space(), "reward", max_generation=3, population_size=10, seed=9)
    search.add_configurations(experiment())
    rewards: dict[str, float] = {}
    first = run_generation(search, rewards)
    ranked = sorted(first, key=lambda s: rewards[s.trial_id], reverse=True)
    second = run_generation(search, rewards)
    second_configs = [s.config for s in second]
    # top int(max(9 * 0.2, 2)) = 2 genes are kept unchanged, and go first
    assert second_configs[:2] == [ranked[0].config, ranked[1].config]
    assert max(rewards[s.trial_id] for s in second) >= max(rewards[s.trial_id] for s in first)
    best = search.get_best_trial()
    assert best is not None and best.best_result is not None
    assert best.best_result["reward"] == max(rewards.values())


def test_suggestions_fill_paths_and_resolve_the_rest_of_the_config() -> None:
    search = GeneticSearch(make_space(), "reward", population_size=3, seed=4)
    search.add_configurations(experiment({"opt": {"lr": 0.1}, "noise": uniform(5, 6)}))
    for suggestion in drain(search):
        config = suggestion.config
        assert config["opt"]["lr"] == 0.1 and config["opt"]["layers"] in (1, 2, 3, 4)
        assert 5 <= config["noise"] < 6 and config["x3"] in ("a", "b", "c")
        assert set(suggestion.evaluated_params) == {"x1", "x2", "x3", "opt/layers", "noise"}
        assert suggestion.trial_id and "x1=" in suggestion.experiment_tag


def test_grid_search_in_the_experiment_config_is_refused() -> None:
    search = GeneticSearch(make_space(), "reward")
    with pytest.raises(ValueError, match=r"grid_search values \(found at \['a'\]\)"):
        search.add_configurations(experiment({"a": {"grid_search": [1, 2]}}))


def test_one_trial_per_gene_and_experiment() -> None:
    search = GeneticSearch(make_space(), "reward", max_generation=2, population_size=4, seed=0)
    search.add_configurations([experiment({"e": 1}), experiment({"e": 2})])
    first = drain(search)
    assert [s.config["e"] for s in first] == [1] * 4 + [2] * 4
    assert [s.config["x1"] for s in first[:4]] == [s.config["x1"] for s in first[4:]]
    for suggestion in first:
        search.on_trial_complete(suggestion.trial_id, {"reward": reward_of(suggestion.config)})
    assert len(drain(search)) == 2 * 3
    assert search.total_samples == 2 * (4 + 3)


def test_a_reward_never_reported_is_an_error_naming_what_was_reported() -> None:
    search = GeneticSearch(make_space(), "neg_loss", population_size=3, seed=0)
    search.add_configurations(experiment())
    trials = drain(search)
    for suggestion in trials[:-1]:
        search.on_trial_complete(suggestion.trial_id, {"loss": 1.0, "training_iteration": 1})
    with pytest.raises(
        ValueError, match=r"reward_attr='neg_loss' .* \['loss', 'training_iteration'\]"
    ):
        search.on_trial_complete(trials[-1].trial_id, {"loss": 2.0, "training_iteration": 1})


def test_nan_and_non_numbers_are_not_rewards() -> None:
    search = GeneticSearch(make_space(), "reward", population_size=3, seed=0)
    search.add_configurations(experiment())
    first, second, third = drain(search)
    search.on_trial_result(first.trial_id, {"reward": 1.0})
    search.on_trial_result(first.trial_id, {"reward": math.nan})
    search.on_trial_result(second.trial_id, {"reward": "high"})
    search.on_trial_result(third.trial_id, {"reward": True})
    best = search.get_best_trial()
    assert best is not None and best.trial_id == first.trial_id
    assert best.best_result == {"reward": 1.0}


def test_constructor_checks_its_arguments() -> None:
    space = make_space()
    with pytest.raises(TypeError, match=r"`search_space` must be a tunelab\.automl\.SearchSpace"):
        GeneticSearch({"x": [1, 2]}, "reward")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`reward_attr`"):
        GeneticSearch(space, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`max_generation` must be an int >= 1, got 0"):
        GeneticSearch(space, "reward", max_generation=0)
    with pytest.raises(ValueError, match=r"`population_decay` .* got -1"):
        GeneticSearch(space, "reward", population_decay=-1)
    with pytest.raises(ValueError, match=r"`crossover_bound` must be a number in \[0, 1\], got 2"):
        GeneticSearch(space, "reward", crossover_bound=2)


def test_a_seed_makes_the_search_reproducible() -> None:
    def configs(seed: int) -> list[dict[str, Any]]:
        search = GeneticSearch(make_space(), "reward", max_generation=3, seed=seed)
        search.add_configurations(experiment())
        return [s.config for _ in range(3) for s in run_generation(search)]

    assert configs(42) == configs(42)
    assert configs(42) != configs(43)


def test_saved_state_is_json_and_a_restored_search_continues_identically() -> None:
    def fresh() -> GeneticSearch:
        search = GeneticSearch(make_space(), "reward", max_generation=3, population_size=6, seed=8)
        search.add_configurations(experiment())
        return search

    original = fresh()
    run_generation(original)
    second = drain(original)
    for suggestion in second[:2]:  # mid-round: two done, the rest still running
        original.on_trial_complete(suggestion.trial_id, {"reward": reward_of(suggestion.config)})
    state = json.loads(json.dumps(original.get_state()))

    restored = GeneticSearch(make_space(), "reward", max_generation=3, population_size=6, seed=0)
    restored.add_configurations(experiment())
    restored.set_state(state)
    for search in (original, restored):
        for suggestion in second[2:]:
            search.on_trial_complete(suggestion.trial_id, {"reward": reward_of(suggestion.config)})
    assert [(s.trial_id, s.config) for s in drain(restored)] == [
        (s.trial_id, s.config) for s in drain(original)
    ]
    with pytest.raises(ValueError, match="GeneticSearch state of version 1"):
        restored.set_state({"version": 1, "kind": "GridSearch"})


# -- the one-round policies ------------------------------------------------------------------


def test_grid_search_runs_every_combination_once() -> None:
    space = SearchSpace([DiscreteSpace("a", [1, 2]), ContinuousSpace("b", 0, 1, 3)])
    search = GridSearch(space, "reward")
    search.add_configurations(experiment())
    suggestions = drain(search)
    assert sorted((s.config["a"], s.config["b"]) for s in suggestions) == [
        (a, b) for a in (1, 2) for b in (0.0, 0.5, 1.0)
    ]
    for suggestion in suggestions:
        search.on_trial_complete(suggestion.trial_id, {"reward": 0.0})
    assert search.is_finished() and search.next_trial() is None


def test_random_search_draws_repeat_configs_from_the_spaces() -> None:
    space = SearchSpace([DiscreteSpace("a", ["x", "y"]), ContinuousSpace("b", 2, 3, 2)])
    search = RandomSearch(space, "reward", repeat=8, seed=1)
    search.add_configurations(experiment())
    suggestions = drain(search)
    assert len(suggestions) == 8
    assert all(s.config["a"] in ("x", "y") and 2 <= s.config["b"] <= 3 for s in suggestions)
    assert len({s.config["b"] for s in suggestions}) == 8  # the whole interval, not 2 values
    with pytest.raises(ValueError, match=r"`repeat` must be an int >= 1 \(configs to try\), got 0"):
        RandomSearch(space, "reward", repeat=0)
