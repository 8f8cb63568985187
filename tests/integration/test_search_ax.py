"""AxSearch with the real Ax: the conformance suite, a real experiment into BoTorch's phase,
Ax's own parameters with constraints, an AxClient with its experiment (0.8's spelling),
failed trials, resume.

BoTorch's model fits are slow on two cores: the budgets here are small."""

from __future__ import annotations

import logging
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
from tunelab.search import SearchGenerator, create_searcher
from tunelab.testing.searcher_conformance import check_searcher

with warnings.catch_warnings():  # torch.jit deprecations inside BoTorch's modules
    warnings.simplefilter("ignore")
    pytest.importorskip("torch", reason="PyTorch is not installed (tunelab[ax])")
    ax_client_module = pytest.importorskip(
        "ax.service.ax_client", reason="Ax is not installed (tunelab[ax])"
    )

from tunelab.search.ax import AxSearch

AxClient = ax_client_module.AxClient
ObjectiveProperties = ax_client_module.ObjectiveProperties


@pytest.fixture(autouse=True)
def _quiet_ax():
    ax_logger = logging.getLogger("ax")
    level = ax_logger.level
    ax_logger.setLevel(logging.WARNING)
    yield
    ax_logger.setLevel(level)


@pytest.mark.parametrize("mode", ["min", "max"])
def test_conforms_on_the_default_space(mode):
    # the default space's 5 parameters: Ax's first 10 trials are Sobol points
    check_searcher(lambda: AxSearch(random_seed=0), mode=mode, num_samples=8)


@pytest.mark.timeout(300)
def test_conforms_into_botorchs_phase_and_restores_its_model():
    check_searcher(
        lambda: AxSearch(random_seed=0),
        space={"x": tune.uniform(-2.0, 2.0), "c": 3},
        objective=lambda c: (c["x"] - 0.5) ** 2,
        num_samples=7,
        concurrency=1,
    )


@pytest.mark.timeout(300)
def test_learns_in_a_real_experiment(tmp_path):
    losses = learn_quadratic(AxSearch(random_seed=1), tmp_path, num_samples=9)
    assert min(losses[5:]) < min(losses[:5])  # BoTorch after 5 Sobol points


def test_ax_parameters_with_constraints_nested_names_and_points():
    parameters = [
        {"name": "x1", "type": "range", "bounds": [0.0, 1.0]},
        {"name": "net/x2", "type": "range", "bounds": [0.0, 1.0]},
        {"name": "act", "type": "choice", "values": ["relu", "tanh"]},
    ]
    searcher = AxSearch(
        space=parameters,
        metric="loss",
        mode="min",
        parameter_constraints=["x1 + net/x2 <= 1.0"],
        outcome_constraints=["l2norm <= 1.25"],
        points_to_evaluate=[{"x1": 0.25, "net": {"x2": 0.5}, "act": "tanh"}],
        random_seed=2,
    )
    gen = SearchGenerator(searcher)
    gen.set_search_properties(None, None, {})
    gen.add_configurations([{"name": "t", "config": {}, "num_samples": 4}])
    configs = []
    while (trial := gen.next_trial()) is not None:
        configs.append(trial.config)
        c = trial.config
        gen.on_trial_complete(trial.trial_id, {"loss": c["x1"], "l2norm": c["net"]["x2"]})
    assert configs[0] == {"x1": 0.25, "net": {"x2": 0.5}, "act": "tanh"}
    assert all(c["x1"] + c["net"]["x2"] <= 1.0 + 1e-9 for c in configs)
    trials = searcher._client.experiment.trials
    assert all(t.status.is_completed for t in trials.values()) and len(trials) == 4


def test_tunelab_domains_of_every_kind():
    configs = drive(
        AxSearch(random_seed=3), every_kind_space(), 6, lambda c: c["lr"] + c["width"] / 100
    )
    check_every_kind(configs)


def test_an_ax_client_with_its_experiment_in_ray_0_8_spelling(tmp_path):
    with warnings.catch_warnings():  # Ax 1.3 deprecates AxClient (removed in 1.4)
        warnings.simplefilter("ignore", DeprecationWarning)
        client = AxClient(random_seed=4, verbose_logging=False)
        client.create_experiment(
            parameters=[{"name": "width", "type": "range", "bounds": [0.0, 20.0]}],
            objectives={"mean_loss": ObjectiveProperties(minimize=True)},
        )
    with pytest.warns(FutureWarning, match="use_early_stopped_trials"):
        searcher = AxSearch(client, "min", use_early_stopped_trials=True, max_concurrent=2)
    assert (searcher.metric, searcher.mode) == ("mean_loss", "min")

    def trainable(config: dict[str, Any]) -> None:
        tune.report({"mean_loss": (config["width"] - 5) ** 2})

    analysis = tune.run(
        trainable,
        search_alg=searcher,
        config={"steps": 2},
        num_samples=4,
        storage_path=str(tmp_path),
        verbose=0,
    )
    assert len(analysis.trials) == 4
    assert all(0 <= t.config["width"] <= 20 and t.config["steps"] == 2 for t in analysis.trials)
    assert len(client.experiment.trials) == 4  # the user's own client ran the search
    with pytest.raises(ValueError, match="differs from the Ax experiment"):
        AxSearch(ax_client=client, metric="other")


def test_failed_nan_and_metric_less_trials():
    searcher = AxSearch(space=space(), metric="loss", mode="min", random_seed=5)
    outcomes = [({"loss": float("nan")}, False), (None, True), ({"other": 1.0}, False)]
    for number, (result, error) in enumerate(outcomes):
        trial_id = f"t{number}"
        assert isinstance(searcher.suggest(trial_id), dict)
        searcher.on_trial_complete(trial_id, result, error=error)
    statuses = [t.status.name for t in searcher._client.experiment.trials.values()]
    assert statuses == ["ABANDONED", "FAILED", "ABANDONED"]


def test_state_round_trip_suggests_what_the_original_would():
    original, restored, _ = round_trip(lambda: AxSearch(random_seed=6), num_samples=6, told=3)
    assert restored.suggest("next") == original.suggest("next")


def test_clear_errors():
    with pytest.raises(ValueError, match="normal distribution"):
        AxSearch(space={"x": tune.randn()})
    with pytest.raises(ValueError, match="one category"):
        AxSearch(space={"x": tune.choice(["only"])})
    with pytest.raises(TypeError, match="Ax parameter dicts"):
        AxSearch(space={"x": (0, 1)})
    with pytest.raises(TypeError, match="`parameter_constraints`"):
        AxSearch(parameter_constraints="x <= 1")
    with pytest.raises(ValueError, match="must set every searched parameter"):
        AxSearch(space=space(), metric="loss", mode="min", points_to_evaluate=[{"x": 1.0}]).suggest(
            "t"
        )


def test_missing_library_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ax", None)
    with pytest.raises(ImportError, match=r"tunelab\[ax\]"):
        AxSearch()


def test_ray_paths_and_create_searcher():
    from tunelab.suggest.ax import AxSearch as from_suggest

    import tunelab.suggest as suggest

    assert from_suggest is AxSearch and suggest.AxSearch is AxSearch
    assert isinstance(create_searcher("ax", metric="loss", mode="min"), AxSearch)
