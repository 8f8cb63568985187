"""Resources (GPUs, fractions, custom, bundles), naming, reuse, budgets, callbacks, output."""

import itertools
import os
import threading
import time

import pytest

import tunelab as tune
from tunelab import PlacementGroupFactory, Trainable
from tunelab.execution import LocalExecutor


def report_env(config):
    tune.report(
        cuda=os.environ.get("CUDA_VISIBLE_DEVICES"),
        cpus=tune.get_trial_resources().required_resources.get("CPU", 0),
        start=time.time(),
        end=time.time() + 0.2,
    )
    time.sleep(0.2)


def test_each_trial_sees_exactly_its_gpus(tmp_path):
    analysis = tune.run(
        report_env,
        num_samples=4,
        resources_per_trial={"cpu": 0.5, "gpu": 1},
        executor=LocalExecutor(num_cpus=4, gpu_ids=["0", "1"]),
        storage_path=str(tmp_path),
        verbose=0,
    )
    seen = [t.last_result["cuda"] for t in analysis.trials]
    assert sorted(set(seen)) == ["0", "1"]


def test_fractional_gpus_share_a_device(tmp_path):
    analysis = tune.run(
        report_env,
        num_samples=4,
        resources_per_trial={"cpu": 1, "gpu": 0.5},
        executor=LocalExecutor(num_cpus=4, gpu_ids=["0"]),
        storage_path=str(tmp_path),
        verbose=0,
    )
    assert {t.last_result["cuda"] for t in analysis.trials} == {"0"}
    spans = sorted((t.last_result["start"], t.last_result["end"]) for t in analysis.trials)
    overlapping = sum(1 for a, b in itertools.pairwise(spans) if b[0] < a[1])
    assert overlapping >= 1  # two half-GPU trials ran at the same time


def test_custom_resources_bound_concurrency(tmp_path):
    analysis = tune.run(
        report_env,
        num_samples=3,
        resources_per_trial={"cpu": 1, "accelerator": 1},
        executor=LocalExecutor(num_cpus=4, resources={"accelerator": 1}),
        storage_path=str(tmp_path),
        verbose=0,
    )
    spans = sorted((t.last_result["start"], t.last_result["end"]) for t in analysis.trials)
    for a, b in itertools.pairwise(spans):
        assert b[0] >= a[1] - 0.05  # one at a time


def test_placement_group_bundles_reserve_everything(tmp_path):
    pgf = PlacementGroupFactory([{"CPU": 1}, {"CPU": 1}])
    assert pgf.required_resources == {"CPU": 2.0}
    analysis = tune.run(
        report_env,
        num_samples=2,
        resources_per_trial=pgf,
        executor=LocalExecutor(num_cpus=2),
        storage_path=str(tmp_path),
        verbose=0,
    )
    assert all(t.last_result["cpus"] == 2 for t in analysis.trials)
    spans = sorted((t.last_result["start"], t.last_result["end"]) for t in analysis.trials)
    assert spans[1][0] >= spans[0][1] - 0.05


class NeedsTwo(Trainable):
    @classmethod
    def default_resource_request(cls, config):
        return {"cpu": 2}

    def step(self):
        return {"cpus": self.trial_resources.required_resources["CPU"], "done": True}


def test_default_resource_request_and_with_resources(tmp_path):
    a = tune.run(
        NeedsTwo, storage_path=str(tmp_path), verbose=0, executor=LocalExecutor(num_cpus=2)
    )
    assert a.trials[0].last_result["cpus"] == 2
    b = tune.run(
        tune.with_resources(NeedsTwo, {"cpu": 1}),
        storage_path=str(tmp_path),
        verbose=0,
        executor=LocalExecutor(num_cpus=2),
    )
    assert b.trials[0].last_result["cpus"] == 1


class Resettable(Trainable):
    def setup(self, config):
        self.instance = id(self)
        self.pid = os.getpid()

    def step(self):
        return {"instance": self.instance, "pid": self.pid, "done": True}

    def reset_config(self, new_config):
        return True


def test_reuse_actors_reuses_the_object_through_reset_config(tmp_path):
    analysis = tune.run(
        Resettable,
        num_samples=6,
        reuse_actors=True,
        storage_path=str(tmp_path),
        verbose=0,
        executor=LocalExecutor(num_cpus=1),
    )
    instances = {(t.last_result["pid"], t.last_result["instance"]) for t in analysis.trials}
    assert len(instances) == 1


def test_trial_name_and_dirname_creators(tmp_path):
    analysis = tune.run(
        lambda config: tune.report(x=config["x"]),
        config={"x": tune.grid_search([1, 2])},
        trial_name_creator=lambda trial: f"custom_{trial.config['x']}",
        trial_dirname_creator=lambda trial: f"dir_{trial.config['x']}",
        storage_path=str(tmp_path),
        name="named",
        verbose=0,
    )
    assert sorted(str(t) for t in analysis.trials) == ["custom_1", "custom_2"]
    assert sorted(d for d in os.listdir(tmp_path / "named") if d.startswith("dir")) == [
        "dir_1",
        "dir_2",
    ]


def test_pin_in_object_store_0x_code_path(tmp_path):
    ref = tune.pin_in_object_store(list(range(1000)))

    def train(config, reporter):
        data = tune.get_pinned_object(ref)
        reporter(total=sum(data))

    analysis = tune.run(train, storage_path=str(tmp_path), verbose=0)
    assert analysis.trials[0].last_result["total"] == sum(range(1000))


def test_time_budget_ends_the_experiment(tmp_path):
    def forever(config):
        while True:
            time.sleep(0.01)
            tune.report(v=1)

    start = time.time()
    analysis = tune.run(
        forever, num_samples=2, time_budget_s=1.0, storage_path=str(tmp_path), verbose=0
    )
    assert time.time() - start < 20
    assert all(t.status == "TERMINATED" for t in analysis.trials)


def test_unpicklable_trainable_gets_a_diagnosis():
    lock = threading.Lock()

    def uses_lock(config):
        with lock:
            tune.report(v=1)

    with pytest.raises(TypeError, match="lock"):
        tune.run(uses_lock, verbose=0)


def test_callbacks_see_the_lifecycle_in_order(tmp_path):
    events = []

    class Recorder(tune.Callback):
        def setup(self, **info):
            events.append("setup")

        def on_trial_start(self, trial, **info):
            events.append("start")

        def on_trial_result(self, trial, result, **info):
            events.append(f"result{result['training_iteration']}")

        def on_trial_complete(self, trial, **info):
            events.append("complete")

        def on_experiment_end(self, trials, **info):
            events.append("end")

    def two(config):
        tune.report(a=1)
        tune.report(a=2)

    tune.run(two, callbacks=[Recorder()], storage_path=str(tmp_path), verbose=0)
    assert events == ["setup", "start", "result1", "result2", "complete", "end"]


def test_every_loop_step_is_bracketed_by_step_begin_and_step_end(tmp_path):
    steps = []

    class Steps(tune.Callback):
        def on_step_begin(self, iteration, trials, **info):
            steps.append(("begin", iteration))

        def on_trial_result(self, iteration, trials, trial, result, **info):
            steps.append(("result", iteration))

        def on_step_end(self, iteration, trials, **info):
            steps.append(("end", iteration))

    def two(config):
        tune.report(a=1)
        tune.report(a=2)

    tune.run(two, callbacks=[Steps()], storage_path=str(tmp_path), verbose=0)
    begins = [i for kind, i in steps if kind == "begin"]
    assert begins and begins == sorted(set(begins))
    for kind, iteration in steps:  # every result happens inside a begun, unended step
        if kind == "result":
            assert steps.index(("begin", iteration)) < steps.index(("result", iteration))
            assert steps.index(("result", iteration)) < steps.index(("end", iteration))
    assert sum(kind == "result" for kind, _ in steps) == 2


def test_status_table_is_printed_and_not_flooded(tmp_path, capsys):
    def many(config):
        for i in range(500):
            tune.report(loss=1.0 / (i + 1))

    tune.run(
        many,
        num_samples=2,
        metric="loss",
        mode="min",
        storage_path=str(tmp_path),
        verbose=1,
        progress_reporter=tune.CLIReporter(metric_columns=["loss"]),
    )
    out = capsys.readouterr().out
    assert "Number of trials: 2/2 (2 TERMINATED)" in out
    assert "loss" in out
    assert out.count("== Status ==") <= 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_samples": 0}, "num_samples"),
        ({"mode": "maximize"}, "mode"),
        ({"verbose": 7}, "verbose"),
        ({"max_concurrent_trials": -1}, "max_concurrent_trials"),
        ({"stop": {"a": "high"}}, "stop"),
        ({"resources_per_trial": {"cpu": -1}}, "resources_per_trial"),
        ({"max_failures": -2}, "max_failures"),
        ({"fail_fast": "explode"}, "fail_fast"),
        ({"callbacks": [object()]}, "callbacks"),
        ({"search_alg": 42}, "search_alg"),
        ({"scheduler": 42}, "scheduler"),
        ({"config": [1, 2]}, "config"),
        ({"log_to_file": 3}, "log_to_file"),
    ],
)
def test_bad_arguments_fail_before_any_trial(tmp_path, kwargs, match):
    started = tmp_path / "started"

    def train(config):
        started.write_text("x")

    with pytest.raises((ValueError, TypeError), match=match):
        tune.run(train, storage_path=str(tmp_path), verbose=0, **kwargs)
    assert not started.exists()


def test_bad_server_port(tmp_path):
    with pytest.raises(ValueError, match="server_port"):
        tune.run(lambda c: None, server_port=70000, storage_path=str(tmp_path), verbose=0)


def test_function_trainable_with_wrong_signature():
    def two_required(config, other, third):
        pass

    with pytest.raises(TypeError, match="config"):
        tune.run(two_required, verbose=0)
