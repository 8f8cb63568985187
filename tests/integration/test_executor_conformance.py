"""Every executor passes the executor conformance suite (issue 12): in-process threads,
local worker processes, a real Dask LocalCluster and the simulated executor, driven the way
the controller drives them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tunelab.execution import InProcessExecutor, LocalExecutor
from tunelab.execution._protocol import Results
from tunelab.testing.executor_conformance import (
    ConformanceError,
    check_executor,
    simulated_executor,
)

EVERY_CHECK = {
    "check_books",
    "check_runs_to_end",
    "check_decision_points",
    "check_stop_request",
    "check_pause_request",
    "check_full",
    "check_failure",
    "check_two_at_once",
    "check_shutdown",
}


def test_in_process_executor_conforms(tmp_path: Path) -> None:
    ran = check_executor(lambda: InProcessExecutor(num_cpus=2), tmp_path)
    assert set(ran) == EVERY_CHECK | {"check_kill"}


def test_local_executor_conforms(tmp_path: Path) -> None:
    ran = check_executor(lambda: LocalExecutor(num_cpus=2), tmp_path, isolates_trials=True)
    assert set(ran) == EVERY_CHECK | {"check_kill", "check_lost"}


def test_simulated_executor_conforms(tmp_path: Path) -> None:
    ran = check_executor(simulated_executor, tmp_path)
    assert set(ran) == EVERY_CHECK


def test_dask_executor_conforms(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    from tunelab.execution.dask import DaskExecutor

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        ran = check_executor(lambda: DaskExecutor(client), tmp_path, isolates_trials=True)
    assert set(ran) == EVERY_CHECK | {"check_kill", "check_lost"}


def test_the_suite_catches_an_executor_that_reports_out_of_order(tmp_path: Path) -> None:
    class Shuffling(InProcessExecutor):
        def poll(self, timeout):  # type: ignore[no-untyped-def]
            return [
                dataclasses.replace(e, results=e.results[::-1]) if isinstance(e, Results) else e
                for e in super().poll(timeout)
            ]

    with pytest.raises(ConformanceError, match="in order"):
        check_executor(lambda: Shuffling(num_cpus=2), tmp_path)


def test_the_suite_catches_events_after_a_trials_end(tmp_path: Path) -> None:
    class EndFirst(InProcessExecutor):
        def poll(self, timeout):  # type: ignore[no-untyped-def]
            return list(reversed(super().poll(timeout)))

    with pytest.raises(ConformanceError, match="after the end"):
        check_executor(lambda: EndFirst(num_cpus=2), tmp_path)


def test_the_suite_catches_an_executor_that_keeps_resources(tmp_path: Path) -> None:
    class Leaky(InProcessExecutor):
        def _finish_trial(self, trial_id: str) -> None:
            self._by_trial.pop(trial_id, None)

    with pytest.raises(ConformanceError, match="in use"):
        check_executor(lambda: Leaky(num_cpus=2), tmp_path)
