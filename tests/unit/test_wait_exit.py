"""``wait_exit``: how a local executor waits for a worker process to end."""

from __future__ import annotations

import subprocess
import sys

from tunelab.execution._reaper import wait_exit


def _python(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


def test_a_process_that_exits_is_reaped_with_its_code() -> None:
    process = _python("import sys; sys.exit(3)")
    assert wait_exit(process, 30.0)
    assert process.returncode == 3


def test_a_process_still_running_at_the_timeout_is_reported_and_left_alone() -> None:
    process = _python("import time; time.sleep(60)")
    try:
        assert not wait_exit(process, 0.2)
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


def test_a_process_reaped_already_is_not_waited_for_again() -> None:
    process = _python("pass")
    process.wait()
    assert wait_exit(process, 0.1)
    assert process.returncode == 0
