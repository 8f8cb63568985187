"""Function trainables of every generation, run in real local worker processes."""

import json
import os

import pytest

import tunelab as tune
from tunelab import TuneError
from tunelab.air import session


def read_lines(trial_dir):
    with open(os.path.join(trial_dir, "result.json")) as fh:
        return [json.loads(line) for line in fh]


def train_session(config):
    for i in range(config["steps"]):
        session.report({"score": config["x"] * (i + 1)})


def test_tuner_function_trainable_results_on_disk_and_in_grid(tmp_path):
    tuner = tune.Tuner(
        train_session,
        param_space={"x": tune.grid_search([1, 2, 3]), "steps": 4},
        tune_config=tune.TuneConfig(metric="score", mode="max"),
        run_config=tune.RunConfig(name="exp", storage_path=str(tmp_path), verbose=0),
    )
    grid = tuner.fit()
    assert len(grid) == 3
    assert grid.num_errors == 0 and grid.num_terminated == 3
    best = grid.get_best_result()
    assert best.config["x"] == 3
    assert best.metrics["score"] == 12
    assert best.metrics["training_iteration"] == 4
    assert best.metrics["done"] is True
    lines = read_lines(best.path)
    assert [r["training_iteration"] for r in lines] == [1, 2, 3, 4]
    assert lines[0]["config"] == {"x": 3, "steps": 4}
    for key in (
        "time_this_iter_s",
        "time_total_s",
        "timestamp",
        "date",
        "trial_id",
        "pid",
        "hostname",
        "node_ip",
        "iterations_since_restore",
        "time_since_restore",
        "experiment_tag",
    ):
        assert key in lines[0], key
    assert lines[0]["pid"] != os.getpid()
    assert os.path.exists(os.path.join(best.path, "params.json"))
    assert os.path.exists(os.path.join(best.path, "params.pkl"))
    with open(os.path.join(best.path, "progress.csv")) as fh:
        assert len(fh.read().strip().splitlines()) == 5
    df = grid.get_dataframe()
    assert sorted(df["config/x"]) == [1, 2, 3]


def test_tune_run_every_reporting_style(tmp_path):
    def kw_style(config):
        for i in range(3):
            tune.report(loss=1.0 / (i + 1), step=i)

    def dict_style(config):
        tune.report({"loss": 0.5})

    def positional(config):
        tune.report(0.25)

    def reporter_style(config, reporter):
        for i in range(2):
            reporter(loss=float(i))

    def track_style(config):
        tune.track.log(loss=0.1)

    def returns_dict(config):
        return {"loss": 0.01}

    def returns_number(config):
        return 3.5

    def yields(config):
        for i in range(3):
            yield {"loss": float(i)}

    expected = {
        kw_style: 3,
        dict_style: 1,
        positional: 1,
        reporter_style: 2,
        track_style: 1,
        returns_dict: 1,
        returns_number: 1,
        yields: 3,
    }
    for fn, iterations in expected.items():
        analysis = tune.run(fn, storage_path=str(tmp_path), name=fn.__name__, verbose=0)
        (trial,) = analysis.trials
        assert trial.status == "TERMINATED", fn.__name__
        assert trial.last_result["training_iteration"] == iterations, fn.__name__
    analysis = tune.run(returns_number, storage_path=str(tmp_path), name="n2", verbose=0)
    assert analysis.trials[0].last_result["_metric"] == 3.5


def test_failing_trial_is_error_with_error_file_and_others_finish(tmp_path, capsys):
    def sometimes_fails(config):
        session.report({"a": 1})
        if config["fail"]:
            raise ValueError("boom from the trainable")
        session.report({"a": 2})

    with pytest.raises(TuneError) as info:
        tune.run(
            sometimes_fails,
            config={"fail": tune.grid_search([False, True])},
            storage_path=str(tmp_path),
            name="fails",
            verbose=1,
        )
    assert "did not complete" in str(info.value)
    analysis = tune.ExperimentAnalysis(str(tmp_path / "fails"))
    statuses = sorted(t.status.value for t in analysis.trials)
    assert statuses == ["ERROR", "TERMINATED"]
    errored = next(t for t in analysis.trials if t.status == "ERROR")
    with open(os.path.join(errored.local_path, "error.txt")) as fh:
        text = fh.read()
    assert "boom from the trainable" in text and "Traceback" in text
    # what was reported before the failure is kept
    assert [r["a"] for r in read_lines(errored.local_path)] == [1]
    assert capsys.readouterr().err.count("boom from the trainable") >= 1


def test_stop_dict_no_result_past_the_criterion(tmp_path):
    def forever(config):
        i = 0
        while True:
            i += 1
            session.report({"value": i})

    analysis = tune.run(
        forever, stop={"value": 7}, storage_path=str(tmp_path), name="stop", verbose=0
    )
    (trial,) = analysis.trials
    lines = read_lines(trial.local_path)
    assert [r["value"] for r in lines] == list(range(1, 8))
    assert lines[-1]["done"] is True


def test_stopper_object_and_function(tmp_path):
    from tunelab.stopper import MaximumIterationStopper

    def forever(config):
        while True:
            session.report({"v": 1})

    a = tune.run(
        forever, stop=MaximumIterationStopper(5), storage_path=str(tmp_path), name="s1", verbose=0
    )
    assert len(read_lines(a.trials[0].local_path)) == 5
    b = tune.run(
        forever,
        stop=lambda trial_id, result: result["training_iteration"] >= 3,
        storage_path=str(tmp_path),
        name="s2",
        verbose=0,
    )
    assert len(read_lines(b.trials[0].local_path)) == 3


def test_log_to_file_captures_output(tmp_path):
    def chatty(config):
        print("hello from the trial")
        import sys

        print("to stderr", file=sys.stderr)
        session.report({"a": 1})

    analysis = tune.run(chatty, log_to_file=True, storage_path=str(tmp_path), name="log", verbose=0)
    trial_dir = analysis.trials[0].local_path
    with open(os.path.join(trial_dir, "stdout")) as fh:
        assert "hello from the trial" in fh.read()
    with open(os.path.join(trial_dir, "stderr")) as fh:
        assert "to stderr" in fh.read()


def test_in_trial_context(tmp_path):
    def ctx(config):
        context = tune.get_context()
        session.report(
            {
                "name": session.get_trial_name(),
                "id": tune.get_trial_id(),
                "dir": tune.get_trial_dir(),
                "ctx_id": context.get_trial_id(),
                "cpus": session.get_trial_resources().required_resources.get("CPU"),
                "cwd": os.getcwd(),
                "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
            }
        )

    analysis = tune.run(
        ctx, storage_path=str(tmp_path), name="ctx", verbose=0, resources_per_trial={"cpu": 1}
    )
    trial = analysis.trials[0]
    result = trial.last_result
    assert result["id"] == result["ctx_id"] == trial.trial_id
    assert result["name"] == str(trial)
    assert os.path.samefile(result["dir"], trial.local_path)
    assert os.path.samefile(result["cwd"], trial.local_path)
    assert result["cpus"] == 1
    assert result["cuda"] == ""


def test_with_parameters_ships_each_object_once_per_worker(tmp_path):
    marker = tmp_path / "unpickled.txt"

    class Big:
        def __init__(self, path):
            self.path = path
            self.data = list(range(10000))

        def __setstate__(self, state):
            self.__dict__.update(state)
            with open(self.path, "a") as fh:
                fh.write(f"{os.getpid()}\n")

    def train(config, data):
        session.report({"n": len(data.data)})

    tune.run(
        tune.with_parameters(train, data=Big(str(marker))),
        num_samples=8,
        storage_path=str(tmp_path),
        name="wp",
        verbose=0,
    )
    pids = marker.read_text().split()
    assert len(pids) == len(set(pids))  # at most once per worker process
    assert 1 <= len(pids) <= os.cpu_count()


def test_register_trainable_and_run_by_name(tmp_path):
    tune.register_trainable("my_lambda", lambda config: tune.report(v=config["v"]))
    analysis = tune.run(
        "my_lambda", config={"v": 3}, storage_path=str(tmp_path), name="reg", verbose=0
    )
    assert analysis.trials[0].last_result["v"] == 3


def test_reuse_workers_run_many_trials(tmp_path):
    def quick(config):
        session.report({"pid": os.getpid()})

    analysis = tune.run(
        quick, num_samples=20, storage_path=str(tmp_path), name="many", verbose=0, reuse_actors=True
    )
    pids = {t.last_result["pid"] for t in analysis.trials}
    assert len(analysis.trials) == 20
    assert len(pids) <= os.cpu_count()
