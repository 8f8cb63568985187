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
    """What happens when a trial fails: retries, and whether the experiment goes on.

    The ``failure_config`` of :class:`~tunelab.RunConfig` (Ray 2.x). A trial fails when its
    trainable raises (or its worker process dies). ``tune.run`` takes the same two settings
    as its ``max_failures`` and ``fail_fast`` arguments.

    Example::

        tune.RunConfig(failure_config=tune.FailureConfig(max_failures=3))

    Args:
        max_failures: How many times a failed trial is restarted, from its latest
            checkpoint (else from scratch): 0 (the default) never, -1 without limit. A
            trial that fails once more is left in status ERROR.
        fail_fast: What a trial's failure does to the rest of the experiment. False (the
            default): the other trials go on. True: the whole experiment stops at the first
            trial error. ``"raise"`` (in any case; stored lower-case): the experiment stops
            as with True, then ``Tuner.fit()`` or ``tune.run`` raises a
            ``TrialError`` (a :class:`~tunelab.TuneError`) carrying the failed trial's
            id and traceback. A
            ``fail_fast`` other than False needs ``max_failures=0``.

    Raises:
        ValueError: ``max_failures`` is below -1, ``fail_fast`` is not True, False or
            ``"raise"``, or ``fail_fast`` is set together with ``max_failures != 0``.
        TypeError: ``max_failures`` is not an int.
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

    The ``checkpoint_config`` of :class:`~tunelab.RunConfig` and ``tune.run`` (Ray 2.x; the
    0.x-1.x ``keep_checkpoints_num``, ``checkpoint_score_attr``, ``checkpoint_freq`` and
    ``checkpoint_at_end`` arguments of ``tune.run`` map onto these fields). Retention applies
    to every trainable. Taking checkpoints on a schedule applies to class trainables only: a
    function trainable saves a checkpoint by reporting it
    (``tune.report(metrics, checkpoint=Checkpoint.from_directory(...))``), and setting
    ``checkpoint_frequency`` or ``checkpoint_at_end`` for one is an error when the run is
    set up.

    Example::

        # keep the 2 checkpoints with the lowest loss (and always the latest one)
        tune.CheckpointConfig(
            num_to_keep=2, checkpoint_score_attribute="loss", checkpoint_score_order="min"
        )

    Args:
        num_to_keep: How many checkpoints of each trial stay on disk. None (the default)
            keeps all of them; an int >= 1 keeps the best ``num_to_keep`` by
            ``checkpoint_score_attribute`` (the most recent ones when it is None) and
            deletes the others. The latest checkpoint is always kept as well, because a
            failed or paused trial restarts from it. Use None, not 0, to keep everything.
        checkpoint_score_attribute: The result key that ranks checkpoints for
            ``num_to_keep`` (each checkpoint is scored with the result it was reported
            with; nested keys as ``"a/b"``). Checkpoints whose result lacks it, or holds
            NaN, rank lowest. None (the default): rank by recency.
        checkpoint_score_order: ``"max"`` (the default): higher scores are better;
            ``"min"``: lower ones are.
        checkpoint_frequency: Class trainables only: save a checkpoint every this many
            iterations (``training_iteration``). 0 (the default): none on a schedule.
        checkpoint_at_end: Class trainables only: True saves a checkpoint when the trial
            ends. None (the default) or False: no final checkpoint.

    Raises:
        ValueError: ``num_to_keep`` is below 1, ``checkpoint_frequency`` below 0, or
            ``checkpoint_score_order`` is not ``"max"`` or ``"min"``.
        TypeError: A field has the wrong type.
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
    """Ray Tune's syncing settings, accepted so that code using them ports unchanged.

    The ``sync_config`` of :class:`~tunelab.RunConfig` and ``tune.run``. tunelab writes
    results and checkpoints straight to the experiment's storage (a local directory, or a
    local staging directory mirrored to an fsspec URI ``storage_path`` in the background),
    so there is no separate sync step to configure. Only ``upload_dir`` has an effect; every
    other field is checked and recorded, and changes nothing.

    Args:
        sync_period: 2.x: seconds between syncs, a number >= 0. Recorded only. Default 300.
        sync_timeout: 2.x: seconds a sync may take, a number > 0. Recorded only. Default
            1800.
        sync_artifacts: 2.x: sync the files trials write besides checkpoints. Recorded only
            (trial directories are mirrored whole with a remote ``storage_path``). Default
            False.
        sync_artifacts_on_checkpoint: 2.x: sync those files at each checkpoint. Recorded
            only. Default True.
        upload_dir: 1.x: a remote URI (``"s3://bucket/prefix"``) that the experiment
            directory is mirrored to, as ``<upload_dir>/<name>``; the same as
            ``tune.run``'s ``upload_dir`` argument, which wins when both are given. None (the
            default): no mirror.
        syncer: 1.x-2.x: Ray's syncer object, or ``"auto"`` (the default). Recorded only.
        sync_on_checkpoint: 1.x: sync when a checkpoint is saved. Recorded only. Default
            True.
        sync_to_cloud: 1.x: Ray's cloud sync function or template. Recorded only (the
            0.x ``sync_function``/``sync_to_cloud`` arguments of ``tune.run`` do work).
        sync_to_driver: 1.x: how trial directories reach the driver from other nodes.
            Recorded only (trials write to the experiment directory directly).
        node_sync_period: 1.x: seconds between node syncs, a number >= -1. Recorded only.
            Default -1.
        cloud_sync_period: 1.x: seconds between cloud syncs, a number >= -1. Recorded only.
            Default -1.

    Raises:
        ValueError: A period or timeout is out of range (or NaN), or ``upload_dir`` is an
            empty string.
        TypeError: A field has the wrong type.
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
    """How trials are chosen and scheduled: the ``tune_config`` of :class:`~tunelab.Tuner`.

    Ray 2.x's ``TuneConfig``, plus tunelab's ``executor`` and ``dask_client``. The fields
    are checked when the config is built.

    Example::

        tune.TuneConfig(
            metric="loss",
            mode="min",
            num_samples=20,
            scheduler=tune.schedulers.ASHAScheduler(),
            max_concurrent_trials=4,
        )

    Args:
        mode: ``"min"`` or ``"max"``: whether ``metric`` is minimised or maximised. None
            (the default): the scheduler's and searcher's own setting.
        metric: The result key to optimise. It is given to the scheduler and the search
            algorithm (unless they were built with their own) and is the default metric of
            the :class:`~tunelab.analysis.ResultGrid` (``get_best_result()``). A result
            that lacks it stops the run with an error naming the reported metrics, unless
            ``TUNELAB_DISABLE_STRICT_METRIC_CHECKING=1`` is set. ``TuneConfig`` also accepts
            a list of keys with a list of modes of the same length (multi-objective), but
            :class:`~tunelab.Tuner` does not support those yet and raises
            ``NotImplementedError`` for them.
        search_alg: How configurations are chosen: a :class:`~tunelab.search.Searcher`
            (wrapped in a :class:`~tunelab.search.ConcurrencyLimiter` when
            ``max_concurrent_trials`` is set), a :class:`~tunelab.search.SearchAlgorithm`,
            or a name for :func:`~tunelab.search.create_searcher`. None (the default): a
            :class:`~tunelab.search.BasicVariantGenerator` (random and grid search over the
            ``param_space``).
        scheduler: When trials stop, pause or change: a
            :class:`~tunelab.schedulers.TrialScheduler` or a name for
            :func:`~tunelab.schedulers.create_scheduler`. None (the default): a
            :class:`~tunelab.schedulers.FIFOScheduler` (every trial runs to its end).
        num_samples: How many times the search space is sampled; each sample expands every
            ``grid_search``, so a grid of 3 values with ``num_samples=2`` gives 6 trials. -1
            samples until ``time_budget_s`` or a stopper ends the experiment. Default 1.
        max_concurrent_trials: At most this many trials run at once. None (the default) or
            0: as many as the executor's resources allow.
        time_budget_s: Time budget of the whole experiment, in seconds (> 0) or as a
            :class:`datetime.timedelta`; when it is spent the running trials are stopped and
            no new one starts. None (the default): no budget.
        reuse_actors: True: a class trainable's object is kept in its worker for the next
            trial, which gets its config through ``reset_config`` (a new object is built
            when that returns False). False (the default) or None: a new object per trial.
            Function trainables are not affected; worker processes are reused across trials
            in every case.
        trial_name_creator: ``f(trial) -> str`` giving each trial's name (``str(trial)``,
            shown in the status table). None: ``<trainable>_<trial_id>``.
        trial_dirname_creator: ``f(trial) -> str`` giving each trial's directory name
            inside the experiment directory. None: ``<trainable>_<trial_id>_<tag>_<date>``.
        chdir_to_trial_dir: 2.x: run each trial with its trial directory as the working
            directory (the driver's is in the ``TUNE_ORIG_WORKING_DIR`` environment
            variable). None (the default): ``TUNELAB_CHDIR_TO_TRIAL_DIR`` (default True).
        executor: tunelab's own: where trials run, a :class:`~tunelab.execution.Executor`
            such as :class:`~tunelab.execution.LocalExecutor` (``num_cpus=``,
            ``resources=``), :class:`~tunelab.execution.InProcessExecutor` or
            :class:`~tunelab.execution.DaskExecutor`. None (the default): the executor
            chosen by :func:`tunelab.init`, else local worker processes sized to this
            machine's CPUs and GPUs.
        dask_client: tunelab's own: run trials on a Dask cluster, given a
            ``distributed.Client``, a cluster object or a scheduler address such as
            ``"tcp://host:8786"`` (shorthand for ``executor=DaskExecutor(dask_client)``;
            needs the ``dask`` extra). Cannot be combined with ``executor``.

    Raises:
        ValueError: A field is out of range (``num_samples`` of 0 or below -1, a negative
            ``max_concurrent_trials``, a ``time_budget_s`` <= 0, a ``mode`` other than
            ``"min"``/``"max"``, lists of different lengths), or both ``executor`` and
            ``dask_client`` are given.
        TypeError: A field has the wrong type (a name creator that cannot take one
            argument, an ``executor`` that is not an Executor...).
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
    """Where and how an experiment runs: the ``run_config`` of :class:`~tunelab.Tuner`.

    Ray 2.x's ``RunConfig`` (also importable as ``tunelab.air.RunConfig`` and
    ``tunelab.train.RunConfig``), plus tunelab's ``server_port``. The fields are checked when
    the config is built.

    Example::

        tune.RunConfig(
            name="my_exp",
            storage_path="~/results",
            stop={"training_iteration": 20},
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
        )

    Args:
        name: The experiment's name, also the name of its directory under
            ``storage_path``. None (the default): ``<trainable name>_<YYYY-MM-DD_HH-MM-SS>``
            (the trainable's name alone with ``TUNELAB_DISABLE_DATED_SUBDIR=1``). Must be a
            directory name without ``/`` or ``\\``.
        storage_path: The results root: the experiment is written to
            ``<storage_path>/<name>``. A local path, or an fsspec URI such as
            ``"s3://bucket/prefix"`` (the experiment then runs in a local staging directory
            that a background thread mirrors to the URI). None (the default):
            ``local_dir``, else ``TUNELAB_RESULTS_DIR``, else ``~/tunelab_results``.
        storage_filesystem: 2.x's ``pyarrow.fs.FileSystem`` for ``storage_path``. Accepted
            with a warning and ignored (tunelab opens URIs with fsspec).
        failure_config: Retries and what a trial's failure does to the experiment; None
            means ``FailureConfig()`` (no retries, the other trials go on).
        checkpoint_config: Which checkpoints are taken and kept; None means
            ``CheckpointConfig()`` (keep all of them).
        sync_config: Ray's syncing settings; only its ``upload_dir`` has an effect. None
            means ``SyncConfig()``.
        verbose: How much is printed: 0 nothing, 1 the status table, 2 also every trial's
            results, 3 also details (True means 2, False 0). None (the default):
            ``TUNELAB_VERBOSE`` (default 1).
        stop: When a trial ends early: a dict ``{result key: threshold}`` stops a trial once
            any ``result[key] >= threshold`` (nested keys joined with ``"/"``); a
            :class:`~tunelab.stopper.Stopper` (which may also end the whole experiment); or
            a function ``f(trial_id, result) -> bool``. None (the default): trials run until
            their trainable returns or the scheduler stops them.
        callbacks: :class:`~tunelab.Callback` objects told about the experiment's events
            (instances, not classes). The default JSON and CSV loggers (and TensorBoard's
            when installed) are added unless the list holds one of their classes or
            ``TUNELAB_DISABLE_AUTO_CALLBACK_LOGGERS=1`` is set.
        progress_reporter: What prints the live status: a
            :class:`~tunelab.progress.ProgressReporter` such as
            :class:`~tunelab.progress.CLIReporter`, or any object with ``should_report``
            and ``report`` methods. None (the default): a ``CLIReporter`` (a
            ``JupyterNotebookReporter`` in a notebook). Nothing is printed with
            ``verbose=0``.
        log_to_file: Redirect each trial's stdout and stderr to files in its trial
            directory: True writes ``stdout`` and ``stderr``; one file name sends both
            streams to that file; a pair ``(stdout name, stderr name)`` to two files. False
            (the default): no redirection.
        local_dir: The earlier 2.x name of ``storage_path``; used when ``storage_path`` is
            None (``storage_path`` wins when both are given).
        server_port: tunelab's own: serve the REST API and live dashboard of the running
            experiment on this port of 127.0.0.1 (0: any free port). The URL with its access
            token is printed (unless ``verbose=0``). None (the default): no server.

    Raises:
        ValueError: A field is out of range (a ``name`` with a path separator, a
            ``verbose`` outside 0-3, a ``server_port`` outside 0..65535, a ``log_to_file``
            pair that is not two names, a stop threshold that is NaN...).
        TypeError: A field has the wrong type (a config of another class, a callback class
            instead of an instance...).
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
        warn_storage_filesystem(self.storage_filesystem, "RunConfig.storage_filesystem")


def warn_storage_filesystem(value: Any, argument: str) -> None:
    """Ray 2.x's ``storage_filesystem`` (a ``pyarrow.fs.FileSystem``): accepted, with one
    warning when set, since tunelab opens storage URIs with fsspec and never uses it."""
    if value is not None:
        import warnings

        warnings.warn(
            f"{argument}={value!r} has no effect in tunelab: storage URIs are opened with "
            "fsspec (pass storage_path='s3://...' and configure credentials as for s3fs)",
            stacklevel=4,
        )


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
    """Which trials of a resumed experiment run again, and how.

    Ray 2.x's ``ResumeConfig``: pass it as ``resume_config`` to :func:`tunelab.run` or
    :func:`tunelab.run_experiments` (alone, it means ``resume=True``). The ``resume``
    strings (``"AUTO+RESTART_ERRORED"``...) and ``Tuner.restore``'s ``resume_unfinished``,
    ``resume_errored`` and ``restart_errored`` arguments are other spellings of the same
    choices. Each field takes a :class:`ResumeConfig.ResumeType` or its string value (in
    any case): ``"resume"`` continues the trial from its latest checkpoint (from scratch
    when it has none), ``"restart"`` starts it over from scratch, ``"skip"`` leaves it as
    it is.

    Example::

        # rerun the failed trials from scratch, leave the others
        tune.run(
            train,
            name="my_exp",
            resume_config=tune.ResumeConfig(
                unfinished="skip", errored=tune.ResumeConfig.ResumeType.RESTART
            ),
        )

    Args:
        finished: What happens to TERMINATED trials. Default SKIP.
        unfinished: What happens to PENDING, RUNNING and PAUSED trials. Default RESUME.
        errored: What happens to ERROR trials. Default SKIP.

    Raises:
        ValueError: A field is not a ``ResumeType`` or one of ``"resume"``, ``"restart"``,
            ``"skip"``.
    """

    class ResumeType(str, enum.Enum):
        """What to do with one group of trials on resume: ``RESUME`` (``"resume"``),
        ``RESTART`` (``"restart"``) or ``SKIP`` (``"skip"``)."""

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
