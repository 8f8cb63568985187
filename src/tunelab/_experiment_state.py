"""Experiment state on disk: ``experiment_state.json``, written atomically.

The snapshot holds the experiment's settings and every trial's :meth:`Trial.to_state`.
It is written through a temp file, fsync and rename, so a kill at any moment leaves either
the previous or the new complete file.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

from tunelab._json import json_default

STATE_FILE = "experiment_state.json"
STATE_VERSION = 1


def write_json_atomic(path: str, data: Any) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    text = json.dumps(data, default=json_default)  # one-shot: the C encoder
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_state(experiment_path: str) -> dict[str, Any] | None:
    path = os.path.join(experiment_path, STATE_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        data: dict[str, Any] = json.load(fh)
    return data


class ExperimentStateWriter:
    """Writes the snapshot at most every ``period_s`` seconds when something changed.

    ``build()`` returns the JSON-safe document; the controller calls :meth:`mark_dirty`
    when a trial changes status and :meth:`maybe_write` from its loop.
    """

    def __init__(
        self,
        experiment_path: str,
        build: Callable[[], dict[str, Any]],
        *,
        period_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = os.path.join(experiment_path, STATE_FILE)
        self._build = build
        self._period = period_s
        self._clock = clock
        self._last = -float("inf")
        self._dirty = True

    def mark_dirty(self) -> None:
        self._dirty = True

    def maybe_write(self) -> None:
        if self._dirty and self._clock() - self._last >= self._period:
            self.write()

    def write(self) -> None:
        document = self._build()
        document.setdefault("version", STATE_VERSION)
        write_json_atomic(self.path, document)
        self._last = self._clock()
        self._dirty = False
