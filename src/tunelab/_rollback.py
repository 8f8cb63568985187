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


def _truncate_json_lines(path: str, iteration: int) -> dict[str, Any] | None:
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
