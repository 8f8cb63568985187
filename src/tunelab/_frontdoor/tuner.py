"""``Tuner``: the 2.x front door (``Tuner(trainable, param_space=..., ...).fit()``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from tunelab._config import RunConfig, TuneConfig

if TYPE_CHECKING:
    from tunelab._frontdoor.execute import RunOptions
from tunelab._experiment import Experiment

__all__ = ["Tuner"]


class Tuner:
    """Configure an experiment, then run it with :meth:`fit`: Ray Tune 2.x's front door.

    The constructor only checks and stores the arguments (it starts nothing and writes
    nothing); :meth:`fit` runs the experiment and returns a
    :class:`~tunelab.analysis.ResultGrid`. :meth:`restore` continues an experiment that was
    interrupted or killed. Unlike ``tune.run``, a failed trial does not raise: its error is
    in the result (``result.error``).

    Example::

        import tunelab as tune

        def train(config):
            for step in range(10):
                tune.report({"loss": (config["lr"] - 0.01) ** 2 / (step + 1)})

        tuner = tune.Tuner(
            train,
            param_space={"lr": tune.loguniform(1e-4, 1e-1)},
            tune_config=tune.TuneConfig(metric="loss", mode="min", num_samples=8),
            run_config=tune.RunConfig(name="lr_search", stop={"training_iteration": 5}),
        )
        results = tuner.fit()
        print(results.get_best_result().config)

    Args:
        trainable: What to run: a function trainable (``f(config)``), a
            :class:`~tunelab.Trainable` subclass, or a name given to
            :func:`~tunelab.register_trainable`. Wrap it with
            :func:`~tunelab.with_resources` to set its resources and
            :func:`~tunelab.with_parameters` to pass large objects. Required.
        param_space: The search space: a dict of constants, search-space domains
            (``tune.uniform(0, 1)``, ``tune.choice([...])``...), ``tune.grid_search([...])``
            and nested dicts. Each trial receives it resolved as its ``config``. None: an
            empty config.
        tune_config: How trials are chosen and scheduled (metric, mode, search algorithm,
            scheduler, number of samples, concurrency, executor). None: ``TuneConfig()``.
        run_config: Where results go and how the experiment runs (name, storage, stop
            criteria, checkpoints, failures, callbacks, output). None: ``RunConfig()``.

    Raises:
        TypeError: ``trainable`` is missing or is not a trainable, ``param_space`` is not
            a dict, or ``tune_config``/``run_config`` are not a ``TuneConfig``/``RunConfig``.
        ValueError: The configs do not fit the trainable or each other (for example
            ``CheckpointConfig(checkpoint_frequency=...)`` with a function trainable, or an
            unregistered trainable name).
        NotImplementedError: ``TuneConfig`` holds lists of metrics and modes
            (multi-objective), which this version does not support.
    """

    def __init__(
        self,
        trainable: Any = None,
        *,
        param_space: dict[str, Any] | None = None,
        tune_config: TuneConfig | None = None,
        run_config: RunConfig | None = None,
    ) -> None:
        if trainable is None:
            raise TypeError("Tuner: trainable is required (a function, Trainable class or name)")
        if param_space is not None and not isinstance(param_space, dict):
            raise TypeError(f"Tuner: param_space must be a dict or None, got {param_space!r}")
        if tune_config is not None and not isinstance(tune_config, TuneConfig):
            raise TypeError(f"Tuner: tune_config must be a TuneConfig, got {tune_config!r}")
        if run_config is not None and not isinstance(run_config, RunConfig):
            raise TypeError(f"Tuner: run_config must be a RunConfig, got {run_config!r}")
        self._trainable = trainable
        self._param_space = dict(param_space or {})
        self._tune_config = tune_config or TuneConfig()
        self._run_config = run_config or RunConfig()
        self._experiment = self._build_experiment()
        from tunelab._frontdoor.execute import validate_common

        self._options = self._build_options()
        validate_common(self._options)
        self._result_grid: Any = None
        self._resume_policy: dict[str, str] | None = None

    def _build_experiment(self) -> Experiment:
        tc, rc = self._tune_config, self._run_config
        return Experiment(
            rc.name,
            self._trainable,
            stop=rc.stop,
            time_budget_s=tc.time_budget_s,
            config=self._param_space,
            num_samples=tc.num_samples,
            storage_path=rc.storage_path,
            local_dir=rc.local_dir,
            sync_config=rc.sync_config,
            checkpoint_config=rc.checkpoint_config,
            trial_name_creator=tc.trial_name_creator,
            trial_dirname_creator=tc.trial_dirname_creator,
            log_to_file=rc.log_to_file,
            max_failures=rc.failure_config.max_failures,
        )

    def _build_options(self) -> RunOptions:
        from tunelab._frontdoor.execute import RunOptions

        tc, rc = self._tune_config, self._run_config
        metric = tc.metric
        mode = tc.mode
        if isinstance(metric, list) or isinstance(mode, list):
            raise NotImplementedError(
                "TuneConfig: multi-objective metric/mode lists need a multi-objective searcher "
                "(OptunaSearch), which is not available in this version of tunelab yet"
            )
        return RunOptions(
            search_alg=tc.search_alg,
            scheduler=tc.scheduler,
            metric=metric,
            mode=mode,
            callbacks=list(rc.callbacks or []),
            progress_reporter=rc.progress_reporter,
            verbose=rc.verbose,
            max_concurrent_trials=tc.max_concurrent_trials,
            reuse_actors=tc.reuse_actors,
            fail_fast=rc.failure_config.fail_fast,
            raise_on_failed_trial=False,
            executor=tc.executor,
            dask_client=tc.dask_client,
            server_port=rc.server_port,
            chdir_to_trial_dir=tc.chdir_to_trial_dir,
        )

    def fit(self) -> Any:
        """Run the experiment to its end and return its results.

        Trials run until every one has ended, the search is exhausted, or a stop condition
        (``RunConfig.stop``, ``TuneConfig.time_budget_s``) ends the experiment. The
        experiment is written to ``<storage_path>/<name>``, with a ``tuner.pkl`` that lets
        :meth:`restore` rebuild this Tuner later. Failed trials do not raise: their errors
        are in the results. On Ctrl+C the running trials are paused and checkpointed, and
        the results returned so far have ``interrupted`` set to True (a second Ctrl+C stops
        at once). On a Tuner from :meth:`restore`, ``fit`` continues the saved experiment.

        Returns:
            A :class:`~tunelab.analysis.ResultGrid` with one
            :class:`~tunelab.analysis.Result` per trial, whose default metric and mode are
            the ``TuneConfig``'s.

        Raises:
            TuneError: Writing the results failed (:class:`~tunelab.StorageError`), a trial
                asks for more resources than the executor has (``ResourceError``), or a
                restored experiment's state is damaged (:class:`~tunelab.CorruptFileError`).
            ValueError: A result lacks ``TuneConfig.metric`` (strict metric checking).
            TypeError: The trainable cannot be pickled to be sent to the workers.
            Exception: With ``FailureConfig(fail_fast="raise")``, the exception the failing
                trainable raised.

        :rtype: ~tunelab.analysis.ResultGrid
        """
        from tunelab._frontdoor.execute import execute_experiments
        from tunelab.analysis import ExperimentAnalysis, ResultGrid

        self._options.save_tuner = True
        if self._resume_policy is not None:
            from tunelab._config import ResumeConfig

            self._options.resume_config = ResumeConfig(**self._resume_policy)
        # the Tuner's experiment stays as built (or restored); a remote one ran in a staging copy
        execution = execute_experiments([self._experiment], self._options)
        analysis = ExperimentAnalysis(
            execution.experiments[0].experiment_path,
            trials=execution.trials,
            default_metric=self._options.metric,
            default_mode=self._options.mode,
        )
        self._result_grid = ResultGrid(analysis)
        return self._result_grid

    def get_results(self) -> Any:
        """The results of the last :meth:`fit`, without running anything.

        On a Tuner from :meth:`restore` that has not been fitted yet, the results of the
        restored experiment as they are on disk.

        Returns:
            A :class:`~tunelab.analysis.ResultGrid`.

        Raises:
            RuntimeError: :meth:`fit` was not called (and the Tuner is not restored).

        :rtype: ~tunelab.analysis.ResultGrid
        """
        if self._result_grid is None:
            if self._resume_policy is not None:
                from tunelab.analysis import ExperimentAnalysis, ResultGrid

                return ResultGrid(ExperimentAnalysis(self._experiment.experiment_path))
            raise RuntimeError("Tuner.get_results: call fit() first (or Tuner.restore(...))")
        return self._result_grid

    @classmethod
    def can_restore(cls, path: str | os.PathLike[str], storage_filesystem: Any = None) -> bool:
        """Whether ``path`` holds an experiment that :meth:`restore` can continue.

        Args:
            path: The experiment directory (``<storage_path>/<name>``), local or an fsspec
                URI such as ``"s3://bucket/prefix/my_exp"``.
            storage_filesystem: Ray 2.x's ``pyarrow.fs.FileSystem`` for ``path``. Accepted
                with a warning and ignored (tunelab opens URIs with fsspec).

        Returns:
            True when ``path`` holds an ``experiment_state.json``.
        """
        from tunelab import _storage
        from tunelab._config import warn_storage_filesystem

        warn_storage_filesystem(storage_filesystem, "Tuner.can_restore: storage_filesystem")
        path = os.fspath(path)
        if _storage.is_uri(path):
            return _storage.uri_exists(path, "experiment_state.json")
        return os.path.exists(os.path.join(path, "experiment_state.json"))

    @classmethod
    def restore(
        cls,
        path: str | os.PathLike[str],
        trainable: Any = None,
        resume_unfinished: bool = True,
        resume_errored: bool = False,
        restart_errored: bool = False,
        param_space: dict[str, Any] | None = None,
        storage_filesystem: Any = None,
    ) -> Tuner:
        """A Tuner that continues the experiment at ``path`` when :meth:`fit` is called.

        Use it after a run was interrupted (Ctrl+C), killed or crashed. Finished trials
        are kept as they are; unfinished ones resume from their latest checkpoint (from
        scratch when they have none); errored ones are left, resumed or restarted as the
        arguments say. The experiment directory may have been moved or copied since it was
        written: its new location is used.

        The trainable, search space and settings come from the experiment's ``tuner.pkl``
        (written by :meth:`fit`, signed with your tunelab key). Restored from it are the
        trainable, the search space, the experiment's own settings (name, stop criteria,
        checkpoint and failure settings, time budget...) and the search algorithm,
        scheduler, metric, mode, callbacks, progress reporter, verbosity,
        ``max_concurrent_trials``, ``reuse_actors``, ``fail_fast`` and
        ``chdir_to_trial_dir``; ``executor``, ``dask_client`` and ``server_port`` are not,
        so the restored run uses the default executor and serves nothing. An experiment
        started by ``tune.run`` has no ``tuner.pkl``, and one that cannot be authenticated
        here (signed with another user's or machine's key) is not unpickled: pass
        ``trainable`` (and ``param_space``) then. Such a Tuner runs with a default
        ``TuneConfig`` and ``RunConfig`` (no metric, mode, search algorithm or scheduler).

        Example::

            path = "~/tunelab_results/lr_search"
            if tune.Tuner.can_restore(path):
                tuner = tune.Tuner.restore(path, trainable=train, resume_errored=True)
                results = tuner.fit()

        Args:
            path: The experiment directory (``<storage_path>/<name>``), or an fsspec URI
                such as ``"s3://bucket/prefix/my_exp"`` (downloaded to a local staging
                directory under ``TUNELAB_RESULTS_DIR`` first, and mirrored back while the
                run goes on).
            trainable: The trainable to run, as given to the constructor. Required when the
                experiment has no usable ``tuner.pkl``; otherwise it replaces the saved one
                (pass it when the saved one cannot be unpickled here, or to use a fixed
                version of your code). None: the saved trainable.
            resume_unfinished: True (the default): unfinished trials (PENDING, RUNNING,
                PAUSED) continue from their latest checkpoint. False: they are left as they
                are.
            resume_errored: True: errored trials continue from their latest checkpoint.
                Default False: they are left in status ERROR.
            restart_errored: True: errored trials start over from scratch (this wins over
                ``resume_errored``). Default False.
            param_space: The search space; replaces the saved one when given (the
                configs of trials already created do not change). Without a usable
                ``tuner.pkl``, the search space of the restored Tuner (None: empty).
            storage_filesystem: Ray 2.x's ``pyarrow.fs.FileSystem`` for ``path``. Accepted
                with a warning and ignored (tunelab opens URIs with fsspec).

        Returns:
            A :class:`Tuner`; call :meth:`fit` on it to continue the experiment, or
            :meth:`get_results` to read the saved results.

        Raises:
            ValueError: ``path`` holds no tunelab experiment (no
                ``experiment_state.json``), or it has no usable ``tuner.pkl`` and
                ``trainable`` is None.
            TuneError: ``tuner.pkl`` was changed after tunelab signed it (a
                ``SignatureError``).
        """
        from tunelab import _defaults, _storage
        from tunelab._config import warn_storage_filesystem
        from tunelab._persistence.resume import load_tuner_file

        warn_storage_filesystem(storage_filesystem, "Tuner.restore: storage_filesystem")
        remote: str | None = None
        path = os.fspath(path)
        if _storage.is_uri(path):
            remote = path.rstrip("/")
            staging = _defaults.results_root()
            if _storage.is_uri(staging):
                staging = os.path.expanduser("~/tunelab_results")
            if not cls.can_restore(remote):
                raise ValueError(f"Tuner.restore: {remote!r} holds no tunelab experiment")
            path = _storage.download(remote, _storage.local_path_for_uri(remote, staging))
        path = os.path.abspath(os.path.expanduser(path))
        if not cls.can_restore(path):
            raise ValueError(
                f"Tuner.restore: {path!r} holds no tunelab experiment (no experiment_state.json)"
            )
        payload = load_tuner_file(path) or {}
        experiments = payload.get("experiments") or []
        if not experiments:
            if trainable is None:
                raise ValueError(
                    f"Tuner.restore: {path!r} has no tuner.pkl (it was not started by a Tuner); "
                    "pass trainable= (and param_space=) to restore it"
                )
            tuner = cls(trainable, param_space=param_space or {})
            experiment = tuner._experiment
        else:
            tuner = cls.__new__(cls)
            experiment = experiments[0]
            from tunelab._frontdoor.execute import RunOptions

            tuner._options = RunOptions(**payload.get("options", {}))
            tuner._trainable = experiment.run
            tuner._param_space = experiment.config
            tuner._result_grid = None
        # the experiment where it was found now (it may have been moved or copied), with the
        # trainable and search space given here
        changes: dict[str, Any] = {}
        if trainable is not None:
            changes["run"] = trainable
        if param_space is not None:
            changes["config"] = param_space
        tuner._experiment = experiment._with(
            name=os.path.basename(path),
            storage_path=os.path.dirname(path),
            experiment_path=path,
            remote_path=remote,
            **changes,
        )
        tuner._options.resume = True
        tuner._options.resume_config = None
        errored = "restart" if restart_errored else ("resume" if resume_errored else "skip")
        tuner._resume_policy = {
            "finished": "skip",
            "unfinished": "resume" if resume_unfinished else "skip",
            "errored": errored,
        }
        return tuner
