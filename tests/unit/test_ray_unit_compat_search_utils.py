"""Search-algorithm plumbing as Ray Tune's own tests drive it: ``add_configurations`` with
Ray's ``{name: spec}`` experiments dict, and the state of ``Repeater`` and
``ConcurrencyLimiter`` (a restored wrapper takes the saved ``repeat``/``set_index`` and
``max_concurrent``/``batch``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tunelab.search.search_generator import SearchGenerator

from tunelab import register_trainable
from tunelab.search import (
    BasicVariantGenerator,
    ConcurrencyLimiter,
    Repeater,
    Searcher,
    _search_algorithm,
)


def noop(config: dict[str, Any]) -> None:
    pass


@pytest.fixture(autouse=True)
def _registered() -> None:
    register_trainable("noop_trainable", noop)


class Counter(Searcher):
    def __init__(self) -> None:
        super().__init__(metric="score", mode="max")
        self.index = 0
        self.completed: list[Any] = []

    def suggest(self, trial_id: str) -> dict[str, Any]:
        self.index += 1
        return {"x": self.index}

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        self.completed.append(result)


def drain(alg: Any) -> list[Any]:
    trials = []
    while not alg.is_finished():
        suggestion = alg.next_trial()
        assert suggestion is not None
        trials.append(suggestion)
    return trials


# -- {name: spec} -----------------------------------------------------------------------
@pytest.mark.parametrize(("num_samples", "repeat", "distinct"), [(2, 1, 2), (12, 4, 3), (11, 5, 3)])
def test_search_generator_reads_num_samples_from_a_named_spec(
    num_samples: int, repeat: int, distinct: int
) -> None:
    alg = SearchGenerator(Repeater(Counter(), repeat=repeat, set_index=False))
    alg.add_configurations({"test": {"run": "noop_trainable", "num_samples": num_samples}})
    trials = drain(alg)
    assert len(trials) == num_samples
    assert len({t.evaluated_params["x"] for t in trials}) == distinct
    assert trials[0].experiment.name == "test"


def test_basic_variant_generator_makes_one_experiment_per_key() -> None:
    alg = BasicVariantGenerator()
    alg.add_configurations(
        {
            "a": {"run": "noop_trainable", "num_samples": 3, "config": {"v": 1}},
            "b": {"run": "noop_trainable", "repeat": 2, "config": {"v": 2}},
        }
    )
    trials = drain(alg)
    assert [(t.experiment.name, t.config["v"]) for t in trials] == [
        ("a", 1),
        ("a", 1),
        ("a", 1),
        ("b", 2),
        ("b", 2),
    ]


def test_one_spec_dict_stays_one_experiment() -> None:
    # tunelab also takes a single spec dict; a config key named "run" does not confuse it
    spec = {"run": "noop_trainable", "num_samples": 2, "config": {"run": {"run": 1}}}
    assert _search_algorithm.as_experiment_list(spec) == [spec]
    alg = BasicVariantGenerator()
    alg.add_configurations({"num_samples": 2, "config": {"v": 1}})
    assert len(drain(alg)) == 2


def test_a_bad_named_spec_names_the_experiment() -> None:
    with pytest.raises(ValueError, match=r"experiment 'test'.*unknown key"):
        SearchGenerator(Counter()).add_configurations(
            {"test": {"run": "noop_trainable", "num_sample": 3}}
        )


# -- wrapper state ------------------------------------------------------------------------
def test_restored_repeater_takes_the_saved_repeat_and_set_index() -> None:
    searcher = Counter()
    saved = Repeater(searcher, repeat=3, set_index=False)
    for i in range(4):
        saved.suggest(f"t{i}")
    state = saved.get_state()
    json.dumps(state)  # JSON-safe: journaled with every trial

    restored = Repeater(searcher, repeat=1, set_index=True)
    restored.set_state(state)
    assert (restored.repeat, restored.set_index) == (3, False)
    second = restored.suggest("t4")
    assert second == {"x": 2}  # still the second group, without __trial_index__
    assert restored.suggest("t5") == {"x": 2}
    assert restored.suggest("t6") == {"x": 3}
    for i in range(3):
        restored.on_trial_complete(f"t{i}", {"score": i})
    assert searcher.completed == [{"score": 1.0}]


def test_restored_limiter_takes_the_saved_limit_and_batch() -> None:
    saved = ConcurrencyLimiter(Counter(), max_concurrent=2, batch=True)
    assert saved.suggest("a") is not None and saved.suggest("b") is not None
    state = saved.get_state()
    json.dumps(state)

    restored = ConcurrencyLimiter(Counter(), max_concurrent=5, batch=False)
    restored.set_state(state)
    assert (restored.max_concurrent, restored.batch) == (2, True)
    assert restored.suggest("c") is None  # two live trials: at the saved limit
    restored.on_trial_complete("a", {"score": 1})
    assert restored.suggest("c") is None  # batch: waits for the whole batch
    restored.on_trial_complete("b", {"score": 1})
    assert restored.suggest("c") is not None


def test_states_saved_without_those_fields_keep_the_wrappers_own() -> None:
    limiter = ConcurrencyLimiter(Counter(), max_concurrent=4)
    limiter.set_state(
        {
            "own": {"format": "json", "value": {"live_trials": [], "cached": []}},
            "inner": limiter.get_state()["inner"],
        }
    )
    assert limiter.max_concurrent == 4
