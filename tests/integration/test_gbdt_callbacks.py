"""XGBoost and LightGBM callbacks (``tunelab.integration.xgboost``/``lightgbm``, Ray Tune's
``ray.tune.integration.*``; ``tunelab.train.xgboost``/``lightgbm``, Ray 2.x's
``ray.train.*.RayTrainReportCallback``) with the real libraries, in real trials.

Boosters are trained on scikit-learn's breast-cancer data with one thread and fixed seeds,
so a run inside a trial and a run in the test process give the same numbers: what a trial
reports each round is compared with the library's own evaluation log, and a booster loaded
from a checkpoint with the predictions of the same booster trained here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from callback_helpers import read_results

import tunelab as tune
from tunelab import Checkpoint
from tunelab.execution import LocalExecutor
from tunelab.schedulers import ASHAScheduler, PopulationBasedTraining

ROUNDS = 7


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    x, y = load_breast_cancer(return_X_y=True)
    return tuple(train_test_split(x, y, test_size=0.25, random_state=0))  # type: ignore[return-value]


class XGBoost:
    name = "xgboost"
    logloss, error = "eval-logloss", "eval-error"

    def __init__(self) -> None:
        import xgboost

        from tunelab.integration import xgboost as integration
        from tunelab.train import xgboost as train_module

        self.lib, self.integration, self.train_module = xgboost, integration, train_module
        train_x, test_x, train_y, test_y = _data()
        self.dtrain = xgboost.DMatrix(train_x, label=train_y)
        self.dtest = xgboost.DMatrix(test_x, label=test_y)

    def params(self, lr: float) -> dict[str, Any]:
        return {
            "objective": "binary:logistic",
            "eval_metric": ["logloss", "error"],
            "eta": lr,
            "max_depth": 3,
            "nthread": 1,
            "seed": 0,
        }

    def train(self, rounds, callbacks=(), lr=0.3, init_model=None, log=None):
        return self.lib.train(
            self.params(lr),
            self.dtrain,
            rounds,
            evals=[(self.dtest, "eval")],
            verbose_eval=False,
            callbacks=list(callbacks),
            xgb_model=init_model,
            evals_result=log,
        )

    def reference_log(self, rounds, lr=0.3, init_model=None) -> dict[str, list[float]]:
        log: dict[str, Any] = {}
        self.train(rounds, lr=lr, init_model=init_model, log=log)
        return {f"eval-{metric}": values for metric, values in log["eval"].items()}

    def cv(self, callbacks):
        self.lib.cv(self.params(0.3), self.dtrain, ROUNDS, nfold=3, seed=0, callbacks=callbacks)

    def predict(self, booster) -> np.ndarray:
        return booster.predict(self.dtest)

    def rounds(self, booster) -> int:
        return int(booster.num_boosted_rounds())


class LightGBM:
    name = "lightgbm"
    logloss, error = "eval-binary_logloss", "eval-binary_error"

    def __init__(self) -> None:
        import lightgbm

        from tunelab.integration import lightgbm as integration
        from tunelab.train import lightgbm as train_module

        self.lib, self.integration, self.train_module = lightgbm, integration, train_module
        self.train_x, self.test_x, self.train_y, self.test_y = _data()

    def params(self, lr: float) -> dict[str, Any]:
        return {
            "objective": "binary",
            "metric": ["binary_logloss", "binary_error"],
            "learning_rate": lr,
            "num_leaves": 7,
            "num_threads": 1,
            "seed": 0,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }

    def _sets(self):
        train_set = self.lib.Dataset(self.train_x, label=self.train_y, free_raw_data=False)
        return train_set, self.lib.Dataset(self.test_x, label=self.test_y, reference=train_set)

    def train(self, rounds, callbacks=(), lr=0.3, init_model=None, log=None):
        train_set, test_set = self._sets()
        callbacks = list(callbacks)
        if log is not None:
            callbacks.append(self.lib.record_evaluation(log))
        return self.lib.train(
            self.params(lr),
            train_set,
            rounds,
            valid_sets=[test_set],
            valid_names=["eval"],
            init_model=init_model,
            callbacks=callbacks,
        )

    def reference_log(self, rounds, lr=0.3, init_model=None) -> dict[str, list[float]]:
        log: dict[str, Any] = {}
        self.train(rounds, lr=lr, init_model=init_model, log=log)
        return {f"eval-{metric}": values for metric, values in log["eval"].items()}

    def cv(self, callbacks):
        train_set, _ = self._sets()
        self.lib.cv(self.params(0.3), train_set, ROUNDS, nfold=3, seed=0, callbacks=callbacks)

    def predict(self, booster) -> np.ndarray:
        return booster.predict(self.test_x)

    def rounds(self, booster) -> int:
        return int(booster.current_iteration())


FRAMEWORK_CLASSES = {"xgboost": XGBoost, "lightgbm": LightGBM}
_cache: dict[str, Any] = {}


def framework(name: str) -> Any:
    if name not in _cache:
        _cache[name] = FRAMEWORK_CLASSES[name]()
    return _cache[name]


FRAMEWORKS = [
    pytest.param(
        name,
        marks=pytest.mark.skipif(
            not _installed(name), reason=f'{name} is not installed (pip install "tunelab[{name}]")'
        ),
    )
    for name in FRAMEWORK_CLASSES
]


def checkpoint_numbers(trial_dir: str) -> list[int]:
    return sorted(
        int(name.split("_")[1])
        for name in os.listdir(trial_dir)
        if name.startswith("checkpoint_") and not name.startswith("checkpoint_tmp")
    )


# -- one experiment per framework: a trial per way of using the callbacks --------------------


def mean_of_pairs(report: dict[str, Any]) -> dict[str, Any]:
    """xgb.cv reports (mean, std) pairs: keep the mean (what Ray's example averages)."""
    return {key: value[0] for key, value in report.items()}


def add_marker(report: dict[str, Any]) -> dict[str, Any]:
    return {**report, "postprocessed": True}


def old_style_loop(fw: XGBoost, callback: Any, rounds: int) -> None:
    """How XGBoost < 1.3's ``train`` drove a callback: ``callback(env)`` after each round."""
    booster = fw.lib.Booster(fw.params(0.3), [fw.dtrain, fw.dtest])
    for i in range(rounds):
        booster.update(fw.dtrain, i)
        message = booster.eval_set([(fw.dtest, "eval")], i)  # "[0]\teval-logloss:0.4..."
        results = [(k, float(v)) for k, v in (item.split(":") for item in message.split()[1:])]
        env = SimpleNamespace(
            model=booster,
            cvfolds=None,
            iteration=i,
            begin_iteration=0,
            end_iteration=rounds,
            rank=0,
            evaluation_result_list=results,
        )
        callback(env)


def callbacks_case(config: dict[str, Any]) -> None:
    fw = framework(config["framework"])
    integration, case = fw.integration, config["case"]
    if case == "rename":
        callback = integration.TuneReportCheckpointCallback(
            {"loss": fw.logloss, "err": fw.error}, filename="booster.json", frequency=3
        )
    elif case == "list":
        callback = integration.TuneReportCallback([fw.logloss])
    elif case == "all":
        callback = integration.TuneReportCallback()
    elif case == "train_defaults":
        callback = fw.train_module.RayTrainReportCallback()
    elif case == "no_checkpoints":
        callback = integration.TuneReportCheckpointCallback(frequency=0, checkpoint_at_end=False)
    elif case == "ray1_positional":  # 1.x: (metrics, filename, frequency, postprocessing fn)
        callback = integration.TuneReportCheckpointCallback(fw.logloss, "model.json", 2, add_marker)
    elif case == "cv":
        if fw.name == "xgboost":
            callback = integration.TuneReportCallback(results_postprocessing_fn=mean_of_pairs)
        else:  # checkpoint_at_end is on: nothing to checkpoint under lgb.cv
            callback = integration.TuneReportCheckpointCallback(frequency=1)
        fw.cv([callback])
        return
    elif case == "old_style":
        callback = integration.TuneReportCheckpointCallback({"loss": fw.logloss}, frequency=3)
        old_style_loop(fw, callback, ROUNDS)
        return
    else:
        raise AssertionError(case)
    fw.train(ROUNDS, [callback])


CASES = ["rename", "list", "all", "train_defaults", "no_checkpoints", "ray1_positional", "cv"]


def lightgbm_cv_works() -> bool:
    """LightGBM 3's lgb.cv calls np.array(list, copy=False), an error under numpy 2."""
    import lightgbm

    return int(lightgbm.__version__.split(".")[0]) >= 4 or np.__version__.startswith("1.")


@pytest.fixture(scope="module", params=FRAMEWORKS)
def case_run(request, tmp_path_factory):
    name = request.param
    cases = CASES + (["old_style"] if name == "xgboost" else [])
    if name == "lightgbm" and not lightgbm_cv_works():
        cases.remove("cv")
    analysis = tune.run(
        callbacks_case,
        name=f"cases_{name}",
        config={"framework": name, "case": tune.grid_search(cases)},
        storage_path=str(tmp_path_factory.mktemp(name)),
        verbose=0,
        executor=LocalExecutor(num_cpus=2),
    )
    trials = {t.config["case"]: t for t in analysis.trials}
    assert all(t.status == "TERMINATED" for t in trials.values()), [
        (c, t.status) for c, t in trials.items()
    ]
    return framework(name), trials


def test_metrics_renamed_by_a_dict_reported_every_round(case_run):
    fw, trials = case_run
    reference = fw.reference_log(ROUNDS)
    lines = read_results(trials["rename"].local_path)
    for i in range(ROUNDS):
        assert lines[i]["training_iteration"] == i + 1
        assert lines[i]["loss"] == pytest.approx(reference[fw.logloss][i], rel=1e-9)
        assert lines[i]["err"] == pytest.approx(reference[fw.error][i], rel=1e-9)
        assert fw.logloss not in lines[i]  # renamed, not duplicated
    # XGBoost says the training ended only after the last round: the end checkpoint comes
    # with the last round's metrics reported once more (as in Ray 2.x); LightGBM knows the
    # last round when it happens
    extra = 1 if fw.name == "xgboost" else 0
    assert len(lines) == ROUNDS + extra
    if extra:
        assert lines[-1]["loss"] == lines[-2]["loss"]


def test_metrics_as_a_list_or_none(case_run):
    fw, trials = case_run
    reference = fw.reference_log(ROUNDS)
    listed = read_results(trials["list"].local_path)
    assert [r[fw.logloss] for r in listed] == pytest.approx(reference[fw.logloss], rel=1e-9)
    assert all(fw.error not in r for r in listed)
    everything = read_results(trials["all"].local_path)
    assert len(everything) == ROUNDS
    for name in (fw.logloss, fw.error):
        assert [r[name] for r in everything] == pytest.approx(reference[name], rel=1e-9)
    # report-only callbacks never checkpoint
    assert checkpoint_numbers(trials["list"].local_path) == []
    assert checkpoint_numbers(trials["all"].local_path) == []


def test_checkpoints_every_frequency_rounds_and_at_the_end(case_run):
    fw, trials = case_run
    trial_dir = trials["rename"].local_path
    end = ROUNDS + 1 if fw.name == "xgboost" else ROUNDS
    assert checkpoint_numbers(trial_dir) == [3, 6, end]
    for number, booster_rounds in ((3, 3), (6, 6), (end, ROUNDS)):
        checkpoint = Checkpoint.from_directory(os.path.join(trial_dir, f"checkpoint_{number:06d}"))
        with checkpoint.as_directory() as directory:
            assert "booster.json" in os.listdir(directory)
        # get_model finds the file by the name the callback recorded in the checkpoint
        booster = fw.integration.TuneReportCheckpointCallback.get_model(checkpoint)
        assert fw.rounds(booster) == booster_rounds
        expected = fw.predict(fw.train(booster_rounds))
        np.testing.assert_allclose(fw.predict(booster), expected, rtol=1e-6)
    # also from a path, as 0.x-1.x analyses hand out checkpoints, and with the name given
    path = os.path.join(trial_dir, f"checkpoint_{end:06d}")
    booster = fw.integration.TuneReportCheckpointCallback.get_model(path, filename="booster.json")
    assert fw.rounds(booster) == ROUNDS
    assert trials["rename"].checkpoint is not None


def test_no_checkpoints_with_frequency_0_and_no_checkpoint_at_end(case_run):
    _, trials = case_run
    assert checkpoint_numbers(trials["no_checkpoints"].local_path) == []
    assert len(read_results(trials["no_checkpoints"].local_path)) == ROUNDS


def test_ray_train_report_callback_checkpoints_only_at_the_end(case_run):
    fw, trials = case_run
    trial_dir = trials["train_defaults"].local_path
    lines = read_results(trial_dir)
    end = ROUNDS + 1 if fw.name == "xgboost" else ROUNDS
    assert len(lines) == end
    assert checkpoint_numbers(trial_dir) == [end]
    checkpoint = Checkpoint.from_directory(os.path.join(trial_dir, f"checkpoint_{end:06d}"))
    with checkpoint.as_directory() as directory:
        names = [n for n in os.listdir(directory) if not n.startswith(".")]
    assert names == [fw.train_module.RayTrainReportCallback.CHECKPOINT_NAME]
    assert names == ["model.ubj" if fw.name == "xgboost" else "model.txt"]
    booster = fw.train_module.RayTrainReportCallback.get_model(checkpoint)
    np.testing.assert_allclose(fw.predict(booster), fw.predict(fw.train(ROUNDS)), rtol=1e-6)


def test_ray1_positional_arguments_and_postprocessing(case_run):
    fw, trials = case_run
    trial_dir = trials["ray1_positional"].local_path
    lines = read_results(trial_dir)
    assert all(r["postprocessed"] is True for r in lines)
    assert [r[fw.logloss] for r in lines[:ROUNDS]] == pytest.approx(
        fw.reference_log(ROUNDS)[fw.logloss], rel=1e-9
    )
    end = ROUNDS + 1 if fw.name == "xgboost" else ROUNDS
    assert checkpoint_numbers(trial_dir) == [2, 4, 6, end]
    booster = fw.integration.TuneReportCheckpointCallback.get_model(
        os.path.join(trial_dir, "checkpoint_000004")
    )
    assert fw.rounds(booster) == 4


def test_cross_validation_reports_fold_aggregates_without_checkpoints(case_run):
    fw, trials = case_run
    if "cv" not in trials:
        pytest.skip("LightGBM 3's lgb.cv fails under numpy 2 (np.array(list, copy=False))")
    trial_dir = trials["cv"].local_path
    lines = read_results(trial_dir)
    assert len(lines) == ROUNDS
    assert checkpoint_numbers(trial_dir) == []
    if fw.name == "xgboost":
        log = fw.lib.cv(fw.params(0.3), fw.dtrain, ROUNDS, nfold=3, seed=0)
        assert [r["test-logloss"] for r in lines] == pytest.approx(
            list(log["test-logloss-mean"]), rel=1e-6
        )
        assert "train-error" in lines[0]
    else:
        # "cv_agg-..." in LightGBM 3, "valid-..." in LightGBM 4
        means = [k for k in lines[0] if k.endswith("-binary_logloss-mean")]
        assert len(means) == 1
        assert means[0].replace("-mean", "-stdv") in lines[0]
        assert all(lines[i][means[0]] > lines[i + 1][means[0]] for i in range(ROUNDS - 1))


def test_xgboost_old_style_callback_call(case_run):
    fw, trials = case_run
    if fw.name != "xgboost":
        pytest.skip("XGBoost < 1.3's callback(env) protocol")
    trial_dir = trials["old_style"].local_path
    lines = read_results(trial_dir)
    assert len(lines) == ROUNDS  # env.end_iteration tells the last round: no extra result
    assert [r["loss"] for r in lines] == pytest.approx(
        fw.reference_log(ROUNDS)[fw.logloss], rel=1e-6
    )
    assert checkpoint_numbers(trial_dir) == [3, 6, 7]


# -- schedulers: ASHA stops a trial early; PBT restores a booster and training continues ----


def boost_under_scheduler(config: dict[str, Any]) -> None:
    fw = framework(config["framework"])
    callback_class = fw.integration.TuneReportCheckpointCallback
    checkpoint = tune.get_checkpoint()
    booster = callback_class.get_model(checkpoint) if checkpoint else None
    done = fw.rounds(booster) if booster is not None else 0
    if done >= config["rounds"]:  # synch PBT paused the trial after its last round
        return
    fw.train(
        config["rounds"] - done,
        [callback_class({"loss": fw.logloss}, frequency=config["frequency"])],
        lr=config["lr"],
        init_model=booster,
    )


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_asha_stops_a_poor_trial_early(name, tmp_path):
    fw = framework(name)
    tuner = tune.Tuner(
        boost_under_scheduler,
        param_space={
            "framework": name,
            "lr": tune.grid_search([0.5, 1e-4]),
            "rounds": 10,
            "frequency": 5,
        },
        tune_config=tune.TuneConfig(
            metric="loss",
            mode="min",
            scheduler=ASHAScheduler(max_t=10, grace_period=1, reduction_factor=2),
            max_concurrent_trials=1,  # the good trial first: its rungs are recorded first
        ),
        run_config=tune.RunConfig(name="asha", storage_path=str(tmp_path), verbose=0),
    )
    grid = tuner.fit()
    assert grid.num_errors == 0
    by_lr = {r.config["lr"]: r for r in grid}
    good, poor = by_lr[0.5], by_lr[1e-4]
    assert [r["training_iteration"] for r in read_results(good.path)] == list(range(1, 11))
    assert [r["training_iteration"] for r in read_results(poor.path)] == [1]  # stopped at rung 1
    assert poor.checkpoint is None  # stopped before its first checkpoint (round 5)
    booster = fw.integration.TuneReportCheckpointCallback.get_model(good.checkpoint)
    assert fw.rounds(booster) == 10
    assert grid.get_best_result().config["lr"] == 0.5


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_pbt_exploit_restores_the_donor_booster_and_training_continues(name, tmp_path):
    fw = framework(name)
    lrs = [0.01, 0.1, 0.5]
    analysis = tune.run(
        boost_under_scheduler,
        config={
            "framework": name,
            "lr": tune.grid_search([0.5, 0.01]),
            "rounds": 9,
            "frequency": 1,
        },
        scheduler=PopulationBasedTraining(
            time_attr="training_iteration",
            perturbation_interval=3,
            hyperparam_mutations={"lr": lrs},
            quantile_fraction=0.5,
            resample_probability=0.0,
            synch=True,
            seed=0,
        ),
        metric="loss",
        mode="min",
        storage_path=str(tmp_path),
        verbose=0,
        executor=LocalExecutor(num_cpus=2),
    )
    trials = analysis.trials
    assert all(t.status == "TERMINATED" for t in trials)
    with open(os.path.join(trials[0].experiment_path, "pbt_global.txt")) as fh:
        policy = [json.loads(line) for line in fh]
    assert policy, "PBT never exploited"
    target_tag, donor_tag, _, donor_iteration, donor_config, new_config = policy[0]
    (target,) = [t for t in trials if t.experiment_tag.split("@")[0] == target_tag]
    assert donor_tag != target_tag
    assert donor_config["lr"] == 0.5 and donor_iteration == 3
    target_lines = read_results(target.local_path)
    first_after = next(r for r in target_lines if "@perturbed" in r["experiment_tag"])
    assert first_after["training_iteration"] == donor_iteration + 1
    # the donor's booster after 3 rounds, trained one more round with the explored lr
    donor_booster = fw.train(donor_iteration, lr=donor_config["lr"])
    expected = fw.reference_log(1, lr=new_config["lr"], init_model=donor_booster)[fw.logloss][-1]
    assert first_after["loss"] == pytest.approx(expected, rel=1e-6)
    # every trial ran to 9 rounds, its last booster holds them all
    for trial in trials:
        assert read_results(trial.local_path)[-1]["training_iteration"] == 9
        booster = fw.integration.TuneReportCheckpointCallback.get_model(trial.checkpoint)
        assert fw.rounds(booster) == 9


# -- without a trial: arguments, errors, missing extras -------------------------------------


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_arguments_are_validated(name):
    fw = framework(name)
    callback_class = fw.integration.TuneReportCheckpointCallback
    with pytest.raises(ValueError, match=r"frequency must be an int >= 0.*got -1"):
        callback_class(frequency=-1)
    with pytest.raises(ValueError, match="frequency"):
        callback_class(frequency=2.5)
    with pytest.raises(TypeError, match="metrics must be None"):
        callback_class(metrics=3)
    with pytest.raises(TypeError, match="metrics must be None"):
        fw.integration.TuneReportCallback({"loss": 1})
    with pytest.raises(TypeError, match="checkpoint_at_end must be a bool"):
        callback_class(checkpoint_at_end="yes")
    with pytest.raises(ValueError, match="filename must be a non-empty relative file name"):
        callback_class(filename="")
    with pytest.raises(TypeError, match="results_postprocessing_fn must be None or a callable"):
        callback_class(results_postprocessing_fn=5)


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_an_unknown_metric_names_the_ones_there_are(name):
    fw = framework(name)
    callback = fw.integration.TuneReportCallback({"loss": "eval-nope"})
    with pytest.raises(KeyError, match=r"'eval-nope' is not among .*" + fw.logloss):
        fw.train(2, [callback])


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_get_model_errors(name, tmp_path):
    fw = framework(name)
    get_model = fw.integration.TuneReportCheckpointCallback.get_model
    (tmp_path / "other.bin").write_text("x")
    with pytest.raises(FileNotFoundError, match=r"no booster file 'model\..*other\.bin"):
        get_model(Checkpoint.from_directory(tmp_path))
    with pytest.raises(TypeError, match="checkpoint must be a tunelab Checkpoint"):
        get_model(42)


@pytest.mark.parametrize(
    ("module", "extra"),
    [
        ("tunelab.integration.xgboost", "xgboost"),
        ("tunelab.train.xgboost", "xgboost"),
        ("tunelab.integration.lightgbm", "lightgbm"),
        ("tunelab.train.lightgbm", "lightgbm"),
    ],
)
def test_a_missing_framework_names_the_extra(module, extra):
    code = (
        f"import sys; sys.modules[{extra!r}] = None\n"
        "from tunelab._errors import ExtraNotInstalledError\n"
        "try:\n"
        f"    import {module}\n"
        "except ExtraNotInstalledError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f'pip install "tunelab[{extra}]"' in out.stdout


def test_import_tunelab_imports_no_framework():
    code = (
        "import sys, tunelab, tunelab.integration\n"
        "print('xgboost' in sys.modules, 'lightgbm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
    ("name", "missing"),
    [("xgboost", "XGBoostTrainer"), ("lightgbm", "LightGBMTrainer")],
)
def test_ray_train_distributed_trainers_say_there_is_no_counterpart(name, missing):
    if not _installed(name):
        pytest.skip(f"{name} is not installed")
    module = __import__(f"tunelab.train.{name}", fromlist=["RayTrainReportCallback"])
    with pytest.raises(ImportError, match="has no counterpart"):
        exec(f"from tunelab.train.{name} import {missing}", {})
    with pytest.raises(AttributeError):
        module.NoSuchName  # noqa: B018
    assert Path(module.__file__).name == f"{name}.py"
