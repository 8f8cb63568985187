"""Rolling a trial's logs back to the iteration it restarts from.

When a trial restarts from a checkpoint taken at iteration ``k`` (after a failure, or on
resume), the results it logged after ``k`` are cut from ``result.json`` and
``progress.csv`` so that each ``training_iteration`` appears exactly once once it reruns.
Files are truncated in place (loggers may hold them open in append mode).
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

_TAIL_BYTES = 1 << 16  # how much of a file's end is read to find its last line


def _last_line(path: str) -> bytes | None:
    """The last line of ``path`` when the file ends with a newline (else None: a torn
    line, an empty file, or a line longer than the tail read)."""
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return None
        fh.seek(max(0, size - _TAIL_BYTES))
        tail = fh.read()
    if not tail.endswith(b"\n"):
        return None
    start = tail.rfind(b"\n", 0, len(tail) - 1)
    if start < 0 and size > len(tail):
        return None
    return tail[start + 1 :]


def _iteration_of_json(raw: bytes) -> tuple[dict[str, Any], Any] | None:
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return (record, record.get("training_iteration", 0)) if isinstance(record, dict) else None


def _truncate_json_lines(path: str, iteration: int) -> dict[str, Any] | None:
    tail = _last_line(path)
    parsed = _iteration_of_json(tail) if tail is not None else None
    if parsed is not None and isinstance(parsed[1], int | float) and parsed[1] <= iteration:
        return parsed[0]  # nothing after the checkpoint (a paused trial): no full read
    last: dict[str, Any] | None = None
    offset = 0
    with open(path, "rb") as fh:
        for raw in fh:
            try:
                record = json.loads(raw)
            except ValueError:  # a torn last line from a kill
                break
            if record.get("training_iteration", 0) > iteration:
                break
            last = record
            offset += len(raw)
    if offset < os.path.getsize(path):
        os.truncate(path, offset)
    return last


def _truncate_csv(path: str, iteration: int) -> None:
    with open(path, "rb") as fh:
        header_line = fh.readline()
    tail = _last_line(path)
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
    lines = data.splitlines(keepends=True)
    header = next(csv.reader(io.StringIO(lines[0].decode())))
    if "training_iteration" not in header:
        return
    column = header.index("training_iteration")
    offset = len(lines[0])
    for raw in lines[1:]:
        try:
            row = next(csv.reader(io.StringIO(raw.decode())))
            value = float(row[column])
        except (StopIteration, IndexError, ValueError, UnicodeDecodeError):
            break
        if value > iteration or not raw.endswith(b"\n"):
            break
        offset += len(raw)
    if offset < len(data):
        os.truncate(path, offset)


def rollback_trial_logs(trial_dir: str, iteration: int) -> dict[str, Any] | None:
    """Cut results after ``iteration``; return the last result kept (None if none)."""
    last = None
    result_json = os.path.join(trial_dir, "result.json")
    if os.path.exists(result_json):
        last = _truncate_json_lines(result_json, iteration)
    progress = os.path.join(trial_dir, "progress.csv")
    if os.path.exists(progress):
        _truncate_csv(progress, iteration)
    return last
