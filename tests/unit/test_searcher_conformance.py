"""Every built-in searcher passes ``check_searcher``; broken searchers fail it."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tunelab.search import BasicVariantGenerator, ConcurrencyLimiter, Repeater, Searcher
from tunelab.testing.searcher_conformance import ConformanceError, check_searcher

hyperopt = pytest.importorskip("hyperopt")
optuna = pytest.importorskip("optuna")
ng = pytest.importorskip("nevergrad")
pytest.importorskip("numpy")

from tunelab.search.bohb import TuneBOHB  # noqa: E402
from tunelab.search.hyperopt import HyperOptSearch  # noqa: E402
from tunelab.search.nevergrad import NevergradSearch  # noqa: E402
from tunelab.search.optuna import OptunaSearch  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)

FACTORIES = {
    "basic_variant": lambda: BasicVariantGenerator(random_state=1),
    "basic_variant_points": lambda: BasicVariantGenerator(
        points_to_evaluate=[{"x": 0.5}], random_state=2
    ),
    "hyperopt": lambda: HyperOptSearch(random_state_seed=0, n_initial_points=4),
    "optuna_tpe": lambda: OptunaSearch(seed=0),
    "optuna_random": lambda: OptunaSearch(sampler=optuna.samplers.RandomSampler(seed=1)),
    "nevergrad": lambda: NevergradSearch(ng.optimizers.OnePlusOne, random_state_seed=0),
    "nevergrad_de": lambda: NevergradSearch(
        ng.optimizers.TwoPointsDE, optimizer_kwargs={"budget": 40}, random_state_seed=1
    ),
    "bohb": lambda: TuneBOHB(seed=0, bohb_config={"min_points_in_model": 2}),
    "limiter": lambda: ConcurrencyLimiter(HyperOptSearch(random_state_seed=3), max_concurrent=2),
    "limiter_batch": lambda: ConcurrencyLimiter(OptunaSearch(seed=2), 2, batch=True),
    "repeater": lambda: Repeater(TuneBOHB(seed=4), repeat=2),
    "repeater_no_index": lambda: Repeater(OptunaSearch(seed=5), repeat=3, set_index=False),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("mode", ["min", "max"])
def test_builtin_searchers_conform(name, mode):
    check_searcher(FACTORIES[name], mode=mode)


def test_conformance_with_a_custom_space_and_one_at_a_time():
    from tunelab.search import choice, loguniform

    check_searcher(
        FACTORIES["optuna_tpe"],
        space={"lr": loguniform(1e-4, 1e-1), "opt": choice(["sgd", "adam"]), "epochs": 3},
        objective=lambda c: c["lr"] * (2 if c["opt"] == "sgd" else 1),
        concurrency=1,
        num_samples=6,
    )


# -- broken searchers are caught -----------------------------------------------------------
class _Base(Searcher):
    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.rng = random.Random(seed)

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        return {
            "x": self.rng.uniform(-2, 2),
            "n": self.rng.randrange(5),
            "step": 5 * self.rng.randrange(5),
            "kind": self.rng.choice("abc"),
            "nested": {"y": self.rng.random()},
        }

    def get_state(self) -> dict[str, Any]:
        return {"rng": list(self.rng.getstate()[1]), "version": self.rng.getstate()[0]}

    def set_state(self, state: dict[str, Any]) -> None:
        self.rng.setstate((state["version"], tuple(state["rng"]), None))


class OutOfDomain(_Base):
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        config = super().suggest(trial_id)
        assert isinstance(config, dict)
        config["x"] = 7.0
        return config


class Stalls(_Base):
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        return None


class ForgetsItsState(_Base):
    def set_state(self, state: dict[str, Any]) -> None:
        pass


class UnserializableState(BasicVariantGenerator):
    def __init__(self) -> None:
        super().__init__(random_state=0)

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "rng": random.Random(0)}


class RaisesOnUnknownTrials(_Base):
    def __init__(self) -> None:
        super().__init__()
        self.live: set[str] = set()

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        self.live.add(trial_id)
        return super().suggest(trial_id)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        self.live.remove(trial_id)


class OverwritesConstants(_Base):
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        config = super().suggest(trial_id)
        assert isinstance(config, dict)
        config["nested"]["const"] = 8
        return config


class FinishesEarly(_Base):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        self.count += 1
        return Searcher.FINISHED if self.count > 3 else super().suggest(trial_id)


@pytest.mark.parametrize(
    ("searcher", "match"),
    [
        (OutOfDomain, "x=7.0 is outside its domain"),
        (Stalls, "returned None with no trial running"),
        (ForgetsItsState, "after set_state\\(\\) the suggestions differ"),
        (UnserializableState, "not JSON-serializable"),
        (RaisesOnUnknownTrials, "unknown trial id raised"),
        (OverwritesConstants, "constant nested/const=7 became 8"),
        (FinishesEarly, "suggested 3 trials for num_samples=12"),
    ],
)
def test_broken_searchers_fail_the_suite(searcher, match):
    with pytest.raises(ConformanceError, match=match):
        check_searcher(searcher)


def test_a_finished_inner_searcher_ends_the_wrapped_search():
    for wrapper in (
        lambda: ConcurrencyLimiter(FinishesEarly(), 2),
        lambda: Repeater(FinishesEarly(), 1),
    ):
        with pytest.raises(ConformanceError, match="suggested 3 trials"):
            check_searcher(wrapper, check_restore=False)


def test_check_searcher_validates_its_arguments():
    with pytest.raises(ValueError, match=r"num_samples.*>= 4"):
        check_searcher(FACTORIES["basic_variant"], num_samples=2)
    with pytest.raises(ConformanceError, match="Searcher or SearchAlgorithm"):
        check_searcher(lambda: object())  # type: ignore[arg-type,return-value]
