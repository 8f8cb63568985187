"""MLflow: :class:`MLflowLoggerCallback`, :func:`setup_mlflow`, :func:`mlflow_mixin`,
:class:`MLflowTrainableMixin` and the legacy :class:`MLflowLogger` (0.8's ``MLFLowLogger``).

Needs the ``mlflow`` extra; importing this module does not import mlflow, using a name does.
"""

from __future__ import annotations

import functools
import logging
import numbers
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from tunelab._errors import require
from tunelab.integration._tracker import (
    FAILED,
    FINISHED,
    KILLED,
    TrackerCallback,
    TrackerLogger,
    TrialInfo,
    at_trial_exit,
    check_timeout,
)
from tunelab.utils._util import flatten_dict

__all__ = [
    "MLFLowLogger",
    "MLflowLogger",
    "MLflowLoggerCallback",
    "MLflowTrainableMixin",
    "mlflow_mixin",
    "setup_mlflow",
]

_log = logging.getLogger("tunelab.integration")

#: MLflow's limits per ``log_batch`` request.
_MAX_METRICS_PER_BATCH = 1000
_MAX_PARAMS_PER_BATCH = 100
#: Result keys never logged as metrics (Ray's callbacks drop them too).
_NOT_METRICS = frozenset({"done", "should_checkpoint"})


def _import_mlflow() -> Any:
    return require("mlflow", extra="mlflow", feature="The MLflow integration")


def _check_optional_str(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string or None, got {value!r}")
    return value


def _check_tags(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"tags must be a dict of strings or None, got {value!r}")
    return {str(k): str(v) for k, v in value.items()}


def _max_param_length() -> int:
    try:
        from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH

        return int(MAX_PARAM_VAL_LENGTH)
    except Exception:
        return 500


def params_of(config: Mapping[str, Any], drop: tuple[str, ...] = ()) -> dict[str, str]:
    """MLflow params for a trial config: nested keys joined with "/", values as text
    (cut to MLflow's length limit), ``callbacks`` and the keys in ``drop`` left out."""
    limit = _max_param_length()
    out: dict[str, str] = {}
    kept = {k: v for k, v in config.items() if k not in drop and k != "callbacks"}
    for key, value in flatten_dict(kept, delimiter="/").items():
        text = str(value)
        out[str(key)] = text if len(text) <= limit else text[: limit - 3] + "..."
    return out


def metrics_of(result: Mapping[str, Any]) -> dict[str, float]:
    """The numeric values of a result, nested keys joined with "/" (``done`` and
    ``should_checkpoint`` left out), as MLflow metrics."""
    out: dict[str, float] = {}
    for key, value in flatten_dict(dict(result), delimiter="/").items():
        if key in _NOT_METRICS:
            continue
        if isinstance(value, numbers.Number) or type(value).__name__ in ("bool_", "bool"):
            try:
                out[str(key)] = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError, OverflowError):
                continue
    return out


def step_of(result: Mapping[str, Any]) -> int:
    """The step a result is logged at: ``timesteps_total`` when reported, else
    ``training_iteration`` (as in Ray Tune)."""
    step = result.get("timesteps_total") or result.get("training_iteration") or 0
    try:
        return int(step)
    except (TypeError, ValueError):
        return 0


class _Run:
    """The helper thread's handle of one trial's MLflow run."""

    __slots__ = ("params", "run_id")

    def __init__(self, run_id: str, params: dict[str, str] | None = None) -> None:
        self.run_id = run_id
        self.params: dict[str, str] = dict(params or {})


class MLflowLoggerCallback(TrackerCallback):
    """Logs every trial to MLflow: one run per trial, named after the trial.

    * at trial start: a run in ``experiment_name`` (created when it does not exist; default
      the ``MLFLOW_EXPERIMENT_NAME`` environment variable, else the tunelab experiment's
      name, where Ray raises) with ``tags`` plus ``trial_name``, and the trial's config as
      params (nested keys joined with "/"; with ``log_params_on_trial_end=True`` at the end
      instead). A restarted trial logs into the same run; a config value that changed (PBT)
      cannot be logged again as a param (MLflow forbids it) and stays visible as the
      ``config/<key>`` metric;
    * every result: its numeric values (nested keys joined with "/") as metrics at step
      ``timesteps_total`` if reported, else ``training_iteration``, in one request;
    * at trial end: the trial directory as artifacts when ``save_artifact=True``, then the
      run's status: ``FINISHED``, ``FAILED`` (the trial errored) or ``KILLED`` (the
      experiment ended first).

    ``tracking_uri`` and ``registry_uri`` default to MLflow's own defaults
    (``MLFLOW_TRACKING_URI``...); ``tracking_token`` is set as ``MLFLOW_TRACKING_TOKEN``.
    MLflow's calls run in a helper thread of the driver: a slow or unreachable server never
    stalls the experiment, and a failure is logged once per trial; ``flush_timeout_s``
    bounds how long the end of the experiment waits for pending calls. The positional order
    is Ray 1.x's. A resumed experiment logs into the trials' earlier runs.

    Args:
        tracking_uri: Where MLflow logs: a server URL, ``sqlite:///mlflow.db``, a
            ``file:`` folder (MLflow 3 needs ``MLFLOW_ALLOW_FILE_STORE=true`` for that)...;
            default MLflow's own (``MLFLOW_TRACKING_URI`` when set).
        registry_uri: MLflow's model registry URI (default MLflow's own).
        experiment_name: The MLflow experiment the runs go to, created when missing;
            default ``MLFLOW_EXPERIMENT_NAME``, else the tunelab experiment's name.
            ``MLFLOW_EXPERIMENT_ID`` names an existing experiment by id instead.
        tags: Tags of every run (values turned to strings); ``trial_name`` is added.
        save_artifact: Upload the trial directory as the run's artifacts when the trial
            ends (default False).
        tracking_token: Set as ``MLFLOW_TRACKING_TOKEN`` (keyword only).
        log_params_on_trial_end: Log the config as params when the trial ends instead of
            when it starts (keyword only; default False).
        flush_timeout_s: Seconds the end of the experiment waits for pending MLflow calls,
            > 0 (keyword only; default 60).

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: ``flush_timeout_s`` is not > 0.
        ExtraNotInstalledError: mlflow is not installed (an ``ImportError``).
    """

    tracker = "MLflow"
    _transient = (*TrackerCallback._transient, "_client")

    def __init__(
        self,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        experiment_name: str | None = None,
        tags: dict[str, Any] | None = None,
        save_artifact: bool = False,
        *,
        tracking_token: str | None = None,
        log_params_on_trial_end: bool = False,
        flush_timeout_s: float = 60.0,
    ) -> None:
        super().__init__(flush_timeout_s=check_timeout("flush_timeout_s", flush_timeout_s))
        self.tracking_uri = _check_optional_str("tracking_uri", tracking_uri)
        self.registry_uri = _check_optional_str("registry_uri", registry_uri)
        self.experiment_name = _check_optional_str("experiment_name", experiment_name)
        self.tags = _check_tags(tags)
        self.tracking_token = _check_optional_str("tracking_token", tracking_token)
        if not isinstance(save_artifact, bool):
            raise TypeError(f"save_artifact must be True or False, got {save_artifact!r}")
        if not isinstance(log_params_on_trial_end, bool):
            raise TypeError(
                f"log_params_on_trial_end must be True or False, got {log_params_on_trial_end!r}"
            )
        self.should_save_artifact = save_artifact
        self.log_params_on_trial_end = log_params_on_trial_end
        _import_mlflow()  # fails here, in the driver, without the extra
        self._client: Any = None
        self._experiment_id: str | None = None
        #: an experiment id to log into (0.8's ``mlflow_experiment_id``), else by name
        self._wanted_experiment_id: str | None = None
        self._drop_params: tuple[str, ...] = ()

    @property
    def experiment_id(self) -> str | None:
        """The MLflow experiment the runs go to (known once the first run started)."""
        return self._experiment_id

    # -- the helper thread ------------------------------------------------------------
    def _tracker_setup(self) -> None:
        if self.tracking_token:
            os.environ["MLFLOW_TRACKING_TOKEN"] = self.tracking_token
        from mlflow.tracking import MlflowClient

        self._client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)

    def _resolve_experiment(self, info: TrialInfo) -> str:
        if self._experiment_id is not None:
            return self._experiment_id
        client = self._client
        wanted = self._wanted_experiment_id or os.environ.get("MLFLOW_EXPERIMENT_ID")
        if wanted:
            try:
                self._experiment_id = str(client.get_experiment(wanted).experiment_id)
                return self._experiment_id
            except Exception:
                if self._wanted_experiment_id:
                    raise
        name = (
            self.experiment_name
            or os.environ.get("MLFLOW_EXPERIMENT_NAME")
            or info.experiment_name
            or "tunelab"
        )
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            try:
                self._experiment_id = str(client.create_experiment(name))
            except Exception:  # created by someone else meanwhile
                experiment = client.get_experiment_by_name(name)
                if experiment is None:
                    raise
                self._experiment_id = str(experiment.experiment_id)
        else:
            self._experiment_id = str(experiment.experiment_id)
        return self._experiment_id

    def _tracker_start(self, info: TrialInfo, reference: Any) -> _Run:
        client = self._client
        if isinstance(reference, str):
            try:
                existing = client.get_run(reference)
            except Exception:
                existing = None
            if existing is not None:  # resumed experiment: reopen the trial's run
                client.update_run(reference, status="RUNNING")
                return _Run(reference, dict(existing.data.params))
        experiment_id = self._resolve_experiment(info)
        tags = dict(self.tags)
        tags["trial_name"] = info.name
        run = client.create_run(experiment_id=experiment_id, run_name=info.name, tags=tags)
        handle = _Run(run.info.run_id)
        if not self.log_params_on_trial_end:
            self._log_params(handle, info)
        return handle

    def _tracker_restart(self, handle: _Run, info: TrialInfo) -> None:
        if not self.log_params_on_trial_end:
            self._log_params(handle, info)

    def _tracker_reference(self, handle: _Run) -> str:
        return handle.run_id

    def _log_params(self, handle: _Run, info: TrialInfo) -> None:
        from mlflow.entities import Param

        params = params_of(info.config, self._drop_params)
        new = {k: v for k, v in params.items() if k not in handle.params}
        changed = [k for k, v in params.items() if k in handle.params and handle.params[k] != v]
        if changed:
            _log.debug("MLflow: params of %s changed and are not logged again: %s", info, changed)
        items = [Param(k, v) for k, v in new.items()]
        for start in range(0, len(items), _MAX_PARAMS_PER_BATCH):
            self._client.log_batch(
                handle.run_id, params=items[start : start + _MAX_PARAMS_PER_BATCH]
            )
        handle.params.update(new)

    def _tracker_log(self, handle: _Run, info: TrialInfo, result: dict[str, Any]) -> None:
        from mlflow.entities import Metric

        step = step_of(result)
        stamp = result.get("timestamp")
        millis = int((stamp if isinstance(stamp, (int, float)) else time.time()) * 1000)
        metrics = [Metric(k, v, millis, step) for k, v in metrics_of(result).items()]
        for start in range(0, len(metrics), _MAX_METRICS_PER_BATCH):
            self._client.log_batch(
                handle.run_id, metrics=metrics[start : start + _MAX_METRICS_PER_BATCH]
            )

    def _tracker_end(self, handle: _Run, info: TrialInfo, status: str) -> None:
        try:
            if self.should_save_artifact and info.local_path and os.path.isdir(info.local_path):
                self._client.log_artifacts(handle.run_id, info.local_path)
            if self.log_params_on_trial_end:
                self._log_params(handle, info)
        finally:
            self._client.set_terminated(handle.run_id, status=status)

    def _tracker_label(self) -> str:
        where = self.tracking_uri or "MLflow's default tracking URI"
        return f"{type(self).__name__} ({where})"


MLflowLoggerCallback.__module__ = "tunelab.integration.mlflow"


# -- in the trial: setup_mlflow, mlflow_mixin, MLflowTrainableMixin ---------------------
# The run this worker process opened for a trial (a reused worker ends it when it runs the
# next trial, so that trial does not log into it).
_opened: dict[str, str] = {}


def _end_stale_run(mlflow: Any, trial_id: str) -> None:
    active = mlflow.active_run()
    if active is None:
        return
    owner = _opened.get(active.info.run_id)
    if owner is not None and owner != trial_id:
        mlflow.end_run()
        _opened.pop(active.info.run_id, None)


def _experiment_for(
    mlflow: Any,
    experiment_id: str | None,
    experiment_name: str | None,
    artifact_location: str | None,
    create: bool,
) -> str:
    """Ray's rule: an existing experiment by id, else by name, else create it by name when
    ``create``; else ``ValueError`` naming both."""
    experiment_id = experiment_id or os.environ.get("MLFLOW_EXPERIMENT_ID")
    if experiment_id:
        try:
            found = mlflow.get_experiment(experiment_id)
        except Exception:
            found = None
        if found is not None:
            return str(found.experiment_id)
    experiment_name = experiment_name or os.environ.get("MLFLOW_EXPERIMENT_NAME")
    if experiment_name:
        found = mlflow.get_experiment_by_name(experiment_name)
        if found is not None:
            return str(found.experiment_id)
        if create:
            try:
                return str(
                    mlflow.create_experiment(experiment_name, artifact_location=artifact_location)
                )
            except Exception:  # another trial created it meanwhile
                found = mlflow.get_experiment_by_name(experiment_name)
                if found is None:
                    raise
                return str(found.experiment_id)
    raise ValueError(
        f"MLflow: no experiment with experiment_id={experiment_id!r} or "
        f"experiment_name={experiment_name!r} exists; create it first (for example with "
        "mlflow.set_experiment(name) before the run), pass the name of an existing one, or "
        "pass create_experiment_if_not_exists=True"
    )


def _trial_facts() -> tuple[str | None, str | None]:
    from tunelab import _session

    session = _session._get_session()
    if session is None:
        return None, None
    context = session.context
    return context.get_trial_id(), context.get_trial_name()


def setup_mlflow(
    config: dict[str, Any] | None = None,
    tracking_uri: str | None = None,
    registry_uri: str | None = None,
    experiment_id: str | None = None,
    experiment_name: str | None = None,
    tracking_token: str | None = None,
    artifact_location: str | None = None,
    run_name: str | None = None,
    create_experiment_if_not_exists: bool = False,
    tags: dict[str, Any] | None = None,
    rank_zero_only: bool = True,
) -> Any:
    """Start an MLflow run for this trial (call it in the trainable) and return ``mlflow``.

    The ``log_*`` functions of the returned module then log into that run, which ends
    (``FINISHED``) when the trial ends. Each argument left out is read from
    ``config["mlflow"]`` (Ray 2.0-2.4 read its settings there). An active run of the same
    trial is reused; a run an earlier trial left open in this worker process is ended
    first.

    Args:
        config: The trial's config; logged as params (without its ``mlflow`` entry).
        tracking_uri: Where MLflow logs (default MLflow's own).
        registry_uri: MLflow's model registry URI (default MLflow's own).
        experiment_id: An existing experiment to log into; default
            ``MLFLOW_EXPERIMENT_ID``, else (inside a trial) the trial's id.
        experiment_name: The experiment to log into when ``experiment_id`` names none;
            default ``MLFLOW_EXPERIMENT_NAME``, else (inside a trial) the trial's name.
        tracking_token: Set as ``MLFLOW_TRACKING_TOKEN``.
        artifact_location: The artifact location of an experiment created here.
        run_name: The run's name (default: the experiment's name).
        create_experiment_if_not_exists: Create ``experiment_name`` when it does not exist
            (default False).
        tags: The run's tags.
        rank_zero_only: No effect (a trial runs in one process).

    Returns:
        The ``mlflow`` module.

    Raises:
        ValueError: No experiment matches ``experiment_id``/``experiment_name`` (and none
            is to be created).
        ExtraNotInstalledError: mlflow is not installed (an ``ImportError``).
    """
    mlflow = _import_mlflow()
    config = dict(config or {})
    settings = config.pop("mlflow", None)
    settings = dict(settings) if isinstance(settings, Mapping) else {}
    tracking_uri = tracking_uri or settings.get("tracking_uri")
    registry_uri = registry_uri or settings.get("registry_uri")
    experiment_id = experiment_id or settings.get("experiment_id")
    experiment_name = experiment_name or settings.get("experiment_name")
    tracking_token = tracking_token or settings.get("tracking_token") or settings.get("token")
    trial_id, trial_name = _trial_facts()
    if not (experiment_id or os.environ.get("MLFLOW_EXPERIMENT_ID")):
        experiment_id = trial_id
    if not (experiment_name or os.environ.get("MLFLOW_EXPERIMENT_NAME")):
        experiment_name = trial_name
    if tracking_token:
        os.environ["MLFLOW_TRACKING_TOKEN"] = tracking_token
    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    if registry_uri:
        mlflow.set_registry_uri(registry_uri)
    _end_stale_run(mlflow, trial_id or "")
    chosen = _experiment_for(
        mlflow, experiment_id, experiment_name, artifact_location, create_experiment_if_not_exists
    )
    active = mlflow.active_run()
    if active is None:
        active = mlflow.start_run(
            run_name=run_name or experiment_name,
            experiment_id=chosen,
            tags={str(k): str(v) for k, v in (tags or {}).items()} or None,
        )
        _opened[active.info.run_id] = trial_id or ""
        at_trial_exit(functools.partial(_end_trial_run, FINISHED, active.info.run_id))
    params = params_of(config)
    if params:
        mlflow.log_params(params)
    return mlflow


def _start_trial_run(config: Mapping[str, Any], run_name: str, trial_id: str) -> Any:
    """The mixins' run: settings from ``config["mlflow"]`` (``tracking_uri``,
    ``experiment_id``/``experiment_name`` of an existing experiment, ``token``)."""
    settings = config.get("mlflow")
    if not isinstance(settings, Mapping):
        raise ValueError(
            "MLflow mixin: the config has no 'mlflow' dict; add config['mlflow'] = "
            "{'tracking_uri': ..., 'experiment_name': ...} (or 'experiment_id')"
        )
    mlflow = _import_mlflow()
    tracking_uri = settings.get("tracking_uri")
    if tracking_uri is None:
        raise ValueError(
            "MLflow mixin: config['mlflow'] has no 'tracking_uri'; add the tracking URI of "
            "the MLflow server or store to log to"
        )
    token = settings.get("token") or settings.get("tracking_token")
    if token:
        os.environ["MLFLOW_TRACKING_TOKEN"] = str(token)
    mlflow.set_tracking_uri(tracking_uri)
    _end_stale_run(mlflow, trial_id)
    chosen = _experiment_for(
        mlflow, settings.get("experiment_id"), settings.get("experiment_name"), None, False
    )
    active = mlflow.active_run()
    if active is None:
        active = mlflow.start_run(run_name=run_name.replace("/", "_"), experiment_id=chosen)
        _opened[active.info.run_id] = trial_id
    return mlflow


def _end_trial_run(status: str, run_id: str | None = None) -> None:
    """End the active run (only if it is ``run_id``, when given) with ``status``."""
    mlflow = _import_mlflow()
    active = mlflow.active_run()
    if active is not None and run_id in (None, active.info.run_id):
        _opened.pop(active.info.run_id, None)
        mlflow.end_run(status=status)


def _status_of(exc: BaseException | None) -> str:
    if exc is None:
        return FINISHED
    if isinstance(exc, Exception):
        return FAILED
    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
        return KILLED
    return FINISHED  # tunelab stopped the trial (StopTrial): it ended as decided


class MLflowTrainableMixin:
    """Mixin for a :class:`~tunelab.Trainable` (``class T(MLflowTrainableMixin, Trainable)``).

    Starts an MLflow run named ``<trial name>_<trial id>`` after the trainable's setup, in
    the experiment ``config["mlflow"]`` names (see :func:`mlflow_mixin`), so that
    ``mlflow.log_*`` inside the trainable log into it; :meth:`stop` ends it (Ray 1.x).

    Args:
        config: The trial's config; ``config["mlflow"]`` holds ``tracking_uri``
            (required), ``experiment_id`` or ``experiment_name`` (of an existing
            experiment) and optionally ``token``.
        *args: Passed on to the trainable's constructor.
        **kwargs: Passed on to the trainable's constructor.

    Raises:
        TypeError: The class is not mixed into a :class:`~tunelab.Trainable`.
        ValueError: ``config["mlflow"]`` is missing, has no ``tracking_uri`` or names no
            existing experiment.
    """

    def __init__(self, config: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        from tunelab.trainable import Trainable

        if not isinstance(self, Trainable):
            raise TypeError(
                "MLflowTrainableMixin can only be mixed into a tunelab Trainable: "
                f"class {type(self).__name__}(MLflowTrainableMixin, Trainable)"
            )
        super().__init__(config, *args, **kwargs)  # type: ignore[call-arg]
        trial_name = str(getattr(self, "trial_name", "default"))
        trial_id = str(getattr(self, "trial_id", "default"))
        _start_trial_run(config or {}, f"{trial_name}_{trial_id}", trial_id)

    def stop(self) -> None:
        """End the trial's MLflow run (``FINISHED``), then the trainable's own ``stop``."""
        _end_trial_run(FINISHED)
        parent = getattr(super(), "stop", None)
        if parent is not None:
            parent()


MLflowTrainableMixin.__module__ = "tunelab.integration.mlflow"


def mlflow_mixin(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for a function trainable: an MLflow run is active while it runs (Ray 1.x).

    ``mlflow.log_*`` calls inside the function log into the trial's run. The run is named
    ``<trial name>_<trial id>`` and ends ``FINISHED`` (``FAILED`` when the function raises).
    Setting the decorated function's ``__mixins__`` to a tuple without
    :class:`MLflowTrainableMixin` turns the run off (as Ray's test scripts do).

    Args:
        func: The function trainable. Its ``config["mlflow"]`` holds ``tracking_uri``
            (required), ``experiment_id`` or ``experiment_name`` (of an existing
            experiment) and optionally ``token``.

    Returns:
        The wrapped function.

    Raises:
        TypeError: ``func`` is a class or not callable.
    """
    if isinstance(func, type) or not callable(func):
        raise TypeError(
            "mlflow_mixin decorates a function trainable; for a Trainable class inherit from "
            f"MLflowTrainableMixin instead, got {func!r}"
        )

    @functools.wraps(func)
    def with_mlflow(*args: Any, **kwargs: Any) -> Any:
        if MLflowTrainableMixin not in getattr(with_mlflow, "__mixins__", ()):
            return func(*args, **kwargs)
        config = args[0] if args else kwargs.get("config", {})
        trial_id, trial_name = _trial_facts()
        _start_trial_run(
            config or {}, f"{trial_name or 'default'}_{trial_id or 'default'}", trial_id or ""
        )
        failure: BaseException | None = None
        try:
            return func(*args, **kwargs)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            _end_trial_run(_status_of(failure))

    with_mlflow.__mixins__ = (  # type: ignore[attr-defined]
        *getattr(func, "__mixins__", ()),
        MLflowTrainableMixin,
    )
    return with_mlflow


# -- the legacy Logger API (Ray Tune 0.8's MLFLowLogger, 1.0-1.2's MLflowLogger) -------------
class MLflowLogger(TrackerLogger):
    """Legacy per-trial logger (``loggers=DEFAULT_LOGGERS + (MLflowLogger,)``).

    Logs the trial like :class:`MLflowLoggerCallback`, configured from the trial's config:
    ``config["logger_config"]`` keys ``mlflow_tracking_uri``, ``mlflow_registry_uri``,
    ``mlflow_experiment_id``, ``mlflow_experiment_name``, ``save_artifact`` (Ray 1.x), or
    0.8's ``config["mlflow_experiment_id"]`` with MLflow's environment variables for the
    rest. These settings are not logged as params. Each trial's logger runs its own helper
    thread; ``close`` does not wait for it, the end of the experiment does (at most
    ``flush_timeout_s``). ``MLFLowLogger`` is 0.8's spelling.

    Args:
        config: The trial's config, with the settings above.
        logdir: The trial's directory.
        trial: The trial, or None.
    """

    _experiment_logger_cls = MLflowLoggerCallback

    def _init(self) -> None:
        config = self.config if isinstance(self.config, Mapping) else {}
        logger_config = config.get("logger_config")
        settings = dict(logger_config) if isinstance(logger_config, Mapping) else {}
        callback = self._experiment_logger_cls(
            tracking_uri=settings.get("mlflow_tracking_uri"),
            registry_uri=settings.get("mlflow_registry_uri"),
            experiment_name=settings.get("mlflow_experiment_name"),
            save_artifact=bool(settings.get("save_artifact", False)),
        )
        experiment_id = settings.get("mlflow_experiment_id", config.get("mlflow_experiment_id"))
        callback._wanted_experiment_id = None if experiment_id is None else str(experiment_id)
        callback._drop_params = ("logger_config", "mlflow_experiment_id")
        self._callback = callback
        self._trial_id = self._start()

    def _start(self) -> str:
        trial = self.trial
        if trial is not None:
            self._callback.log_trial_start(trial)
            return str(trial.trial_id)
        info = TrialInfo(
            trial_id=os.path.basename(self.logdir) or "trial",
            name=os.path.basename(self.logdir) or "trial",
            trainable_name="",
            config=dict(self.config),
            evaluated_params={},
            local_path=self.logdir,
            experiment_name="",
            experiment_path=os.path.dirname(self.logdir),
        )
        self._callback._submit("start", info.trial_id, info)
        return info.trial_id

    def update_config(self, config: dict[str, Any]) -> None:
        """The trial runs again: log params not logged yet.

        Args:
            config: The trial's config now.
        """
        self.config = config
        if self.trial is not None:
            self._callback.log_trial_start(self.trial)  # a restart: params not logged yet


MLflowLogger.__module__ = "tunelab.integration.mlflow"

#: Ray Tune 0.8's spelling (``from ray.tune.logger import MLFLowLogger``).
MLFLowLogger = MLflowLogger
