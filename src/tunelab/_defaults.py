"""Defaults of front-door arguments that environment variables may change.

This is the one module of tunelab that reads ``TUNELAB_*`` environment variables. Every
value is read when its function is called, not when the module is imported, so a variable
set after ``import tunelab`` still counts. The front doors (``Tuner``, ``tune.run``,
``run_experiments``, ``Experiment``) call these functions only where the user left the
matching argument unset; no class deeper inside the library reads the environment. The one
exception is :func:`checkpoint_upload_mode`, which worker processes read from their own
environment (the machine they run on decides whether it sees the driver's files).

A malformed value raises :class:`ValueError` naming the variable, the value and what is
allowed. An empty value counts as unset. :data:`ENV_VARS` lists every variable (the README
renders it with :func:`env_vars_markdown`).
"""

from __future__ import annotations

import math
import os
from typing import NamedTuple

__all__ = [
    "ENV_VARS",
    "EnvVar",
    "auto_loggers_enabled",
    "checkpoint_upload_mode",
    "dated_subdir",
    "default_verbose",
    "env_vars_markdown",
    "max_len_identifier",
    "print_trial_errors",
    "result_delimiter",
    "results_root",
    "sigint_handler_enabled",
    "state_write_period_s",
]


class EnvVar(NamedTuple):
    """One environment variable: its name, its default (as text) and what it changes."""

    name: str
    default: str
    meaning: str


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar(
        "TUNELAB_RESULTS_DIR",
        "~/tunelab_results",
        "Results root used when neither `storage_path` nor `local_dir` is given.",
    ),
    EnvVar("TUNELAB_VERBOSE", "1", "Default verbosity (0-3) when `verbose` is not given."),
    EnvVar(
        "TUNELAB_STATE_PERIOD_S",
        "10",
        "Seconds between compacted snapshots of the experiment state (>= 0).",
    ),
    EnvVar(
        "TUNELAB_FORCE_TRIAL_CLEANUP_S",
        "5",
        "Seconds a running trial gets to end after a stop or pause request (or after reaching "
        "a `time_total_s` stop) before its worker is killed (> 0; Ray Tune's "
        "`TUNE_FORCE_TRIAL_CLEANUP_S`).",
    ),
    EnvVar(
        "TUNELAB_DISABLE_AUTO_CALLBACK_LOGGERS",
        "0",
        "1: do not add the default JSON/CSV/TensorBoard logger callbacks.",
    ),
    EnvVar(
        "TUNELAB_DISABLE_DATED_SUBDIR",
        "0",
        "1: default experiment names are `<trainable>` instead of `<trainable>_<date>`.",
    ),
    EnvVar(
        "TUNELAB_PRINT_ALL_TRIAL_ERRORS",
        "1",
        "0: do not print a trial's error when it happens (it is still written to error.txt).",
    ),
    EnvVar(
        "TUNELAB_MAX_LEN_IDENTIFIER",
        "130",
        "Maximum length of a trial directory name before the date suffix.",
    ),
    EnvVar(
        "TUNELAB_DISABLE_SIGINT_HANDLER",
        "0",
        "1: Ctrl+C is not turned into a graceful stop of the experiment.",
    ),
    EnvVar(
        "TUNELAB_RESULT_DELIM",
        "/",
        "Delimiter of flattened nested keys in progress.csv and analysis DataFrames.",
    ),
    EnvVar(
        "TUNELAB_CHECKPOINT_UPLOAD",
        "auto",
        "Read by workers when `storage_path` is a URI: `direct` uploads checkpoints from the "
        "worker straight to the URI, `staging` writes them to the driver's staging directory "
        "(shared storage), `auto` picks `staging` when the worker sees that directory.",
    ),
)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _flag(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(
        f"environment variable {name} must be one of 1/0, true/false, yes/no, on/off, got {value!r}"
    )


def _int(name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    allowed = f"an integer >= {minimum}" if maximum is None else f"an integer {minimum}-{maximum}"
    if number is None or number < minimum or (maximum is not None and number > maximum):
        raise ValueError(f"environment variable {name} must be {allowed}, got {value!r}")
    return number


def results_root() -> str:
    """The absolute results root: ``TUNELAB_RESULTS_DIR`` or ``~/tunelab_results``.

    A URI (``s3://bucket/prefix``) is returned unchanged; a local path is expanded (``~``)
    and made absolute.
    """
    value = _raw("TUNELAB_RESULTS_DIR")
    if value is None:
        value = "~/tunelab_results"
    if "://" in value:
        return value.rstrip("/")
    return os.path.abspath(os.path.expanduser(value))


def default_verbose() -> int:
    """Verbosity used when ``verbose`` is not given: ``TUNELAB_VERBOSE`` (0-3), default 1."""
    return _int("TUNELAB_VERBOSE", 1, 0, 3)


def state_write_period_s() -> float:
    """Seconds between experiment-state snapshots: ``TUNELAB_STATE_PERIOD_S``, default 10."""
    value = _seconds("TUNELAB_STATE_PERIOD_S", allow_zero=True)
    return 10.0 if value is None else value


def force_trial_cleanup_s() -> float | None:
    """Grace before a trial that does not answer a stop is force-ended:
    ``TUNELAB_FORCE_TRIAL_CLEANUP_S``, or None (the controller's default) when unset."""
    return _seconds("TUNELAB_FORCE_TRIAL_CLEANUP_S", allow_zero=False)


def _seconds(name: str, *, allow_zero: bool) -> float | None:
    """A finite number of seconds (>= 0, or > 0) from ``name``; None when unset."""
    value = _raw(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(
            f"environment variable {name} must be a finite number of seconds {bound}, got {value!r}"
        )
    return number


def auto_loggers_enabled() -> bool:
    """False when ``TUNELAB_DISABLE_AUTO_CALLBACK_LOGGERS`` is set to a true value."""
    return not _flag("TUNELAB_DISABLE_AUTO_CALLBACK_LOGGERS", False)


def dated_subdir() -> bool:
    """False when ``TUNELAB_DISABLE_DATED_SUBDIR`` is set: default names get no date."""
    return not _flag("TUNELAB_DISABLE_DATED_SUBDIR", False)


def print_trial_errors() -> bool:
    """``TUNELAB_PRINT_ALL_TRIAL_ERRORS`` (default on): print trial errors as they occur."""
    return _flag("TUNELAB_PRINT_ALL_TRIAL_ERRORS", True)


def max_len_identifier() -> int:
    """Maximum trial dirname length before the date: ``TUNELAB_MAX_LEN_IDENTIFIER`` (130)."""
    return _int("TUNELAB_MAX_LEN_IDENTIFIER", 130, 1)


def sigint_handler_enabled() -> bool:
    """False when ``TUNELAB_DISABLE_SIGINT_HANDLER`` is set: no graceful Ctrl+C."""
    return not _flag("TUNELAB_DISABLE_SIGINT_HANDLER", False)


def result_delimiter() -> str:
    """Delimiter of flattened keys: ``TUNELAB_RESULT_DELIM``, default ``"/"``.

    Any non-empty value is used as it is (whitespace included); an empty value means unset.
    """
    value = os.environ.get("TUNELAB_RESULT_DELIM")
    if not value:
        return "/"
    return value


def checkpoint_upload_mode() -> str:
    """``TUNELAB_CHECKPOINT_UPLOAD``: ``"auto"`` (default), ``"direct"`` or ``"staging"``."""
    value = (_raw("TUNELAB_CHECKPOINT_UPLOAD") or "auto").lower()
    if value not in ("auto", "direct", "staging"):
        raise ValueError(
            f"TUNELAB_CHECKPOINT_UPLOAD must be 'auto', 'direct' or 'staging', got {value!r}"
        )
    return value


def env_vars_markdown() -> str:
    """The :data:`ENV_VARS` table as Markdown (for the README)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    lines.extend(f"| `{v.name}` | `{v.default}` | {v.meaning} |" for v in ENV_VARS)
    return "\n".join(lines) + "\n"
