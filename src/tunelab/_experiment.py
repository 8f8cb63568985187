"""``Experiment``: one validated, normalised experiment specification.

``Experiment`` accepts the arguments of every Ray Tune generation (0.x ``repeat``,
``trial_resources``, ``checkpoint_freq``...; newest ``storage_path``, ``checkpoint_config``)
and exposes one normalised form that the controller consumes. Every argument is checked in
the constructor; nothing is started and no file is written.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tunelab import _defaults, _registry
from tunelab._checkpoint import checkpoint_directory_of
from tunelab._config import (
    KEEP_RULE,
    CheckpointConfig,
    SyncConfig,
    check_callable,
    check_experiment_name,
    check_int,
    check_max_failures,
    check_num_samples,
    check_path,
    check_stop,
    check_time_budget,
    normalize_log_to_file,
)
from tunelab._errors import TuneTypeError, TuneValueError
from tunelab._resources import PlacementGroupFactory, resources_from_request
from tunelab._sync_function import check_sync_function

__all__ = ["Experiment", "convert_to_experiment_list"]

EXPORT_FORMATS = ("checkpoint", "model", "onnx", "h5")

# Keys of a run_experiments spec dict: the keyword arguments of Experiment, plus "run" and
# the 0.x "env" (moved into config["env"]).
SPEC_KEYS = frozenset(
    {
        "run",
        "env",
        "stop",
        "time_budget_s",
        "config",
        "resources_per_trial",
        "num_samples",
        "storage_path",
        "local_dir",
        "upload_dir",
        "sync_config",
        "checkpoint_config",
        "trial_name_creator",
        "trial_dirname_creator",
        "log_to_file",
        "export_formats",
        "max_failures",
        "restore",
        "checkpoint_freq",
        "checkpoint_at_end",
        "keep_checkpoints_num",
        "checkpoint_score_attr",
        "repeat",
        "trial_resources",
        "custom_loggers",
        "loggers",
        "sync_function",
    }
)


# Where an experiment lives: resolved once by the constructor, then fixed (assigning one
# again raises AttributeError). A run places its own copy elsewhere (Experiment._with), e.g.
# a remote experiment in its local staging directory; the user's object keeps its values.
PLACEMENT_FIELDS = frozenset(
    {"name", "storage_path", "experiment_path", "remote_path", "staging_token", "checkpoint_upload"}
)
# What Experiment._with may change: the placement, and (for Tuner.restore) the trainable
# ("run", resolved again) and the search space ("config")
REPLACEABLE_FIELDS = PLACEMENT_FIELDS | {"run", "config"}


def date_str() -> str:
    """The current local time as ``YYYY-MM-DD_HH-MM-SS`` (experiment and trial names)."""
    return time.strftime("%Y-%m-%d_%H-%M-%S")


class Experiment:
    """A named experiment: a trainable, a search space and how to run its trials.

    The unit :func:`tunelab.run_experiments` runs (and ``tune.run`` and
    :class:`~tunelab.Tuner` build one internally). It accepts the arguments of every Ray
    Tune generation, from 0.x's ``repeat`` and ``trial_resources`` to 2.x's
    ``storage_path`` and ``checkpoint_config``, and checks them all in the constructor;
    nothing is started and no file is written until the experiment runs.

    Example::

        experiment = tune.Experiment(
            "my_experiment",
            train,
            config={"lr": tune.loguniform(1e-4, 1e-1)},
            num_samples=4,
            stop={"training_iteration": 10},
        )
        trials = tune.run_experiments(experiment)

    Args:
        name: The experiment's name, also the name of its directory under
            ``storage_path``. None: ``<trainable name>_<YYYY-MM-DD_HH-MM-SS>`` (the
            trainable's name alone with ``TUNELAB_DISABLE_DATED_SUBDIR=1``). Must be a
            non-empty directory name without ``/`` or ``\\``.
        run: What to run: a function trainable (``f(config)``,
            ``f(config, checkpoint_dir=None)`` or 0.x's ``f(config, reporter)``), a
            :class:`~tunelab.Trainable` subclass, or a name given to
            :func:`~tunelab.register_trainable`.
        stop: When a trial ends early: a dict ``{result key: threshold}`` stops a trial once
            any ``result[key] >= threshold`` (nested keys joined with ``"/"``); a
            :class:`~tunelab.stopper.Stopper`; or a function ``f(trial_id, result) -> bool``.
            None: trials run until their trainable returns or a scheduler stops them.
        time_budget_s: Time budget of the experiment, in seconds (> 0) or as a
            :class:`datetime.timedelta`; when it is spent the running trials are stopped and
            no new one starts. None: no budget.
        config: The search space: a dict of constants, search-space domains,
            ``tune.grid_search([...])`` and nested dicts. None: an empty config.
        resources_per_trial: What one trial reserves from the executor: a dict such as
            ``{"cpu": 2, "gpu": 0.5}`` (custom resource names too), a
            :class:`~tunelab.PlacementGroupFactory` or a
            :class:`~tunelab.train.ScalingConfig`. None: the trainable's
            ``default_resource_request(config)`` when it has one, else 1 CPU.
        num_samples: How many times the search space is sampled; each sample expands every
            ``grid_search``. -1 samples until a stop condition ends the experiment.
            Default 1.
        storage_path: The results root: the experiment is written to
            ``<storage_path>/<name>``. A local path or an fsspec URI
            (``"s3://bucket/prefix"``). None: ``local_dir``, else ``TUNELAB_RESULTS_DIR``,
            else ``~/tunelab_results``.
        local_dir: The name of ``storage_path`` before 2.x; used when ``storage_path`` is
            None.
        upload_dir: 0.x-1.x: a remote URI that the local experiment directory is mirrored
            to, as ``<upload_dir>/<name>``. Must be a URI unless ``sync_function`` is given,
            and cannot be combined with a remote ``storage_path``. None: no mirror (or
            ``sync_config.upload_dir``).
        sync_config: A :class:`~tunelab.SyncConfig`; only its ``upload_dir`` has an effect.
            None: ``SyncConfig()``.
        checkpoint_config: Which checkpoints are taken and kept: a
            :class:`~tunelab.CheckpointConfig` or a dict of its fields. None: keep every
            checkpoint, take none on a schedule. The four legacy checkpoint arguments below
            are merged into it; one that contradicts a field set here is an error.
        trial_name_creator: ``f(trial) -> str`` giving each trial's name. None:
            ``<trainable>_<trial_id>``.
        trial_dirname_creator: ``f(trial) -> str`` giving each trial's directory name.
            None: ``<trainable>_<trial_id>_<tag>_<date>``.
        log_to_file: Redirect each trial's stdout and stderr to files in its trial
            directory: True writes ``stdout`` and ``stderr``; one file name sends both
            streams there; a pair ``(stdout name, stderr name)`` to two files. False: no
            redirection.
        export_formats: 0.x-1.x: a format name or a list of them (``"model"``,
            ``"checkpoint"``, ``"onnx"``, ``"h5"``, or names of your own) passed to a class
            trainable's ``export_model`` when each trial ends. None: nothing is exported.
        max_failures: How many times a failed trial is restarted, from its latest
            checkpoint (else from scratch): 0 never, -1 without limit.
        restore: 0.x-1.x: a checkpoint path (a directory, or the file a class trainable's
            ``save_checkpoint`` returned) that every trial starts from. None: from scratch.
        checkpoint_freq: 0.x-1.x: a class trainable saves a checkpoint every this many
            iterations (``CheckpointConfig.checkpoint_frequency``); 0 never. For a function
            trainable it is ignored with a warning, and an error for a function that takes
            ``checkpoint_dir``.
        checkpoint_at_end: 0.x-1.x: a class trainable saves a checkpoint when it ends
            (``CheckpointConfig.checkpoint_at_end``). For a function trainable: as
            ``checkpoint_freq``.
        keep_checkpoints_num: 0.x-1.x: how many checkpoints of each trial to keep, an int
            >= 1 (``CheckpointConfig.num_to_keep``). None: all.
        checkpoint_score_attr: 0.x-1.x: the result key that ranks checkpoints for
            ``keep_checkpoints_num``, higher is better; a ``"min-"`` prefix makes lower
            better. None: the most recent ones are kept.
        repeat: 0.x's name of ``num_samples``; give one of the two.
        trial_resources: 0.x's name of ``resources_per_trial``; give one of the two.
        custom_loggers: 0.x: a list of :class:`~tunelab.logger.Logger` classes run for
            this experiment's trials next to the default loggers.
        loggers: 0.x: a list of :class:`~tunelab.logger.Logger` classes that replace the
            default loggers for this experiment's trials. None: the default loggers.
        sync_function: 0.x: what copies the experiment directory to ``upload_dir``
            (instead of tunelab's own upload): a function ``f(local_dir, remote_dir)`` or a
            command template with ``{local_dir}`` and ``{remote_dir}`` (or ``{source}`` and
            ``{target}``) fields, run every 300 s and when the experiment ends. Needs
            ``upload_dir``.

    Attributes:
        name (str): The experiment's name, with the default filled in.
        trainable: The resolved function or class (a registered name is looked up).
        trainable_name (str): The trainable's display name (used in trial names).
        config (dict): The search space.
        num_samples (int): The number of samples (``repeat`` folded in).
        resources: The trials' :class:`~tunelab.PlacementGroupFactory`, or None when not
            given.
        storage_path (str): The absolute results root (or a URI).
        experiment_path (str): ``<storage_path>/<name>``, the experiment directory.
        checkpoint_config (CheckpointConfig): The checkpoint settings with the legacy
            arguments merged in.

    ``name``, ``storage_path`` and ``experiment_path`` are fixed once the Experiment is built
    (assigning them raises ``AttributeError``; build a new Experiment instead), and running
    the experiment never changes them: an experiment stored at a URI runs in a local
    staging directory, but the Experiment still names the URI afterwards, so the same
    object can be run again (for example with ``resume=True``).

    Raises:
        ValueError: An argument has a bad value (mostly a ``TuneValueError``), two spellings of
            one argument are both given (``num_samples``/``repeat``,
            ``resources_per_trial``/``trial_resources``), a legacy checkpoint argument
            contradicts ``checkpoint_config``, or ``run`` is a name nobody registered.
        TypeError: An argument has the wrong type (mostly a ``TuneTypeError``), or ``run``
            is not a trainable.
    """

    def __init__(
        self,
        name: str | None,
        run: Any,
        *,
        stop: Any = None,
        time_budget_s: Any = None,
        config: Mapping[str, Any] | None = None,
        resources_per_trial: Any = None,
        num_samples: int = 1,
        storage_path: str | os.PathLike[str] | None = None,
        local_dir: str | os.PathLike[str] | None = None,
        upload_dir: str | None = None,
        sync_config: SyncConfig | None = None,
        checkpoint_config: CheckpointConfig | Mapping[str, Any] | None = None,
        trial_name_creator: Callable[[Any], str] | None = None,
        trial_dirname_creator: Callable[[Any], str] | None = None,
        log_to_file: bool | str | Sequence[str] = False,
        export_formats: str | Sequence[str] | None = None,
        max_failures: int = 0,
        restore: str | os.PathLike[str] | None = None,
        checkpoint_freq: int = 0,
        checkpoint_at_end: bool = False,
        keep_checkpoints_num: int | None = None,
        checkpoint_score_attr: str | None = None,
        repeat: int | None = None,
        trial_resources: Any = None,
        custom_loggers: Sequence[Any] | None = None,
        loggers: Sequence[Any] | None = None,
        sync_function: Any = None,
    ) -> None:
        self.run = run
        self.trainable, self.trainable_name, self.is_function_trainable = _resolve_run(run)
        name = check_experiment_name(name, "name")
        if name is None:
            name = self.trainable_name
            if _defaults.dated_subdir():
                name = f"{name}_{date_str()}"
        self.name: str = name

        if config is not None and not isinstance(config, Mapping):
            raise TuneTypeError(f"config must be None or a dict (the search space), got {config!r}")
        self.config: dict[str, Any] = dict(config or {})

        self.num_samples = check_num_samples(num_samples, "num_samples")
        if repeat is not None:
            if num_samples != 1:
                raise TuneValueError(
                    f"pass either num_samples or repeat (its 0.x name), not both; got "
                    f"num_samples={num_samples!r} and repeat={repeat!r}"
                )
            self.num_samples = check_num_samples(repeat, "repeat")

        self.stop = check_stop(stop, "stop")
        self.time_budget_s = check_time_budget(time_budget_s, "time_budget_s")

        if resources_per_trial is not None and trial_resources is not None:
            raise TuneValueError(
                f"pass either resources_per_trial or trial_resources (its 0.x name), not both; "
                f"got resources_per_trial={resources_per_trial!r} and "
                f"trial_resources={trial_resources!r}"
            )
        self.resources: PlacementGroupFactory | None
        if trial_resources is not None:
            self.resources = resources_from_request(trial_resources, argument="trial_resources")
        else:
            self.resources = resources_from_request(
                resources_per_trial, argument="resources_per_trial"
            )

        root = _local_or_uri(
            check_path(storage_path, "storage_path")
            or check_path(local_dir, "local_dir")
            or _defaults.results_root()
        )
        if _is_uri(root):
            self.storage_path = root.rstrip("/")
            self.experiment_path = f"{self.storage_path}/{self.name}"
        else:
            self.storage_path = os.path.abspath(os.path.expanduser(root))
            self.experiment_path = os.path.join(self.storage_path, self.name)
        # the URI results are mirrored to when storage_path is remote (set on the run's own
        # copy, by the front door: see _with)
        self.remote_path: str | None = None
        # with remote_path: the token of the staging directory's marker file (workers
        # that do not see it upload checkpoints straight to remote_path)
        self.staging_token: str | None = None
        # with remote_path: TUNELAB_CHECKPOINT_UPLOAD as the front door read it
        self.checkpoint_upload = "auto"
        self.upload_dir = check_path(upload_dir, "upload_dir")
        if sync_config is not None and not isinstance(sync_config, SyncConfig):
            raise TuneTypeError(f"sync_config must be None or a SyncConfig, got {sync_config!r}")
        self.sync_config = sync_config or SyncConfig()
        # 0.x: the user's function or command that copies the experiment to upload_dir
        self.sync_function = check_sync_function(sync_function)
        self._check_upload_dir()
        restore_path = check_path(restore, "restore")
        if restore_path is not None:
            restore_path = _local_or_uri(restore_path)
        if restore_path is not None and not _is_uri(restore_path):
            # 1.x's path of a class trainable's checkpoint is the file its save_checkpoint
            # returned (trial.checkpoint.value, best_checkpoint): restore from its directory
            restore_path = checkpoint_directory_of(os.path.expanduser(restore_path))
        self.restore = restore_path

        if self.is_function_trainable:
            checkpoint_freq, checkpoint_at_end = _legacy_function_checkpointing(
                self.trainable, self.trainable_name, checkpoint_freq, checkpoint_at_end
            )
        self.checkpoint_config = _merge_checkpoint_config(
            checkpoint_config,
            checkpoint_freq=checkpoint_freq,
            checkpoint_at_end=checkpoint_at_end,
            keep_checkpoints_num=keep_checkpoints_num,
            checkpoint_score_attr=checkpoint_score_attr,
        )
        if self.is_function_trainable:
            _reject_function_checkpointing(self.checkpoint_config, self.trainable_name)

        self.log_to_file = normalize_log_to_file(log_to_file, "log_to_file")
        self.max_failures = check_max_failures(max_failures, "max_failures")
        self.trial_name_creator = check_callable(trial_name_creator, "trial_name_creator", "trial")
        self.trial_dirname_creator = check_callable(
            trial_dirname_creator, "trial_dirname_creator", "trial"
        )
        self.export_formats = _export_formats(export_formats)
        self.custom_loggers = _logger_classes(custom_loggers, "custom_loggers") or []
        self.loggers = _logger_classes(loggers, "loggers")

    def _check_upload_dir(self) -> None:
        from tunelab._storage import is_uri

        upload = self.upload_dir or self.sync_config.upload_dir
        if upload is None:
            if self.sync_function is not None:
                raise TuneValueError(
                    f"sync_function={self.sync_function!r} copies the experiment to upload_dir, "
                    "but no upload_dir was given; give upload_dir (where to copy to)"
                )
            return
        argument = "upload_dir" if self.upload_dir else "SyncConfig.upload_dir"
        if self.sync_function is not None:
            return  # the user's function or command understands its own destinations
        if not is_uri(upload):
            raise TuneValueError(
                f"{argument} must be a remote URI such as 's3://bucket/prefix' (the experiment "
                f"is copied there), got {upload!r}; for a local directory use storage_path"
            )
        if _is_uri(self.storage_path):
            raise TuneValueError(
                f"storage_path is already remote ({self.storage_path!r}); drop {argument} "
                f"({upload!r}) or give a local storage_path/local_dir"
            )

    def __setattr__(self, name: str, value: Any) -> None:
        if name in PLACEMENT_FIELDS and name in self.__dict__:
            raise AttributeError(
                f"Experiment.{name} is fixed once the Experiment is built (it says where the "
                f"experiment lives, {getattr(self, name)!r}); build a new Experiment to change it"
            )
        object.__setattr__(self, name, value)

    def _with(self, **changes: Any) -> Experiment:
        """A shallow copy of this experiment with ``changes`` applied; this one is unchanged.

        The front door runs such a copy, never the user's object: it places a remote
        experiment in its local staging directory (``experiment_path``, ``storage_path``,
        ``remote_path``, ``staging_token``, ``checkpoint_upload``), and ``Tuner.restore``
        moves a saved experiment to where it was found (``name``, ...) and may swap its
        trainable (``run``, resolved again as the constructor does) and search space
        (``config``). Nothing is checked beyond the field names: the caller resolved the
        values.

        Raises:
            TypeError: A name outside :data:`REPLACEABLE_FIELDS`.
        """
        unknown = sorted(set(changes) - REPLACEABLE_FIELDS)
        if unknown:
            raise TypeError(
                f"Experiment._with: {unknown} cannot be replaced; allowed: "
                f"{sorted(REPLACEABLE_FIELDS)}"
            )
        if "run" in changes:
            resolved = _resolve_run(changes["run"])
            changes["trainable"], changes["trainable_name"], changes["is_function_trainable"] = (
                resolved
            )
        if "config" in changes:
            changes["config"] = dict(changes["config"])
        replaced = copy.copy(self)
        replaced.__dict__.update(changes)  # the copy's own fields: the guard is for users
        return replaced

    @property
    def upload_uri(self) -> str | None:
        """Where the 0.x/1.x ``upload_dir`` (or ``SyncConfig.upload_dir``) mirrors this
        experiment: ``<upload_dir>/<name>``; None without one."""
        upload = self.upload_dir or self.sync_config.upload_dir
        return None if upload is None else f"{upload.rstrip('/')}/{self.name}"

    @classmethod
    def from_json(cls, name: str, spec: Mapping[str, Any]) -> Experiment:
        """Build an Experiment from a ``run_experiments`` spec dict ``{"run": ..., ...}``.

        Args:
            name: The experiment's name.
            spec: The spec: the keyword arguments of :class:`Experiment` plus ``"run"``
                (required) and 0.x's ``"env"`` (stored as ``config["env"]``).

        Returns:
            The Experiment.

        Raises:
            ValueError: ``spec`` has an unknown key (the message lists the allowed ones),
                no ``"run"``, or both ``"num_samples"`` and ``"repeat"``; or an argument
                has a bad value.
            TypeError: ``spec`` is not a dict, or an argument has the wrong type.
        """
        if not isinstance(spec, Mapping):
            raise TuneTypeError(f"experiment {name!r}: the spec must be a dict, got {spec!r}")
        unknown = sorted(str(k) for k in spec if k not in SPEC_KEYS)
        if unknown:
            raise TuneValueError(
                f"experiment {name!r}: unknown key(s) {unknown} in the spec; allowed keys: "
                f"{sorted(SPEC_KEYS)}"
            )
        if "run" not in spec:
            raise TuneValueError(
                f"experiment {name!r}: the spec must have a 'run' key (a function, a Trainable "
                f"subclass or a registered name), got keys {sorted(spec)}"
            )
        if "repeat" in spec and "num_samples" in spec:
            raise TuneValueError(
                f"experiment {name!r}: pass either num_samples or repeat (its 0.x name), not "
                f"both; got num_samples={spec['num_samples']!r} and repeat={spec['repeat']!r}"
            )
        kwargs: dict[str, Any] = dict(spec)
        run = kwargs.pop("run")
        if "env" in kwargs:
            env = kwargs.pop("env")
            config = kwargs.get("config")
            if config is not None and not isinstance(config, Mapping):
                raise TuneTypeError(
                    f"experiment {name!r}: config must be a dict (the search space), got {config!r}"
                )
            kwargs["config"] = {**(config or {}), "env": env}
        return cls(name, run, **kwargs)

    def __repr__(self) -> str:
        return (
            f"Experiment(name={self.name!r}, trainable={self.trainable_name!r}, "
            f"num_samples={self.num_samples}, experiment_path={self.experiment_path!r})"
        )


def convert_to_experiment_list(experiments: Any) -> list[Experiment]:
    """``run_experiments``'s argument as a list: an Experiment, a list of them, or a dict
    ``{name: spec dict}`` (each built with :meth:`Experiment.from_json`)."""
    rule = "an Experiment, a list of Experiments or a dict {name: spec dict}"
    if isinstance(experiments, Experiment):
        return [experiments]
    if isinstance(experiments, Mapping):
        return [Experiment.from_json(name, spec) for name, spec in experiments.items()]
    if isinstance(experiments, (list, tuple)):
        for item in experiments:
            if not isinstance(item, Experiment):
                raise TuneTypeError(
                    f"experiments must be {rule}; the list holds {item!r}, not an Experiment"
                )
        return list(experiments)
    raise TuneTypeError(f"experiments must be {rule}, got {experiments!r}")


def _is_uri(path: str) -> bool:
    """Remote storage (``s3://...``, ``memory://...``); ``file://`` is a local path."""
    from tunelab._storage import is_uri

    return is_uri(path)


def _local_or_uri(path: str) -> str:
    """``path`` with a ``file://`` scheme taken off (a local path); others unchanged."""
    from tunelab._storage import strip_file_scheme

    return strip_file_scheme(path)


def _resolve_run(run: Any) -> tuple[Any, str, bool]:
    """(trainable object, trainable name, is function trainable) for ``run``."""
    if isinstance(run, str):
        if not _registry.is_registered(run):
            raise TuneValueError(
                f"run={run!r} is not a registered trainable name; registered names: "
                f"{_registry.registered_names()}. Register it with "
                f"tunelab.register_trainable(name, trainable) or pass the function or class"
            )
        trainable = _registry.get_trainable(run)
        return trainable, run, not isinstance(trainable, type)
    is_function = _registry.check_trainable(run, "run")
    return run, _registry.trainable_name(run), is_function


def _merge_checkpoint_config(
    checkpoint_config: Any,
    *,
    checkpoint_freq: Any,
    checkpoint_at_end: Any,
    keep_checkpoints_num: Any,
    checkpoint_score_attr: Any,
) -> CheckpointConfig:
    """``checkpoint_config`` with the legacy checkpoint arguments mapped in.

    A legacy argument and the field it maps to may not both be set to different values.
    """
    if checkpoint_config is None:
        base = CheckpointConfig()
    elif isinstance(checkpoint_config, CheckpointConfig):
        base = checkpoint_config
    elif isinstance(checkpoint_config, Mapping):
        allowed = [f.name for f in dataclasses.fields(CheckpointConfig)]
        unknown = sorted(str(k) for k in checkpoint_config if k not in allowed)
        if unknown:
            raise TuneValueError(
                f"checkpoint_config: unknown key(s) {unknown}; allowed keys: {allowed}"
            )
        base = CheckpointConfig(**checkpoint_config)
    else:
        raise TuneTypeError(
            f"checkpoint_config must be None, a CheckpointConfig or a dict of its fields, "
            f"got {checkpoint_config!r}"
        )

    updates: dict[str, tuple[str, Any]] = {}  # field -> (legacy argument, value)
    if check_int(checkpoint_freq, "checkpoint_freq", minimum=0, rule="an int >= 0 (0 = never)"):
        updates["checkpoint_frequency"] = ("checkpoint_freq", int(checkpoint_freq))
    if not isinstance(checkpoint_at_end, bool):
        raise TuneTypeError(f"checkpoint_at_end must be True or False, got {checkpoint_at_end!r}")
    if checkpoint_at_end:
        updates["checkpoint_at_end"] = ("checkpoint_at_end", True)
    if keep_checkpoints_num is not None:
        updates["num_to_keep"] = (
            "keep_checkpoints_num",
            check_int(keep_checkpoints_num, "keep_checkpoints_num", minimum=1, rule=KEEP_RULE),
        )
    if checkpoint_score_attr is not None:
        if not isinstance(checkpoint_score_attr, str) or checkpoint_score_attr in ("", "min-"):
            error = TuneValueError if isinstance(checkpoint_score_attr, str) else TuneTypeError
            raise error(
                f"checkpoint_score_attr must be None or a result key, optionally prefixed "
                f"with 'min-' (keep the lowest), got {checkpoint_score_attr!r}"
            )
        attr = checkpoint_score_attr
        if attr.startswith("min-"):
            updates["checkpoint_score_order"] = ("checkpoint_score_attr", "min")
            attr = attr[len("min-") :]
        updates["checkpoint_score_attribute"] = ("checkpoint_score_attr", attr)

    defaults = CheckpointConfig()
    for field_name, (legacy, value) in updates.items():
        current = getattr(base, field_name)
        if current != getattr(defaults, field_name) and current != value:
            raise TuneValueError(
                f"{legacy} conflicts with checkpoint_config.{field_name}: got "
                f"{legacy}={value!r} and checkpoint_config.{field_name}={current!r}; "
                f"set it in checkpoint_config only"
            )
    if not updates:
        return base
    return dataclasses.replace(base, **{k: v for k, (_, v) in updates.items()})


def _legacy_function_checkpointing(
    trainable: Any, name: str, checkpoint_freq: Any, checkpoint_at_end: Any
) -> tuple[Any, Any]:
    """The legacy ``checkpoint_freq``/``checkpoint_at_end`` of a function trainable, as Ray
    Tune 0.x-1.x took them: ignored (with a warning here; Ray said nothing), except for a
    function with a ``checkpoint_dir`` parameter (it checkpoints itself), where they are an
    error. Returns the values to use: ``(0, False)`` when they are ignored; unchanged (for
    the type checks that follow) when not set. Ray 2.x's ``CheckpointConfig`` fields stay an
    error for every function trainable (:func:`_reject_function_checkpointing`)."""
    used = []
    is_int = isinstance(checkpoint_freq, int) and not isinstance(checkpoint_freq, bool)
    if is_int and checkpoint_freq > 0:
        used.append(f"checkpoint_freq={checkpoint_freq}")
    if checkpoint_at_end is True:
        used.append("checkpoint_at_end=True")
    if not used:
        return checkpoint_freq, checkpoint_at_end
    given = " and ".join(used)
    if _takes_checkpoint_dir(trainable):
        raise TuneValueError(
            f"{given} cannot be used with the function trainable {name!r}: it takes "
            f"checkpoint_dir, so it saves its own checkpoints (with "
            f"tune.checkpoint_dir(step) or session.report(metrics, checkpoint=...)); drop "
            f"{given}"
        )
    warnings.warn(
        f"{given} is ignored for the function trainable {name!r}, as in Ray Tune 0.x-1.x (a "
        f"function saves its checkpoints itself, with tune.checkpoint_dir(step) or "
        f"session.report(metrics, checkpoint=...)); Ray Tune 2.x raises for it",
        UserWarning,
        stacklevel=_outside_tunelab(),
    )
    return 0, False


def _outside_tunelab() -> int:
    """The ``stacklevel`` of the first caller outside the tunelab package, for a warning
    issued by the function that calls this (``tune.run``, ``run_experiments`` and
    ``Experiment`` reach it at different depths)."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(package):
        frame = frame.f_back
        level += 1
    return level


def _takes_checkpoint_dir(trainable: Any) -> bool:
    """True when the function accepts a ``checkpoint_dir`` argument (Ray 1.x's
    checkpointable functions)."""
    try:
        parameters = inspect.signature(trainable).parameters
    except (TypeError, ValueError):
        return False
    return "checkpoint_dir" in parameters


def _reject_function_checkpointing(config: CheckpointConfig, name: str) -> None:
    used = []
    if config.checkpoint_frequency:
        used.append(f"checkpoint_frequency={config.checkpoint_frequency} (checkpoint_freq)")
    if config.checkpoint_at_end:
        used.append("checkpoint_at_end=True")
    if used:
        raise TuneValueError(
            f"{' and '.join(used)} is only supported for class trainables, and {name!r} is a "
            f"function trainable; a function saves checkpoints itself by reporting them with "
            f"session.report(metrics, checkpoint=Checkpoint.from_directory(...)) instead"
        )


def _export_formats(value: Any) -> list[str]:
    """``export_formats`` as a list of format names for the trainable's ``_export_model``.

    As in Ray Tune 0.x-1.x any name is passed on (the trainable decides what it can export,
    e.g. by calling ``ExportFormat.validate``); the built-in names (``"checkpoint"``,
    ``"model"``, ``"onnx"``, ``"h5"``) are normalised to lower case. Only the type is
    checked: None, a string, or a list/tuple of non-empty strings.
    """
    rule = f"None, a format name (such as {list(EXPORT_FORMATS)}) or a list of them"
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise TuneTypeError(f"export_formats must be {rule}, got {value!r}")
    formats = []
    for item in items:
        if not isinstance(item, str):
            raise TuneTypeError(
                f"export_formats must be {rule}; it holds {item!r}, which is not a string"
            )
        if not item.strip():
            raise TuneValueError(f"export_formats must be {rule}; it holds the empty name {item!r}")
        normal = item.strip().lower()
        formats.append(normal if normal in EXPORT_FORMATS else item)
    return formats


def _logger_classes(value: Any, argument: str) -> list[Any] | None:
    """None or a list of 0.x logger classes (or factories); returned as a new list."""
    if value is None:
        return None
    rule = "None or a list of Logger classes"
    if not isinstance(value, (list, tuple)):
        raise TuneTypeError(f"{argument} must be {rule}, got {value!r}")
    for item in value:
        if not callable(item):
            raise TuneTypeError(f"{argument} must be {rule}; the list holds {item!r}")
    return list(value)
