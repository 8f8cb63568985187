"""Comet: :class:`CometLoggerCallback` (the ``comet`` extra; importing this module does not
import ``comet_ml``, constructing the callback does)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tunelab._errors import require
from tunelab.integration._tracker import TrackerCallback, TrialInfo, check_timeout
from tunelab.utils._util import flatten_dict

__all__ = ["CometLoggerCallback"]


def _import_comet() -> Any:
    # Comet's automatic logging of frameworks patches them process-wide; as Ray does, it is
    # off unless the user turned it on.
    os.environ.setdefault("COMET_DISABLE_AUTO_LOGGING", "1")
    return require("comet_ml", extra="comet", feature="The Comet integration")


def _matches(key: str, names: list[str]) -> bool:
    return any(key == name or key.startswith(name + "/") for name in names)


class CometLoggerCallback(TrackerCallback):
    """Logs every trial to Comet: one ``comet_ml.Experiment`` per trial, or an
    ``OfflineExperiment`` with ``online=False`` (written as a zip file to
    ``offline_directory``, uploadable later with ``comet upload``).

    At trial start the experiment is named after the trial, gets ``tags`` and the trial's
    config as parameters. Every result (step ``training_iteration``): its ``config`` as
    parameters, ``trial_id``/``experiment_id``/``experiment_tag`` as "others",
    ``node_ip``/``hostname``/``pid``/``date`` as system info, the episode histograms
    (``hist_stats/episode_reward``, ``hist_stats/episode_lengths``) as curves and everything
    else as metrics (nested keys joined with "/"; ``done``/``should_checkpoint`` left out).
    ``save_checkpoints=True`` logs each checkpoint directory as a ``model`` artifact. At
    trial end the trial's status (``FINISHED``/``FAILED``/``KILLED``) is logged as the
    "Trial status" other and the experiment ends.

    Other keyword arguments go to the experiment's constructor (``api_key``, ``project_name``,
    ``workspace``, ``offline_directory``...); the noisy automatic logging options
    (``auto_output_logging``, ``log_git_metadata``, ``log_git_patch``, ``log_env_cpu``,
    ``log_env_gpu``) are off unless passed. Comet's calls run in a helper thread of the
    driver: a slow or failing Comet never stalls or fails the experiment.

    Args:
        online: True (default): ``comet_ml.Experiment``; False: ``OfflineExperiment``
            (needs ``offline_directory`` in the keyword arguments, or Comet's default).
        tags: Tags of every experiment.
        save_checkpoints: Log each checkpoint directory as a ``model`` artifact (default
            False).
        flush_timeout_s: Seconds the end of the tunelab experiment waits for pending Comet
            calls, > 0 (keyword only; default 120).
        **experiment_kwargs: Passed to the Comet experiment's constructor (``api_key``,
            ``project_name``, ``workspace``, ``offline_directory``...).

    Raises:
        TypeError: ``online`` or ``tags`` has the wrong type.
        ValueError: ``flush_timeout_s`` is not > 0.
        ExtraNotInstalledError: comet_ml is not installed (an ``ImportError``).
    """

    tracker = "Comet"

    _exclude_autolog = [
        "auto_output_logging",
        "log_git_metadata",
        "log_git_patch",
        "log_env_cpu",
        "log_env_gpu",
    ]
    _exclude_results = ["done", "should_checkpoint"]
    _system_results = ["node_ip", "hostname", "pid", "date"]
    _other_results = ["trial_id", "experiment_id", "experiment_tag"]
    _episode_results = ["hist_stats/episode_reward", "hist_stats/episode_lengths"]

    def __init__(
        self,
        online: bool = True,
        tags: list[str] | None = None,
        save_checkpoints: bool = False,
        *,
        flush_timeout_s: float = 120.0,
        **experiment_kwargs: Any,
    ) -> None:
        super().__init__(flush_timeout_s=check_timeout("flush_timeout_s", flush_timeout_s))
        if not isinstance(online, bool):
            raise TypeError(f"online must be True or False, got {online!r}")
        if tags is not None and (
            isinstance(tags, str) or not all(isinstance(t, str) for t in tags)
        ):
            raise TypeError(f"tags must be a list of strings or None, got {tags!r}")
        _import_comet()  # fails here, in the driver, without the extra
        self.online = online
        self.tags = list(tags or [])
        self.save_checkpoints = bool(save_checkpoints)
        self.experiment_kwargs = dict(experiment_kwargs)
        for option in self._exclude_autolog:
            if not self.experiment_kwargs.get(option):
                self.experiment_kwargs[option] = False

    def _wants_checkpoints(self) -> bool:
        return self.save_checkpoints

    # -- the helper thread ------------------------------------------------------------
    def _tracker_start(self, info: TrialInfo, reference: Any) -> Any:
        comet_ml = _import_comet()
        set_global_experiment = require(
            "comet_ml.config", extra="comet", feature="The Comet integration"
        ).set_global_experiment
        cls = comet_ml.Experiment if self.online else comet_ml.OfflineExperiment
        kwargs = dict(self.experiment_kwargs)
        if not self.online and kwargs.get("offline_directory"):
            os.makedirs(kwargs["offline_directory"], exist_ok=True)
        experiment = cls(**kwargs)
        set_global_experiment(None)  # several trials' experiments at once
        experiment.set_name(info.name)
        if self.tags:
            experiment.add_tags(self.tags)
        experiment.log_other("Created from", "tunelab")
        config = {k: v for k, v in info.config.items() if k != "callbacks"}
        experiment.log_parameters(config)
        return experiment

    def _tracker_log(self, experiment: Any, info: TrialInfo, result: dict[str, Any]) -> None:
        step = result.get("training_iteration")
        config_update = dict(result.get("config") or {})
        config_update.pop("callbacks", None)
        for key, value in config_update.items():
            if isinstance(value, dict):
                experiment.log_parameters(flatten_dict({key: value}, delimiter="/"), step=step)
            else:
                experiment.log_parameter(key, value, step=step)
        other: dict[str, Any] = {}
        metrics: dict[str, Any] = {}
        system: dict[str, Any] = {}
        episodes: dict[str, Any] = {}
        for key, value in flatten_dict(result, delimiter="/").items():
            key = str(key)
            if key == "config" or key.startswith("config/"):
                continue
            if _matches(key, self._exclude_results):
                continue
            if _matches(key, self._other_results):
                other[key] = value
            elif _matches(key, self._system_results):
                system[key] = value
            elif _matches(key, self._episode_results):
                episodes[key] = value
            else:
                metrics[key] = value
        if other:
            experiment.log_others(other)
        experiment.log_metrics(metrics, step=step)
        for key, value in system.items():
            experiment.log_system_info(key, value)
        for key, value in episodes.items():
            experiment.log_curve(key, x=range(len(value)), y=value, step=step)

    def _tracker_save(self, experiment: Any, info: TrialInfo, checkpoint_path: str) -> None:
        comet_ml = _import_comet()
        artifact = comet_ml.Artifact(name=f"checkpoint_{info.name}", artifact_type="model")
        for root, _dirs, files in os.walk(checkpoint_path):
            relative_root = os.path.relpath(root, checkpoint_path)
            for file in files:
                logical = Path(relative_root, file).as_posix()
                artifact.add(Path(root, file).as_posix(), logical_path=logical.removeprefix("./"))
        experiment.log_artifact(artifact)

    def _tracker_end(self, experiment: Any, info: TrialInfo, status: str) -> None:
        try:
            experiment.log_other("Trial status", status)
        finally:
            experiment.end()


CometLoggerCallback.__module__ = "tunelab.integration.comet"
