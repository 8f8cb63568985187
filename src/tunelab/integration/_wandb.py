"""Weights & Biases: :class:`WandbLoggerCallback`, :func:`setup_wandb`, :func:`wandb_mixin`,
:class:`WandbTrainableMixin` and the legacy :class:`WandbLogger`.

Needs the ``wandb`` extra; importing this module does not import wandb, using a name does.
"""

from __future__ import annotations

import functools
import json
import logging
import numbers
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tunelab._errors import require
from tunelab.integration._tracker import (
    FINISHED,
    TrackerCallback,
    TrackerLogger,
    TrialInfo,
    at_trial_exit,
    check_timeout,
)
from tunelab.utils._util import flatten_dict

__all__ = [
    "WANDB_ENV_VAR",
    "WANDB_GROUP_ENV_VAR",
    "WANDB_MODE_ENV_VAR",
    "WANDB_PROJECT_ENV_VAR",
    "WandbLogger",
    "WandbLoggerCallback",
    "WandbTrainableMixin",
    "setup_wandb",
    "wandb_mixin",
]

_log = logging.getLogger("tunelab.integration")

#: The environment variables Ray's integration reads (same names).
WANDB_ENV_VAR = "WANDB_API_KEY"
WANDB_PROJECT_ENV_VAR = "WANDB_PROJECT_NAME"
WANDB_GROUP_ENV_VAR = "WANDB_GROUP_NAME"
WANDB_MODE_ENV_VAR = "WANDB_MODE"

#: Seconds the end of an experiment waits for pending uploads by default (Ray's default).
DEFAULT_UPLOAD_TIMEOUT_S = 1800.0
_EXIT_CODES = {FINISHED: 0}  # FAILED and KILLED end with exit code 1 (W&B: "failed")


def _import_wandb() -> Any:
    return require("wandb", extra="wandb", feature="The Weights & Biases integration")


# -- values W&B can take --------------------------------------------------------------
def _is_media(obj: Any) -> bool:
    """A W&B data type (``wandb.Image``, ``wandb.Video``, ``wandb.Table``...), checked
    without importing wandb when it is not loaded."""
    return any(
        klass.__module__.startswith("wandb.") and klass.__name__ == "WBValue"
        for klass in type(obj).__mro__
    )


def _is_loggable(obj: Any) -> bool:
    """Whether ``wandb.log`` can chart ``obj``: a number (also a one-element numpy array)
    or W&B media (or a non-empty list of media)."""
    if isinstance(obj, bool):
        return True
    if isinstance(obj, numbers.Number):
        return True
    size = getattr(obj, "size", None)
    if size == 1 and hasattr(obj, "item"):
        return isinstance(obj.item(), numbers.Number)
    if isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)) and obj:
        return _is_media(obj[0])
    return _is_media(obj)


def _clean(obj: Any) -> Any:
    """A copy of ``obj`` W&B can store: dicts, lists and tuples kept (recursively), numbers
    and media as they are, other values kept when JSON can encode them, else their
    ``str`` (turned back into an int or float when it reads as one)."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, set)):
        return [_clean(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_clean(v) for v in obj)
    if _is_loggable(obj) or obj is None or isinstance(obj, str):
        return obj
    try:
        json.dumps(obj)
        return obj
    except (TypeError, ValueError, OverflowError):
        pass
    text = str(obj)
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    return text


def _matches(key: str, names: Sequence[str]) -> bool:
    return any(key == name or key.startswith(name + "/") for name in names)


# -- API key, project ------------------------------------------------------------------
def _set_api_key(
    api_key_file: str | None = None, api_key: str | None = None, mode: Any = None
) -> None:
    """Ray's rule: nothing to do in W&B's offline or disabled mode (``mode``, else
    ``WANDB_MODE``); else the key from ``api_key`` or the first line of ``api_key_file``
    (not both) goes to ``WANDB_API_KEY``; without either, ``WANDB_API_KEY`` or a
    ``wandb login`` must be there (``ValueError``)."""
    if (mode or os.environ.get(WANDB_MODE_ENV_VAR)) in {"offline", "disabled"}:
        return
    if api_key_file:
        if api_key:
            raise ValueError("W&B: pass api_key or api_key_file, not both")
        with open(os.path.expanduser(api_key_file)) as fh:
            api_key = fh.readline().strip()
    if api_key:
        os.environ[WANDB_ENV_VAR] = api_key
        return
    if os.environ.get(WANDB_ENV_VAR):
        return
    wandb = _import_wandb()
    try:
        wandb.ensure_configured()
        if wandb.api.api_key:
            return
    except AttributeError:
        pass
    raise ValueError(
        f"W&B: no API key found; set the {WANDB_ENV_VAR} environment variable, pass "
        "api_key or api_key_file, run `wandb login`, or log offline with WANDB_MODE=offline"
    )


def _project(project: str | None) -> str | None:
    return project or os.environ.get(WANDB_PROJECT_ENV_VAR) or None


# -- the run of one trial, driven from the callback's helper thread ----------------------
class _WandbTrialRun:
    """One trial's W&B run: :meth:`start` (``wandb.init``), :meth:`log` (a result: the
    values W&B can chart go to ``run.log`` at step ``training_iteration``, the
    ``to_config`` keys to ``run.config``, the ``exclude`` keys nowhere),
    :meth:`save_checkpoint` (a directory as a ``model`` artifact) and :meth:`finish`.

    The callback makes its class an attribute (``_logger_process_cls``, also
    ``_logger_actor_cls``) that tests may replace, as Ray's own scripts do with a mock.
    """

    def __init__(self, exclude: Sequence[str], to_config: Sequence[str], **init_kwargs: Any):
        self.exclude = list(exclude)
        self.to_config = list(to_config)
        self.init_kwargs = init_kwargs
        self.run: Any = None

    def start(self) -> None:
        wandb = _import_wandb()
        directory = self.init_kwargs.get("dir")
        if directory:
            os.makedirs(directory, exist_ok=True)
        self.run = wandb.init(**self.init_kwargs)
        if directory:
            self.run.config.update({"trial_log_path": directory}, allow_val_change=True)

    def log(self, result: dict[str, Any]) -> None:
        log, config_update = self.split(result)
        if config_update:
            self.run.config.update(config_update, allow_val_change=True)
        step = result.get("training_iteration")
        self.run.log(log, step=step if isinstance(step, int) else None)

    def split(self, result: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(what goes to ``run.log``, what goes to ``run.config``)."""
        config_update = {
            k: v
            for k, v in (result.get("config") or {}).items()
            if k != "callbacks" and not _matches(str(k), self.exclude)
        }
        log: dict[str, Any] = {}
        for key, value in flatten_dict(result, delimiter="/").items():
            key = str(key)
            if _matches(key, self.exclude):
                continue
            if _matches(key, self.to_config):
                config_update[key] = value
            elif _is_loggable(value):
                log[key] = value
        return log, config_update

    def save_checkpoint(self, path: str) -> None:
        wandb = _import_wandb()
        name = re.sub(r"[^\w.-]", "_", f"checkpoint_{self.init_kwargs.get('name', 'trial')}")
        artifact = wandb.Artifact(name=name, type="model")
        artifact.add_dir(path)
        self.run.log_artifact(artifact)

    def finish(self, exit_code: int = 0) -> None:
        self.run.finish(exit_code=exit_code)


class WandbLoggerCallback(TrackerCallback):
    """Logs every trial to Weights & Biases: one run per trial (``id`` the trial id,
    ``name`` the trial name, ``group`` the ``group`` argument or ``WANDB_GROUP_NAME``, else
    the experiment's directory name; the config without ``excludes`` as the run config).

    Every result: its values W&B can chart (numbers, W&B media; nested keys joined with
    "/") via ``run.log`` at step ``training_iteration``; ``trial_id``, ``experiment_tag``,
    ``node_ip``, ``experiment_id``, ``hostname``, ``pid`` and ``date`` go to the run config
    instead; ``done``, ``should_checkpoint``, ``excludes`` and (unless ``log_config``) the
    result's ``config`` are left out. ``upload_checkpoints=True`` (``save_checkpoints`` is
    its old name) logs each checkpoint directory as a ``model`` artifact. A trial's end
    finishes its run (exit code 0, or 1 when it failed or the experiment ended first).

    ``project`` (or ``WANDB_PROJECT_NAME``) is required; the API key comes from
    ``api_key``, ``api_key_file``, ``WANDB_API_KEY`` or ``wandb login`` and is not needed
    with ``WANDB_MODE=offline``. Other keyword arguments go to ``wandb.init`` (``dir``
    defaults to the trial's directory). W&B's calls run in a helper thread of the driver
    (several runs at once, ``reinit="create_new"``): a slow or failing W&B never stalls or
    fails the experiment, and the end of the experiment waits at most ``upload_timeout``
    seconds for pending uploads. ``video_kwargs``/``image_kwargs`` are accepted for Ray 2.x
    code; media are logged as reported.

    Args:
        project: The W&B project (required here or as ``WANDB_PROJECT_NAME``).
        group: The runs' group; default ``WANDB_GROUP_NAME``, else the experiment's
            directory name.
        api_key_file: A file whose first line is the API key.
        api_key: The API key (give it or ``api_key_file``, not both).
        excludes: Result keys (and their nested keys) not logged, and config keys not
            put in the run config.
        log_config: Also log each result's ``config`` (default False).
        upload_checkpoints: Log each checkpoint directory as a ``model`` artifact (default
            False).
        save_checkpoints: The old name of ``upload_checkpoints`` (deprecated: warns).
        upload_timeout: Seconds the end of the experiment waits for pending W&B calls, > 0
            (default 1800).
        video_kwargs: Accepted for Ray 2.x code; not used.
        image_kwargs: Accepted for Ray 2.x code; not used.
        **kwargs: Passed to ``wandb.init`` (``entity``, ``mode``, ``tags``, ``dir``...).

    Raises:
        TypeError: ``project``, ``group`` or ``excludes`` has the wrong type.
        ValueError: ``upload_timeout`` is not > 0; at the experiment's start, no project
            or (online) no API key is found.
        ExtraNotInstalledError: wandb is not installed (an ``ImportError``).
    """

    tracker = "Weights & Biases"

    _exclude_results = ["done", "should_checkpoint"]
    AUTO_CONFIG_KEYS = [
        "trial_id",
        "experiment_tag",
        "node_ip",
        "experiment_id",
        "hostname",
        "pid",
        "date",
    ]
    _config_results = AUTO_CONFIG_KEYS  # Ray 1.x's name
    _logger_process_cls: Any = _WandbTrialRun
    _logger_actor_cls: Any = _WandbTrialRun

    def __init__(
        self,
        project: str | None = None,
        group: str | None = None,
        api_key_file: str | None = None,
        api_key: str | None = None,
        excludes: list[str] | None = None,
        log_config: bool = False,
        upload_checkpoints: bool = False,
        save_checkpoints: bool = False,
        upload_timeout: float = DEFAULT_UPLOAD_TIMEOUT_S,
        video_kwargs: dict[str, Any] | None = None,
        image_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(flush_timeout_s=check_timeout("upload_timeout", upload_timeout))
        for name, value in (("project", project), ("group", group)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a string or None, got {value!r}")
        if excludes is not None and (
            isinstance(excludes, str) or not all(isinstance(e, str) for e in excludes)
        ):
            raise TypeError(f"excludes must be a list of result keys, got {excludes!r}")
        _import_wandb()  # fails here, in the driver, without the extra
        if save_checkpoints:
            import warnings

            warnings.warn(
                "save_checkpoints is deprecated; use upload_checkpoints",
                DeprecationWarning,
                stacklevel=2,
            )
            upload_checkpoints = True
        self.project = project
        self.group = group
        self.api_key_path = api_key_file
        self.api_key = api_key
        self.excludes = list(excludes or [])
        self.log_config = bool(log_config)
        self.upload_checkpoints = bool(upload_checkpoints)
        self.video_kwargs = dict(video_kwargs or {})
        self.image_kwargs = dict(image_kwargs or {})
        self.kwargs = kwargs
        self._drop_config: tuple[str, ...] = ("callbacks",)

    def setup(
        self,
        stop: Any = None,
        num_samples: int | None = None,
        total_num_samples: int | None = None,
        **info: Any,
    ) -> None:
        """Check the API key and the project before the first trial starts.

        Args:
            stop: The experiment's stop criterion (not used).
            num_samples: The experiment's ``num_samples`` (not used).
            total_num_samples: How many trials the run creates (not used).
            **info: Other keyword arguments (not used).

        Raises:
            ValueError: No project is set, or (online) no API key is found.
        """
        _set_api_key(self.api_key_path, self.api_key, self.kwargs.get("mode"))
        self.project = _project(self.project)
        if not self.project:
            raise ValueError(
                "WandbLoggerCallback: pass project=... or set the "
                f"{WANDB_PROJECT_ENV_VAR} environment variable"
            )
        if not self.group and os.environ.get(WANDB_GROUP_ENV_VAR):
            self.group = os.environ.get(WANDB_GROUP_ENV_VAR)

    def _wants_checkpoints(self) -> bool:
        return self.upload_checkpoints

    def _process_cls(self) -> Any:
        # Ray 1.x's scripts replace _logger_process_cls, Ray 2.x's _logger_actor_cls.
        cls = self._logger_process_cls
        return self._logger_actor_cls if cls is _WandbTrialRun else cls

    # -- the helper thread ------------------------------------------------------------
    def _tracker_start(self, info: TrialInfo, reference: Any) -> Any:
        exclude = [*self._exclude_results, *self.excludes]
        if not self.log_config:
            exclude.append("config")
        config = {k: v for k, v in info.config.items() if k not in self._drop_config}
        config = {k: v for k, v in _clean(config).items() if k not in self.excludes}
        init_kwargs: dict[str, Any] = {
            "id": info.trial_id,
            "name": info.name,
            "resume": "allow",
            "allow_val_change": True,
            "group": self.group or info.experiment_dir_name or info.trainable_name,
            "project": self.project,
            "config": config,
        }
        if info.local_path:
            init_kwargs["dir"] = info.local_path
        init_kwargs.update(self.kwargs)
        init_kwargs["reinit"] = "create_new"  # several trials' runs open at once
        handle = self._process_cls()(
            exclude=exclude, to_config=list(self.AUTO_CONFIG_KEYS), **init_kwargs
        )
        handle.start()
        return handle

    def _tracker_log(self, handle: Any, info: TrialInfo, result: dict[str, Any]) -> None:
        config = result.get("config")
        if isinstance(config, dict):
            drop = (*self._drop_config, *self.excludes)
            result = {**result, "config": {k: v for k, v in config.items() if k not in drop}}
        handle.log(_clean(result))

    def _tracker_save(self, handle: Any, info: TrialInfo, checkpoint_path: str) -> None:
        handle.save_checkpoint(checkpoint_path)

    def _tracker_end(self, handle: Any, info: TrialInfo, status: str) -> None:
        handle.finish(exit_code=_EXIT_CODES.get(status, 1))

    def _tracker_label(self) -> str:
        return f"{type(self).__name__} (project {self.project!r})"


WandbLoggerCallback.__module__ = "tunelab.integration.wandb"


# -- in the trial: setup_wandb, wandb_mixin, WandbTrainableMixin --------------------------
_opened: dict[int, str] = {}  # id(run) -> trial id, for runs this worker process opened


def _trial_facts() -> tuple[str | None, str | None, str | None]:
    from tunelab import _session

    session = _session._get_session()
    if session is None:
        return None, None, None
    context = session.context
    return context.get_trial_id(), context.get_trial_name(), context.get_experiment_name()


def _finish_stale_run(wandb: Any, trial_id: str) -> None:
    """End a run an earlier trial left open in this (reused) worker process."""
    run = getattr(wandb, "run", None)
    if run is not None and _opened.get(id(run)) not in (None, trial_id):
        _close_run(wandb, run)


def _close_run(wandb: Any, run: Any) -> None:
    """Finish ``run`` and stop W&B's service process: tunelab ends the processes a trial
    started when it ends, so the next trial in this worker must start a new one."""
    _opened.pop(id(run), None)
    try:
        run.finish()
    except Exception as exc:
        _log.warning("W&B: finishing the run of this trial failed: %s", exc)
    teardown = getattr(wandb, "teardown", None)
    if teardown is not None:
        try:
            teardown()
        except Exception as exc:
            _log.debug("W&B: teardown failed: %s", exc)


def _init_run(wandb: Any, trial_id: str, kwargs: dict[str, Any], *, at_trial_end: bool) -> Any:
    _finish_stale_run(wandb, trial_id)
    run = wandb.init(**kwargs)
    _opened[id(run)] = trial_id
    if at_trial_end:
        at_trial_exit(functools.partial(_close_run, wandb, run))
    return run


def setup_wandb(
    config: dict[str, Any] | None = None,
    api_key: str | None = None,
    api_key_file: str | None = None,
    rank_zero_only: bool = True,
    **kwargs: Any,
) -> Any:
    """Start a W&B run for this trial (call it in the trainable) and return it.

    The run's ``id`` is the trial id, its ``name`` the trial name and its ``group`` the
    experiment name (or ``WANDB_GROUP_NAME``); ``project`` defaults to
    ``WANDB_PROJECT_NAME``. The run is finished when the trial ends; a run an earlier trial
    left open in this worker process is finished first.

    Args:
        config: The trial's config, logged as the run config (without its ``wandb``
            entry, whose settings are used as ``wandb.init`` arguments, as Ray 2.0-2.4
            read them).
        api_key: The API key (else ``api_key_file``, ``WANDB_API_KEY`` or ``wandb
            login``; not needed with ``WANDB_MODE=offline``).
        api_key_file: A file whose first line is the API key.
        rank_zero_only: No effect (a trial runs in one process).
        **kwargs: Passed to ``wandb.init``; they win over the defaults above.

    Returns:
        The W&B run (what ``wandb.init`` returns).

    Raises:
        ValueError: Online, and no API key is found.
        ExtraNotInstalledError: wandb is not installed (an ``ImportError``).
    """
    wandb = kwargs.pop("_wandb", None) or _import_wandb()
    config = dict(config or {})
    settings = config.pop("wandb", None)
    settings = dict(settings) if isinstance(settings, Mapping) else {}
    api_key = api_key or settings.pop("api_key", None)
    api_key_file = api_key_file or settings.pop("api_key_file", None)
    settings.pop("api_key", None)
    settings.pop("api_key_file", None)
    trial_id, trial_name, experiment_name = _trial_facts()
    _set_api_key(api_key_file, api_key, kwargs.get("mode") or settings.get("mode"))
    init_kwargs: dict[str, Any] = {
        "id": kwargs.pop("trial_id", None) or trial_id,
        "name": kwargs.pop("trial_name", None) or trial_name,
        "group": os.environ.get(WANDB_GROUP_ENV_VAR) or experiment_name,
        "project": _project(None),
        "resume": "allow",
        "allow_val_change": True,
        "config": _clean(config),
    }
    init_kwargs.update(settings)
    init_kwargs.update(kwargs)
    return _init_run(wandb, trial_id or "", init_kwargs, at_trial_end=True)


def _finish(wandb: Any) -> None:
    run = getattr(wandb, "run", None)
    if run is not None and id(run) in _opened:
        _close_run(wandb, run)


class WandbTrainableMixin:
    """Mixin for a :class:`~tunelab.Trainable` (``class T(WandbTrainableMixin, Trainable)``).

    A run (``id`` the trial id, ``name`` the trial name, ``group`` the class name) is
    started before the trainable's setup, as ``self.wandb``, so that ``wandb.log`` calls
    log into it; :meth:`stop` finishes it (Ray 1.x). ``_wandb`` is the ``wandb`` module to
    use (a class attribute tests may replace).

    Args:
        config: The trial's config; ``config["wandb"]`` holds ``wandb.init`` keyword
            arguments (``project`` required) and ``api_key``/``api_key_file``. That entry
            is removed from the config the trainable sees.
        *args: Passed on to the trainable's constructor.
        **kwargs: Passed on to the trainable's constructor.

    Raises:
        TypeError: The class is not mixed into a :class:`~tunelab.Trainable`.
        ValueError: ``config["wandb"]`` is missing or has no ``project``.
    """

    _wandb: Any = None

    def __init__(self, config: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        from tunelab.trainable import Trainable

        if not isinstance(self, Trainable):
            raise TypeError(
                "WandbTrainableMixin can only be mixed into a tunelab Trainable: "
                f"class {type(self).__name__}(WandbTrainableMixin, Trainable)"
            )
        config = dict(config or {})
        settings = config.pop("wandb", None)
        if not isinstance(settings, Mapping):
            raise ValueError(
                "Wandb mixin: the config has no 'wandb' dict; add config['wandb'] = "
                "{'project': ...} (plus api_key_file or api_key when logging online)"
            )
        super().__init__(config, *args, **kwargs)  # type: ignore[call-arg]
        wandb = type(self)._wandb or _import_wandb()
        self._wandb_module = wandb
        group = type(self).__name__
        self.wandb = _start_mixin_run(wandb, dict(settings), config, group)

    def stop(self) -> None:
        """Finish the trial's W&B run, then call the trainable's own ``stop``."""
        _finish(self._wandb_module)
        parent = getattr(super(), "stop", None)
        if parent is not None:
            parent()


WandbTrainableMixin.__module__ = "tunelab.integration.wandb"


def _start_mixin_run(
    wandb: Any, settings: dict[str, Any], config: dict[str, Any], default_group: str
) -> Any:
    api_key_file = settings.pop("api_key_file", None)
    _set_api_key(api_key_file, settings.pop("api_key", None), settings.get("mode"))
    project = settings.pop("project", None)
    if not project:
        raise ValueError("Wandb mixin: config['wandb'] has no 'project'; add the W&B project")
    trial_id, trial_name, _ = _trial_facts()
    init_kwargs: dict[str, Any] = {
        "id": trial_id,
        "name": trial_name,
        "resume": "allow",
        "allow_val_change": True,
        "group": settings.pop("group", default_group),
        "project": project,
        "config": _clean(config),
    }
    init_kwargs.update(settings)
    return _init_run(wandb, trial_id or "", init_kwargs, at_trial_end=False)


def wandb_mixin(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for a function trainable: a W&B run is active while it runs (Ray 1.x).

    ``wandb.log`` calls inside the function log into the trial's run. ``group`` defaults to
    the function's name. The run is finished when the function returns or raises. Setting
    the decorated function's ``__mixins__`` to a tuple without :class:`WandbTrainableMixin`
    turns the run off (as Ray's test scripts do).

    Args:
        func: The function trainable. Its ``config["wandb"]`` holds ``wandb.init`` keyword
            arguments (``project`` required) and ``api_key``/``api_key_file``; the function
            gets the config without that entry.

    Returns:
        The wrapped function.

    Raises:
        TypeError: ``func`` is a class or not callable.
    """
    if isinstance(func, type) or not callable(func):
        raise TypeError(
            "wandb_mixin decorates a function trainable; for a Trainable class inherit from "
            f"WandbTrainableMixin instead, got {func!r}"
        )

    @functools.wraps(func)
    def with_wandb(*args: Any, **kwargs: Any) -> Any:
        if WandbTrainableMixin not in getattr(with_wandb, "__mixins__", ()):
            return func(*args, **kwargs)
        if args:
            config, rest = dict(args[0] or {}), args[1:]
        else:
            config, rest = dict(kwargs.pop("config", None) or {}), ()
        settings = config.pop("wandb", None)
        if not isinstance(settings, Mapping):
            raise ValueError(
                "wandb_mixin: the config has no 'wandb' dict; add config['wandb'] = "
                "{'project': ...} (plus api_key_file or api_key when logging online)"
            )
        wandb = _import_wandb()
        _start_mixin_run(wandb, dict(settings), config, getattr(func, "__name__", "trainable"))
        try:
            return func(config, *rest, **kwargs)
        finally:
            _finish(wandb)

    with_wandb.__mixins__ = (  # type: ignore[attr-defined]
        *getattr(func, "__mixins__", ()),
        WandbTrainableMixin,
    )
    return with_wandb


# -- the legacy Logger API (Ray Tune 0.8-1.x's WandbLogger) --------------------------------
class WandbLogger(TrackerLogger):
    """Legacy per-trial logger (``loggers=DEFAULT_LOGGERS + (WandbLogger,)``).

    Logs the trial like :class:`WandbLoggerCallback`, configured from ``config["wandb"]``
    (or ``config["logger_config"]["wandb"]``): ``project`` (required), ``api_key_file``/
    ``api_key``, ``excludes``, ``log_config``, ``group`` (default: the trainable's name) and
    other ``wandb.init`` arguments. Those entries are not logged as the run's config. Each
    trial's logger runs its own helper thread; ``close`` does not wait for it, the end of
    the experiment does (at most ``flush_timeout_s``).
    ``_logger_process_cls`` replaces the per-trial run class (as Ray's scripts do with a
    mock).

    Args:
        config: The trial's config, with the settings above.
        logdir: The trial's directory.
        trial: The trial, or None.

    Raises:
        ValueError: The config has no ``wandb`` settings or no ``project``.
    """

    _experiment_logger_cls = WandbLoggerCallback
    _logger_process_cls: Any = _WandbTrialRun

    def _init(self) -> None:
        config = dict(self.config) if isinstance(self.config, Mapping) else {}
        logger_config = config.get("logger_config")
        if isinstance(logger_config, Mapping) and isinstance(logger_config.get("wandb"), Mapping):
            settings = dict(logger_config["wandb"])
        elif isinstance(config.get("wandb"), Mapping):
            settings = dict(config["wandb"])
        else:
            raise ValueError(
                "WandbLogger: the config has no 'wandb' dict; add config['wandb'] = "
                "{'project': ...} (plus api_key_file or api_key when logging online)"
            )
        project = settings.pop("project", None)
        if not project:
            raise ValueError("WandbLogger: config['wandb'] has no 'project'; add the project")
        trainable = getattr(self.trial, "trainable_name", None)
        callback = self._experiment_logger_cls(
            project=project,
            group=settings.pop("group", trainable),
            api_key_file=settings.pop("api_key_file", None),
            api_key=settings.pop("api_key", None),
            excludes=list(settings.pop("excludes", []) or []),
            log_config=bool(settings.pop("log_config", False)),
            **settings,
        )
        callback._logger_process_cls = type(self)._logger_process_cls
        callback._drop_config = ("callbacks", "wandb", "logger_config")
        callback.setup()
        self._callback = callback
        trial = self.trial
        if trial is not None:
            callback.log_trial_start(trial)
            self._trial_id = str(trial.trial_id)
        else:
            name = os.path.basename(self.logdir) or "trial"
            info = TrialInfo(name, name, "", config, {}, self.logdir, "", "")
            callback._submit("start", name, info)
            self._trial_id = name


WandbLogger.__module__ = "tunelab.integration.wandb"
