"""The trial-scheduler extension point and the FIFO scheduler.

A :class:`TrialScheduler` is a pure policy: it sees trial records and results and returns
decisions; it never touches processes or files. The controller calls, from its one thread:

* ``set_search_properties(metric, mode, **spec)`` once before trials start (False: the
  scheduler was already configured with other values);
* ``on_trial_add(runner, trial)`` when a trial is created;
* ``on_trial_result(runner, trial, result) -> Decision`` for results at *decision points*
  (see :meth:`decision_points`); ``on_trial_complete`` or ``on_trial_error`` when a
  trial ends (``on_trial_remove`` is Ray Tune's and never called here);
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunelab._trial import TrialStatus

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

    :meth:`TrialScheduler.on_trial_result` returns one of these (or its string, e.g.
    ``"STOP"``, or a :class:`Reconfigure`). They are also reachable as
    ``TrialScheduler.CONTINUE``, ``TrialScheduler.STOP``, ... as in Ray Tune.

    * ``CONTINUE``: the trial goes on.
    * ``PAUSE``: the trial's run ends with status ``PAUSED`` and its worker is freed (a class
      trainable saves a checkpoint first; a function trainable keeps the last checkpoint it
      reported). It runs again, from that checkpoint, when ``choose_trial_to_run`` returns it.
    * ``STOP``: the trial ends (status ``TERMINATED``); the result is still logged.
    * ``NOOP``: nothing to do (the scheduler already acted on the trial).
    * ``SAVE`` (tunelab addition): a class trainable saves a checkpoint, then goes on;
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
    """A decision that restarts a trial with something changed (PBT's exploit, resource changes).

    Return it from :meth:`TrialScheduler.on_trial_result` for a running trial, or pass it to
    :meth:`RunnerView.reconfigure_trial` for a trial the scheduler holds (PAUSED or PENDING).
    The trial's current run ends (a class trainable saves first), then it starts again from
    ``checkpoint`` with ``config`` and ``resources``. The restart counts as a restore of the
    same trial (same trial id and directory), not a new trial; ``training_iteration`` goes
    on from the checkpoint's iteration.

    Args:
        config: The config the trial continues with. None: its current config.
        checkpoint: The checkpoint to start from, e.g. another trial's ``trial.checkpoint``
            (PBT's exploit). None: the trial's own latest checkpoint (from scratch when it
            has none).
        resources: The trial's new resource request: a
            :class:`~tunelab.PlacementGroupFactory` or a resources dict such as
            ``{"cpu": 2}``. None: unchanged.
        tag_suffix: Text appended to the trial's experiment tag, e.g.
            ``"@perturbed[lr=0.02]"``. Empty: the tag stays as it is.
    """

    config: dict[str, Any] | None = None
    checkpoint: Any = None
    resources: Any = None
    tag_suffix: str = ""


@dataclass(frozen=True)
class DecisionPoints:
    """Which results need a decision before the trial's worker may go on.

    Returned by :meth:`TrialScheduler.decision_points`. A result whose ``attr`` value
    reaches one of ``milestones`` (for the first time in the trial's current run) waits for
    the scheduler's decision; all other results stream to the controller in batches and
    the scheduler is not asked about them. ``DecisionPoints()`` (no milestones): no
    result waits (FIFO).

    Args:
        attr: The result key the milestones are in, e.g. ``"training_iteration"`` or
            ``"time_total_s"``.
        milestones: Values of ``attr`` that are decision points, ascending. Empty: none.
    """

    attr: str = "training_iteration"
    milestones: tuple[float, ...] = ()


class RunnerView:
    """What a scheduler may see of the experiment, and the two requests it may make of it.

    The controller builds one and passes it as ``runner`` to every scheduler hook; you only
    construct one yourself in tests (:mod:`tunelab.testing.scheduler_conformance` has a
    fake). Trial records (:class:`~tunelab.Trial`) are read-only for schedulers (the
    controller passes read-only views, ``tunelab._trial.TrialView``: one per trial, always
    current, whose attributes, ``config`` and ``last_result`` cannot be changed): change a
    trial only through :meth:`stop_trial` and :meth:`reconfigure_trial`, or through the
    decision returned for a running trial. Ray Tune's ``TrialRunner`` and
    ``TuneController`` play this role there.

    Args:
        trials_by_status: ``fn(status) -> trials`` giving the trials with a status
            (``"PENDING"``, ``"PAUSED"``), in the order they were added.
        all_trials: Every trial of the experiment (the list itself, read on each call).
        total_resources: ``fn() -> {resource: amount}``, what the executor has in total.
            None: :meth:`total_resources` returns ``{}``.
        stop_trial: Carries out :meth:`stop_trial`. None: that request raises
            ``NotImplementedError``.
        reconfigure_trial: Carries out :meth:`reconfigure_trial`. None: that request raises
            ``NotImplementedError``.
    """

    def __init__(
        self,
        trials_by_status: Callable[[str], Iterable[Trial]],
        all_trials: Sequence[Trial],
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
        had completed (``on_trial_complete`` follows). For a running trial, return
        ``STOP`` from ``on_trial_result`` instead.

        Args:
            trial: The PENDING or PAUSED trial to end.

        Raises:
            NotImplementedError: This runner cannot stop trials (built without
                ``stop_trial``).
        """
        if self._stop_trial is None:
            raise NotImplementedError("this runner cannot stop trials")
        self._stop_trial(trial)

    def reconfigure_trial(self, trial: Trial, change: Reconfigure) -> None:
        """Change a PAUSED or PENDING trial the scheduler holds, as ``change`` says.

        Used for PBT's exploit of a trial waiting at a ``synch`` barrier: the trial will
        start from ``change.checkpoint`` with ``change.config`` and ``change.resources``,
        and ``change.tag_suffix`` is appended to its tag. Applied by the controller at once:
        when this returns, the trial is PENDING with its new config and checkpoint, ready
        for ``choose_trial_to_run`` to return it. For a running trial, return the
        :class:`Reconfigure` from ``on_trial_result`` instead.

        Args:
            trial: The PAUSED or PENDING trial to change.
            change: What to change.

        Raises:
            NotImplementedError: This runner cannot reconfigure trials (built without
                ``reconfigure_trial``).
        """
        if self._reconfigure_trial is None:
            raise NotImplementedError("this runner cannot reconfigure trials")
        self._reconfigure_trial(trial, change)

    def total_resources(self) -> dict[str, float]:
        """What the executor has in total, e.g. ``{"CPU": 8.0, "GPU": 1.0}``.

        Returns:
            A new dict of resource name -> amount (``{}`` when the runner does not know).
        """
        return dict(self._total()) if self._total is not None else {}

    def get_trials(self) -> list[Trial]:
        """Every trial of the experiment, finished ones included, in the order added."""
        return list(self._all)

    def get_live_trials(self) -> list[Trial]:
        """The trials that have not finished (PENDING, RUNNING or PAUSED)."""
        return [t for t in self._all if not t.status.is_finished()]

    def pending_trials(self) -> Iterable[Trial]:
        """The PENDING trials (created, waiting to start or to restart)."""
        return self._by_status(TrialStatus.PENDING)

    def paused_trials(self) -> Iterable[Trial]:
        """The PAUSED trials (waiting to resume from their checkpoint)."""
        return self._by_status(TrialStatus.PAUSED)


class TrialScheduler:
    """Base class of trial schedulers: subclass it to write your own.

    A scheduler is a pure policy: it sees trial records and results and returns decisions;
    it never touches processes or files. The controller calls, from its one thread:

    * :meth:`set_search_properties` once before trials start;
    * :meth:`on_trial_add` when a trial is created (or resumed with the experiment);
    * :meth:`on_trial_result` for each result at a decision point
      (:meth:`decision_points`), which returns a :class:`Decision` (or its string) or a
      :class:`Reconfigure`;
    * :meth:`on_trial_complete` when a trial ends (also a PENDING or PAUSED one when the
      experiment ends), or :meth:`on_trial_error` when it failed for good;
    * :meth:`choose_trial_to_run` whenever resources are free;
    * :meth:`get_state` after changes (saved in the experiment state) and
      :meth:`set_state` when an experiment is resumed.

    ``runner`` is a :class:`RunnerView`. A scheduler changes trials it holds (PENDING or
    PAUSED) only through ``runner.stop_trial`` and ``runner.reconfigure_trial``; a running
    trial gets the returned decision. The defaults of this class run trials first in,
    first out and never stop, pause or save them; every result is a decision point.
    :func:`tunelab.testing.scheduler_conformance.check_scheduler` checks a subclass
    against this contract.

    Args:
        metric: The result key to compare trials by. None: the run's ``metric``
            (``tune.run(metric=...)`` or ``TuneConfig(metric=...)``), given later through
            :meth:`set_search_properties`.
        mode: ``"min"`` or ``"max"``: whether a lower or a higher ``metric`` is better.
            None: the run's ``mode``.

    Raises:
        ValueError: ``mode`` is not ``"min"``, ``"max"`` or None.
    """

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
        """The result key trials are compared by (None until set)."""
        return self._metric

    @property
    def mode(self) -> str | None:
        """``"min"`` or ``"max"`` (None until set)."""
        return self._mode

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        """Take the run's ``metric`` and ``mode`` where the scheduler has none.

        Called once before any trial starts. With a ``mode`` and no metric anywhere, the
        metric becomes ``"_metric"`` (what a bare number reported by a trial is stored as).

        Args:
            metric: The run's metric, or None.
            mode: The run's mode (``"min"``/``"max"``), or None.
            **spec: Other properties of the run (e.g. ``total_resources``); the base class
                ignores them.

        Returns:
            False when the scheduler already has a different metric or mode (the run then
            fails with an error naming both); True otherwise.
        """
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
        """Which results need a decision before the worker may go on.

        Only results at a decision point reach :meth:`on_trial_result`; the others stream
        to the controller without waiting. The fewer decision points, the less a worker
        waits for the controller.

        Returns:
            None: every result is a decision point (the base class's answer, safe for
            custom schedulers). A :class:`DecisionPoints`: only results that reach one of
            its milestones (none when it has no milestones, as :class:`FIFOScheduler`
            returns).
        """
        return None

    def on_trial_add(self, runner: RunnerView, trial: Trial) -> None:
        """Called when ``trial`` is created, and for every trial when an experiment resumes.

        Raise ``ValueError`` here when the scheduler cannot work (e.g. no metric/mode).

        Args:
            runner: The view of the experiment.
            trial: The new (PENDING) trial, or a resumed one (any status).
        """

    def on_trial_error(self, runner: RunnerView, trial: Trial) -> None:
        """Called when ``trial`` failed for good (its retries, if any, are used up).

        Args:
            runner: The view of the experiment.
            trial: The trial, now ERROR.
        """

    def on_trial_result(
        self, runner: RunnerView, trial: Trial, result: dict[str, Any]
    ) -> Decision | Reconfigure:
        """Decide what ``trial`` does after ``result`` (a result at a decision point).

        A stopper has seen the result first; a trial it stopped is not passed here.

        Args:
            runner: The view of the experiment.
            trial: The running trial that reported ``result``.
            result: The result dict (the trial's metrics plus ``training_iteration``,
                ``time_total_s``, ...). A result may lack the metric: return ``CONTINUE``
                for it.

        Returns:
            A :class:`Decision` or its string (``"CONTINUE"``, ``"PAUSE"``, ``"STOP"``,
            ``"SAVE"``, ``"NOOP"``), or a :class:`Reconfigure` to restart the trial with a
            new config, checkpoint or resources. The base class returns ``CONTINUE``.
        """
        return Decision.CONTINUE

    def on_trial_complete(self, runner: RunnerView, trial: Trial, result: dict[str, Any]) -> None:
        """Called when ``trial`` ended normally: it finished, a stop criterion or stopper
        ended it, or the scheduler stopped it.

        Args:
            runner: The view of the experiment.
            trial: The trial, now TERMINATED.
            result: Its last result (may be empty when it reported none).
        """

    def on_trial_remove(self, runner: RunnerView, trial: Trial) -> None:
        """Called when ``trial`` is removed from the experiment without completing.

        Part of Ray Tune's interface; tunelab's controller does not call it (trials still
        PENDING or PAUSED when an experiment ends get :meth:`on_trial_complete`).
        :class:`ResourceChangingScheduler` passes it on to its base scheduler.

        Args:
            runner: The view of the experiment.
            trial: The trial.
        """

    def choose_trial_to_run(self, runner: RunnerView) -> Trial | None:
        """Pick the PENDING or PAUSED trial to start or resume on free resources.

        Called whenever resources are free. Returning None lets the search algorithm
        create a new trial instead (when it has one). The base class returns the first
        PENDING trial, else the first PAUSED one; schedulers that hold trials at rungs or
        barriers (HyperBand, promotion ASHA, PBT, ...) choose by their own rules.

        Args:
            runner: The view of the experiment.

        Returns:
            A PENDING or PAUSED trial of ``runner``, or None.
        """
        for trial in runner.pending_trials():
            return trial
        for trial in runner.paused_trials():
            return trial
        return None

    def debug_string(self) -> str:
        """The scheduler's line(s) in the status report, e.g. ``"Using FIFO scheduling
        algorithm."`` (lines that start with ``"Using "`` are shown as they are)."""
        return f"Using {type(self).__name__}."

    def get_state(self) -> dict[str, Any]:
        """The scheduler's state as JSON-safe data, saved with the experiment state.

        Override it (with :meth:`set_state`) so that a resumed experiment continues with
        the same decisions. The base class returns ``{}`` (nothing to save).
        """
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_state` returned (on a new scheduler, before
        ``on_trial_add`` is called again for every trial of the resumed experiment).

        Args:
            state: A dict :meth:`get_state` returned.
        """

    def get_state_changes(self, since: Any = None) -> tuple[Any, list[list[Any]] | None] | None:
        """What changed in :meth:`get_state` since the mark ``since``, as
        :meth:`AsyncHyperBandScheduler.get_state_changes` tells it: nothing ever, for a
        scheduler with the base class's state (``{}``), so that the experiment-state
        journal does not take and compare it after every loop step.

        Args:
            since: A mark an earlier call returned, or None (no mark yet).

        Returns:
            ``(mark, ops)``: ``ops`` is ``[]`` when ``since`` is a mark of this kind, None
            otherwise (take the state whole once). None instead of a pair when the class
            has its own ``get_state`` or ``set_state`` (and no ``get_state_changes``).
        """
        cls = type(self)
        if cls.get_state is not TrialScheduler.get_state or cls.set_state is not (
            TrialScheduler.set_state
        ):
            return None
        return _NO_STATE, ([] if since == _NO_STATE else None)

    def save(self, checkpoint_path: str) -> None:
        """Write :meth:`get_state` to ``checkpoint_path`` as JSON.

        Args:
            checkpoint_path: The file to write.
        """
        with open(checkpoint_path, "w") as fh:
            json.dump(self.get_state(), fh)

    def restore(self, checkpoint_path: str) -> None:
        """Read a file :meth:`save` wrote and pass it to :meth:`set_state`.

        Args:
            checkpoint_path: The file to read.
        """
        with open(checkpoint_path) as fh:
            self.set_state(json.load(fh))


#: the mark of the base class's state, which never changes (see get_state_changes)
_NO_STATE = "TrialScheduler: {}"


class FIFOScheduler(TrialScheduler):
    """First in, first out: runs trials in the order they were added, to the end.

    The default scheduler. It never stops, pauses or saves a trial, and no result is a
    decision point, so workers report without waiting for the controller. Trials end by
    themselves or by the run's ``stop`` criteria.

    Args:
        metric: Accepted for symmetry with the other schedulers; FIFO does not use it.
        mode: Accepted for symmetry; ``"min"``, ``"max"`` or None.

    Raises:
        ValueError: ``mode`` is not ``"min"``, ``"max"`` or None.
    """

    def decision_points(self) -> DecisionPoints | None:
        """No decision points: ``DecisionPoints()`` (results never wait)."""
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
    """The scheduler class registered under ``name`` (imported on first use).

    Args:
        name: A name :func:`create_scheduler` accepts, e.g. ``"asha"`` or ``"pbt"``.

    Returns:
        The class (not an instance).

    Raises:
        KeyError: ``name`` is not a known scheduler name.
        NotImplementedError: The class's module is not part of this version of tunelab.
    """
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
    """Build a scheduler from its name, e.g. ``create_scheduler("asha", max_t=20)``.

    ``tune.run(scheduler="asha")`` and ``TuneConfig(scheduler="asha")`` use this (with no
    keyword arguments; the run's metric and mode are given to the scheduler later).

    Args:
        scheduler: One of ``"fifo"`` (:class:`FIFOScheduler`), ``"async_hyperband"``,
            ``"asynchyperband"``, ``"asha"`` (:class:`AsyncHyperBandScheduler`),
            ``"hyperband"`` (:class:`HyperBandScheduler`), ``"hb_bohb"``
            (:class:`HyperBandForBOHB`), ``"median_stopping_rule"``, ``"medianstopping"``
            (:class:`MedianStoppingRule`), ``"pbt"`` (:class:`PopulationBasedTraining`),
            ``"pbt_replay"`` (:class:`PopulationBasedTrainingReplay`), ``"pb2"``
            (:class:`PB2`), ``"resource_changing"`` (:class:`ResourceChangingScheduler`).
        **kwargs: The class's constructor arguments.

    Returns:
        A new scheduler.

    Raises:
        TypeError: ``scheduler`` is not a string, or a keyword argument is not a
            parameter of the class.
        ValueError: ``scheduler`` is not a known name (the message lists them), or the
            class rejects an argument's value.
    """
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
