"""TuneBOHB: encoding, the kernel densities, one model per budget, determinism, state."""

from __future__ import annotations

import json
import math
import statistics
from typing import Any

import pytest

import tunelab as tune

np = pytest.importorskip("numpy")

from tunelab.search._convert import parse_space  # noqa: E402
from tunelab.search.bohb import TuneBOHB  # noqa: E402
from tunelab.search.bohb._kde import Encoder, KernelDensity  # noqa: E402


def space() -> dict[str, Any]:
    return {
        "x": tune.uniform(-5, 5),
        "y": tune.uniform(-5, 5),
        "kind": tune.choice(["a", "b", "c"]),
        "width": tune.qrandint(0, 20, 5),
        "lr": tune.loguniform(1e-4, 1),
    }


def loss(config: dict[str, Any]) -> float:
    return (config["x"] - 1) ** 2 + (config["y"] + 2) ** 2 + (0 if config["kind"] == "b" else 3)


def hb(budget: float, value: float) -> dict[str, Any]:
    return {"loss": value, "hyperband_info": {"budget": budget}, "training_iteration": 1}


# -- encoding ------------------------------------------------------------------------------
def test_encoder_round_trips_every_kind_of_domain():
    config = {
        "f": tune.uniform(-1, 3),
        "q": tune.quniform(0, 1, 0.25),
        "log": tune.loguniform(1e-3, 10),
        "g": tune.randn(5, 2),
        "i": tune.randint(3, 9),
        "qi": tune.qrandint(10, 50, 10),
        "li": tune.lograndint(1, 1000),
        "c": tune.choice([None, "x", [1]]),
    }
    encoder = Encoder(parse_space(config, "test"))
    values = {"f": 0.5, "q": 0.75, "log": 0.1, "g": 4.0, "i": 7, "qi": 30, "li": 42, "c": [1]}
    vector = encoder.encode(values)
    assert all(0 <= u <= 1 for u in vector[:-1]) and vector[-1] == 2
    decoded = encoder.decode(vector)
    assert decoded["c"] == [1] and decoded["i"] == 7 and decoded["qi"] == 30 and decoded["li"] == 42
    for key in ("f", "q", "log", "g"):
        assert math.isclose(decoded[key], values[key], rel_tol=1e-9), key


def test_random_vectors_follow_the_domains_laws():
    encoder = Encoder(parse_space({"i": tune.randint(0, 4), "log": tune.loguniform(1, 100)}, "t"))
    rng = np.random.default_rng(0)
    draws = [encoder.decode(encoder.random(rng)) for _ in range(2000)]
    counts = [sum(d["i"] == k for d in draws) for k in range(4)]
    assert all(400 < c < 600 for c in counts)
    below_10 = sum(d["log"] < 10 for d in draws) / len(draws)
    assert 0.45 < below_10 < 0.55  # log-uniform: half the mass below the geometric mean


# -- kernel density ------------------------------------------------------------------------
def test_kernel_density_integrates_to_one():
    numeric = KernelDensity(np, [[0.3], [0.5], [0.55]], [0], 1e-3)
    grid = np.linspace(-2, 3, 20001)[:, None]
    assert math.isclose(float(numeric.pdf(grid).sum() * (grid[1, 0] - grid[0, 0])), 1, rel_tol=1e-3)
    categorical = KernelDensity(np, [[0.0], [0.0], [2.0]], [3], 1e-3)
    total = categorical.pdf(np.array([[0.0], [1.0], [2.0]]))
    assert math.isclose(float(total.sum()), 1.0, rel_tol=1e-9)
    assert total[0] > total[2] > total[1]


def test_kernel_density_samples_stay_in_range_and_near_the_data():
    kde = KernelDensity(np, [[0.2, 1.0], [0.25, 1.0]], [0, 4], 1e-3)
    samples = kde.sample(np.random.default_rng(1), 500, 1.0)
    assert ((samples[:, 0] >= 0) & (samples[:, 0] <= 1)).all()
    assert set(np.unique(samples[:, 1])) <= {0.0, 1.0, 2.0, 3.0}
    assert abs(float(np.median(samples[:, 0])) - 0.225) < 0.1
    kept = float((samples[:, 1] == 1.0).mean())  # Aitchison-Aitken: kept with 1 - lambda
    assert abs(kept - (1 - float(kde.bandwidth[1]))) < 0.06
    others = samples[samples[:, 1] != 1.0, 1]
    assert {0.0, 2.0, 3.0} == set(np.unique(others))


# -- model per budget ----------------------------------------------------------------------
def test_one_model_per_budget_once_enough_results_exist_there():
    searcher = TuneBOHB(
        space(), metric="loss", mode="min", seed=0, bohb_config={"min_points_in_model": 3}
    )
    for i in range(5):
        config = searcher.suggest(f"t{i}")
        searcher.on_trial_result(f"t{i}", hb(1, loss(config)))
    assert searcher.model_budgets() == []  # 5 results: good 3 + bad 2 < 3
    config = searcher.suggest("t5")
    searcher.on_trial_result("t5", hb(1, loss(config)))
    assert searcher.model_budgets() == [1.0]
    for i in range(6):  # the same trials reach budget 3: a second model
        searcher.on_trial_result(f"t{i}", hb(3, 1.0 + i))
    assert searcher.model_budgets() == [1.0, 3.0]
    # a later result of a trial at the same budget replaces the earlier one
    searcher.on_trial_result("t0", hb(3, 100.0))
    assert len(searcher.get_state()["observations"]) == 12


def test_final_results_without_hyperband_info_count_at_their_iteration():
    searcher = TuneBOHB(
        space(), metric="loss", mode="min", seed=0, bohb_config={"min_points_in_model": 2}
    )
    for i in range(4):
        config = searcher.suggest(f"t{i}")
        searcher.on_trial_result(f"t{i}", {"loss": 9.0, "training_iteration": 1})
        searcher.on_trial_complete(f"t{i}", {"loss": loss(config), "training_iteration": 4})
    assert searcher.model_budgets() == [4.0]
    searcher.suggest("bad")
    searcher.on_trial_complete("bad", None, error=True)  # no budget known: worst at budget 1
    observations = searcher.get_state()["observations"]
    assert observations[-1][:2] == [1.0, "bad"] and observations[-1][3] is None


def test_samples_concentrate_near_good_configs():
    def run(random_fraction: float) -> list[dict[str, Any]]:
        searcher = TuneBOHB(
            space(),
            metric="loss",
            mode="min",
            seed=3,
            bohb_config={"random_fraction": random_fraction},
        )
        configs = []
        for i in range(80):
            config = searcher.suggest(f"t{i}")
            configs.append(config)
            searcher.on_trial_complete(f"t{i}", {"loss": loss(config)})
        return configs[40:]

    modelled, random_only = run(0.0), run(1.0)

    def distance(c: dict[str, Any]) -> float:
        return math.hypot(c["x"] - 1, c["y"] + 2)

    assert statistics.median(map(distance, modelled)) < 0.5 * statistics.median(
        map(distance, random_only)
    )
    assert sum(c["kind"] == "b" for c in modelled) > sum(c["kind"] == "b" for c in random_only)
    assert statistics.median(map(loss, modelled)) < statistics.median(map(loss, random_only))


def test_mode_max_models_the_highest_results():
    searcher = TuneBOHB({"x": tune.uniform(0, 1)}, metric="acc", mode="max", seed=0)
    xs = []
    for i in range(40):
        config = searcher.suggest(str(i))
        xs.append(config["x"])
        searcher.on_trial_complete(str(i), {"acc": -abs(config["x"] - 0.8)})
    assert statistics.median(abs(x - 0.8) for x in xs[20:]) < 0.1


# -- determinism and state -----------------------------------------------------------------
def drive(searcher: TuneBOHB, count: int, prefix: str) -> list[dict[str, Any]]:
    configs = []
    for i in range(count):
        config = searcher.suggest(f"{prefix}{i}")
        configs.append(config)
        searcher.on_trial_complete(f"{prefix}{i}", {"loss": loss(config)})
    return configs


def test_same_seed_same_suggestions_other_seed_others():
    def make(seed: int) -> TuneBOHB:
        return TuneBOHB(space(), metric="loss", mode="min", seed=seed)

    assert drive(make(5), 30, "t") == drive(make(5), 30, "t")
    assert drive(make(5), 30, "t") != drive(make(6), 30, "t")


def test_state_round_trip_continues_the_same_search():
    def make() -> TuneBOHB:
        return TuneBOHB(space(), metric="loss", mode="min", seed=1, points_to_evaluate=[{"x": 0}])

    original = make()
    drive(original, 20, "a")
    original.suggest("live")
    original.on_pause("live")
    state = json.loads(json.dumps(original.get_state(), allow_nan=False))
    restored = make()
    restored.set_state(state)
    assert restored.model_budgets() == original.model_budgets() == [1.0]
    for searcher in (original, restored):
        searcher.on_unpause("live")
        searcher.on_trial_complete("live", {"loss": 2.0})
    assert drive(original, 10, "b") == drive(restored, 10, "b")
    with pytest.raises(ValueError, match="version 1"):
        restored.set_state({"version": 0})


def test_points_to_evaluate_first_and_partial_points_completed():
    searcher = TuneBOHB(
        space(),
        metric="loss",
        mode="min",
        seed=0,
        points_to_evaluate=[{"x": 1.0, "y": -2.0, "kind": "b", "width": 5, "lr": 0.01}, {"x": 2}],
    )
    first = searcher.suggest("a")
    assert first == {"x": 1.0, "y": -2.0, "kind": "b", "width": 5, "lr": 0.01}
    second = searcher.suggest("b")
    assert second["x"] == 2 and -5 <= second["y"] < 5 and second["width"] in (0, 5, 10, 15, 20)


# -- concurrency and pausing ---------------------------------------------------------------
def test_max_concurrent_counts_running_not_paused_trials():
    searcher = TuneBOHB(space(), metric="loss", mode="min", seed=0, max_concurrent=2)
    assert searcher.suggest("a") is not None and searcher.suggest("b") is not None
    assert searcher.suggest("c") is None
    searcher.on_pause("a")
    assert searcher.suggest("c") is not None
    searcher.on_unpause("a")
    assert searcher.suggest("d") is None
    searcher.on_trial_complete("a", hb(1, 1.0))
    assert searcher.suggest("d") is None  # b and c still run
    searcher.on_trial_complete("b", hb(1, 1.0))
    assert searcher.suggest("d") is not None


# -- validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"bohb_config": {"top_n": 3}}, ValueError, "unknown keys \\['top_n'\\]"),
        ({"bohb_config": {"top_n_percent": 100}}, ValueError, "top_n_percent.*\\(0, 100\\)"),
        ({"bohb_config": {"num_samples": 0}}, ValueError, "num_samples.*>= 1"),
        ({"bohb_config": 3}, TypeError, "bohb_config.*dict"),
        ({"max_concurrent": -1}, ValueError, "max_concurrent.*>= 0"),
        ({"seed": 1.5}, TypeError, "seed.*int"),
        ({"space": [1]}, TypeError, "space.*dict"),
        ({"space": {"a": 1}}, ValueError, "no domain"),
        ({"metric": ["a", "b"], "mode": ["min", "max"]}, ValueError, "one metric"),
    ],
)
def test_arguments_are_validated(kwargs, error, match):
    with pytest.raises(error, match=match):
        TuneBOHB(**kwargs)


def test_model_draws_never_land_on_a_domains_bounds() -> None:
    """Draws near an end of [0, 1] stay inside it, with no point mass at the end: a
    ``uniform(0, 20)`` width never comes back as exactly 0 (Ray's bohb_example divides by
    it)."""
    import numpy as np

    from tunelab.search.bohb._kde import _truncated_normal

    rng = np.random.default_rng(0)
    means = np.array([0.0, 1.0, -0.5, 1.5] * 2500)
    values = _truncated_normal(np, rng, means, 0.05)
    assert ((values > 0.0) & (values < 1.0)).all()
    assert len(np.unique(values)) == len(values)  # no mass piled up anywhere
