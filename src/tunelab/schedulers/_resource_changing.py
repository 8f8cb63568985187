"""``ResourceChangingScheduler``: change the resources of running trials.

It wraps a base scheduler (FIFO by default) and, after each result the base scheduler lets
go on (and that carries the metric, when one is set), asks its
``resources_allocation_function(runner, trial, result, scheduler)`` for the trial's new
resources (a :class:`PlacementGroupFactory`, a resources dict, or None for no change). A
change is a :class:`Reconfigure` decision: the trial's run ends (class trainables save a
checkpoint), and it restarts from its latest checkpoint with the new resources, which the
trainable reads through ``tune.get_trial_resources()`` / ``Trainable.trial_resources``.
Trainables should checkpoint: a function trainable without a checkpoint restarts from
scratch. Do not combine with ``reuse_actors=True``.

Two allocation functions ship with it:

* :class:`DistributeResources` shares the free resources evenly among the live trials;
* :class:`DistributeResourcesToTopJob` gives them to the best trial by ``metric``.

Both only grow a trial while no other trial waits to start (they may always shrink one), and
never go below the trial's own request (its *base* resources, recorded when it was added).
The pool they share out is, in order: the scheduler's ``total_resources`` argument, the
runner's ``total_resources()`` when the controller offers it, ``total_resources`` passed to
``set_search_properties``, else this machine's CPUs (``os.cpu_count()``).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tunelab._resources import PlacementGroupFactory, resources_from_request
from tunelab.schedulers._trial_scheduler import (
    Decision,
    DecisionPoints,
    FIFOScheduler,
    Reconfigure,
    RunnerView,
    TrialScheduler,
)

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = ["DistributeResources", "DistributeResourcesToTopJob", "ResourceChangingScheduler"]

AllocationFunction = Callable[
    [RunnerView, "Trial", dict[str, Any], "ResourceChangingScheduler"], Any
]
_EPS = 1e-9


def _check_amounts(owner: str, name: str, value: Any, *, positive: bool) -> dict[str, float]:
    if not isinstance(value, Mapping) or not value:
        raise TypeError(f"{owner}: {name} must be a non-empty dict of resource -> amount, "
                        f"got {value!r}")  # fmt: skip
    out = {}
    for key, amount in value.items():
        if (
            not isinstance(key, str)
            or isinstance(amount, bool)
            or not isinstance(amount, numbers.Real)
            or not math.isfinite(float(amount))
            or amount < 0
            or (positive and amount == 0)
        ):
            rule = "> 0" if positive else ">= 0"
            raise ValueError(
                f"{owner}: {name} must map resource names to finite numbers {rule}, got {value!r}"
            )
        out[key] = float(amount)
    return out


class DistributeResources:
    """Allocation function that shares the resources evenly among the live trials.

    Give it to :class:`ResourceChangingScheduler` (it is its default). After a result, a
    trial may hold up to ``(total - reserve_resources) / number of live trials`` of each
    resource; it gets its own request (its *base* resources, recorded when it was added)
    plus as many whole growth units as fit in that share. A trial only grows while no
    other trial waits to start (it may always shrink back), and never goes below its base.
    Calling it returns the trial's new :class:`~tunelab.PlacementGroupFactory`, or None
    when nothing changes.

    Args:
        add_bundles: False: the growth goes into the trial's first bundle (one worker with
            more CPUs/GPUs). True: each growth unit is added as a bundle of its own (for
            trainables that start one worker per bundle).
        increase_by: The growth unit, e.g. ``{"CPU": 1}`` or ``{"CPU": 4, "GPU": 1}``
            (amounts > 0): the trial grows by whole multiples of it. None: CPUs and GPUs
            grow one at a time, each only if the trial's base asks for some.
        increase_by_times: The most units added to a trial (int >= 0); -1 (default): no
            limit.
        reserve_resources: Resources kept out of the pool, e.g. ``{"CPU": 1}`` for the
            driver (amounts >= 0). None: nothing kept back.

    Raises:
        TypeError: ``add_bundles`` is not a bool, or ``increase_by`` /
            ``reserve_resources`` is not a non-empty dict.
        ValueError: An amount is negative, not finite or (in ``increase_by``) zero, or
            ``increase_by_times`` is not an int >= -1.
    """

    def __init__(
        self,
        add_bundles: bool = False,
        increase_by: dict[str, float] | None = None,
        increase_by_times: int = -1,
        reserve_resources: dict[str, float] | None = None,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(add_bundles, bool):
            raise TypeError(f"{owner}: add_bundles must be True or False, got {add_bundles!r}")
        self.add_bundles = add_bundles
        self.increase_by = (
            None
            if increase_by is None
            else _check_amounts(owner, "increase_by", increase_by, positive=True)
        )
        if (
            isinstance(increase_by_times, bool)
            or not isinstance(increase_by_times, int)
            or increase_by_times < -1
        ):
            raise ValueError(
                f"{owner}: increase_by_times must be an int >= 0, or -1 for no limit, got "
                f"{increase_by_times!r}"
            )
        self.increase_by_times = increase_by_times
        self.reserve_resources = (
            {}
            if not reserve_resources
            else _check_amounts(owner, "reserve_resources", reserve_resources, positive=False)
        )

    # -- what a trial may hold ---------------------------------------------------------------
    def _capacity(
        self,
        runner: RunnerView,
        trial: Trial,
        available: dict[str, float],
        scheduler: ResourceChangingScheduler,
    ) -> dict[str, float] | None:
        """The most this trial may hold, per resource (None: keep its base)."""
        live = max(1, len(runner.get_live_trials()))
        return {key: amount / live for key, amount in available.items()}

    def __call__(
        self,
        runner: RunnerView,
        trial: Trial,
        result: dict[str, Any],
        scheduler: ResourceChangingScheduler,
    ) -> PlacementGroupFactory | None:
        """The resources ``trial`` should have after ``result``.

        Args:
            runner: The view of the experiment.
            trial: The trial that reported ``result``.
            result: Its result.
            scheduler: The :class:`ResourceChangingScheduler` asking (for the trial's base
                resources and the pool).

        Returns:
            The new request, or None when it stays as it is.
        """
        base = scheduler.base_resources(trial)
        total = scheduler.total_resources(runner)
        available = {
            key: max(0.0, amount - self.reserve_resources.get(key, 0.0))
            for key, amount in total.items()
        }
        capacity = self._capacity(runner, trial, available, scheduler)
        base_req = base.required_resources
        current_req = trial.resources.required_resources
        units = self._units(base_req)
        if capacity is None:
            added = dict.fromkeys(units, 0)
        else:
            added = self._fit(units, base_req, capacity)
        if self._others_waiting(runner, trial):  # never take what a waiting trial needs
            now = self._fit(units, base_req, current_req)
            added = {key: min(count, now.get(key, 0)) for key, count in added.items()}
        new = self._build(base, units, added)
        return None if new == trial.resources else new

    def _units(self, base_req: dict[str, float]) -> dict[str, dict[str, float]]:
        """Named growth units: one compound unit, or one per resource kind."""
        if self.increase_by is not None:
            return {"unit": dict(self.increase_by)}
        return {key: {key: 1.0} for key in ("CPU", "GPU") if base_req.get(key, 0.0) > 0}

    def _fit(
        self,
        units: dict[str, dict[str, float]],
        base_req: dict[str, float],
        capacity: Mapping[str, float],
    ) -> dict[str, int]:
        counts = {}
        for name, unit in units.items():
            count = min(
                math.floor((capacity.get(key, 0.0) - base_req.get(key, 0.0)) / amount + _EPS)
                for key, amount in unit.items()
            )
            count = max(0, count)
            if self.increase_by_times >= 0:
                count = min(count, self.increase_by_times)
            counts[name] = count
        return counts

    def _build(
        self,
        base: PlacementGroupFactory,
        units: dict[str, dict[str, float]],
        added: dict[str, int],
    ) -> PlacementGroupFactory:
        bundles = base.bundles
        if self.add_bundles:
            for name, unit in units.items():
                bundles.extend(dict(unit) for _ in range(added.get(name, 0)))
        else:
            head = bundles[0]
            for name, unit in units.items():
                for key, amount in unit.items():
                    head[key] = head.get(key, 0.0) + amount * added.get(name, 0)
        return PlacementGroupFactory(bundles, strategy=base.strategy)

    @staticmethod
    def _others_waiting(runner: RunnerView, trial: Trial) -> bool:
        return any(t.trial_id != trial.trial_id for t in runner.pending_trials())

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(add_bundles={self.add_bundles}, increase_by="
            f"{self.increase_by}, increase_by_times={self.increase_by_times}, "
            f"reserve_resources={self.reserve_resources or None})"
        )


class DistributeResourcesToTopJob(DistributeResources):
    """Allocation function that gives the free resources to the best live trial.

    The live trial with the best last ``metric`` (per ``mode``) may take everything the
    other live trials do not hold (less ``reserve_resources``), in whole growth units;
    every other trial goes back to its base resources. Like :class:`DistributeResources`,
    a trial only grows while no other trial waits to start.

    Args:
        add_bundles: As for :class:`DistributeResources`.
        increase_by: As for :class:`DistributeResources`.
        increase_by_times: As for :class:`DistributeResources`.
        reserve_resources: As for :class:`DistributeResources`.
        metric: The result key that ranks trials. None: the scheduler's (or the run's)
            metric.
        mode: ``"min"`` or ``"max"``. None: the scheduler's (or the run's) mode.

    Raises:
        TypeError: As for :class:`DistributeResources`, or ``metric`` is not a string.
        ValueError: As for :class:`DistributeResources`, or ``mode`` is not ``"min"``,
            ``"max"`` or None; when called, if no metric/mode is set anywhere.
    """

    def __init__(
        self,
        add_bundles: bool = False,
        increase_by: dict[str, float] | None = None,
        increase_by_times: int = -1,
        reserve_resources: dict[str, float] | None = None,
        metric: str | None = None,
        mode: str | None = None,
    ) -> None:
        super().__init__(add_bundles, increase_by, increase_by_times, reserve_resources)
        if metric is not None and not isinstance(metric, str):
            raise TypeError(f"DistributeResourcesToTopJob: metric must be a str, got {metric!r}")
        if mode is not None and mode not in ("min", "max"):
            raise ValueError(
                f"DistributeResourcesToTopJob: mode must be 'min', 'max' or None, got {mode!r}"
            )
        self.metric = metric
        self.mode = mode

    def _capacity(
        self,
        runner: RunnerView,
        trial: Trial,
        available: dict[str, float],
        scheduler: ResourceChangingScheduler,
    ) -> dict[str, float] | None:
        metric = self.metric or scheduler.metric
        mode = self.mode or scheduler.mode
        if metric is None or mode is None:
            raise ValueError(
                "DistributeResourcesToTopJob: metric and mode must be set (in it or in the "
                f"scheduler), got metric={metric!r}, mode={mode!r}"
            )
        live = runner.get_live_trials()
        top = _best(live, metric, mode)
        if top is None or top.trial_id != trial.trial_id:
            return None
        capacity = dict(available)
        for other in live:
            if other.trial_id == trial.trial_id:
                continue
            for key, amount in other.resources.required_resources.items():
                capacity[key] = capacity.get(key, 0.0) - amount
        return capacity


def _best(trials: list[Trial], metric: str, mode: str) -> Trial | None:
    best, best_value = None, -math.inf
    for trial in trials:
        value = trial.last_result.get(metric)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            continue
        score = float(value) if mode == "max" else -float(value)
        if best is None or score > best_value:
            best, best_value = trial, score
    return best


class _DefaultAllocation:
    """The default of ``resources_allocation_function``: a fresh :class:`DistributeResources`
    per scheduler (a default instance would be shared; None means "never change")."""

    def __repr__(self) -> str:
        return "DistributeResources()"


_DEFAULT: Any = _DefaultAllocation()


class ResourceChangingScheduler(TrialScheduler):
    """Changes the resources of running trials, on top of another scheduler's decisions.

    It wraps ``base_scheduler`` (FIFO by default), which takes every decision. After each
    result the base scheduler lets go on (``CONTINUE`` or ``SAVE``; and that carries the
    metric, when one is set), it asks ``resources_allocation_function`` for the trial's new
    resources. A change restarts the trial: its run ends (class trainables save a
    checkpoint) and it starts again from its latest checkpoint with the new resources,
    which the trainable reads with ``tune.get_trial_resources()`` (function trainables) or
    ``self.trial_resources`` (class trainables). A function trainable that reports no
    checkpoint restarts from scratch. Do not combine with ``reuse_actors=True``. With an
    allocation function, every result is a decision point.

    The pool shared out is, in order: ``total_resources``, what the executor has, the
    run's ``total_resources``, else this machine's CPUs (``os.cpu_count()``).

    Args:
        base_scheduler: The scheduler that decides to continue, stop or pause trials, e.g.
            an :class:`AsyncHyperBandScheduler`. None: :class:`FIFOScheduler`. Its
            ``metric``/``mode`` are this scheduler's.
        resources_allocation_function: ``fn(runner, trial, result, scheduler) ->
            resources or None``: the trial's new request (a
            :class:`~tunelab.PlacementGroupFactory` or a resources dict) or None for no
            change. Default: ``DistributeResources()``. None: resources never change (the
            base scheduler alone decides).
        total_resources: The pool to share out, e.g. ``{"CPU": 8, "GPU": 2}`` (amounts
            >= 0). None: the executor's. tunelab addition (keyword-only).

    Raises:
        TypeError: ``base_scheduler`` is not a :class:`TrialScheduler`,
            ``resources_allocation_function`` is not callable, or ``total_resources`` is
            not a non-empty dict.
        ValueError: An amount of ``total_resources`` is negative or not finite.
    """

    def __init__(
        self,
        base_scheduler: TrialScheduler | None = None,
        resources_allocation_function: AllocationFunction | None = _DEFAULT,
        *,
        total_resources: dict[str, float] | None = None,
    ) -> None:
        if base_scheduler is not None and not isinstance(base_scheduler, TrialScheduler):
            raise TypeError(
                "ResourceChangingScheduler: base_scheduler must be a TrialScheduler or None, "
                f"got {base_scheduler!r}"
            )
        if resources_allocation_function is _DEFAULT:
            resources_allocation_function = DistributeResources()
        if resources_allocation_function is not None and not callable(
            resources_allocation_function
        ):
            raise TypeError(
                "ResourceChangingScheduler: resources_allocation_function must be a callable "
                "(runner, trial, result, scheduler) -> resources or None, got "
                f"{resources_allocation_function!r}"
            )
        self._base = base_scheduler if base_scheduler is not None else FIFOScheduler()
        super().__init__(metric=self._base.metric, mode=self._base.mode)
        self.base_scheduler = self._base
        self.resources_allocation_function = resources_allocation_function
        self._total = (
            None
            if total_resources is None
            else _check_amounts(
                "ResourceChangingScheduler", "total_resources", total_resources, positive=False
            )
        )
        self._spec_total: dict[str, float] | None = None
        self._base_resources: dict[str, PlacementGroupFactory] = {}
        self._first_base: PlacementGroupFactory | None = None

    # -- the pool and the base requests ------------------------------------------------------
    @property
    def metric(self) -> str | None:
        """The base scheduler's metric."""
        return self._base.metric

    @property
    def mode(self) -> str | None:
        """The base scheduler's mode."""
        return self._base.mode

    @property
    def base_trial_resources(self) -> PlacementGroupFactory | None:
        """The request of the first trial added (Ray Tune's attribute)."""
        return self._first_base

    def base_resources(self, trial: Trial) -> PlacementGroupFactory:
        """What ``trial`` asked for when it was added (its *base* resources).

        Args:
            trial: A trial of the experiment.

        Returns:
            Its first request (its current one when the scheduler has not seen it).
        """
        return self._base_resources.get(trial.trial_id, trial.resources)

    def total_resources(self, runner: RunnerView) -> dict[str, float]:
        """The pool to share out (see the class description for where it comes from).

        Args:
            runner: The view of the experiment (asked for the executor's total).

        Returns:
            A dict of resource name -> amount.
        """
        if self._total is not None:
            return dict(self._total)
        from_runner = getattr(runner, "total_resources", None)
        if callable(from_runner):
            known = {str(k): float(v) for k, v in dict(from_runner()).items()}
            if known:
                return known
        if self._spec_total is not None:
            return dict(self._spec_total)
        return {"CPU": float(os.cpu_count() or 1)}

    # -- protocol ----------------------------------------------------------------------------
    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        total = spec.get("total_resources")
        if isinstance(total, Mapping):
            self._spec_total = {str(k): float(v) for k, v in total.items()}
        return self._base.set_search_properties(metric, mode, **spec)

    def decision_points(self) -> DecisionPoints | None:
        if self.resources_allocation_function is None:
            return self._base.decision_points()
        return None

    def on_trial_add(self, runner: RunnerView, trial: Trial) -> None:
        if trial.trial_id not in self._base_resources:
            self._base_resources[trial.trial_id] = trial.resources
        if self._first_base is None:
            self._first_base = self._base_resources[trial.trial_id]
        self._base.on_trial_add(runner, trial)

    def on_trial_result(
        self, runner: RunnerView, trial: Trial, result: dict[str, Any]
    ) -> Decision | Reconfigure:
        raw = self._base.on_trial_result(runner, trial, result)
        decision: Decision | Reconfigure = raw if isinstance(raw, Reconfigure) else Decision(raw)
        if self.resources_allocation_function is None:
            return decision
        if isinstance(decision, Decision) and decision not in (Decision.CONTINUE, Decision.SAVE):
            return decision
        if self.metric is not None and self.metric not in result:
            return decision  # only results that carry the metric move resources
        new = self.reallocate_trial_resources_if_needed(runner, trial, result)
        if new is None:
            return decision
        if isinstance(decision, Reconfigure):
            if decision.resources is not None:
                return decision
            return dataclasses.replace(decision, resources=new)
        return Reconfigure(resources=new)

    def reallocate_trial_resources_if_needed(
        self, runner: RunnerView, trial: Trial, result: dict[str, Any]
    ) -> PlacementGroupFactory | None:
        """Ask ``resources_allocation_function`` for ``trial``'s resources after ``result``.

        Args:
            runner: The view of the experiment.
            trial: The trial that reported ``result``.
            result: Its result.

        Returns:
            The new request, or None when there is no allocation function or the
            resources stay as they are.

        Raises:
            TypeError: The function returned something that is not a resource request.
            ValueError: The function returned a request with invalid amounts.
        """
        function = self.resources_allocation_function
        if function is None:
            return None
        raw = function(runner, trial, result, self)
        if raw is None:
            return None
        new = resources_from_request(raw, argument="resources_allocation_function's result")
        if new is None or new == trial.resources:
            return None
        return new

    def on_trial_complete(self, runner: RunnerView, trial: Trial, result: dict[str, Any]) -> None:
        self._base.on_trial_complete(runner, trial, result)

    def on_trial_error(self, runner: RunnerView, trial: Trial) -> None:
        self._base.on_trial_error(runner, trial)

    def on_trial_remove(self, runner: RunnerView, trial: Trial) -> None:
        self._base.on_trial_remove(runner, trial)

    def choose_trial_to_run(self, runner: RunnerView) -> Trial | None:
        return self._base.choose_trial_to_run(runner)

    def debug_string(self) -> str:
        function = self.resources_allocation_function
        return f"{self._base.debug_string()} (resources change with {function!r})"

    def get_state(self) -> dict[str, Any]:
        return {
            "version": 1,
            "base": self._base.get_state(),
            "base_resources": {k: v.to_state() for k, v in self._base_resources.items()},
        }

    def set_state(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self._base.set_state(state.get("base") or {})
        self._base_resources = {
            k: PlacementGroupFactory.from_state(v)
            for k, v in (state.get("base_resources") or {}).items()
        }
        if self._base_resources and self._first_base is None:
            self._first_base = next(iter(self._base_resources.values()))
