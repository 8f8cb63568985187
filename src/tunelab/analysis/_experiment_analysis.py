"""``ExperimentAnalysis``: query the trials of one experiment, live or from disk."""

from __future__ import annotations

import logging
import math
import os
from typing import TYPE_CHECKING, Any

from tunelab._metric_stats import RunningStats
from tunelab._trial import Trial
from tunelab.analysis import _io
from tunelab.analysis._result import validate_mode
from tunelab.result import DEFAULT_METRIC

if TYPE_CHECKING:
    from pandas import DataFrame

    from tunelab._checkpoint import Checkpoint

__all__ = ["Analysis", "ExperimentAnalysis"]

logger = logging.getLogger("tunelab.analysis")

SCOPES = ("last", "avg", "last-5-avg", "last-10-avg", "all")


class _TrialKeyed(dict[str, Any]):
    """A dict keyed by trial id that also answers to a trial's directory (the 1.x keys)."""

    def __init__(self, data: dict[str, Any], by_path: dict[str, str]) -> None:
        super().__init__(data)
        self._by_path = by_path

    def __missing__(self, key: str) -> Any:
        trial_id = self._by_path.get(os.path.normpath(key)) if isinstance(key, str) else None
        if trial_id is None or trial_id not in self:
            raise KeyError(key)
        return self[trial_id]


class ExperimentAnalysis:
    """Read-only queries over the trials of one experiment.

    Built two ways:

    * from a live run, by the front doors: ``ExperimentAnalysis(experiment_path,
      trials=[...], default_metric=..., default_mode=...)``; the trial records are used as
      they are;
    * from disk: ``ExperimentAnalysis(path)`` where ``path`` is the experiment directory or its
      ``experiment_state.json``. Without a state file the trial directories below ``path`` are
      scanned (each one TERMINATED). The state file's ``metric``/``mode`` become the defaults
      when none are passed.

    Trial files (``result.json``, ``progress.csv``, checkpoints) are read only when a query
    needs them, and cached; :meth:`fetch_trial_dataframes` re-reads them. pandas is imported
    only by the methods that return DataFrames.

    Scopes of ``get_best_*``: ``"last"`` (the last result), ``"avg"``, ``"last-5-avg"``,
    ``"last-10-avg"`` (averages over all, the last 5, the last 10 results) and ``"all"`` (the
    best value ever reported, by ``mode``). A metric ``"a/b/c"`` reaches into nested results.

    Args:
        experiment_checkpoint_path: The experiment directory or its
            ``experiment_state.json``; a URI (``s3://bucket/exp``) is downloaded to a local
            copy under the results root first.
        trials: The trial records of a live run (the front doors pass them); None (default)
            reads the trials from disk.
        default_metric: The metric of the ``best_*`` properties and the default of the
            ``get_best_*`` methods; None: the run's metric from its state file.
        default_mode: ``"min"`` or ``"max"``, as for ``default_metric``.
        storage_filesystem: Not supported; must be None.

    Raises:
        TypeError: ``experiment_checkpoint_path``, ``default_metric`` or ``trials`` has the
            wrong type.
        ValueError: ``storage_filesystem`` is given, ``default_mode`` is not
            ``"min"``/``"max"``, or the path holds no experiment.
    """

    def __init__(
        self,
        experiment_checkpoint_path: str | os.PathLike[str],
        *,
        trials: list[Trial] | None = None,
        default_metric: str | None = None,
        default_mode: str | None = None,
        storage_filesystem: Any = None,
    ) -> None:
        if not isinstance(experiment_checkpoint_path, (str, os.PathLike)):
            raise TypeError(
                "`experiment_checkpoint_path` must be a path, got "
                f"{type(experiment_checkpoint_path).__name__}"
            )
        if storage_filesystem is not None:
            raise ValueError(
                "`storage_filesystem` is not supported; pass a local experiment path, "
                f"got {storage_filesystem!r}"
            )
        if default_metric is not None and not isinstance(default_metric, str):
            raise TypeError(f"`default_metric` must be a string or None, got {default_metric!r}")
        if default_mode is not None:
            validate_mode(default_mode, "default_mode")
        path = os.fspath(experiment_checkpoint_path)
        self.remote_path: str | None = None
        if trials is None:
            from tunelab import _storage

            if _storage.is_uri(path):  # e.g. s3://bucket/exp: read a local copy
                self.remote_path = path
                path = _storage.download(path, _storage.local_path_for_uri(path, _staging_root()))
        self._files: dict[str, _io.TrialFiles] = {}
        self._stats: dict[tuple[str, str], dict[str, float] | None] = {}
        self._live = trials is not None
        state_metric: str | None = None
        state_mode: str | None = None
        self._state: dict[str, Any] | None = None
        if trials is not None:
            if not isinstance(trials, (list, tuple)) or not all(
                isinstance(t, Trial) for t in trials
            ):
                raise TypeError(f"`trials` must be a list of Trial objects, got {trials!r}")
            self.experiment_path = (
                os.path.dirname(os.path.abspath(path)) if os.path.isfile(path) else path
            )
            self._trials = list(trials)
        else:
            self.experiment_path, state_file = _io.resolve_experiment_path(path)
            earlier = _io.earlier_trials(self.experiment_path)
            if state_file is not None:
                state = self._state = _io.load_state(state_file)
                self._trials = _io.trials_from_state(state, self.experiment_path)
                state_metric = state.get("metric") if isinstance(state.get("metric"), str) else None
                state_mode = state.get("mode") if state.get("mode") in ("min", "max") else None
            elif not earlier:
                self._trials, self._files = _io.scan_trials(self.experiment_path)
            else:
                self._trials = []
            # trials of earlier experiments run under the same name (never hidden)
            known = {t.trial_id for t in self._trials}
            self._trials[:0] = [t for t in earlier if t.trial_id not in known]
        if default_metric is None and default_mode is None:
            default_metric, default_mode = state_metric, state_mode
        if default_metric is None and default_mode is not None:
            default_metric = DEFAULT_METRIC
        self.default_metric: str | None = default_metric
        self.default_mode: str | None = default_mode
        self._trial_dataframes: _TrialKeyed | None = None

    # -- trials and files -------------------------------------------------------------------
    @property
    def trials(self) -> list[Trial]:
        """The trial records (``trial_id``, ``config``, ``status``, ``last_result``,
        ``local_path``...), in creation order; read them, do not change them."""
        return self._trials

    @property
    def interrupted(self) -> bool:
        """True when the run ended before its trials did (a Ctrl+C paused the running
        trials, or the driver was killed): some trial is still PENDING, RUNNING or PAUSED.
        Such results are a snapshot; resume the experiment to finish it. (tunelab's
        addition: Ray Tune's result objects do not say.)"""
        return any(not t.status.is_finished() for t in self._trials)

    @property
    def experiment_dir(self) -> str:
        """The 1.x name of :attr:`experiment_path`."""
        return self.experiment_path

    def _files_of(self, trial: Trial) -> _io.TrialFiles:
        files = self._files.get(trial.trial_id)
        if files is None or files.path != trial.local_path:
            files = self._files[trial.trial_id] = _io.TrialFiles(
                trial.local_path, (path for path, _ in trial.checkpoint_history)
            )
        return files

    def _resolve_trial(self, trial: Trial | str, argument: str = "trial") -> Trial:
        if isinstance(trial, Trial):
            return trial
        if isinstance(trial, (str, os.PathLike)):
            key = os.fspath(trial)
            wanted = os.path.normpath(key)
            for candidate in self._trials:
                if candidate.trial_id == key or (
                    candidate.local_path and os.path.normpath(candidate.local_path) == wanted
                ):
                    return candidate
            raise ValueError(
                f"`{argument}` must be a trial, its id or its directory; {key!r} names no "
                f"trial of {self.experiment_path!r}"
            )
        raise TypeError(f"`{argument}` must be a Trial or a path, got {type(trial).__name__}")

    def _paths(self) -> dict[str, str]:
        return {os.path.normpath(t.local_path): t.trial_id for t in self._trials if t.local_path}

    # -- validation -------------------------------------------------------------------------
    def _metric(self, metric: str | None) -> str:
        metric = metric if metric is not None else self.default_metric
        if not metric:
            raise ValueError(
                "No `metric` was passed and `default_metric` is not set; pass `metric` "
                "(or set metric= in TuneConfig / tune.run)"
            )
        if not isinstance(metric, str):
            raise TypeError(f"`metric` must be a string, got {metric!r}")
        return metric

    def _mode(self, mode: str | None) -> str:
        mode = mode if mode is not None else self.default_mode
        if not mode:
            raise ValueError(
                'No `mode` was passed and `default_mode` is not set; pass `mode` ("min" or "max")'
            )
        return validate_mode(mode)

    def _require_defaults(self, name: str) -> tuple[str, str]:
        if not self.default_metric or not self.default_mode:
            raise ValueError(
                f"`{name}` needs `default_metric` and `default_mode` (got "
                f"default_metric={self.default_metric!r}, default_mode={self.default_mode!r}); "
                "pass metric= and mode= to tune.run / TuneConfig, or call the get_best_* "
                "method with metric and mode"
            )
        return self.default_metric, self.default_mode

    # -- best trial -------------------------------------------------------------------------
    def _metric_stats(self, trial: Trial, metric: str) -> dict[str, float] | None:
        known = trial.metric_analysis.get(metric) if self._live else None
        if known is not None and known.count == trial.last_result.get("training_iteration"):
            # the controller folded in every result (a resumed trial's record has not)
            return known.as_dict()
        key = (trial.trial_id, metric)
        if key not in self._stats:
            stats = RunningStats()
            for row in self._files_of(trial).rows():
                value = _io.lookup(row, metric)
                if _io.is_number(value):
                    stats.add(float(value))
            if not stats.count:
                value = _io.lookup(trial.last_result, metric)
                if _io.is_number(value):
                    stats.add(float(value))
            self._stats[key] = stats.as_dict() if stats.count else None
        return self._stats[key]

    def _score(self, trial: Trial, metric: str, mode: str, scope: str) -> float | None:
        if scope == "last":
            value = _io.lookup(trial.last_result, metric)
            return float(value) if _io.is_number(value) else None
        stats = self._metric_stats(trial, metric)
        if stats is None:
            return None
        return stats[mode if scope == "all" else scope]

    def get_best_trial(
        self,
        metric: str | None = None,
        mode: str | None = None,
        scope: str | None = None,
        filter_nan_and_inf: bool = True,
    ) -> Trial | None:
        """The trial with the best ``metric`` for ``mode`` over ``scope``, or ``None``.

        Trials that never reported the metric are skipped, and so are NaN/inf values unless
        ``filter_nan_and_inf=False``. Ties go to the earlier trial.

        The 0.x call ``get_best_trial(metric)`` (also ``get_best_config``/``get_best_logdir``):
        when ``metric`` is passed but neither ``mode`` nor ``default_mode`` is set, Ray Tune
        0.8's defaults apply, ``mode="max"`` and (unless ``scope`` is passed) ``scope="all"``
        (each trial's best value ever), with a logged note. Later generations raised here.

        Args:
            metric: The metric to compare (nested keys written with ``"/"``); default
                ``default_metric``.
            mode: ``"min"`` or ``"max"``; default ``default_mode``.
            scope: Which results of a trial count: ``"last"`` (default), ``"avg"``,
                ``"last-5-avg"``, ``"last-10-avg"`` (means over all, the last 5 or 10
                results) or ``"all"`` (the best value the trial ever reported).
            filter_nan_and_inf: Treat NaN and infinite values as not reported (default
                True).

        Returns:
            The best trial record, or None when no trial reported the metric (a warning is
            logged).

        Raises:
            ValueError: No metric or mode is known, or ``mode``/``scope`` is invalid.
        """
        metric, mode, scope = self._legacy_defaults(metric, mode, scope)
        metric = self._metric(metric)
        mode = self._mode(mode)
        if scope not in SCOPES:
            raise ValueError(f"`scope` must be one of {list(SCOPES)}, got {scope!r}")
        best: Trial | None = None
        best_score = 0.0
        for trial in self._trials:
            score = self._score(trial, metric, mode, scope)
            if score is None:
                continue
            if filter_nan_and_inf and not math.isfinite(score):
                continue
            if best is None or (score > best_score if mode == "max" else score < best_score):
                best, best_score = trial, score
        if best is None:
            logger.warning(
                "Could not find a best trial: no trial reported %r (check the `metric`)", metric
            )
        return best

    def get_best_config(
        self, metric: str | None = None, mode: str | None = None, scope: str | None = None
    ) -> dict[str, Any] | None:
        """The config of :meth:`get_best_trial`, or ``None``.

        Same defaults, 0.x ones included: ``get_best_config("acc")`` maximises ``acc``.

        Args:
            metric: The metric to compare (nested keys written with ``"/"``); default
                ``default_metric``.
            mode: ``"min"`` or ``"max"``; default ``default_mode``.
            scope: Which results of a trial count: ``"last"`` (default), ``"avg"``,
                ``"last-5-avg"``, ``"last-10-avg"`` (means over all, the last 5 or 10
                results) or ``"all"`` (the best value the trial ever reported).

        Returns:
            The best trial's config, or None when no trial reported the metric.

        Raises:
            ValueError: No metric or mode is known, or an argument is invalid.
        """
        best = self.get_best_trial(metric, mode, scope)
        return best.config if best is not None else None

    def get_best_logdir(
        self, metric: str | None = None, mode: str | None = None, scope: str | None = None
    ) -> str | None:
        """The directory of :meth:`get_best_trial`, or ``None`` (same defaults).

        Args:
            metric: The metric to compare (nested keys written with ``"/"``); default
                ``default_metric``.
            mode: ``"min"`` or ``"max"``; default ``default_mode``.
            scope: Which results of a trial count: ``"last"`` (default), ``"avg"``,
                ``"last-5-avg"``, ``"last-10-avg"`` (means over all, the last 5 or 10
                results) or ``"all"`` (the best value the trial ever reported).

        Returns:
            The best trial's directory, or None when no trial reported the metric.

        Raises:
            ValueError: No metric or mode is known, or an argument is invalid.
        """
        best = self.get_best_trial(metric, mode, scope)
        return best.local_path if best is not None else None

    def _legacy_defaults(
        self, metric: str | None, mode: str | None, scope: str | None
    ) -> tuple[str | None, str | None, str]:
        """Ray Tune 0.8's ``mode="max"``/``scope="all"`` for ``get_best_*(metric)`` calls that
        a later generation would reject for lack of a mode (see :meth:`get_best_trial`)."""
        if metric is not None and mode is None and self.default_mode is None:
            logger.warning(
                "get_best_*(metric=%r) without a mode: using Ray Tune 0.8's defaults, "
                "mode='max'%s; pass mode= (and scope=) to choose",
                metric,
                "" if scope is not None else " and scope='all' (each trial's best value)",
            )
            return metric, "max", scope if scope is not None else "all"
        return metric, mode, scope if scope is not None else "last"

    # -- checkpoints ------------------------------------------------------------------------
    def get_trial_checkpoints_paths(
        self, trial: Trial | str, metric: str = "training_iteration"
    ) -> list[list[Any]]:
        """``[path, value of metric]`` of every checkpoint of ``trial``, oldest first.

        ``path`` is Ray Tune 1.x's: the file a class trainable's ``save_checkpoint``
        returned when it returned a file inside the checkpoint directory, else the
        checkpoint directory. The value comes from the result that reported the checkpoint
        (else the result of its iteration); checkpoints without a value for ``metric`` are
        left out.

        Args:
            trial: The trial: a trial record of :attr:`trials`, its id or its directory.
            metric: The result key whose value is paired with each checkpoint (default
                ``"training_iteration"``).

        Returns:
            A list of ``[path, value]`` pairs.

        Raises:
            ValueError: ``trial`` names no trial of the experiment.
            TypeError: ``trial`` is neither a trial nor a path.
        """
        from tunelab._checkpoint import saved_file_of

        files = self._files_of(self._resolve_trial(trial))
        out: list[list[Any]] = []
        for _, path, metrics in files.checkpoint_results():
            value = _io.lookup(metrics, metric)
            if value is not None:
                out.append([saved_file_of(path) or path, value])
        return out

    def get_best_checkpoint(
        self, trial: Trial | str, metric: str | None = None, mode: str | None = None
    ) -> Checkpoint | None:
        """The checkpoint of ``trial`` with the best ``metric`` for ``mode``, or ``None``.

        Checkpoints whose result lacks the metric or holds NaN are skipped; ties go to the
        oldest checkpoint. The checkpoint is a ``TrialCheckpoint``: a
        :class:`~tunelab.Checkpoint` (``.path`` is its directory) that also works as 1.x's
        path: the directory (``os.path.join(ckpt, "model.pt")``), or the file a class
        trainable's ``save_checkpoint`` returned (``open(ckpt)``).

        Args:
            trial: The trial: a trial record of :attr:`trials`, its id or its directory.
            metric: The metric to compare (nested keys written with ``"/"``); default
                ``default_metric``.
            mode: ``"min"`` or ``"max"``; default ``default_mode``.

        Returns:
            The best checkpoint, or None when no checkpoint has a value for the metric.

        Raises:
            ValueError: No metric or mode is known, or ``trial`` names no trial.
        """
        metric = self._metric(metric)
        mode = self._mode(mode)
        resolved = self._resolve_trial(trial)
        best_path: str | None = None
        best_value = 0.0
        for _, path, metrics in self._files_of(resolved).checkpoint_results():
            value = _io.lookup(metrics, metric)
            if not _io.is_number(value) or math.isnan(float(value)):
                continue
            value = float(value)
            if best_path is None or (value > best_value if mode == "max" else value < best_value):
                best_path, best_value = path, value
        if best_path is None:
            logger.warning("No checkpoint of trial %s has a value for %r", resolved, metric)
            return None
        from tunelab._checkpoint import TrialCheckpoint

        return TrialCheckpoint(best_path)

    def get_last_checkpoint(
        self,
        trial: Trial | str | None = None,
        metric: str = "training_iteration",
        mode: str = "max",
    ) -> Checkpoint | None:
        """The newest checkpoint (highest ``metric`` for ``mode``) of ``trial``.

        Args:
            trial: A trial record, its id or its directory; None (default): the trial with
                the best ``metric``/``mode`` (by default the one that ran the most
                iterations).
            metric: What orders the checkpoints (default ``"training_iteration"``).
            mode: ``"max"`` (default) or ``"min"``.

        Returns:
            The checkpoint, or None when there is none.

        Raises:
            ValueError: ``trial`` names no trial, or ``mode`` is invalid.
        """
        resolved = self._resolve_trial(trial) if trial is not None else None
        if resolved is None:
            resolved = self.get_best_trial(metric, mode)
            if resolved is None:
                return None
        return self.get_best_checkpoint(resolved, metric, mode)

    # -- the experiment as a whole (Ray Tune 0.x-2.0) -------------------------------------
    def _experiment_state(self) -> dict[str, Any]:
        """The experiment's ``experiment_state.json`` (read once), or ``{}`` without one."""
        if self._state is None:
            path = os.path.join(self.experiment_path, _io.EXPERIMENT_STATE_FILE)
            state: dict[str, Any] = {}
            if os.path.isfile(path):
                try:
                    state = _io.load_state(path)
                except (OSError, ValueError) as exc:
                    logger.warning("Could not read the experiment state %s: %s", path, exc)
            self._state = state
        return self._state

    def stats(self) -> dict[str, Any]:
        """The experiment's timing, as Ray Tune 0.x-2.0's ``stats()``: ``start_time`` (when
        the run started) and ``timestamp`` (when its state was last saved), in seconds since
        the epoch. Empty when the experiment saved no state."""
        state = self._experiment_state()
        return {key: state[key] for key in ("start_time", "timestamp") if key in state}

    def runner_data(self) -> dict[str, Any]:
        """What the experiment's state says of the run, under the keys of Ray Tune 0.x-2.0's
        ``runner_data()`` that tunelab has: ``_local_checkpoint_dir`` (the experiment
        directory), ``checkpoint_file`` (its state file), ``_start_time``, ``_metric`` and
        ``_mode`` (the run's ``metric``/``mode``), plus the experiment's ``name``. Empty when
        the experiment saved no state."""
        state = self._experiment_state()
        if not state:
            return {}
        return {
            "name": state.get("name"),
            "_local_checkpoint_dir": self.experiment_path,
            "checkpoint_file": os.path.join(self.experiment_path, _io.EXPERIMENT_STATE_FILE),
            "_start_time": state.get("start_time"),
            "_metric": state.get("metric"),
            "_mode": state.get("mode"),
        }

    # -- configs and results ----------------------------------------------------------------
    def get_all_configs(self, prefix: bool = False) -> dict[str, dict[str, Any]]:
        """The config of every trial.

        Args:
            prefix: False (default): ``{trial id: config}``; True: each config flattened
                under ``"config/..."`` keys, as in :meth:`dataframe`.

        Returns:
            A dict keyed by trial id.
        """
        if prefix:
            return {t.trial_id: _io.flatten({"config": t.config}) for t in self._trials}
        return {t.trial_id: t.config for t in self._trials}

    @property
    def results(self) -> dict[str, dict[str, Any]]:
        """trial id -> last result."""
        return {t.trial_id: t.last_result for t in self._trials}

    @property
    def results_df(self) -> DataFrame:
        """The last results, flattened with ``"/"``, one row per trial, indexed by trial id."""
        import pandas as pd

        rows = [{**_io.flatten(t.last_result), "trial_id": t.trial_id} for t in self._trials]
        if not rows:
            return _empty_by_trial_id()
        frame: DataFrame = pd.DataFrame(rows).set_index("trial_id")
        return frame

    @property
    def trial_dataframes(self) -> dict[str, DataFrame]:
        """trial id -> DataFrame of all its results (``result.json``, else ``progress.csv``).

        Trials without a result file are left out. A trial's directory also works as a key.
        """
        if self._trial_dataframes is None:
            frames: dict[str, Any] = {}
            for trial in self._trials:
                frame = self._files_of(trial).dataframe()
                if frame is not None:
                    frames[trial.trial_id] = frame
            self._trial_dataframes = _TrialKeyed(frames, self._paths())
        return self._trial_dataframes

    def fetch_trial_dataframes(self) -> dict[str, DataFrame]:
        """Re-read every trial's result file and return :attr:`trial_dataframes`."""
        for files in self._files.values():
            files.clear()
        self._stats.clear()
        self._trial_dataframes = None
        return self.trial_dataframes

    def dataframe(self, metric: str | None = None, mode: str | None = None) -> DataFrame:
        """One row per trial, with ``config/...`` columns and a ``logdir`` column.

        Nested result keys are flattened with ``"/"``. The default metric and mode are not
        used here.

        Args:
            metric: With ``mode``: each trial's row is the result in which it reported its
                best value of ``metric`` (the first one on ties).
            mode: ``"min"``, ``"max"``, or None (default): each row is the trial's last
                result.

        Returns:
            A pandas ``DataFrame``; trials without any result are left out.

        Raises:
            ValueError: ``mode`` is invalid, or given without ``metric``.
        """
        if mode is not None:
            validate_mode(mode)
            if not metric:
                raise ValueError(
                    f"`dataframe(mode={mode!r})` needs a `metric` too, got metric={metric!r}"
                )
        import pandas as pd

        rows = []
        configs = self.get_all_configs(prefix=True)
        for trial in self._trials:
            row = self._row(trial, metric, mode)
            if row is None:
                continue
            rows.append({**row, **configs[trial.trial_id], "logdir": trial.local_path})
        frame: DataFrame = pd.DataFrame(rows)
        return frame

    def _row(self, trial: Trial, metric: str | None, mode: str | None) -> dict[str, Any] | None:
        rows = self._files_of(trial).rows() if mode is not None or not trial.last_result else []
        if not rows:
            return _io.flatten(trial.last_result) if trial.last_result else None
        if mode is None or metric is None:
            return _io.flatten(rows[-1])
        best = rows[-1]
        best_value: float | None = None
        for row in rows:
            value = _io.lookup(row, metric)
            if not _io.is_number(value) or math.isnan(float(value)):
                continue
            value = float(value)
            if best_value is None or (value > best_value if mode == "max" else value < best_value):
                best, best_value = row, value
        return _io.flatten(best)

    # -- best_* properties (need default_metric and default_mode) --------------------------
    @property
    def best_trial(self) -> Trial | None:
        """The best trial by its last result (or None).

        Needs ``default_metric`` and ``default_mode`` (``ValueError`` without them).
        """
        metric, mode = self._require_defaults("best_trial")
        return self.get_best_trial(metric, mode)

    @property
    def best_config(self) -> dict[str, Any] | None:
        """The config of :attr:`best_trial` (or None).

        Needs ``default_metric`` and ``default_mode`` (``ValueError`` without them).
        """
        metric, mode = self._require_defaults("best_config")
        return self.get_best_config(metric, mode)

    @property
    def best_logdir(self) -> str | None:
        """The directory of :attr:`best_trial` (or None).

        Needs ``default_metric`` and ``default_mode`` (``ValueError`` without them).
        """
        metric, mode = self._require_defaults("best_logdir")
        return self.get_best_logdir(metric, mode)

    @property
    def best_checkpoint(self) -> Checkpoint | None:
        """The checkpoint of :attr:`best_trial` with the best metric (or None).

        Needs ``default_metric`` and ``default_mode`` (``ValueError`` without them).
        """
        metric, mode = self._require_defaults("best_checkpoint")
        best = self.get_best_trial(metric, mode)
        return self.get_best_checkpoint(best, metric, mode) if best is not None else None

    @property
    def best_dataframe(self) -> DataFrame | None:
        """Every result of :attr:`best_trial` as a DataFrame (or None).

        Needs ``default_metric`` and ``default_mode`` (``ValueError`` without them).
        """
        metric, mode = self._require_defaults("best_dataframe")
        best = self.get_best_trial(metric, mode)
        return self.trial_dataframes.get(best.trial_id) if best is not None else None

    @property
    def best_result(self) -> dict[str, Any] | None:
        """The last result of :attr:`best_trial` (or None).

        Needs ``default_metric`` and ``default_mode`` (``ValueError`` without them).
        """
        metric, mode = self._require_defaults("best_result")
        best = self.get_best_trial(metric, mode)
        return best.last_result if best is not None else None

    @property
    def best_result_df(self) -> DataFrame:
        """The last result of :attr:`best_trial` as a one-row DataFrame indexed by trial id
        (empty when there is no best trial).

        Needs ``default_metric`` and ``default_mode`` (``ValueError`` without them).
        """
        metric, mode = self._require_defaults("best_result_df")
        import pandas as pd

        best = self.get_best_trial(metric, mode)
        if best is None:
            return _empty_by_trial_id()
        row = {**_io.flatten(best.last_result), "trial_id": best.trial_id}
        frame: DataFrame = pd.DataFrame([row]).set_index("trial_id")
        return frame

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.experiment_path!r}, trials={len(self._trials)}, "
            f"default_metric={self.default_metric!r}, default_mode={self.default_mode!r})"
        )


def _empty_by_trial_id() -> DataFrame:
    import pandas as pd

    frame: DataFrame = pd.DataFrame(index=pd.Index([], name="trial_id"))
    return frame


class Analysis(ExperimentAnalysis):
    """The 0.x/1.x directory reader: ``Analysis(experiment_dir, default_metric, default_mode)``.

    Same queries as :class:`ExperimentAnalysis`, always built from a directory on disk.

    Args:
        experiment_dir: The experiment directory (or its ``experiment_state.json``).
        default_metric: The metric of the ``best_*`` properties (None: the run's).
        default_mode: ``"min"`` or ``"max"`` (None: the run's).
    """

    def __init__(
        self,
        experiment_dir: str | os.PathLike[str],
        default_metric: str | None = None,
        default_mode: str | None = None,
    ) -> None:
        super().__init__(experiment_dir, default_metric=default_metric, default_mode=default_mode)


def _staging_root() -> str:
    from tunelab import _defaults

    root = _defaults.results_root()
    return os.path.expanduser("~/tunelab_results") if "://" in root else root
