"""Older Ray Tune argument spellings and semantics (0.5-1.x), each as its generation had it:
reward_attr, searcher max_concurrent, NevergradSearch(optimizer, parameter_names), HyperOpt
hp.choice indices, TuneBOHB with a ConfigurationSpace, the 0.5 _setup(self), bare 0.x
functions in a config, get_best_config(metric), best_checkpoint as a path, DurableTrainable,
and the 0.7 track API."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import pytest
from analysis_fixtures import make_experiment

import tunelab as tune
from tunelab import _session, track
from tunelab._checkpoint import Checkpoint, TrialCheckpoint
from tunelab._trial import Trial, TrialStatus
from tunelab.analysis import ExperimentAnalysis
from tunelab.schedulers import (
    AsyncHyperBandScheduler,
    HyperBandForBOHB,
    HyperBandScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
)
from tunelab.schedulers._trial_scheduler import Decision, RunnerView
from tunelab.search import ConcurrencyLimiter
from tunelab.search._searcher import SearchGenerator
from tunelab.search._variant_generator import generate_variants
from tunelab.trainable import DurableTrainable, Trainable, durable

hp = pytest.importorskip("hyperopt").hp
ng = pytest.importorskip("nevergrad")
optuna = pytest.importorskip("optuna")

from tunelab.search.bohb import TuneBOHB  # noqa: E402
from tunelab.search.hyperopt import HyperOptSearch  # noqa: E402
from tunelab.search.nevergrad import NevergradSearch  # noqa: E402
from tunelab.search.optuna import OptunaSearch  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


# -- reward_attr on schedulers -----------------------------------------------------------------
SCHEDULERS = {
    "asha": AsyncHyperBandScheduler,
    "hyperband": HyperBandScheduler,
    "hb_bohb": HyperBandForBOHB,
    "median": MedianStoppingRule,
    "pbt": functools.partial(PopulationBasedTraining, hyperparam_mutations={"lr": [0.1, 0.2]}),
}


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_reward_attr_is_the_metric_maximised(name: str) -> None:
    with pytest.warns(FutureWarning, match=r"`reward_attr` is deprecated.*metric='acc'"):
        scheduler = SCHEDULERS[name](reward_attr="acc")
    assert (scheduler.metric, scheduler.mode) == ("acc", "max")


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_reward_attr_conflicts_are_errors(name: str) -> None:
    cls = SCHEDULERS[name]
    with pytest.raises(ValueError, match=r"both `metric`.*`reward_attr`"):
        cls(metric="loss", reward_attr="acc")
    with pytest.raises(ValueError, match=r"mode.*'max'.*got mode='min'"):
        cls(mode="min", reward_attr="acc")
    with pytest.raises(TypeError, match=r"`reward_attr`.*non-empty str"):
        cls(reward_attr=3)


class _Runner(RunnerView):
    def __init__(self, trials: list[Trial]) -> None:
        super().__init__(lambda status: [t for t in trials if t.status == status], trials)


def test_asha_with_reward_attr_stops_the_lower_reward() -> None:
    with pytest.warns(FutureWarning):
        asha = AsyncHyperBandScheduler(reward_attr="acc", grace_period=1, reduction_factor=2)
    trials = [Trial("fake", trial_id=i) for i in ("good", "bad")]
    runner = _Runner(trials)
    for trial in trials:
        trial.status = TrialStatus.RUNNING
        asha.on_trial_add(runner, trial)
    good = asha.on_trial_result(runner, trials[0], {"training_iteration": 1, "acc": 0.9})
    bad = asha.on_trial_result(runner, trials[1], {"training_iteration": 1, "acc": 0.1})
    assert (good, bad) == (Decision.CONTINUE, Decision.STOP)


# -- reward_attr and max_concurrent on searchers ---------------------------------------------
def _space() -> dict[str, Any]:
    return {"x": tune.uniform(0, 1), "y": tune.choice(["a", "b"])}


SEARCHERS = {
    "hyperopt": lambda **kw: HyperOptSearch(_space(), random_state_seed=0, **kw),
    "optuna": lambda **kw: OptunaSearch(_space(), seed=0, **kw),
    "nevergrad": lambda **kw: NevergradSearch(ng.optimizers.OnePlusOne, space=_space(), **kw),
    "bohb": lambda **kw: TuneBOHB(_space(), seed=0, **kw),
}


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_searcher_reward_attr_is_the_metric_maximised(name: str) -> None:
    with pytest.warns(FutureWarning, match="`reward_attr` is deprecated"):
        searcher = SEARCHERS[name](reward_attr="acc")
    assert (searcher.metric, searcher.mode) == ("acc", "max")
    with pytest.raises(ValueError, match="both `metric`"):
        SEARCHERS[name](reward_attr="acc", metric="loss")


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_searcher_max_concurrent_caps_live_suggestions(name: str) -> None:
    searcher = SEARCHERS[name](metric="loss", mode="min", max_concurrent=2)
    assert searcher.suggest("t1") is not None
    assert searcher.suggest("t2") is not None
    assert searcher.suggest("t3") is None  # two trials still run
    searcher.on_trial_complete("t1", {"loss": 1.0})
    assert isinstance(searcher.suggest("t3"), dict)
    assert searcher.suggest("t4") is None


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_searcher_max_concurrent_none_or_zero_means_no_limit(name: str) -> None:
    for value in (None, 0):
        searcher = SEARCHERS[name](metric="loss", mode="min", max_concurrent=value)
        assert all(isinstance(searcher.suggest(f"t{i}"), dict) for i in range(4))
    with pytest.raises(ValueError, match=r"`max_concurrent`.*>= 0"):
        SEARCHERS[name](metric="loss", mode="min", max_concurrent=-1)
    with pytest.raises(TypeError, match="`max_concurrent`"):
        SEARCHERS[name](metric="loss", mode="min", max_concurrent="2")


def test_concurrency_limiter_replaces_a_searchers_own_limit() -> None:
    limiter = ConcurrencyLimiter(
        HyperOptSearch(_space(), metric="loss", mode="min", max_concurrent=1), max_concurrent=3
    )
    assert [limiter.suggest(f"t{i}") is not None for i in range(4)] == [True, True, True, False]


def test_use_early_stopped_trials_is_accepted_as_in_0_8() -> None:
    with pytest.warns(FutureWarning, match=r"use_early_stopped_trials.*no effect"):
        HyperOptSearch(_space(), use_early_stopped_trials=True)
    with pytest.raises(ValueError, match="use_early_stopped_trials=False"):
        HyperOptSearch(_space(), use_early_stopped_trials=False)


# -- NevergradSearch(optimizer, parameter_names) -----------------------------------------------
def test_nevergrad_0x_positional_parameter_names() -> None:
    from nevergrad.optimization import optimizerlib

    searcher = NevergradSearch(
        optimizerlib.OnePlusOne(2), ["height", "width"], metric="loss", mode="min"
    )
    configs = []
    for i in range(5):
        config = searcher.suggest(f"t{i}")
        assert isinstance(config, dict) and sorted(config) == ["height", "width"]
        assert all(isinstance(v, float) for v in config.values())
        searcher.on_trial_complete(f"t{i}", {"loss": config["height"] ** 2})
        configs.append(config)
    assert len({json.dumps(c, sort_keys=True) for c in configs}) > 1  # the optimizer moves


def test_nevergrad_parameter_names_keyword_and_checks() -> None:
    from nevergrad.optimization import optimizerlib

    searcher = NevergradSearch(
        optimizerlib.OnePlusOne(1), parameter_names=["lr"], metric="m", mode="max"
    )
    assert list(searcher.suggest("a") or {}) == ["lr"]
    with pytest.raises(ValueError, match="2 values but 1 parameter names"):
        NevergradSearch(optimizerlib.OnePlusOne(2), ["lr"], metric="m", mode="min")
    with pytest.raises(TypeError, match="`parameter_names`"):
        NevergradSearch(optimizerlib.OnePlusOne(1), parameter_names="lr")
    # the 0.8 instrumented form: names come from the optimizer's keyword parameters
    instrumented = ng.optimizers.OnePlusOne(
        parametrization=ng.p.Instrumentation(width=ng.p.Choice([0, 10, 20]))
    )
    found = NevergradSearch(instrumented, None, metric="m", mode="min").suggest("a")
    assert isinstance(found, dict) and found["width"] in (0, 10, 20)


# -- HyperOpt points_to_evaluate with hp.choice indices ---------------------------------------
def _hp_space() -> dict[str, Any]:
    return {
        "width": hp.uniform("width", 0, 20),
        "activation": hp.choice("activation", ["relu", "tanh"]),
        "layers": hp.choice("layers", [1, 2, 4]),
    }


def test_hyperopt_points_accept_0x_choice_indices(caplog: pytest.LogCaptureFixture) -> None:
    points = [
        {"width": 1.0, "activation": 0, "layers": 4},  # 0: an index; 4: a category
        {"width": 2.0, "activation": 1, "layers": 0},  # 0 is no category: the index
        {"width": 3.0, "activation": "relu", "layers": 2},  # 2 is a category (1.2+ wins)
    ]
    searcher = HyperOptSearch(_hp_space(), metric="m", mode="max", points_to_evaluate=points)
    found = [searcher.suggest(f"t{i}") for i in range(3)]
    assert found == [
        {"width": 1.0, "activation": "relu", "layers": 4},
        {"width": 2.0, "activation": "tanh", "layers": 1},
        {"width": 3.0, "activation": "relu", "layers": 2},
    ]
    assert "read as the index" in caplog.text


def test_hyperopt_points_reject_values_that_are_no_choice_and_no_index() -> None:
    searcher = HyperOptSearch(
        _hp_space(), metric="m", mode="max", points_to_evaluate=[{"activation": 2}]
    )
    with pytest.raises(ValueError, match="none of the choices"):
        searcher.suggest("t0")


# -- TuneBOHB with a ConfigSpace space ------------------------------------------------------
@pytest.fixture
def CS() -> Any:
    return pytest.importorskip("ConfigSpace")


def _config_space(CS: Any) -> Any:
    space = CS.ConfigurationSpace(seed=1)
    space.add(CS.UniformFloatHyperparameter("height", lower=10, upper=100))
    space.add(CS.UniformFloatHyperparameter("lr", lower=1e-4, upper=1e-1, log=True))
    space.add(CS.UniformIntegerHyperparameter("layers", lower=1, upper=3))
    space.add(CS.CategoricalHyperparameter("activation", ["relu", "tanh"]))
    space.add(CS.OrdinalHyperparameter("size", ["s", "m", "l"]))
    space.add(CS.Constant("kind", "cnn"))
    return space


def test_bohb_takes_a_configuration_space(CS: Any) -> None:
    searcher = TuneBOHB(_config_space(CS), max_concurrent=0, metric="loss", mode="min", seed=0)
    seen_layers = set()
    for i in range(30):
        config = searcher.suggest(f"t{i}")
        assert isinstance(config, dict)
        assert 10 <= config["height"] <= 100 and 1e-4 <= config["lr"] <= 1e-1
        assert config["layers"] in (1, 2, 3) and isinstance(config["layers"], int)
        assert config["activation"] in ("relu", "tanh") and config["size"] in ("s", "m", "l")
        assert config["kind"] == "cnn"
        seen_layers.add(config["layers"])
        searcher.on_trial_complete(f"t{i}", {"loss": config["height"], "training_iteration": 1})
    assert seen_layers == {1, 2, 3}  # the upper bound is inclusive, as in ConfigSpace


def test_bohb_configuration_space_features_it_cannot_model_are_errors(CS: Any) -> None:
    conditional = _config_space(CS)
    conditional.add(CS.EqualsCondition(conditional["layers"], conditional["activation"], "relu"))
    with pytest.raises(ValueError, match="conditions or forbidden clauses"):
        TuneBOHB(conditional)
    weighted = CS.ConfigurationSpace()
    weighted.add(CS.CategoricalHyperparameter("a", ["x", "y"], weights=[1, 3]))
    with pytest.raises(ValueError, match="weights"):
        TuneBOHB(weighted)
    beta = CS.ConfigurationSpace()
    beta.add(CS.BetaFloatHyperparameter("b", alpha=2, beta=3, lower=0, upper=1))
    with pytest.raises(ValueError, match="no tunelab counterpart"):
        TuneBOHB(beta)


# -- the 0.5 class API: _setup(self) ----------------------------------------------------------
class _Setup05(Trainable):
    def _setup(self):  # type: ignore[override]
        self.start = self.config["start"]

    def _train(self) -> dict[str, Any]:
        self.start += 1
        return {"value": self.start}


class _Setup08(Trainable):
    def _setup(self, config: dict[str, Any]) -> None:
        self.start = config["start"] * 10

    def _train(self) -> dict[str, Any]:
        return {"value": self.start}


class _SetupNew(Trainable):
    def setup(self, config: dict[str, Any], extra: int = 0) -> None:
        self.start = config["start"] + extra

    def step(self) -> dict[str, Any]:
        return {"value": self.start}


def test_all_setup_spellings_receive_the_config() -> None:
    assert _Setup05({"start": 1}).train()["value"] == 2
    assert _Setup08({"start": 1}).train()["value"] == 10
    assert _SetupNew({"start": 1}).train()["value"] == 1


# -- bare functions in a config ----------------------------------------------------------------
def make_model(config: dict[str, Any]) -> str:
    return f"model-{config['alpha']}"


def _variants(spec: dict[str, Any], seed: int = 0) -> list[dict[str, Any]]:
    return [config for _, config in generate_variants(spec, random_state=seed)]


def test_0x_spec_lambdas_are_evaluated_with_dependencies() -> None:
    import numpy as np

    np.random.seed(0)
    spec = {
        "beta": lambda spec: spec.config.alpha * 2,  # reads a value resolved later
        "alpha": lambda spec: np.random.uniform(100),
        "lr": tune.grid_search([0.1, 0.2]),
        "nested": {"gamma": lambda spec: spec.config.lr + 1},
    }
    configs = _variants(spec)
    assert [c["lr"] for c in configs] == [0.1, 0.2]
    for config in configs:
        assert isinstance(config["alpha"], float) and config["beta"] == config["alpha"] * 2
        assert config["nested"]["gamma"] == config["lr"] + 1
    assert configs[0]["alpha"] != configs[1]["alpha"]  # drawn again for each variant


def test_later_generation_callables_pass_through_untouched() -> None:
    partial = functools.partial(make_model, {"alpha": 0})

    class Activation:
        def __call__(self, x: float) -> float:
            return x

    activation = Activation()
    spec = {
        "model_fn": make_model,  # a function of the config (2.x style)
        "builtin": abs,
        "partial": partial,
        "object": activation,
        "cls": Activation,
        "lambda_x": (lambda_x := lambda x: x),
        "two_args": (two := lambda spec, other: spec),
        "defaulted": (defaulted := lambda spec=None: spec),
    }
    (config,) = _variants(spec)
    assert config["model_fn"] is make_model and config["builtin"] is abs
    assert config["partial"] is partial and config["object"] is activation
    assert config["cls"] is Activation and config["lambda_x"] is lambda_x
    assert config["two_args"] is two and config["defaulted"] is defaulted


def test_function_marks_a_spec_lambda_to_pass_through() -> None:
    def keep(spec: Any) -> str:
        return "called"

    marked = tune.function(keep)
    assert marked("x") == "called"  # the marker still calls the function
    (config,) = _variants({"fn": marked, "other": tune.function(make_model)})
    assert config["fn"] is keep and config["other"] is make_model
    assert tune.function(make_model) is make_model  # nothing to mark


def test_searchers_resolve_spec_lambdas_around_their_suggestions() -> None:
    generator = SearchGenerator(HyperOptSearch(random_state_seed=0))
    spec = {"x": tune.uniform(0, 1), "double": lambda spec: spec.config.x * 2, "fn": make_model}
    generator.set_search_properties("loss", "min", spec)
    generator.add_configurations([{"name": "e", "config": spec, "num_samples": 2}])
    suggestion = generator.next_trial()
    assert suggestion is not None
    config = suggestion.config
    assert config["double"] == config["x"] * 2 and config["fn"] is make_model


def test_an_untrusted_spec_still_refuses_spec_lambdas() -> None:
    from tunelab.search._resolve import SpacePlan, UntrustedSpecError

    with pytest.raises(UntrustedSpecError, match="alpha"):
        SpacePlan({"alpha": lambda spec: 1}, trusted=False)


# -- ExperimentAnalysis: 0.x get_best_config(metric), best_checkpoint as a path ---------------
def test_get_best_config_with_only_a_metric_uses_0_8_defaults(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    exp, _ = make_experiment(tmp_path, metric=None, mode=None)
    analysis = ExperimentAnalysis(exp)
    # 0.8: mode="max", scope="all" (each trial's best value): trial a reported 100 once
    assert analysis.get_best_config("score") == {"lr": 0.1, "model": {"depth": 0}}
    assert analysis.get_best_trial("score").trial_id == "id_a"  # type: ignore[union-attr]
    assert "Ray Tune 0.8's defaults" in caplog.text
    # a scope that is passed is kept; a mode that is passed or known is used
    assert analysis.get_best_trial("score", scope="last").trial_id == "id_c"  # type: ignore[union-attr]
    assert analysis.get_best_trial("score", "min").trial_id == "id_a"  # type: ignore[union-attr]
    known = ExperimentAnalysis(exp, default_metric="score", default_mode="min")
    assert known.get_best_trial("score").trial_id == "id_a"  # type: ignore[union-attr]
    assert known.get_best_trial().trial_id == "id_a"  # type: ignore[union-attr]


def test_best_checkpoint_is_a_checkpoint_and_a_path(tmp_path: Path) -> None:
    exp, _ = make_experiment(tmp_path, checkpoints={"c": (6, 12)})
    analysis = ExperimentAnalysis(exp)
    best = analysis.best_checkpoint
    assert isinstance(best, Checkpoint) and isinstance(best, os.PathLike)
    assert best.path is not None and best.path.endswith("checkpoint_000012")
    with open(os.path.join(best, "model.txt"), "w") as handle:  # 1.x: the directory itself
        handle.write("weights")
    assert Path(best, "model.txt").read_text() == "weights"
    assert best + "/model.txt" == os.path.join(best.path, "model.txt")
    assert "dir:" + best == "dir:" + best.path
    assert str(best) == best.path and best == best.path and best == Path(best.path)
    assert best == Checkpoint(best.path) and hash(best) == hash(TrialCheckpoint(best.path))
    assert best != os.path.join(best.path, "other")
    last = analysis.get_last_checkpoint(analysis.trials[2])
    assert isinstance(last, TrialCheckpoint) and last == best


def test_a_dict_trial_checkpoint_has_no_path() -> None:
    checkpoint = TrialCheckpoint(data_dict={"a": 1})
    with pytest.raises(TypeError, match="no directory"):
        os.fspath(checkpoint)
    assert checkpoint == checkpoint and checkpoint != TrialCheckpoint(data_dict={"a": 1})


# -- DurableTrainable and durable() -----------------------------------------------------------
class _Durable08(DurableTrainable):
    """A 0.8 subclass: the remote directory is the constructor's first argument."""

    def __init__(self, remote_checkpoint_dir: Any, *args: Any, **kwargs: Any) -> None:
        self.given = remote_checkpoint_dir
        super().__init__(remote_checkpoint_dir, *args, **kwargs)

    def setup(self, config: dict[str, Any]) -> None:
        self.value = config["value"]

    def step(self) -> dict[str, Any]:
        return {"value": self.value}


def test_durable_trainable_gets_its_remote_dir_like_0_8(tmp_path: Path) -> None:
    # built by tunelab as cls(config): no trial with remote storage -> None
    plain = _Durable08({"value": 1})
    assert plain.given is None and plain.remote_checkpoint_dir is None and plain.value == 1
    explicit = _Durable08("s3://bucket/exp/trial", config={"value": 2})
    assert explicit.remote_checkpoint_dir == "s3://bucket/exp/trial" and explicit.value == 2
    trial_dir = tmp_path / "exp" / "Durable_abc_00000"
    context = _session.TuneContext(
        experiment_name="exp", trial_dir=str(trial_dir), storage_path="s3://bucket/root"
    )
    session = _session.TrialSession(context, lambda result, checkpoint: None)
    _session._set_session(session, thread_local=True)
    try:
        inside = _Durable08({"value": 3})
    finally:
        _session._set_session(None, thread_local=True)
    assert inside.given == "s3://bucket/root/exp/Durable_abc_00000"
    assert inside._storage_path(os.path.join(inside.logdir, "checkpoint_000001")) == (
        "s3://bucket/root/exp/Durable_abc_00000/checkpoint_000001"
    )


def test_durable_wraps_classes_and_passes_functions_through() -> None:
    wrapped = durable(_Setup08)
    assert issubclass(wrapped, DurableTrainable) and issubclass(wrapped, _Setup08)
    assert wrapped.__name__ == "_Setup08" and wrapped({"start": 2}).train()["value"] == 20
    assert durable(wrapped) is wrapped and durable(make_model) is make_model
    assert durable("registered") == "registered"
    with pytest.raises(TypeError, match="`trainable` of durable"):
        durable(3)


# -- the 0.7 track API -----------------------------------------------------------------------
@pytest.fixture
def no_track_session() -> Any:
    track.shutdown()
    yield
    track.shutdown()


def test_track_standalone_session_writes_the_trial_files(
    tmp_path: Path, no_track_session: Any
) -> None:
    with pytest.raises(ValueError, match="Session not detected"):
        track.get_session()
    track.init(trial_name="manual", experiment_dir=str(tmp_path), trial_config={"lr": 0.1})
    for step in range(3):
        track.log(loss=1.0 / (step + 1))
    session = track.get_session()
    assert session.is_standalone and track.trial_name() == "manual"
    assert track.trial_dir() == session.logdir and session.logdir.startswith(str(tmp_path))
    assert track.trial_id() == session.trial_id
    with pytest.raises(ValueError, match="already exists"):
        track.init(ignore_reinit_error=False, trial_name="other")
    track.init(trial_name="other")  # ignored: the session goes on
    session.shutdown()
    track.shutdown()
    lines = Path(session.logdir, "result.json").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["training_iteration"] for r in rows] == [1, 2, 3]
    assert [r["loss"] for r in rows] == [1.0, 0.5, 1.0 / 3]
    assert rows[0]["config"] == {"lr": 0.1}
    assert json.loads(Path(session.logdir, "params.json").read_text()) == {"lr": 0.1}
    assert Path(session.logdir, "progress.csv").exists()
    with pytest.raises(ValueError, match="Session not detected"):
        track.get_session()


def test_track_init_rejects_unknown_arguments(no_track_session: Any) -> None:
    with pytest.raises(TypeError, match=r"unknown arguments.*'logdir'"):
        track.init(logdir="x")


def test_track_inside_a_trial_reports_through_the_session(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    context = _session.TuneContext(trial_name="t_0", trial_id="abc", trial_dir=str(tmp_path))
    session = _session.TrialSession(context, lambda result, checkpoint: seen.append(result))
    _session._set_session(session, thread_local=True)
    try:
        track.init()  # nothing to do inside a trial
        track.log(loss=0.5)
        track.get_session().log(loss=0.25)
        assert (track.trial_dir(), track.trial_name(), track.trial_id()) == (
            str(tmp_path),
            "t_0",
            "abc",
        )
        assert not track.get_session().is_standalone
        track.shutdown()
    finally:
        _session._set_session(None, thread_local=True)
    assert [r["loss"] for r in seen] == [0.5, 0.25]
    assert [r["training_iteration"] for r in seen] == [1, 2]
