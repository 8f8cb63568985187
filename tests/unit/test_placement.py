"""The placement part of the executors (pure bookkeeping): one machine's pool, and how an
executor made of a placement and a launcher uses it."""

from __future__ import annotations

from typing import Any

import pytest

from tunelab._resources import PlacementGroupFactory
from tunelab.execution._executor import ConnectionExecutor, WorkerHandle
from tunelab.execution._launcher import Launcher
from tunelab.execution._placement import PoolPlacement
from tunelab.execution._resource_pool import ResourcePool


def request(**amounts: float) -> PlacementGroupFactory:
    return PlacementGroupFactory(
        [{k.upper() if k != "memory" else k: v for k, v in amounts.items()}]
    )


def idle_worker(gpus: tuple[str, ...]) -> WorkerHandle:
    return WorkerHandle(gpus, gpus, "t" + "".join(gpus))


def test_a_trial_holds_its_request_until_released() -> None:
    placement = PoolPlacement(ResourcePool({"CPU": 2}, ["0", "1"]))
    first = placement.choose(request(cpu=1, gpu=1), [])
    second = placement.choose(request(cpu=1, gpu=1), [])
    assert first is not None and second is not None
    assert {first.gpu_ids, second.gpu_ids} == {("0",), ("1",)}
    assert placement.used([]) == {"CPU": 2.0, "GPU": 2.0}
    assert placement.choose(request(cpu=1), []) is None  # nothing changed by a refusal
    assert first.allocation is not None
    placement.release(first.allocation)
    again = placement.choose(request(cpu=1, gpu=1), [])
    assert again is not None and again.gpu_ids == first.gpu_ids


def test_room_is_known_before_a_trial_asks_for_it_and_asking_reserves_nothing() -> None:
    placement = PoolPlacement(ResourcePool({"CPU": 2}, ["0"]))
    assert placement.has_room(request(cpu=1, gpu=0.5))
    held = placement.choose(request(cpu=1, gpu=0.5), [])
    assert held is not None and held.allocation is not None
    assert placement.has_room(request(cpu=1, gpu=0.5))  # the other half of the GPU
    assert not placement.has_room(request(cpu=1, gpu=1))  # no whole GPU is free
    assert not placement.has_room(request(cpu=2))
    assert placement.used([]) == {"CPU": 1.0, "GPU": 0.5}  # asking changed nothing
    placement.release(held.allocation)
    assert placement.has_room(request(cpu=2, gpu=1))


def test_an_idle_worker_is_reused_only_by_a_trial_with_its_gpus() -> None:
    placement = PoolPlacement(ResourcePool({"CPU": 4}, ["0"]))
    cpu_only, on_gpu = idle_worker(()), idle_worker(("0",))
    choice = placement.choose(request(cpu=1), [on_gpu, cpu_only])
    assert choice is not None and choice.worker is cpu_only and choice.seat is None
    choice = placement.choose(request(cpu=1, gpu=1), [cpu_only])
    assert choice is not None and choice.worker is None and choice.gpu_ids == ("0",)
    # idle workers on one machine hold nothing: ending one never makes room
    assert placement.evictable(request(cpu=8), [cpu_only, on_gpu]) is None


def test_workers_are_started_ahead_only_for_trials_without_gpus() -> None:
    site = PoolPlacement(ResourcePool({"CPU": 1})).prestart_site()
    assert site is not None and site.gpu_ids == () and site.allocation is None


class _Refusing(Launcher):
    """A launcher whose workers cannot be started."""

    def launch(self, worker: WorkerHandle) -> Any:
        raise OSError("no processes left")

    def lost(self, worker: WorkerHandle, why: str | None) -> str:
        return why or "lost"

    def kill(self, worker: WorkerHandle) -> None:
        pass

    def force_end(self, worker: WorkerHandle) -> str:
        return "ended"


def test_a_worker_that_cannot_be_started_gives_its_trials_room_back() -> None:
    from tunelab.execution._protocol import TrialTask

    executor = ConnectionExecutor(PoolPlacement(ResourcePool({"CPU": 1})), _Refusing())
    task = TrialTask.__new__(TrialTask)  # never sent: the launch fails first
    with pytest.raises(OSError, match="no processes"):
        executor.try_start("t1", request(cpu=1), task)
    assert executor.used_resources()["CPU"] == 0.0
    executor.shutdown(force=True)


def test_an_executor_keeps_the_locations_of_the_last_finished_trials_only() -> None:
    executor = ConnectionExecutor(PoolPlacement(ResourcePool({"CPU": 1})), _Refusing())
    worker = idle_worker(())
    assert worker.location == "starting"
    worker.started(4242, "host", "10.0.0.1")
    assert worker.location == "10.0.0.1:4242"
    assert worker.location is worker.location  # one string for all the trials it runs
    for n in range(3000):  # a run of many short trials
        executor._by_trial[f"t{n}"] = worker
        worker.trial_id = f"t{n}"
        executor._finish_trial(f"t{n}")
    # results read after a trial finished still get its location...
    assert executor.location("t2999") == "10.0.0.1:4242"
    # ...but the book does not grow with every trial run
    assert len(executor._last_location) <= 1024
    assert executor.location("t0") == ""
    executor.shutdown(force=True)


def test_the_controller_builds_a_trials_task_only_when_it_can_start(tmp_path: Any) -> None:
    """A run asks the executor whether a trial may start before it builds the trial's task:
    one task and one start per trial, however often all the CPUs are busy."""
    import tunelab as tune
    from tunelab.execution import InProcessExecutor

    attempts: list[str] = []

    class Counting(InProcessExecutor):
        def try_start(self, trial_id: str, request: Any, task: Any) -> bool:
            attempts.append(trial_id)
            return super().try_start(trial_id, request, task)

    def one(config: dict[str, Any]) -> None:
        tune.report({"score": config["x"]})

    executor = Counting(num_cpus=2)
    analysis = tune.run(
        one,
        config={"x": tune.grid_search(list(range(12)))},
        executor=executor,
        storage_path=str(tmp_path),
        verbose=0,
    )
    assert len(analysis.trials) == 12
    assert sorted(attempts) == sorted(t.trial_id for t in analysis.trials)  # once each
    assert not executor.may_start(PlacementGroupFactory([{"CPU": 3}]))
