"""Experiment state on disk: a compacted snapshot plus an append-only journal.

* ``experiment_state.json``: the whole state (settings, every trial's
  :meth:`Trial.to_state`, policy states), written atomically (temp file, fsync, rename)
  every ``period_s`` seconds when something changed, and at the end.
* ``experiment_state.journal``: one JSON line ``{"seq": n, "trial": {...}}`` appended (and
  flushed) each time a trial changes status or checkpoint. Its cost follows what changed,
  not the number of trials. The snapshot records the last ``seq`` it includes
  (``journal_seq``); it then starts a fresh journal.

A kill at any moment leaves a snapshot plus a journal tail; :func:`load_state` merges
them (journal entries newer than the snapshot win; a torn last line is ignored).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import IO, Any

from tunelab._json import json_default

STATE_FILE = "experiment_state.json"
JOURNAL_FILE = "experiment_state.journal"
STATE_VERSION = 1


def write_json_atomic(path: str, data: Any, *, text: str | None = None) -> None:
    if text is None:
        text = json.dumps(data, default=json_default)  # one-shot: the C encoder
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_bytes_atomic(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_state(experiment_path: str) -> dict[str, Any] | None:
    """The experiment state (snapshot + journal tail), or None when there is none."""
    path = os.path.join(experiment_path, STATE_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        data: dict[str, Any] = json.load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path!r} is not a tunelab experiment state file")
    seen = int(data.get("journal_seq", 0))
    journal = os.path.join(experiment_path, JOURNAL_FILE)
    if os.path.exists(journal):
        trials = data.setdefault("trials", [])
        index = {t["trial_id"]: i for i, t in enumerate(trials)}
        with open(journal) as fh:
            for line in fh:
                try:
                    entry = json.loads(line)
                except ValueError:  # torn last line of a killed run
                    break
                if entry.get("seq", 0) <= seen:
                    continue
                if "search_alg" in entry:
                    data["search_alg"] = entry["search_alg"]
                state = entry["trial"]
                position = index.get(state["trial_id"])
                if position is None:
                    index[state["trial_id"]] = len(trials)
                    trials.append(state)
                else:
                    trials[position] = state
    return data


# kept for callers of the first version
read_state = load_state


class ExperimentStateWriter:
    """Writes the journal on every change and the snapshot at most every ``period_s``."""

    def __init__(
        self,
        experiment_path: str,
        build: Callable[..., dict[str, Any]],
        *,
        period_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = os.path.join(experiment_path, STATE_FILE)
        self.journal_path = os.path.join(experiment_path, JOURNAL_FILE)
        self._build = build
        self._period = period_s
        self._clock = clock
        self._last = -float("inf")
        self._dirty = True
        self._seq = 0
        self._journal: IO[str] | None = None
        self._last_duration = 0.0

    def start(self, seq: int = 0) -> None:
        """Continue numbering after ``seq`` (resume) and write the first snapshot."""
        self._seq = seq
        self.write()

    def record_trial(self, trial: Any, search_state: Any = None) -> None:
        """Journal ``trial`` (a :class:`Trial`): the raw state when plain JSON holds it
        (the common case, encoded once by the C encoder), else its JSON-safe state."""
        try:
            self.record(trial.to_state(safe=False), search_state, strict=True)
        except (TypeError, ValueError):
            self.record(trial.to_state(), search_state)

    def record(
        self, trial_state: dict[str, Any], search_state: Any = None, *, strict: bool = False
    ) -> None:
        """Append one trial's new state to the journal (handed to the OS at the next
        :meth:`flush`), with the search algorithm's state when the trial is new (so a resume
        does not create it again). ``strict``: raise instead of stringifying odd values."""
        entry: dict[str, Any] = {"seq": self._seq + 1, "trial": trial_state}
        if search_state is not None:
            entry["search_alg"] = search_state
        line = json.dumps(entry) if strict else json.dumps(entry, default=json_default)
        if self._journal is None:
            self._journal = open(self.journal_path, "a")  # noqa: SIM115
        self._seq += 1
        self._journal.write(line + "\n")
        self._dirty = True

    def flush(self) -> None:
        """Hand buffered journal lines to the OS (the controller calls it once per loop
        step, before it acts on anything, as the loggers do)."""
        if self._journal is not None:
            self._journal.flush()

    def mark_dirty(self) -> None:
        self._dirty = True

    def maybe_write(self) -> None:
        self.flush()
        # a snapshot costs O(trials): space them so that they take at most ~2% of the time
        period = max(self._period, 50 * self._last_duration)
        if self._dirty and self._clock() - self._last >= period:
            self.write()

    def write(self) -> None:
        started = time.perf_counter()
        text = None
        try:  # raw trial states encoded once by the C encoder (the common case) ...
            document = self._build(safe=False)
            document.setdefault("version", STATE_VERSION)
            document["journal_seq"] = self._seq
            text = json.dumps(document)
        except (TypeError, ValueError):  # ... else the JSON-safe form
            document = self._build()
            document.setdefault("version", STATE_VERSION)
            document["journal_seq"] = self._seq
        write_json_atomic(self.path, document, text=text)
        # the snapshot holds everything up to seq: start a fresh journal
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        with open(self.journal_path, "w"):
            pass
        self._last = self._clock()
        self._dirty = False
        self._last_duration = time.perf_counter() - started

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
