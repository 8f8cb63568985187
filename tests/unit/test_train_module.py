"""``tunelab.train``: Ray 2.7+'s ``ray.train`` names, ScalingConfig's resource mapping, and
``train.report``/``get_context`` as a trainable sees them (in-process executor)."""

import os
import subprocess
import sys
import tempfile

import pytest

import tunelab as tune
from tunelab import PlacementGroupFactory, train
from tunelab.execution import InProcessExecutor
from tunelab.train import Checkpoint, ScalingConfig

# -- the names ---------------------------------------------------------------------------------


def test_names_are_tunelabs_own_classes():
    assert train.Checkpoint is tune.Checkpoint
    assert train.RunConfig is tune.RunConfig
    assert train.CheckpointConfig is tune.CheckpointConfig
    assert train.FailureConfig is tune.FailureConfig
    assert train.SyncConfig is tune.SyncConfig
    assert train.Result is tune.Result
    assert train.TrainContext is tune.TuneContext
    assert isinstance(train.get_context(), train.TrainContext)
    assert tune.train is train
    assert sorted(dir(train)) == sorted(train.__all__)
    for name in train.__all__:
        assert getattr(train, name) is not None, name


def test_from_import_forms_of_ray_code():
    from tunelab.train import (  # noqa: F401
        CheckpointConfig,
        FailureConfig,
        Result,
        RunConfig,
        SyncConfig,
        get_checkpoint,
        get_context,
        report,
    )

    assert RunConfig(name="x", failure_config=FailureConfig(max_failures=1)).name == "x"


@pytest.mark.parametrize("name", ["BackendConfig", "DataConfig", "get_dataset_shard"])
def test_ray_train_only_names_say_they_have_no_counterpart(name):
    with pytest.raises(ImportError, match=f"tunelab.train.{name} has no counterpart"):
        exec(f"from tunelab.train import {name}")


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        train.nope  # noqa: B018


def test_framework_submodules_are_attributes():
    """``import ray`` ported to ``import tunelab as ray``: ``ray.train.xgboost.X`` resolves."""
    code = "import tunelab as ray\nprint(ray.train.xgboost.__name__, ray.train.lightgbm.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["tunelab.train.xgboost", "tunelab.train.lightgbm"]


def test_import_is_light():
    code = (
        "import sys, tunelab.train\n"
        "print([m for m in ('pandas', 'numpy', 'tunelab.analysis', 'tunelab._core.controller') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the TuneContext method set of Ray's newest ray/tune/context.py ----------------------------

CONTEXT_METHODS = [
    "get_experiment_name",
    "get_trial_name",
    "get_trial_id",
    "get_trial_dir",
    "get_trial_resources",
    "get_storage",
    "get_metadata",
    "get_world_size",
    "get_world_rank",
    "get_local_rank",
    "get_local_world_size",
    "get_node_rank",
]


def test_context_outside_a_trial_has_every_method_with_defaults():
    for context in (tune.get_context(), train.get_context()):
        for name in CONTEXT_METHODS:
            assert callable(getattr(context, name)), name
        assert context.get_trial_name() == "default"
        assert context.get_trial_id() == "default"
        assert context.get_world_size() == 1 and context.get_world_rank() == 0
        assert context.get_local_rank() == 0 and context.get_local_world_size() == 1
        assert context.get_node_rank() == 0
        assert context.get_metadata() == {}
        assert context.get_trial_resources() == PlacementGroupFactory([{"CPU": 1}])
    assert train.get_checkpoint() is None and tune.get_checkpoint() is None


# -- train.report's contract -------------------------------------------------------------------


def test_report_outside_a_trial_warns_and_does_nothing(monkeypatch):
    from tunelab import _session

    monkeypatch.setattr(_session, "_warned_outside", False)
    with pytest.warns(UserWarning, match=r"report\(\) was called outside a tunelab trial") as rec:
        train.report({"loss": 1.0})
    assert rec[0].filename == __file__


@pytest.mark.parametrize("metrics", [0.5, [("loss", 1)], "loss"])
def test_report_needs_a_dict(metrics):
    with pytest.raises(TypeError, match=r"train\.report: metrics must be a dict"):
        train.report(metrics)


def test_report_takes_keyword_checkpoint_only():
    with pytest.raises(TypeError):
        train.report({"a": 1}, Checkpoint.from_directory("."))  # type: ignore[misc]
    with pytest.raises(TypeError):
        train.report(loss=1.0)  # type: ignore[call-arg]


def test_report_checkpoint_must_be_a_checkpoint(tmp_path):
    with pytest.raises(TypeError, match=r"checkpoint must be None or a tunelab\.train\.Checkpoint"):
        train.report({"a": 1}, checkpoint=str(tmp_path))  # type: ignore[arg-type]


def test_report_checkpoint_dir_name_is_ignored_with_a_warning(monkeypatch):
    from tunelab import _session

    monkeypatch.setattr(_session, "_warned_outside", True)
    with pytest.warns(UserWarning, match=r"checkpoint_dir_name='ckpt'\) is ignored"):
        train.report({"a": 1}, checkpoint_dir_name="ckpt")
    with pytest.raises(TypeError, match="checkpoint_dir_name must be None or a str"):
        train.report({"a": 1}, checkpoint_dir_name=3)  # type: ignore[arg-type]


def _reports_context(config):
    ctx = train.get_context()
    assert ctx is tune.get_context()
    start = 0
    checkpoint = train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d, open(os.path.join(d, "step")) as fh:
            start = int(fh.read()) + 1
    for step in range(start, 3):
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "step"), "w") as fh:
                fh.write(str(step))
            train.report(
                {
                    "step": step,
                    "name": ctx.get_trial_name(),
                    "id": ctx.get_trial_id(),
                    "dir": ctx.get_trial_dir(),
                    "experiment": ctx.get_experiment_name(),
                    "cpus": ctx.get_trial_resources().required_resources.get("CPU"),
                },
                checkpoint=Checkpoint.from_directory(tmp),
            )


def test_report_and_context_inside_a_trial(tmp_path):
    grid = tune.Tuner(
        tune.with_resources(_reports_context, ScalingConfig(num_workers=1)),
        tune_config=tune.TuneConfig(executor=InProcessExecutor(num_cpus=2)),
        run_config=train.RunConfig(name="ctx", storage_path=str(tmp_path), verbose=0),
    ).fit()
    assert grid.num_errors == 0
    result = grid[0]
    assert isinstance(result, train.Result)
    assert result.metrics["step"] == 2 and result.metrics["training_iteration"] == 3
    assert result.metrics["id"] == result.metrics["trial_id"]
    assert result.metrics["dir"] == result.path
    assert os.path.basename(result.path).startswith(result.metrics["name"])
    assert result.metrics["experiment"] == "ctx"
    assert result.metrics["cpus"] == 2  # coordinator + one worker
    with result.checkpoint.as_directory() as d, open(os.path.join(d, "step")) as fh:
        assert fh.read() == "2"


# -- ScalingConfig: Ray 2.7-2.9's mapping to a resource request -------------------------------


@pytest.mark.parametrize(
    ("kwargs", "bundles", "total"),
    [
        ({}, [{"CPU": 1}], {"CPU": 1}),
        ({"num_workers": 2}, [{"CPU": 1}, {"CPU": 1}, {"CPU": 1}], {"CPU": 3}),
        ({"num_workers": 2, "use_gpu": True}, [{"CPU": 1}, {"GPU": 1}, {"GPU": 1}],
         {"CPU": 1, "GPU": 2}),
        (
            {"num_workers": 3, "trainer_resources": {"CPU": 0},
             "resources_per_worker": {"CPU": 2, "memory": 1e9}},
            [{}, {"CPU": 2, "memory": 1e9}, {"CPU": 2, "memory": 1e9}, {"CPU": 2, "memory": 1e9}],
            {"CPU": 6, "memory": 3e9},
        ),
        (
            {"num_workers": 2, "use_gpu": True, "resources_per_worker": {"CPU": 1, "GPU": 0.5}},
            [{"CPU": 1}, {"CPU": 1, "GPU": 0.5}, {"CPU": 1, "GPU": 0.5}],
            {"CPU": 3, "GPU": 1},
        ),
        (
            {"num_workers": 1, "use_gpu": True, "resources_per_worker": {"CPU": 1, "GPU": 0}},
            [{"CPU": 1}, {"CPU": 1, "GPU": 1}],
            {"CPU": 2, "GPU": 1},
        ),
        (
            {"num_workers": 1, "accelerator_type": "A100"},
            [{"CPU": 1}, {"CPU": 1, "accelerator_type:A100": 0.001}],
            {"CPU": 2, "accelerator_type:A100": 0.001},
        ),
    ],
)  # fmt: skip
def test_scaling_config_as_placement_group_factory(kwargs, bundles, total):
    config = ScalingConfig(**kwargs)
    pgf = config.as_placement_group_factory()
    assert pgf.bundles == bundles
    assert pgf.required_resources == pytest.approx(total)
    assert config.total_resources == pytest.approx(total)


def test_scaling_config_per_worker_properties_and_strategy():
    config = ScalingConfig(
        num_workers=4,
        use_gpu=True,
        resources_per_worker={"CPU": 2, "GPU": 1, "custom": 3},
        placement_strategy="SPREAD",
    )
    assert config.num_cpus_per_worker == 2
    assert config.num_gpus_per_worker == 1
    assert config.additional_resources_per_worker == {"custom": 3}
    assert config.as_placement_group_factory().strategy == "SPREAD"
    assert ScalingConfig(use_gpu=True).num_cpus_per_worker == 0


def test_scaling_config_round_trips_through_a_placement_group_factory():
    for config in (
        ScalingConfig(num_workers=2, use_gpu=True),
        ScalingConfig(num_workers=3, resources_per_worker={"CPU": 2}, trainer_resources={}),
        ScalingConfig(placement_strategy="STRICT_PACK"),
    ):
        back = ScalingConfig.from_placement_group_factory(config.as_placement_group_factory())
        assert back == config
        assert back.as_placement_group_factory() == config.as_placement_group_factory()
    with pytest.raises(ValueError, match="every bundle after the first"):
        ScalingConfig.from_placement_group_factory(
            PlacementGroupFactory([{"CPU": 1}, {"CPU": 1}, {"CPU": 2}])
        )
    with pytest.raises(TypeError, match="must be a PlacementGroupFactory"):
        ScalingConfig.from_placement_group_factory({"CPU": 1})  # type: ignore[arg-type]


def test_scaling_config_equality_and_repr():
    assert ScalingConfig(num_workers=2) == ScalingConfig(
        num_workers=2, trainer_resources={"CPU": 1}
    )
    assert ScalingConfig(num_workers=2) != ScalingConfig(num_workers=3)
    assert ScalingConfig(num_workers=2) != "ScalingConfig(num_workers=2)"
    assert repr(ScalingConfig(num_workers=2, use_gpu=True)) == (
        "ScalingConfig(num_workers=2, use_gpu=True)"
    )
    assert repr(ScalingConfig()) == "ScalingConfig()"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_workers": -1}, ValueError, "num_workers must be None or an int >= 0, got -1"),
        ({"num_workers": "2"}, ValueError, "num_workers must be None or an int >= 0"),
        ({"num_workers": True}, ValueError, "num_workers must be None or an int >= 0"),
        ({"use_gpu": "yes"}, TypeError, "use_gpu must be True or False, got 'yes'"),
        ({"placement_strategy": "pack"}, ValueError, "placement_strategy must be one of"),
        ({"resources_per_worker": [1]}, TypeError, "resources_per_worker must be None or a dict"),
        ({"trainer_resources": {"CPU": -1}}, ValueError, r"trainer_resources\['CPU'\] must be"),
        ({"resources_per_worker": {"CPU": "1"}}, TypeError, r"\['CPU'\] must be a number"),
        ({"resources_per_worker": {1: 1}}, TypeError, "resource names must be strings"),
        ({"accelerator_type": ""}, TypeError, "accelerator_type must be None or a non-empty str"),
        (
            {"num_workers": 1, "resources_per_worker": {"GPU": 1}},
            ValueError,
            "use_gpu is False but resources_per_worker asks for 1 GPU",
        ),
    ],
)
def test_scaling_config_validates_at_construction(kwargs, error, match):
    with pytest.raises(error, match=match):
        ScalingConfig(**kwargs)


def test_scaling_config_keeps_search_space_values_until_resolved():
    config = ScalingConfig(num_workers=tune.grid_search([1, 2]), use_gpu=tune.choice([True]))
    assert config.num_workers == {"grid_search": [1, 2]}
    with pytest.raises(ValueError, match=r"num_workers=\{'grid_search': \[1, 2\]\} is a search"):
        config.as_placement_group_factory()
    assert config == ScalingConfig(num_workers=tune.grid_search([1, 2]), use_gpu=config.use_gpu)


def test_scaling_config_is_a_resource_request_everywhere():
    from tunelab._resources import resources_from_request
    from tunelab.trainable._trainable import resource_request_of

    config = ScalingConfig(num_workers=2, use_gpu=True)
    assert resources_from_request(config) == config.as_placement_group_factory()

    def fn(config):
        pass

    wrapped = tune.with_resources(fn, config)
    assert resource_request_of(wrapped, {}) == config.as_placement_group_factory()

    class Cls(tune.Trainable):
        def step(self):
            return {"done": True}

    assert resource_request_of(tune.with_resources(Cls, config), {}).required_resources == {
        "CPU": 1,
        "GPU": 2,
    }
    with pytest.raises(ValueError, match="num_workers"):
        tune.with_resources(fn, ScalingConfig(num_workers=tune.grid_search([1, 2])))
