"""Ray Tune's ``ray.tune.schedulers.resource_changing_scheduler`` path.

The resource-changing scheduler and its allocation functions: the same objects as
:mod:`tunelab.schedulers`, plus Ray Tune 1.5-1.12's allocation functions
:func:`evenly_distribute_cpus_gpus` (the default of those releases) and
:func:`evenly_distribute_cpus_gpus_distributed`, which Ray Tune replaced by
``DistributeResources()`` and ``DistributeResources(add_bundles=True)``: here they are those.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunelab._resources import PlacementGroupFactory
from tunelab.schedulers._resource_changing import (
    DistributeResources,
    DistributeResourcesToTopJob,
    ResourceChangingScheduler,
)
from tunelab.schedulers._trial_scheduler import RunnerView

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = [
    "DistributeResources",
    "DistributeResourcesToTopJob",
    "ResourceChangingScheduler",
    "evenly_distribute_cpus_gpus",
    "evenly_distribute_cpus_gpus_distributed",
]


def evenly_distribute_cpus_gpus(
    runner: RunnerView,
    trial: Trial,
    result: dict[str, Any],
    scheduler: ResourceChangingScheduler,
) -> PlacementGroupFactory | None:
    """Share the free CPUs and GPUs evenly among live trials, in the trial's one bundle
    (``DistributeResources()``)."""
    return DistributeResources()(runner, trial, result, scheduler)


def evenly_distribute_cpus_gpus_distributed(
    runner: RunnerView,
    trial: Trial,
    result: dict[str, Any],
    scheduler: ResourceChangingScheduler,
) -> PlacementGroupFactory | None:
    """Share the free CPUs and GPUs evenly among live trials, as extra bundles
    (``DistributeResources(add_bundles=True)``)."""
    return DistributeResources(add_bundles=True)(runner, trial, result, scheduler)
