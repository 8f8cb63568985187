from __future__ import annotations

import os
import re

import pytest

from tunelab import _defaults

ALL_VARS = [v.name for v in _defaults.ENV_VARS]
RAY_VARS = [n for v in _defaults.ENV_VARS for n in v.ray_names]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ALL_VARS + RAY_VARS:
        monkeypatch.delenv(name, raising=False)


def test_defaults_without_environment() -> None:
    assert _defaults.results_root() == os.path.expanduser("~/tunelab_results")
    assert _defaults.default_verbose() == 1
    assert _defaults.state_write_period_s() == 10.0
    assert _defaults.auto_loggers_enabled() is True
    assert _defaults.dated_subdir() is True
    assert _defaults.print_trial_errors() is True
    assert _defaults.max_len_identifier() == 130
    assert _defaults.sigint_handler_enabled() is True
    assert _defaults.result_delimiter() == "/"
    assert _defaults.force_trial_cleanup_s() is None


def test_values_are_read_at_call_time(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("TUNELAB_RESULTS_DIR", str(tmp_path))
    monkeypatch.setenv("TUNELAB_VERBOSE", "3")
    monkeypatch.setenv("TUNELAB_STATE_PERIOD_S", "0.5")
    monkeypatch.setenv("TUNELAB_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    monkeypatch.setenv("TUNELAB_DISABLE_DATED_SUBDIR", "true")
    monkeypatch.setenv("TUNELAB_PRINT_ALL_TRIAL_ERRORS", "0")
    monkeypatch.setenv("TUNELAB_MAX_LEN_IDENTIFIER", "40")
    monkeypatch.setenv("TUNELAB_DISABLE_SIGINT_HANDLER", "YES")
    monkeypatch.setenv("TUNELAB_RESULT_DELIM", ".")
    monkeypatch.setenv("TUNELAB_FORCE_TRIAL_CLEANUP_S", "0.5")
    assert _defaults.results_root() == str(tmp_path)
    assert _defaults.default_verbose() == 3
    assert _defaults.state_write_period_s() == 0.5
    assert _defaults.auto_loggers_enabled() is False
    assert _defaults.dated_subdir() is False
    assert _defaults.print_trial_errors() is False
    assert _defaults.max_len_identifier() == 40
    assert _defaults.sigint_handler_enabled() is False
    assert _defaults.result_delimiter() == "."
    assert _defaults.force_trial_cleanup_s() == 0.5


def test_results_root_expands_user_and_relative_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNELAB_RESULTS_DIR", "~/elsewhere")
    assert _defaults.results_root() == os.path.join(os.path.expanduser("~"), "elsewhere")
    monkeypatch.setenv("TUNELAB_RESULTS_DIR", "rel/dir")
    assert _defaults.results_root() == os.path.join(os.getcwd(), "rel", "dir")


def test_results_root_keeps_uris(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNELAB_RESULTS_DIR", "s3://bucket/prefix/")
    assert _defaults.results_root() == "s3://bucket/prefix"


def test_empty_value_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNELAB_VERBOSE", "")
    monkeypatch.setenv("TUNELAB_DISABLE_DATED_SUBDIR", "  ")
    assert _defaults.default_verbose() == 1
    assert _defaults.dated_subdir() is True


@pytest.mark.parametrize(
    ("name", "value", "function"),
    [
        ("TUNELAB_VERBOSE", "4", _defaults.default_verbose),
        ("TUNELAB_VERBOSE", "loud", _defaults.default_verbose),
        ("TUNELAB_STATE_PERIOD_S", "-1", _defaults.state_write_period_s),
        ("TUNELAB_STATE_PERIOD_S", "soon", _defaults.state_write_period_s),
        ("TUNELAB_STATE_PERIOD_S", "inf", _defaults.state_write_period_s),
        ("TUNELAB_DISABLE_AUTO_CALLBACK_LOGGERS", "maybe", _defaults.auto_loggers_enabled),
        ("TUNELAB_DISABLE_DATED_SUBDIR", "2", _defaults.dated_subdir),
        ("TUNELAB_PRINT_ALL_TRIAL_ERRORS", "sometimes", _defaults.print_trial_errors),
        ("TUNELAB_MAX_LEN_IDENTIFIER", "0", _defaults.max_len_identifier),
        ("TUNELAB_MAX_LEN_IDENTIFIER", "1.5", _defaults.max_len_identifier),
        ("TUNELAB_DISABLE_SIGINT_HANDLER", "nope", _defaults.sigint_handler_enabled),
        ("TUNELAB_CHECKPOINT_UPLOAD", "sometimes", _defaults.checkpoint_upload_mode),
    ],
)
def test_malformed_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, function: object
) -> None:
    monkeypatch.setenv(name, value)
    assert callable(function)
    with pytest.raises(ValueError, match=re.escape(name)) as info:
        function()
    assert repr(value) in str(info.value)


def test_env_var_table_lists_every_variable_once() -> None:
    assert len(set(ALL_VARS)) == len(ALL_VARS) == 18
    assert all(name.startswith("TUNELAB_") for name in ALL_VARS)
    table = _defaults.env_vars_markdown()
    assert table.startswith("| variable | Ray Tune's name (also read) | default | meaning |")
    for name in ALL_VARS + RAY_VARS:
        assert f"`{name}`" in table


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_force_trial_cleanup_must_be_positive_seconds(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TUNELAB_FORCE_TRIAL_CLEANUP_S", value)
    with pytest.raises(ValueError, match="TUNELAB_FORCE_TRIAL_CLEANUP_S"):
        _defaults.force_trial_cleanup_s()
