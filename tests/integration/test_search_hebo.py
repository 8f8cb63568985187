"""HEBOSearch with the real HEBO: the conformance suite, a real experiment, HEBO's own design
space, batches, warm starts, reproducibility without touching the global generators, resume.

HEBO's models are slow on two cores: the budgets here are small."""

from __future__ import annotations

import sys
import warnings
from typing import Any

import pytest
from _searcher_checks import (
    check_every_kind,
    drive,
    every_kind_space,
    learn_quadratic,
    round_trip,
    space,
)

import tunelab as tune
from tunelab.search import create_searcher
from tunelab.testing.searcher_conformance import check_searcher

with warnings.catch_warnings():  # torch.jit deprecations inside HEBO's modules
    warnings.simplefilter("ignore")
    pytest.importorskip("torch", reason="PyTorch is not installed (tunelab[hebo])")
    hebo = pytest.importorskip(
        "hebo.design_space.design_space",
        reason='HEBO is not installed (tunelab[hebo], then pip install --no-deps "HEBO>=0.3.5")',
    )

import numpy as np
import torch

from tunelab.search.hebo import HEBOSearch


@pytest.mark.parametrize("mode", ["min", "max"])
def test_conforms(mode):
    # rand_sample=3: the last suggestions (and the restore check) come from HEBO's model
    check_searcher(
        lambda: HEBOSearch(random_state_seed=0, max_concurrent=2, rand_sample=3),
        space={
            "x": tune.uniform(-2.0, 2.0),
            "kind": tune.choice(["a", "b"]),
            "nested": {"n": tune.randint(0, 5), "const": 7},
            "double_x": tune.sample_from(lambda config: config["x"] * 2),
        },
        objective=lambda c: (c["x"] - 0.5) ** 2 + c["nested"]["n"] + (c["kind"] == "a"),
        mode=mode,
        num_samples=6,
    )


@pytest.mark.timeout(300)
def test_learns_in_a_real_experiment(tmp_path):
    losses = learn_quadratic(
        HEBOSearch(random_state_seed=1, max_concurrent=2, rand_sample=4), tmp_path, num_samples=10
    )
    assert min(losses[4:]) < min(losses[:4])


def test_design_space_with_nested_names_and_evaluated_points():
    design = hebo.DesignSpace().parse(
        [
            {"name": "width", "type": "num", "lb": 0, "ub": 20},
            {"name": "net/layers", "type": "int", "lb": 1, "ub": 4},
            {"name": "act", "type": "cat", "categories": ["relu", "tanh"]},
        ]
    )
    searcher = HEBOSearch(
        design,
        metric="loss",
        mode="max",
        points_to_evaluate=[{"width": 10.0, "net": {"layers": 2}, "act": "relu"}],
        evaluated_rewards=[5.0],
        random_state_seed=2,
        max_concurrent=1,
        rand_sample=3,
    )
    configs = drive(searcher, {}, 4, lambda c: -c["width"])
    assert searcher._opt.y[0, 0] == -5.0  # told, negated (HEBO minimizes), not run
    for c in configs:
        assert 0 <= c["width"] <= 20 and c["net"]["layers"] in (1, 2, 3, 4)
        assert c["act"] in ("relu", "tanh") and type(c["net"]["layers"]) is int


def test_tunelab_domains_of_every_kind():
    configs = drive(
        HEBOSearch(random_state_seed=3, max_concurrent=2, rand_sample=4),
        every_kind_space(),
        5,
        lambda c: c["lr"] + c["width"] / 100 + c["units"] / 1000,
    )
    check_every_kind(configs)


def test_batches_points_first_and_the_limiter_sets_the_batch():
    searcher = HEBOSearch(
        space(), metric="loss", mode="min", points_to_evaluate=[{"x": 1.0}], max_concurrent=3
    )
    first = searcher.suggest("p")
    assert first is not None and first["x"] == 1.0 and -5 <= first["y"] < 5
    assert searcher.suggest("a") is not None and searcher.suggest("b") is not None
    assert searcher.suggest("c") is None  # a batch of 3 is running
    searcher.on_trial_complete("p", {"loss": 1.0})
    assert searcher.suggest("c") is None  # the next batch waits for the whole batch
    for trial_id in ("a", "b"):
        searcher.on_trial_complete(trial_id, None, error=True)
    assert searcher.suggest("c") is not None
    assert searcher.set_max_concurrency(2) is True and searcher.max_concurrent == 2


def test_reproducible_and_the_global_generators_are_untouched():
    np.random.seed(11)
    torch.manual_seed(11)
    expected = (np.random.random(), torch.rand(1).item())
    np.random.seed(11)
    torch.manual_seed(11)

    def run() -> list[Any]:
        return drive(
            HEBOSearch(random_state_seed=4, max_concurrent=1, rand_sample=3),
            space(),
            4,
            lambda c: (c["x"] - 1) ** 2,
        )

    first = run()
    assert (np.random.random(), torch.rand(1).item()) == expected
    assert run() == first


def test_state_round_trip_suggests_what_the_original_would():
    original, restored, _ = round_trip(
        lambda: HEBOSearch(random_state_seed=5, max_concurrent=1, rand_sample=3),
        num_samples=6,
        told=4,
    )
    assert restored.suggest("next") == original.suggest("next")


def test_clear_errors():
    with pytest.raises(ValueError, match="normal distribution"):
        HEBOSearch({"x": tune.randn()})
    with pytest.raises(ValueError, match="does not take"):
        HEBOSearch(no_such_argument=1)
    with pytest.raises(ValueError, match="`max_concurrent`"):
        HEBOSearch(max_concurrent=0)
    with pytest.raises(TypeError, match="DesignSpace"):
        HEBOSearch({"x": (0, 1)})
    with pytest.raises(ValueError, match="one reward per point"):
        HEBOSearch(points_to_evaluate=[{"x": 1}], evaluated_rewards=[1, 2])


def test_missing_library_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "hebo", None)
    with pytest.raises(ImportError, match=r'tunelab\[hebo\].*--no-deps "HEBO>=0.3.5"'):
        HEBOSearch()


def test_ray_paths_and_create_searcher():
    from tunelab.suggest.hebo import HEBOSearch as from_suggest

    import tunelab.suggest as suggest

    assert from_suggest is HEBOSearch and suggest.HEBOSearch is HEBOSearch
    searcher = create_searcher("hebo", metric="loss", mode="min", max_concurrent=2)
    assert isinstance(searcher, HEBOSearch) and searcher.max_concurrent == 2
