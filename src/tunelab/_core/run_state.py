"""What the parts of the loop share about a run: each experiment's resolved runtime, the
run's collaborators, and the run's flags (the loop step, whether the experiment ends or
was interrupted, the error to raise at the end, whether starts wait for resources). Plain
data; no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunelab._callback import CallbackList
    from tunelab._core.trial_lifecycle import TrialLifecycle
    from tunelab.execution._executor import Executor
    from tunelab.schedulers import TrialScheduler
    from tunelab.search._search_algorithm import SearchAlgorithm

__all__ = ["Collaborators", "ExperimentRuntime", "LoopPart", "RunFlags"]


@dataclass
class ExperimentRuntime:
    """What the controller needs of one experiment, resolved once before the loop."""

    experiment: Any  # tunelab._experiment.Experiment
    index: int
    key: str
    stopper: Any = None  # a controller-side Stopper (object or function), or None
    criteria: dict[str, Any] = field(default_factory=dict)  # dict stop: checked by workers
    sync: bool = False  # every result waits for a decision
    blob: bytes = b""  # the cloudpickled trainable


@dataclass(frozen=True)
class Collaborators:
    """The policies, the executor and the callbacks of a run, as the loop's parts use them."""

    search: SearchAlgorithm
    scheduler: TrialScheduler
    executor: Executor
    callbacks: CallbackList


@dataclass
class RunFlags:
    """The run-wide state the controller's parts read and set (one instance per run)."""

    #: the loop step (callbacks receive it)
    iteration: int = 0
    #: the experiment was told to end: no new trial starts, running ones are stopping
    ending: bool = False
    #: ending by an interrupt (Ctrl+C): waiting trials stay for a resume
    interrupted: bool = False
    #: raised when the run returns (``fail_fast="raise"``)
    raise_error: BaseException | None = None
    #: when the last start failed for lack of resources (None: try again); cleared
    #: whenever a trial ends, since its resources are free
    blocked_at: float | None = None


class LoopPart:
    """Base of the controller's parts (trial starts, events, trial ends): the trial table,
    the run's flags and its collaborators, held as attributes for the hot paths."""

    def __init__(self, table: TrialLifecycle, flags: RunFlags, parts: Collaborators) -> None:
        self._table = table
        self._flags = flags
        self._search = parts.search
        self._scheduler = parts.scheduler
        self._executor = parts.executor
        self._callbacks = parts.callbacks
