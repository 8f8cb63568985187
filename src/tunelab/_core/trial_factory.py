"""Turning suggestions into trials (ids, names, directories, resources) and trials into the
task a worker runs."""

from __future__ import annotations

import os
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from tunelab._errors import TuneValueError
from tunelab._trial import FrozenDict, Trial, TrialStatus
from tunelab.execution._protocol import RemoteStorage, ResultLogs, TrialTask
from tunelab.search._search_algorithm import TrialSuggestion

if TYPE_CHECKING:
    from tunelab._core.run_state import ExperimentRuntime
    from tunelab.schedulers import TrialScheduler

__all__ = ["TrialFactory"]

_UNSAFE = re.compile(r'[/()<>:"\\|?*,\s]')


class TrialFactory:
    """Creates :class:`Trial` records for the controller and the worker tasks that run them."""

    def __init__(
        self,
        runtimes: list[ExperimentRuntime],
        scheduler: TrialScheduler,
        *,
        max_len_identifier: int = 130,
        chdir_to_trial_dir: bool = True,
        reuse_actors: bool = False,
    ) -> None:
        self._runtimes = runtimes
        self._scheduler = scheduler
        self._max_len = max_len_identifier
        self._chdir = chdir_to_trial_dir
        self._reuse = reuse_actors
        self._id_prefix = uuid.uuid4().hex[:5]
        self._id_counter = 0
        self._date_cache = (0, "")
        #: trial directory names taken in this run, per experiment path
        self._dirnames: dict[str, set[str]] = {}
        #: each experiment's dict stop criteria, one read-only dict its trials share
        self._criteria: dict[int, FrozenDict] = {}

    def make(self, suggestion: TrialSuggestion) -> Trial:
        exp = suggestion.experiment
        rt = next(r for r in self._runtimes if r.experiment is exp)
        trial_id = suggestion.trial_id or self.new_trial_id()
        resources = exp.resources
        if resources is None:
            from tunelab.trainable._trainable import resource_request_of

            resources = resource_request_of(exp.trainable, suggestion.config)
        trial = Trial(
            exp.trainable_name,
            trial_id=trial_id,
            config=suggestion.config,
            experiment_tag=suggestion.experiment_tag,
            evaluated_params=suggestion.evaluated_params,
            resources=resources,  # None: the shared one-CPU request
            stopping_criterion=self._criteria_of(rt),
            experiment_name=exp.name,
            experiment_path=exp.experiment_path,
            max_failures=exp.max_failures,
            experiment_index=rt.index,
        )
        if exp.trial_name_creator is not None:
            trial.custom_trial_name = str(exp.trial_name_creator(trial))
        if exp.trial_dirname_creator is not None:
            dirname = _UNSAFE.sub("_", str(exp.trial_dirname_creator(trial)))
            if dirname in ("", ".", ".."):
                raise TuneValueError(
                    f"trial_dirname_creator returned {dirname!r} for trial {trial_id}; it must "
                    "return a directory name (not empty, '.' or '..')"
                )
        else:
            ident = f"{exp.trainable_name}_{trial_id}"
            if trial.experiment_tag:
                ident += f"_{trial.experiment_tag}"
            dirname = _UNSAFE.sub("_", f"{ident[: self._max_len]}_{self._date()}")
        trial.dirname = self._unique_dirname(exp.experiment_path, dirname)
        if exp.restore:
            from tunelab._checkpoint import Checkpoint

            trial.checkpoint = Checkpoint(exp.restore)  # the controller starts it as a restore
        return trial

    def _criteria_of(self, rt: ExperimentRuntime) -> FrozenDict:
        criteria = self._criteria.get(rt.index)
        if criteria is None:
            criteria = self._criteria[rt.index] = FrozenDict(rt.criteria)
        return criteria

    def expand_spec(
        self, name: str, spec: dict[str, Any], *, trusted: bool = False
    ) -> list[TrialSuggestion]:
        """Suggestions for ``{"config": ..., "num_samples": n, "run": name?}`` (REST API),
        expanded like :class:`BasicVariantGenerator` does, for experiment ``name``.
        ``trusted=False`` (the default: such specs come from the network): a config holding
        code (``{"eval": ...}``, functions) raises ``UntrustedSpecError`` naming its key."""
        import contextlib
        import dataclasses
        import types

        from tunelab.search import BasicVariantGenerator
        from tunelab.search._resolve import untrusted_specs

        if not isinstance(spec, dict):
            raise TypeError(f"add_trials_from_spec: spec must be a dict, got {spec!r}")
        unknown = sorted(set(spec) - {"config", "num_samples", "run"})
        if unknown:
            raise ValueError(
                f"add_trials_from_spec: unknown spec keys {unknown}; allowed: config, "
                "num_samples, run"
            )
        rt = next((r for r in self._runtimes if r.experiment.name == name), self._runtimes[0])
        run = spec.get("run", rt.experiment.trainable_name)
        if run != rt.experiment.trainable_name:
            raise ValueError(
                f"add_trials_from_spec: run={run!r} is not this experiment's trainable "
                f"({rt.experiment.trainable_name!r})"
            )
        config = spec.get("config", {})
        if not isinstance(config, dict):
            raise TypeError(f"add_trials_from_spec: config must be a dict, got {config!r}")
        num_samples = spec.get("num_samples", 1)
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(
                f"add_trials_from_spec: num_samples must be an int >= 1, got {num_samples!r}"
            )
        scope = (
            contextlib.nullcontext()
            if trusted
            else untrusted_specs("a trial spec from the REST API", prefix=("config",))
        )
        suggestions = []
        with scope:
            generator = BasicVariantGenerator()
            generator.add_configurations(
                [types.SimpleNamespace(config=config, num_samples=num_samples, name=name)]
            )
            while True:
                suggestion = generator.next_trial()
                if suggestion is None:
                    break
                suggestions.append(
                    dataclasses.replace(suggestion, experiment=rt.experiment, trial_id=None)
                )
        return suggestions

    def reserve_dirname(self, experiment_path: str, dirname: str) -> None:
        """Mark ``dirname`` as taken in ``experiment_path`` (a resumed trial's directory)."""
        self._dirnames.setdefault(experiment_path, set()).add(dirname)

    def _unique_dirname(self, experiment_path: str, dirname: str) -> str:
        """``dirname``, or ``dirname_<4 hex>`` when another trial of this run took it or it
        exists already (as Ray Tune 2.x does): no trial writes into another's directory."""
        taken = self._dirnames.setdefault(experiment_path, set())
        candidate = dirname
        while candidate in taken or (
            "://" not in experiment_path
            and os.path.lexists(os.path.join(experiment_path, candidate))
        ):
            candidate = f"{dirname}_{uuid.uuid4().hex[:4]}"
        taken.add(candidate)
        return candidate

    def new_trial_id(self) -> str:
        self._id_counter += 1
        return f"{self._id_prefix}_{self._id_counter:05d}"

    def _date(self) -> str:
        now = int(time.time())
        if self._date_cache[0] != now:
            self._date_cache = (now, time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(now)))
        return self._date_cache[1]

    def task(
        self,
        trial: Trial,
        rt: ExperimentRuntime,
        *,
        restoring: bool,
        logs: ResultLogs | None = None,
    ) -> TrialTask:
        """The task a worker runs for ``trial`` (see ``execution/_protocol.py``); ``logs``:
        the result files its worker writes."""
        exp = rt.experiment
        ckpt_cfg = exp.checkpoint_config
        restore_path = None
        iteration_state = None
        if trial.checkpoint is not None and (trial.status == TrialStatus.PAUSED or restoring):
            restore_path = getattr(trial.checkpoint, "path", None)
            iteration_state = trial.restore_state
        points = self._scheduler.decision_points()
        milestone_attr = None
        milestones: tuple[float, ...] = ()
        if points is not None and points.milestones:
            milestone_attr, milestones = points.attr, tuple(points.milestones)
        return TrialTask(
            trial_id=trial.trial_id,
            trial_dir=trial.local_path,
            trainable_key=rt.key,
            trial_name=str(trial),
            experiment_name=exp.name,
            storage_path=exp.storage_path,
            config=trial.config,
            is_function=exp.is_function_trainable,
            resources=trial.resources.to_state(),
            stop_criteria=rt.criteria,
            sync=rt.sync,
            milestone_attr=milestone_attr,
            milestones=milestones,
            checkpoint_freq=ckpt_cfg.checkpoint_frequency,
            checkpoint_at_end=bool(ckpt_cfg.checkpoint_at_end),
            export_formats=tuple(exp.export_formats),
            restore_path=restore_path,
            iteration_state=iteration_state,
            log_to_file=exp.log_to_file if any(exp.log_to_file) else None,
            chdir=self._chdir,
            reuse=self._reuse,
            remote=RemoteStorage(
                exp.experiment_path, exp.remote_path, exp.staging_token, exp.checkpoint_upload
            )
            if exp.remote_path and exp.staging_token
            else None,
            logs=logs,
        )
