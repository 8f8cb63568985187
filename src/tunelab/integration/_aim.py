"""Aim: :class:`AimLoggerCallback` (the ``aim`` extra; importing this module does not import
``aim``, constructing the callback does)."""

from __future__ import annotations

import logging
import math
import numbers
from typing import Any

from tunelab._errors import require
from tunelab.integration._tracker import TrackerCallback, TrialInfo, check_timeout
from tunelab.utils._util import flatten_dict

__all__ = ["AimLoggerCallback"]

_log = logging.getLogger("tunelab.integration")

#: Result keys not tracked (they are not metrics).
_NOT_TRACKED = ("config", "pid", "timestamp", "time_total_s", "training_iteration")
_HPARAM_TYPES = (str, bool, int, float, list, type(None))


def _import_aim() -> Any:
    return require("aim", extra="aim", feature="The Aim integration")


def _number(value: Any) -> float | int | None:
    """``value`` as a finite int/float (numpy scalars included), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = value.item() if hasattr(value, "item") else value
    if isinstance(number, int):
        return number
    result = float(number)
    return result if math.isfinite(result) else None


def _hparams(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    removed: dict[str, Any] = {}
    for key, value in flatten_dict(params, delimiter="/").items():
        if hasattr(value, "item") and hasattr(value, "dtype"):  # numpy scalar
            value = value.item()
        if isinstance(value, _HPARAM_TYPES):
            out[str(key)] = value
        else:
            removed[str(key)] = value
    if removed:
        _log.info("Aim: these hyperparameter values are not logged: %s", removed)
    return out


class AimLoggerCallback(TrackerCallback):
    """Logs every trial to an Aim repository: one ``aim.Run`` per trial.

    ``repo`` (a path or an ``aim.Repo``) defaults to the experiment's directory;
    ``experiment_name`` (the runs' ``experiment``) to the experiment directory's name. A run
    gets ``trial_id``, ``trial_log_dir`` and the trial's sampled hyperparameters under
    ``hparams``. Every result's numbers (nested keys joined with "/"; ``config``, ``pid``,
    ``timestamp``, ``time_total_s``, ``training_iteration`` and non-finite values left out;
    only ``metrics`` when given) are tracked as ``ray/tune/<key>`` at step
    ``timesteps_total`` if reported, else ``training_iteration``; a reported ``epoch`` and
    ``context`` become Aim's epoch and context. At trial end its status
    (``FINISHED``/``FAILED``/``KILLED``) is stored as ``trial_status`` and the run is
    closed. Other keyword arguments go to ``aim.Run`` (the driver's terminal output is not
    captured into the runs unless ``capture_terminal_logs=True``). Aim's calls run in a
    helper thread of the driver: a slow or failing Aim never stalls or fails the experiment.

    Args:
        repo: The Aim repository: a path or an ``aim.Repo`` (default: the experiment
            directory).
        experiment_name: The runs' Aim experiment (default: the experiment directory's
            name).
        metrics: Only these result keys are tracked (default None: every number).
        flush_timeout_s: Seconds the end of the tunelab experiment waits for pending Aim
            calls, > 0 (keyword only; default 60).
        **aim_run_kwargs: Passed to ``aim.Run``.

    Raises:
        ValueError: ``metrics`` is not a non-empty list of names, or ``flush_timeout_s``
            is not > 0.
        TypeError: ``experiment_name`` is not a string.
        ExtraNotInstalledError: aim is not installed (an ``ImportError``).
    """

    tracker = "Aim"

    VALID_HPARAMS = _HPARAM_TYPES

    def __init__(
        self,
        repo: Any = None,
        experiment_name: str | None = None,
        metrics: list[str] | None = None,
        *,
        flush_timeout_s: float = 60.0,
        **aim_run_kwargs: Any,
    ) -> None:
        super().__init__(flush_timeout_s=check_timeout("flush_timeout_s", flush_timeout_s))
        if metrics is not None and (
            isinstance(metrics, str) or not metrics or not all(isinstance(m, str) for m in metrics)
        ):
            raise ValueError(
                "metrics must be a non-empty list of reported metric names, or None to log "
                f"every reported metric, got {metrics!r}"
            )
        if experiment_name is not None and not isinstance(experiment_name, str):
            raise TypeError(f"experiment_name must be a string or None, got {experiment_name!r}")
        _import_aim()  # fails here, in the driver, without the extra
        self._repo_path = repo
        self._experiment_name = experiment_name
        self._metrics = list(metrics) if metrics is not None else None
        self._aim_run_kwargs = dict(aim_run_kwargs)
        self._aim_run_kwargs.setdefault("capture_terminal_logs", False)

    # -- the helper thread ------------------------------------------------------------
    def _tracker_start(self, info: TrialInfo, reference: Any) -> Any:
        Run = _import_aim().Run

        repo = self._repo_path or info.experiment_path
        kwargs = dict(self._aim_run_kwargs)
        if isinstance(reference, str) and "run_hash" not in kwargs:
            kwargs["run_hash"] = reference  # resumed experiment: the trial's run again
        run = Run(
            repo=repo,
            experiment=self._experiment_name or info.experiment_dir_name or None,
            **kwargs,
        )
        run["trial_id"] = info.trial_id
        run["trial_log_dir"] = info.local_path
        if info.evaluated_params:
            run["hparams"] = _hparams(info.evaluated_params)
        return run

    def _tracker_reference(self, run: Any) -> Any:
        return str(run.hash)

    def _tracker_log(self, run: Any, info: TrialInfo, result: dict[str, Any]) -> None:
        step = result.get("timesteps_total") or result.get("training_iteration")
        values = {k: v for k, v in result.items() if k not in _NOT_TRACKED}
        context = values.pop("context", None)
        epoch = values.pop("epoch", None)
        for key, value in flatten_dict(values, delimiter="/").items():
            if self._metrics is not None and key not in self._metrics:
                continue
            number = _number(value)
            if number is None:
                continue
            run.track(number, name=f"ray/tune/{key}", step=step, epoch=epoch, context=context)

    def _tracker_end(self, run: Any, info: TrialInfo, status: str) -> None:
        try:
            run["trial_status"] = status
        finally:
            run.close()


AimLoggerCallback.__module__ = "tunelab.logger.aim"
