"""Trial schedulers: policies that stop, pause, resume or change trials while they run.

Pass one as ``tune.run(scheduler=...)`` or ``TuneConfig(scheduler=...)``, or give its name
(``scheduler="asha"``, see :func:`create_scheduler`). Without one, trials run first in, first
out (:class:`FIFOScheduler`). The guide :doc:`/guides/schedulers` explains when to use which.

The scheduler classes beyond FIFO live in their own modules and are imported on first use.
Ray Tune's module paths ``ray.tune.schedulers.<async_hyperband|hb_bohb|hyperband|
median_stopping_rule|pb2|pbt|resource_changing_scheduler|trial_scheduler>`` are public
submodules here with the same objects (also reachable as attributes).
"""

from typing import Any

from tunelab.schedulers._trial_scheduler import (
    SCHEDULERS,
    Decision,
    DecisionPoints,
    FIFOScheduler,
    Reconfigure,
    RunnerView,
    TrialScheduler,
    create_scheduler,
    load_scheduler_class,
)

_LAZY = {
    "AsyncHyperBandScheduler": "async_hyperband",
    "ASHAScheduler": "asha",
    "HyperBandScheduler": "hyperband",
    "HyperBandForBOHB": "hb_bohb",
    "MedianStoppingRule": "median_stopping_rule",
    "PopulationBasedTraining": "pbt",
    "PopulationBasedTrainingReplay": "pbt_replay",
    "PB2": "pb2",
    "ResourceChangingScheduler": "resource_changing",
}
_LAZY_EXTRA = {
    "DistributeResources": "tunelab.schedulers._resource_changing",
    "DistributeResourcesToTopJob": "tunelab.schedulers._resource_changing",
}


# Ray Tune's public submodules (``tunelab.schedulers.pbt``, ...), imported on first use.
_SUBMODULES = frozenset(
    {
        "async_hyperband",
        "hb_bohb",
        "hyperband",
        "median_stopping_rule",
        "pb2",
        "pbt",
        "resource_changing_scheduler",
        "trial_scheduler",
    }
)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY:
        value: Any = load_scheduler_class(_LAZY[name])
    elif name in _LAZY_EXTRA:
        import importlib

        value = getattr(importlib.import_module(_LAZY_EXTRA[name]), name)
    else:
        raise AttributeError(f"module 'tunelab.schedulers' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # the lazily imported names too (PEP 562), so that dir() and tools that list a module's
    # members through it (Sphinx autodoc, IDEs) see every name of __all__
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)


__all__ = [
    "PB2",
    "SCHEDULERS",
    "ASHAScheduler",
    "AsyncHyperBandScheduler",
    "Decision",
    "DecisionPoints",
    "DistributeResources",
    "DistributeResourcesToTopJob",
    "FIFOScheduler",
    "HyperBandForBOHB",
    "HyperBandScheduler",
    "MedianStoppingRule",
    "PopulationBasedTraining",
    "PopulationBasedTrainingReplay",
    "Reconfigure",
    "ResourceChangingScheduler",
    "RunnerView",
    "TrialScheduler",
    "create_scheduler",
    "load_scheduler_class",
]
