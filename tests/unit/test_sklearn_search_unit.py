"""Fast tests of tunelab.sklearn's pure parts: spaces, scorers, cv_results_ assembly, early
stopping detection, the cross-validation runner (in this process) and the estimator
protocol (get_params/set_params/clone, validation in fit before any trial runs)."""

from __future__ import annotations

import copy
import math
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy import stats
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import (
    GridSearchCV,
    ParameterGrid,
    ParameterSampler,
    StratifiedKFold,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

import tunelab as tune
from tunelab.schedulers import (
    AsyncHyperBandScheduler,
    HyperBandScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
)
from tunelab.sklearn import TuneGridSearchCV, TuneSearchCV
from tunelab.sklearn._early_stop import EarlyStopType, early_stop_type, resolve_scheduler
from tunelab.sklearn._results import best_index, build_cv_results, failure_report
from tunelab.sklearn._scoring import check_refit, metric_key, scorers_for
from tunelab.sklearn._searchers import CandidateList, check_optimizer
from tunelab.sklearn._space import (
    check_warm_start_params,
    grid_candidates,
    random_candidates,
    searcher_space,
)
from tunelab.sklearn._trainable import CVRunner, FitTask


# -- spaces ------------------------------------------------------------------------------
def test_grid_candidates_follow_parameter_grid_order():
    grid = [{"b": [1, 2], "a": ["x", "y"]}, {"c": tune.grid_search([True, False])}]
    expected = list(ParameterGrid([{"b": [1, 2], "a": ["x", "y"]}, {"c": [True, False]}]))
    assert grid_candidates(grid) == expected


def test_grid_rejects_domains_and_scalars():
    with pytest.raises(TypeError, match="tunelab domain"):
        grid_candidates({"C": tune.uniform(0, 1)})
    with pytest.raises(TypeError, match="C"):
        grid_candidates({"C": 1.0})
    with pytest.raises(TypeError, match="param_grid"):
        grid_candidates("C")


def test_random_candidates_are_randomized_search_cv_s():
    dist = {"C": stats.loguniform(1e-3, 1e2), "kernel": ["rbf", "linear"]}
    ours = random_candidates(dist, 7, 42)
    theirs = list(ParameterSampler(dist, 7, random_state=42))
    assert ours == theirs


def test_random_candidates_cap_an_all_list_space_at_its_size():
    candidates = random_candidates({"a": [1, 2], "b": [3, 4, 5]}, 50, 0)
    assert len(candidates) == 6
    assert sorted((c["a"], c["b"]) for c in candidates) == [
        (a, b) for a in (1, 2) for b in (3, 4, 5)
    ]


def test_random_candidates_draw_tunelab_domains_reproducibly():
    space = {
        "lr": tune.loguniform(1e-4, 1e-1),
        "depth": tune.randint(1, 4),
        "double": tune.sample_from(lambda spec: spec.config.depth * 2),
        "kind": ["a", "b"],
    }
    first = random_candidates(space, 20, 3)
    assert first == random_candidates(space, 20, 3)
    assert first != random_candidates(space, 20, 4)
    for candidate in first:
        assert 1e-4 <= candidate["lr"] <= 1e-1
        assert candidate["depth"] in (1, 2, 3)
        assert candidate["double"] == 2 * candidate["depth"]
        assert set(candidate) == set(space)


def test_random_candidates_from_a_list_of_dicts():
    candidates = random_candidates([{"a": [1]}, {"b": [2]}], 10, 0)
    assert {tuple(c.items()) for c in candidates} == {(("a", 1),), (("b", 2),)}


@pytest.mark.parametrize(
    ("value", "match"),
    [((0.1, 1.0), "rvs method"), ([], "empty"), (1.0, "list of values")],
)
def test_random_candidates_reject_other_values(value, match):
    with pytest.raises((TypeError, ValueError), match=match):
        random_candidates({"C": value}, 3, 0)


def test_searcher_space_converts_lists_and_tuples_to_domains():
    kind, space = searcher_space(
        {"C": (0.1, 10.0, "log-uniform"), "n": (1, 5), "x": (0.0, 1.0), "k": ["a", "b"]},
        "hyperopt",
    )
    assert kind == "tunelab"
    assert isinstance(space["C"], tune.search.Float) and space["C"].lower == 0.1
    assert type(space["C"].get_sampler()).__name__ == "LogUniform"
    assert isinstance(space["n"], tune.search.Integer)
    assert (space["n"].lower, space["n"].upper) == (1, 6)  # both ends included
    assert isinstance(space["x"], tune.search.Float)
    assert space["k"].categories == ["a", "b"]


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ((1.0,), ValueError, "low, high"),
        ((2.0, 1.0), ValueError, "low must be < high"),
        ((0.1, 1.0, "normal"), ValueError, "prior"),
        (("a", "b"), TypeError, "numbers"),
        (stats.uniform(0, 1), TypeError, "scipy distributions are for"),
        (tune.grid_search([1, 2]), TypeError, "grid_search"),
    ],
)
def test_searcher_space_rejects_bad_values(value, error, match):
    with pytest.raises(error, match=match):
        searcher_space({"C": value}, "optuna")


def test_searcher_space_keeps_library_objects_and_converts_the_rest():
    hp = pytest.importorskip("hyperopt").hp
    kind, space = searcher_space({"C": hp.uniform("C", 0, 1), "k": ["a", "b"]}, "hyperopt")
    assert kind == "native"
    assert set(space) == {"C", "k"}
    distributions = pytest.importorskip("optuna").distributions
    kind, space = searcher_space(
        {"C": distributions.FloatDistribution(0, 1), "n": (1, 3)}, "optuna"
    )
    assert kind == "native"
    assert space["n"] == distributions.IntDistribution(1, 3)
    with pytest.raises(TypeError, match="mixes"):
        searcher_space({"C": hp.uniform("C", 0, 1), "d": tune.uniform(0, 1)}, "hyperopt")


def test_searcher_space_builds_a_configuration_space_for_bohb():
    CS = pytest.importorskip("ConfigSpace")
    kind, space = searcher_space(
        {"C": CS.UniformFloatHyperparameter("C", 0.1, 1.0), "k": ["a", "b"], "n": (1, 4)}, "bohb"
    )
    assert kind == "native" and isinstance(space, CS.ConfigurationSpace)
    assert sorted(space.keys()) == ["C", "k", "n"]
    whole = CS.ConfigurationSpace({"C": (0.1, 1.0)})
    assert searcher_space(whole, "bohb") == ("native", whole)


def test_warm_start_spaces_must_not_set_the_resource_parameter():
    check_warm_start_params({"C": [1]}, "max_iter", None)
    with pytest.raises(ValueError, match="max_iter"):
        check_warm_start_params({"max_iter": [1]}, "max_iter", None)
    with pytest.raises(ValueError, match="clf__n_estimators"):
        check_warm_start_params([{"clf__n_estimators": [1]}], "n_estimators", "clf")


# -- scoring -----------------------------------------------------------------------------
def test_scorers_for_one_and_several_metrics():
    scorers, multi = scorers_for(LogisticRegression(), None)
    assert list(scorers) == ["score"] and not multi
    scorers, multi = scorers_for(LogisticRegression(), ["accuracy", "f1_macro"])
    assert list(scorers) == ["accuracy", "f1_macro"] and multi
    scorers, multi = scorers_for(LogisticRegression(), {"acc": "accuracy"})
    assert list(scorers) == ["acc"] and multi


@pytest.mark.parametrize(
    ("scoring", "error", "match"),
    [
        ([], ValueError, "empty"),
        (["accuracy", "accuracy"], ValueError, "duplicate"),
        ([len], ValueError, "names"),
        ({}, ValueError, "empty"),
        (3, TypeError, "scoring must be"),
    ],
)
def test_scorers_for_rejects(scoring, error, match):
    with pytest.raises(error, match=match):
        scorers_for(LogisticRegression(), scoring)


def test_refit_rules_and_the_optimized_metric():
    scorers = {"a": None, "b": None}
    check_refit("b", scorers, True)
    check_refit(False, scorers, True)
    with pytest.raises(ValueError, match="one of"):
        check_refit(True, scorers, True)
    with pytest.raises(TypeError, match="refit"):
        check_refit("a", {"score": None}, False)
    assert metric_key("b", scorers, True) == "b"
    assert metric_key(False, scorers, True) == "a"
    assert metric_key(True, {"score": None}, False) == "score"


# -- cv_results_ -------------------------------------------------------------------------
def _result(scores, fit=0.5, failed=0, error=""):
    out = {"training_iteration": 1, "time_total_s": 1.0, "n_failed_splits": failed}
    out["fit_error"] = error
    for k, value in enumerate(scores):
        out[f"split{k}_test_score"] = value
        out[f"split{k}_fit_time"] = fit
        out[f"split{k}_score_time"] = 0.1
    return out


def test_cv_results_have_grid_search_cv_s_keys_and_values():
    X, y = load_iris(return_X_y=True)
    grid = {"C": [0.1, 1.0]}
    reference = GridSearchCV(LogisticRegression(max_iter=300), grid, cv=3).fit(X, y).cv_results_
    params = reference["params"]
    results = [_result([reference[f"split{k}_test_score"][i] for k in range(3)]) for i in range(2)]
    ours = build_cv_results(params, results, ["score"], 3, False)
    assert set(ours) == set(reference) | {"training_iteration", "time_total_s"}
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_allclose(ours[key], reference[key])
    assert list(ours["param_C"]) == [0.1, 1.0]


def test_cv_results_rank_nan_last_and_follow_mode():
    params = [{"a": 1}, {"a": 2}, {"b": 3}]
    results = [_result([0.2, 0.4]), None, _result([0.9, 0.9])]
    out = build_cv_results(params, results, ["score"], 2, False)
    assert list(out["rank_test_score"]) == [2, 3, 1]
    assert math.isnan(out["mean_test_score"][1])
    assert out["param_a"].mask.tolist() == [False, False, True]
    assert out["param_b"][2] == 3
    low = build_cv_results(params, results, ["score"], 2, False, mode="min")
    assert list(low["rank_test_score"]) == [1, 3, 2]
    assert best_index(out, True, "score") == 2
    assert best_index(low, True, "score") == 0


def test_best_index_with_a_refit_callable():
    out = build_cv_results(
        [{"a": 1}, {"a": 2}], [_result([1.0]), _result([0.0])], ["score"], 1, False
    )
    assert best_index(out, lambda results: 1, "score") == 1
    with pytest.raises(IndexError):
        best_index(out, lambda results: 5, "score")
    with pytest.raises(TypeError):
        best_index(out, lambda results: "first", "score")


def test_failure_report_counts_failed_fits_by_message():
    results = [_result([1.0, 1.0]), _result([0, 0], failed=2, error="ValueError: bad"), None]
    assert failure_report(results, 2, np.nan) == (2, 4, "2 fits failed with: ValueError: bad")


# -- early stopping ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("estimator", "kind"),
    [
        (SGDClassifier(), EarlyStopType.PARTIAL_FIT),
        (LogisticRegression(), EarlyStopType.WARM_START_ITER),
        (RandomForestClassifier(), EarlyStopType.WARM_START_ENSEMBLE),
        (SVC(), EarlyStopType.NONE),
        (DecisionTreeClassifier(), EarlyStopType.NONE),
    ],
)
def test_early_stop_type(estimator, kind):
    assert early_stop_type(estimator) is kind


def test_resolve_scheduler():
    assert resolve_scheduler(None, 5) is None
    assert resolve_scheduler(False, 5) is None
    assert isinstance(resolve_scheduler(True, 5), AsyncHyperBandScheduler)
    assert isinstance(resolve_scheduler("HyperBandScheduler", 5), HyperBandScheduler)
    assert isinstance(resolve_scheduler("MedianStoppingRule", 5), MedianStoppingRule)
    given = MedianStoppingRule(grace_period=2)
    copied = resolve_scheduler(given, 5)
    assert isinstance(copied, MedianStoppingRule) and copied is not given
    pbt = resolve_scheduler("PopulationBasedTraining", 8, {"alpha": [0.1, 0.01]})
    assert isinstance(pbt, PopulationBasedTraining)
    with pytest.raises(ValueError, match="hyperparam_mutations"):
        resolve_scheduler("PopulationBasedTraining", 8, {})
    with pytest.raises(ValueError, match="one of"):
        resolve_scheduler("ASHA", 5)
    with pytest.raises(TypeError, match="early_stopping"):
        resolve_scheduler(3, 5)


# -- searchers ---------------------------------------------------------------------------
def test_candidate_list_suggests_in_order_then_finishes():
    searcher = CandidateList([{"a": 1}, {"a": 2}])
    assert searcher.suggest("t1") == {"a": 1}
    state = searcher.get_state()
    assert searcher.suggest("t2") == {"a": 2}
    assert searcher.suggest("t3") == CandidateList.FINISHED
    searcher.set_state(state)
    assert searcher.suggest("t2") == {"a": 2}


def test_check_optimizer():
    assert check_optimizer("Random") == "random"
    with pytest.raises(ValueError, match="search_optimization"):
        check_optimizer("grid")
    with pytest.raises(TypeError, match="search_optimization"):
        check_optimizer(3)


# -- the runner --------------------------------------------------------------------------
def _task(estimator, **kw):
    X, y = load_iris(return_X_y=True)
    splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    scorers, _ = scorers_for(estimator, kw.pop("scoring", None))
    return FitTask(X=X, y=y, estimator=estimator, splits=splits, scorers=scorers, **kw)


def test_runner_cross_validates_one_candidate():
    result = CVRunner(_task(LogisticRegression(max_iter=500)), {"C": 1.0}).step()
    assert result["n_failed_splits"] == 0 and result["fit_error"] == ""
    scores = [result[f"split{k}_test_score"] for k in range(3)]
    assert result["average_test_score"] == pytest.approx(np.mean(scores))
    assert min(scores) > 0.8
    assert all(result[f"split{k}_fit_time"] > 0 for k in range(3))


def test_runner_records_failures_with_a_numeric_error_score():
    task = _task(LogisticRegression(), error_score=-1.0, return_train_score=True)
    result = CVRunner(task, {"C": -1.0}).step()
    assert result["n_failed_splits"] == 3
    assert "InvalidParameterError" in result["fit_error"]
    assert result["split0_test_score"] == -1.0 and result["split0_train_score"] == -1.0
    with pytest.raises(ValueError, match="C"):
        CVRunner(_task(LogisticRegression(), error_score="raise"), {"C": -1.0}).step()


def test_runner_trains_by_epochs_and_restores_its_state():
    task = _task(
        SGDClassifier(random_state=0),
        early_stop=EarlyStopType.PARTIAL_FIT,
        max_iters=4,
        classes=np.arange(3),
    )
    runner = CVRunner(task, {"alpha": 1e-3})
    runner.step()
    state = copy.deepcopy(runner.state())  # what a checkpoint keeps
    coef = [m.coef_.copy() for m in state["models"]]
    second = runner.step()
    restored = CVRunner(task, {"alpha": 1e-3})
    restored.load_state(state)
    np.testing.assert_array_equal(restored.state()["models"][0].coef_, coef[0])
    assert restored.step()["average_test_score"] == pytest.approx(second["average_test_score"])


def test_runner_warm_starts_iterations_and_ensembles():
    task = _task(
        LogisticRegression(max_iter=40), early_stop=EarlyStopType.WARM_START_ITER, max_iters=4
    )
    runner = CVRunner(task, {"C": 1.0})
    runner.step()
    model = runner.state()["models"][0]
    assert model.warm_start and model.max_iter == 10
    forest = _task(
        RandomForestClassifier(n_estimators=9, random_state=0),
        early_stop=EarlyStopType.WARM_START_ENSEMBLE,
        max_iters=3,
    )
    runner = CVRunner(forest, {"max_depth": 2})
    sizes = []
    for _ in range(3):
        runner.step()
        sizes.append(len(runner.state()["models"][0].estimators_))
    assert sizes == [3, 6, 9]


def test_runner_boosts_more_rounds_from_the_previous_booster():
    xgboost = pytest.importorskip("xgboost")
    estimator = xgboost.XGBClassifier(n_estimators=20, max_depth=2)
    assert early_stop_type(estimator) is EarlyStopType.BOOSTER
    task = _task(estimator, early_stop=EarlyStopType.BOOSTER, max_iters=4)
    runner = CVRunner(task, {"learning_rate": 0.3})
    rounds = []
    for _ in range(4):
        result = runner.step()
        rounds.append(runner.state()["models"][0].get_booster().num_boosted_rounds())
    assert rounds == [5, 10, 15, 20]
    assert result["n_failed_splits"] == 0 and result["average_test_score"] > 0.85


def test_runner_fits_a_pipeline_s_leading_steps_once_per_fold():
    pipe = Pipeline([("scale", StandardScaler()), ("clf", SGDClassifier(random_state=0))])
    task = _task(
        pipe,
        early_stop=EarlyStopType.PARTIAL_FIT,
        max_iters=3,
        step_name="clf",
        classes=np.arange(3),
    )
    runner = CVRunner(task, {"clf__alpha": 1e-3})
    runner.step()
    scaler = runner.state()["models"][0].named_steps["scale"]
    mean = scaler.mean_.copy()
    result = runner.step()
    assert runner.state()["models"][0].named_steps["scale"] is scaler
    np.testing.assert_array_equal(scaler.mean_, mean)
    assert result["average_test_score"] > 0.5


# -- the estimator protocol --------------------------------------------------------------
def test_constructor_stores_arguments_only_and_clones():
    search = TuneSearchCV(
        LogisticRegression(), {"C": [1, 2]}, n_trials=3, search_optimization="optuna"
    )
    assert search.get_params()["n_trials"] == 3
    assert search.get_params()["estimator__C"] == 1.0
    twin = clone(search.set_params(estimator__C=2.0, cv=4))
    assert twin.estimator.C == 2.0 and twin.cv == 4 and twin is not search
    assert not [k for k in vars(twin) if k.endswith("_")]
    assert "param_grid" in TuneGridSearchCV(LogisticRegression(), {"C": [1]}).get_params()


X_IRIS, Y_IRIS = load_iris(return_X_y=True)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_iters": 0}, ValueError, "max_iters"),
        ({"max_iters": 1.5}, TypeError, "max_iters"),
        ({"n_jobs": 0}, ValueError, "n_jobs"),
        ({"error_score": "skip"}, ValueError, "error_score"),
        ({"mode": "maximize"}, ValueError, "mode"),
        ({"sk_n_jobs": 2}, ValueError, "sk_n_jobs"),
        ({"storage_path": "b"}, ValueError, "local_dir"),
        ({"use_gpu": "yes"}, TypeError, "use_gpu"),
        ({"n_trials": 0}, ValueError, "n_trials"),
        ({"search_optimization": "grid"}, ValueError, "search_optimization"),
        ({"search_kwargs": {"n_initial_points": 2}}, ValueError, "search_kwargs"),
        ({"random_state": "seed"}, TypeError, "random_state"),
        ({"early_stopping": True}, ValueError, "SVC does not"),
        ({"scoring": ["accuracy", "f1_macro"]}, ValueError, "refit"),
        ({"loggers": ["xml"]}, ValueError, "loggers"),
        ({"early_stopping": "HyperBandForBOHB"}, ValueError, "bohb"),
    ],
)
def test_fit_validates_before_any_trial(kwargs, error, match, tmp_path):
    search = TuneSearchCV(SVC(), {"C": [1.0, 2.0]}, local_dir=str(tmp_path), **kwargs)
    with pytest.raises(error, match=match):
        search.fit(X_IRIS, Y_IRIS)
    assert not list(tmp_path.iterdir())


def test_warm_start_early_stopping_owns_max_iter(tmp_path):
    search = TuneGridSearchCV(
        LogisticRegression(), {"max_iter": [5, 10]}, early_stopping=True, max_iters=2
    )
    with pytest.raises(ValueError, match="max_iter"):
        search.fit(X_IRIS, Y_IRIS)


def test_missing_scikit_learn_names_the_extra():
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "try:\n"
        "    import tunelab.sklearn\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "tunelab[sklearn]"' in out.stdout


def test_tune_sklearn_module_paths():
    from tunelab.sklearn import tune_gridsearch, tune_search

    assert tune_search.TuneSearchCV is TuneSearchCV
    assert tune_gridsearch.TuneGridSearchCV is TuneGridSearchCV
    import tunelab.sklearn

    assert tunelab.sklearn.__all__ == ["TuneGridSearchCV", "TuneSearchCV"]
