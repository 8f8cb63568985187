"""The experiment trackers' helper thread (``tunelab.integration._tracker``): hooks return at
once while a slow tracker works in the background, calls keep their order, a failing
tracker logs one error per trial and never raises into the controller, the queue is bounded,
the experiment's end waits a bounded time and closes open runs as KILLED, and run
references survive a resume. A small in-memory tracker (a subclass, the extension point
itself) records what it was asked to do."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from tunelab._trial import Trial, TrialStatus
from tunelab.integration._tracker import TrackerCallback, TrackerLogger, TrialInfo, legacy_status
from tunelab.logger import LegacyLoggerCallback


class Recorder(TrackerCallback):
    """Records the calls (with the thread they ran in); optional delay and failures."""

    tracker = "the recorder"

    def __init__(
        self,
        *,
        delay: float = 0.0,
        fail_start: set[str] | None = None,
        fail_log: set[str] | None = None,
        block: threading.Event | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.delay = delay
        self.fail_start = fail_start or set()
        self.fail_log = fail_log or set()
        self.block = block
        self.calls: list[tuple[Any, ...]] = []
        self.threads: set[str] = set()
        self.references: dict[str, Any] = {}

    def _note(self, *call: Any) -> None:
        self.threads.add(threading.current_thread().name)
        self.calls.append(call)

    def _tracker_setup(self) -> None:
        self._note("setup")

    def _tracker_start(self, info: TrialInfo, reference: Any) -> str:
        self._note("start", info.trial_id, info.config.get("a"))
        self.references[info.trial_id] = reference
        if info.trial_id in self.fail_start:
            raise ConnectionError(f"cannot reach the server for {info.trial_id}")
        return f"run-{info.trial_id}"

    def _tracker_restart(self, handle: str, info: TrialInfo) -> None:
        self._note("restart", handle)

    def _tracker_reference(self, handle: str) -> str:
        return handle

    def _tracker_log(self, handle: str, info: TrialInfo, result: dict[str, Any]) -> None:
        if self.block is not None:
            self.block.wait(10)
        if self.delay:
            time.sleep(self.delay)
        if info.trial_id in self.fail_log:
            raise TimeoutError("the server took too long")
        self._note("log", handle, result["training_iteration"])

    def _tracker_end(self, handle: str, info: TrialInfo, status: str) -> None:
        self._note("end", handle, status)

    def _tracker_teardown(self) -> None:
        self._note("teardown")


def _trial(trial_id: str, a: int = 1, tmp: str = "/tmp/exp") -> Trial:
    return Trial(
        "f",
        trial_id=trial_id,
        config={"a": a, "nested": {"b": [1, 2]}},
        experiment_name="exp",
        experiment_path=tmp,
        dirname=f"f_{trial_id}",
    )


def _results(cb: TrackerCallback, trial: Trial, n: int) -> None:
    for i in range(1, n + 1):
        cb.on_trial_result(
            iteration=i, trials=[trial], trial=trial, result={"training_iteration": i, "x": i}
        )


def test_calls_run_in_order_in_one_helper_thread() -> None:
    cb = Recorder()
    t1, t2 = _trial("t1", 1), _trial("t2", 2)
    cb.setup()
    cb.on_trial_start(iteration=0, trials=[t1, t2], trial=t1)
    cb.on_trial_start(iteration=0, trials=[t1, t2], trial=t2)
    _results(cb, t1, 2)
    _results(cb, t2, 1)
    cb.on_trial_complete(iteration=3, trials=[t1, t2], trial=t1)
    cb.on_trial_error(iteration=3, trials=[t1, t2], trial=t2)
    cb.on_step_end(iteration=3, trials=[t1, t2])
    cb.on_experiment_end(trials=[t1, t2])
    assert cb.calls == [
        ("setup",),
        ("start", "t1", 1),
        ("start", "t2", 2),
        ("log", "run-t1", 1),
        ("log", "run-t1", 2),
        ("log", "run-t2", 1),
        ("end", "run-t1", "FINISHED"),
        ("end", "run-t2", "FAILED"),
        ("teardown",),
    ]
    assert cb.threads == {"tunelab-Recorder"}  # never the caller's thread


def test_a_trial_end_is_queued_at_the_step_end_after_the_file_loggers_closed() -> None:
    cb = Recorder()
    trial = _trial("t1")
    cb.on_trial_start(iteration=0, trials=[trial], trial=trial)
    cb.on_trial_complete(iteration=1, trials=[trial], trial=trial)
    assert cb.flush(5)
    assert ("end", "run-t1", "FINISHED") not in cb.calls
    cb.on_step_end(iteration=1, trials=[trial])
    assert cb.flush(5)
    assert cb.calls[-1] == ("end", "run-t1", "FINISHED")
    cb.close()


def test_a_slow_tracker_never_stalls_the_hooks_and_still_gets_every_result() -> None:
    cb = Recorder(delay=0.05)
    trial = _trial("t1")
    started = time.perf_counter()
    cb.on_trial_start(iteration=0, trials=[trial], trial=trial)
    _results(cb, trial, 20)  # one second of tracker work
    cb.on_trial_complete(iteration=20, trials=[trial], trial=trial)
    cb.on_step_end(iteration=20, trials=[trial])
    in_hooks = time.perf_counter() - started
    assert in_hooks < 0.5  # the hooks only queued
    cb.on_experiment_end(trials=[trial])  # waits for the queue (bounded)
    assert [c[2] for c in cb.calls if c[0] == "log"] == list(range(1, 21))
    assert cb.calls[-2] == ("end", "run-t1", "FINISHED")


def test_a_run_that_cannot_start_logs_one_error_per_trial_and_skips_the_trial(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cb = Recorder(fail_start={"t1", "t2"})
    trials = [_trial("t1"), _trial("t2"), _trial("t3")]
    with caplog.at_level(logging.ERROR, logger="tunelab.integration"):
        for trial in trials:
            cb.on_trial_start(iteration=0, trials=trials, trial=trial)
            _results(cb, trial, 3)
            cb.on_trial_complete(iteration=3, trials=trials, trial=trial)
        cb.on_experiment_end(trials=trials)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    for trial_id, message in zip(("t1", "t2"), errors):
        assert f"f_{trial_id}" in message and "the recorder" in message
        assert "ConnectionError" in message and "nothing of this trial is logged" in message
    assert [c for c in cb.calls if c[0] == "log"] == [("log", "run-t3", i) for i in (1, 2, 3)]
    assert ("end", "run-t3", "FINISHED") in cb.calls


def test_failing_calls_log_one_error_per_trial_and_are_tried_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cb = Recorder(fail_log={"t1"})
    trial = _trial("t1")
    with caplog.at_level(logging.DEBUG, logger="tunelab.integration"):
        cb.on_trial_start(iteration=0, trials=[trial], trial=trial)
        _results(cb, trial, 4)
        cb.on_trial_complete(iteration=4, trials=[trial], trial=trial)
        cb.on_experiment_end(trials=[trial])
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "could not log a result of trial f_t1" in errors[0].getMessage()
    assert "TimeoutError" in errors[0].getMessage()
    retries = [r for r in caplog.records if r.levelno == logging.DEBUG and "f_t1" in r.getMessage()]
    assert len(retries) == 3  # each later failure was tried, and logged quietly
    assert ("end", "run-t1", "FINISHED") in cb.calls  # the run still ends


def test_setup_that_fails_is_tried_again_at_the_next_trial(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class FlakySetup(Recorder):
        attempts = 0

        def _tracker_setup(self) -> None:
            FlakySetup.attempts += 1
            if FlakySetup.attempts == 1:
                raise OSError("server not up yet")
            super()._tracker_setup()

    cb = FlakySetup()
    t1, t2 = _trial("t1"), _trial("t2")
    with caplog.at_level(logging.ERROR, logger="tunelab.integration"):
        cb.on_trial_start(iteration=0, trials=[t1, t2], trial=t1)
        cb.on_trial_start(iteration=0, trials=[t1, t2], trial=t2)
        cb.on_experiment_end(trials=[t1, t2])
    assert len([r for r in caplog.records if "f_t1" in r.getMessage()]) == 1
    assert cb.calls[:2] == [("setup",), ("start", "t2", 1)]


def test_the_end_of_the_experiment_waits_at_most_the_flush_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = threading.Event()
    cb = Recorder(block=gate, flush_timeout_s=0.3)
    trial = _trial("t1")
    cb.on_trial_start(iteration=0, trials=[trial], trial=trial)
    _results(cb, trial, 5)
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="tunelab.integration"):
        cb.on_experiment_end(trials=[trial])
    assert time.perf_counter() - started < 3
    warning = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1 and "pending after 0 s" in warning[0] and "were dropped" in warning[0]
    gate.set()  # the call that was running finishes; nothing queued after it runs
    time.sleep(0.2)
    assert [c for c in cb.calls if c[0] == "log"] == [("log", "run-t1", 1)]


def test_the_queue_is_bounded_results_beyond_it_are_dropped_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = threading.Event()
    cb = Recorder(block=gate, max_pending=3)
    trial = _trial("t1")
    cb.on_trial_start(iteration=0, trials=[trial], trial=trial)
    with caplog.at_level(logging.WARNING, logger="tunelab.integration"):
        cb.on_trial_result(
            iteration=1, trials=[trial], trial=trial, result={"training_iteration": 1}
        )
        time.sleep(0.2)  # the thread took result 1 and waits on the gate
        for i in range(2, 10):
            cb.on_trial_result(
                iteration=i, trials=[trial], trial=trial, result={"training_iteration": i}
            )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "falling behind" in warnings[0]
    cb.on_trial_complete(iteration=9, trials=[trial], trial=trial)  # never dropped
    gate.set()
    cb.on_experiment_end(trials=[trial])
    assert [c[2] for c in cb.calls if c[0] == "log"] == [1, 2, 3, 4]
    assert cb.calls[-2] == ("end", "run-t1", "FINISHED")


def test_runs_still_open_at_the_experiment_end_end_killed() -> None:
    cb = Recorder()
    t1, t2 = _trial("t1"), _trial("t2")
    for trial in (t1, t2):
        cb.on_trial_start(iteration=0, trials=[t1, t2], trial=trial)
    cb.on_trial_complete(iteration=1, trials=[t1, t2], trial=t1)
    cb.on_experiment_end(trials=[t1, t2])  # t2 paused or interrupted
    ends = [c for c in cb.calls if c[0] == "end"]
    assert ends == [("end", "run-t1", "FINISHED"), ("end", "run-t2", "KILLED")]


def test_a_restarted_trial_keeps_its_run_and_a_resume_hands_back_its_reference() -> None:
    cb = Recorder()
    trial = _trial("t1", a=1)
    cb.on_trial_start(iteration=0, trials=[trial], trial=trial)
    trial.config = {"a": 5}
    cb.on_trial_start(iteration=2, trials=[trial], trial=trial)  # resumed after a pause
    assert cb.flush(5)
    assert cb.calls[-1] == ("restart", "run-t1")
    state = cb.get_state()
    assert state == {"runs": {"t1": "run-t1"}}
    cb.on_experiment_end(trials=[trial])

    again = Recorder()
    again.set_state(state)
    again.on_trial_start(iteration=0, trials=[trial], trial=trial)
    again.on_experiment_end(trials=[trial])
    assert again.references == {"t1": "run-t1"}


def test_checkpoints_are_queued_only_when_the_tracker_wants_them(tmp_path: Any) -> None:
    class Uploader(Recorder):
        def _wants_checkpoints(self) -> bool:
            return True

        def _tracker_save(self, handle: str, info: TrialInfo, checkpoint_path: str) -> None:
            self._note("save", handle, checkpoint_path)

    checkpoint = tmp_path / "checkpoint_000001"
    checkpoint.mkdir()
    trial = _trial("t1")
    for cb, expected in ((Recorder(), []), (Uploader(), [("save", "run-t1", str(checkpoint))])):
        cb.on_trial_start(iteration=0, trials=[trial], trial=trial)
        cb.on_checkpoint(iteration=1, trials=[trial], trial=trial, checkpoint=str(checkpoint))
        cb.on_experiment_end(trials=[trial])
        assert [c for c in cb.calls if c[0] == "save"] == expected


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"flush_timeout_s": 0}, ValueError, "flush_timeout_s must be > 0"),
        ({"flush_timeout_s": "1"}, TypeError, "flush_timeout_s must be a number"),
        ({"max_pending": 0}, ValueError, "max_pending must be an int >= 1"),
        ({"max_pending": True}, ValueError, "max_pending must be an int >= 1"),
    ],
)
def test_bad_settings_are_rejected(kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        Recorder(**kwargs)


def test_legacy_loggers_close_with_the_trial_status() -> None:
    trial = _trial("t1")
    assert legacy_status(None) == "FINISHED"
    for status, expected in (
        (TrialStatus.TERMINATED, "FINISHED"),
        (TrialStatus.ERROR, "FAILED"),
        (TrialStatus.RUNNING, "KILLED"),
        (TrialStatus.PAUSED, "KILLED"),
    ):
        trial.status = status
        assert legacy_status(trial) == expected


class SlowRecorder(Recorder):
    """Shared by every trial's legacy logger below, so the test can read what they did."""

    log: list[tuple[Any, ...]] = []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(delay=0.05, **kwargs)
        self.calls = SlowRecorder.log


class SlowLegacyLogger(TrackerLogger):
    """A legacy per-trial tracker logger whose tracker takes 50 ms per result."""

    _experiment_logger_cls = SlowRecorder

    def _init(self) -> None:
        self._callback = SlowRecorder()
        assert self.trial is not None
        self._trial_id = str(self.trial.trial_id)
        self._callback.log_trial_start(self.trial)


def test_legacy_tracker_loggers_have_logged_everything_when_the_experiment_ends() -> None:
    SlowRecorder.log.clear()
    trials = [_trial("t1", 1), _trial("t2", 2)]
    cb = LegacyLoggerCallback([SlowLegacyLogger])
    for trial in trials:
        cb.on_trial_start(iteration=0, trials=trials, trial=trial)
        _results(cb, trial, 3)
    trials[0].status, trials[1].status = TrialStatus.TERMINATED, TrialStatus.RUNNING
    started = time.perf_counter()
    cb.on_trial_complete(iteration=4, trials=trials, trial=trials[0])  # closed mid-run
    assert time.perf_counter() - started < 0.1  # a trial's end does not wait for its tracker
    cb.on_experiment_end(trials=trials)  # t2's logger is closed here, t2 still running
    logged = sorted(call[1:] for call in SlowRecorder.log if call[0] == "log")
    assert logged == [(f"run-{t}", i) for t in ("t1", "t2") for i in (1, 2, 3)]
    assert sorted(call[1:] for call in SlowRecorder.log if call[0] == "end") == [
        ("run-t1", "FINISHED"),
        ("run-t2", "KILLED"),
    ]


def test_a_callback_pickles_without_its_thread_and_works_after() -> None:
    import pickle

    cb = Recorder()
    trial = _trial("t1")
    cb.on_trial_start(iteration=0, trials=[trial], trial=trial)
    assert cb.flush(5)
    copy = pickle.loads(pickle.dumps(cb))  # Tuner saves its run options this way
    assert copy.get_state() == {"runs": {"t1": "run-t1"}}
    copy.on_trial_start(iteration=0, trials=[trial], trial=trial)
    copy.on_experiment_end(trials=[trial])
    assert copy.references == {"t1": "run-t1"}
    cb.close()
