"""Progress that fits where it runs: redrawn in place on a terminal, compact lines in logs."""

from __future__ import annotations

import io
import re
import sys
from typing import Any

import pytest

from tunelab._trial import Trial, TrialStatus
from tunelab.progress import CLIReporter
from tunelab.progress._terminal import (
    LiveDisplay,
    _WatchedStream,
    best_metric_text,
    compact_status_line,
    count_statuses,
    is_terminal,
    progress_bar,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal; :meth:`screen` replays what a terminal shows."""

    monkeypatch: pytest.MonkeyPatch | None = None

    def isatty(self) -> bool:
        return True

    def attach(self) -> None:
        """Become ``sys.stdout`` and ``sys.stderr``. Called from the test body: pytest's
        output capture sets the standard streams again between fixture setup and the test."""
        assert self.monkeypatch is not None
        self.monkeypatch.setattr(sys, "stdout", self)
        self.monkeypatch.setattr(sys, "stderr", self)

    def screen(self) -> list[str]:
        rows: list[str] = [""]
        row = col = 0
        text = self.getvalue()
        i = 0
        while i < len(text):
            match = re.match(r"\x1b\[(\d*)([AJ])", text[i:])
            if match:
                if match.group(2) == "A":
                    row = max(0, row - int(match.group(1) or 1))
                else:  # clear from the cursor to the end of the screen
                    rows[row] = rows[row][:col]
                    del rows[row + 1 :]
                i += match.end()
                continue
            char = text[i]
            if char == "\n":
                row, col = row + 1, 0
                if row == len(rows):
                    rows.append("")
            elif char == "\r":
                col = 0
            else:
                line = rows[row].ljust(col)
                rows[row] = line[:col] + char + line[col + 1 :]
                col += 1
            i += 1
        return rows[:-1] if rows and rows[-1] == "" else rows


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> FakeTerminal:
    fake = FakeTerminal()
    fake.monkeypatch = monkeypatch
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("LINES", "50")
    return fake


def make_trials(finished: int, running: int, pending: int) -> list[Trial]:
    trials = []
    statuses = (
        [TrialStatus.TERMINATED] * finished
        + [TrialStatus.RUNNING] * running
        + [TrialStatus.PENDING] * pending
    )
    for i, status in enumerate(statuses):
        trial = Trial("train", trial_id=f"id{i:03d}", config={"lr": i}, evaluated_params={"lr": i})
        trial.status = status
        if status is not TrialStatus.PENDING:
            trial.update_last_result({"mean_accuracy": 0.5 + i / 100, "training_iteration": 3})
        trials.append(trial)
    return trials


# -- the pieces -----------------------------------------------------------------------------
def test_progress_bar() -> None:
    assert progress_bar(12, 50) == f"[{'#' * 7}{'.' * 23}] 12/50 trials finished"
    assert progress_bar(0, 4) == f"[{'.' * 30}] 0/4 trials finished"
    assert progress_bar(4, 4, width=4) == "[####] 4/4 trials finished"
    assert progress_bar(6, 4, width=4) == "[####] 6/6 trials finished"
    assert progress_bar(3, None) == "3 trials finished (total not known)"
    assert progress_bar(3, 0) == "3 trials finished (total not known)"


def test_the_best_figure_never_goes_down_when_a_trial_gets_worse() -> None:
    trial = Trial("train", trial_id="t", config={})
    for accuracy in (0.5, 0.9, 0.7):
        trial.update_last_result({"mean_accuracy": accuracy, "loss": 1 - accuracy})
    assert best_metric_text([trial], "mean_accuracy", "max", "acc") == "acc=0.9"
    assert best_metric_text([trial], "loss", "min") == "loss=0.1"
    nested = Trial("train", trial_id="n", config={})
    nested.update_last_result({"val": {"acc": 0.8}})  # not tracked: its last value
    assert best_metric_text([nested], "val/acc", "max") == "val/acc=0.8"


def test_compact_status_line() -> None:
    counts = count_statuses(make_trials(12, 2, 0))
    assert compact_status_line(counts, 50, "acc=0.93") == (
        "== 12/50 done, 2 running, 0 errored | best acc=0.93 =="
    )
    counts[TrialStatus.ERROR] = 1
    counts[TrialStatus.PAUSED] = 3
    counts[TrialStatus.PENDING] = 4
    assert compact_status_line(counts, None, None, "00:01:05.00") == (
        "== 13 done, 2 running, 3 paused, 4 pending, 1 errored | 00:01:05.00 =="
    )


def test_is_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    assert is_terminal(FakeTerminal())
    assert not is_terminal(io.StringIO())
    assert not is_terminal(object())
    monkeypatch.setenv("TERM", "dumb")
    assert not is_terminal(FakeTerminal())


# -- on a terminal --------------------------------------------------------------------------
def test_reports_are_redrawn_in_place_with_a_progress_bar(terminal: FakeTerminal) -> None:
    terminal.attach()
    reporter = CLIReporter(metric="mean_accuracy", mode="max")
    reporter.setup(total_samples=6, verbose=1)
    reporter.report(make_trials(0, 2, 4), False, "Line A")
    reporter.report(make_trials(2, 2, 2), False, "Line A")
    reporter.report(make_trials(4, 2, 0), False, "Line A")
    screen = terminal.screen()
    assert sum(line == "== Status ==" for line in screen) == 1  # one block, redrawn
    assert f"[{'#' * 20}{'.' * 10}] 4/6 trials finished" in screen
    assert "Line A" in screen and "Trial name" not in "\n".join(screen)  # verbose 1: no table
    assert isinstance(sys.stdout, _WatchedStream)
    reporter.report(make_trials(6, 0, 0), True, "Line A")
    screen = terminal.screen()
    assert sum(line == "== Status ==" for line in screen) == 1
    assert f"[{'#' * 30}] 6/6 trials finished" in screen
    assert any(line.startswith("| Trial name") for line in screen)  # the final table
    assert sys.stdout is terminal  # the streams are given back


def test_other_output_is_never_erased(terminal: FakeTerminal) -> None:
    terminal.attach()
    reporter = CLIReporter()
    reporter.setup(total_samples=3, verbose=1)
    reporter.report(make_trials(0, 1, 2), False)
    print("Trial train_id000 started")
    sys.stderr.write("a warning without newline")
    reporter.report(make_trials(1, 1, 1), False)
    reporter.report(make_trials(2, 1, 0), False)
    screen = terminal.screen()
    assert "Trial train_id000 started" in screen
    assert "a warning without newline" in screen
    assert screen.index("Trial train_id000 started") > screen.index("== Status ==")
    # the first block stays above the messages; the latest is redrawn below them
    assert sum(line == "== Status ==" for line in screen) == 2
    assert screen[-1].endswith("2/3 trials finished")
    reporter.report(make_trials(3, 0, 0), True)
    assert sys.stdout is terminal and sys.stderr is terminal


def test_tables_follow_verbosity_and_lines_fit_the_terminal(
    terminal: FakeTerminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal.attach()
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setenv("LINES", "12")
    reporter = CLIReporter()
    reporter.setup(total_samples=30, verbose=3)
    reporter.report(make_trials(10, 10, 10), False, "x" * 100)
    screen = terminal.screen()
    assert len(screen) <= 11
    assert all(len(line) <= 39 for line in screen)
    assert screen[-1].startswith("... ") and "more lines" in screen[-1]


def test_live_display_erases_only_its_own_block() -> None:
    out = FakeTerminal()
    display = LiveDisplay(out, terminal_size=lambda: (80, 24))
    out.write("before\n")
    display.draw(["one", "two", "three"])
    display.draw(["four"])
    assert out.screen() == ["before", "four"]
    assert display.height == 1
    display.close("final\n")
    assert out.screen() == ["before", "final"]
    assert display.height == 0


def test_overwrite_forces_or_disables_redrawing(
    terminal: FakeTerminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal.attach()
    plain = CLIReporter(overwrite=False)
    plain.setup(verbose=1)
    plain.report(make_trials(1, 1, 0), False)
    assert "\x1b[" not in terminal.getvalue()
    assert terminal.getvalue().startswith("== 1 done, 1 running, 0 errored |")
    log = io.StringIO()
    monkeypatch.setattr(sys, "stdout", log)
    forced = CLIReporter(overwrite=True)
    forced.setup(verbose=1)
    forced.report(make_trials(1, 1, 0), False)
    forced.report(make_trials(1, 1, 0), False)
    assert "\x1b[" in log.getvalue() and "trials finished" in log.getvalue()
    forced.report(make_trials(2, 0, 0), True)
    with pytest.raises(TypeError, match=r"overwrite.*'auto'"):
        CLIReporter(overwrite="auto")  # type: ignore[arg-type]


# -- in a log -------------------------------------------------------------------------------
def test_logs_get_one_compact_line_at_a_bounded_rate(capsys: Any) -> None:
    clock = FakeClock()
    reporter = CLIReporter(metric="mean_accuracy", mode="max", clock=clock)
    reporter.setup(total_samples=50, verbose=1)
    printed: list[str] = []

    def step(trials: list[Trial], seconds: float) -> None:
        clock.now += seconds
        if reporter.should_report(trials):
            reporter.report(trials, False, "header line")
        printed.extend(capsys.readouterr().out.splitlines())

    trials = make_trials(12, 2, 0)
    step(trials, 0)
    assert len(printed) == 1
    assert re.fullmatch(
        r"== 12/50 done, 2 running, 0 errored \| best acc=0\.63 \| [\d:.]+ ==", printed[0]
    )
    for _ in range(10):  # nothing changes: repeated once a minute, not every 5 s
        step(trials, 5.0)
    assert len(printed) == 1
    step(trials, 15.0)
    assert len(printed) == 2
    step(make_trials(13, 1, 0), 1.0)  # changed, but within max_report_frequency
    assert len(printed) == 2
    step(make_trials(13, 1, 0), 4.0)
    assert len(printed) == 3 and printed[-1].startswith("== 13/50 done, 1 running")
    reporter.report(make_trials(14, 0, 0), True, "header line")  # the final report: in full
    final = capsys.readouterr().out
    assert "== Status ==" in final and "| Trial name" in final and "\x1b[" not in final


def test_logs_get_full_tables_when_asked(capsys: Any) -> None:
    reporter = CLIReporter(print_intermediate_tables=True)
    reporter.setup(verbose=1)
    reporter.report(make_trials(1, 1, 0), False)
    out = capsys.readouterr().out
    assert "== Status ==" in out and "| Trial name" in out
    assert "trials finished" not in out  # no bar in logs
