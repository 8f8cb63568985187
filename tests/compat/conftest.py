"""The compatibility suite: Ray Tune's own example scripts, from Ray's wheels of three
generations, ported with tunelab's porter and run with their smoke-test flags (see
``compat_examples.py``). Every test here carries the ``compat`` marker; ``pytest -m
compat`` runs only them, ``pytest -m "not compat"`` everything else.

Environment: ``TUNELAB_COMPAT_WHEELS`` (where Ray's wheels are, or are downloaded to),
``TUNELAB_COMPAT_JOBS`` (scripts run at a time, default 2), ``TUNELAB_COMPAT_TIMEOUT``
(seconds per script, default 180), ``TUNELAB_COMPAT_REPORT`` (where the markdown report is
written, a ``.json`` beside it; default ``compat-report.md`` in pytest's base temp dir).

At the end of the session the table per generation is printed and written to the report.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import compat_examples as compat
import pytest

_OUTCOMES = pytest.StashKey[list[compat.Outcome]]()


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/compat/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.compat)


def pytest_configure(config):
    config.stash[_OUTCOMES] = []


class ExampleRunner:
    """Runs the selected example scripts ``jobs`` at a time, all submitted at the first
    request in collection order, so the tests, which wait in the same order, find their
    script finished or running."""

    def __init__(self, items, work_dir: Path, jobs: int, timeout_s: float) -> None:
        self.work_dir = work_dir
        self.timeout_s = timeout_s
        self.selection = [
            item.callspec.params["example"]
            for item in items
            if hasattr(item, "callspec") and "example" in item.callspec.params
        ]
        self._pool = ThreadPoolExecutor(max_workers=jobs)
        self._lock = threading.Lock()
        self._generations: dict[str, Future[compat.Generation]] = {}
        self._runs: dict[tuple[str, str], Future[compat.Outcome]] | None = None

    def _generation(self, version: str) -> compat.Generation:
        with self._lock:
            future = self._generations.get(version)
            if future is None:
                future = Future()
                self._generations[version] = future
                owner = True
            else:
                owner = False
        if owner:
            try:
                future.set_result(compat.prepare_generation(version, self.work_dir))
            except BaseException as error:
                future.set_exception(error)
        return future.result()

    def _run(self, version: str, script: str) -> compat.Outcome:
        return compat.run_example(
            self._generation(version), script, self.work_dir, timeout_s=self.timeout_s
        )

    def outcome(self, version: str, script: str) -> compat.Outcome:
        """The outcome of ``script`` (submitting every selected script at the first call)."""
        if self._runs is None:
            self._runs = {
                pair: self._pool.submit(self._run, *pair)
                for pair in self.selection
                if pair[1] not in compat.SKIPS.get(pair[0], {})
            }
        future = self._runs.get((version, script))
        if future is None:
            future = self._pool.submit(self._run, version, script)
            self._runs[(version, script)] = future
        return future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def example_runner(request, tmp_path_factory):
    jobs = int(os.environ.get("TUNELAB_COMPAT_JOBS", "2"))
    timeout_s = float(os.environ.get("TUNELAB_COMPAT_TIMEOUT", compat.DEFAULT_TIMEOUT_S))
    runner = ExampleRunner(
        request.session.items, tmp_path_factory.mktemp("compat"), jobs, timeout_s
    )
    yield runner
    runner.close()


@pytest.fixture
def record_outcome(request):
    """Call with an :class:`compat_examples.Outcome` to put it in the session's table."""
    return request.config.stash[_OUTCOMES].append


def _report_path(config) -> Path:
    configured = os.environ.get("TUNELAB_COMPAT_REPORT")
    if configured:
        return Path(configured).expanduser()
    basetemp = config._tmp_path_factory.getbasetemp()
    return Path(basetemp) / "compat-report.md"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    outcomes = config.stash.get(_OUTCOMES, [])
    if not outcomes:
        return
    terminalreporter.section("Ray Tune example scripts, ported to tunelab")
    terminalreporter.write_line(compat.format_report(outcomes))
    markdown, as_json = compat.write_report(outcomes, _report_path(config))
    terminalreporter.write_line(f"report: {markdown} (and {as_json})")
