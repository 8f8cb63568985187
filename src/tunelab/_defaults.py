"""Defaults of front-door arguments that environment variables may change.

This is the one module of tunelab that reads ``TUNELAB_*`` environment variables, and the
``TUNE_*``/``RAY_*`` names Ray Tune reads for the same settings (:attr:`EnvVar.ray_names`;
the ``TUNELAB_*`` name wins when both are set). Ray Tune variables that change nothing here
are listed, with the reason, in :data:`IGNORED_RAY_ENV_VARS`. Every
value is read when its function is called, not when the module is imported, so a variable
set after ``import tunelab`` still counts. The front doors (``Tuner``, ``tune.run``,
``run_experiments``, ``Experiment``) call these functions only where the user left the
matching argument unset; no class deeper inside the library, and no worker process, reads
the environment (:func:`checkpoint_upload_mode` travels to the workers inside their tasks).

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
    "IGNORED_RAY_ENV_VARS",
    "EnvVar",
    "auto_loggers_enabled",
    "callback_paths",
    "chdir_to_trial_dir",
    "checkpoint_upload_mode",
    "dated_subdir",
    "default_verbose",
    "env_vars_markdown",
    "force_trial_cleanup_s",
    "function_stop_grace_s",
    "ignored_env_vars_markdown",
    "insufficient_resources_warning_s",
    "max_len_identifier",
    "max_pending_trials",
    "print_trial_errors",
    "result_delimiter",
    "results_root",
    "sigint_handler_enabled",
    "state_write_period_s",
    "strict_metric_checking",
    "warn_threshold_s",
]


class EnvVar(NamedTuple):
    """One environment variable: its name, its default (as text), what it changes, and the
    names Ray Tune reads for the same setting (``ray_names``; the ``TUNELAB_*`` name wins when
    both are set)."""

    name: str
    default: str
    meaning: str
    ray_names: tuple[str, ...] = ()


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar(
        "TUNELAB_RESULTS_DIR",
        "~/tunelab_results",
        "Results root used when neither `storage_path` nor `local_dir` is given.",
        ("TUNE_RESULT_DIR",),
    ),
    EnvVar("TUNELAB_VERBOSE", "1", "Default verbosity (0-3) when `verbose` is not given."),
    EnvVar(
        "TUNELAB_STATE_PERIOD_S",
        "10",
        "Seconds between compacted snapshots of the experiment state (>= 0; Ray's `auto` "
        "means the default).",
        ("TUNE_GLOBAL_CHECKPOINT_S",),
    ),
    EnvVar(
        "TUNELAB_FORCE_TRIAL_CLEANUP_S",
        "5",
        "Seconds a running trial gets to end after a stop or pause request (or after reaching "
        "a `time_total_s` stop) before its worker is killed (> 0; Ray's name also takes `0`: "
        "never kill).",
        ("TUNE_FORCE_TRIAL_CLEANUP_S",),
    ),
    EnvVar(
        "TUNELAB_FUNCTION_STOP_GRACE_S",
        "unset",
        "Seconds a *function* trainable gets to end after a stop or pause request before its "
        "worker is killed (> 0); unset: the force-cleanup grace above.",
        ("TUNE_FUNCTION_THREAD_TIMEOUT_S",),
    ),
    EnvVar(
        "TUNELAB_DISABLE_AUTO_CALLBACK_LOGGERS",
        "0",
        "1: do not add the default JSON/CSV/TensorBoard logger callbacks.",
        ("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS",),
    ),
    EnvVar(
        "TUNELAB_DISABLE_DATED_SUBDIR",
        "0",
        "1: default experiment names are `<trainable>` instead of `<trainable>_<date>`.",
        ("TUNE_DISABLE_DATED_SUBDIR",),
    ),
    EnvVar(
        "TUNELAB_DISABLE_STRICT_METRIC_CHECKING",
        "0",
        "1: a result without the `metric` that the run, its scheduler or its searcher expects "
        "is not an error (by default the run stops with one naming the metrics reported).",
        ("TUNE_DISABLE_STRICT_METRIC_CHECKING",),
    ),
    EnvVar(
        "TUNELAB_PRINT_ALL_TRIAL_ERRORS",
        "1",
        "0: do not print a trial's error when it happens (it is still written to error.txt).",
        ("TUNE_PRINT_ALL_TRIAL_ERRORS",),
    ),
    EnvVar(
        "TUNELAB_MAX_LEN_IDENTIFIER",
        "130",
        "Maximum length of a trial directory name before the date suffix.",
        ("TUNE_MAX_LEN_IDENTIFIER",),
    ),
    EnvVar(
        "TUNELAB_MAX_PENDING_TRIALS",
        "auto",
        "The most trials created ahead of a free slot (>= 1); `auto`: as many as the "
        "scheduler asks for (PBT creates its whole population, others one at a time).",
        ("TUNE_MAX_PENDING_TRIALS_PG",),
    ),
    EnvVar(
        "TUNELAB_DISABLE_SIGINT_HANDLER",
        "0",
        "1: Ctrl+C is not turned into a graceful stop of the experiment.",
        ("TUNE_DISABLE_SIGINT_HANDLER",),
    ),
    EnvVar(
        "TUNELAB_RESULT_DELIM",
        "/",
        "Delimiter of flattened nested keys in progress.csv.",
        ("TUNE_RESULT_DELIM",),
    ),
    EnvVar(
        "TUNELAB_WARN_THRESHOLD_S",
        "0.5",
        "A step of the experiment loop (handling results, starting trials, callbacks, saving "
        "the state) slower than this many seconds logs a warning naming it (at most once a "
        "minute per step; 0: never).",
        ("TUNE_WARN_THRESHOLD_S",),
    ),
    EnvVar(
        "TUNELAB_WARN_INSUFFICIENT_RESOURCE_THRESHOLD_S",
        "60",
        "Trials wait but none has run for this many seconds: log a warning that the "
        "executor's resources cannot start them (0: never).",
        (
            "TUNE_WARN_INSUFFICENT_RESOURCE_THRESHOLD_S",
            "TUNE_WARN_INSUFFICIENT_RESOURCE_THRESHOLD_S",
        ),
    ),
    EnvVar(
        "TUNELAB_CHDIR_TO_TRIAL_DIR",
        "1",
        "0: trials run in the driver's working directory instead of their trial directory "
        "when `chdir_to_trial_dir` is not given.",
        ("RAY_CHDIR_TO_TRIAL_DIR",),
    ),
    EnvVar(
        "TUNELAB_CALLBACKS",
        "",
        "Comma-separated `module.Class` paths of `Callback` classes added (instantiated "
        "without arguments) to every run.",
        ("RAY_TUNE_CALLBACKS",),
    ),
    EnvVar(
        "TUNELAB_CHECKPOINT_UPLOAD",
        "auto",
        "When `storage_path` is a URI (read by the driver, sent to every worker): `direct` "
        "uploads checkpoints from the worker straight to the URI, `staging` writes them to "
        "the driver's staging directory (shared storage), `auto` picks `staging` when the "
        "worker sees that directory.",
    ),
)

#: Ray Tune variables that change nothing in tunelab, with the reason (the README lists them).
IGNORED_RAY_ENV_VARS: tuple[tuple[str, str], ...] = (
    ("TUNE_DISABLE_AUTO_INIT", "tunelab starts no cluster, so there is no `ray.init()` to skip."),
    (
        "TUNE_PLACEMENT_GROUP_PREFIX, TUNE_PLACEMENT_GROUP_RECON_INTERVAL, "
        "TUNE_PLACEMENT_GROUP_CLEANUP_DISABLED, TUNE_PLACEMENT_GROUP_AUTO_DISABLED, "
        "TUNE_PLACEMENT_GROUP_WAIT_S",
        "tunelab has no placement groups: a trial's resources are taken from the executor's "
        "pool when it starts and given back when it ends, so there is nothing to name, "
        "reconcile, wait for or clean up.",
    ),
    (
        "TUNE_STATE_REFRESH_PERIOD, TUNE_WARN_INSUFFICENT_RESOURCE_THRESHOLD_S_AUTOSCALER",
        "the executor's resources are known when it starts; there is no cluster state to "
        "refresh and no autoscaler.",
    ),
    (
        "TUNE_RESULT_BUFFER_LENGTH, TUNE_RESULT_BUFFER_MAX_TIME_S, TUNE_RESULT_BUFFER_MIN_TIME_S",
        "workers already send results in batches when no decision waits on them, and one at a "
        "time when a scheduler or stopper decides on each.",
    ),
    (
        "TUNE_RESTORE_RETRY_NUM, TUNE_FALLBACK_TO_LATEST_CHECKPOINT",
        "a checkpoint that cannot be loaded makes the trial start again from the previous "
        "retained checkpoint (not counted as a failure), then from scratch.",
    ),
    (
        "TUNE_ONLY_STORE_CHECKPOINT_SCORE_ATTRIBUTE",
        "each checkpoint keeps the metrics of its result (journaled on disk), so "
        "`best_checkpoint` can rank by any metric.",
    ),
    (
        "TUNE_CHECKPOINT_CLOUD_RETRY_NUM, TUNE_CHECKPOINT_CLOUD_RETRY_WAIT_TIME_S",
        "checkpoints reach remote storage through the run's storage layer (fsspec), not "
        "through a separate sync command with its own retries.",
    ),
    (
        "TUNE_WARN_SLOW_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S, "
        "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S, TUNE_CLOUD_SYNC_S, "
        "TUNE_SYNCER_VERBOSITY, TUNE_DISABLE_AUTO_CALLBACK_SYNCER, TUNE_SYNC_DISABLE_BOOTSTRAP, "
        "TUNE_NODE_SYNCING_MIN_ITER_THRESHOLD, TUNE_NODE_SYNCING_MIN_TIME_S_THRESHOLD, "
        "TUNE_CLUSTER_SSH_KEY",
        "there are no nodes to sync from (trials write to the storage directly), and a remote "
        "`storage_path`/`upload_dir` is mirrored by a background syncer the loop never waits on.",
    ),
    (
        "TUNE_GET_EXECUTOR_EVENT_WAIT_S, TUNE_TRIAL_STARTUP_GRACE_PERIOD, "
        "TUNE_TRIAL_RESULT_WAIT_TIME_S, TUNE_DISABLE_RESOURCE_CHECKS",
        "internals of Ray's actor event loop and of Ray Train sessions; tunelab's loop has no "
        "such waits, and a request that can never fit fails before the run starts.",
    ),
    (
        "RAY_AIR_NEW_OUTPUT, RAY_AIR_FULL_TRACEBACKS",
        "tunelab has one output engine: `progress_reporter` and `verbose` are always honoured, "
        "and error.txt always holds the full traceback.",
    ),
    (
        "RAY_AIR_LOCAL_CACHE_DIR",
        "a URI `storage_path` is staged under the results root (`TUNELAB_RESULTS_DIR`).",
    ),
)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_BY_NAME = {v.name: v for v in ENV_VARS}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _lookup(name: str) -> tuple[str, str | None]:
    """(the variable read, its value or None): ``name`` (a ``TUNELAB_*`` name) when set,
    else the first of its Ray Tune names that is set."""
    value = _raw(name)
    if value is not None:
        return name, value
    for ray_name in _BY_NAME[name].ray_names if name in _BY_NAME else ():
        value = _raw(ray_name)
        if value is not None:
            return ray_name, value
    return name, None


def _flag(name: str, default: bool) -> bool:
    name, value = _lookup(name)
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
    name, value = _lookup(name)
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
    """The absolute results root: ``TUNELAB_RESULTS_DIR`` (Ray: ``TUNE_RESULT_DIR``) or
    ``~/tunelab_results``.

    A URI (``s3://bucket/prefix``) is returned unchanged; a local path is expanded (``~``)
    and made absolute.
    """
    _, value = _lookup("TUNELAB_RESULTS_DIR")
    if value is None:
        value = "~/tunelab_results"
    if "://" in value:
        return value.rstrip("/")
    return os.path.abspath(os.path.expanduser(value))


def default_verbose() -> int:
    """Verbosity used when ``verbose`` is not given: ``TUNELAB_VERBOSE`` (0-3), default 1."""
    return _int("TUNELAB_VERBOSE", 1, 0, 3)


def state_write_period_s() -> float:
    """Seconds between experiment-state snapshots: ``TUNELAB_STATE_PERIOD_S`` (Ray:
    ``TUNE_GLOBAL_CHECKPOINT_S``, where ``auto`` means the default), default 10."""
    value = _seconds("TUNELAB_STATE_PERIOD_S", allow_zero=True, auto=True)
    return 10.0 if value is None else value


def force_trial_cleanup_s() -> float | None:
    """Grace before a trial that does not answer a stop is force-ended:
    ``TUNELAB_FORCE_TRIAL_CLEANUP_S``, or None (the controller's default) when unset. Ray's
    ``TUNE_FORCE_TRIAL_CLEANUP_S=0`` means "never force-end" (``math.inf``)."""
    name, value = _lookup("TUNELAB_FORCE_TRIAL_CLEANUP_S")
    if name == "TUNE_FORCE_TRIAL_CLEANUP_S" and value is not None and _is_zero(value):
        return math.inf
    return _seconds("TUNELAB_FORCE_TRIAL_CLEANUP_S", allow_zero=False)


def function_stop_grace_s() -> float | None:
    """Grace before a *function* trainable that does not answer a stop is force-ended:
    ``TUNELAB_FUNCTION_STOP_GRACE_S`` (Ray: ``TUNE_FUNCTION_THREAD_TIMEOUT_S``), or None
    (the force-cleanup grace) when unset."""
    return _seconds("TUNELAB_FUNCTION_STOP_GRACE_S", allow_zero=False)


def _is_zero(value: str) -> bool:
    try:
        return float(value) == 0
    except ValueError:
        return False


def _seconds(name: str, *, allow_zero: bool, auto: bool = False) -> float | None:
    """A finite number of seconds (>= 0, or > 0) from ``name`` (or its Ray Tune names);
    None when unset (or ``auto``, where ``auto`` is allowed)."""
    name, value = _lookup(name)
    if value is None or (auto and value.lower() == "auto"):
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        extra = " or 'auto'" if auto else ""
        raise ValueError(
            f"environment variable {name} must be a finite number of seconds {bound}{extra}, "
            f"got {value!r}"
        )
    return number


def auto_loggers_enabled() -> bool:
    """False when ``TUNELAB_DISABLE_AUTO_CALLBACK_LOGGERS`` (Ray:
    ``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS``) is set to a true value."""
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
    """Delimiter of flattened keys: ``TUNELAB_RESULT_DELIM`` (Ray: ``TUNE_RESULT_DELIM``),
    default ``"/"``.

    Any non-empty value is used as it is (whitespace included); an empty value means unset.
    """
    for name in ("TUNELAB_RESULT_DELIM", "TUNE_RESULT_DELIM"):
        value = os.environ.get(name)
        if value:
            return value
    return "/"


def strict_metric_checking() -> bool:
    """False when ``TUNELAB_DISABLE_STRICT_METRIC_CHECKING`` (Ray:
    ``TUNE_DISABLE_STRICT_METRIC_CHECKING``) is set: a result without the expected metric is
    then not an error."""
    return not _flag("TUNELAB_DISABLE_STRICT_METRIC_CHECKING", False)


def max_pending_trials() -> int | None:
    """The most trials created ahead of a free slot: ``TUNELAB_MAX_PENDING_TRIALS`` (Ray:
    ``TUNE_MAX_PENDING_TRIALS_PG``), an int >= 1; None for unset or ``auto``."""
    name, value = _lookup("TUNELAB_MAX_PENDING_TRIALS")
    if value is None or value.lower() == "auto":
        return None
    return _int_value(name, value, 1)


def _int_value(name: str, value: str, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise ValueError(
            f"environment variable {name} must be an integer >= {minimum} or 'auto', got {value!r}"
        )
    return number


def warn_threshold_s() -> float:
    """A loop step slower than this warns: ``TUNELAB_WARN_THRESHOLD_S`` (Ray:
    ``TUNE_WARN_THRESHOLD_S``), default 0.5; 0 turns the warning off."""
    value = _seconds("TUNELAB_WARN_THRESHOLD_S", allow_zero=True)
    return 0.5 if value is None else value


def insufficient_resources_warning_s() -> float:
    """Seconds with waiting trials and none running before a warning:
    ``TUNELAB_WARN_INSUFFICIENT_RESOURCE_THRESHOLD_S`` (Ray:
    ``TUNE_WARN_INSUFFICENT_RESOURCE_THRESHOLD_S``), default 60; 0 turns it off."""
    value = _seconds("TUNELAB_WARN_INSUFFICIENT_RESOURCE_THRESHOLD_S", allow_zero=True)
    return 60.0 if value is None else value


def chdir_to_trial_dir() -> bool:
    """Whether trials run in their trial directory when ``chdir_to_trial_dir`` is not given:
    ``TUNELAB_CHDIR_TO_TRIAL_DIR`` (Ray: ``RAY_CHDIR_TO_TRIAL_DIR``), default yes."""
    return _flag("TUNELAB_CHDIR_TO_TRIAL_DIR", True)


def callback_paths() -> list[str]:
    """``module.Class`` paths of Callback classes to add to every run: ``TUNELAB_CALLBACKS``
    (Ray: ``RAY_TUNE_CALLBACKS``), comma-separated; empty entries are skipped."""
    _, value = _lookup("TUNELAB_CALLBACKS")
    if value is None:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def checkpoint_upload_mode() -> str:
    """``TUNELAB_CHECKPOINT_UPLOAD``: ``"auto"`` (default), ``"direct"`` or ``"staging"``."""
    value = (_raw("TUNELAB_CHECKPOINT_UPLOAD") or "auto").lower()
    if value not in ("auto", "direct", "staging"):
        raise ValueError(
            f"TUNELAB_CHECKPOINT_UPLOAD must be 'auto', 'direct' or 'staging', got {value!r}"
        )
    return value


def env_vars_markdown() -> str:
    """The :data:`ENV_VARS` table as Markdown (for the README), with Ray Tune's names."""
    lines = [
        "| variable | Ray Tune's name (also read) | default | meaning |",
        "|---|---|---|---|",
    ]
    for v in ENV_VARS:
        ray = ", ".join(f"`{n}`" for n in v.ray_names) or "-"
        default = f"`{v.default}`" if v.default else "(empty)"
        lines.append(f"| `{v.name}` | {ray} | {default} | {v.meaning} |")
    return "\n".join(lines) + "\n"


def ignored_env_vars_markdown() -> str:
    """:data:`IGNORED_RAY_ENV_VARS` as a Markdown list (for the README)."""
    lines = []
    for names, why in IGNORED_RAY_ENV_VARS:
        shown = ", ".join(f"`{n.strip()}`" for n in names.split(","))
        lines.append(f"- {shown}: {why}")
    return "\n".join(lines) + "\n"
