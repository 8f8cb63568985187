"""Rolling a trial's logs back to the iteration it restarts from.

When a trial restarts from a checkpoint taken at iteration ``k`` (after a failure, or on
resume), the results it logged after ``k`` are cut from ``result.json`` and
``progress.csv`` so that each ``training_iteration`` appears exactly once once it reruns.
The loggers that write those files do it (``on_trial_rollback``, with
:func:`truncate_result_json` and :func:`truncate_progress_csv`); the controller only
reads the last result kept (:func:`kept_result`). Files are truncated in place (loggers may
hold them open in append mode).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import re
from collections.abc import Iterator
from typing import Any

from tunelab._errors import json_problem, loads_line

logger = logging.getLogger("tunelab")

_TAIL_BYTES = 1 << 16  # how much of a file's end is read to find its last line


def _last_line(path: str) -> bytes | None:
    """The last line of ``path`` when the file ends with a newline (else None: a torn
    line, an empty file, or a line longer than the tail read)."""
    size, tail = _tail(path)
    if size == 0:
        return None
    if not tail.endswith(b"\n"):
        return None
    start = tail.rfind(b"\n", 0, len(tail) - 1)
    if start < 0 and size > len(tail):
        return None
    return tail[start + 1 :]


def _tail(path: str) -> tuple[int, bytes]:
    """(size of ``path``, its last ``_TAIL_BYTES`` bytes)."""
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - _TAIL_BYTES))
        return size, fh.read()


def _iteration_of_json(raw: bytes) -> tuple[dict[str, Any], Any] | None:
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return (record, record.get("training_iteration", 0)) if isinstance(record, dict) else None


_ITERATION = re.compile(rb'"training_iteration":\s*(-?[0-9.eE+-]+)')


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _json_line(path: str, number: int, raw: bytes) -> tuple[dict[str, Any] | None, float | None]:
    """(the result, its training_iteration) of one whole line of ``result.json``. A damaged
    line (bytes that are not UTF-8, not JSON) is read as well as it can be, with a warning
    naming the file and the line: its iteration, when it can still be found, places it."""
    try:
        record, note = loads_line(raw)
    except ValueError as exc:
        match = _ITERATION.search(raw)
        iteration = None
        if match is not None:
            with contextlib.suppress(ValueError):
                iteration = float(match.group(1))
        logger.warning(
            "tunelab: %s, line %d: %s; kept as it is (%s)",
            path,
            number,
            json_problem(exc)[1],
            f"training_iteration {iteration:g}" if iteration is not None else "iteration unknown",
        )
        return None, iteration
    if note is not None:
        logger.warning("tunelab: %s, line %d: %s", path, number, note)
    if not isinstance(record, dict):
        logger.warning("tunelab: %s, line %d: not a JSON object; kept as it is", path, number)
        return None, None
    return record, _number(record.get("training_iteration", 0))


def _truncate_json_lines(path: str, iteration: int, *, cut: bool = True) -> dict[str, Any] | None:
    """Cut the lines after ``iteration`` and a torn last line; return the last result kept
    (``cut=False``: only find it).

    Only a last line without its newline (a kill mid-write) counts as torn; a damaged line
    elsewhere is kept (see :func:`_json_line`), so that no result before it or after it is
    lost."""
    tail = _last_line(path)
    parsed = _iteration_of_json(tail) if tail is not None else None
    if parsed is not None and isinstance(parsed[1], int | float) and parsed[1] <= iteration:
        return parsed[0]  # nothing after the checkpoint (a paused trial): no full read
    last: dict[str, Any] | None = None
    offset = 0
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.endswith(b"\n"):
                break  # a torn last line from a kill
            record, value = _json_line(path, number, raw)
            if value is not None and value > iteration:
                break
            if record is not None:
                last = record
            offset += len(raw)
    if cut and offset < os.path.getsize(path):
        os.truncate(path, offset)
    return last


def _decoded_lines(path: str, data: bytes, count: list[int]) -> Iterator[str]:
    """The lines of ``data`` as text for ``csv.reader`` (bytes that are not UTF-8 become
    U+FFFD, with a warning naming the line); ``count[0]`` counts the lines handed out."""
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        raw = data[start:end]
        count[0] += 1
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            logger.warning(
                "tunelab: %s, line %d: byte 0x%02x is not UTF-8 (read as U+FFFD)",
                path,
                count[0],
                raw[exc.start],
            )
            text = raw.decode("utf-8", "replace")
        yield text
        start = end


def _truncate_csv(path: str, iteration: int) -> None:
    with open(path, "rb") as fh:
        header_line = fh.readline()
    tail = _last_line(path)
    value: float | None
    if tail is not None and tail != header_line:
        try:
            header = next(csv.reader(io.StringIO(header_line.decode())))
            value = float(
                next(csv.reader(io.StringIO(tail.decode())))[header.index("training_iteration")]
            )
        except (StopIteration, IndexError, ValueError, UnicodeDecodeError):
            value = None
        if value is not None and value <= iteration:
            return  # nothing after the checkpoint: no full read
    with open(path, "rb") as fh:
        data = fh.read()
    if not data:
        return
    # lines are read through csv.reader (a quoted value may hold a newline); the byte
    # offset of each row's end is the sum of the lines it took
    ends = [0]
    for raw in data.split(b"\n"):
        ends.append(ends[-1] + len(raw) + 1)
    ends[-1] = len(data)
    count = [0]
    reader = csv.reader(_decoded_lines(path, data, count))
    header = next(reader, [])
    if "training_iteration" not in header:
        return
    column = header.index("training_iteration")
    offset = ends[count[0]]
    while True:
        try:
            row = next(reader, None)
        except csv.Error:
            row = []
        if row is None:
            break
        row_end = ends[count[0]]
        if data[row_end - 1 : row_end] != b"\n":
            break  # a torn last row from a kill
        try:
            value = float(row[column])
        except (IndexError, ValueError):
            value = None
            logger.warning(
                "tunelab: %s, line %d: no training_iteration in this row; kept as it is",
                path,
                count[0],
            )
        if value is not None and value > iteration:
            break
        offset = row_end
    if offset < len(data):
        os.truncate(path, offset)


#: what tunelab's atomic writers leave behind when a process dies mid-write: temp files
#: (``name.tmp-<pid>``, ``name.tmp-<hex>``, ``name.tmp-<pid>-<hex>``) and staging
#: directories (``.name.partial-<hex>``)
_LEFTOVER = re.compile(r"(.+\.tmp-(\d+|[0-9a-f]{8}|\d+-[0-9a-f]{8})|\..+\.partial-[0-9a-f]{8})")


def remove_leftovers(trial_dir: str) -> None:
    """Remove the temp files and staging directories that writers killed mid-write left in
    ``trial_dir`` and its checkpoint directories (no process writes there while a trial
    restarts)."""
    try:
        entries = list(os.scandir(trial_dir))
    except OSError:
        return
    for entry in entries:
        if _LEFTOVER.fullmatch(entry.name):
            _remove(entry.path)
        elif entry.name.startswith("checkpoint_") and entry.is_dir(follow_symlinks=False):
            with contextlib.suppress(OSError):
                for inner in os.scandir(entry.path):
                    if _LEFTOVER.fullmatch(inner.name):
                        _remove(inner.path)


def _remove(path: str) -> None:
    import shutil

    with contextlib.suppress(OSError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def truncate_result_json(trial_dir: str, iteration: int) -> None:
    """Cut the results after ``iteration`` (and a torn last line) from ``result.json``."""
    path = os.path.join(trial_dir, "result.json")
    if os.path.exists(path):
        _truncate_json_lines(path, iteration)


def truncate_progress_csv(trial_dir: str, iteration: int) -> None:
    """Cut the rows after ``iteration`` (and a torn last row) from ``progress.csv``."""
    path = os.path.join(trial_dir, "progress.csv")
    if os.path.exists(path):
        _truncate_csv(path, iteration)


def kept_result(trial_dir: str, iteration: int) -> dict[str, Any] | None:
    """The last result in ``result.json`` at or before ``iteration`` (None if none); reads
    only."""
    path = os.path.join(trial_dir, "result.json")
    if not os.path.exists(path):
        return None
    return _truncate_json_lines(path, iteration, cut=False)


def rollback_trial_logs(trial_dir: str, iteration: int) -> dict[str, Any] | None:
    """What the built-in loggers and the controller do together when a trial restarts
    from iteration ``iteration``: remove what writers killed mid-write left behind
    (:func:`remove_leftovers`), cut both logs; return the last result kept (None if none)."""
    remove_leftovers(trial_dir)
    truncate_result_json(trial_dir, iteration)
    truncate_progress_csv(trial_dir, iteration)
    return kept_result(trial_dir, iteration)


def latest_logged_checkpoint(trial_dir: str) -> dict[str, Any] | None:
    """The newest result in the end of ``trial_dir``/result.json that names a checkpoint
    directory still on disk (``checkpoint_dir_name``), or None.

    A worker writes a checkpoint before it sends the result that names it, and the driver
    writes the result to result.json before it journals the checkpoint: a driver killed
    between the two leaves a logged result whose checkpoint the journal does not know.
    Resume takes it from here, so it restarts from that checkpoint, not an older one. Only a
    result that progress.csv (when there is one) holds whole as well qualifies: a log the
    failure cut short must not lose the row."""
    limit = _last_csv_iteration(os.path.join(trial_dir, "progress.csv"))
    path = os.path.join(trial_dir, "result.json")
    try:
        size, tail = _tail(path)
    except OSError:
        return None
    lines = tail.split(b"\n")
    lines.pop()  # after the last newline: empty, or a torn line
    if size > len(tail) and lines:
        lines.pop(0)  # may start mid-line
    for raw in reversed(lines):
        parsed = _iteration_of_json(raw)
        if parsed is None:
            continue
        record, iteration = parsed
        number = _number(iteration)
        if limit is not None and (number is None or number > limit):
            continue
        name = record.get("checkpoint_dir_name")
        if (
            isinstance(name, str)
            and name.startswith("checkpoint_")
            and os.sep not in name
            and os.path.isdir(os.path.join(trial_dir, name))
        ):
            return record
    return None


def _last_csv_iteration(path: str) -> float | None:
    """``training_iteration`` of the last whole row of the CSV log ``path``; None when there
    is no such file (no limit), -1 when it has no whole row or no such column."""
    try:
        with open(path, "rb") as fh:
            header = fh.readline()
    except OSError:
        return None
    last = _last_line(path) if header.endswith(b"\n") else None
    if last is None or last == header:
        return -1.0
    try:
        names = next(csv.reader([header.decode("utf-8", "replace")]))
        row = next(csv.reader([last.decode("utf-8", "replace")]))
        value = float(row[names.index("training_iteration")])
    except (ValueError, IndexError, StopIteration):
        return -1.0
    return value
