"""A conformance suite for executors (:class:`~tunelab.execution.Executor`).

``check_executor(factory, workdir)`` drives executors built by ``factory()`` directly, as the
controller does (one thread; ``setup``, ``try_start`` with a
:class:`~tunelab.execution._protocol.TrialTask`, ``poll``, verdicts and requests,
``shutdown``), and checks what the controller relies on:

* **books**: ``total_resources`` has CPUs, nothing is used before a trial starts, a request
  larger than the whole executor is explained by ``why_never_fits`` and a one-CPU request
  is not;
* **a run to its end**: a trial reporting ``n`` results sends them in order (``score`` and
  ``training_iteration`` 1..n), then one ``Ended(DONE)``; its resources are free again when
  the ``Ended`` event is returned, and ``location`` names its worker once it started;
* **decision points**: with ``sync`` every result waits; no later result of the trial
  arrives before the verdict; ``CONTINUE`` goes on and ``STOP`` ends the run
  (``Ended(STOPPED)``) with no further result;
* **requests**: ``request_stop`` ends a running trial as ``STOPPED``, ``request_pause`` as
  ``Paused``, each with its resources released;
* **a full executor**: ``try_start`` returns False and changes nothing while the resources
  are taken, and True once they are free; ``may_start`` never says False when
  ``try_start`` would start the trial, and changes nothing;
* **failures**: a trainable that raises ends with one ``Failed`` event whose traceback
  names the error, after the results it reported before;
* **two trials at once**: each trial's results arrive in its own order;
* **force-ending** (executors with ``can_kill_trials``): after ``kill_trial`` no event of
  that trial arrives and its resources are free;
* **a worker that dies** (``isolates_trials=True``: trials run in processes of their own):
  the trial ends with one ``Lost`` event, and the executor runs the next trial;
* **shutdown**: a running trial's resources are released.

The same scripted trial runs everywhere: :func:`conformance_trainable` for executors that
run code (a function trainable reporting ``{"score": i}``), and :func:`conformance_curves`
for the :class:`~tunelab.testing.SimulatedExecutor` (the same metrics as learning curves).
Build the simulated executor with :func:`simulated_executor`.

Use it from pytest::

    from tunelab.testing.executor_conformance import check_executor

    def test_my_executor_conforms(tmp_path):
        check_executor(lambda: MyExecutor(num_cpus=2), tmp_path)
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tunelab._resources import PlacementGroupFactory
from tunelab.execution._executor import Executor
from tunelab.execution._protocol import (
    Ended,
    EndReason,
    Event,
    Failed,
    Lost,
    Paused,
    Results,
    TrialTask,
    Verdict,
)

__all__ = [
    "ConformanceError",
    "check_executor",
    "conformance_curves",
    "conformance_trainable",
    "simulated_executor",
]

ExecutorFactory = Callable[[], Executor]

#: Long enough for a worker process or a Dask task to start on a loaded machine.
DEFAULT_TIMEOUT_S = 60.0
_TRAINABLE_KEY = "tunelab-executor-conformance"
_FOREVER = 10**9


class ConformanceError(AssertionError):
    """An executor broke the contract (the message says how)."""


def conformance_trainable(config: dict[str, Any]) -> None:
    """The suite's trial: reports ``{"score": i}`` for i = 1..``config["n"]``.

    ``config["delay"]`` seconds pass before each iteration; at iteration
    ``config["fail_at"]`` it raises ``RuntimeError``; at ``config["exit_at"]`` its process
    exits at once (after the delay, which lets the worker send the results before).
    """
    from tunelab._session import report

    for i in range(1, int(config["n"]) + 1):
        if config.get("delay"):
            time.sleep(float(config["delay"]))
        if config.get("fail_at") == i:
            raise RuntimeError(f"conformance failure at iteration {i}")
        if config.get("exit_at") == i:
            os._exit(3)
        report({"score": float(i)})


def conformance_curves(config: dict[str, Any], iteration: int) -> Mapping[str, Any]:
    """:func:`conformance_trainable` as learning curves for the simulated executor."""
    if config.get("fail_at") == iteration:
        raise RuntimeError(f"conformance failure at iteration {iteration}")
    return {"score": float(iteration), "done": iteration >= int(config["n"])}


def simulated_executor(num_cpus: float = 2) -> Executor:
    """A :class:`~tunelab.testing.SimulatedExecutor` that plays :func:`conformance_curves`."""
    from tunelab.execution._simulated import SimulatedExecutor

    return SimulatedExecutor(conformance_curves, num_cpus=num_cpus, max_iterations=_FOREVER)


def _fail(message: str) -> None:
    raise ConformanceError(message)


def _unused(executor: Executor) -> bool:
    return not any(amount > 1e-9 for amount in executor.used_resources().values())


class _Driver:
    """Starts the suite's trials on one executor and collects its events."""

    def __init__(self, executor: Executor, workdir: Path, timeout_s: float) -> None:
        self.executor = executor
        self.workdir = workdir
        self.timeout_s = timeout_s
        self.name = type(executor).__name__
        self.events: dict[str, list[Event]] = {}

    def task(self, trial_id: str, config: dict[str, Any], *, sync: bool = False) -> TrialTask:
        trial_dir = self.workdir / trial_id
        trial_dir.mkdir(parents=True, exist_ok=True)
        return TrialTask(
            trial_id=trial_id,
            trial_dir=str(trial_dir),
            trainable_key=_TRAINABLE_KEY,
            trial_name=trial_id,
            experiment_name="executor-conformance",
            storage_path=str(self.workdir),
            config=config,
            sync=sync,
        )

    def start(
        self, trial_id: str, config: dict[str, Any], *, sync: bool = False, cpus: float = 1
    ) -> None:
        request = PlacementGroupFactory([{"CPU": cpus}])
        if not self.executor.try_start(trial_id, request, self.task(trial_id, config, sync=sync)):
            _fail(f"{self.name}: try_start({trial_id!r}, {cpus} CPU) found no room")
        self.events[trial_id] = []

    def poll_until(
        self,
        done: Callable[[], bool],
        what: str,
        *,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        """Poll until ``done()``; ``on_event`` sees each event as it arrives."""
        deadline = time.monotonic() + self.timeout_s
        while not done():
            if time.monotonic() > deadline:
                _fail(
                    f"{self.name}: no {what} within {self.timeout_s:.0f} s; events: {self.events}"
                )
            for event in self.executor.poll(0.05):
                self.record(event)
                if on_event is not None:
                    on_event(event)

    def record(self, event: Event) -> None:
        """Keep ``event``; nothing of a trial may follow the end of its run."""
        if event.trial_id in self.events and self.final(event.trial_id) is not None:
            _fail(f"{self.name}: {event} arrived after the end of trial {event.trial_id}'s run")
        self.events.setdefault(event.trial_id, []).append(event)

    def results(self, trial_id: str) -> list[dict[str, Any]]:
        return [r for e in self.events[trial_id] if isinstance(e, Results) for r in e.results]

    def final(self, trial_id: str) -> Event | None:
        ends = [e for e in self.events[trial_id] if not isinstance(e, Results)]
        ends = [e for e in ends if isinstance(e, (Ended, Paused, Failed, Lost))]
        if len(ends) > 1:
            _fail(f"{self.name}: trial {trial_id} ended more than once: {ends}")
        return ends[0] if ends else None

    def run_to_end(self, trial_id: str, *, free_at_end: bool = True) -> Event:
        """Poll until the trial's run ends; check its resources were freed by then."""
        seen_free: list[bool] = []

        def on_event(event: Event) -> None:
            if event.trial_id == trial_id and isinstance(event, (Ended, Paused, Failed, Lost)):
                seen_free.append(_unused(self.executor))

        self.poll_until(
            lambda: self.final(trial_id) is not None, f"end of {trial_id}", on_event=on_event
        )
        if free_at_end and not all(seen_free):
            _fail(
                f"{self.name}: trial {trial_id}'s resources were still in use when its end "
                f"was returned (used: {self.executor.used_resources()})"
            )
        final = self.final(trial_id)
        assert final is not None
        return final


def _check_in_order(driver: _Driver, trial_id: str, count: int) -> None:
    results = driver.results(trial_id)
    scores = [r.get("score") for r in results]
    iterations = [r.get("training_iteration") for r in results]
    expected = [float(i) for i in range(1, count + 1)]
    if scores != expected or iterations != list(range(1, count + 1)):
        _fail(
            f"{driver.name}: trial {trial_id} should report score and training_iteration "
            f"1..{count} in order, got scores {scores} at iterations {iterations}"
        )


def check_books(driver: _Driver) -> None:
    """Resources: CPUs to hand out, none used, requests that never fit explained."""
    executor = driver.executor
    total = executor.total_resources()
    if not total.get("CPU", 0) > 0:
        _fail(f"{driver.name}: total_resources() has no CPU: {total}")
    if not _unused(executor):
        _fail(f"{driver.name}: resources used before any trial: {executor.used_resources()}")
    too_large = PlacementGroupFactory([{"CPU": total["CPU"] * 1000}])
    why = executor.why_never_fits(too_large)
    if not isinstance(why, str) or not why:
        _fail(f"{driver.name}: why_never_fits({too_large}) should explain, got {why!r}")
    if executor.why_never_fits(PlacementGroupFactory([{"CPU": 1}])) is not None:
        _fail(f"{driver.name}: why_never_fits(1 CPU) should be None")


def check_runs_to_end(driver: _Driver) -> None:
    """A trial's results in order, then one Ended(DONE) with its resources freed."""
    driver.start("end", {"n": 3})
    location = driver.executor.location("end")
    final = driver.run_to_end("end")
    if not isinstance(final, Ended) or final.reason != EndReason.DONE:
        _fail(f"{driver.name}: a trial that returned should end with Ended(DONE), got {final}")
    _check_in_order(driver, "end", 3)
    if not isinstance(location, str) or not location:
        _fail(f"{driver.name}: location() of a started trial is empty: {location!r}")


def _has_results(driver: _Driver, trial_id: str, count: int) -> bool:
    return len(driver.results(trial_id)) >= count


def check_decision_points(driver: _Driver) -> None:
    """With sync, each result waits for its verdict; STOP ends the run at once."""
    driver.start("sync", {"n": 10}, sync=True)
    for step in range(1, 4):
        driver.poll_until(functools.partial(_has_results, driver, "sync", step), f"result {step}")
        last = [e for e in driver.events["sync"] if isinstance(e, Results)][-1]
        if not last.wait:
            _fail(f"{driver.name}: a result at a decision point must wait (wait=True): {last}")
        time.sleep(0.2)
        for event in driver.executor.poll(0.2):
            driver.record(event)
        if len(driver.results("sync")) != step:
            _fail(
                f"{driver.name}: trial reported past a decision point without a verdict "
                f"({len(driver.results('sync'))} results after {step})"
            )
        driver.executor.send_decision("sync", Verdict.CONTINUE if step < 3 else Verdict.STOP)
    final = driver.run_to_end("sync")
    if not isinstance(final, Ended) or final.reason != EndReason.STOPPED:
        _fail(f"{driver.name}: STOP at a decision point should end as STOPPED, got {final}")
    _check_in_order(driver, "sync", 3)


def _check_request(driver: _Driver, trial_id: str, pause: bool) -> None:
    driver.start(trial_id, {"n": _FOREVER, "delay": 0.01})
    driver.poll_until(lambda: bool(driver.results(trial_id)), f"first result of {trial_id}")
    if pause:
        driver.executor.request_pause(trial_id)
    else:
        driver.executor.request_stop(trial_id)
    final = driver.run_to_end(trial_id)
    if pause and not isinstance(final, Paused):
        _fail(f"{driver.name}: request_pause should end the run as Paused, got {final}")
    if not pause and not (isinstance(final, Ended) and final.reason == EndReason.STOPPED):
        _fail(f"{driver.name}: request_stop should end the run as STOPPED, got {final}")
    _check_in_order(driver, trial_id, len(driver.results(trial_id)))


def check_stop_request(driver: _Driver) -> None:
    """request_stop ends a running trial as STOPPED."""
    _check_request(driver, "stop", pause=False)


def check_pause_request(driver: _Driver) -> None:
    """request_pause ends a running trial as Paused."""
    _check_request(driver, "pause", pause=True)


def check_full(driver: _Driver) -> None:
    """try_start is False (nothing changed) while the CPUs are taken, True once free;
    may_start is True whenever try_start would start the trial."""
    executor = driver.executor
    one_cpu = PlacementGroupFactory([{"CPU": 1}])
    running: list[str] = []
    for i in range(int(executor.total_resources()["CPU"]) + 1):
        trial_id = f"fill{i}"
        task = driver.task(trial_id, {"n": _FOREVER, "delay": 0.01})
        used = executor.used_resources()
        may = executor.may_start(one_cpu)
        if executor.used_resources() != used:
            _fail(f"{driver.name}: may_start changed the books")
        if not executor.try_start(trial_id, one_cpu, task):
            break
        if not may:
            _fail(f"{driver.name}: may_start said no, but try_start found room for one CPU")
        driver.events[trial_id] = []
        running.append(trial_id)
    else:
        _fail(f"{driver.name}: try_start found room for more CPUs than total_resources() has")
    if not running:
        _fail(f"{driver.name}: try_start found no room for one CPU on an idle executor")
    used = executor.used_resources()
    if executor.try_start("more", one_cpu, driver.task("more", {"n": 1})):
        _fail(f"{driver.name}: try_start found room although every CPU was taken")
    if executor.used_resources() != used:
        _fail(f"{driver.name}: a refused try_start changed the books")
    executor.request_stop(running[0])
    driver.run_to_end(running[0], free_at_end=False)
    driver.start("more", {"n": 1})
    driver.run_to_end("more", free_at_end=False)
    for trial_id in running[1:]:
        executor.request_stop(trial_id)
        driver.run_to_end(trial_id, free_at_end=False)
    if not _unused(executor):
        _fail(f"{driver.name}: resources in use after every trial ended")


def check_failure(driver: _Driver) -> None:
    """A raising trainable: its earlier results, then one Failed naming the error."""
    driver.start("fails", {"n": 5, "fail_at": 3})
    final = driver.run_to_end("fails")
    if not isinstance(final, Failed) or "conformance failure at iteration 3" not in (
        final.traceback + final.description
    ):
        _fail(f"{driver.name}: a raising trainable should end with Failed naming it: {final}")
    _check_in_order(driver, "fails", 2)


def check_two_at_once(driver: _Driver) -> None:
    """Two trials running together: each one's results in its own order."""
    driver.start("a", {"n": 20})
    driver.start("b", {"n": 15})
    driver.run_to_end("a", free_at_end=False)
    driver.run_to_end("b")
    _check_in_order(driver, "a", 20)
    _check_in_order(driver, "b", 15)


def check_kill(driver: _Driver) -> None:
    """kill_trial: no further event of the trial, its resources free."""
    driver.start("killed", {"n": _FOREVER, "delay": 0.01})
    driver.poll_until(lambda: bool(driver.results("killed")), "first result of killed")
    phrase = driver.executor.kill_trial("killed")
    if not isinstance(phrase, str) or not phrase:
        _fail(f"{driver.name}: kill_trial should say what it did, got {phrase!r}")
    if not _unused(driver.executor):
        _fail(
            f"{driver.name}: kill_trial left resources in use: {driver.executor.used_resources()}"
        )
    before = len(driver.events["killed"])
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        for event in driver.executor.poll(0.1):
            driver.record(event)
    if len(driver.events["killed"]) != before:
        _fail(
            f"{driver.name}: events of a killed trial arrived: {driver.events['killed'][before:]}"
        )


def check_lost(driver: _Driver) -> None:
    """A worker process that dies: one Lost event, and the next trial still runs."""
    driver.start("dies", {"n": 5, "exit_at": 2, "delay": 0.3})
    final = driver.run_to_end("dies")
    if not isinstance(final, Lost) or not final.message:
        _fail(f"{driver.name}: a worker that died should give Lost with a message, got {final}")
    _check_in_order(driver, "dies", 1)
    driver.start("after", {"n": 2})
    driver.run_to_end("after")
    _check_in_order(driver, "after", 2)


def check_shutdown(driver: _Driver) -> None:
    """shutdown(force=True) with a trial running releases its resources."""
    driver.start("running", {"n": _FOREVER, "delay": 0.01})
    driver.poll_until(lambda: bool(driver.results("running")), "first result of running")
    driver.executor.shutdown(force=True)
    if not _unused(driver.executor):
        _fail(f"{driver.name}: resources in use after shutdown: {driver.executor.used_resources()}")


def check_executor(
    factory: ExecutorFactory,
    workdir: str | os.PathLike[str],
    *,
    isolates_trials: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[str]:
    """Run every check on fresh executors from ``factory()``.

    Args:
        factory: Builds an executor with at least one CPU; each check gets a new one.
        workdir: A directory for the trials' folders.
        isolates_trials: The executor runs each trial in a process of its own (a worker
            that exits is lost, not the caller): also check a dying worker.
        timeout_s: How long to wait for any one thing (a worker to start, a trial to end).

    Returns:
        The names of the checks that ran.

    Raises:
        ConformanceError: The executor broke the contract (the message says how).
    """
    checks: list[Callable[[_Driver], None]] = [
        check_books,
        check_runs_to_end,
        check_decision_points,
        check_stop_request,
        check_pause_request,
        check_full,
        check_failure,
        check_two_at_once,
    ]
    ran: list[str] = []
    for check in [*checks, check_kill, check_lost, check_shutdown]:
        executor = factory()
        if check is check_kill and not executor.can_kill_trials:
            continue
        if check is check_lost and not isolates_trials:
            continue
        driver = _Driver(executor, Path(workdir) / check.__name__, timeout_s)
        executor.setup()
        register = getattr(executor, "register_trainable", None)
        if register is not None:
            import cloudpickle

            register(_TRAINABLE_KEY, cloudpickle.dumps(conformance_trainable))
        try:
            check(driver)
        finally:
            executor.shutdown(force=True)
        ran.append(check.__name__)
    return ran
