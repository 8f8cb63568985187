"""A trial that never reports again can still be stopped (issue 10, point 3).

Every way of ending a running trial (``time_budget_s``, a ``stop`` on ``time_total_s``, a
scheduler's STOP, the REST API's stop, the first Ctrl+C) takes effect within the grace
period (``tunelab._core.controller.STOP_GRACE_S``, made short here) even when the trainable is
blocked and never reports again: its worker is killed, the trial ends with a status and an
``error.txt`` that say why, and what it logged before stays. Empty experiment lists are a
clear error before anything starts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import psutil
import pytest

import tunelab as tune
from tunelab._core import controller as _controller
from tunelab.schedulers import FIFOScheduler, TrialScheduler

GRACE_S = 1.0
#: the run must end within the grace plus start-up and bookkeeping slack (a loaded CI box)
BOUND_S = 25.0


@pytest.fixture(autouse=True)
def _short_grace(monkeypatch):
    monkeypatch.setattr(_controller, "STOP_GRACE_S", GRACE_S, raising=False)


def _hang_after_reports(config):
    """Report ``config["reports"]`` times, note the worker's pid, then block forever."""
    for i in range(config.get("reports", 2)):
        tune.report({"step": i + 1})
    with open(os.path.join(config["pids"], str(os.getpid())), "w") as fh:
        fh.write("x")
    time.sleep(1000)


def _logged_steps(trial):
    with open(os.path.join(trial.local_path, "result.json")) as fh:
        return [json.loads(line)["step"] for line in fh if line.strip()]


def _pids(folder):
    return [int(name) for name in os.listdir(folder)]


def _dead(pid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def _check_force_ended(trial, words, pids_dir, status="TERMINATED", steps=(1, 2)):
    assert trial.status == status, trial.status
    assert trial.error_file and os.path.exists(trial.error_file)
    with open(trial.error_file) as fh:
        text = fh.read()
    for word in words:
        assert word in text, text
    assert f"within {GRACE_S:g} s" in text or "time_total_s" in text, text
    assert tuple(_logged_steps(trial)) == tuple(steps)
    pids = _pids(pids_dir)
    for pid in pids:
        assert _dead(pid), f"worker {pid} is still alive"
    assert any(f"pid {pid})" in text for pid in pids), (pids, text)


def _run_bounded(tmp_path, trainable, config=None, **kwargs):
    """``tune.run`` of a trainable that hangs; returns (analysis, pids dir) after checking
    that the run ended within the bound."""
    pids = tmp_path / "pids"
    pids.mkdir()
    start = time.monotonic()
    analysis = tune.run(
        trainable,
        config={"pids": str(pids), **(config or {})},
        storage_path=str(tmp_path / "results"),
        verbose=0,
        **kwargs,
    )
    assert time.monotonic() - start < BOUND_S
    return analysis, pids


def test_time_budget_ends_a_trial_that_never_reports(tmp_path):
    analysis, pids = _run_bounded(tmp_path, _hang_after_reports, time_budget_s=1.0)
    (trial,) = analysis.trials
    _check_force_ended(
        trial, ["did not respond to a stop request (the time budget of 1 s ran out)"], pids
    )


def test_stop_on_time_total_s_is_enforced_by_the_controller(tmp_path):
    analysis, pids = _run_bounded(
        tmp_path,
        _hang_after_reports,
        {"reports": tune.grid_search([1, 2])},
        stop={"time_total_s": 1.0},
    )
    assert len(analysis.trials) == 2
    for trial in analysis.trials:
        steps = tuple(range(1, trial.config["reports"] + 1))
        _check_force_ended(trial, ["time_total_s=1", "was killed"], pids, steps=steps)


class _StopAtFirstResult(FIFOScheduler):
    """Every result is a decision point; the first one of each trial is a STOP."""

    def decision_points(self):
        return None

    def on_trial_result(self, runner, trial, result):
        return TrialScheduler.STOP


def _hangs_when_stopped(config):
    """A trainable whose clean-up blocks: the STOP unwinds into a ``finally`` that hangs."""
    with open(os.path.join(config["pids"], str(os.getpid())), "w") as fh:
        fh.write("x")
    try:
        for i in range(5):
            tune.report({"step": i + 1})
    finally:
        time.sleep(1000)


def test_a_scheduler_stop_ends_a_trial_whose_cleanup_hangs(tmp_path):
    analysis, pids = _run_bounded(tmp_path, _hangs_when_stopped, scheduler=_StopAtFirstResult())
    (trial,) = analysis.trials
    _check_force_ended(trial, ["did not respond to a stop request", "STOP"], pids, steps=(1,))


def test_rest_api_stop_ends_a_trial_that_never_reports(tmp_path):
    from tunelab.server import TuneClient

    pids = tmp_path / "pids"
    pids.mkdir()
    outcome: dict = {}

    def target():
        try:
            outcome["analysis"] = tune.run(
                _hang_after_reports,
                name="rest",
                config={"pids": str(pids)},
                storage_path=str(tmp_path / "results"),
                verbose=0,
                with_server=True,
                server_port=0,
            )
        except BaseException as exc:  # reported below
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    experiment = tmp_path / "results" / "rest"
    deadline = time.monotonic() + BOUND_S
    client = None
    while time.monotonic() < deadline and thread.is_alive():
        if _pids(pids):
            try:
                client = TuneClient.for_experiment(experiment)
                break
            except Exception:
                pass
        time.sleep(0.05)
    assert client is not None, outcome
    (info,) = client.get_all_trials()["trials"]
    stopped_at = time.monotonic()
    client.stop_trial(info["id"])
    thread.join(BOUND_S)
    assert not thread.is_alive(), "the run did not end after the REST stop"
    assert time.monotonic() - stopped_at < BOUND_S
    assert "error" not in outcome, outcome
    (trial,) = outcome["analysis"].trials
    _check_force_ended(trial, ["a stop request for this trial", "was killed"], pids)


_SIGINT_DRIVER = textwrap.dedent(
    """
    import os, sys, time
    import tunelab as tune
    from tunelab import Checkpoint

    def train(config):
        if tune.get_checkpoint() is not None:
            tune.report({"step": 3})  # resumed: finish at once
            return
        tune.report({"step": 1})
        tune.report({"step": 2}, checkpoint=Checkpoint.from_dict({"step": 2}))
        with open(os.path.join(config["pids"], str(os.getpid())), "w") as fh:
            fh.write("x")
        time.sleep(1000)

    analysis = tune.run(
        train,
        name="interrupted",
        config={"pids": sys.argv[2]},
        storage_path=sys.argv[1],
        resume="AUTO" if len(sys.argv) > 3 else False,
        verbose=1,
        raise_on_failed_trial=False,
    )
    print("STATUSES", [t.status.value for t in analysis.trials], flush=True)
    """
)


def test_first_ctrl_c_pauses_a_hung_trial_which_stays_resumable(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(_SIGINT_DRIVER)
    pids = tmp_path / "pids"
    pids.mkdir()
    storage = tmp_path / "results"
    # the user's knob (Ray Tune's TUNE_FORCE_TRIAL_CLEANUP_S)
    env = dict(os.environ, TUNELAB_FORCE_TRIAL_CLEANUP_S=str(GRACE_S))
    driver = subprocess.Popen(
        [sys.executable, str(script), str(storage), str(pids)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + BOUND_S
        while not _pids(pids) and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.05)
        assert _pids(pids), driver.communicate(timeout=5)
        time.sleep(0.3)  # the checkpoint's result reaches the driver
        interrupted_at = time.monotonic()
        driver.send_signal(signal.SIGINT)
        out, err = driver.communicate(timeout=BOUND_S)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert time.monotonic() - interrupted_at < BOUND_S
    assert driver.returncode == 0, err
    assert "STATUSES ['PAUSED']" in out, (out, err)
    (pid,) = _pids(pids)
    assert _dead(pid)
    (trial_dir,) = [p for p in (storage / "interrupted").iterdir() if p.is_dir()]
    text = (trial_dir / "error.txt").read_text()
    assert "did not respond to a pause request" in text and f"pid {pid}" in text, text
    assert "resumes from its latest checkpoint" in text, text
    with open(trial_dir / "result.json") as fh:
        assert [json.loads(line)["step"] for line in fh] == [1, 2]

    resumed = subprocess.run(
        [sys.executable, str(script), str(storage), str(pids), "resume"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert "STATUSES ['TERMINATED']" in resumed.stdout, (resumed.stdout, resumed.stderr)
    with open(trial_dir / "result.json") as fh:
        assert [json.loads(line)["step"] for line in fh] == [1, 2, 3]


@pytest.mark.parametrize(
    "call",
    [
        lambda: tune.run_experiments([]),
        lambda: tune.run_experiments({}),
        lambda: tune.run_experiments([], concurrent=False),
        lambda: tune.run([]),
        lambda: tune.run(()),
    ],
    ids=["run_experiments-list", "run_experiments-dict", "sequential", "run-list", "run-tuple"],
)
def test_empty_experiment_lists_are_a_clear_error(call):
    start = time.monotonic()
    with pytest.raises(ValueError, match="empty"):
        call()
    assert time.monotonic() - start < 5


def test_dask_executor_restarts_the_worker_of_a_trial_that_never_reports(tmp_path):
    distributed = pytest.importorskip("distributed")
    from tunelab.execution.dask import DaskExecutor

    pids = tmp_path / "pids"
    pids.mkdir()
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        start = time.monotonic()
        analysis = tune.run(
            _hang_after_reports,
            config={"pids": str(pids)},
            time_budget_s=1.0,
            storage_path=str(tmp_path / "results"),
            executor=DaskExecutor(client),
            verbose=0,
        )
        assert time.monotonic() - start < BOUND_S + 30
        (trial,) = analysis.trials
        assert trial.status == "TERMINATED"
        with open(trial.error_file) as fh:
            text = fh.read()
        assert "did not respond to a stop request" in text and "restarted" in text, text
        assert tuple(_logged_steps(trial)) == (1, 2)
        (pid,) = _pids(pids)
        assert _dead(pid, timeout=30), "the hung Dask worker process was not restarted"
        # the cluster serves the next experiment
        again = tune.run(
            _quick_trial,
            storage_path=str(tmp_path / "results"),
            executor=DaskExecutor(client),
            verbose=0,
        )
        assert [t.status for t in again.trials] == ["TERMINATED"]


def _quick_trial(config):
    tune.report({"step": 1})


_RELEASE = threading.Event()


def _waits_for_release(config):
    tune.report({"step": 1})
    _RELEASE.wait(120)


# the abandoned thread, once released, finds its connection closed and ends with an error
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_in_process_executor_abandons_a_thread_that_never_reports(tmp_path):
    from tunelab.execution import InProcessExecutor

    _RELEASE.clear()
    try:
        start = time.monotonic()
        analysis = tune.run(
            _waits_for_release,
            time_budget_s=1.0,
            storage_path=str(tmp_path / "results"),
            executor=InProcessExecutor(num_cpus=1),
            verbose=0,
        )
        assert time.monotonic() - start < BOUND_S
        (trial,) = analysis.trials
        assert trial.status == "TERMINATED"
        with open(trial.error_file) as fh:
            text = fh.read()
        assert "did not respond to a stop request" in text and "abandoned" in text, text
        assert tuple(_logged_steps(trial)) == (1,)
    finally:
        _RELEASE.set()
        for thread in threading.enumerate():
            if thread.name.startswith("tunelab-"):
                thread.join(10)
