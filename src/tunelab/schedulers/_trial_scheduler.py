"""The trial-scheduler extension point and the FIFO scheduler.

A :class:`TrialScheduler` is a pure policy: it sees trial records and results and returns
decisions; it never touches processes or files. The controller calls, from its one thread:

* ``set_search_properties(metric, mode, **spec)`` once before trials start (False: the
  scheduler was already configured with other values);
* ``on_trial_add(runner, trial)`` when a trial is created;
* ``on_trial_result(runner, trial, result) -> Decision`` for results at *decision points*
  (see :meth:`decision_points`); ``on_trial_complete``, ``on_trial_error``,
  ``on_trial_remove`` when a trial ends;
* ``choose_trial_to_run(runner) -> Trial | None`` when resources are free;
* ``save(path)``/``restore(path)`` or ``get_state()``/``set_state()`` for resume.

``runner`` is a :class:`RunnerView` (``get_trials()``, ``get_live_trials()``,
``pending_trials()``, ``paused_trials()``), never the controller itself. A scheduler changes
trials only through its two requests, which the controller carries out:
``runner.stop_trial(trial)`` and ``runner.reconfigure_trial(trial, Reconfigure(...))`` for
trials it holds (PENDING or PAUSED); running trials get a returned decision instead.

Decision points: :meth:`decision_points` says which results need a decision before the
worker may go on. None (the default for custom schedulers) means every result; a
:class:`DecisionPoints` with no milestones means none (results stream freely).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = [
    "Decision",
    "DecisionPoints",
    "FIFOScheduler",
    "Reconfigure",
    "RunnerView",
    "TrialScheduler",
]


class Decision(str, enum.Enum):
    """What happens to a trial after a result at a decision point.

    CONTINUE: go on. PAUSE: save (class trainables), free the worker, resume later from
    that checkpoint. STOP: end the trial (TERMINATED). NOOP: nothing to do (the action was
    already taken). SAVE (tunelab): a class trainable saves a checkpoint, then goes on;
    function trainables ignore it (they report their own checkpoints).
    """

    CONTINUE = "CONTINUE"
    PAUSE = "PAUSE"
    STOP = "STOP"
    NOOP = "NOOP"
    SAVE = "SAVE"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Reconfigure:
    """A decision that restarts a running trial with something changed (PBT's exploit,
    resource changes): the trial's current run ends, then it starts again from
    ``checkpoint`` (default: its own latest) with ``config`` (default: unchanged) and
    ``resources`` (default: unchanged). ``tag_suffix`` is appended to the experiment tag
    (e.g. ``"@perturbed[lr=0.02]"``). The restart counts as a restore, not a new trial.
    """

    config: dict[str, Any] | None = None
    checkpoint: Any = None
    resources: Any = None
    tag_suffix: str = ""


@dataclass(frozen=True)
class DecisionPoints:
    """Results whose ``attr`` reaches one of ``milestones`` need a decision."""

    attr: str = "training_iteration"
    milestones: tuple[float, ...] = ()


class RunnerView:
    """What a scheduler may see of the experiment, and the two requests it may make of the
    controller (``stop_trial``, ``reconfigure_trial``); trial records are read-only."""

    def __init__(
        self,
        trials_by_status: Callable[[str], Iterable[Trial]],
        all_trials: list[Trial],
        total_resources: Callable[[], dict[str, float]] | None = None,
        stop_trial: Callable[[Trial], None] | None = None,
        reconfigure_trial: Callable[[Trial, Reconfigure], None] | None = None,
    ) -> None:
        self._by_status = trials_by_status
        self._all = all_trials
        self._total = total_resources
        self._stop_trial = stop_trial
        self._reconfigure_trial = reconfigure_trial

    def stop_trial(self, trial: Trial) -> None:
        """Terminate a PENDING or PAUSED trial the scheduler holds (e.g. HyperBand's losers).

        Applied by the controller after the current scheduler call returns, as if the trial
        had completed (``on_trial_complete`` follows). Running trials: return STOP instead."""
        if self._stop_trial is None:
            raise NotImplementedError("this runner cannot stop trials")
        self._stop_trial(trial)

    def reconfigure_trial(self, trial: Trial, change: Reconfigure) -> None:
        """Restart a PAUSED or PENDING trial the scheduler holds as ``change`` says (start
        from ``change.checkpoint`` with ``change.config``, ``resources``, ``tag_suffix``):
        PBT's exploit of a trial waiting at a synch barrier.

        Applied by the controller at once: when this returns, the trial is PENDING with its
        new config and checkpoint, ready for ``choose_trial_to_run`` to return it. Running
        trials: return the :class:`Reconfigure` from ``on_trial_result`` instead."""
        if self._reconfigure_trial is None:
            raise NotImplementedError("this runner cannot reconfigure trials")
        self._reconfigure_trial(trial, change)

    def total_resources(self) -> dict[str, float]:
        """What the executor has in total (resource name -> amount)."""
        return dict(self._total()) if self._total is not None else {}

    def get_trials(self) -> list[Trial]:
        return list(self._all)

    def get_live_trials(self) -> list[Trial]:
        return [t for t in self._all if not t.status.is_finished()]

    def pending_trials(self) -> Iterable[Trial]:
        return self._by_status("PENDING")

    def paused_trials(self) -> Iterable[Trial]:
        return self._by_status("PAUSED")


class TrialScheduler:
    """Base class of trial schedulers (see the module docstring for the protocol)."""

    CONTINUE = Decision.CONTINUE
    PAUSE = Decision.PAUSE
    STOP = Decision.STOP
    NOOP = Decision.NOOP
    SAVE = Decision.SAVE

    #: How many not-yet-started trials the controller keeps created ahead (PENDING) while
    #: the search algorithm has them and learns nothing from results (grid/random search),
    #: so the scheduler sees the population it time-shares (PBT). 0: a trial is created
    #: only when it can start.
    pending_trials_ahead = 0

    def __init__(self, metric: str | None = None, mode: str | None = None) -> None:
        if mode is not None and mode not in ("min", "max"):
            raise ValueError(f"{type(self).__name__}: mode must be 'min' or 'max', got {mode!r}")
        self._metric = metric
        self._mode = mode

    @property
    def metric(self) -> str | None:
        return self._metric

    @property
    def mode(self) -> str | None:
        return self._mode

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        if (self._metric and metric and metric != self._metric) or (
            self._mode and mode and mode != self._mode
        ):
            return False
        if metric:
            self._metric = metric
        if mode:
            self._mode = mode
        if self._mode and not self._metric:
            self._metric = "_metric"
        return True

    def decision_points(self) -> DecisionPoints | None:
        """None: every result is a decision point (safe default for custom schedulers)."""
        return None

    def on_trial_add(self, runner: RunnerView, trial: Trial) -> None:
        pass

    def on_trial_error(self, runner: RunnerView, trial: Trial) -> None:
        pass

    def on_trial_result(
        self, runner: RunnerView, trial: Trial, result: dict[str, Any]
    ) -> Decision | Reconfigure:
        """Decide on a result at a decision point (a Decision, its string, or Reconfigure)."""
        return Decision.CONTINUE

    def on_trial_complete(self, runner: RunnerView, trial: Trial, result: dict[str, Any]) -> None:
        pass

    def on_trial_remove(self, runner: RunnerView, trial: Trial) -> None:
        pass

    def choose_trial_to_run(self, runner: RunnerView) -> Trial | None:
        for trial in runner.pending_trials():
            return trial
        for trial in runner.paused_trials():
            return trial
        return None

    def debug_string(self) -> str:
        return f"Using {type(self).__name__}."

    def get_state(self) -> dict[str, Any]:
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        pass

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "w") as fh:
            json.dump(self.get_state(), fh)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path) as fh:
            self.set_state(json.load(fh))


class FIFOScheduler(TrialScheduler):
    """Runs trials in the order they were added, never stops or pauses them itself."""

    def decision_points(self) -> DecisionPoints | None:
        return DecisionPoints()

    def debug_string(self) -> str:
        return "Using FIFO scheduling algorithm."


#: create_scheduler names -> "module:Class" (modules imported on first use).
SCHEDULERS: dict[str, str] = {
    "fifo": "tunelab.schedulers._trial_scheduler:FIFOScheduler",
    "async_hyperband": "tunelab.schedulers._async_hyperband:AsyncHyperBandScheduler",
    "asynchyperband": "tunelab.schedulers._async_hyperband:AsyncHyperBandScheduler",
    "asha": "tunelab.schedulers._async_hyperband:ASHAScheduler",
    "hyperband": "tunelab.schedulers._hyperband:HyperBandScheduler",
    "hb_bohb": "tunelab.schedulers._hb_bohb:HyperBandForBOHB",
    "median_stopping_rule": "tunelab.schedulers._median_stopping:MedianStoppingRule",
    "medianstopping": "tunelab.schedulers._median_stopping:MedianStoppingRule",
    "pbt": "tunelab.schedulers._pbt:PopulationBasedTraining",
    "pbt_replay": "tunelab.schedulers._pbt:PopulationBasedTrainingReplay",
    "pb2": "tunelab.schedulers._pb2:PB2",
    "resource_changing": "tunelab.schedulers._resource_changing:ResourceChangingScheduler",
}


def load_scheduler_class(name: str) -> type[TrialScheduler]:
    import importlib

    module_name, _, class_name = SCHEDULERS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise NotImplementedError(
            f"create_scheduler: {class_name} ({name!r}) is not available in this version of "
            "tunelab yet; use 'fifo' or a TrialScheduler subclass"
        ) from exc
    cls: type[TrialScheduler] = getattr(module, class_name)
    return cls


def create_scheduler(scheduler: str, **kwargs: Any) -> TrialScheduler:
    """Build a scheduler by name (e.g. ``"asha"``); unknown keyword arguments are an error."""
    if not isinstance(scheduler, str):
        raise TypeError(f"create_scheduler: scheduler must be a name (str), got {scheduler!r}")
    if scheduler not in SCHEDULERS:
        raise ValueError(
            f"create_scheduler: unknown scheduler {scheduler!r}; known: {sorted(SCHEDULERS)}"
        )
    cls = load_scheduler_class(scheduler)
    import inspect

    params = inspect.signature(cls).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            raise TypeError(
                f"create_scheduler({scheduler!r}): unknown arguments {unknown}; "
                f"{cls.__name__} takes {sorted(params)}"
            )
    return cls(**kwargs)
