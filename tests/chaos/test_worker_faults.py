"""Faults a trainable causes inside its worker stay within its trial (issue 10, points 4, 5).

* A result holding a value that cannot be serialized (a lock, a generator, an open file) ends
  that trial with an error naming the key and the type; the results before it are kept, and
  other trials in the same worker process go on.
* An exception whose ``repr``/``str`` raises still gives an ``error.txt`` naming its type.
* A process forked inside a trial (``os.fork``, ``multiprocessing`` with fork) can neither
  report for its parent's trial nor end it.
* The processes a trial starts end with it; a worker dies with its driver.

All through the public API with real worker processes (except where a test says otherwise).
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
import uuid

import psutil
import pytest

import tunelab as tune
from tunelab.execution import InProcessExecutor, LocalExecutor

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


def results(trial):
    path = os.path.join(trial.local_path, "result.json")
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [json.loads(line) for line in fh]


def iterations(trial):
    return [r["training_iteration"] for r in results(trial)]


def error_text(trial):
    assert trial.error_file, f"trial {trial.trial_id} has no error file"
    with open(trial.error_file) as fh:
        return fh.read()


def run(trainable, tmp_path, **kwargs):
    kwargs.setdefault("raise_on_failed_trial", False)
    return tune.run(trainable, storage_path=str(tmp_path), verbose=0, **kwargs)


def _poison(kind, tmp_path):
    if kind == "lock":
        return threading.Lock()
    if kind == "generator":
        return (i for i in range(3))
    return open(tmp_path / "open.txt", "w")  # the point is an open file


# -- unserializable values in results ------------------------------------------------------------


def test_unserializable_values_end_the_trial_naming_key_and_type(tmp_path):
    def train(config):
        tune.report({"a": 1})
        tune.report({"a": 2})
        bad = _poison(config["kind"], tmp_path)
        tune.report({"a": 3, "metrics": {"inner": bad, "fine": 1.0}})
        for a in range(4, 8):
            tune.report({"a": a})

    analysis = run(
        train, tmp_path, config={"kind": tune.grid_search(["lock", "generator", "file"])}
    )
    expected = {"lock": "_thread.lock", "generator": "generator", "file": "_io.TextIOWrapper"}
    assert len(analysis.trials) == 3
    for trial in analysis.trials:
        kind = trial.config["kind"]
        assert trial.status == "ERROR", kind
        text = error_text(trial)
        assert "'metrics/inner'" in text, text
        assert expected[kind] in text, text
        assert [r["a"] for r in results(trial)] == [1, 2], kind


def test_the_trial_thread_gets_the_error_at_its_next_report(tmp_path):
    seen = tmp_path / "seen"

    def train(config):
        tune.report({"a": 1})
        tune.report({"a": 2, "lock": threading.Lock()})
        time.sleep(0.3)  # the flusher finds it meanwhile
        try:
            tune.report({"a": 3})
        except Exception as exc:
            seen.write_text(type(exc).__name__)
            return  # even a trainable that swallows it ends with the error
        seen.write_text("nothing raised")

    (trial,) = run(train, tmp_path).trials
    assert seen.read_text() == "ResultNotSerializable"
    assert trial.status == "ERROR"
    assert "'lock'" in error_text(trial) and "_thread.lock" in error_text(trial)
    assert iterations(trial) == [1]


def test_unserializable_result_waiting_for_a_decision_does_not_hang(tmp_path):
    def train(config):
        tune.report({"a": 1})
        tune.report({"a": 2, "gen": (i for i in range(2))})
        tune.report({"a": 3})

    start = time.monotonic()
    # a function stopper lives in the driver: every result waits for its verdict
    (trial,) = run(train, tmp_path, stop=lambda trial_id, result: False).trials
    assert time.monotonic() - start < 30
    assert trial.status == "ERROR"
    assert "'gen'" in error_text(trial) and "generator" in error_text(trial)
    assert iterations(trial) == [1]


def test_class_trainable_with_an_unserializable_result(tmp_path):
    class Leaky(tune.Trainable):
        def step(self):
            if self.iteration == 2:
                return {"a": self.iteration, "nested": {"list": [1, threading.Lock()]}}
            return {"a": self.iteration}

    (trial,) = run(Leaky, tmp_path, stop={"training_iteration": 6}).trials
    assert trial.status == "ERROR"
    text = error_text(trial)
    assert "'nested/list/1'" in text and "_thread.lock" in text
    assert iterations(trial) == [1, 2]


def test_a_poisoned_trial_leaves_its_neighbour_in_the_same_process_alone(tmp_path):
    def train(config):
        for i in range(1, 31):
            if config["poison"] and i == 3:
                tune.report({"i": i, "lock": threading.Lock()})
            else:
                tune.report({"i": i})
            time.sleep(0.005)

    analysis = run(
        train,
        tmp_path,
        config={"poison": tune.grid_search([True, False])},
        executor=InProcessExecutor(num_cpus=2),
    )
    by_poison = {t.config["poison"]: t for t in analysis.trials}
    poisoned, healthy = by_poison[True], by_poison[False]
    assert poisoned.status == "ERROR"
    assert "'lock'" in error_text(poisoned)
    assert [r["i"] for r in results(poisoned)] == [1, 2]
    assert healthy.status == "TERMINATED"
    assert [r["i"] for r in results(healthy)] == list(range(1, 31))


# -- exceptions that cannot describe themselves --------------------------------------------------


class UnprintableError(Exception):
    def __repr__(self):
        raise RuntimeError("no repr for you")

    def __str__(self):
        raise RuntimeError("no str either")


@pytest.mark.parametrize("in_process", [False, True])
def test_an_exception_whose_repr_raises_still_names_its_type(tmp_path, in_process):
    def train(config):
        tune.report({"a": 1})
        raise UnprintableError()

    executor = InProcessExecutor(num_cpus=1) if in_process else None
    (trial,) = run(train, tmp_path, executor=executor).trials
    assert trial.status == "ERROR"
    assert "UnprintableError" in error_text(trial)
    assert iterations(trial) == [1]


# -- forked children -----------------------------------------------------------------------------


def test_a_forked_child_can_neither_report_nor_end_the_trial(tmp_path):
    marker = tmp_path / "child"

    def train(config):
        for i in range(5):
            if i == 1:
                pid = os.fork()
                if pid == 0:
                    try:
                        tune.report({"from_child": True})
                        marker.write_text("reported")
                    except RuntimeError as exc:
                        marker.write_text(f"refused: {exc}")
                    sys.exit(0)
                os.waitpid(pid, 0)
            tune.report({"i": i})

    (trial,) = run(train, tmp_path).trials
    assert trial.status == "TERMINATED"
    assert [r["i"] for r in results(trial)] == [0, 1, 2, 3, 4]
    assert not any("from_child" in r for r in results(trial))
    assert marker.read_text().startswith("refused: ")
    assert "forked" in marker.read_text()


def test_a_forked_child_that_returns_from_the_trainable_exits_quietly(tmp_path):
    statuses = tmp_path / "status"

    def train(config):
        for i in range(5):
            tune.report({"i": i})
            if i == 0:
                pid = os.fork()
                if pid == 0:
                    return  # back into tunelab's worker loop, in the child
                _, status = os.waitpid(pid, 0)
                statuses.write_text(str(os.waitstatus_to_exitcode(status)))

    (trial,) = run(train, tmp_path).trials
    assert trial.status == "TERMINATED"
    assert iterations(trial) == [1, 2, 3, 4, 5]
    assert statuses.read_text() == "0"


def test_a_class_trainable_forked_in_step_keeps_its_trial(tmp_path):
    class Forky(tune.Trainable):
        def step(self):
            if self.iteration == 1:
                pid = os.fork()
                if pid == 0:
                    return {"from_child": True}  # returns into the worker loop, in the child
                os.waitpid(pid, 0)
            return {"from_child": False}

    (trial,) = run(Forky, tmp_path, stop={"training_iteration": 5}).trials
    assert trial.status == "TERMINATED"
    assert iterations(trial) == [1, 2, 3, 4, 5]
    assert not any(r["from_child"] for r in results(trial))


def _report_from_child(path):
    try:
        tune.report({"from_child": True})
    except RuntimeError as exc:
        with open(path, "w") as fh:
            fh.write(type(exc).__name__)
        raise


def test_a_multiprocessing_fork_child_cannot_report(tmp_path):
    import multiprocessing

    marker = str(tmp_path / "mp_child")
    codes = tmp_path / "codes"

    def train(config):
        for i in range(5):
            if i == 2:
                process = multiprocessing.get_context("fork").Process(
                    target=_report_from_child, args=(marker,)
                )
                process.start()
                process.join()
                codes.write_text(str(process.exitcode))
            tune.report({"i": i})

    (trial,) = run(train, tmp_path).trials
    assert trial.status == "TERMINATED"
    assert [r["i"] for r in results(trial)] == [0, 1, 2, 3, 4]
    with open(marker) as fh:
        assert fh.read() == "RuntimeError"
    assert codes.read_text() == "1"


# -- processes started by a trial ----------------------------------------------------------------


def _processes_with(word):
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = process.info["cmdline"] or []
        if process.info["status"] != psutil.STATUS_ZOMBIE and any(word in a for a in cmdline):
            found.append(process)
    return found


@linux_only
def test_processes_a_trial_started_end_with_it(tmp_path):
    token = f"{1000 + uuid.uuid4().int % 10**6 / 10**7:.7f}"
    orphan = f"{2000 + uuid.uuid4().int % 10**6 / 10**7:.7f}"

    def train(config):
        subprocess.Popen(["sleep", token])
        # a grandchild whose parent exits at once: orphaned, it is adopted by the worker
        subprocess.run(["sh", "-c", f"sleep {orphan} >/dev/null 2>&1 &"], check=True)
        tune.report({"a": 1})

    (trial,) = run(train, tmp_path).trials
    assert trial.status == "TERMINATED"
    assert iterations(trial) == [1]
    assert _processes_with(token) == []
    assert _processes_with(orphan) == []


@linux_only
def test_a_reused_worker_ends_each_trials_processes(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.mkdir()

    def train(config):
        token = f"{3000 + uuid.uuid4().int % 10**6 / 10**7:.7f}"
        (tokens / token).write_text(str(os.getpid()))
        subprocess.Popen(["sleep", token])
        tune.report({"a": 1})

    analysis = run(train, tmp_path, num_samples=3, executor=LocalExecutor(num_cpus=1))
    assert [t.status for t in analysis.trials] == ["TERMINATED"] * 3
    names = os.listdir(tokens)
    assert len(names) == 3
    assert len({(tokens / n).read_text() for n in names}) == 1  # one worker served them all
    for name in names:
        assert _processes_with(name) == []


@linux_only
def test_the_listing_after_ending_a_trials_processes_is_the_next_snapshot():
    from tunelab.execution._process_guard import child_snapshot, end_new_children_listed

    kept = subprocess.Popen(["sleep", "1000.1234567"])
    try:
        baseline = child_snapshot()
        started = subprocess.Popen(["sleep", "1000.7654321"])
        ended, after = end_new_children_listed(baseline, grace=0.5)
        assert ended == 1
        assert started.poll() is not None  # ended (and reaped)
        assert after == child_snapshot() == baseline  # the kept child is still listed
        assert any(pid == kept.pid for pid, _ in after)
    finally:
        kept.kill()
        kept.wait()


@linux_only
def test_multiprocessing_keeps_working_in_a_reused_worker(tmp_path):
    """Its forkserver and resource tracker serve every trial; what a trial started with them
    is ended with the trial, and the next trial on the same worker can use them again."""
    import multiprocessing

    def train(config):
        ctx = multiprocessing.get_context("forkserver")
        quick = ctx.Process(target=time.sleep, args=(0.01,))
        quick.start()
        quick.join()
        ctx.Process(target=time.sleep, args=(1000 + config["i"],), daemon=True).start()
        lock = ctx.Lock()  # registers a semaphore with the resource tracker
        with lock:
            tune.report({"exitcode": quick.exitcode})

    analysis = run(
        train,
        tmp_path,
        config={"i": tune.grid_search([0, 1, 2])},
        executor=LocalExecutor(num_cpus=1),
    )
    assert [t.status for t in analysis.trials] == ["TERMINATED"] * 3
    assert [results(t)[0]["exitcode"] for t in analysis.trials] == [0, 0, 0]
    assert len({results(t)[0]["pid"] for t in analysis.trials}) == 1


def test_a_worker_runs_atexit_handlers_and_waits_for_trial_threads_when_it_ends(tmp_path):
    """A worker ends without tearing down every module, but as a normal exit would for what
    a trial left behind: its non-daemon threads finish, its atexit handlers run."""
    marks = tmp_path / "marks"
    marks.mkdir()

    def train(config):
        import atexit

        def late() -> None:
            time.sleep(0.3)
            (marks / f"thread-{config['i']}").write_text("done")

        threading.Thread(target=late).start()
        atexit.register((marks / f"atexit-{config['i']}").write_text, "ran")
        tune.report({"a": 1})

    analysis = run(train, tmp_path, config={"i": tune.grid_search([0, 1])})
    assert [t.status for t in analysis.trials] == ["TERMINATED"] * 2
    # fit() returns once the workers ended: both marks of both trials are there
    assert sorted(os.listdir(marks)) == ["atexit-0", "atexit-1", "thread-0", "thread-1"]


@linux_only
def test_what_c_code_printed_reaches_the_driver_when_a_worker_ends(tmp_path, capfd, monkeypatch):
    # workers run unbuffered unless the environment says otherwise (an empty value, kept by
    # the launcher, leaves Python and C buffering the worker's stdout)
    monkeypatch.setenv("PYTHONUNBUFFERED", "")

    def train(config):
        import ctypes

        # C's stdout buffer holds it (the worker's stdout is a pipe: fully buffered)
        ctypes.CDLL(None).printf(b"printed by C code %d\n", 4242)
        tune.report({"a": 1})

    (trial,) = run(train, tmp_path).trials
    assert trial.status == "TERMINATED"
    assert "printed by C code 4242" in capfd.readouterr().out


# -- a worker dies with its driver ---------------------------------------------------------------


@linux_only
def test_the_parent_death_signal_is_set():
    code = textwrap.dedent(
        """
        import signal
        from tunelab.execution._process_guard import (
            parent_death_signal, set_parent_death_signal)
        assert parent_death_signal() == 0
        assert set_parent_death_signal()
        print(parent_death_signal() == signal.SIGKILL)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


DRIVER = """
import os, sys, time
import tunelab as tune

def train(config):
    with open(config["pid_file"] + ".tmp", "w") as fh:
        fh.write(str(os.getpid()))
    os.rename(config["pid_file"] + ".tmp", config["pid_file"])
    time.sleep(1000)  # the worker is blocked here when its driver dies

tune.run(train, config={"pid_file": sys.argv[2]}, storage_path=sys.argv[1], verbose=0)
"""


@linux_only
def test_a_worker_dies_with_its_driver_even_while_its_trial_sleeps(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    pid_file = tmp_path / "worker.pid"
    driver = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "results"), str(pid_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists():
            assert driver.poll() is None, "the driver exited early"
            assert time.monotonic() < deadline, "the trial never started"
            time.sleep(0.05)
        worker = psutil.Process(int(pid_file.read_text()))
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                if worker.status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.02)
        else:
            worker.kill()
            pytest.fail("the worker outlived its driver by more than 2 s")
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()


def _explode():
    raise RuntimeError("this object cannot be rebuilt")


class _Unreadable:
    """Pickles fine in the worker; unpickling it in the driver raises."""

    def __reduce__(self):
        return (_explode, ())


def test_a_result_the_driver_cannot_unpickle_fails_its_trial_with_the_reason(tmp_path):
    def train(config):
        tune.report(step=1)
        time.sleep(0.2)  # results reported together travel in one message, read as a whole
        tune.report(step=2, payload=_Unreadable())
        tune.report(step=3)

    def fine(config):
        for step in range(3):
            tune.report(step=step)

    analysis = run(train, tmp_path, name="unreadable")
    (trial,) = analysis.trials
    assert trial.status == "ERROR"
    text = error_text(trial)
    assert "could not be read" in text and "cannot be rebuilt" in text, text
    assert "SIGKILL" not in text
    # the worker wrote what it reported to result.json before sending it: nothing is lost,
    # though the driver saw only the first result
    assert iterations(trial) == [1, 2, 3]
    assert trial.last_result["training_iteration"] == 1
    # the run goes on: another experiment in the same process is unaffected
    other = run(fine, tmp_path, name="after")
    assert [t.status for t in other.trials] == ["TERMINATED"]
