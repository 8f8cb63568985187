"""Progress output that fits where it runs: a block redrawn in place on a terminal, one
compact line in logs, a progress bar of finished trials.

:class:`LiveDisplay` keeps a block of lines at the bottom of a terminal and redraws it in
place with ANSI escapes (cursor up, clear to the end of the screen). It only ever erases
what it drew itself: while it is on screen, ``sys.stdout``/``sys.stderr`` are wrapped so
that any other text written through them (trial lines, error reports, prints from trainables
run in threads) is noticed, and the next frame is then drawn below that text instead of
over it. Output written straight to the terminal's file descriptor by other processes is
not seen (and may be drawn over); such output should be relayed through ``sys.stdout``.
"""

from __future__ import annotations

import html
import math
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO, cast

from tunelab._trial import TrialStatus
from tunelab.progress._table import lookup

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = [
    "LiveDisplay",
    "TerminalOutput",
    "best_metric_text",
    "compact_status_line",
    "count_statuses",
    "is_terminal",
    "progress_bar",
    "progress_bar_html",
]

#: Characters of the bar between the brackets.
BAR_WIDTH = 30
#: In logs, an unchanged compact status line is repeated at most this often (seconds).
LOG_REPEAT_S = 60.0


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is an interactive terminal that understands ANSI escapes."""
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    if isatty is None:
        return False
    try:
        return bool(isatty())
    except (ValueError, OSError):  # closed or detached stream
        return False


def count_statuses(trials: Iterable[Trial]) -> dict[TrialStatus, int]:
    """How many trials are in each status (statuses without trials are absent)."""
    counts: dict[TrialStatus, int] = {}
    for trial in trials:
        status = trial.status
        counts[status] = counts.get(status, 0) + 1
    return counts


def progress_bar(finished: int, total: int | None, width: int = BAR_WIDTH) -> str:
    """``"[#########.....................] 12/50 trials finished"``.

    Without a known ``total`` (``None`` or 0): ``"12 trials finished (total not known)"``.
    A total smaller than ``finished`` (more trials were added) is raised to it.
    """
    if not total:
        return f"{finished} trials finished (total not known)"
    total = max(total, finished)
    filled = width * finished // total
    return f"[{'#' * filled}{'.' * (width - filled)}] {finished}/{total} trials finished"


def progress_bar_html(finished: int, total: int | None) -> str:
    """:func:`progress_bar` as HTML (a ``<progress>`` element when the total is known)."""
    if not total:
        return html.escape(progress_bar(finished, None))
    total = max(total, finished)
    return (
        f'<progress value="{finished}" max="{total}"></progress> {finished}/{total} trials finished'
    )


def compact_status_line(
    counts: dict[TrialStatus, int],
    total: int | None,
    best: str | None = None,
    elapsed: str | None = None,
) -> str:
    """``"== 12/50 done, 2 running, 3 pending, 0 errored | best acc=0.93 | 00:01:05 =="``.

    ``done`` counts finished trials (terminated or errored); ``paused`` and ``pending``
    appear only when some trials are in that state.
    """
    errored = counts.get(TrialStatus.ERROR, 0)
    finished = counts.get(TrialStatus.TERMINATED, 0) + errored
    shown_total = max(total, sum(counts.values())) if total else None
    parts = [f"{finished}/{shown_total} done" if shown_total else f"{finished} done"]
    parts.append(f"{counts.get(TrialStatus.RUNNING, 0)} running")
    for status, word in ((TrialStatus.PAUSED, "paused"), (TrialStatus.PENDING, "pending")):
        if counts.get(status):
            parts.append(f"{counts[status]} {word}")
    parts.append(f"{errored} errored")
    text = ", ".join(parts)
    if best:
        text += f" | best {best}"
    if elapsed:
        text += f" | {elapsed}"
    return f"== {text} =="


def best_metric_text(
    trials: Iterable[Trial], metric: str, mode: str, shown: str | None = None
) -> str | None:
    """``"acc=0.9312"``: the best ``metric`` reported so far by any of ``trials`` (None if
    none): each trial's best value (``trial.metric_analysis``), else its last one (a nested
    metric), so the figure never goes down while the trials' later results do."""
    best: float | None = None
    for trial in trials:
        stats = trial.metric_analysis.get(metric)
        value = (
            (stats.max if mode == "max" else stats.min)
            if stats is not None and stats.count
            else lookup(trial.last_result, metric)
        )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not math.isfinite(value):
            continue
        if best is None or (value > best if mode == "max" else value < best):
            best = float(value)
    return None if best is None else f"{shown or metric}={best:.4g}"


def _fit(lines: Sequence[str], columns: int, rows: int) -> list[str]:
    """``lines`` cut to the terminal: no line wraps, the block leaves one row free."""
    width = max(columns - 1, 10)
    fitted = [line if len(line) <= width else line[: width - 3] + "..." for line in lines]
    room = max(rows - 1, 3)
    if len(fitted) > room:
        hidden = len(fitted) - (room - 1)
        fitted = [
            *fitted[: room - 1],
            f"... {hidden} more lines (the full table is printed at the end)"[:width],
        ]
    return fitted


class _WatchedStream:
    """Stands in for ``sys.stdout``/``sys.stderr`` while a :class:`LiveDisplay` is shown:
    everything is passed through, and any text written tells the display."""

    def __init__(self, wrapped: TextIO, display: LiveDisplay) -> None:
        self._tunelab_wrapped = wrapped
        self._tunelab_display = display

    def write(self, text: str) -> int:
        display = self._tunelab_display
        with display._lock:  # not in the middle of a frame (trainables may run in threads)
            if text:
                display._written_by_others(text)
            return self._tunelab_wrapped.write(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tunelab_wrapped, name)


def _unwrap(stream: TextIO) -> TextIO:
    while isinstance(stream, _WatchedStream):
        stream = stream._tunelab_wrapped
    return stream


class LiveDisplay:
    """A block of lines at the bottom of a terminal, redrawn in place by :meth:`draw`.

    ``stream`` is where the block is drawn (default: ``sys.stdout`` when the first frame is
    drawn); ``terminal_size`` returns ``(columns, rows)``. Lines are cut so that none wraps
    and the block fits the screen. :meth:`close` erases the block and, given text, prints
    it in its place as ordinary output (the final report), then restores the standard
    streams.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        terminal_size: Callable[[], tuple[int, int]] | None = None,
    ) -> None:
        self._stream = stream
        self._terminal_size = terminal_size or _terminal_size
        self._height = 0  # lines of the block on screen, right above the cursor
        self._interrupted = False
        self._partial_line = False  # others left the cursor in the middle of a line
        self._watched: list[tuple[str, _WatchedStream]] = []
        self._lock = threading.RLock()

    @property
    def height(self) -> int:
        """Lines of the block currently on screen (0 when none can be redrawn)."""
        return 0 if self._interrupted else self._height

    def _target(self) -> TextIO:
        if self._stream is None:
            self._stream = _unwrap(sys.stdout)
        return self._stream

    def _erase_sequence(self) -> str:
        if self._height and not self._interrupted:
            return f"\r\x1b[{self._height}A\x1b[J"
        if self._partial_line:
            return "\n"
        return ""

    def draw(self, lines: Sequence[str]) -> None:
        """Replace the block on screen with ``lines`` (or draw it below other output)."""
        columns, rows = self._terminal_size()
        fitted = _fit(lines, columns, rows)
        with self._lock:
            stream = self._target()
            stream.write(self._erase_sequence() + "".join(line + "\n" for line in fitted))
            stream.flush()
            self._height = len(fitted)
            self._interrupted = self._partial_line = False
            self._watch()

    def close(self, text: str | None = None) -> None:
        """Erase the block, write ``text`` (as is) in its place, stop watching the streams."""
        with self._lock:
            try:
                stream = self._target()
                stream.write(self._erase_sequence() + (text or ""))
                stream.flush()
            finally:
                self._height = 0
                self._interrupted = self._partial_line = False
                self._unwatch()

    # -- noticing other output -------------------------------------------------------------
    def _written_by_others(self, text: str) -> None:
        if self._height:
            self._interrupted = True
        self._partial_line = not text.endswith("\n")

    def _watch(self) -> None:
        if self._watched:
            return
        for name in ("stdout", "stderr"):
            current = getattr(sys, name)
            if isinstance(current, _WatchedStream):  # left by a display that was not closed
                current._tunelab_display = self
                self._watched.append((name, current))
                continue
            if not is_terminal(current):
                continue
            watched = _WatchedStream(current, self)
            setattr(sys, name, cast(TextIO, watched))
            self._watched.append((name, watched))

    def _unwatch(self) -> None:
        watched, self._watched = self._watched, []
        for name, stream in watched:
            if getattr(sys, name) is stream:
                setattr(sys, name, stream._tunelab_wrapped)


def _terminal_size() -> tuple[int, int]:
    size = shutil.get_terminal_size(fallback=(100, 40))
    return size.columns, size.lines


class TerminalOutput:
    """Where a :class:`~tunelab.progress.CLIReporter` prints: a :class:`LiveDisplay` on a
    terminal, rate-bounded compact lines elsewhere.

    ``overwrite``: ``None`` redraws in place when ``sys.stdout`` is a terminal (checked at
    each report), ``True`` always, ``False`` never. ``clock`` times the repetition of
    unchanged lines.
    """

    def __init__(self, overwrite: bool | None, clock: Callable[[], float]) -> None:
        self._overwrite = overwrite
        self._clock = clock
        self._display: LiveDisplay | None = None
        self._last_line: str | None = None
        self._last_line_at = -math.inf

    def live(self) -> bool:
        """Whether reports are drawn in place now."""
        if self._overwrite is None:
            return is_terminal(sys.stdout)
        return self._overwrite

    def draw(self, text: str, done: bool) -> None:
        """Show ``text`` in place; with ``done`` leave it as ordinary output and stop."""
        display = self._display
        if display is None:
            display = self._display = LiveDisplay()
        if done:
            self._display = None
            display.close(text + "\n")
        else:
            display.draw(text.rstrip("\n").split("\n"))

    def line(self, line: str, elapsed: str) -> None:
        """Print ``line`` (a :func:`compact_status_line` without elapsed time) with
        ``elapsed`` added, unless it is unchanged and was printed less than
        :data:`LOG_REPEAT_S` seconds ago."""
        now = self._clock()
        if line == self._last_line and now - self._last_line_at < LOG_REPEAT_S:
            return
        self._last_line, self._last_line_at = line, now
        text = f"{line[:-3]} | {elapsed} ==" if line.endswith(" ==") else f"{line} {elapsed}"
        print(text, file=sys.stdout, flush=True)
