"""PBT, PB2 and ResourceChangingScheduler pass the scheduler conformance suite.

(PopulationBasedTrainingReplay replays one trial, so the suite's 12-trial experiment does not
apply to it; its lifecycle is covered in test_pbt.py.)
"""

import pytest

import tunelab as tune
from tunelab.schedulers import (
    PB2,
    DistributeResourcesToTopJob,
    PopulationBasedTraining,
    ResourceChangingScheduler,
)
from tunelab.schedulers._pbt_policy import MemoryPolicyLog
from tunelab.testing.scheduler_conformance import check_scheduler


def pbt(**kw):
    return PopulationBasedTraining(
        time_attr="training_iteration",
        perturbation_interval=3,
        hyperparam_mutations={"lr": tune.uniform(0.001, 0.2), "momentum": [0.8, 0.9, 0.99]},
        seed=0,
        policy_log=MemoryPolicyLog(),
        **kw,
    )


FACTORIES = {
    "pbt": lambda: pbt(require_attrs=False),
    "pbt_synch": lambda: pbt(require_attrs=False, synch=True),
    "pbt_burn_in": lambda: pbt(require_attrs=False, burn_in_period=5, quantile_fraction=0.5),
    "pb2": lambda: PB2(
        time_attr="training_iteration",
        perturbation_interval=3,
        hyperparam_bounds={"lr": [0.001, 0.2]},
        require_attrs=False,
        seed=0,
        policy_log=MemoryPolicyLog(),
    ),
    "resource_changing": lambda: ResourceChangingScheduler(total_resources={"CPU": 6}),
    "resource_changing_top_job": lambda: ResourceChangingScheduler(
        resources_allocation_function=DistributeResourcesToTopJob(), total_resources={"CPU": 6}
    ),
    "resource_changing_over_pbt": lambda: ResourceChangingScheduler(
        pbt(require_attrs=False), total_resources={"CPU": 6}
    ),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_scheduler_conforms(name):
    report = check_scheduler(FACTORIES[name])
    assert set(report.decisions) <= {"CONTINUE", "SAVE", "PAUSE", "STOP", "RECONFIGURE"}


def test_pbt_with_require_attrs_conforms_apart_from_missing_metrics():
    report = check_scheduler(pbt, check_missing=False)
    assert report.decisions.get("SAVE", 0) > 0


def test_synch_pbt_pauses_the_population_at_each_point():
    report = check_scheduler(FACTORIES["pbt_synch"])
    assert report.decisions.get("PAUSE", 0) > 0
