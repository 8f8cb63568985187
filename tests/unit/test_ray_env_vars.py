"""Ray Tune's ``TUNE_*``/``RAY_*`` environment variables are honoured with the same meaning
as their ``TUNELAB_*`` counterparts (which win when both are set)."""

from __future__ import annotations

import csv
import logging
import math
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

import tunelab as tune
from tunelab import _defaults
from tunelab.schedulers import FIFOScheduler, PopulationBasedTraining

ALL_NAMES = [n for v in _defaults.ENV_VARS for n in (v.name, *v.ray_names)]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ALL_NAMES:
        if name != "TUNELAB_RESULTS_DIR":  # the conftest's isolation
            monkeypatch.delenv(name, raising=False)


def _one_report(config: dict[str, Any]) -> None:
    tune.report(score=1.0)


def _trial_dir(analysis: Any) -> Path:
    return Path(analysis.trials[0].local_path)


# -- settings ------------------------------------------------------------------------------
def test_tune_result_dir_sets_the_results_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TUNELAB_RESULTS_DIR")
    monkeypatch.setenv("TUNE_RESULT_DIR", str(tmp_path / "ray_results"))
    experiment = tune.Experiment("exp", _one_report)
    assert experiment.experiment_path == str(tmp_path / "ray_results" / "exp")
    monkeypatch.setenv("TUNELAB_RESULTS_DIR", str(tmp_path / "ours"))  # wins when both are set
    assert tune.Experiment("exp", _one_report).storage_path == str(tmp_path / "ours")


def test_tune_disable_dated_subdir(monkeypatch: pytest.MonkeyPatch) -> None:
    assert tune.Experiment(None, _one_report).name != "_one_report"
    monkeypatch.setenv("TUNE_DISABLE_DATED_SUBDIR", "1")
    assert tune.Experiment(None, _one_report).name == "_one_report"


def test_tune_global_checkpoint_s_sets_the_state_period(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "2.5")
    assert _defaults.state_write_period_s() == 2.5
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "auto")  # Ray's default spelling
    assert _defaults.state_write_period_s() == 10.0
    monkeypatch.setenv("TUNELAB_STATE_PERIOD_S", "1")
    assert _defaults.state_write_period_s() == 1.0


def test_tune_force_trial_cleanup_s_zero_means_never(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNE_FORCE_TRIAL_CLEANUP_S", "0")
    assert _defaults.force_trial_cleanup_s() == math.inf
    monkeypatch.setenv("TUNE_FORCE_TRIAL_CLEANUP_S", "7")
    assert _defaults.force_trial_cleanup_s() == 7.0
    monkeypatch.setenv("TUNELAB_FORCE_TRIAL_CLEANUP_S", "3")
    assert _defaults.force_trial_cleanup_s() == 3.0


def test_a_malformed_ray_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNE_MAX_LEN_IDENTIFIER", "long")
    with pytest.raises(ValueError, match=r"TUNE_MAX_LEN_IDENTIFIER.*'long'"):
        _defaults.max_len_identifier()
    monkeypatch.setenv("TUNE_MAX_PENDING_TRIALS_PG", "0")
    with pytest.raises(ValueError, match="TUNE_MAX_PENDING_TRIALS_PG"):
        _defaults.max_pending_trials()
    monkeypatch.setenv("TUNE_MAX_PENDING_TRIALS_PG", "auto")
    assert _defaults.max_pending_trials() is None


def test_readme_lists_every_variable_and_every_ignored_one() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert _defaults.env_vars_markdown() in readme
    assert _defaults.ignored_env_vars_markdown() in readme
    for name in ALL_NAMES:
        assert f"`{name}`" in readme


# -- effects on a run ----------------------------------------------------------------------
def test_tune_disable_auto_callback_loggers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    analysis = tune.run(_one_report, name="quiet", verbose=0)
    files = os.listdir(_trial_dir(analysis))
    assert "result.json" not in files and "progress.csv" not in files


def test_tune_max_len_identifier_shortens_trial_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNE_MAX_LEN_IDENTIFIER", "8")
    analysis = tune.run(_one_report, name="short", config={"long_parameter_name": 1}, verbose=0)
    dirname = analysis.trials[0].dirname
    assert len(dirname) == 8 + 1 + len("2024-01-01_00-00-00")


def test_tune_result_delim_joins_nested_keys_in_progress_csv(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def nested(config: dict[str, Any]) -> None:
        tune.report(score=1.0, info={"lr": 0.1})

    monkeypatch.setenv("TUNE_RESULT_DELIM", ".")
    analysis = tune.run(nested, name="delim", verbose=0)
    with open(_trial_dir(analysis) / "progress.csv") as fh:
        header = next(csv.reader(fh))
    assert "info.lr" in header and "info/lr" not in header


def test_tune_disable_strict_metric_checking(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="accuracy"):
        tune.run(_one_report, name="strict", metric="accuracy", mode="max", verbose=0)
    monkeypatch.setenv("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")
    analysis = tune.run(_one_report, name="lenient", metric="accuracy", mode="max", verbose=0)
    assert analysis.trials[0].status == "TERMINATED"


def test_tune_print_all_trial_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(config: dict[str, Any]) -> None:
        raise RuntimeError("boom in the trainable")

    tune.run(broken, name="loud", verbose=1, raise_on_failed_trial=False)
    assert "boom in the trainable" in capsys.readouterr().err
    monkeypatch.setenv("TUNE_PRINT_ALL_TRIAL_ERRORS", "0")
    analysis = tune.run(broken, name="silent", verbose=1, raise_on_failed_trial=False)
    assert "boom in the trainable" not in capsys.readouterr().err
    with open(analysis.trials[0].error_file or "") as fh:  # still written to error.txt
        assert "boom in the trainable" in fh.read()


def test_tune_disable_sigint_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    class Peek(tune.Callback):
        def on_trial_start(
            self, iteration: int, trials: list[Any], trial: Any, **info: Any
        ) -> None:
            seen.append(signal.getsignal(signal.SIGINT))

    tune.run(_one_report, name="graceful", verbose=0, callbacks=[Peek()])
    monkeypatch.setenv("TUNE_DISABLE_SIGINT_HANDLER", "1")
    tune.run(_one_report, name="plain", verbose=0, callbacks=[Peek()])
    assert seen[0] is not signal.default_int_handler
    assert seen[1] is signal.default_int_handler


def test_ray_chdir_to_trial_dir_and_tune_orig_working_dir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def where(config: dict[str, Any]) -> None:
        tune.report(cwd=os.getcwd(), orig=os.environ.get("TUNE_ORIG_WORKING_DIR", ""))

    driver_cwd = os.getcwd()
    analysis = tune.run(where, name="inside", verbose=0)
    result = analysis.trials[0].last_result
    assert os.path.realpath(result["cwd"]) == os.path.realpath(_trial_dir(analysis))
    assert result["orig"] == driver_cwd
    monkeypatch.setenv("RAY_CHDIR_TO_TRIAL_DIR", "0")
    analysis = tune.run(where, name="outside", verbose=0)
    assert os.path.realpath(analysis.trials[0].last_result["cwd"]) == os.path.realpath(driver_cwd)


def test_ray_tune_callbacks_adds_callbacks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    module = tmp_path / "env_callbacks_mod.py"
    module.write_text(
        "import tunelab\n"
        "class Counting(tunelab.Callback):\n"
        "    results = []\n"
        "    def on_trial_result(self, iteration, trials, trial, result, **info):\n"
        "        Counting.results.append(result['score'])\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("RAY_TUNE_CALLBACKS", "env_callbacks_mod.Counting")
    tune.run(_one_report, name="cb", verbose=0)
    import env_callbacks_mod  # type: ignore[import-not-found]

    assert env_callbacks_mod.Counting.results == [1.0]
    monkeypatch.setenv("RAY_TUNE_CALLBACKS", "env_callbacks_mod.Missing")
    with pytest.raises(ValueError, match=r"env_callbacks_mod\.Missing"):
        tune.run(_one_report, name="cb2", verbose=0)


def test_tune_max_pending_trials_pg_caps_trials_created_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tunelab.execution import LocalExecutor

    def steps(config: dict[str, Any]) -> None:
        for _ in range(2):
            tune.report(score=config["x"])

    def existing_at_first_start() -> int:
        counts: list[int] = []

        class Count(tune.Callback):
            def on_trial_start(
                self, iteration: int, trials: list[Any], trial: Any, **info: Any
            ) -> None:
                counts.append(len(trials))

        pbt = PopulationBasedTraining(
            time_attr="training_iteration",
            perturbation_interval=10,
            hyperparam_mutations={"x": [1, 2]},
        )
        tune.run(
            steps,
            config={"x": 1},
            num_samples=4,
            scheduler=pbt,
            metric="score",
            mode="max",
            verbose=0,
            callbacks=[Count()],
            executor=LocalExecutor(num_cpus=1),
        )
        return counts[0]

    assert existing_at_first_start() == 4  # PBT creates its population ahead
    monkeypatch.setenv("TUNE_MAX_PENDING_TRIALS_PG", "1")
    assert existing_at_first_start() == 1


@pytest.mark.parametrize(
    "variable", ["TUNE_FORCE_TRIAL_CLEANUP_S", "TUNE_FUNCTION_THREAD_TIMEOUT_S"]
)
def test_grace_variables_end_a_hung_function_trial_sooner(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    def hangs(config: dict[str, Any]) -> None:
        tune.report(score=1.0)
        time.sleep(60)  # never reports again: only a force-end stops it

    monkeypatch.setenv(variable, "0.3")
    start = time.monotonic()
    analysis = tune.run(hangs, name="hung", time_budget_s=0.5, verbose=0)
    assert time.monotonic() - start < 4.0  # the default grace alone is 5 s
    assert analysis.trials[0].status == "TERMINATED"


def test_tune_warn_threshold_s_names_a_slow_step(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class Slow(tune.Callback):
        def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
            time.sleep(0.06)

    monkeypatch.setenv("TUNE_WARN_THRESHOLD_S", "0.05")
    with caplog.at_level(logging.WARNING, logger="tunelab"):
        tune.run(_one_report, name="quiet", verbose=0, callbacks=[Slow()])
    assert not [r for r in caplog.records if "bottleneck" in r.getMessage()]  # first minute
    monkeypatch.setattr("tunelab._core.loop_warnings.SLOW_WARNINGS_QUIET_S", 0.0)
    with caplog.at_level(logging.WARNING, logger="tunelab"):
        tune.run(_one_report, name="slow", verbose=0, callbacks=[Slow()])
    messages = [r.getMessage() for r in caplog.records]
    assert any("callbacks.on_step_end" in m and "bottleneck" in m for m in messages)


def test_tune_warn_insufficient_resource_threshold_s(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class PausesForever(FIFOScheduler):
        def decision_points(self) -> None:  # type: ignore[override]
            return None  # decide on every result

        def on_trial_result(self, runner: Any, trial: Any, result: dict[str, Any]) -> str:
            return "PAUSE"

        def choose_trial_to_run(self, runner: Any) -> Any:
            return next(iter(runner.pending_trials()), None)

    class Trainer(tune.Trainable):
        def step(self) -> dict[str, Any]:
            return {"score": 1.0}

        def save_checkpoint(self, checkpoint_dir: str) -> str:
            return checkpoint_dir

        def load_checkpoint(self, checkpoint: Any) -> None:
            pass

    monkeypatch.setenv("TUNE_WARN_INSUFFICENT_RESOURCE_THRESHOLD_S", "0.3")
    with caplog.at_level(logging.WARNING, logger="tunelab"):
        analysis = tune.run(
            Trainer, name="idle", scheduler=PausesForever(), time_budget_s=2, verbose=0
        )
    assert any("no trial has run" in r.getMessage() for r in caplog.records)
    # the time budget ended the paused trial: the run returns normally, as in Ray Tune
    assert [t.status for t in analysis.trials] == ["TERMINATED"]
