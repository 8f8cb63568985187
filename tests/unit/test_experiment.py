from __future__ import annotations

import datetime
import inspect
import os
import pathlib
import re
from typing import Any

import pytest

from tunelab import _registry
from tunelab._config import CheckpointConfig, SyncConfig
from tunelab._experiment import SPEC_KEYS
from tunelab._resources import PlacementGroupFactory
from tunelab.experiment import Experiment, convert_to_experiment_list
from tunelab.trainable import Trainable


def train_fn(config: dict[str, Any]) -> None:
    pass


class MyTrainable(Trainable):
    def step(self) -> dict[str, Any]:
        return {}


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> pathlib.Path:
    monkeypatch.setattr(_registry, "_TRAINABLES", {})
    monkeypatch.setenv("TUNELAB_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.delenv("TUNELAB_DISABLE_DATED_SUBDIR", raising=False)
    return tmp_path


# -- trainable and name ---------------------------------------------------------------------
def test_function_trainable_defaults(isolated: pathlib.Path) -> None:
    exp = Experiment("exp", train_fn)
    assert exp.name == "exp"
    assert exp.trainable is train_fn and exp.run is train_fn
    assert exp.trainable_name == "train_fn"
    assert exp.is_function_trainable is True
    assert exp.config == {} and exp.num_samples == 1
    assert exp.stop is None and exp.time_budget_s is None and exp.resources is None
    assert exp.storage_path == str(isolated / "results")
    assert exp.experiment_path == str(isolated / "results" / "exp")
    assert exp.checkpoint_config == CheckpointConfig()
    assert exp.sync_config == SyncConfig()
    assert exp.log_to_file == (None, None)
    assert exp.max_failures == 0 and exp.restore is None and exp.upload_dir is None
    assert exp.export_formats == [] and exp.trial_name_creator is None
    assert not list(isolated.iterdir())  # nothing written


def test_class_trainable() -> None:
    exp = Experiment("exp", MyTrainable)
    assert exp.trainable is MyTrainable
    assert exp.is_function_trainable is False
    assert exp.trainable_name == "MyTrainable"


def test_registered_name_is_resolved() -> None:
    _registry.register_trainable("my_cls", MyTrainable)
    _registry.register_trainable("my_fn", train_fn)
    exp = Experiment("exp", "my_cls")
    assert exp.trainable is MyTrainable and exp.trainable_name == "my_cls"
    assert not exp.is_function_trainable
    assert Experiment("exp", "my_fn").is_function_trainable


def test_unregistered_name_lists_registered_names() -> None:
    _registry.register_trainable("known", train_fn)
    with pytest.raises(ValueError, match=r"run='nope' is not a registered.*\['known'\]"):
        Experiment("exp", "nope")


@pytest.mark.parametrize("run", [3, None, object()])
def test_run_must_be_a_trainable(run: Any) -> None:
    with pytest.raises(
        TypeError, match=r"run must be a function, a subclass of tunelab\.Trainable"
    ):
        Experiment("exp", run)


def test_run_class_must_subclass_trainable() -> None:
    with pytest.raises(TypeError, match=r"run must be .*does not subclass tunelab\.Trainable"):
        Experiment("exp", dict)


def test_default_name_is_trainable_and_date(monkeypatch: pytest.MonkeyPatch) -> None:
    exp = Experiment(None, train_fn)
    assert re.fullmatch(r"train_fn_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}", exp.name)
    monkeypatch.setenv("TUNELAB_DISABLE_DATED_SUBDIR", "1")
    assert Experiment(None, lambda config: None).name == "lambda"


@pytest.mark.parametrize(("name", "error"), [("", ValueError), ("a/b", ValueError), (3, TypeError)])
def test_bad_name(name: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="name must be None or a non-empty directory name"):
        Experiment(name, train_fn)


# -- search space, samples, stop -----------------------------------------------------------
def test_config_is_copied_and_validated() -> None:
    space = {"lr": 0.1}
    exp = Experiment("exp", train_fn, config=space)
    space["lr"] = 0.2
    assert exp.config == {"lr": 0.1}
    with pytest.raises(TypeError, match="config must be None or a dict"):
        Experiment("exp", train_fn, config=[1, 2])  # type: ignore[arg-type]


def test_repeat_is_num_samples() -> None:
    assert Experiment("exp", train_fn, repeat=3).num_samples == 3
    assert Experiment("exp", train_fn, num_samples=-1).num_samples == -1
    with pytest.raises(ValueError, match="pass either num_samples or repeat"):
        Experiment("exp", train_fn, num_samples=2, repeat=2)
    with pytest.raises(ValueError, match=r"repeat must be -1 .* or an int >= 1, got 0"):
        Experiment("exp", train_fn, repeat=0)
    with pytest.raises(ValueError, match=r"num_samples must be -1 .* or an int >= 1, got 0"):
        Experiment("exp", train_fn, num_samples=0)


def test_stop_forms() -> None:
    criteria = {"training_iteration": 3}
    exp = Experiment("exp", train_fn, stop=criteria)
    assert exp.stop == criteria and exp.stop is not criteria

    def stopper(trial_id: str, result: dict[str, Any]) -> bool:
        return False

    assert Experiment("exp", train_fn, stop=stopper).stop is stopper
    with pytest.raises(TypeError, match=r"^stop: the threshold for 'loss' must be a number"):
        Experiment("exp", train_fn, stop={"loss": None})
    with pytest.raises(TypeError, match=r"stop must be callable as stop\(trial_id, result\)"):
        Experiment("exp", train_fn, stop=lambda: True)


def test_time_budget() -> None:
    assert Experiment("exp", train_fn, time_budget_s=5).time_budget_s == 5.0
    exp = Experiment("exp", train_fn, time_budget_s=datetime.timedelta(minutes=2))
    assert exp.time_budget_s == 120.0
    with pytest.raises(ValueError, match="time_budget_s must be None, a number of seconds > 0"):
        Experiment("exp", train_fn, time_budget_s=-1)


# -- resources ------------------------------------------------------------------------------
def test_resources_forms() -> None:
    exp = Experiment("exp", train_fn, resources_per_trial={"cpu": 2, "gpu": 0.5})
    assert exp.resources == PlacementGroupFactory([{"CPU": 2, "GPU": 0.5}])
    legacy = Experiment("exp", train_fn, trial_resources={"cpu": 1, "extra_cpu": 2})
    assert legacy.resources == PlacementGroupFactory([{"CPU": 1}, {"CPU": 2}])
    pgf = PlacementGroupFactory([{"CPU": 1}])
    assert Experiment("exp", train_fn, resources_per_trial=pgf).resources is pgf


def test_resources_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match="pass either resources_per_trial or trial_resources"):
        Experiment("exp", train_fn, resources_per_trial={"cpu": 1}, trial_resources={"cpu": 1})
    with pytest.raises(ValueError, match=r"^resources_per_trial: resource 'CPU' must be .* got -1"):
        Experiment("exp", train_fn, resources_per_trial={"cpu": -1})
    with pytest.raises(
        TypeError, match=r"^trial_resources: resource 'GPU' must be a number, got 'one'"
    ):
        Experiment("exp", train_fn, trial_resources={"gpu": "one"})


# -- storage ----------------------------------------------------------------------------------
def test_storage_precedence(isolated: pathlib.Path) -> None:
    a, b = isolated / "a", isolated / "b"
    exp = Experiment("exp", train_fn, storage_path=str(a), local_dir=str(b))
    assert exp.storage_path == str(a) and exp.experiment_path == str(a / "exp")
    assert Experiment("exp", train_fn, local_dir=b).storage_path == str(b)


def test_storage_path_is_made_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    exp = Experiment("exp", train_fn, storage_path="relative/dir")
    assert exp.storage_path == os.path.join(os.getcwd(), "relative", "dir")
    exp = Experiment("exp", train_fn, storage_path="~/res")
    assert exp.storage_path == os.path.join(os.path.expanduser("~"), "res")


def test_storage_uri_is_kept() -> None:
    exp = Experiment("exp", train_fn, storage_path="s3://bucket/root/")
    assert exp.storage_path == "s3://bucket/root"
    assert exp.experiment_path == "s3://bucket/root/exp"


def test_storage_errors_name_the_argument() -> None:
    with pytest.raises(TypeError, match="storage_path must be None or a path"):
        Experiment("exp", train_fn, storage_path=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="local_dir must be a non-empty path"):
        Experiment("exp", train_fn, local_dir="")
    with pytest.raises(TypeError, match="upload_dir must be None or a path"):
        Experiment("exp", train_fn, upload_dir=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="restore must be None or a path"):
        Experiment("exp", train_fn, restore=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sync_config must be None or a SyncConfig"):
        Experiment("exp", train_fn, sync_config={})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "field", ["name", "storage_path", "experiment_path", "remote_path", "staging_token"]
)
def test_where_an_experiment_lives_is_fixed_after_construction(field: str) -> None:
    exp = Experiment("exp", train_fn, storage_path="s3://bucket/root")
    before = getattr(exp, field)
    with pytest.raises(AttributeError, match=rf"^Experiment\.{field} is fixed once"):
        setattr(exp, field, "/elsewhere")
    assert getattr(exp, field) == before
    exp.num_samples = 3  # the other attributes stay assignable, as before
    assert exp.num_samples == 3


def test_with_returns_a_placed_copy_and_leaves_the_experiment_alone() -> None:
    exp = Experiment("exp", train_fn, storage_path="s3://bucket/root", config={"a": 1})
    before = dict(vars(exp))
    staged = exp._with(
        experiment_path="/stage/exp",
        storage_path="/stage",
        remote_path="s3://bucket/root/exp",
        staging_token="tok",
        checkpoint_upload="direct",
    )
    assert vars(exp) == before
    assert (staged.experiment_path, staged.storage_path) == ("/stage/exp", "/stage")
    assert (staged.remote_path, staged.staging_token) == ("s3://bucket/root/exp", "tok")
    assert staged.checkpoint_upload == "direct"
    assert staged.name == "exp" and staged.config == {"a": 1} and staged.trainable is train_fn
    with pytest.raises(AttributeError, match="is fixed once"):
        staged.experiment_path = "/again"  # the copy is guarded like any Experiment


def test_with_resolves_a_new_trainable_and_copies_the_space() -> None:
    exp = Experiment("exp", train_fn)
    space = {"lr": 0.1}
    other = exp._with(run=MyTrainable, config=space)
    assert other.run is MyTrainable and other.trainable is MyTrainable
    assert other.trainable_name == "MyTrainable" and not other.is_function_trainable
    assert other.config == space and other.config is not space
    assert exp.trainable is train_fn and exp.is_function_trainable and exp.config == {}


def test_with_refuses_fields_it_does_not_place() -> None:
    exp = Experiment("exp", train_fn)
    with pytest.raises(TypeError, match=r"\['num_samples'\] cannot be replaced; allowed: "):
        exp._with(num_samples=2)


def test_a_pickled_experiment_round_trips() -> None:
    import copy
    import pickle

    exp = Experiment("exp", train_fn, storage_path="s3://bucket/root")
    for clone in (pickle.loads(pickle.dumps(exp)), copy.copy(exp), copy.deepcopy(exp)):
        assert clone.experiment_path == "s3://bucket/root/exp" and clone.trainable is train_fn


# -- checkpoints ------------------------------------------------------------------------------
def test_legacy_checkpoint_arguments_are_mapped() -> None:
    exp = Experiment(
        "exp",
        MyTrainable,
        checkpoint_freq=5,
        checkpoint_at_end=True,
        keep_checkpoints_num=2,
        checkpoint_score_attr="min-loss",
    )
    assert exp.checkpoint_config == CheckpointConfig(
        num_to_keep=2,
        checkpoint_score_attribute="loss",
        checkpoint_score_order="min",
        checkpoint_frequency=5,
        checkpoint_at_end=True,
    )
    plain = Experiment("exp", MyTrainable, checkpoint_score_attr="acc")
    assert plain.checkpoint_config.checkpoint_score_attribute == "acc"
    assert plain.checkpoint_config.checkpoint_score_order == "max"


def test_checkpoint_config_merges_with_legacy_arguments() -> None:
    given = CheckpointConfig(num_to_keep=3)
    exp = Experiment("exp", MyTrainable, checkpoint_config=given, checkpoint_freq=2)
    assert exp.checkpoint_config == CheckpointConfig(num_to_keep=3, checkpoint_frequency=2)
    assert given.checkpoint_frequency == 0  # the user's object is not changed
    with pytest.raises(ValueError, match="keep_checkpoints_num conflicts with checkpoint_config"):
        Experiment("exp", MyTrainable, checkpoint_config=given, keep_checkpoints_num=1)


def test_checkpoint_config_as_dict() -> None:
    exp = Experiment("exp", MyTrainable, checkpoint_config={"checkpoint_frequency": 1})
    assert exp.checkpoint_config.checkpoint_frequency == 1
    with pytest.raises(ValueError, match=r"checkpoint_config: unknown key\(s\) \['freq'\]"):
        Experiment("exp", MyTrainable, checkpoint_config={"freq": 1})
    with pytest.raises(TypeError, match="checkpoint_config must be None, a CheckpointConfig"):
        Experiment("exp", MyTrainable, checkpoint_config=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"checkpoint_freq": -1}, ValueError, "checkpoint_freq must be an int >= 0"),
        ({"checkpoint_freq": 1.5}, TypeError, "checkpoint_freq must be an int >= 0"),
        ({"checkpoint_at_end": "yes"}, TypeError, "checkpoint_at_end must be True or False"),
        (
            {"keep_checkpoints_num": 0},
            ValueError,
            r"keep_checkpoints_num must be None .*use None, not 0",
        ),
        ({"checkpoint_score_attr": 3}, TypeError, "checkpoint_score_attr must be None or a"),
        ({"checkpoint_score_attr": "min-"}, ValueError, "checkpoint_score_attr must be None or a"),
    ],
)
def test_legacy_checkpoint_errors(
    kwargs: dict[str, Any], error: type[Exception], pattern: str
) -> None:
    with pytest.raises(error, match=pattern):
        Experiment("exp", MyTrainable, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        # the legacy checkpoint_freq/checkpoint_at_end: see test_ray_unit_compat_trial.py
        {"checkpoint_config": CheckpointConfig(checkpoint_frequency=2)},
        {"checkpoint_config": CheckpointConfig(checkpoint_at_end=True)},
    ],
)
def test_function_trainables_reject_periodic_checkpoints(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"function trainable.*session\.report\(.*checkpoint="):
        Experiment("exp", train_fn, **kwargs)


def test_function_trainables_accept_retention_settings() -> None:
    exp = Experiment("exp", train_fn, keep_checkpoints_num=1, checkpoint_score_attr="acc")
    assert exp.checkpoint_config.num_to_keep == 1


# -- other arguments --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (False, (None, None)),
        (True, ("stdout", "stderr")),
        ("x.log", ("x.log", "x.log")),
        (("o.log", "e.log"), ("o.log", "e.log")),
    ],
)
def test_log_to_file_is_normalised(value: Any, expected: tuple[Any, Any]) -> None:
    assert Experiment("exp", train_fn, log_to_file=value).log_to_file == expected


def test_log_to_file_error_names_argument() -> None:
    with pytest.raises(TypeError, match=r"^log_to_file must be a bool, a file name"):
        Experiment("exp", train_fn, log_to_file=3)  # type: ignore[arg-type]


def test_max_failures_and_creators() -> None:
    exp = Experiment("exp", train_fn, max_failures=-1, trial_name_creator=str)
    assert exp.max_failures == -1 and exp.trial_name_creator is str
    with pytest.raises(ValueError, match="max_failures must be an int >= -1"):
        Experiment("exp", train_fn, max_failures=-2)
    with pytest.raises(TypeError, match="trial_dirname_creator must accept 1 positional"):
        Experiment("exp", train_fn, trial_dirname_creator=lambda a, b: "x")  # type: ignore[arg-type,misc]


def test_export_formats() -> None:
    assert Experiment("exp", train_fn, export_formats="model").export_formats == ["model"]
    exp = Experiment("exp", train_fn, export_formats=["Checkpoint", "onnx"])
    assert exp.export_formats == ["checkpoint", "onnx"]
    # as Ray 0.x-1.x: any name reaches the trainable's _export_model (only the type is checked)
    assert Experiment("exp", train_fn, export_formats=["pdf"]).export_formats == ["pdf"]
    with pytest.raises(ValueError, match="export_formats must be None, a format name"):
        Experiment("exp", train_fn, export_formats=[" "])
    with pytest.raises(TypeError, match="export_formats must be None, a format name"):
        Experiment("exp", train_fn, export_formats=5)  # type: ignore[arg-type]


def test_legacy_loggers_and_sync_function() -> None:
    class MyLogger:
        pass

    exp = Experiment("exp", train_fn, loggers=[MyLogger], custom_loggers=(MyLogger,))
    assert exp.loggers == [MyLogger] and exp.custom_loggers == [MyLogger]
    assert Experiment("exp", train_fn).loggers is None
    with pytest.raises(TypeError, match="loggers must be None or a list of Logger classes"):
        Experiment("exp", train_fn, loggers=[3])
    with pytest.raises(TypeError, match="custom_loggers must be None or a list"):
        Experiment("exp", train_fn, custom_loggers=MyLogger)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sync_function must be None, a command template"):
        Experiment("exp", train_fn, sync_function=3)


# -- run_experiments specs --------------------------------------------------------------------
def test_spec_keys_are_the_constructor_keywords() -> None:
    params = inspect.signature(Experiment.__init__).parameters
    keywords = {n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert keywords | {"run", "env"} == SPEC_KEYS


def test_from_json_legacy_spec() -> None:
    _registry.register_trainable("my_cls", MyTrainable)
    exp = Experiment.from_json(
        "legacy",
        {
            "run": "my_cls",
            "env": "CartPole-v0",
            "stop": {"episode_reward_mean": 200},
            "config": {"lr": 0.01},
            "trial_resources": {"cpu": 1, "gpu": 0, "extra_cpu": 1},
            "repeat": 2,
            "checkpoint_freq": 10,
            "max_failures": 3,
        },
    )
    assert exp.name == "legacy" and exp.trainable is MyTrainable
    assert exp.config == {"lr": 0.01, "env": "CartPole-v0"}
    assert exp.num_samples == 2 and exp.max_failures == 3
    assert exp.resources == PlacementGroupFactory([{"CPU": 1}, {"CPU": 1}])
    assert exp.checkpoint_config.checkpoint_frequency == 10


def test_from_json_rejects_unknown_keys_listing_allowed_ones() -> None:
    with pytest.raises(
        ValueError, match=r"unknown key\(s\) \['resources'\].*allowed keys: \[.*'run'"
    ):
        Experiment.from_json("exp", {"run": train_fn, "resources": {"cpu": 1}})


def test_from_json_errors() -> None:
    with pytest.raises(ValueError, match="the spec must have a 'run' key"):
        Experiment.from_json("exp", {"config": {}})
    with pytest.raises(ValueError, match="pass either num_samples or repeat"):
        Experiment.from_json("exp", {"run": train_fn, "repeat": 1, "num_samples": 1})
    with pytest.raises(TypeError, match="the spec must be a dict"):
        Experiment.from_json("exp", [train_fn])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="config must be a dict"):
        Experiment.from_json("exp", {"run": train_fn, "env": "x", "config": 3})


def test_convert_to_experiment_list() -> None:
    exp = Experiment("one", train_fn)
    assert convert_to_experiment_list(exp) == [exp]
    assert convert_to_experiment_list([exp]) == [exp]
    built = convert_to_experiment_list({"a": {"run": train_fn}, "b": {"run": MyTrainable}})
    assert [e.name for e in built] == ["a", "b"]
    with pytest.raises(TypeError, match="experiments must be an Experiment, a list"):
        convert_to_experiment_list("a")
    with pytest.raises(TypeError, match="the list holds 3"):
        convert_to_experiment_list([exp, 3])


def test_a_file_uri_storage_path_is_the_local_directory(tmp_path) -> None:
    from tunelab import Experiment

    experiment = Experiment("plain", lambda config: None, storage_path=f"file://{tmp_path}")
    assert experiment.storage_path == str(tmp_path)
    assert experiment.experiment_path == str(tmp_path / "plain")
