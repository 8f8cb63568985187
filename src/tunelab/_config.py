"""Configuration dataclasses of the front doors: ``TuneConfig``, ``RunConfig``,
``CheckpointConfig``, ``FailureConfig``, ``SyncConfig`` and ``ResumeConfig``.

Each config stores its arguments under the names it was given (so it prints, compares and
rebuilds from its fields) and validates them in ``__post_init__``: a bad value raises
``ValueError``/``TypeError`` naming the field, the value received and what is allowed.
Defaults that environment variables may change (results directory, verbosity) stay ``None``
here; the front door fills them in from :mod:`tunelab._defaults`.

The ``check_*`` helpers below are shared with :mod:`tunelab._experiment`; they take the
argument name to put in their messages.
"""

from __future__ import annotations

import datetime
import enum
import inspect
import math
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunelab._errors import TuneTypeError, TuneValueError

__all__ = [
    "CheckpointConfig",
    "FailureConfig",
    "ResumeConfig",
    "RunConfig",
    "SyncConfig",
    "TuneConfig",
]

_MODES = ("min", "max")
KEEP_RULE = "None (keep all) or an int >= 1 (use None, not 0, to keep every checkpoint)"


# -- shared validators -------------------------------------------------------------------
def is_int(value: Any) -> bool:
    """True for ints (numpy ints included), False for bools."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(value: Any, argument: str, *, minimum: int, rule: str | None = None) -> int:
    """Return ``value`` as an int if it is an int >= ``minimum``; raise naming ``argument``."""
    allowed = rule or f"an int >= {minimum}"
    if not is_int(value):
        raise TuneTypeError(f"{argument} must be {allowed}, got {value!r}")
    if value < minimum:
        raise TuneValueError(f"{argument} must be {allowed}, got {value!r}")
    return int(value)


def check_num_samples(value: Any, argument: str = "num_samples") -> int:
    """``num_samples``: -1 (unbounded: sample until stopped) or an int >= 1."""
    rule = "-1 (sample until stopped) or an int >= 1"
    number = check_int(value, argument, minimum=-1, rule=rule)
    if number == 0:
        raise TuneValueError(f"{argument} must be {rule}, got 0")
    return number


def check_max_failures(value: Any, argument: str = "max_failures") -> int:
    """``max_failures``: an int >= -1 (-1 retries forever)."""
    return check_int(value, argument, minimum=-1, rule="an int >= -1 (-1 retries forever)")


def check_time_budget(value: Any, argument: str = "time_budget_s") -> float | None:
    """None, a number of seconds > 0 or a positive ``timedelta``; returns seconds or None."""
    if value is None:
        return None
    rule = "None, a number of seconds > 0 or a datetime.timedelta"
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise TuneTypeError(f"{argument} must be {rule}, got {value!r}")
    if math.isnan(seconds) or seconds <= 0:
        raise TuneValueError(f"{argument} must be {rule}, got {value!r}")
    return seconds


def accepts_positional(fn: Callable[..., Any], count: int) -> bool | None:
    """Whether ``fn`` can be called with ``count`` positional arguments (None: unknown)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*range(count))
    except TypeError:
        return False
    return True


def check_callable(value: Any, argument: str, params: str) -> Any:
    """None or a callable accepting the positional arguments named in ``params``."""
    if value is None:
        return None
    count = len([p for p in params.split(",") if p.strip()])
    if not callable(value):
        raise TuneTypeError(
            f"{argument} must be None or a function ({params}) -> ..., got {value!r}"
        )
    if accepts_positional(value, count) is False:
        raise TuneTypeError(
            f"{argument} must accept {count} positional argument(s) ({params}), got {value!r} "
            f"with signature {inspect.signature(value)}"
        )
    return value


def check_stop(value: Any, argument: str = "stop") -> Any:
    """None, a dict ``{result key: threshold}``, a Stopper or a function(trial_id, result).

    A dict is checked (numeric thresholds, not NaN) by
    ``tunelab.stopper.validate_stop_criteria`` and copied. A Stopper (anything callable with
    ``(trial_id, result)``) or a function is returned unchanged. A class is refused: pass an
    instance.
    """
    if value is None:
        return None
    if isinstance(value, Mapping):
        from tunelab.stopper import validate_stop_criteria

        return validate_stop_criteria(value, argument)
    rule = "None, a dict {metric: threshold}, a Stopper or a function(trial_id, result) -> bool"
    if isinstance(value, type):
        raise TuneTypeError(f"{argument} must be {rule}; got the class {value!r}, pass an instance")
    if not callable(value):
        raise TuneTypeError(f"{argument} must be {rule}, got {value!r}")
    if accepts_positional(value, 2) is False:
        raise TuneTypeError(
            f"{argument} must be callable as {argument}(trial_id, result), got {value!r} "
            f"with signature {inspect.signature(value)}"
        )
    return value


def normalize_log_to_file(
    value: Any, argument: str = "log_to_file"
) -> tuple[str | None, str | None]:
    """``log_to_file`` as ``(stdout file name | None, stderr file name | None)``.

    False/None -> no files; True -> ``("stdout", "stderr")``; ``"x.log"`` -> both streams to
    one file; ``("out.log", "err.log")`` -> two files.
    """
    rule = "a bool, a file name (str) or a pair of file names (stdout, stderr)"
    if value is None or value is False:
        return (None, None)
    if value is True:
        return ("stdout", "stderr")
    if isinstance(value, (str, os.PathLike)):
        name = os.fspath(value)
        if not isinstance(name, str) or not name:
            raise TuneValueError(f"{argument} must be {rule}, got {value!r}")
        return (name, name)
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise TuneValueError(f"{argument} must be {rule}; got {len(value)} names in {value!r}")
        names = []
        for item in value:
            name = os.fspath(item) if isinstance(item, (str, os.PathLike)) else None
            if not isinstance(name, str) or not name:
                raise TuneTypeError(f"{argument} must be {rule}, got {value!r}")
            names.append(name)
        return (names[0], names[1])
    raise TuneTypeError(f"{argument} must be {rule}, got {value!r}")


#: the level ``verbose=True`` means: what ``True`` printed when ``verbose`` was a bool (Ray
#: Tune 0.5: the status and every trial's results), which Ray Tune 0.6-0.8 call 2, their
#: default
VERBOSE_TRUE = 2


def check_verbose(value: Any, argument: str = "verbose") -> int | None:
    """None (the default, from ``TUNELAB_VERBOSE``), an int 0-3, or a bool (0.x): ``True`` is
    :data:`VERBOSE_TRUE` (2), ``False`` is 0. Returns the level as an int (None for None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return VERBOSE_TRUE if value else 0
    rule = "None, True/False or an int 0-3 (0 silent, 1 status, 2 + trial results, 3 + details)"
    if not is_int(value):
        raise TuneTypeError(f"{argument} must be {rule}, got {value!r}")
    if not 0 <= value <= 3:
        raise TuneValueError(f"{argument} must be {rule}, got {value!r}")
    return int(value)


def check_path(value: Any, argument: str) -> str | None:
    """None or a path (str or os.PathLike, not empty); returned as str."""
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise TuneTypeError(
            f"{argument} must be None or a path (str or os.PathLike), got {value!r}"
        )
    path = os.fspath(value)
    if not isinstance(path, str) or not path:
        raise TuneValueError(f"{argument} must be a non-empty path, got {value!r}")
    return path


def _check_bool(value: Any, argument: str, *, allow_none: bool = False) -> None:
    if isinstance(value, bool) or (allow_none and value is None):
        return
    allowed = "None, True or False" if allow_none else "True or False"
    raise TuneTypeError(f"{argument} must be {allowed}, got {value!r}")


def _check_number(value: Any, argument: str, *, minimum: float, strict: bool = False) -> None:
    sign = ">" if strict else ">="
    rule = f"a number {sign} {minimum:g}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TuneTypeError(f"{argument} must be {rule}, got {value!r}")
    if math.isnan(value) or value < minimum or (strict and value == minimum):
        raise TuneValueError(f"{argument} must be {rule}, got {value!r}")


# -- configs -----------------------------------------------------------------------------
@dataclass
class FailureConfig:
    """What happens when a trial fails.

    ``max_failures``: how many times a failed trial is restarted (from its latest checkpoint,
    else from scratch); 0 never, -1 forever. ``fail_fast``: True stops the whole experiment
    at the first trial error; ``"raise"`` (any case; stored lower-case) re-raises the
    trainable's exception at once. A non-false ``fail_fast`` requires ``max_failures == 0``.
    """

    max_failures: int = 0
    fail_fast: bool | str = False

    def __post_init__(self) -> None:
        check_max_failures(self.max_failures, "FailureConfig.max_failures")
        fail_fast = self.fail_fast
        if isinstance(fail_fast, str) and fail_fast.lower() == "raise":
            self.fail_fast = "raise"
        elif not isinstance(fail_fast, bool):
            raise TuneValueError(
                f'FailureConfig.fail_fast must be True, False or "raise", got {fail_fast!r}'
            )
        if self.fail_fast and self.max_failures != 0:
            raise TuneValueError(
                f"FailureConfig.fail_fast={self.fail_fast!r} requires max_failures=0 (a failing "
                f"trial ends the experiment, so it cannot be retried), got "
                f"max_failures={self.max_failures!r}"
            )


@dataclass
class CheckpointConfig:
    """Which checkpoints are taken and which are kept.

    ``num_to_keep``: None keeps all; otherwise the best ``num_to_keep`` (>= 1) by
    ``checkpoint_score_attribute`` (a result key; None ranks by recency) ordered by
    ``checkpoint_score_order`` ("max" or "min"). ``checkpoint_frequency`` (every N
    iterations, 0 = never) and ``checkpoint_at_end`` apply to class trainables only;
    function trainables report checkpoints with ``session.report(..., checkpoint=...)``.
    """

    num_to_keep: int | None = None
    checkpoint_score_attribute: str | None = None
    checkpoint_score_order: str = "max"
    checkpoint_frequency: int = 0
    checkpoint_at_end: bool | None = None

    def __post_init__(self) -> None:
        if self.num_to_keep is not None:
            check_int(self.num_to_keep, "CheckpointConfig.num_to_keep", minimum=1, rule=KEEP_RULE)
        if self.checkpoint_score_attribute is not None and not isinstance(
            self.checkpoint_score_attribute, str
        ):
            raise TuneTypeError(
                f"CheckpointConfig.checkpoint_score_attribute must be None or a result key "
                f"(str), got {self.checkpoint_score_attribute!r}"
            )
        if self.checkpoint_score_order not in _MODES:
            raise TuneValueError(
                f'CheckpointConfig.checkpoint_score_order must be "max" or "min", '
                f"got {self.checkpoint_score_order!r}"
            )
        check_int(
            self.checkpoint_frequency,
            "CheckpointConfig.checkpoint_frequency",
            minimum=0,
            rule="an int >= 0 (0 = never)",
        )
        _check_bool(self.checkpoint_at_end, "CheckpointConfig.checkpoint_at_end", allow_none=True)


@dataclass
class SyncConfig:
    """Syncing knobs, kept so that Ray Tune code ports unchanged.

    tunelab writes results and checkpoints straight to ``storage_path`` (a local directory
    or an fsspec URI), so there is no separate sync step: these fields are validated and
    recorded. ``upload_dir`` (the 1.x remote copy target) is read by the front door.
    Fields: ``sync_period`` (s, >= 0), ``sync_timeout`` (s, > 0), ``sync_artifacts``,
    ``sync_artifacts_on_checkpoint``; 1.x: ``upload_dir``, ``syncer``, ``sync_on_checkpoint``,
    ``sync_to_cloud``, ``sync_to_driver``, ``node_sync_period``, ``cloud_sync_period``.
    """

    sync_period: float = 300
    sync_timeout: float = 1800
    sync_artifacts: bool = False
    sync_artifacts_on_checkpoint: bool = True
    upload_dir: str | None = None
    syncer: Any = "auto"
    sync_on_checkpoint: bool = True
    sync_to_cloud: Any = None
    sync_to_driver: Any = None
    node_sync_period: float = -1
    cloud_sync_period: float = -1

    def __post_init__(self) -> None:
        _check_number(self.sync_period, "SyncConfig.sync_period", minimum=0)
        _check_number(self.sync_timeout, "SyncConfig.sync_timeout", minimum=0, strict=True)
        _check_bool(self.sync_artifacts, "SyncConfig.sync_artifacts")
        _check_bool(self.sync_artifacts_on_checkpoint, "SyncConfig.sync_artifacts_on_checkpoint")
        _check_bool(self.sync_on_checkpoint, "SyncConfig.sync_on_checkpoint")
        if self.upload_dir is not None:
            self.upload_dir = check_path(self.upload_dir, "SyncConfig.upload_dir")
        _check_number(self.node_sync_period, "SyncConfig.node_sync_period", minimum=-1)
        _check_number(self.cloud_sync_period, "SyncConfig.cloud_sync_period", minimum=-1)


@dataclass
class TuneConfig:
    """How trials are chosen and scheduled (the ``tune_config`` of ``Tuner``).

    ``metric``/``mode`` name the objective (mode "min" or "max"; lists of equal length for
    multi-objective searchers); ``search_alg`` (default random/grid search) and
    ``scheduler`` (default FIFO) may be objects or registered names; ``num_samples`` (-1
    samples until stopped); ``max_concurrent_trials`` (None or 0 = as many as resources
    allow); ``time_budget_s`` (number of seconds or timedelta) ends the whole experiment;
    ``reuse_actors`` reuses workers across trials (None = decide per trainable);
    ``trial_name_creator``/``trial_dirname_creator`` map a Trial to a name.
    ``chdir_to_trial_dir`` (2.x): run each trial with the trial directory as its working
    directory (None = yes). ``executor`` (tunelab's own): where trials run, a
    :class:`tunelab.execution.Executor` (default: local worker processes). ``dask_client``
    (tunelab's own): run trials on a Dask cluster, given a ``distributed.Client``, a cluster
    object or a scheduler address such as ``"tcp://host:8786"`` (shorthand for
    ``executor=DaskExecutor(...)``).
    """

    mode: str | list[str] | None = None
    metric: str | list[str] | None = None
    search_alg: Any = None
    scheduler: Any = None
    num_samples: int = 1
    max_concurrent_trials: int | None = None
    time_budget_s: float | datetime.timedelta | None = None
    reuse_actors: bool | None = False
    trial_name_creator: Callable[[Any], str] | None = None
    trial_dirname_creator: Callable[[Any], str] | None = None
    chdir_to_trial_dir: bool | None = None
    executor: Any = None
    dask_client: Any = None

    def __post_init__(self) -> None:
        check_metric_mode(self.metric, self.mode, prefix="TuneConfig.")
        if self.executor is not None:
            from tunelab.execution import Executor

            if not isinstance(self.executor, Executor):
                raise TuneTypeError(
                    "TuneConfig.executor must be None or a tunelab.execution.Executor "
                    f"(e.g. LocalExecutor()), got {self.executor!r}"
                )
        if self.executor is not None and self.dask_client is not None:
            raise TuneValueError(
                "TuneConfig: pass either executor= or dask_client=, got both "
                f"(executor={self.executor!r}, dask_client={self.dask_client!r})"
            )
        check_num_samples(self.num_samples, "TuneConfig.num_samples")
        if self.max_concurrent_trials is not None:
            check_int(
                self.max_concurrent_trials,
                "TuneConfig.max_concurrent_trials",
                minimum=0,
                rule="None or an int >= 0 (None and 0 mean no limit)",
            )
        check_time_budget(self.time_budget_s, "TuneConfig.time_budget_s")
        _check_bool(self.reuse_actors, "TuneConfig.reuse_actors", allow_none=True)
        check_callable(self.trial_name_creator, "TuneConfig.trial_name_creator", "trial")
        check_callable(self.trial_dirname_creator, "TuneConfig.trial_dirname_creator", "trial")
        _check_bool(self.chdir_to_trial_dir, "TuneConfig.chdir_to_trial_dir", allow_none=True)


def check_metric_mode(metric: Any, mode: Any, *, prefix: str = "") -> None:
    """``metric``: None, a result key or a list of keys; ``mode``: None, "min", "max" or a
    list of those (one per metric)."""
    is_key_list = isinstance(metric, list) and metric and all(isinstance(m, str) for m in metric)
    if not (metric is None or isinstance(metric, str) or is_key_list):
        raise TuneTypeError(
            f"{prefix}metric must be None, a result key (str) or a non-empty list of keys, "
            f"got {metric!r}"
        )
    if mode is None or mode in _MODES:
        return
    if isinstance(mode, list) and mode and all(m in _MODES for m in mode):
        if not isinstance(metric, list) or len(metric) != len(mode):
            raise TuneValueError(
                f"{prefix}mode={mode!r} is a list, so {prefix}metric must be a list of the same "
                f"length (one mode per metric), got metric={metric!r}"
            )
        return
    raise TuneValueError(
        f'{prefix}mode must be None, "min", "max" or a list of them (one per metric), got {mode!r}'
    )


@dataclass
class RunConfig:
    """Where and how an experiment runs (the ``run_config`` of ``Tuner``).

    ``name``: experiment directory name (default ``<trainable>_<date>``); ``storage_path``
    (``local_dir`` is the 2.0 spelling; storage_path wins when both are given): results root,
    local path or fsspec URI, default ``TUNELAB_RESULTS_DIR`` or ``~/tunelab_results``;
    ``failure_config``, ``checkpoint_config``, ``sync_config`` (None means the default
    config); ``verbose`` (None = ``TUNELAB_VERBOSE``, else 0-3); ``stop`` (dict, Stopper or
    function(trial_id, result)); ``callbacks`` (list of Callback); ``progress_reporter``;
    ``log_to_file`` (bool, one file name, or (stdout, stderr) names). ``server_port``
    (tunelab): serve the REST API and dashboard of the running experiment on this port of
    127.0.0.1 (0 = any free port; None = no server).
    """

    name: str | None = None
    storage_path: str | os.PathLike[str] | None = None
    storage_filesystem: Any = None
    failure_config: FailureConfig = field(default_factory=FailureConfig)
    checkpoint_config: CheckpointConfig = field(default_factory=CheckpointConfig)
    sync_config: SyncConfig = field(default_factory=SyncConfig)
    verbose: int | None = None
    stop: Any = None
    callbacks: list[Any] | None = None
    progress_reporter: Any = None
    log_to_file: bool | str | tuple[str, str] = False
    local_dir: str | os.PathLike[str] | None = None
    server_port: int | None = None

    def __post_init__(self) -> None:
        check_experiment_name(self.name, "RunConfig.name")
        check_path(self.storage_path, "RunConfig.storage_path")
        check_path(self.local_dir, "RunConfig.local_dir")
        defaults: tuple[tuple[str, type], ...] = (
            ("failure_config", FailureConfig),
            ("checkpoint_config", CheckpointConfig),
            ("sync_config", SyncConfig),
        )
        for attr, cls in defaults:
            value = getattr(self, attr)
            if value is None:
                setattr(self, attr, cls())
            elif not isinstance(value, cls):
                raise TuneTypeError(
                    f"RunConfig.{attr} must be None or a {cls.__name__}, got {value!r}"
                )
        check_verbose(self.verbose, "RunConfig.verbose")
        check_stop(self.stop, "RunConfig.stop")
        check_callbacks(self.callbacks, "RunConfig.callbacks")
        port = self.server_port
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535
        ):
            raise TuneValueError(
                f"RunConfig.server_port must be None or an int in 0..65535 (0 = any free port), "
                f"got {port!r}"
            )
        normalize_log_to_file(self.log_to_file, "RunConfig.log_to_file")


def check_experiment_name(value: Any, argument: str = "name") -> str | None:
    """None (derive from the trainable) or a non-empty directory name without separators."""
    if value is None:
        return None
    rule = "None or a non-empty directory name (str) without '/' or '\\'"
    if not isinstance(value, str):
        raise TuneTypeError(f"{argument} must be {rule}, got {value!r}")
    if not value or value in (".", "..") or "/" in value or "\\" in value:
        raise TuneValueError(f"{argument} must be {rule}, got {value!r}")
    return value


def check_callbacks(value: Any, argument: str = "callbacks") -> list[Any]:
    """None or a list/tuple of callback objects; returned as a new list."""
    if value is None:
        return []
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        raise TuneTypeError(f"{argument} must be None or a list of Callback objects, got {value!r}")
    for item in value:
        if isinstance(item, type):
            raise TuneTypeError(
                f"{argument} must hold Callback instances; got the class {item!r}, pass an instance"
            )
    return list(value)


@dataclass
class ResumeConfig:
    """Which trials of a restored experiment run again, and how.

    ``finished`` (TERMINATED trials), ``unfinished`` (PENDING/RUNNING/PAUSED) and
    ``errored`` (ERROR) each take a :class:`ResumeConfig.ResumeType` (or its string value):
    RESUME continues from the latest checkpoint, RESTART starts over from scratch, SKIP
    leaves the trial as it is. Defaults: finished SKIP, unfinished RESUME, errored SKIP.
    """

    class ResumeType(str, enum.Enum):
        """What to do with one group of trials on resume."""

        RESUME = "resume"
        RESTART = "restart"
        SKIP = "skip"

    finished: ResumeConfig.ResumeType | str = ResumeType.SKIP
    unfinished: ResumeConfig.ResumeType | str = ResumeType.RESUME
    errored: ResumeConfig.ResumeType | str = ResumeType.SKIP

    def __post_init__(self) -> None:
        allowed = [t.value for t in ResumeConfig.ResumeType]
        for attr in ("finished", "unfinished", "errored"):
            value = getattr(self, attr)
            if isinstance(value, ResumeConfig.ResumeType):
                continue
            if isinstance(value, str) and value.lower() in allowed:
                setattr(self, attr, ResumeConfig.ResumeType(value.lower()))
                continue
            raise TuneValueError(
                f"ResumeConfig.{attr} must be a ResumeConfig.ResumeType or one of {allowed}, "
                f"got {value!r}"
            )
