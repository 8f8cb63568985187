"""Errors as Ray Tune raises them: a malformed spec is a ``TuneError`` that is still the
``ValueError``/``TypeError`` tunelab raised before; a metric the trainable never reports is
an error naming what it did report (Ray Tune's strict metric check)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

import tunelab as tune
from tunelab._errors import TuneTypeError, TuneValueError
from tunelab.execution import InProcessExecutor
from tunelab.schedulers import AsyncHyperBandScheduler
from tunelab.search import BasicVariantGenerator, ConcurrencyLimiter, Searcher


def _fn(config: dict[str, Any]) -> None:
    tune.report(loss=1.0, accuracy=0.5)


@pytest.mark.parametrize(
    ("build", "builtin"),
    [
        (lambda: tune.Experiment("e", _fn, num_samples=0), ValueError),
        (lambda: tune.Experiment("e", _fn, config=5), TypeError),  # type: ignore[arg-type]
        (lambda: tune.Experiment("e", _fn, stop={"loss": "low"}), TypeError),
        (lambda: tune.Experiment("e", _fn, export_formats=[""]), ValueError),
        (lambda: tune.Experiment("e", _fn, sync_function=3), TypeError),
        (lambda: tune.Experiment("e", _fn, sync_function="cp -r {src} there"), ValueError),
        (lambda: tune.Experiment("e", _fn, sync_function=lambda a, b: None), ValueError),
        (lambda: tune.Experiment.from_json("e", {"run": _fn, "bogus": 1}), ValueError),
        (lambda: tune.Experiment.from_json("e", {"config": {}}), ValueError),
        (lambda: tune.RunConfig(verbose="loud"), TypeError),
        (lambda: tune.TuneConfig(num_samples=-5), ValueError),
        (lambda: tune.run(_fn, verbose=7), ValueError),
        (lambda: tune.run(_fn, fail_fast="sometimes"), ValueError),
        (lambda: tune.run(_fn, global_checkpoint_period=-1), ValueError),
        (lambda: tune.run(_fn, sync_function="a", sync_to_cloud="b"), ValueError),
        (lambda: tune.run_experiments({"e": {"run": _fn, "num_samples": "3"}}), TypeError),
        (lambda: tune.run_experiments([]), ValueError),
    ],
)
def test_a_malformed_spec_is_a_tune_error_and_the_builtin_error(
    build: Any, builtin: type[Exception]
) -> None:
    with pytest.raises(tune.TuneError) as info:
        build()
    assert isinstance(info.value, builtin)


def test_spec_errors_survive_pickling() -> None:
    for error in (TuneValueError("bad value"), TuneTypeError("bad type")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)


# -- strict metric checking ----------------------------------------------------------------
def _run(fn: Any, **kwargs: Any) -> Any:
    return tune.run(fn, verbose=0, executor=InProcessExecutor(num_cpus=1), **kwargs)


def test_a_run_metric_never_reported_names_the_reported_ones() -> None:
    with pytest.raises(TuneValueError) as info:
        _run(_fn, metric="acc", mode="max")
    message = str(info.value)
    assert "'acc'" in message and "metric=" in message
    assert "['accuracy', 'loss']" in message  # what the trial did report
    assert "TUNE_DISABLE_STRICT_METRIC_CHECKING" in message
    assert isinstance(info.value, ValueError)


def test_the_schedulers_metric_is_checked_and_named() -> None:
    scheduler = AsyncHyperBandScheduler(metric="acc", mode="max", max_t=4)
    with pytest.raises(TuneValueError, match="AsyncHyperBandScheduler"):
        _run(_fn, scheduler=scheduler)


def test_the_searchers_metric_is_checked_and_named() -> None:
    class Fixed(Searcher):
        def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
            return {"x": 1}

    searcher = ConcurrencyLimiter(Fixed(metric="val_acc", mode="max"), max_concurrent=1)
    with pytest.raises(TuneValueError, match="Fixed") as info:
        _run(_fn, search_alg=searcher, num_samples=1)
    assert "'val_acc'" in str(info.value)


def test_reported_metrics_pass_the_check_nested_ones_too() -> None:
    def nested(config: dict[str, Any]) -> None:
        tune.report(score=1.0, info={"acc": 0.9})

    analysis = _run(nested, metric="info/acc", mode="max")
    assert analysis.trials[0].status == "TERMINATED"
    analysis = _run(nested, metric="score", mode="max", search_alg=BasicVariantGenerator())
    assert analysis.trials[0].status == "TERMINATED"


def test_results_with_only_filled_in_keys_are_not_checked() -> None:
    def first_empty(config: dict[str, Any]) -> None:
        tune.report()  # nothing of its own: only the keys tunelab fills in
        tune.report(score=2.0)

    analysis = _run(first_empty, metric="score", mode="max")
    assert analysis.trials[0].last_result["score"] == 2.0


def test_a_later_result_without_the_metric_is_an_error_too() -> None:
    def drops_it(config: dict[str, Any]) -> None:
        tune.report(score=1.0)
        tune.report(loss=0.5)

    with pytest.raises(TuneValueError, match=r"\['loss'\]"):
        _run(drops_it, metric="score", mode="max")


def test_a_mode_without_a_metric_is_not_checked() -> None:
    analysis = _run(_fn, scheduler=AsyncHyperBandScheduler(mode="max", max_t=4))
    assert analysis.trials[0].status == "TERMINATED"
