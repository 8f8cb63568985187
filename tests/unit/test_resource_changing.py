"""ResourceChangingScheduler with DistributeResources / DistributeResourcesToTopJob."""

import json

import pytest

from tunelab import PlacementGroupFactory
from tunelab._trial import Trial, TrialStatus
from tunelab.schedulers import (
    Decision,
    DecisionPoints,
    DistributeResources,
    DistributeResourcesToTopJob,
    FIFOScheduler,
    Reconfigure,
    ResourceChangingScheduler,
    RunnerView,
    TrialScheduler,
)


def pgf(*bundles):
    return PlacementGroupFactory(list(bundles))


class Cluster:
    def __init__(self, scheduler, requests, statuses=None):
        self.scheduler = scheduler
        self.trials = []
        for index, request in enumerate(requests):
            trial = Trial("train", trial_id=f"t{index}", resources=pgf(request))
            trial.status = (statuses or {}).get(index, TrialStatus.RUNNING)
            self.trials.append(trial)
        self.runner = RunnerView(
            lambda status: [t for t in self.trials if t.status == status], self.trials
        )
        scheduler.set_search_properties("score", "max")
        for trial in self.trials:
            scheduler.on_trial_add(self.runner, trial)

    def report(self, index, score=1.0, apply=True):
        trial = self.trials[index]
        result = {"score": score, "training_iteration": 1}
        trial.update_last_result(result)
        decision = self.scheduler.on_trial_result(self.runner, trial, result)
        if apply and isinstance(decision, Reconfigure) and decision.resources is not None:
            trial.resources = decision.resources
        return decision


def rcs(function=None, total=None, **kw):
    if function is None:
        function = DistributeResources()
    return ResourceChangingScheduler(
        resources_allocation_function=function,
        total_resources=total or {"CPU": 8},
        **kw,
    )


def test_free_cpus_are_shared_evenly_among_live_trials():
    cluster = Cluster(rcs(), [{"CPU": 1}, {"CPU": 1}])
    change = cluster.report(0)
    assert isinstance(change, Reconfigure)
    assert change.resources == pgf({"CPU": 4}) and change.config is None
    assert cluster.report(0) == Decision.CONTINUE  # already at its share
    assert cluster.report(1).resources == pgf({"CPU": 4})


def test_a_trial_shrinks_when_more_trials_are_live_and_never_below_its_request():
    cluster = Cluster(rcs(total={"CPU": 4}), [{"CPU": 1}, {"CPU": 1}])
    cluster.report(0)
    assert cluster.trials[0].resources == pgf({"CPU": 2})
    for index in range(2, 6):  # four more live trials: the share is 4/6 < 1 CPU
        trial = Trial("train", trial_id=f"t{index}", resources=pgf({"CPU": 1}))
        trial.status = TrialStatus.RUNNING
        cluster.trials.append(trial)
        cluster.scheduler.on_trial_add(cluster.runner, trial)
    assert cluster.report(0).resources == pgf({"CPU": 1})


def test_no_growth_while_another_trial_waits_to_start():
    cluster = Cluster(rcs(), [{"CPU": 1}, {"CPU": 1}], statuses={1: TrialStatus.PENDING})
    assert cluster.report(0) == Decision.CONTINUE
    cluster.trials[1].status = TrialStatus.RUNNING
    assert cluster.report(0).resources == pgf({"CPU": 4})


def test_increase_by_units_times_reserve_and_add_bundles():
    unit = DistributeResources(increase_by={"CPU": 2}, increase_by_times=1)
    cluster = Cluster(rcs(unit), [{"CPU": 1}])
    assert cluster.report(0).resources == pgf({"CPU": 3})

    reserved = DistributeResources(reserve_resources={"CPU": 5})
    cluster = Cluster(rcs(reserved), [{"CPU": 1}])
    assert cluster.report(0).resources == pgf({"CPU": 3})

    bundles = DistributeResources(add_bundles=True, increase_by={"CPU": 1, "GPU": 0.5})
    cluster = Cluster(rcs(bundles, total={"CPU": 4, "GPU": 1}), [{"CPU": 1}])
    assert cluster.report(0).resources == pgf(
        {"CPU": 1}, {"CPU": 1, "GPU": 0.5}, {"CPU": 1, "GPU": 0.5}
    )


def test_gpus_grow_only_for_trials_that_asked_for_gpus():
    cluster = Cluster(rcs(total={"CPU": 8, "GPU": 4}), [{"CPU": 1, "GPU": 1}, {"CPU": 1}])
    assert cluster.report(0).resources == pgf({"CPU": 4, "GPU": 2})
    assert cluster.report(1).resources == pgf({"CPU": 4})


def test_top_job_gets_the_free_resources_and_others_go_back_to_their_request():
    top = DistributeResourcesToTopJob(metric="score", mode="max")
    cluster = Cluster(rcs(top), [{"CPU": 1}, {"CPU": 1}, {"CPU": 1}])
    assert cluster.report(0, score=1.0) != Decision.CONTINUE  # the only scored: top
    assert cluster.trials[0].resources == pgf({"CPU": 6})
    assert cluster.report(1, score=5.0) == Decision.CONTINUE  # top, but 0 still holds 6
    assert cluster.report(0, score=1.0).resources == pgf({"CPU": 1})  # 0 is not top now
    assert cluster.report(1, score=5.0).resources == pgf({"CPU": 6})
    assert cluster.report(2, score=0.0) == Decision.CONTINUE


def test_top_job_uses_the_scheduler_metric_and_requires_one():
    cluster = Cluster(rcs(DistributeResourcesToTopJob()), [{"CPU": 1}, {"CPU": 1}])
    cluster.report(0, score=3.0)
    assert cluster.trials[0].resources == pgf({"CPU": 7})
    scheduler = rcs(DistributeResourcesToTopJob())
    trial = Trial("train", trial_id="x")
    trial.status = TrialStatus.RUNNING
    runner = RunnerView(lambda s: [], [trial])
    scheduler.on_trial_add(runner, trial)
    with pytest.raises(ValueError, match="metric and mode"):
        scheduler.on_trial_result(runner, trial, {"x": 1})


class Stopper(TrialScheduler):
    def __init__(self, answer):
        super().__init__()
        self.answer = answer

    def on_trial_result(self, runner, trial, result):
        return self.answer

    def decision_points(self):
        return DecisionPoints(milestones=(5.0,))


def test_base_scheduler_decisions_win_and_reconfigures_get_the_resources():
    cluster = Cluster(rcs(base_scheduler=Stopper("STOP")), [{"CPU": 1}])
    assert cluster.report(0) == Decision.STOP
    pbt_like = Reconfigure(config={"lr": 2}, checkpoint="/c", tag_suffix="@p")
    cluster = Cluster(rcs(base_scheduler=Stopper(pbt_like)), [{"CPU": 1}])
    merged = cluster.report(0)
    assert merged.config == {"lr": 2} and merged.checkpoint == "/c" and merged.tag_suffix == "@p"
    assert merged.resources == pgf({"CPU": 8})
    fixed = Reconfigure(resources={"CPU": 2})
    cluster = Cluster(rcs(base_scheduler=Stopper(fixed)), [{"CPU": 1}])
    assert cluster.report(0, apply=False) is fixed


def test_custom_allocation_functions_and_none():
    calls = []

    def allocate(runner, trial, result, scheduler):
        calls.append((trial.trial_id, scheduler.base_resources(trial)))
        return {"CPU": 3}

    cluster = Cluster(rcs(allocate), [{"CPU": 1}])
    assert cluster.report(0).resources == pgf({"CPU": 3})
    assert calls == [("t0", pgf({"CPU": 1}))]
    assert cluster.scheduler.base_trial_resources == pgf({"CPU": 1})
    assert cluster.report(0) == Decision.CONTINUE  # same resources: no change

    never = ResourceChangingScheduler(Stopper("CONTINUE"), resources_allocation_function=None)
    assert never.decision_points() == DecisionPoints(milestones=(5.0,))
    assert rcs().decision_points() is None
    cluster = Cluster(never, [{"CPU": 1}])
    assert cluster.report(0) == Decision.CONTINUE


def test_results_without_the_metric_do_not_move_resources():
    cluster = Cluster(rcs(), [{"CPU": 1}])
    trial = cluster.trials[0]
    result = {"training_iteration": 1}
    assert cluster.scheduler.on_trial_result(cluster.runner, trial, result) == Decision.CONTINUE


def test_the_pool_comes_from_the_runner_or_the_search_properties():
    scheduler = ResourceChangingScheduler()
    runner = RunnerView(lambda s: [], [])
    scheduler.set_search_properties(None, None, total_resources={"CPU": 6})
    assert scheduler.total_resources(runner) == {"CPU": 6.0}
    runner.total_resources = lambda: {"CPU": 2, "GPU": 1}
    assert scheduler.total_resources(runner) == {"CPU": 2.0, "GPU": 1.0}
    pinned = ResourceChangingScheduler(total_resources={"CPU": 3})
    assert pinned.total_resources(runner) == {"CPU": 3.0}


def test_state_keeps_the_base_requests_and_the_base_scheduler_state():
    scheduler = rcs()
    cluster = Cluster(scheduler, [{"CPU": 1}, {"CPU": 2}])
    cluster.report(0)
    state = json.loads(json.dumps(scheduler.get_state()))
    restored = rcs()
    restored.set_state(state)
    for trial in cluster.trials:  # resumed trials come back with their grown resources
        restored.on_trial_add(cluster.runner, trial)
    assert restored.base_resources(cluster.trials[0]) == pgf({"CPU": 1})
    assert restored.base_trial_resources == pgf({"CPU": 1})
    assert restored.get_state() == state


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: ResourceChangingScheduler(base_scheduler="fifo"), TypeError, "base_scheduler"),
        (lambda: ResourceChangingScheduler(resources_allocation_function=3), TypeError, "callable"),
        (
            lambda: ResourceChangingScheduler(total_resources={"CPU": -1}),
            ValueError,
            "total_resources",
        ),
        (lambda: DistributeResources(add_bundles=1), TypeError, "add_bundles"),
        (lambda: DistributeResources(increase_by={"CPU": 0}), ValueError, "increase_by"),
        (lambda: DistributeResources(increase_by={}), TypeError, "increase_by"),
        (lambda: DistributeResources(increase_by_times=-2), ValueError, "increase_by_times"),
        (lambda: DistributeResources(reserve_resources={"CPU": "1"}), ValueError, "reserve"),
        (lambda: DistributeResourcesToTopJob(mode="top"), ValueError, "mode"),
    ],
)
def test_bad_arguments_are_rejected(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_defaults_wrap_fifo_and_create_scheduler_knows_it():
    from tunelab.schedulers import create_scheduler

    scheduler = create_scheduler("resource_changing")
    assert isinstance(scheduler.base_scheduler, FIFOScheduler)
    assert isinstance(scheduler.resources_allocation_function, DistributeResources)
    assert "FIFO" in scheduler.debug_string()
