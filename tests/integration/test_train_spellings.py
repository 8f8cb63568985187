"""Ray 2.7+ Tune code (``from ray import train``) with only its imports changed, run in real
worker processes: reports, checkpoints in temporary directories, restore after a failure,
the trial's context, ScalingConfig as a resource request."""

import itertools
import json
import os
import tempfile
import time

import tunelab as tune
from tunelab import train
from tunelab.execution import LocalExecutor
from tunelab.train import Checkpoint, CheckpointConfig, FailureConfig, RunConfig, ScalingConfig


# Written as a Ray 2.7+ user writes it (ray/tune/examples/custom_func_checkpointing.py style).
def train_fn(config):
    start = 0
    checkpoint = train.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as checkpoint_dir:  # noqa: SIM117  (as Ray users write it)
            with open(os.path.join(checkpoint_dir, "state.json")) as f:
                start = json.load(f)["step"] + 1
    context = train.get_context()
    for step in range(start, config["steps"]):
        if step == config["fail_at"] and checkpoint is None:
            raise RuntimeError("simulated crash (first attempt only)")
        with tempfile.TemporaryDirectory() as temp_checkpoint_dir:
            with open(os.path.join(temp_checkpoint_dir, "state.json"), "w") as f:
                json.dump({"step": step}, f)
            train.report(
                {
                    "score": config["x"] * step,
                    "step": step,
                    "restored": checkpoint is not None,
                    "trial_name": context.get_trial_name(),
                    "context_trial_id": context.get_trial_id(),
                    "trial_dir": context.get_trial_dir(),
                    "experiment_name": context.get_experiment_name(),
                    "world_rank": context.get_world_rank(),
                    "world_size": context.get_world_size(),
                    "local_rank": context.get_local_rank(),
                    "cpus": context.get_trial_resources().required_resources["CPU"],
                },
                checkpoint=Checkpoint.from_directory(temp_checkpoint_dir),
            )


def read_lines(trial_dir):
    with open(os.path.join(trial_dir, "result.json")) as fh:
        return [json.loads(line) for line in fh]


def test_ray27_function_trainable_restores_from_train_checkpoint(tmp_path):
    tuner = tune.Tuner(
        train_fn,
        param_space={"x": tune.grid_search([1, 2]), "steps": 5, "fail_at": 3},
        tune_config=tune.TuneConfig(metric="score", mode="max"),
        run_config=RunConfig(
            name="ray27",
            storage_path=str(tmp_path),
            failure_config=FailureConfig(max_failures=1),
            checkpoint_config=CheckpointConfig(
                num_to_keep=2,
                checkpoint_score_attribute="score",
                checkpoint_score_order="max",
            ),
            verbose=0,
        ),
    )
    grid = tuner.fit()
    assert grid.num_errors == 0 and grid.num_terminated == 2
    for result in grid:
        assert isinstance(result, train.Result)
        metrics = result.metrics
        # the crash at step 3 restarted the trial from the checkpoint of step 2
        assert metrics["step"] == 4 and metrics["restored"] is True
        assert metrics["training_iteration"] == 5
        lines = read_lines(result.path)
        assert [r["training_iteration"] for r in lines] == [1, 2, 3, 4, 5]
        assert [r["step"] for r in lines] == [0, 1, 2, 3, 4]
        assert [r["restored"] for r in lines] == [False] * 3 + [True] * 2
        # the context: what Ray's TuneContext says about the trial
        assert metrics["context_trial_id"] == metrics["trial_id"]
        assert metrics["trial_id"] in result.path
        assert metrics["trial_dir"] == result.path
        assert os.path.basename(result.path).startswith(metrics["trial_name"])
        assert metrics["experiment_name"] == "ray27"
        assert os.path.dirname(result.path) == str(tmp_path / "ray27")
        assert (metrics["world_rank"], metrics["world_size"], metrics["local_rank"]) == (0, 1, 0)
        assert metrics["cpus"] == 1
        # checkpoints: copied before the temporary directory vanished; best two kept
        with (
            result.checkpoint.as_directory() as checkpoint_dir,
            open(os.path.join(checkpoint_dir, "state.json")) as f,
        ):
            assert json.load(f) == {"step": 4}
        kept = [m["step"] for _, m in result.best_checkpoints]
        assert sorted(kept) == [3, 4]
    names = {r.metrics["trial_name"] for r in grid}
    ids = {r.metrics["context_trial_id"] for r in grid}
    assert len(names) == 2 and len(ids) == 2
    best = grid.get_best_result()
    assert best.config["x"] == 2 and best.metrics["score"] == 8


def newest_spelling(config):
    # Ray's newest releases: tune.get_checkpoint() / tune.get_context() / tune.report
    context = tune.get_context()
    assert context is train.get_context()
    start = 0
    if tune.get_checkpoint() is not None:
        with tune.get_checkpoint().as_directory() as d, open(os.path.join(d, "n")) as f:
            start = int(f.read()) + 1
    for n in range(start, 3):
        if n == 1 and start == 0:
            raise RuntimeError("first attempt crashes after one checkpoint")
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "n"), "w") as f:
                f.write(str(n))
            tune.report(
                {"n": n, "start": start, "name": context.get_trial_name()},
                checkpoint=tune.Checkpoint.from_directory(d),
            )


def test_newest_tune_get_checkpoint_and_get_context(tmp_path):
    grid = tune.Tuner(
        newest_spelling,
        run_config=tune.RunConfig(
            storage_path=str(tmp_path), failure_config=FailureConfig(max_failures=1), verbose=0
        ),
    ).fit()
    assert grid.num_errors == 0
    result = grid[0]
    assert (result.metrics["n"], result.metrics["start"]) == (2, 1)
    assert os.path.basename(result.path).startswith(result.metrics["name"])


def report_resources(config):
    resources = train.get_context().get_trial_resources()
    train.report(
        {
            "bundles": resources.bundles,
            "scaling_config": repr(config.get("scaling_config")),
            "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "start": time.time(),
            "end": time.time() + 0.3,
        }
    )
    time.sleep(0.3)


def test_scaling_config_in_with_resources_reserves_coordinator_and_workers(tmp_path):
    grid = tune.Tuner(
        tune.with_resources(report_resources, ScalingConfig(num_workers=2)),
        tune_config=tune.TuneConfig(num_samples=2, executor=LocalExecutor(num_cpus=3)),
        run_config=RunConfig(storage_path=str(tmp_path), verbose=0),
    ).fit()
    assert grid.num_errors == 0
    for result in grid:
        assert result.metrics["bundles"] == [{"CPU": 1}, {"CPU": 1}, {"CPU": 1}]
    spans = sorted((r.metrics["start"], r.metrics["end"]) for r in grid)
    for a, b in itertools.pairwise(spans):
        assert b[0] >= a[1] - 0.05  # 3 CPUs each on a 3-CPU executor: one at a time


def test_scaling_config_with_gpus_gives_the_trial_its_devices(tmp_path):
    grid = tune.Tuner(
        tune.with_resources(report_resources, ScalingConfig(num_workers=2, use_gpu=True)),
        tune_config=tune.TuneConfig(executor=LocalExecutor(num_cpus=2, gpu_ids=["0", "1"])),
        run_config=RunConfig(storage_path=str(tmp_path), verbose=0),
    ).fit()
    assert grid.num_errors == 0
    result = grid[0]
    assert result.metrics["bundles"] == [{"CPU": 1}, {"GPU": 1}, {"GPU": 1}]
    assert sorted(result.metrics["cuda"].split(",")) == ["0", "1"]


def test_scaling_config_in_param_space_reaches_a_function_trainable(tmp_path):
    # As under Ray, a function trainable gets the ScalingConfig as a config value.
    scaling = ScalingConfig(num_workers=2, resources_per_worker={"CPU": 2})
    grid = tune.Tuner(
        report_resources,
        param_space={"scaling_config": scaling},
        run_config=RunConfig(storage_path=str(tmp_path), verbose=0),
    ).fit()
    assert grid.num_errors == 0
    result = grid[0]
    assert result.metrics["scaling_config"] == repr(scaling)
    assert result.config["scaling_config"] == scaling
    assert result.metrics["bundles"] == [{"CPU": 1}]
