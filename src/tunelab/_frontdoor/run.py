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
    """Run an experiment (or several) to the end and return its analysis.

    The ``tune.run`` front door (Ray Tune 0.6 to 2.x), with the arguments every generation
    gave it, so that code written for any of them runs unchanged. It samples trials from
    ``config``, runs them in worker processes (or on ``executor`` / ``dask_client``) and
    returns once every trial has ended, the search is exhausted or a stop condition ends
    the experiment. The arguments are checked before the first trial starts. Results go
    to ``<storage_path>/<name>``.

    Arguments that only meant something on a Ray cluster are accepted so that old code keeps
    running: ``storage_filesystem``, ``trial_executor`` and ``sync_to_driver`` are ignored
    with a ``UserWarning`` when given a value other than None or False, and
    ``sync_on_checkpoint``, ``ray_auto_init`` and ``queue_trials`` are ignored silently.

    When ``run_or_experiment`` is an :class:`~tunelab.Experiment` (or a list of them), the
    arguments marked *per experiment* below are ignored without a warning, because each
    Experiment carries its own; the other arguments apply to the whole run.

    Example::

        import tunelab as tune

        def train(config):
            for step in range(10):
                tune.report(loss=(config["lr"] - 0.01) ** 2 / (step + 1))

        analysis = tune.run(
            train,
            config={"lr": tune.loguniform(1e-4, 1e-1)},
            num_samples=8,
            metric="loss",
            mode="min",
            stop={"training_iteration": 5},
        )
        print(analysis.best_config)

    Args:
        run_or_experiment: What to run: a function trainable (``f(config)``,
            ``f(config, checkpoint_dir=None)`` or 0.x's ``f(config, reporter)``), a
            :class:`~tunelab.Trainable` subclass, a name given to
            :func:`~tunelab.register_trainable`, an :class:`~tunelab.Experiment`, or a
            non-empty list of Experiments (run together, sharing the search algorithm,
            scheduler and executor).
        name: *Per experiment.* The experiment's name, also the name of its directory under
            ``storage_path``. Default: ``<trainable name>_<YYYY-MM-DD_HH-MM-SS>`` (the
            trainable's name alone with ``TUNELAB_DISABLE_DATED_SUBDIR=1``). Must be a
            non-empty directory name without ``/`` or ``\\``. A new run (without ``resume``)
            in a directory that already holds an experiment keeps the earlier trials there
            (reading the directory back lists both): give each run its own name to keep
            experiments apart.
        metric: The result key to optimise (1.x+). Given to the scheduler and the search
            algorithm (unless they were built with their own) and used as the default
            metric of the returned analysis (``best_config``, ``get_best_trial()``...). A
            result that lacks it stops the run with an error naming the reported metrics,
            unless ``TUNELAB_DISABLE_STRICT_METRIC_CHECKING=1`` is set. Only one metric (a
            str) is accepted here.
        mode: ``"min"`` or ``"max"``: whether ``metric`` is minimised or maximised (1.x+).
            None: the scheduler's and searcher's own setting.
        stop: *Per experiment.* When a trial ends early: a dict
            ``{result key: threshold}`` stops a trial once any ``result[key] >= threshold``
            (nested keys joined with ``"/"``, e.g. ``"info/reward"``); a
            :class:`~tunelab.stopper.Stopper` (which may also end the whole experiment); or
            a function ``f(trial_id, result) -> bool`` that returns True to stop the trial.
            None: a trial runs until its trainable returns or a scheduler stops it.
        time_budget_s: *Per experiment.* Time budget of the whole experiment (1.x+): a
            number of seconds > 0 or a :class:`datetime.timedelta`. When it is spent, the
            running trials are stopped and no new trial starts. None: no budget.
        config: *Per experiment.* The search space: a dict of constants, search-space
            domains (``tune.uniform(0, 1)``, ``tune.choice([...])``...),
            ``tune.grid_search([...])`` and nested dicts. Each trial receives it resolved as
            its ``config``. None: an empty config.
        resources_per_trial: *Per experiment.* What one trial reserves from the executor:
            a dict such as ``{"cpu": 2, "gpu": 0.5}`` (``cpu``/``CPU``, ``gpu``/``GPU``,
            ``memory``, ``extra_cpu``, ``extra_gpu``, ``custom_resources={...}`` or any
            custom resource name; a non-empty dict without a CPU entry asks for 0 CPUs), a
            :class:`~tunelab.PlacementGroupFactory` or a
            :class:`~tunelab.train.ScalingConfig`. None: the trainable's
            ``default_resource_request(config)`` when it has one, else 1 CPU. A request the
            executor can never satisfy is an error before any trial starts.
        num_samples: *Per experiment.* How many times the search space is sampled. Each
            sample expands every ``grid_search`` of ``config``, so a grid of 3 values with
            ``num_samples=2`` gives 6 trials. -1 samples until a stop condition
            (``time_budget_s``, a Stopper) ends the experiment. Default 1.
        storage_path: *Per experiment.* The results root (2.x name): the experiment is
            written to ``<storage_path>/<name>``. A local path, or an fsspec URI such as
            ``"s3://bucket/prefix"`` (the experiment then runs in a local staging directory
            that a background thread mirrors to the URI). None: ``local_dir``, else
            ``TUNELAB_RESULTS_DIR``, else ``~/tunelab_results``.
        storage_filesystem: 2.x's ``pyarrow.fs.FileSystem`` for ``storage_path``. Accepted
            for compatibility and ignored, with a warning unless None: tunelab opens URIs
            with fsspec.
        local_dir: *Per experiment.* The name of ``storage_path`` before 2.x; used when
            ``storage_path`` is None (``storage_path`` wins when both are given).
        upload_dir: *Per experiment.* 0.x-1.x: a remote URI (``"s3://bucket/prefix"``) that
            the local experiment directory is mirrored to, as ``<upload_dir>/<name>``, by a
            background thread (and downloaded from on resume when the local copy has no
            state). Must be a URI unless ``sync_function`` is given, and cannot be combined
            with a remote ``storage_path``. None: no mirror (``SyncConfig.upload_dir`` is
            used when set).
        search_alg: How configurations are chosen: a :class:`~tunelab.search.Searcher`
            (wrapped in a :class:`~tunelab.search.ConcurrencyLimiter` when
            ``max_concurrent_trials`` is set), a :class:`~tunelab.search.SearchAlgorithm`, or
            a name for :func:`~tunelab.search.create_searcher` (such as ``"random"``). None:
            a :class:`~tunelab.search.BasicVariantGenerator` (random and grid search over
            ``config``).
        scheduler: When trials stop, pause or change: a
            :class:`~tunelab.schedulers.TrialScheduler` (e.g.
            :class:`~tunelab.schedulers.ASHAScheduler`) or a name for
            :func:`~tunelab.schedulers.create_scheduler` (such as ``"asha"``). None: a
            :class:`~tunelab.schedulers.FIFOScheduler` (every trial runs to its end). A
            scheduler built with a ``metric``/``mode`` that differ from the ones given here
            is an error.
        checkpoint_config: *Per experiment.* Which checkpoints are taken and kept (2.x): a
            :class:`~tunelab.CheckpointConfig` or a dict of its fields. None: a default
            ``CheckpointConfig`` (keep every checkpoint, none taken on a schedule). The four
            0.x-1.x arguments below are merged into it; one that contradicts a field set
            here is an error.
        keep_checkpoints_num: *Per experiment.* 0.x-1.x: how many checkpoints of each trial
            to keep, an int >= 1 (``CheckpointConfig.num_to_keep``). None: all of them.
        checkpoint_score_attr: *Per experiment.* 0.x-1.x: the result key that ranks
            checkpoints for ``keep_checkpoints_num``, higher is better; a ``"min-"`` prefix
            (``"min-loss"``) makes lower better (``CheckpointConfig.checkpoint_score_attribute``
            and ``checkpoint_score_order``). None: the most recent checkpoints are kept.
        checkpoint_freq: *Per experiment.* 0.x-1.x: a class trainable saves a checkpoint
            every this many iterations (``CheckpointConfig.checkpoint_frequency``); 0 (the
            default) never. For a function trainable it is ignored with a warning, as Ray
            0.x-1.x ignored it (a function saves its own checkpoints), and it is an error for
            a function that takes a ``checkpoint_dir`` argument.
        checkpoint_at_end: *Per experiment.* 0.x-1.x: a class trainable saves a checkpoint
            when it ends (``CheckpointConfig.checkpoint_at_end``). For a function trainable:
            as ``checkpoint_freq``. Default False.
        verbose: How much is printed: 0 nothing, 1 the status table, 2 also every trial's
            results, 3 also details. 0.x's bools work: True means 2, False means 0. None:
            ``TUNELAB_VERBOSE`` (default 1).
        progress_reporter: What prints the live status (0.8+): a
            :class:`~tunelab.progress.ProgressReporter` such as
            :class:`~tunelab.progress.CLIReporter`, or any object with ``should_report`` and
            ``report`` methods. None: a ``CLIReporter`` (a ``JupyterNotebookReporter`` in a
            notebook) set up for ``verbose``. Nothing is printed with ``verbose=0``.
        log_to_file: *Per experiment.* 1.x: redirect each trial's stdout and stderr to files
            in its trial directory. True writes ``stdout`` and ``stderr``; one file name
            sends both streams to that file; a pair ``(stdout name, stderr name)`` to two
            files (absolute paths are used as they are). False (default): no redirection.
        trial_name_creator: *Per experiment.* ``f(trial) -> str`` giving each trial's name
            (``str(trial)``, shown in the status table). None: ``<trainable>_<trial_id>``.
        trial_dirname_creator: *Per experiment.* ``f(trial) -> str`` giving each trial's
            directory name inside the experiment directory (characters unsafe in file
            names become ``_``). None: ``<trainable>_<trial_id>_<tag>_<date>``, shortened
            to ``TUNELAB_MAX_LEN_IDENTIFIER`` characters before the date.
        sync_config: *Per experiment.* A :class:`~tunelab.SyncConfig` (1.x+). Only its
            ``upload_dir`` has an effect (as ``upload_dir``); the other fields are checked
            and recorded. None: ``SyncConfig()``.
        export_formats: *Per experiment.* 0.x-1.x: a format name or a list of them (such as
            ``"model"``, ``"checkpoint"``, ``"onnx"``, ``"h5"``; other names are passed on
            as given) handed to a class trainable's ``export_model`` when each trial ends.
            None: nothing is exported.
        max_failures: *Per experiment.* How many times a failed trial is restarted, from its
            latest checkpoint (else from scratch): 0 (the default) never, -1 without limit.
        fail_fast: True stops the whole experiment at the first trial error; ``"raise"``
            (any case) re-raises the trainable's exception from this call at once (1.x+).
            Default False: other trials keep running.
        restore: *Per experiment.* 0.x-1.x: a checkpoint path (a directory, or the file a
            class trainable's ``save_checkpoint`` returned) that every trial starts from.
            None: trials start from scratch.
        resume: Continue the experiment saved at ``<storage_path>/<name>`` (give the same
            ``name`` and ``storage_path``) instead of starting a new one. True (also 1.x's
            ``"LOCAL"``, ``"REMOTE"``, ``"PROMPT"``): resume, and raise if there is no saved
            state; ``"AUTO"``: resume when there is one, else start afresh;
            ``"ERRORED_ONLY"``: resume only the errored trials. By default finished trials
            are kept, unfinished ones resume from their latest checkpoint (else start over)
            and errored ones are left as they are; a ``+`` suffix changes that for errored
            trials: ``"ERRORED"`` resumes them too, ``"RESTART_ERRORED"`` starts them from
            scratch, ``"ERRORED_ONLY"`` and ``"RESTART_ERRORED_ONLY"`` do the same and leave
            the unfinished ones (e.g. ``"AUTO+RESTART_ERRORED"``). None or False (default):
            a new experiment. Only one experiment can be resumed at a time.
        resume_config: 2.x: a :class:`~tunelab.ResumeConfig` saying what happens to
            finished, unfinished and errored trials on resume (it overrides the policy that
            ``resume`` spells). Given alone (``resume`` None or False), it means
            ``resume=True``.
        reuse_actors: True: a class trainable's object is kept in its worker for the next
            trial of the same trainable, which gets its config through ``reset_config``
            (a new object is built when that returns False). None or False: a new object per
            trial. Function trainables are not affected; worker processes are reused across
            trials in every case.
        raise_on_failed_trial: True (default): once the experiment has ended, raise
            :class:`~tunelab.TuneError` if any trial did not end TERMINATED. Not raised when
            the run was interrupted with Ctrl+C. False: return normally; the failed trials
            are in the analysis with status ERROR.
        callbacks: A list of :class:`~tunelab.Callback` objects told about the experiment's
            events (1.x+). The default JSON and CSV loggers (and TensorBoard's when
            installed) are added unless the list holds one of their classes,
            ``loggers`` is given or ``TUNELAB_DISABLE_AUTO_CALLBACK_LOGGERS=1`` is set; the
            callbacks named by ``TUNELAB_CALLBACKS`` are added too.
        max_concurrent_trials: At most this many trials run at once (1.x+). None or 0: as
            many as the executor's resources allow.
        with_server: 0.x-1.x: serve the REST API and live dashboard of the running
            experiment on 127.0.0.1, port ``server_port`` (default 4321). The URL with its
            access token is printed (unless ``verbose=0``); the token is also written to
            ``<experiment>/.tunelab_server_token``. Default False.
        server_port: The port of that server, 0..65535 (0: any free port). Giving a port
            starts the server even with ``with_server=False``. None: 4321 when
            ``with_server`` is True, else no server.
        loggers: 0.x-1.x: a list of :class:`~tunelab.logger.Logger` classes that replace the
            default loggers (JSON, CSV, TensorBoard) for every trial; each is built per trial
            as ``cls(config, logdir, trial)``. None: the default loggers.
        sync_function: *Per experiment.* 0.6: what copies the experiment directory to
            ``upload_dir``, instead of tunelab's own upload: a function
            ``f(local_dir, remote_dir)`` or a command template with ``{local_dir}`` and
            ``{remote_dir}`` (or ``{source}`` and ``{target}``) fields. It runs every 300 s
            from a background thread and once when the experiment ends. Needs
            ``upload_dir``, which may then be any destination the function understands.
        sync_to_cloud: 0.7-0.8's name of ``sync_function``; give one of the two.
        sync_to_driver: 0.8-1.x: synced trial directories from other nodes to the driver.
            Trials write to the experiment directory directly here, so it is ignored, with
            a warning unless None or False.
        sync_on_checkpoint: 0.8-1.x: accepted for compatibility and ignored without a
            warning (a checkpoint is in storage once its result is reported).
        global_checkpoint_period: 0.8: seconds between full snapshots of the experiment
            state (``experiment_state.json``; changes in between go to a journal), a number
            >= 0. None or ``"auto"``: ``TUNELAB_STATE_PERIOD_S`` (default 10).
        return_trials: 0.x: return the list of :class:`~tunelab.Trial` objects instead of an
            analysis. Default False.
        ray_auto_init: 0.8-1.x: accepted for compatibility and ignored without a warning
            (``run`` starts no cluster and does not call :func:`tunelab.init`).
        queue_trials: 0.x-1.x: accepted for compatibility and ignored without a warning
            (trials that do not fit the free resources wait for them in any case).
        trial_executor: 0.x-1.x: Ray's trial executor object. Ignored, with a warning unless
            None; use ``executor``.
        chdir_to_trial_dir: 2.x: run each trial with its trial directory as the working
            directory (the driver's is in the ``TUNE_ORIG_WORKING_DIR`` environment
            variable). None: ``TUNELAB_CHDIR_TO_TRIAL_DIR`` (default True).
        executor: tunelab's own: where trials run, a :class:`~tunelab.execution.Executor`
            such as :class:`~tunelab.execution.LocalExecutor` (``num_cpus=``,
            ``resources=``), :class:`~tunelab.execution.InProcessExecutor` or
            :class:`~tunelab.execution.DaskExecutor`. None: the executor chosen by
            :func:`tunelab.init`, else local worker processes sized to this machine's CPUs
            and GPUs.
        dask_client: tunelab's own: run the trials on a Dask cluster, given a
            ``distributed.Client``, a cluster object or a scheduler address such as
            ``"tcp://host:8786"`` (shorthand for ``executor=DaskExecutor(dask_client)``;
            needs the ``dask`` extra). Cannot be combined with ``executor``.

    Returns:
        An :class:`~tunelab.analysis.ExperimentAnalysis` over the trials (of every
        experiment when several were given), rooted at the first experiment's directory,
        with ``metric`` and ``mode`` as its defaults; its ``interrupted`` is True when
        Ctrl+C stopped the run. With ``return_trials=True``, the list of
        :class:`~tunelab.Trial` objects instead.

    Raises:
        TuneError: A trial did not end TERMINATED and ``raise_on_failed_trial`` is True
            (``TuneError.trials`` lists those trials). Its subclasses also report other
            failures of the run: :class:`~tunelab.StorageError` when writing results fails
            for lack of space or an I/O error, ``ResourceError`` when a trial asks for more
            than the executor has, :class:`~tunelab.CorruptFileError` for a damaged state
            file on resume.
        ValueError: An argument has a bad value (mostly a ``TuneValueError``, which is
            also a :class:`~tunelab.TuneError`), two arguments conflict (``executor`` and
            ``dask_client``, ``sync_function`` and ``sync_to_cloud``, a legacy checkpoint
            argument and ``checkpoint_config``), ``resume=True`` finds no saved state, or a
            result lacks ``metric`` (strict metric checking).
        TypeError: An argument has the wrong type (mostly a ``TuneTypeError``), or the
            trainable cannot be pickled to be sent to the workers.
        Exception: With ``fail_fast="raise"``, the exception the failing trainable raised.

    :rtype: ~tunelab.analysis.ExperimentAnalysis | list[~tunelab.Trial]
    """
    from tunelab._frontdoor.execute import RunOptions, execute_experiments

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
        from tunelab._frontdoor.execute import check_experiments_given

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
    execution = execute_experiments(experiments, options)
    if return_trials:
        return execution.trials
    # imported once the run is over, not while its first workers start
    from tunelab.analysis import ExperimentAnalysis

    return ExperimentAnalysis(
        execution.experiments[0].experiment_path,  # where this machine wrote it
        trials=execution.trials,
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
    """Run one or more experiments to the end and return all their trials.

    The oldest front door (Ray Tune 0.x onwards): experiments are described by
    :class:`~tunelab.Experiment` objects or by spec dicts, as 0.x scripts and the
    ``tunelab run spec.yaml`` command write them. By default all experiments run together,
    sharing the search algorithm, the scheduler and the executor. The arguments are checked
    before the first trial starts.

    ``queue_trials`` and ``trial_executor`` are accepted for compatibility and ignored
    without a warning.

    Example::

        import tunelab as tune

        def train(config, reporter):
            for step in range(5):
                reporter(mean_accuracy=config["alpha"] * step)

        trials = tune.run_experiments(
            {
                "my_experiment": {
                    "run": train,
                    "stop": {"mean_accuracy": 2},
                    "config": {"alpha": tune.grid_search([0.2, 0.4, 0.6])},
                }
            }
        )

    Args:
        experiments: An :class:`~tunelab.Experiment`, a list of them, or a dict
            ``{name: spec}`` where each spec is a dict of :class:`~tunelab.Experiment`'s
            keyword arguments plus ``"run"`` (required: a function, a ``Trainable`` subclass
            or a registered name) and 0.x's ``"env"`` (stored as ``config["env"]``); an
            unknown key is an error that lists the allowed ones. Must not be empty.
        scheduler: When trials stop, pause or change: a
            :class:`~tunelab.schedulers.TrialScheduler` or a name for
            :func:`~tunelab.schedulers.create_scheduler`. None: a
            :class:`~tunelab.schedulers.FIFOScheduler`.
        verbose: How much is printed: 0 nothing, 1 the status table, 2 also every trial's
            results, 3 also details; True means 2 and False 0 (0.x). None:
            ``TUNELAB_VERBOSE`` (default 1).
        progress_reporter: What prints the live status: a
            :class:`~tunelab.progress.ProgressReporter` or any object with
            ``should_report`` and ``report`` methods. None: a ``CLIReporter`` (a
            ``JupyterNotebookReporter`` in a notebook). Nothing is printed with
            ``verbose=0``.
        resume: Continue the experiment saved in the experiment's directory instead of
            starting a new one; the values of :func:`tunelab.run`'s ``resume`` (True,
            ``"AUTO"``, ``"ERRORED_ONLY"``, ``"AUTO+RESTART_ERRORED"``...). Works with one
            experiment at a time. None or False (default): new experiments.
        resume_config: A :class:`~tunelab.ResumeConfig` saying what happens to finished,
            unfinished and errored trials on resume; given alone it means ``resume=True``.
        reuse_actors: True: a class trainable's object is kept in its worker for the next
            trial, which gets its config through ``reset_config``. Default False: a new
            object per trial (worker processes are reused either way).
        raise_on_failed_trial: True (default): raise :class:`~tunelab.TuneError` once the
            run has ended if any trial did not end TERMINATED (not after Ctrl+C). False:
            return the trials, failed ones with status ERROR.
        concurrent: True (default): run all experiments together. False: run them one
            after another, each a run of its own with these same arguments; a failed trial
            then raises (with ``raise_on_failed_trial``) before the next experiment starts.
        callbacks: A list of :class:`~tunelab.Callback` objects told about the run's events;
            the default JSON/CSV/TensorBoard loggers and those named by
            ``TUNELAB_CALLBACKS`` are added as in :func:`tunelab.run`.
        search_alg: How configurations are chosen: a :class:`~tunelab.search.Searcher`, a
            :class:`~tunelab.search.SearchAlgorithm` or a name for
            :func:`~tunelab.search.create_searcher`. None: a
            :class:`~tunelab.search.BasicVariantGenerator` (random and grid search).
        with_server: Serve the REST API and live dashboard of the running experiment on
            127.0.0.1, port ``server_port`` (default 4321). Default False.
        server_port: The port of that server, 0..65535 (0: any free port); giving one
            starts the server even with ``with_server=False``.
        queue_trials: 0.x-1.x: ignored (trials that do not fit the free resources wait in
            any case).
        trial_executor: 0.x-1.x: Ray's trial executor object; ignored. Use ``executor``.
        executor: tunelab's own: where trials run, a :class:`~tunelab.execution.Executor`
            (:class:`~tunelab.execution.LocalExecutor`,
            :class:`~tunelab.execution.DaskExecutor`...). None: the executor chosen by
            :func:`tunelab.init`, else local worker processes.

    Returns:
        The :class:`~tunelab.Trial` objects of every experiment, in the order they were
        created. Read them back later with
        ``ExperimentAnalysis("<storage_path>/<name>")``.

    Raises:
        TuneError: A trial did not end TERMINATED and ``raise_on_failed_trial`` is True
            (``TuneError.trials`` lists those trials); also its subclasses
            :class:`~tunelab.StorageError` (writing results failed),
            :class:`~tunelab.CorruptFileError` (a damaged state file on resume) and
            ``ResourceError`` (a trial asks for more than the executor has).
        ValueError: An argument or spec key has a bad value (mostly a ``TuneValueError``,
            also a :class:`~tunelab.TuneError`), ``experiments`` is empty, ``resume`` is given for
            several experiments run together, or ``resume=True`` finds no saved state.
        TypeError: An argument or spec has the wrong type (mostly a ``TuneTypeError``), or
            a trainable cannot be pickled to be sent to the workers.

    :rtype: list[~tunelab.Trial]
    """
    from tunelab._frontdoor.execute import RunOptions, check_experiments_given, execute_experiments

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
        return execute_experiments(experiment_list, options).trials
    all_trials: list[Any] = []
    for experiment in experiment_list:
        all_trials.extend(execute_experiments([experiment], options).trials)
    return all_trials
