"""HyperOptSearch, OptunaSearch and NevergradSearch: spaces, points, modes, state, extras."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

import tunelab as tune
from tunelab._errors import ExtraNotInstalledError
from tunelab.search import ConcurrencyLimiter, SearchGenerator, create_searcher

hyperopt = pytest.importorskip("hyperopt")
optuna = pytest.importorskip("optuna")
ng = pytest.importorskip("nevergrad")

from tunelab.search.bohb import TuneBOHB  # noqa: E402
from tunelab.search.hyperopt import HyperOptSearch  # noqa: E402
from tunelab.search.nevergrad import NevergradSearch  # noqa: E402
from tunelab.search.optuna import OptunaSearch, param  # noqa: E402

hp = hyperopt.hp
optuna.logging.set_verbosity(optuna.logging.WARNING)


def space() -> dict[str, Any]:
    return {
        "x": tune.uniform(-5, 5),
        "n": tune.randint(1, 10),
        "step": tune.qrandint(0, 20, 5),
        "lr": tune.loguniform(1e-4, 1e-1),
        "c": tune.choice(["a", [1, 2], None]),
        "nested": {"q": tune.quniform(0, 1, 0.1), "const": 3},
    }


def loss(config: dict[str, Any]) -> float:
    return float((config["x"] - 1) ** 2 + (config["nested"]["q"] - 0.3) ** 2)


def in_space(config: dict[str, Any]) -> bool:
    return (
        -5 <= config["x"] < 5
        and config["n"] in range(1, 10)
        and config["step"] in (0, 5, 10, 15, 20)
        and 1e-4 <= config["lr"] <= 1e-1
        and config["c"] in ("a", [1, 2], None)
        and 0 <= config["nested"]["q"] <= 1
        and round(config["nested"]["q"] * 10, 6) == round(config["nested"]["q"] * 10)
    )


def make(kind: str, **kw: Any) -> Any:
    if kind == "hyperopt":
        return HyperOptSearch(random_state_seed=0, n_initial_points=4, **kw)
    if kind == "optuna":
        return OptunaSearch(sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=4), **kw)
    if kind == "nevergrad":
        return NevergradSearch(ng.optimizers.OnePlusOne, random_state_seed=0, **kw)
    return TuneBOHB(seed=0, bohb_config={"min_points_in_model": 2}, **kw)


KINDS = ["hyperopt", "optuna", "nevergrad", "bohb"]


def drive(searcher: Any, count: int, prefix: str = "t", metric: str = "loss") -> list[dict]:
    configs = []
    for i in range(count):
        config = searcher.suggest(f"{prefix}{i}")
        assert isinstance(config, dict)
        full = {**config, "nested": {**config["nested"], "const": 3}}
        configs.append(full)
        searcher.on_trial_complete(f"{prefix}{i}", {metric: loss(full), "training_iteration": 1})
    return configs


# -- lifecycle -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_suggest_complete_lifecycle_stays_in_space(kind):
    searcher = make(kind, space=space(), metric="loss", mode="min")
    configs = drive(searcher, 12)
    assert all(in_space(c) for c in configs)
    assert len({json.dumps(c, sort_keys=True) for c in configs}) > 6


@pytest.mark.parametrize("kind", KINDS)
def test_space_from_param_space_through_set_search_properties(kind):
    searcher = make(kind)
    assert searcher.set_search_properties("loss", "min", space()) is True
    assert searcher.metric == "loss" and searcher.mode == "min"
    configs = drive(searcher, 5)
    assert all(in_space(c) for c in configs)


@pytest.mark.parametrize("kind", KINDS)
def test_space_in_constructor_and_param_space_is_an_error(kind):
    searcher = make(kind, space=space(), metric="loss", mode="min")
    # as Ray: False (the constructor's space stays); tune.run/Tuner raise for the domains
    assert searcher.set_search_properties("loss", "min", {"x": tune.uniform(0, 1)}) is False
    # constants and sample_from in the config are fine
    assert searcher.set_search_properties("loss", "min", {"k": 1}) is False


@pytest.mark.parametrize("kind", KINDS)
def test_suggest_without_metric_or_space_says_what_is_missing(kind):
    searcher = make(kind)
    with pytest.raises(RuntimeError, match=r"search space.*`metric`.*`mode`"):
        searcher.suggest("t0")


@pytest.mark.parametrize("kind", KINDS)
def test_grid_search_cannot_be_searched(kind):
    searcher = make(kind, metric="loss", mode="min")
    with pytest.raises(ValueError, match=r"grid_search.*'g'"):
        searcher.set_search_properties(None, None, {"g": tune.grid_search([1, 2])})


@pytest.mark.parametrize("kind", KINDS)
def test_mode_max_finds_the_maximum(kind):
    searcher = make(kind, space={"x": tune.uniform(-5, 5)}, metric="score", mode="max")
    xs = []
    for i in range(40):
        config = searcher.suggest(f"t{i}")
        xs.append(config["x"])
        searcher.on_trial_complete(f"t{i}", {"score": -((config["x"] - 2) ** 2)})
    assert min(abs(x - 2) for x in xs) < 0.3
    late = sorted(abs(x - 2) for x in xs[20:])
    early = sorted(abs(x - 2) for x in xs[:10])
    assert late[len(late) // 2] < early[len(early) // 2]


@pytest.mark.parametrize("kind", KINDS)
def test_failed_and_unknown_trials_are_tolerated(kind):
    searcher = make(kind, space=space(), metric="loss", mode="min")
    searcher.on_trial_complete("never", {"loss": 1.0})
    searcher.suggest("a")
    searcher.on_trial_complete("a", None, error=True)
    searcher.suggest("b")
    searcher.on_trial_complete("b", {"other": 1.0})
    assert isinstance(searcher.suggest("c"), dict)


# -- points_to_evaluate --------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_points_to_evaluate_come_first_and_partial_points_are_completed(kind):
    points = [
        {"x": 1.5, "n": 3, "step": 10, "lr": 0.01, "c": [1, 2], "nested": {"q": 0.4}},
        {"x": -2.0, "c": None},
        {"nested/q": 0.7},
    ]
    searcher = make(kind, space=space(), metric="loss", mode="min", points_to_evaluate=points)
    first, second, third = drive(searcher, 3)
    assert first == {**points[0], "nested": {"q": 0.4, "const": 3}}
    assert second["x"] == -2.0 and second["c"] is None and in_space(second)
    assert third["nested"]["q"] == 0.7 and in_space(third)


@pytest.mark.parametrize("kind", KINDS)
def test_points_outside_the_space_or_with_unknown_keys_are_errors(kind):
    searcher = make(kind, space=space(), metric="loss", mode="min", points_to_evaluate=[{"x": 9}])
    with pytest.raises(ValueError, match=r"9.*'x'.*outside"):
        searcher.suggest("t0")
    searcher = make(kind, space=space(), metric="loss", mode="min", points_to_evaluate=[{"y": 1}])
    with pytest.raises(ValueError, match=r"'y'.*not in the search space"):
        searcher.suggest("t0")


def test_points_to_evaluate_must_be_a_list_of_dicts():
    with pytest.raises(TypeError, match=r"points_to_evaluate.*list of config dicts"):
        HyperOptSearch(points_to_evaluate={"x": 1})
    with pytest.raises(TypeError, match=r"must hold dicts.*3"):
        OptunaSearch(points_to_evaluate=[3])


# -- save / restore ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_state_round_trip_continues_with_the_same_suggestions(kind):
    original = make(kind, space=space(), metric="loss", mode="min", points_to_evaluate=[{"x": 0}])
    drive(original, 8)
    live = original.suggest("live")  # running while the state is saved
    state = json.loads(json.dumps(original.get_state()))
    restored = make(kind, space=space(), metric="loss", mode="min", points_to_evaluate=[{"x": 0}])
    restored.set_state(state)
    for searcher in (original, restored):
        full = {**live, "nested": {**live["nested"], "const": 3}}
        searcher.on_trial_complete("live", {"loss": loss(full)})
    assert drive(original, 6, prefix="after") == drive(restored, 6, prefix="after")


@pytest.mark.parametrize("kind", KINDS)
def test_save_and_restore_files(kind, tmp_path):
    original = make(kind, space=space(), metric="loss", mode="min")
    drive(original, 5)
    original.save_to_dir(str(tmp_path), "s1")
    restored = make(kind, space=space(), metric="loss", mode="min")
    restored.restore_from_dir(str(tmp_path))
    assert original.suggest("z") == restored.suggest("z")


def test_search_generator_state_includes_the_adapter_state():
    generator = SearchGenerator(make("optuna"))
    generator.set_search_properties("loss", "min", space())
    generator.add_configurations([type("E", (), {"config": space(), "num_samples": 10})()])
    for _ in range(3):
        suggestion = generator.next_trial()
        assert suggestion is not None
        generator.on_trial_complete(suggestion.trial_id, {"loss": loss(suggestion.config)})
    state = json.loads(json.dumps(generator.get_state()))
    other = SearchGenerator(make("optuna"))
    other.set_search_properties("loss", "min", space())
    other.add_configurations([type("E", (), {"config": space(), "num_samples": 10})()])
    other.set_state(state)
    assert generator.next_trial().config == other.next_trial().config


# -- hyperopt ------------------------------------------------------------------------------
def test_hyperopt_native_conditional_space_and_points():
    native = {
        "model": hp.choice(
            "model",
            [
                {"kind": "linear", "alpha": hp.loguniform("alpha", -5, 0)},
                {"kind": "tree", "depth": hp.randint("depth", 1, 8)},
            ],
        ),
        "lr": hp.uniform("lr", 0, 1),
    }
    points = [{"model": {"kind": "tree", "depth": 3}, "lr": 0.5}]
    searcher = HyperOptSearch(
        native, metric="acc", mode="max", points_to_evaluate=points, random_state_seed=1
    )
    first = searcher.suggest("p")
    assert first == points[0]
    searcher.on_trial_complete("p", {"acc": 0.9})
    kinds = set()
    for i in range(10):
        config = searcher.suggest(str(i))
        kinds.add(config["model"]["kind"])
        assert set(config["model"]) in ({"kind", "alpha"}, {"kind", "depth"})
        searcher.on_trial_complete(str(i), {"acc": config["lr"]})
    assert kinds == {"linear", "tree"}
    docs = searcher.get_state()["docs"]
    assert docs[0]["vals"]["model"] == [1] and docs[0]["vals"]["alpha"] == []


def test_hyperopt_tpe_uses_negated_metric_for_max():
    searcher = HyperOptSearch({"x": tune.uniform(0, 1)}, metric="m", mode="max")
    config = searcher.suggest("a")
    searcher.on_trial_complete("a", {"m": 0.75})
    assert searcher.get_state()["docs"][0]["result"] == {"loss": -0.75, "status": "ok"}
    assert 0 <= config["x"] < 1


def test_hyperopt_normal_domains_are_converted():
    searcher = HyperOptSearch(
        {"g": tune.randn(10, 2), "qg": tune.qrandn(0, 1, 0.5)}, metric="m", mode="min"
    )
    values = [searcher.suggest(str(i)) for i in range(30)]
    assert 5 < sum(v["g"] for v in values) / 30 < 15
    assert all(v["qg"] * 2 == int(v["qg"] * 2) for v in values)


def test_hyperopt_argument_validation():
    with pytest.raises(ValueError, match=r"n_initial_points.*>= 0.*-1"):
        HyperOptSearch(n_initial_points=-1)
    with pytest.raises(ValueError, match=r"gamma.*\(0, 1\).*2"):
        HyperOptSearch(gamma=2)
    with pytest.raises(TypeError, match=r"random_state_seed.*'x'"):
        HyperOptSearch(random_state_seed="x")
    with pytest.raises(ValueError, match="no hyperopt expression"):
        HyperOptSearch({"a": 1})
    with pytest.raises(ValueError, match="one metric name"):
        HyperOptSearch(metric=["a", "b"], mode=["min", "max"])


# -- optuna --------------------------------------------------------------------------------
def test_optuna_multi_objective():
    searcher = OptunaSearch(
        {"x": tune.uniform(0, 1)}, metric=["a", "b"], mode=["min", "max"], seed=3
    )
    for i in range(8):
        config = searcher.suggest(str(i))
        searcher.on_trial_complete(str(i), {"a": config["x"], "b": config["x"] ** 2})
    study = searcher._get_study()
    assert [d.name for d in study.directions] == ["MINIMIZE", "MAXIMIZE"]
    assert all(len(t.values) == 2 for t in study.trials)
    searcher.suggest("missing")
    searcher.on_trial_complete("missing", {"a": 1.0})
    assert study.trials[-1].state.name == "FAIL"


def test_optuna_multi_objective_needs_matching_lists():
    with pytest.raises(ValueError, match="same length"):
        OptunaSearch(metric=["a", "b"], mode=["min"])
    with pytest.raises(ValueError, match="lists for both"):
        OptunaSearch(metric=["a", "b"], mode="min")


def test_optuna_define_by_run_with_constants_and_points():
    def define(trial: Any) -> dict[str, Any]:
        kind = trial.suggest_categorical("kind", ["svm", "tree"])
        if kind == "tree":
            trial.suggest_int("tree/depth", 1, 10)
        else:
            trial.suggest_float("svm/c", 1e-3, 10, log=True)
        return {"seed": 42}

    searcher = OptunaSearch(
        define,
        metric="m",
        mode="min",
        seed=0,
        points_to_evaluate=[{"kind": "tree", "tree": {"depth": 4}}],
    )
    first = searcher.suggest("p")
    assert first == {"kind": "tree", "tree": {"depth": 4}, "seed": 42}
    searcher.on_trial_complete("p", {"m": 1.0})
    for i in range(8):
        config = searcher.suggest(str(i))
        assert config["seed"] == 42
        assert set(config) in ({"kind", "tree", "seed"}, {"kind", "svm", "seed"})
        searcher.on_trial_complete(str(i), {"m": 1.0})


def test_optuna_define_by_run_must_return_a_dict_or_none():
    searcher = OptunaSearch(lambda trial: 3, metric="m", mode="min")
    with pytest.raises(TypeError, match="None or a dict"):
        searcher.suggest("a")
    assert searcher._get_study().trials[-1].state.name == "FAIL"
    with pytest.raises(TypeError, match="one argument"):
        OptunaSearch(lambda: None)


def test_optuna_distribution_dict_and_evaluated_rewards():
    dists = optuna.distributions
    searcher = OptunaSearch(
        {"a": dists.FloatDistribution(0, 1), "g/h": dists.IntDistribution(1, 3)},
        metric="m",
        mode="min",
        points_to_evaluate=[{"a": 0.5, "g": {"h": 2}}],
        evaluated_rewards=[3.0],
    )
    config = searcher.suggest("a")
    assert set(config) == {"a", "g"} and 1 <= config["g"]["h"] <= 3
    trials = searcher._get_study().trials
    assert trials[0].params == {"a": 0.5, "g/h": 2} and trials[0].value == 3.0
    with pytest.raises(ValueError, match="one reward per point"):
        OptunaSearch(points_to_evaluate=[{"a": 1}], evaluated_rewards=[1, 2])


def test_optuna_ray_1x_param_list_space():
    searcher = OptunaSearch(
        [
            param.suggest_uniform("a", 0, 1),
            param.suggest_loguniform("b", 1e-3, 1),
            param.suggest_discrete_uniform("c", 0, 1, 0.25),
            param.suggest_categorical("d", ["x", "y"]),
        ],
        metric="m",
        mode="min",
        seed=1,
    )
    config = searcher.suggest("a")
    assert 0 <= config["a"] <= 1 and 1e-3 <= config["b"] <= 1
    assert config["c"] in (0, 0.25, 0.5, 0.75, 1) and config["d"] in ("x", "y")


def test_optuna_reports_intermediate_values_once_per_step():
    searcher = OptunaSearch({"x": tune.uniform(0, 1)}, metric="m", mode="min", seed=0)
    searcher.suggest("a")
    for step in (1, 2, 2, 1, 3):  # a restored trial may repeat steps: reported once
        searcher.on_trial_result("a", {"m": float(step), "training_iteration": step})
    searcher.on_trial_complete("a", {"training_iteration": 3})
    trial = searcher._get_study().trials[0]
    assert trial.intermediate_values == {1: 1.0, 2: 2.0, 3: 3.0}
    assert trial.state.name == "PRUNED"


def test_optuna_unstorable_categories_go_by_index_and_normal_is_an_error():
    searcher = OptunaSearch(
        {"c": tune.choice([[1], {"a": 2}, 1, True])}, metric="m", mode="min", seed=0
    )
    seen = [searcher.suggest(str(i))["c"] for i in range(20)]
    assert {json.dumps(v) for v in seen} <= {"[1]", '{"a": 2}', "1", "true"}
    with pytest.raises(ValueError, match=r"normal distribution.*'g'"):
        OptunaSearch({"g": tune.randn()})


def test_optuna_argument_validation():
    with pytest.raises(ValueError, match="both `sampler` and `seed`"):
        OptunaSearch(sampler=optuna.samplers.RandomSampler(), seed=1)
    with pytest.raises(TypeError, match=r"sampler.*BaseSampler"):
        OptunaSearch(sampler="tpe")
    with pytest.raises(TypeError, match=r"space.*must be None, a dict"):
        OptunaSearch(space=3)


def test_optuna_any_sampler():
    searcher = OptunaSearch(
        space(), metric="loss", mode="min", sampler=optuna.samplers.RandomSampler(seed=4)
    )
    assert all(in_space(c) for c in drive(searcher, 5))


# -- nevergrad -----------------------------------------------------------------------------
def test_nevergrad_optimizer_class_with_kwargs_and_concurrency():
    searcher = NevergradSearch(
        ng.optimizers.TwoPointsDE,
        optimizer_kwargs={"budget": 30},
        space={"x": tune.uniform(-5, 5), "y": tune.uniform(-5, 5)},
        metric="loss",
        mode="min",
        random_state_seed=2,
    )
    ConcurrencyLimiter(searcher, 3)
    configs = []
    for i in range(3):
        configs.append(searcher.suggest(str(i)))
    assert searcher._get_optimizer().num_workers == 3
    for i, config in enumerate(configs):
        searcher.on_trial_complete(str(i), {"loss": config["x"] ** 2 + config["y"] ** 2})
    assert searcher._get_optimizer().num_tell == 3


def test_nevergrad_optimizer_instance_with_its_own_parametrization():
    instrumentation = ng.p.Instrumentation(
        x=ng.p.Scalar(lower=0, upper=1), kind=ng.p.Choice(["u", "v"])
    )
    optimizer = ng.optimizers.OnePlusOne(parametrization=instrumentation, budget=20)
    searcher = NevergradSearch(optimizer, metric="m", mode="max", points_to_evaluate=[{"x": 0.3}])
    first = searcher.suggest("p")
    assert first["x"] == 0.3 and first["kind"] in ("u", "v")
    searcher.on_trial_complete("p", {"m": 1.0})
    second = searcher.suggest("q")
    assert set(second) == {"x", "kind"}
    with pytest.raises(ValueError, match="own parametrization"):
        NevergradSearch(optimizer, space={"x": tune.uniform(0, 1)})
    with pytest.raises(ValueError, match="optimizer_kwargs"):
        NevergradSearch(optimizer, optimizer_kwargs={"budget": 3})


def test_nevergrad_instance_with_a_list_of_names():
    optimizer = ng.optimizers.OnePlusOne(parametrization=2, budget=10)
    searcher = NevergradSearch(
        optimizer, space=["a", "b"], metric="m", mode="min", points_to_evaluate=[{"a": 1, "b": 2}]
    )
    assert searcher.suggest("p") == {"a": 1.0, "b": 2.0}
    assert set(searcher.suggest("q")) == {"a", "b"}


def test_nevergrad_ng_dict_space_and_validation():
    searcher = NevergradSearch(
        ng.optimizers.RandomSearch,
        space=ng.p.Dict(lr=ng.p.Log(lower=1e-4, upper=1.0)),
        metric="m",
        mode="min",
    )
    assert 1e-4 <= searcher.suggest("a")["lr"] <= 1
    with pytest.raises(TypeError, match=r"optimizer.*nevergrad optimizer class"):
        NevergradSearch("OnePlusOne")
    with pytest.raises(TypeError, match=r"space.*ng.p.Dict"):
        NevergradSearch(ng.optimizers.OnePlusOne, space=3)


def test_nevergrad_normal_domains_center_on_the_mean():
    searcher = NevergradSearch(
        ng.optimizers.RandomSearch,
        space={"g": tune.randn(100, 5)},
        metric="m",
        mode="min",
        random_state_seed=0,
    )
    values = [searcher.suggest(str(i))["g"] for i in range(40)]
    assert 95 < sum(values) / len(values) < 105


# -- integration with the rest of tunelab ---------------------------------------------------
def test_create_searcher_builds_the_adapters():
    assert isinstance(create_searcher("hyperopt", metric="m", mode="min"), HyperOptSearch)
    assert isinstance(create_searcher("optuna"), OptunaSearch)
    assert isinstance(
        create_searcher("nevergrad", optimizer=ng.optimizers.OnePlusOne), NevergradSearch
    )
    assert isinstance(create_searcher("bohb", seed=1), TuneBOHB)


def test_suggest_module_paths_alias_the_search_modules():
    import tunelab.suggest.bohb
    import tunelab.suggest.hyperopt
    import tunelab.suggest.nevergrad
    import tunelab.suggest.optuna

    import tunelab.search.hyperopt

    assert tunelab.suggest.hyperopt is tunelab.search.hyperopt
    assert tunelab.suggest.optuna.OptunaSearch is OptunaSearch
    assert tunelab.suggest.nevergrad.NevergradSearch is NevergradSearch
    assert tunelab.suggest.bohb.TuneBOHB is TuneBOHB


@pytest.mark.parametrize(
    ("module", "build", "extra"),
    [
        ("hyperopt", lambda: HyperOptSearch(), "hyperopt"),
        ("optuna", lambda: OptunaSearch(), "optuna"),
        ("nevergrad", lambda: NevergradSearch(), "nevergrad"),
        ("numpy", lambda: TuneBOHB(), "bohb"),
    ],
)
def test_missing_library_names_the_extra(monkeypatch, module, build, extra):
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=rf'pip install "tunelab\[{extra}\]"') as info:
        build()
    assert isinstance(info.value, ExtraNotInstalledError)


def test_adapter_modules_import_without_their_libraries():
    code = (
        "import sys\n"
        "for name in ('optuna', 'hyperopt', 'nevergrad', 'numpy'):\n"
        "    sys.modules[name] = None\n"
        "import tunelab.search.optuna, tunelab.search.hyperopt\n"
        "import tunelab.search.nevergrad, tunelab.search.bohb, tunelab.suggest.optuna\n"
        "try:\n"
        "    tunelab.search.optuna.OptunaSearch()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "tunelab[optuna]"' in out.stdout
