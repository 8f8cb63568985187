"""Hugging Face transformers' ``Trainer.hyperparameter_search`` on tunelab.

transformers runs ``trainer.hyperparameter_search(backend="ray", ...)`` on Ray Tune and
imports ``ray`` for it. With tunelab that call becomes :func:`hyperparameter_search` with the
trainer as first argument and otherwise the same arguments (less ``backend``)::

    from tunelab.integration.huggingface import hyperparameter_search

    trainer = Trainer(model_init=lambda trial: build_model(), args=TrainingArguments(
        output_dir="out", eval_strategy="epoch", save_strategy="epoch", ...), ...)
    best_run = hyperparameter_search(
        trainer,
        hp_space=lambda _: {"learning_rate": tunelab.loguniform(1e-5, 1e-2),
                            "num_train_epochs": tunelab.choice([2, 3])},
        n_trials=8,
        direction="minimize",
        scheduler=ASHAScheduler(),  # any tunelab.run argument
    )
    best_run.hyperparameters  # a transformers.trainer_utils.BestRun

It does what transformers' Ray backend does (``run_hp_search_ray``), with tunelab:

* ``hp_space(None)`` is the ``config`` of a ``tunelab.run`` with ``num_samples=n_trials``;
  its default is transformers' default Ray space (:func:`default_hp_space`). The remaining
  keyword arguments are ``tunelab.run``'s (``scheduler``, ``search_alg``, ``stop``,
  ``storage_path``, ``name``, ``keep_checkpoints_num``, ``checkpoint_score_attr``, ...);
  ``resources_per_trial`` defaults to 1 CPU (and 1 GPU when the trainer has one),
  ``progress_reporter`` to a ``CLIReporter`` showing ``objective``.
* Each trial trains its own copy of ``trainer`` in a worker process: the trial's config is
  set on ``trainer.args`` (keys that are no ``TrainingArguments`` field are passed to
  ``model_init(config)`` only, with a warning in the log, as in transformers), the model
  comes from ``model_init(config)``, and the trial writes its Trainer output under
  ``<output_dir>/run-<trial id>`` (or ``hp_name(config)``).
* Every evaluation during training reports the evaluation metrics plus ``objective`` (from
  ``compute_objective``, default transformers' ``default_compute_objective``); when the
  Trainer is about to save a checkpoint at that step, the report carries a checkpoint
  holding ``checkpoint-<step>/`` (model, optimizer, scheduler and trainer state). A trial
  that never evaluated during training is evaluated once at the end and reports with a
  checkpoint (and ``done``). A restored trial (PBT's exploit, a retry after a failure)
  resumes with ``trainer.train(resume_from_checkpoint=...)``.
* Schedulers that act on intermediate results (ASHA, the median stopping rule, BOHB's
  HyperBand, PBT) need evaluation during training: without ``do_eval`` or with
  ``eval_strategy="no"`` they raise ``RuntimeError``, as in transformers.
* The best trial is the one with the best ``objective`` over ``scope`` (default
  ``"last"``; transformers reads it from ``RAY_SCOPE``); the result is
  ``BestRun(run_id=trial id, objective, hyperparameters=config, run_summary=the
  ExperimentAnalysis)``.

The trainer must have a ``model_init``; it is left as it was (transformers' Ray backend
leaves its model ``None``): what travels to the workers is a copy without the model and the
TensorBoard callback. Importing this module imports transformers and PyTorch (``pip install
"tunelab[transformers]"``).
"""

from __future__ import annotations

import copy
import logging
import os
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tunelab import _session
from tunelab._checkpoint import Checkpoint, make_temp_checkpoint_dir
from tunelab._errors import ExtraNotInstalledError, TuneError

try:
    import torch
    import transformers
    from transformers.trainer_utils import (
        PREFIX_CHECKPOINT_DIR,
        BestRun,
        IntervalStrategy,
        default_compute_objective,
    )
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ExtraNotInstalledError(
        "tunelab.integration.huggingface", "transformers", "transformers"
    ) from exc

__all__ = ["BestRun", "TuneReportCallback", "default_hp_space", "hyperparameter_search"]

logger = logging.getLogger("tunelab.integration")

_TRAINER_STATE_NAME = "trainer_state.json"
_OPTIMIZER_NAME = "optimizer.pt"
_SCHEDULER_NAME = "scheduler.pt"


def default_hp_space(trial: Any = None) -> dict[str, Any]:
    """transformers' default Ray Tune search space, in tunelab's domains.

    ``learning_rate`` log-uniform in [1e-6, 1e-4], ``num_train_epochs`` in 1..5, ``seed``
    uniform in [1, 40], ``per_device_train_batch_size`` in {4, 8, 16, 32, 64}.

    Args:
        trial: Unused (transformers passes None or a trial object).

    Returns:
        The search space, a dict of parameter name -> domain.
    """
    from tunelab.search.sample import choice, loguniform, uniform

    return {
        "learning_rate": loguniform(1e-6, 1e-4),
        "num_train_epochs": choice(list(range(1, 6))),
        "seed": uniform(1, 40),
        "per_device_train_batch_size": choice([4, 8, 16, 32, 64]),
    }


def _check_direction(direction: Any) -> str:
    modes = {"minimize": "min", "maximize": "max", "min": "min", "max": "max"}
    if not isinstance(direction, str) or direction not in modes:
        raise ValueError(
            "direction must be 'minimize' or 'maximize' (one objective; tunelab runs the "
            f"search like transformers' Ray backend), got {direction!r}"
        )
    return modes[direction]


def _save_trainer_checkpoint(trainer: Any, directory: str) -> None:
    """Write ``checkpoint-<global step>/`` into ``directory`` as transformers' Ray backend
    does: the model, and (on the saving process) the trainer state, optimizer and scheduler,
    which ``trainer.train(resume_from_checkpoint=...)`` reads back."""
    output_dir = os.path.join(directory, f"{PREFIX_CHECKPOINT_DIR}-{trainer.state.global_step}")
    trainer.save_model(output_dir, _internal_call=True)
    if trainer.args.should_save:
        trainer.state.stateful_callbacks["TrainerControl"] = trainer.control.state()
        trainer.state.save_to_json(os.path.join(output_dir, _TRAINER_STATE_NAME))
        torch.save(trainer.optimizer.state_dict(), os.path.join(output_dir, _OPTIMIZER_NAME))
        torch.save(trainer.lr_scheduler.state_dict(), os.path.join(output_dir, _SCHEDULER_NAME))


def _report(trainer: Any, metrics: dict[str, Any], *, with_checkpoint: bool) -> None:
    if not with_checkpoint or not _session.is_session_enabled():
        _session.report(metrics)
        return
    directory = make_temp_checkpoint_dir()
    _save_trainer_checkpoint(trainer, directory)
    _session.report(metrics, checkpoint=Checkpoint.from_directory(directory))


class TuneReportCallback(transformers.TrainerCallback):  # type: ignore[misc]
    """A ``TrainerCallback`` reporting every evaluation of ``trainer`` to the running trial.

    Each report holds the evaluation metrics plus ``objective``
    (``trainer.compute_objective(metrics)``), with a checkpoint (``checkpoint-<step>/``:
    model, optimizer, scheduler and trainer state) when the Trainer is about to save one at
    that step. :func:`hyperparameter_search` adds one to each trial's trainer; add one
    yourself to run a Trainer inside your own trainable (``trainer.compute_objective``
    defaults to transformers' ``default_compute_objective``).

    Args:
        trainer: The ``transformers.Trainer`` whose evaluations are reported; add the
            callback to it yourself (``trainer.add_callback(callback)``).
    """

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer
        self.active = True

    def on_evaluate(
        self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any
    ) -> None:
        """Report ``metrics`` and ``objective`` (see the class).

        Args:
            args: The Trainer's ``TrainingArguments``.
            state: The Trainer's ``TrainerState``.
            control: The Trainer's ``TrainerControl`` (``should_save`` decides whether a
                checkpoint goes with the report).
            metrics: The evaluation metrics; nothing is reported without them.
            **kwargs: Other arguments transformers passes.
        """
        if not self.active or metrics is None:
            return
        trainer = self.trainer
        compute = getattr(trainer, "compute_objective", None) or default_compute_objective
        result = dict(metrics)
        trainer.objective = compute(dict(metrics))
        result["objective"] = trainer.objective
        _report(trainer, result, with_checkpoint=bool(control.should_save))


def _apply_config(trainer: Any, config: Mapping[str, Any]) -> None:
    """Set the trial's hyperparameters on ``trainer.args`` (cast to each field's type, as
    transformers does) and rebuild what depends on them."""
    for key, value in config.items():
        if key == "wandb":
            continue
        if not hasattr(trainer.args, key):
            logger.warning(
                "Trying to set %s in the hyperparameter search but there is no corresponding "
                "field in `TrainingArguments`.",
                key,
            )
            continue
        old = getattr(trainer.args, key, None)
        setattr(trainer.args, key, type(old)(value) if old is not None else value)
    trainer._train_batch_size = trainer.args.train_batch_size
    trainer.create_accelerator_and_postprocess()


def _objective(
    config: dict[str, Any],
    trainer_blob: bytes = b"",
    output_dir: str = "",
    hp_name: Callable[[dict[str, Any]], str] | None = None,
) -> None:
    """One trial: a fresh copy of the trainer trains with ``config`` (see the module
    docstring)."""
    trainer = pickle.loads(trainer_blob)  # a copy per trial; a worker runs many trials
    trial = dict(config)
    trial.pop("wandb", None)
    _apply_config(trainer, trial)
    run_name = hp_name(trial) if hp_name is not None else f"run-{_session.get_trial_id()}"
    trainer.args.output_dir = os.path.join(output_dir, run_name)
    callback = TuneReportCallback(trainer)
    trainer.add_callback(callback)
    trainer.objective = None
    checkpoint = _session.get_checkpoint()
    if checkpoint is not None:
        # A restored trial: if training already reached its end, train() is a no-op and the
        # final evaluation below must not run again.
        trainer.objective = "objective"
        with checkpoint.as_directory() as directory:
            found = sorted(Path(directory).glob(f"{PREFIX_CHECKPOINT_DIR}*"))
            if not found:
                raise FileNotFoundError(
                    f"the trial's checkpoint {directory!r} holds no {PREFIX_CHECKPOINT_DIR}-* "
                    "directory to resume the Trainer from"
                )
            trainer.train(resume_from_checkpoint=found[0].as_posix(), trial=trial)
    else:
        trainer.train(trial=trial)
    callback.active = False
    if trainer.objective is None:  # no evaluation during training
        metrics = dict(trainer.evaluate())
        trainer.objective = trainer.compute_objective(dict(metrics))
        metrics.update({"objective": trainer.objective, "done": True})
        _report(trainer, metrics, with_checkpoint=True)


def _needs_intermediate_results(scheduler: Any) -> bool:
    from tunelab.schedulers import (
        ASHAScheduler,
        HyperBandForBOHB,
        MedianStoppingRule,
        PopulationBasedTraining,
    )

    return isinstance(
        scheduler, (ASHAScheduler, MedianStoppingRule, HyperBandForBOHB, PopulationBasedTraining)
    )


def hyperparameter_search(
    trainer: Any,
    hp_space: Callable[[Any], dict[str, Any]] | None = None,
    compute_objective: Callable[[dict[str, float]], float] | None = None,
    n_trials: int = 20,
    direction: str = "minimize",
    hp_name: Callable[[Any], str] | None = None,
    *,
    scope: str = "last",
    **kwargs: Any,
) -> BestRun:
    """Run ``trainer``'s hyperparameter search on tunelab.

    It does what ``trainer.hyperparameter_search(backend="ray", ...)`` does on Ray Tune
    (see the module docstring).

    Args:
        trainer: A ``transformers.Trainer`` built with ``model_init``.
        hp_space: A function ``trial -> search space`` (called with None); default
            :func:`default_hp_space`. Keys that are ``TrainingArguments`` fields are set on
            each trial's ``trainer.args``.
        compute_objective: A function ``metrics -> float`` giving each evaluation's
            ``objective``; default transformers' ``default_compute_objective``.
        n_trials: How many trials to run (``num_samples``), >= 1 (default 20).
        direction: ``"minimize"`` (default) or ``"maximize"`` the objective.
        hp_name: A function ``config -> str`` naming each trial's output folder under the
            Trainer's ``output_dir`` (default ``run-<trial id>``).
        scope: Which results decide the best trial: ``"last"`` (default), ``"avg"``,
            ``"last-5-avg"``, ``"last-10-avg"`` or ``"all"`` (keyword only).
        **kwargs: :func:`tunelab.run` arguments (``scheduler``, ``search_alg``, ``stop``,
            ``storage_path``, ``name``, ...). ``resources_per_trial`` defaults to 1 CPU
            (and 1 GPU when the trainer has one), ``progress_reporter`` to a
            :class:`~tunelab.CLIReporter` showing ``objective``.

    Returns:
        The best run as a ``transformers.trainer_utils.BestRun`` (``run_id``: the trial id,
        ``objective``, ``hyperparameters``: its config, ``run_summary``: the run's
        :class:`~tunelab.ExperimentAnalysis`).

    Raises:
        TypeError: ``trainer`` is not a ``Trainer``, or a function argument is not callable.
        ValueError: ``n_trials`` or ``direction`` is invalid, or ``config``/``num_samples``
            is passed.
        RuntimeError: The trainer has no ``model_init``, or the scheduler needs
            intermediate results and the Trainer does not evaluate during training.
        TuneError: No trial reported an objective.
    """
    if not isinstance(trainer, transformers.Trainer):
        raise TypeError(
            f"trainer must be a transformers.Trainer, got {type(trainer).__name__}: {trainer!r}"
        )
    if trainer.model_init is None:
        raise RuntimeError(
            "To use hyperparameter search, you need to pass your model through a model_init "
            "function."
        )
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"n_trials must be an int >= 1, got {n_trials!r}")
    mode = _check_direction(direction)
    for name, fn in (("hp_space", hp_space), ("compute_objective", compute_objective)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be None or a callable, got {fn!r}")
    if hp_name is not None and not callable(hp_name):
        raise TypeError(f"hp_name must be None or a callable config -> str, got {hp_name!r}")
    for reserved in ("config", "num_samples"):
        if reserved in kwargs:
            raise ValueError(
                f"{reserved} is set by hyperparameter_search (hp_space(None) and n_trials); "
                f"got {reserved}={kwargs[reserved]!r}"
            )
    scheduler = kwargs.get("scheduler")
    if _needs_intermediate_results(scheduler) and (
        not trainer.args.do_eval or trainer.args.eval_strategy == IntervalStrategy.NO
    ):
        name = type(scheduler).__name__
        raise RuntimeError(
            f"You are using {name} as a scheduler but you haven't enabled evaluation during "
            "training. This means your trials will not report intermediate results, and can "
            f"thus not be stopped early or used to exploit other trials parameters. If this "
            f"is what you want, do not use {name}. If you would like to use {name}, make "
            "sure you pass `do_eval=True` and `eval_strategy='steps'` (or 'epoch') in the "
            "Trainer `args`."
        )

    from tunelab._frontdoor.run import run
    from tunelab.progress import CLIReporter
    from tunelab.trainable import with_parameters

    trainer.hp_space = default_hp_space if hp_space is None else hp_space
    trainer.hp_name = hp_name
    trainer.compute_objective = (
        default_compute_objective if compute_objective is None else compute_objective
    )
    if "resources_per_trial" not in kwargs:
        kwargs["resources_per_trial"] = {"cpu": 1}
        if trainer.args.n_gpu > 0:
            kwargs["resources_per_trial"]["gpu"] = 1
    if "progress_reporter" not in kwargs:
        kwargs["progress_reporter"] = CLIReporter(metric_columns=["objective"])
    config = trainer.hp_space(None)

    # What travels to the workers is a copy of the trainer without the model (each trial
    # builds its own with model_init) and without the TensorBoard callback.
    from transformers.integrations import TensorBoardCallback
    from transformers.trainer_utils import TrainerMemoryTracker

    shipped = copy.copy(trainer)
    shipped.model = shipped.model_wrapped = None
    shipped.args = copy.deepcopy(trainer.args)
    shipped._memory_tracker = TrainerMemoryTracker(skip_memory_metrics=True)
    handler = shipped.callback_handler = copy.copy(trainer.callback_handler)
    handler.callbacks = [c for c in handler.callbacks if not isinstance(c, TensorBoardCallback)]
    handler.model = None
    resources = kwargs["resources_per_trial"]
    if isinstance(resources, Mapping):  # each trial's Trainer uses the GPUs it was given
        shipped.args._n_gpu = resources.get("gpu", 0)
    import cloudpickle

    trainable = with_parameters(
        _objective,
        trainer_blob=cloudpickle.dumps(shipped),
        output_dir=trainer.args.output_dir or "trainer_output",
        hp_name=hp_name,
    )
    analysis = run(trainable, config=config, num_samples=n_trials, **kwargs)
    best_trial = analysis.get_best_trial(metric="objective", mode=mode, scope=scope)
    if best_trial is None:
        raise TuneError(
            "hyperparameter_search: no trial reported an objective (every trial failed or "
            "none evaluated); see the trials' error.txt under "
            f"{getattr(analysis, 'experiment_path', None) or 'the experiment directory'}"
        )
    return BestRun(
        best_trial.trial_id, best_trial.last_result["objective"], best_trial.config, analysis
    )
