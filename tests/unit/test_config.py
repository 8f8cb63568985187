from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Any

import pytest

from tunelab._config import (
    CheckpointConfig,
    FailureConfig,
    ResumeConfig,
    RunConfig,
    SyncConfig,
    TuneConfig,
    normalize_log_to_file,
)


def field_defaults(cls: type) -> dict[str, Any]:
    instance = cls()
    return {f.name: getattr(instance, f.name) for f in dataclasses.fields(instance)}


# -- defaults match the reference ------------------------------------------------------------
def test_tune_config_defaults() -> None:
    assert field_defaults(TuneConfig) == {
        "mode": None,
        "metric": None,
        "search_alg": None,
        "scheduler": None,
        "num_samples": 1,
        "max_concurrent_trials": None,
        "time_budget_s": None,
        "reuse_actors": False,
        "trial_name_creator": None,
        "trial_dirname_creator": None,
        "chdir_to_trial_dir": None,
        "executor": None,
        "dask_client": None,
    }


def test_run_config_defaults_fill_in_sub_configs() -> None:
    config = RunConfig()
    assert config.name is None
    assert config.storage_path is None and config.local_dir is None
    assert config.failure_config == FailureConfig()
    assert config.checkpoint_config == CheckpointConfig()
    assert config.sync_config == SyncConfig()
    assert config.verbose is None and config.stop is None and config.callbacks is None
    assert config.log_to_file is False and config.progress_reporter is None
    explicit_none = RunConfig(failure_config=None, checkpoint_config=None, sync_config=None)  # type: ignore[arg-type]
    assert explicit_none == config


def test_run_config_instances_do_not_share_sub_configs() -> None:
    a, b = RunConfig(), RunConfig()
    assert a.checkpoint_config is not b.checkpoint_config


def test_checkpoint_failure_sync_defaults() -> None:
    assert field_defaults(CheckpointConfig) == {
        "num_to_keep": None,
        "checkpoint_score_attribute": None,
        "checkpoint_score_order": "max",
        "checkpoint_frequency": 0,
        "checkpoint_at_end": None,
    }
    assert field_defaults(FailureConfig) == {"max_failures": 0, "fail_fast": False}
    sync = SyncConfig()
    assert (sync.sync_period, sync.sync_timeout) == (300, 1800)
    assert sync.sync_artifacts is False and sync.sync_artifacts_on_checkpoint is True


def test_configs_round_trip_through_their_fields() -> None:
    for config in (
        TuneConfig(metric="loss", mode="min", num_samples=4, max_concurrent_trials=2),
        RunConfig(name="exp", storage_path="/tmp/x", verbose=2, stop={"it": 3}),
        CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="acc"),
        FailureConfig(max_failures=3),
        ResumeConfig(errored="restart"),
    ):
        rebuilt = type(config)(
            **{f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
        )
        assert rebuilt == config


# -- FailureConfig ----------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["raise", "RAISE", "Raise"])
def test_fail_fast_raise_any_case(value: str) -> None:
    assert FailureConfig(fail_fast=value).fail_fast == "raise"


def test_fail_fast_true_with_zero_failures() -> None:
    assert FailureConfig(fail_fast=True).fail_fast is True
    assert FailureConfig(max_failures=-1).max_failures == -1


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_fail_fast_rejects_other_values(value: Any) -> None:
    with pytest.raises(ValueError, match=r"fail_fast must be True, False or \"raise\""):
        FailureConfig(fail_fast=value)


def test_fail_fast_requires_zero_max_failures() -> None:
    with pytest.raises(ValueError, match=r"requires max_failures=0.*max_failures=2"):
        FailureConfig(max_failures=2, fail_fast=True)
    with pytest.raises(ValueError, match="max_failures"):
        FailureConfig(max_failures=1, fail_fast="raise")


@pytest.mark.parametrize(
    ("value", "error"), [(-2, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_max_failures_rule(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"FailureConfig\.max_failures must be an int >= -1"):
        FailureConfig(max_failures=value)


# -- CheckpointConfig -------------------------------------------------------------------------
def test_num_to_keep_zero_explains_none() -> None:
    with pytest.raises(
        ValueError,
        match=r"num_to_keep must be None \(keep all\).*use None, not 0, to keep every.*got 0",
    ):
        CheckpointConfig(num_to_keep=0)


def test_num_to_keep_type() -> None:
    with pytest.raises(TypeError, match=r"num_to_keep must be None \(keep all\) or an int >= 1"):
        CheckpointConfig(num_to_keep="2")  # type: ignore[arg-type]


def test_checkpoint_score_order() -> None:
    assert CheckpointConfig(checkpoint_score_order="min").checkpoint_score_order == "min"
    with pytest.raises(
        ValueError, match=r"checkpoint_score_order must be \"max\" or \"min\", got 'MIN'"
    ):
        CheckpointConfig(checkpoint_score_order="MIN")


@pytest.mark.parametrize(("value", "error"), [(-1, ValueError), (2.0, TypeError)])
def test_checkpoint_frequency(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"checkpoint_frequency must be an int >= 0"):
        CheckpointConfig(checkpoint_frequency=value)


def test_checkpoint_score_attribute_and_at_end_types() -> None:
    with pytest.raises(TypeError, match="checkpoint_score_attribute"):
        CheckpointConfig(checkpoint_score_attribute=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="checkpoint_at_end must be None, True or False, got 1"):
        CheckpointConfig(checkpoint_at_end=1)  # type: ignore[arg-type]


# -- SyncConfig -------------------------------------------------------------------------------
def test_sync_config_validation() -> None:
    assert SyncConfig(upload_dir="s3://b/p", syncer=None).upload_dir == "s3://b/p"
    with pytest.raises(ValueError, match=r"SyncConfig\.sync_period must be a number >= 0, got -5"):
        SyncConfig(sync_period=-5)
    with pytest.raises(ValueError, match=r"SyncConfig\.sync_timeout must be a number > 0"):
        SyncConfig(sync_timeout=0)
    with pytest.raises(TypeError, match=r"SyncConfig\.sync_artifacts must be True or False"):
        SyncConfig(sync_artifacts="no")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"SyncConfig\.upload_dir"):
        SyncConfig(upload_dir=5)  # type: ignore[arg-type]


# -- TuneConfig -------------------------------------------------------------------------------
def test_tune_config_accepts_valid_values() -> None:
    config = TuneConfig(
        metric=["loss", "acc"],
        mode=["min", "max"],
        num_samples=-1,
        max_concurrent_trials=0,
        time_budget_s=datetime.timedelta(minutes=1),
        reuse_actors=None,
        trial_name_creator=lambda trial: str(trial),
    )
    assert config.num_samples == -1


@pytest.mark.parametrize("mode", ["minimize", "MAX", ["min", "best"], []])
def test_mode_rule(mode: Any) -> None:
    with pytest.raises(ValueError, match=r"TuneConfig\.mode must be None, \"min\", \"max\""):
        TuneConfig(metric="loss", mode=mode)


def test_mode_list_needs_metric_list_of_same_length() -> None:
    with pytest.raises(ValueError, match=r"TuneConfig\.metric must be a list of the same length"):
        TuneConfig(metric="loss", mode=["min", "max"])
    with pytest.raises(ValueError, match="same length"):
        TuneConfig(metric=["a"], mode=["min", "max"])


def test_metric_type() -> None:
    with pytest.raises(TypeError, match=r"TuneConfig\.metric must be None, a result key"):
        TuneConfig(metric=3)  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), (-2, ValueError), (2.5, TypeError)])
def test_num_samples_rule(value: Any, error: type[Exception]) -> None:
    with pytest.raises(
        error, match=re.escape("TuneConfig.num_samples must be -1") + ".*" + re.escape(repr(value))
    ):
        TuneConfig(num_samples=value)


@pytest.mark.parametrize(("value", "error"), [(-1, ValueError), ("4", TypeError)])
def test_max_concurrent_trials_rule(value: Any, error: type[Exception]) -> None:
    with pytest.raises(
        error, match=r"TuneConfig\.max_concurrent_trials must be None or an int >= 0"
    ):
        TuneConfig(max_concurrent_trials=value)


@pytest.mark.parametrize(
    ("value", "error"),
    [(0, ValueError), (-3.0, ValueError), (datetime.timedelta(0), ValueError), ("60", TypeError)],
)
def test_time_budget_rule(value: Any, error: type[Exception]) -> None:
    with pytest.raises(
        error, match=r"TuneConfig\.time_budget_s must be None, a number of seconds > 0"
    ):
        TuneConfig(time_budget_s=value)


def test_tune_config_creators_and_reuse_actors() -> None:
    with pytest.raises(
        TypeError, match=r"TuneConfig\.trial_name_creator must be None or a function"
    ):
        TuneConfig(trial_name_creator="name")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"TuneConfig\.trial_dirname_creator must accept 1"):
        TuneConfig(trial_dirname_creator=lambda: "x")  # type: ignore[arg-type,misc]
    with pytest.raises(TypeError, match=r"TuneConfig\.reuse_actors must be None, True or False"):
        TuneConfig(reuse_actors="auto")  # type: ignore[arg-type]


# -- RunConfig --------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [0, 1, 2, 3, None])
def test_verbose_accepts_0_to_3(value: int | None) -> None:
    assert RunConfig(verbose=value).verbose == value


@pytest.mark.parametrize("value", [True, False])
def test_verbose_accepts_the_0x_bools(value: bool) -> None:
    assert RunConfig(verbose=value).verbose is value  # 2 and 0 for the run


@pytest.mark.parametrize(("value", "error"), [(4, ValueError), (-1, ValueError), ("2", TypeError)])
def test_verbose_rule(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"RunConfig\.verbose must be None, True/False or an int 0-3"):
        RunConfig(verbose=value)


@pytest.mark.parametrize("value", [True, False, "out.log", ("o.log", "e.log"), ["o.log", "e.log"]])
def test_log_to_file_accepts(value: Any) -> None:
    assert RunConfig(log_to_file=value).log_to_file == value


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (1, TypeError),
        (("a",), ValueError),
        (("a", "b", "c"), ValueError),
        (("a", 2), TypeError),
        ("", ValueError),
    ],
)
def test_log_to_file_rule(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"RunConfig\.log_to_file must be a bool, a file name"):
        RunConfig(log_to_file=value)


def test_normalize_log_to_file() -> None:
    assert normalize_log_to_file(False) == (None, None)
    assert normalize_log_to_file(True) == ("stdout", "stderr")
    assert normalize_log_to_file("x.log") == ("x.log", "x.log")
    assert normalize_log_to_file(["o", "e"]) == ("o", "e")


def test_run_config_sub_config_types() -> None:
    with pytest.raises(
        TypeError, match=r"RunConfig\.failure_config must be None or a FailureConfig"
    ):
        RunConfig(failure_config={"max_failures": 2})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"RunConfig\.checkpoint_config"):
        RunConfig(checkpoint_config=FailureConfig())  # type: ignore[arg-type]


def test_run_config_stop_forms() -> None:
    class Stopper:
        def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
            return False

    RunConfig(stop={"training_iteration": 5, "loss": 0.1})
    RunConfig(stop=Stopper())
    RunConfig(stop=lambda trial_id, result: False)
    with pytest.raises(
        TypeError, match=r"RunConfig\.stop: the threshold for 'it' must be a number"
    ):
        RunConfig(stop={"it": "5"})
    with pytest.raises(ValueError, match=r"RunConfig\.stop: the threshold for 'it' must .*NaN"):
        RunConfig(stop={"it": float("nan")})
    with pytest.raises(
        TypeError, match=r"RunConfig\.stop must be callable as .*\(trial_id, result\)"
    ):
        RunConfig(stop=lambda result: False)
    with pytest.raises(TypeError, match=r"RunConfig\.stop must be .*pass an instance"):
        RunConfig(stop=Stopper)
    with pytest.raises(TypeError, match=r"RunConfig\.stop must be None, a dict"):
        RunConfig(stop=5)


def test_run_config_name_paths_and_callbacks() -> None:
    with pytest.raises(ValueError, match=r"RunConfig\.name must be None or a non-empty directory"):
        RunConfig(name="a/b")
    with pytest.raises(TypeError, match=r"RunConfig\.name"):
        RunConfig(name=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"RunConfig\.storage_path must be None or a path"):
        RunConfig(storage_path=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"RunConfig\.local_dir"):
        RunConfig(local_dir=["x"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"RunConfig\.callbacks must be None or a list"):
        RunConfig(callbacks="json")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"RunConfig\.callbacks must hold Callback instances"):
        RunConfig(callbacks=[object])


# -- ResumeConfig -----------------------------------------------------------------------------
def test_resume_config_defaults_and_strings() -> None:
    resume_type = ResumeConfig.ResumeType
    assert ResumeConfig() == ResumeConfig(
        finished=resume_type.SKIP, unfinished=resume_type.RESUME, errored=resume_type.SKIP
    )
    config = ResumeConfig(errored="RESTART", unfinished="skip")
    assert config.errored is resume_type.RESTART and config.unfinished is resume_type.SKIP
    assert [t.value for t in resume_type] == ["resume", "restart", "skip"]


def test_resume_config_rejects_unknown() -> None:
    with pytest.raises(
        ValueError, match=r"ResumeConfig\.errored must be a ResumeConfig\.ResumeType"
    ):
        ResumeConfig(errored="retry")


# -- the public import paths --------------------------------------------------------------------
def test_air_package_exports() -> None:
    from tunelab import air
    from tunelab.air import config as air_config

    assert air.RunConfig is RunConfig is air_config.RunConfig
    assert air.ResumeConfig is ResumeConfig
    assert sorted(air.__all__) == sorted(
        [
            "Checkpoint",
            "CheckpointConfig",
            "FailureConfig",
            "Result",
            "ResumeConfig",
            "RunConfig",
            "ScalingConfig",
            "SyncConfig",
            "TuneConfig",
            "session",
        ]
    )
    assert hasattr(air.session, "report")
    from tunelab._checkpoint import Checkpoint

    assert air.Checkpoint is Checkpoint
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = air.Nope  # type: ignore[attr-defined]


def test_storage_filesystem_is_accepted_with_a_warning_everywhere(tmp_path) -> None:
    import pytest

    import tunelab as tune

    with pytest.warns(UserWarning, match="storage_filesystem.*no effect"):
        tune.RunConfig(storage_filesystem=object())
    with pytest.warns(UserWarning, match="storage_filesystem.*no effect"):
        assert not tune.Tuner.can_restore(str(tmp_path), storage_filesystem=object())
