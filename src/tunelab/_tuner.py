"""``Tuner``: the 2.x front door (``Tuner(trainable, param_space=..., ...).fit()``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from tunelab._config import RunConfig, TuneConfig

if TYPE_CHECKING:
    from tunelab._execute import RunOptions
from tunelab._experiment import Experiment

__all__ = ["Tuner"]


class Tuner:
    """Configure and run an experiment; ``fit()`` returns a :class:`~tunelab.ResultGrid`.

    ``trainable`` is a function, a ``Trainable`` subclass or a registered name;
    ``param_space`` the search space; ``tune_config`` a :class:`TuneConfig`; ``run_config``
    a :class:`RunConfig`. Everything is validated here, before any trial starts.
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
        from tunelab._execute import validate_common

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
        from tunelab._execute import RunOptions

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
        """Run the experiment and return a :class:`~tunelab.ResultGrid`."""
        from tunelab._execute import execute_experiments
        from tunelab.analysis import ExperimentAnalysis, ResultGrid

        self._options.save_tuner = True
        if self._resume_policy is not None:
            from tunelab._config import ResumeConfig

            self._options.resume_config = ResumeConfig(**self._resume_policy)
        trials, _ = execute_experiments([self._experiment], self._options)
        analysis = ExperimentAnalysis(
            self._experiment.experiment_path,
            trials=trials,
            default_metric=self._options.metric,
            default_mode=self._options.mode,
        )
        self._result_grid = ResultGrid(analysis)
        return self._result_grid

    def get_results(self) -> Any:
        """The ResultGrid of the last ``fit()``, or of the restored experiment on disk."""
        if self._result_grid is None:
            if self._resume_policy is not None:
                from tunelab.analysis import ExperimentAnalysis, ResultGrid

                return ResultGrid(ExperimentAnalysis(self._experiment.experiment_path))
            raise RuntimeError("Tuner.get_results: call fit() first (or Tuner.restore(...))")
        return self._result_grid

    @classmethod
    def can_restore(cls, path: str | os.PathLike[str], storage_filesystem: Any = None) -> bool:
        """True when ``path`` (a directory or a URI such as ``s3://b/exp``) holds an
        experiment tunelab can resume."""
        from tunelab import _storage

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
        """A Tuner that continues the experiment at ``path`` when ``fit()`` is called.

        Finished trials are kept; unfinished ones resume from their latest checkpoint
        (``resume_unfinished=False``: they are left as they are); errored ones are skipped,
        resumed (``resume_errored``) or restarted from scratch (``restart_errored``). The
        trainable and settings come from the experiment's ``tuner.pkl`` unless ``trainable``
        (and ``param_space``) are given. The directory may have moved since it was written.
        """
        from tunelab import _defaults, _storage
        from tunelab._experiment import _resolve_run
        from tunelab._resume import load_tuner_file

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
            from tunelab._execute import RunOptions

            tuner._options = RunOptions(**payload.get("options", {}))
            tuner._trainable = experiment.run
            tuner._param_space = experiment.config
            tuner._result_grid = None
        if trainable is not None:
            (
                experiment.trainable,
                experiment.trainable_name,
                experiment.is_function_trainable,
            ) = _resolve_run(trainable)
            experiment.run = trainable
        if param_space is not None:
            experiment.config = dict(param_space)
        experiment.name = os.path.basename(path)
        experiment.storage_path = os.path.dirname(path)
        experiment.experiment_path = path
        experiment.remote_path = remote
        tuner._experiment = experiment
        tuner._options.resume = True
        tuner._options.resume_config = None
        errored = "restart" if restart_errored else ("resume" if resume_errored else "skip")
        tuner._resume_policy = {
            "finished": "skip",
            "unfinished": "resume" if resume_unfinished else "skip",
            "errored": errored,
        }
        return tuner
