"""Ray Tune's strict metric check as a pure function (tunelab._core.metric_check)."""

from __future__ import annotations

import pytest

from tunelab._core.metric_check import check_result_metrics, required_metrics
from tunelab._errors import TuneValueError
from tunelab._trial import Trial
from tunelab.schedulers import ASHAScheduler, FIFOScheduler
from tunelab.search import BasicVariantGenerator, ConcurrencyLimiter, SearchGenerator
from tunelab.search.optuna import OptunaSearch


def test_each_metric_is_named_after_who_expects_it_innermost_searcher_first() -> None:
    pytest.importorskip("optuna")
    search = SearchGenerator(ConcurrencyLimiter(OptunaSearch(metric="acc", mode="max"), 2))
    required = required_metrics("loss", ASHAScheduler(metric="score", mode="max"), search)
    assert required == [
        ("loss", "the run (metric=)"),
        ("score", "AsyncHyperBandScheduler"),
        ("acc", "OptunaSearch"),
    ]


def test_a_mode_without_a_metric_requires_nothing() -> None:
    assert required_metrics(None, FIFOScheduler(), BasicVariantGenerator()) == []
    assert required_metrics("_metric", FIFOScheduler(), BasicVariantGenerator()) == []


def test_a_result_without_a_required_metric_is_an_error_naming_it() -> None:
    trial = Trial("train", config={}, trial_id="t0")
    with pytest.raises(TuneValueError, match=r"'loss'.*the run \(metric=\).*\['acc'\]"):
        check_result_metrics(
            trial, {"acc": 1.0, "training_iteration": 1}, [("loss", "the run (metric=)")]
        )


def test_nested_metrics_and_results_the_trainable_did_not_fill_pass() -> None:
    trial = Trial("train", config={}, trial_id="t0")
    required = [("val/loss", "the run (metric=)")]
    check_result_metrics(trial, {"val": {"loss": 0.5}}, required)
    check_result_metrics(trial, {"training_iteration": 3, "done": True}, required)
    with pytest.raises(TuneValueError):
        check_result_metrics(trial, {"val": {"acc": 0.5}}, required)


def test_a_metric_reported_as_none_is_present() -> None:
    # the strict check asks whether the metric is there, not whether it has a value
    trial = Trial("train", config={}, trial_id="t0")
    check_result_metrics(trial, {"loss": None}, [("loss", "the run (metric=)")])
    check_result_metrics(trial, {"val": {"loss": None}}, [("val/loss", "the run (metric=)")])
    with pytest.raises(TuneValueError, match="val/loss"):
        check_result_metrics(trial, {"val": None, "x": 1}, [("val/loss", "the run (metric=)")])
