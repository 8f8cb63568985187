"""Shared by every front door: turn validated experiments and policies into a controller,
run it, and apply the end-of-run rules (``raise_on_failed_trial``).

Everything here runs before the first trial starts, so every bad argument is reported
before any work is done.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from tunelab import _defaults
from tunelab._callback import Callback, CallbackList
from tunelab._core.run_state import ExperimentRuntime
from tunelab._errors import ResourceError, TuneError, TuneTypeError, TuneValueError
from tunelab._trial import Trial, TrialStatus
from tunelab.schedulers import TrialScheduler

if TYPE_CHECKING:
    from tunelab._core.controller import Controller

__all__ = ["DEFAULT_SERVER_PORT", "Execution", "RunOptions", "execute_experiments"]

#: the port of ``with_server=True`` when ``server_port`` is not given (Ray Tune's default)
DEFAULT_SERVER_PORT = 4321


@dataclass
class RunOptions:
    """Front-door arguments shared by ``tune.run``, ``run_experiments`` and ``Tuner``."""

    search_alg: Any = None
    scheduler: Any = None
    metric: str | None = None
    mode: str | None = None
    callbacks: list[Any] = field(default_factory=list)
    progress_reporter: Any = None
    verbose: int | None = None
    max_concurrent_trials: int | None = None
    reuse_actors: bool | None = False
    fail_fast: bool | str = False
    raise_on_failed_trial: bool = True
    executor: Any = None
    dask_client: Any = None
    with_server: bool = False
    server_port: int | None = None
    loggers: list[Any] | None = None
    chdir_to_trial_dir: bool | None = None
    resume: Any = None
    resume_config: Any = None
    save_tuner: bool = False
    #: seconds a running trial gets to answer a stop or pause before it is force-ended
    #: (None: ``tunelab._core.controller.STOP_GRACE_S``)
    stop_grace_s: float | None = None
    #: seconds between experiment-state snapshots (0.8's ``global_checkpoint_period``;
    #: None: ``TUNELAB_STATE_PERIOD_S``)
    state_period_s: float | None = None


def _check_mode(mode: Any) -> None:
    if mode is not None and mode not in ("min", "max"):
        raise TuneValueError(f"mode must be 'min', 'max' or None, got {mode!r}")


def _check_metric(metric: Any) -> None:
    if metric is not None and not isinstance(metric, str):
        raise TuneTypeError(f"metric must be a string (a result key) or None, got {metric!r}")


def build_search_alg(search_alg: Any, max_concurrent: int | None) -> Any:
    from tunelab.search import (
        BasicVariantGenerator,
        ConcurrencyLimiter,
        SearchAlgorithm,
        Searcher,
        SearchGenerator,
        create_searcher,
    )

    if search_alg is None:
        return BasicVariantGenerator()  # the controller limits running trials itself
    if isinstance(search_alg, str):
        search_alg = create_searcher(search_alg)
    if isinstance(search_alg, Searcher):
        if max_concurrent and not isinstance(search_alg, ConcurrencyLimiter):
            search_alg = ConcurrencyLimiter(search_alg, max_concurrent=max_concurrent)
        return SearchGenerator(search_alg)
    if isinstance(search_alg, SearchAlgorithm):
        return search_alg
    raise TuneTypeError(
        "search_alg must be None, a name (e.g. 'random'), a tunelab Searcher or a "
        f"SearchAlgorithm, got {search_alg!r}"
    )


def build_scheduler(scheduler: Any) -> Any:
    from tunelab.schedulers import FIFOScheduler, TrialScheduler, create_scheduler

    if scheduler is None:
        return FIFOScheduler()
    if isinstance(scheduler, str):
        return create_scheduler(scheduler)
    if isinstance(scheduler, TrialScheduler):
        return scheduler
    raise TuneTypeError(
        f"scheduler must be None, a name (e.g. 'fifo') or a TrialScheduler, got {scheduler!r}"
    )


def _stoppers(experiment: Any) -> tuple[dict[str, Any], Any]:
    """(dict criteria checked by workers, controller-side stopper or None)."""
    from tunelab.stopper import FunctionStopper, Stopper

    stop = experiment.stop
    if stop is None:
        return {}, None
    if isinstance(stop, dict):
        return dict(stop), None
    if isinstance(stop, Stopper):
        return {}, stop
    if callable(stop):
        return {}, FunctionStopper(stop)
    raise TuneTypeError(f"stop must be a dict, a Stopper, a function or None, got {stop!r}")


logger = logging.getLogger("tunelab")


def _controller_settings(options: RunOptions) -> dict[str, Any]:
    """The controller's settings that come from the environment (``_defaults``) unless an
    option gives them."""
    return {
        "chdir_to_trial_dir": _defaults.chdir_to_trial_dir()
        if options.chdir_to_trial_dir is None
        else options.chdir_to_trial_dir,
        "state_period_s": options.state_period_s
        if options.state_period_s is not None
        else _defaults.state_write_period_s(),
        "print_errors": _defaults.print_trial_errors(),
        "max_len_identifier": _defaults.max_len_identifier(),
        "stop_grace_s": options.stop_grace_s
        if options.stop_grace_s is not None
        else _defaults.force_trial_cleanup_s(),
        "function_stop_grace_s": _defaults.function_stop_grace_s(),
        "strict_metric_checking": _defaults.strict_metric_checking(),
        "max_pending_trials": _defaults.max_pending_trials(),
        "warn_slow_s": _defaults.warn_threshold_s(),
        "warn_idle_s": _defaults.insufficient_resources_warning_s(),
    }


def _keep_earlier_experiment(experiment_path: str) -> None:
    """A new run (not a resume) in a directory that holds an experiment keeps that one (see
    :func:`~tunelab._persistence.experiment_state.archive_state`) and says so."""
    from tunelab._persistence.experiment_state import archive_state

    kept = archive_state(experiment_path)
    if kept is not None:
        archive, count = kept
        logger.warning(
            "tunelab: %s already held an experiment (%d trials); starting a new one there. "
            "The earlier trials stay in their folders and in ExperimentAnalysis / tunelab ls "
            "(their state is kept as %s). To continue an experiment rather than start a new "
            "one, run with resume=True (or Tuner.restore); to keep experiments apart, give "
            "each its own name.",
            experiment_path,
            count,
            os.path.basename(archive),
        )


def serialize_trainable(experiment: Any) -> bytes:
    """cloudpickle the trainable once; a TypeError explains what cannot be pickled."""
    import contextlib
    import inspect
    import io

    import cloudpickle

    try:
        return bytes(cloudpickle.dumps(experiment.trainable))
    except Exception as exc:
        report = ""
        target = getattr(experiment.trainable, "_tunelab_fn", experiment.trainable)
        if inspect.isfunction(target):
            from tunelab.utils import diagnose_serialization

            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                diagnose_serialization(target)
            report = "\n" + buffer.getvalue().strip()
        raise TuneTypeError(
            f"trainable {experiment.trainable_name!r} cannot be sent to worker processes "
            f"(it cannot be pickled: {exc}).{report}"
        ) from exc


def _time_budget(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return float(value)


def _default_callbacks(
    options: RunOptions, user: list[Any], experiments: list[Any] | None = None
) -> CallbackList:
    """The user's callbacks, those named by ``TUNELAB_CALLBACKS``, the default loggers and
    the 0.x legacy loggers: ``tune.run(loggers=)`` replaces the default loggers; an
    experiment's own ``loggers`` (a ``run_experiments`` spec key) replace them for that
    experiment's trials, and its ``custom_loggers`` run next to them."""
    from tunelab.logger import CSVLoggerCallback, JsonLoggerCallback, LegacyLoggerCallback
    from tunelab.logger._logger_callback import ForExperiments
    from tunelab.progress import TrialProgressCallback

    callbacks = CallbackList([*user, *env_callbacks()])
    verbose = options.verbose if options.verbose is not None else 1
    defaults: list[Callback] = []
    if options.loggers is not None:
        defaults.append(LegacyLoggerCallback(list(options.loggers)))
    elif _defaults.auto_loggers_enabled():
        if not any(isinstance(c, JsonLoggerCallback) for c in user):
            defaults.append(JsonLoggerCallback())
        if not any(isinstance(c, CSVLoggerCallback) for c in user):
            defaults.append(CSVLoggerCallback(delimiter=_defaults.result_delimiter()))
        from tunelab.logger import TBXLoggerCallback, tbx_available

        if tbx_available() and not any(isinstance(c, TBXLoggerCallback) for c in user):
            defaults.append(TBXLoggerCallback())
    experiments = list(experiments or [])
    own = {e.experiment_path for e in experiments if getattr(e, "loggers", None) is not None}
    for callback in defaults:
        callbacks.append(ForExperiments(callback, own, include=False) if own else callback)
    for exp in experiments:
        classes = [*(getattr(exp, "loggers", None) or []), *getattr(exp, "custom_loggers", [])]
        if classes:
            callbacks.append(
                ForExperiments(LegacyLoggerCallback(classes), {exp.experiment_path}, include=True)
            )
    if verbose >= 2:
        callbacks.append(TrialProgressCallback(verbose))
    return callbacks


def env_callbacks() -> list[Callback]:
    """Instances of the Callback classes named by ``TUNELAB_CALLBACKS`` (Ray Tune's
    ``RAY_TUNE_CALLBACKS``): comma-separated ``module.Class`` paths, each instantiated without
    arguments. A path that does not import, or names no Callback subclass, is a
    :class:`~tunelab._errors.TuneValueError` naming it."""
    import importlib

    callbacks: list[Callback] = []
    for path in _defaults.callback_paths():
        module_name, _, class_name = path.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError, ValueError) as exc:
            raise TuneValueError(
                f"TUNELAB_CALLBACKS/RAY_TUNE_CALLBACKS: cannot import the callback {path!r} "
                f"({exc}); give module.Class paths of tunelab.Callback subclasses"
            ) from exc
        if not (isinstance(cls, type) and issubclass(cls, Callback)):
            raise TuneValueError(
                f"TUNELAB_CALLBACKS/RAY_TUNE_CALLBACKS: {path!r} is not a tunelab.Callback "
                f"subclass, got {cls!r}"
            )
        callbacks.append(cls())
    return callbacks


def _reporter(options: RunOptions) -> Any:
    from tunelab.progress import ProgressReporter, default_progress_reporter

    verbose = options.verbose if options.verbose is not None else 1
    if verbose <= 0:
        return None
    reporter = options.progress_reporter
    if reporter is None:
        return default_progress_reporter(verbose)
    if not isinstance(reporter, ProgressReporter) and not (
        hasattr(reporter, "should_report") and hasattr(reporter, "report")
    ):
        raise TuneTypeError(
            "progress_reporter must be a ProgressReporter (with should_report and report), "
            f"got {reporter!r}"
        )
    return reporter


def validate_common(options: RunOptions) -> None:
    _check_metric(options.metric)
    _check_mode(options.mode)
    from tunelab._config import check_verbose

    options.verbose = check_verbose(options.verbose, "verbose")
    mct = options.max_concurrent_trials
    if mct is not None and (isinstance(mct, bool) or not isinstance(mct, int) or mct < 0):
        raise TuneValueError(
            f"max_concurrent_trials must be None or an int >= 0 (0 = no limit), got {mct!r}"
        )
    for callback in options.callbacks:
        if not isinstance(callback, Callback):
            raise TuneTypeError(
                f"callbacks: every callback must be a tunelab.Callback, got {callback!r}"
            )
    fail_fast = options.fail_fast
    if not (
        isinstance(fail_fast, bool) or (isinstance(fail_fast, str) and fail_fast.upper() == "RAISE")
    ):
        raise TuneValueError(f"fail_fast must be True, False or 'raise', got {fail_fast!r}")
    port = options.server_port
    if port is not None and (
        isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535
    ):
        raise TuneValueError(
            f"server_port must be None or an int in 0..65535 (0 = any), got {port!r}"
        )
    grace = options.stop_grace_s
    if grace is not None and (
        isinstance(grace, bool) or not isinstance(grace, (int, float)) or not grace >= 0
    ):
        raise TuneValueError(
            f"stop_grace_s must be None or a number of seconds >= 0, got {grace!r}"
        )
    if not isinstance(options.with_server, bool):
        raise TuneTypeError(f"with_server must be True or False, got {options.with_server!r}")
    from tunelab._persistence.resume import parse_resume

    parse_resume(options.resume, options.resume_config)


def check_experiments_given(experiments: list[Any], argument: str = "experiments") -> None:
    """An empty list of experiments would leave nothing to run: a clear error up front."""
    if not experiments:
        raise TuneValueError(
            f"{argument} is empty: give at least one experiment (an Experiment, a list of "
            "Experiments or a dict {name: spec dict}), or a trainable to tune.run"
        )


def _reject_space_given_twice(search: Any, config: dict[str, Any]) -> None:
    """As Ray: a library searcher that kept the space given to its constructor (its
    ``set_search_properties`` returned False) while the experiment's config still holds
    domains to search is an error. A searcher of the user's own that returns False (the
    base class's answer) keeps working as before: its suggestions are laid over the config
    (Ray raises for it too)."""
    from tunelab.search._convert import LibrarySearcher, has_searchable
    from tunelab.search._wrappers import searcher_chain

    inner = searcher_chain(search)[-1]
    if not (isinstance(inner, LibrarySearcher) and inner._has_space()):
        return
    if not has_searchable(config):
        return
    where = inner.where
    raise TuneValueError(
        f"{where} already has a search space (given to its constructor), and the "
        f"experiment's config/param_space holds domains to search as well. Give the space "
        f"in one place: remove the domains from param_space, or do not pass `space` to "
        f"{where}"
    )


class Execution(NamedTuple):
    """What :func:`execute_experiments` ran."""

    trials: list[Trial]
    controller: Controller
    #: the experiments as they ran: the given ones, except that one stored remotely (or
    #: with an ``upload_dir``) is a copy placed in its local staging directory; its
    #: ``experiment_path`` is where the results were written on this machine
    experiments: list[Any]


def execute_experiments(experiments: list[Any], options: RunOptions) -> Execution:
    """Run ``experiments`` (``tunelab.Experiment`` objects) to completion: validate, load or
    keep the earlier state, build the policies, the executor, the per-experiment runtimes
    and the outputs, then run the controller (each step is one function below). The given
    Experiment objects are not changed (:func:`_stage_remote_experiments` runs copies)."""
    from tunelab._persistence.resume import parse_resume, save_tuner_file

    check_experiments_given(experiments)
    validate_common(options)
    if options.verbose is None:
        options.verbose = _defaults.default_verbose()
    plan = parse_resume(options.resume, options.resume_config)
    # every TUNELAB_*/TUNE_* setting, read (and a bad value refused) before anything is
    # written: an earlier experiment is kept aside only by a run that then starts
    settings = _controller_settings(options)
    # the run's own copies: a remote experiment is placed in its local staging directory,
    # and the user's Experiment objects are never changed
    experiments, syncers = _stage_remote_experiments(experiments, download=plan.mode != "new")
    executor = _executor(options)
    _check_resources_fit(experiments, executor)
    # workers start importing tunelab while the driver reads the earlier state and builds
    # the policies, the outputs and the controller
    prestarted = _prestart_workers(experiments, executor, options)
    try:
        initial_trials, restored_state = _earlier_state(experiments, plan.mode, options)
        search, scheduler = _policies(experiments, options, restored_state)
        # imported once the workers are starting: its modules load while they do
        from tunelab._core.controller import Controller

        run_clock = executor.clock()  # None: wall-clock time
        runtimes, global_stopper = _runtimes(experiments, scheduler, run_clock)
        callbacks, server_cb = _outputs(options, experiments)
        if restored_state is not None and isinstance(restored_state.get("callbacks"), dict):
            callbacks.set_state(restored_state["callbacks"])
        controller = Controller(
            runtimes,
            search_alg=search,
            scheduler=scheduler,
            executor=executor,
            clock=run_clock or time.monotonic,
            callbacks=callbacks,
            metric=options.metric,
            mode=options.mode,
            max_concurrent_trials=options.max_concurrent_trials,
            global_stopper=global_stopper,
            reporter=_reporter(options),
            verbose=options.verbose,
            fail_fast=options.fail_fast,
            reuse_actors=bool(options.reuse_actors),
            initial_trials=initial_trials,
            resume_policy=plan.policy,
            delete_remote=_remote_deleter(syncers),
            **settings,
        )
        if options.save_tuner:
            os.makedirs(experiments[0].experiment_path, exist_ok=True)
            save_tuner_file(
                experiments[0].experiment_path,
                {"experiments": experiments, "options": _picklable_options(options)},
            )
        trials = _run_controller(controller, experiments, options, syncers, server_cb)
    except BaseException:  # e.g. the run never started (a busy server port): end the workers
        if prestarted:  # started for it (the controller's own shutdown makes this a no-op)
            executor.shutdown(force=True)
        raise
    if controller.interrupted:
        _print_resume_hint(experiments, options.verbose)
    if options.raise_on_failed_trial and not controller.interrupted:
        failed = [t for t in trials if t.status != TrialStatus.TERMINATED]
        if failed:
            raise TuneError(f"Trials did not complete: {failed}", failed)
    return Execution(trials, controller, experiments)


def _earlier_state(
    experiments: list[Any], mode: str, options: RunOptions
) -> tuple[list[Trial], dict[str, Any] | None]:
    """The trials and state to resume (``mode`` "resume"/"auto"), or none for a new run,
    which keeps an earlier experiment of the same directory (:func:`_keep_earlier_experiment`)."""
    from tunelab._persistence.resume import load_trials

    if mode == "new":
        for experiment in experiments:
            _keep_earlier_experiment(experiment.experiment_path)
        return [], None
    if len(experiments) != 1:
        raise TuneValueError("resume works with one experiment at a time")
    loaded = load_trials(experiments[0])
    if loaded is None:
        if mode == "resume":
            raise TuneValueError(
                f"resume={options.resume!r}: no experiment state to resume at "
                f"{experiments[0].experiment_path!r} (use resume='AUTO' to start a new "
                "experiment when there is none)"
            )
        return [], None
    return loaded


def _policies(
    experiments: list[Any], options: RunOptions, restored_state: dict[str, Any] | None
) -> tuple[Any, TrialScheduler]:
    """The search algorithm and the scheduler, told the metric, mode and space, given the
    experiments and, on resume, their saved states."""
    from tunelab.search._wrappers import searcher_chain

    search = build_search_alg(options.search_alg, options.max_concurrent_trials)
    scheduler = build_scheduler(options.scheduler)
    attach = getattr(scheduler, "attach_searcher", None)
    if attach is not None:  # HyperBandForBOHB tells TuneBOHB the budgets
        attach(searcher_chain(search)[-1])
    if not scheduler.set_search_properties(options.metric, options.mode):
        raise TuneValueError(
            f"the scheduler already has metric={scheduler.metric!r}, mode={scheduler.mode!r}; "
            f"it conflicts with metric={options.metric!r}, mode={options.mode!r}"
        )
    config = experiments[0].config if experiments else {}
    # Ray passes the experiment's spec too (Repeater checks num_samples against it); a
    # searcher written with (metric, mode, config) only gets those three
    spec = {"num_samples": experiments[0].num_samples} if experiments else {}
    if not _takes_spec(search.set_search_properties):
        spec = {}
    if not search.set_search_properties(options.metric, options.mode, config, **spec):
        _reject_space_given_twice(search, config)
    search.add_configurations(experiments)
    if restored_state is not None:
        if restored_state.get("search_alg") is not None:
            search.set_state(restored_state["search_alg"])
        if restored_state.get("scheduler") is not None:
            scheduler.set_state(restored_state["scheduler"])
    return search, scheduler


def _takes_spec(method: Any) -> bool:
    """Whether ``set_search_properties`` accepts the spec keywords (``**spec``)."""
    import inspect

    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is p.VAR_KEYWORD or p.name == "num_samples" for p in parameters)


def _executor(options: RunOptions) -> Any:
    """``executor=``, a Dask executor for ``dask_client=``, else what ``tunelab.init()``
    chose (local processes by default)."""
    from tunelab._frontdoor.runtime import default_executor
    from tunelab.execution import Executor

    executor = options.executor
    if options.dask_client is not None:
        if executor is not None:
            raise TuneValueError("pass either executor= or dask_client=, got both")
        from tunelab.execution.dask import DaskExecutor

        executor = DaskExecutor(options.dask_client)
    if executor is None:
        return default_executor()
    if not isinstance(executor, Executor):
        raise TuneTypeError(f"executor must be a tunelab Executor, got {executor!r}")
    return executor


def _prestart_workers(experiments: list[Any], executor: Any, options: RunOptions) -> bool:
    """Tell ``executor`` how many workers the first trials will use (:meth:`Executor.
    prestart`), when that is known before any trial exists: trials of the first experiment
    ask for a fixed amount of CPUs and no GPU or custom resource. Returns whether the hint
    was given (the caller then shuts the executor down if the run fails to start)."""
    from tunelab.execution._executor import Executor
    from tunelab.trainable._trainable import resource_request_of

    if not experiments or type(executor).prestart is Executor.prestart:
        return False  # the executor ignores the hint: nothing to work out
    experiment = experiments[0]
    try:
        resources = experiment.resources or resource_request_of(experiment.trainable, {})
    except Exception:  # resources computed from the config: unknown before the first trial
        return False
    request = resources.required_resources if resources is not None else {"CPU": 1.0}
    if set(request) - {"CPU", "memory"}:  # GPUs and custom resources: placed per trial
        return False
    total_cpus = executor.total_resources().get("CPU", 0.0)
    cpus = request.get("CPU", 0.0)
    count = int(total_cpus // cpus) if cpus > 0 else int(total_cpus)
    limits = [count, experiment.num_samples]
    if options.max_concurrent_trials:
        limits.append(options.max_concurrent_trials)
    count = min(limits)
    if count < 1:
        return False
    executor.prestart(count)
    return True


def _check_resources_fit(experiments: list[Any], executor: Any) -> None:
    """A trial that could never start is an error before any trial starts: the request of
    ``resources_per_trial``, else a fixed one of ``with_resources`` (a function of the
    config is only known per trial; those trials fail with a ``ResourceError`` instead)."""
    from tunelab._resources import resources_from_request

    for experiment in experiments:
        resources = experiment.resources
        fixed = getattr(experiment.trainable, "_tunelab_resources", None)
        if resources is None and fixed is not None and not callable(fixed):
            resources = resources_from_request(fixed, argument="with_resources")
        if resources is not None:
            reason = executor.why_never_fits(resources)
            if reason is not None:
                raise ResourceError(f"experiment {experiment.name!r}: {reason}")


def _runtimes(
    experiments: list[Any], scheduler: TrialScheduler, run_clock: Any
) -> tuple[list[ExperimentRuntime], Any]:
    """What the controller keeps per experiment (the serialized trainable, stop criteria,
    stopper, whether every result is a decision point), and the global stopper of all of
    them (stoppers and ``time_budget_s``; on the run's clock when it keeps its own)."""
    from tunelab.stopper import CombinedStopper, TimeoutStopper
    from tunelab.trainable._function import validate_function_trainable

    blobs = []
    for experiment in experiments:
        if experiment.is_function_trainable:
            validate_function_trainable(experiment.trainable, argument="trainable")
        blobs.append(serialize_trainable(experiment))
    decision_every_result = scheduler.decision_points() is None
    runtimes: list[ExperimentRuntime] = []
    global_stoppers: list[Any] = []
    for index, experiment in enumerate(experiments):
        criteria, stopper = _stoppers(experiment)
        if stopper is not None:
            if run_clock is not None:
                stopper.use_clock(run_clock)
            global_stoppers.append(stopper)
        budget = _time_budget(experiment.time_budget_s)
        if budget is not None:
            global_stoppers.append(TimeoutStopper(budget, clock=run_clock))
        runtimes.append(
            ExperimentRuntime(
                experiment=experiment,
                index=index,
                key=f"exp{index}-{id(experiment.trainable):x}",
                stopper=stopper,
                criteria=criteria,
                # in simulated time a time budget decides at every result, as a stopper does:
                # otherwise a trial would run a whole batch past the budget at no wall cost
                sync=stopper is not None
                or decision_every_result
                or (run_clock is not None and budget is not None),
                blob=blobs[index],
            )
        )
    if not global_stoppers:
        return runtimes, None
    if len(global_stoppers) == 1:
        return runtimes, global_stoppers[0]
    return runtimes, CombinedStopper(*global_stoppers)


def _outputs(options: RunOptions, experiments: list[Any]) -> tuple[CallbackList, Any]:
    """The callbacks (the user's, the default loggers, a ``sync_function``'s) and the REST
    server's callback when a server is asked for (else None)."""
    callbacks = _default_callbacks(options, list(options.callbacks), experiments)
    for experiment in experiments:
        if getattr(experiment, "sync_function", None) is not None and experiment.upload_uri:
            from tunelab._sync_function import SyncFunctionCallback

            callbacks.append(
                SyncFunctionCallback(
                    experiment.sync_function, experiment.experiment_path, experiment.upload_uri
                )
            )
    server_cb = None
    if options.with_server or options.server_port is not None:
        from tunelab.server import server_callback

        server_cb = server_callback(
            metric=options.metric, mode=options.mode, name=experiments[0].name
        )
        callbacks.append(server_cb)
    return callbacks, server_cb


def _run_controller(
    controller: Controller,
    experiments: list[Any],
    options: RunOptions,
    syncers: list[Any],
    server_cb: Any,
) -> list[Trial]:
    """Serve the REST API if asked, start the syncers, run the controller under the
    graceful Ctrl+C handler, and stop the server and the syncers (a final upload)."""
    verbose = options.verbose or 0
    server = None
    if server_cb is not None:
        from tunelab.server import print_dashboard_url, start_server_for

        port = options.server_port if options.server_port is not None else DEFAULT_SERVER_PORT
        os.makedirs(experiments[0].experiment_path, exist_ok=True)
        server = start_server_for(
            controller, experiments[0].experiment_path, port, callback=server_cb
        )
        if verbose:
            print_dashboard_url(server)
    # what Ray Tune 1.x set for trials: the driver's working directory at the start
    os.environ["TUNE_ORIG_WORKING_DIR"] = os.getcwd()
    for syncer in syncers:
        syncer.start()
    try:
        with _graceful_sigint(controller, verbose):
            return controller.run()
    finally:
        if server is not None:
            server.stop()
        for syncer in syncers:
            if not syncer.stop(final_sync=True, timeout_s=300.0):
                print(
                    f"tunelab: the final upload to {syncer.uri} did not complete; the local copy "
                    f"is kept in {syncer.local_dir}",
                    file=sys.stderr,
                )
            for error in syncer.errors:
                print(f"tunelab: upload problem: {error}", file=sys.stderr)


def _picklable_options(options: RunOptions) -> dict[str, Any]:
    keep = (
        "search_alg",
        "scheduler",
        "metric",
        "mode",
        "callbacks",
        "progress_reporter",
        "verbose",
        "max_concurrent_trials",
        "reuse_actors",
        "fail_fast",
        "raise_on_failed_trial",
        "chdir_to_trial_dir",
    )
    return {name: getattr(options, name) for name in keep}


@contextlib.contextmanager
def _graceful_sigint(controller: Controller, verbose: int) -> Iterator[None]:
    """First Ctrl+C: pause running trials, save state, return. Second: stop at once."""
    if not _defaults.sigint_handler_enabled() or (
        threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if controller.interrupted:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        controller.request_interrupt()
        if verbose:
            print(
                "\ntunelab: stopping gracefully (running trials save a checkpoint); press "
                "Ctrl+C again to stop at once.",
                file=sys.stderr,
                flush=True,
            )

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGINT) is handler:
            signal.signal(signal.SIGINT, previous)


def _print_resume_hint(experiments: list[Any], verbose: int) -> None:
    if not verbose:
        return
    exp = experiments[0]
    print(
        f"tunelab: experiment interrupted; its state is saved in {exp.experiment_path}. "
        f"Resume with tune.run(..., name={exp.name!r}, storage_path={exp.storage_path!r}, "
        f"resume=True) or tunelab.Tuner.restore({exp.experiment_path!r}, trainable=...)",
        file=sys.stderr,
        flush=True,
    )


def _remote_deleter(syncers: list[Any]) -> Any:
    """Route the deletion of a remote checkpoint to the syncer of its storage."""
    if not syncers:
        return None

    def delete(uri: str) -> None:
        for syncer in syncers:
            if uri.startswith(syncer.uri + "/"):
                syncer.delete_later(uri)
                return
        print(f"tunelab: {uri} lies in no storage of this run; it is kept", file=sys.stderr)

    return delete


def _stage_remote_experiments(
    experiments: list[Any], *, download: bool
) -> tuple[list[Any], list[Any]]:
    """Experiments stored at a URI (``s3://...``) run in a local staging directory that a
    background :class:`~tunelab._storage.Syncer` mirrors to the URI (the loop never waits
    on the network). On resume, the remote experiment is downloaded first. An experiment
    with an ``upload_dir`` runs in its local directory, mirrored to ``<upload_dir>/<name>``
    (downloaded on resume only when the local directory has no state).

    Returns the experiments to run and the syncers. A staged experiment is a copy placed
    in its staging directory (``Experiment._with``); the given objects are not changed,
    so the user's Experiment still names the URI (and can be run again)."""
    from tunelab import _storage

    staged: list[Any] = []
    syncers = []
    for exp in experiments:
        remote = getattr(exp, "remote_path", None) or exp.experiment_path
        if _storage.is_uri(remote):
            root = _defaults.results_root()
            if _storage.is_uri(root):
                root = os.path.expanduser("~/tunelab_results")
            local = _storage.local_path_for_uri(remote, root)
            fetch = download
        elif getattr(exp, "sync_function", None) is not None:
            staged.append(exp)  # 0.x: the user's sync_function copies it (SyncFunctionCallback)
            continue
        elif exp.upload_uri is not None:  # 0.x/1.x upload_dir: a local experiment, mirrored
            remote, local = exp.upload_uri, exp.experiment_path
            # the local copy is the newest; the remote one only serves an empty disk
            fetch = download and not os.path.exists(os.path.join(local, "experiment_state.json"))
        else:
            staged.append(exp)
            continue
        downloaded = False
        if fetch and _storage.uri_exists(remote, "experiment_state.json"):
            _storage.download(remote, local)
            downloaded = True
        os.makedirs(local, exist_ok=True)
        token = secrets.token_hex(16)
        upload_mode = _defaults.checkpoint_upload_mode()
        from tunelab._persistence.experiment_state import write_bytes_atomic

        # replaced, never written through a symlink planted at its path
        write_bytes_atomic(
            os.path.join(local, _storage.STAGING_MARKER),
            token.encode(),
            what="the staging marker",
            fsync=False,
        )
        staged.append(
            exp._with(
                staging_token=token,
                checkpoint_upload=upload_mode,
                remote_path=remote,
                experiment_path=local,
                storage_path=os.path.dirname(local),
            )
        )
        syncer = _storage.Syncer(local, remote)
        if downloaded:
            syncer.mark_synced()
        syncers.append(syncer)
    return staged, syncers
