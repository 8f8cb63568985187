"""``tune.run`` and ``run_experiments``: the 0.x/1.x front doors."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tunelab._errors import TuneValueError
from tunelab._experiment import Experiment, convert_to_experiment_list

__all__ = ["run", "run_experiments"]


def _warn_ignored(name: str, value: Any, default: Any = None) -> None:
    if value is not default and value is not None and value is not False:
        import warnings

        warnings.warn(
            f"tune.run: {name}={value!r} has no effect in tunelab (no cluster runtime); "
            "it is accepted for compatibility",
            stacklevel=3,
        )


def run(
    run_or_experiment: Any,
    *,
    name: str | None = None,
    metric: str | None = None,
    mode: str | None = None,
    stop: Any = None,
    time_budget_s: Any = None,
    config: Mapping[str, Any] | None = None,
    resources_per_trial: Any = None,
    num_samples: int = 1,
    storage_path: str | os.PathLike[str] | None = None,
    storage_filesystem: Any = None,
    local_dir: str | os.PathLike[str] | None = None,
    upload_dir: str | None = None,
    search_alg: Any = None,
    scheduler: Any = None,
    checkpoint_config: Any = None,
    keep_checkpoints_num: int | None = None,
    checkpoint_score_attr: str | None = None,
    checkpoint_freq: int = 0,
    checkpoint_at_end: bool = False,
    verbose: int | None = None,
    progress_reporter: Any = None,
    log_to_file: bool | str | Sequence[str] = False,
    trial_name_creator: Callable[[Any], str] | None = None,
    trial_dirname_creator: Callable[[Any], str] | None = None,
    sync_config: Any = None,
    export_formats: Any = None,
    max_failures: int = 0,
    fail_fast: bool | str = False,
    restore: str | None = None,
    resume: Any = None,
    resume_config: Any = None,
    reuse_actors: bool | None = None,
    raise_on_failed_trial: bool = True,
    callbacks: Sequence[Any] | None = None,
    max_concurrent_trials: int | None = None,
    with_server: bool = False,
    server_port: int | None = None,
    loggers: Sequence[Any] | None = None,
    sync_function: Any = None,
    sync_to_cloud: Any = None,
    sync_to_driver: Any = None,
    sync_on_checkpoint: bool = True,
    global_checkpoint_period: Any = None,
    return_trials: bool = False,
    ray_auto_init: bool = True,
    queue_trials: bool = False,
    trial_executor: Any = None,
    chdir_to_trial_dir: bool | None = None,
    executor: Any = None,
    dask_client: Any = None,
) -> Any:
    """Run an experiment and return an :class:`~tunelab.ExperimentAnalysis`.

    ``run_or_experiment`` is a function trainable, a ``Trainable`` subclass, a registered
    name, or an :class:`Experiment` (whose own settings then apply). Every argument of
    every Ray Tune generation is accepted (see the README); ``executor`` is tunelab's own:
    a :class:`~tunelab.execution.LocalExecutor` (the default) or another executor;
    ``dask_client`` runs trials on Dask (a ``distributed.Client``, cluster or address).
    """
    from tunelab._execute import RunOptions, execute_experiments
    from tunelab.analysis import ExperimentAnalysis

    if sync_to_cloud is not None:  # 0.8's name of the 0.6 sync_function
        if sync_function is not None:
            raise TuneValueError(
                "pass either sync_function (0.6) or sync_to_cloud (0.8), its later name, not "
                f"both; got sync_function={sync_function!r} and sync_to_cloud={sync_to_cloud!r}"
            )
        sync_function = sync_to_cloud
    _warn_ignored("storage_filesystem", storage_filesystem)
    _warn_ignored("trial_executor", trial_executor)
    # 0.8: syncs trial directories from other nodes; trials here write to the experiment
    # directory directly (sync_to_driver=False, the common spelling, is what happens anyway)
    _warn_ignored("sync_to_driver", sync_to_driver)
    state_period_s = _global_checkpoint_period(global_checkpoint_period)
    if resume_config is not None and resume in (None, False):
        resume = True
    if isinstance(run_or_experiment, Experiment):
        experiments = [run_or_experiment]
    elif isinstance(run_or_experiment, (list, tuple)):
        from tunelab._execute import check_experiments_given

        experiments = convert_to_experiment_list(list(run_or_experiment))
        check_experiments_given(experiments, "run_or_experiment")
    else:
        experiments = [
            Experiment(
                name,
                run_or_experiment,
                stop=stop,
                time_budget_s=time_budget_s,
                config=config,
                resources_per_trial=resources_per_trial,
                num_samples=num_samples,
                storage_path=storage_path,
                local_dir=local_dir,
                upload_dir=upload_dir,
                sync_config=sync_config,
                checkpoint_config=checkpoint_config,
                trial_name_creator=trial_name_creator,
                trial_dirname_creator=trial_dirname_creator,
                log_to_file=log_to_file,
                export_formats=export_formats,
                max_failures=max_failures,
                restore=restore,
                checkpoint_freq=checkpoint_freq,
                checkpoint_at_end=checkpoint_at_end,
                keep_checkpoints_num=keep_checkpoints_num,
                checkpoint_score_attr=checkpoint_score_attr,
                sync_function=sync_function,
            )
        ]
    options = RunOptions(
        search_alg=search_alg,
        scheduler=scheduler,
        metric=metric,
        mode=mode,
        callbacks=list(callbacks or []),
        progress_reporter=progress_reporter,
        verbose=verbose,
        max_concurrent_trials=max_concurrent_trials,
        reuse_actors=reuse_actors,
        fail_fast=fail_fast,
        raise_on_failed_trial=raise_on_failed_trial,
        executor=executor,
        dask_client=dask_client,
        with_server=with_server,
        server_port=server_port,
        loggers=list(loggers) if loggers is not None else None,
        chdir_to_trial_dir=chdir_to_trial_dir,
        resume=resume,
        resume_config=resume_config,
        state_period_s=state_period_s,
    )
    trials, _ = execute_experiments(experiments, options)
    if return_trials:
        return trials
    return ExperimentAnalysis(
        experiments[0].experiment_path,
        trials=trials,
        default_metric=metric,
        default_mode=mode,
    )


def _global_checkpoint_period(value: Any) -> float | None:
    """0.8's ``global_checkpoint_period``: seconds between experiment-state snapshots
    (``"auto"`` and None: the default)."""
    if value is None or value == "auto":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise TuneValueError(
            f"global_checkpoint_period must be None, 'auto' or a number of seconds >= 0, "
            f"got {value!r}"
        )
    return float(value)


def run_experiments(
    experiments: Any,
    scheduler: Any = None,
    verbose: int | None = None,
    progress_reporter: Any = None,
    resume: Any = None,
    resume_config: Any = None,
    reuse_actors: bool = False,
    raise_on_failed_trial: bool = True,
    concurrent: bool = True,
    callbacks: Sequence[Any] | None = None,
    search_alg: Any = None,
    with_server: bool = False,
    server_port: int | None = None,
    queue_trials: bool = False,
    trial_executor: Any = None,
    executor: Any = None,
) -> list[Any]:
    """Run one or more experiments (an Experiment, a list, or ``{name: spec}``); returns
    the list of trials."""
    from tunelab._execute import RunOptions, check_experiments_given, execute_experiments

    experiment_list = convert_to_experiment_list(experiments)
    check_experiments_given(experiment_list)
    options = RunOptions(
        search_alg=search_alg,
        scheduler=scheduler,
        callbacks=list(callbacks or []),
        progress_reporter=progress_reporter,
        verbose=verbose,
        reuse_actors=reuse_actors,
        raise_on_failed_trial=raise_on_failed_trial,
        executor=executor,
        with_server=with_server,
        server_port=server_port,
        resume=resume,
        resume_config=resume_config,
    )
    if concurrent:
        trials, _ = execute_experiments(experiment_list, options)
        return trials
    all_trials: list[Any] = []
    for experiment in experiment_list:
        trials, _ = execute_experiments([experiment], options)
        all_trials.extend(trials)
    return all_trials
