"""Experiment state on disk: a compacted snapshot plus an append-only journal.

* ``experiment_state.json``: the whole state (settings, every trial's
  :meth:`Trial.to_state`, policy states), written atomically (temp file, fsync, rename)
  every ``period_s`` seconds of the run's clock when something changed (and at least 50
  times its own duration of wall-clock time after the last one), and at the end.
* ``experiment_state.journal``: one JSON line appended (and flushed) each time a trial
  changes status or checkpoint: ``{"seq": n, "trial": {...}}`` with its whole state the
  first time, then ``{"seq": n, "update": {...}}`` with only what changes while a trial
  runs (:meth:`Trial.run_state`) while the rest is as last written; after the trial lines
  of a loop step one ``{"seq": n, "policies": true, ...}`` line with the search algorithm's and
  the scheduler's states (as deltas) when they changed. Its cost follows what changed,
  not the number of trials: a policy that reports its own changes
  (``get_state_changes``, as ASHA does) is asked for them; another one's state is taken
  and compared with the last one journaled. The snapshot records the last ``seq`` it
  includes (``journal_seq``); it then starts a fresh journal.

A kill at any moment leaves a snapshot plus a journal tail; :func:`load_state` merges
them (journal entries newer than the snapshot win; a torn last line is ignored).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

from tunelab._errors import (
    CorruptFileError,
    json_problem,
    raise_storage_error,
    write_fd_fully,
    write_fully,
    writing,
)
from tunelab._json import json_default, make_encoder, paused_gc, safely_equal
from tunelab._persistence.state_delta import apply as _apply_ops
from tunelab._persistence.state_delta import diff as _diff_states
from tunelab._trial import with_state_defaults

STATE_FILE = "experiment_state.json"
JOURNAL_FILE = "experiment_state.journal"
#: 2: the journal may hold "update" lines (an older tunelab would skip them)
STATE_VERSION = 2
#: the policies whose states the journal carries (as deltas): key -> its delta's base key
POLICY_STATES = {"search_alg": "search_base", "scheduler": "scheduler_base"}

logger = logging.getLogger("tunelab")


def write_bytes_atomic(path: str, data: bytes, *, what: str = "a file", fsync: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically: a temp file beside it (fsynced unless
    ``fsync`` is False), then a rename. On any failure the temp file is removed and ``path``
    keeps its old content; a storage failure (disk full, I/O error) raises a one-line
    :class:`~tunelab._errors.StorageError` naming ``what`` and ``path``."""
    write_chunks_atomic(path, (data,), what=what, fsync=fsync)


def write_chunks_atomic(
    path: str, chunks: Iterable[bytes], *, what: str = "a file", fsync: bool = True
) -> None:
    """:func:`write_bytes_atomic` of the bytes ``chunks`` yields, written as they come (an
    error raised while making them also leaves ``path`` as it was)."""
    # an unpredictable name, created here (never through a symlink planted beside it)
    tmp = f"{path}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        with open(os.open(tmp, flags, 0o644), "wb", buffering=0) as fh:
            for data in chunks:
                write_fully(fh, data)
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise_storage_error(exc, what, path)


def write_bytes_new_or_atomic(path: str, data: bytes, *, what: str = "a file") -> None:
    """``data`` into ``path``: written in place when ``path`` does not exist yet (created
    exclusively, never through a symlink; there is nothing to keep whole, and it saves the
    temp file and the rename), else replaced atomically (:func:`write_bytes_atomic`, no
    fsync). A failed write removes the new file. Only for files that are written again
    when a run killed mid-write resumes (a trial's ``params.json``: its trial restarts)."""
    # plain descriptor calls (a file object and two context managers cost more than the
    # writes: this runs twice per trial start)
    try:
        fd = os.open(path, _NEW_FILE, 0o644)
    except FileExistsError:
        write_bytes_atomic(path, data, what=what, fsync=False)
        return
    except OSError as exc:
        raise_storage_error(exc, what, path)
    try:
        try:
            write_fd_fully(fd, data)
        finally:
            os.close(fd)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise_storage_error(exc, what, path)


#: how :func:`write_bytes_new_or_atomic` creates a file: exclusively, never through a symlink
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


#: trials encoded per write of a snapshot (about 1 KB each)
_SNAPSHOT_BATCH = 256


def _snapshot_chunks(head: str, trials: Iterable[Any]) -> Iterator[bytes]:
    """The snapshot's bytes: ``head`` (the document without its trials, as JSON) with
    ``"trials": [...]`` added, the trials encoded a batch at a time."""
    start = '{"trials": [' if head == "{}" else head[:-1] + ', "trials": ['
    batch: list[str] = [start]
    first = True
    for trial in trials:
        text = _trial_text(trial)
        batch.append(text if first else ", " + text)
        first = False
        if len(batch) >= _SNAPSHOT_BATCH:
            yield "".join(batch).encode("utf-8")
            batch.clear()
    batch.append("]}")
    yield "".join(batch).encode("utf-8")


def _trial_text(trial: Any) -> str:
    """One trial of a snapshot as JSON: a Trial's raw sparse state when plain JSON holds it
    (the C encoder, once), else its JSON-safe one; or a state given as it is."""
    if isinstance(trial, dict):
        return json.dumps(trial, default=json_default)
    try:
        return json.dumps(trial.to_state(safe=False, sparse=True))
    except (TypeError, ValueError):
        return json.dumps(trial.to_state(sparse=True), default=json_default)


def write_json_atomic(
    path: str, data: Any, *, text: str | None = None, what: str = "a file", fsync: bool = True
) -> None:
    """:func:`write_bytes_atomic` of ``data`` as JSON (or of ``text``, its encoding)."""
    if text is None:
        text = json.dumps(data, default=json_default)  # one-shot: the C encoder
    write_bytes_atomic(path, text.encode("utf-8"), what=what, fsync=fsync)


def _read_snapshot(path: str) -> dict[str, Any]:
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        line, problem = json_problem(exc)
        raise CorruptFileError.at(
            path,
            line,
            f"{problem}; the experiment state is damaged: restore it from a backup, or move it "
            "away (a resume then starts the experiment over; ExperimentAnalysis reads the "
            "trial directories without it)",
        ) from None
    if not isinstance(data, dict):
        raise CorruptFileError.at(
            path, None, f"not a tunelab experiment state file (a JSON {_kind(data)}, not an object)"
        )
    trials = data.get("trials", [])
    if not isinstance(trials, list):
        raise CorruptFileError.at(
            path,
            None,
            f'not a tunelab experiment state file ("trials" is a {_kind(trials)}, not a list)',
        )
    for position, entry in enumerate(trials):
        if not isinstance(entry, dict) or not isinstance(entry.get("trial_id"), str):
            raise CorruptFileError.at(
                path,
                None,
                f'not a tunelab experiment state file (entry {position} of "trials" is not a '
                "trial state with a trial_id)",
            )
    return data


def _kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(value), "number" if isinstance(value, (int, float)) else "null"
    )


#: the journal entries about one trial: its whole state, the part that changed, a checkpoint
TRIAL_ENTRIES = ("trial", "update", "checkpoint")


def _is_entry(entry: Any) -> bool:
    """A trial's new state (``{"seq", "trial": {...}}``), the part of it that changes while
    it runs (``{"seq", "update": {"trial_id", "status", ...}}``), a checkpoint it registered
    (``{"seq", "checkpoint": {"trial_id", "path", ...}}``) or the policies' states after
    a loop step (``{"seq", "policies": true, "search_alg_delta": ..., ...}``)."""
    if not isinstance(entry, dict):
        return False
    if entry.get("policies") is True:
        return isinstance(entry.get("seq"), int)
    for key in TRIAL_ENTRIES:
        if key in entry:
            body = entry[key]
            return isinstance(body, dict) and isinstance(body.get("trial_id"), str)
    return False


def _apply_checkpoint(state: dict[str, Any], record: dict[str, Any]) -> None:
    """Make the checkpoint journaled in ``record`` the newest of the trial ``state``."""
    path = record.get("path")
    if not isinstance(path, str) or not path:
        return
    dropped = set(record.get("dropped") or ())
    history = [
        entry
        for entry in state.get("checkpoint_history") or []
        if isinstance(entry, list) and entry and entry[0] not in dropped and entry[0] != path
    ]
    history.append([path, record.get("metrics") or {}])
    state["checkpoint_history"] = history
    state["checkpoint"] = path
    if record.get("state") is not None:
        state["restore_state"] = record["state"]


def _journal_entries(path: str) -> list[dict[str, Any]]:
    """The journal's entries. A torn last line (a kill mid-write) is ignored; a damaged line
    elsewhere is skipped with a warning naming the file and the line.

    Skipping keeps the most: a trial's first entry holds its whole state and its updates
    hold all that changes while it runs, so the entries after a damaged one still apply,
    and a trial whose newest entry is lost resumes from the state an earlier entry (or the
    snapshot) gives it, as after a kill just before that entry (a trial whose first entry
    is lost is lost: its updates are skipped with a warning); refusing would leave the
    whole experiment unresumable."""
    with open(path, "rb") as fh:
        data = fh.read()
    end = data.rfind(b"\n") + 1
    if data[end:].strip():  # after the last newline: nothing unless the last line is torn
        logger.debug("tunelab: ignoring the incomplete last line of %s", path)
    entries = _whole_journal(data, end)
    if entries is not None:
        return entries
    entries = []
    lines = data[:end].split(b"\n")
    lines.pop()
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
        except ValueError as exc:
            problem = json_problem(exc)[1]
        else:
            if _is_entry(entry):
                entries.append(entry)
                continue
            problem = "not a journal entry"
        logger.warning(
            "tunelab: %s, line %d: %s; skipping it (the state it held is lost, the lines after "
            "it are used)",
            path,
            number,
            problem,
        )
    return entries


def _whole_journal(data: bytes, end: int) -> list[dict[str, Any]] | None:
    """The entries of the complete lines ``data[:end]`` parsed as one JSON array (one call
    of the C parser instead of one per line, a third less time); None when a line is not
    one entry: each line is then read on its own, to skip the damaged ones."""
    count = data.count(b"\n", 0, end)
    if not count:
        return []
    array = bytearray(b"[")
    array += memoryview(data)[:end]
    array[-1] = ord("]")  # the last newline
    try:
        entries = json.loads(array.replace(b"\n", b","))
    except ValueError:
        return None
    if len(entries) != count or not all(map(_is_entry, entries)):
        return None
    return cast("list[dict[str, Any]]", entries)


def load_state(experiment_path: str) -> dict[str, Any] | None:
    """The experiment state (snapshot + journal tail), or None when there is none.

    A snapshot that is not a JSON object with a list of trial states raises
    :class:`~tunelab._errors.CorruptFileError` (a ``ValueError``) naming the file and the
    line; damaged journal lines are skipped with a warning (see :func:`_journal_entries`)."""
    path = os.path.join(experiment_path, STATE_FILE)
    if not os.path.exists(path):
        return None
    with paused_gc():  # millions of acyclic objects: see paused_gc
        data = _load_state(experiment_path, path)
        for trial in data.get("trials", []):  # the fields sparse states leave out
            with_state_defaults(trial)
        return data


def _load_state(experiment_path: str, path: str) -> dict[str, Any]:
    data = _read_snapshot(path)
    try:
        seen = int(data.get("journal_seq", 0) or 0)
    except (TypeError, ValueError):
        raise CorruptFileError.at(
            path, None, f"journal_seq is {data.get('journal_seq')!r}, not a number"
        ) from None
    journal = os.path.join(experiment_path, JOURNAL_FILE)
    if os.path.exists(journal):
        trials = data.setdefault("trials", [])
        index = {t["trial_id"]: i for i, t in enumerate(trials)}
        # for each policy, the entry whose state ``data`` holds (None: none to trust)
        held: dict[str, int | None] = dict.fromkeys(POLICY_STATES, seen)
        for entry in _journal_entries(journal):
            seq = entry.get("seq", 0)
            if isinstance(seq, (int, float)) and seq <= seen:
                continue
            if len(entry) > 2:  # more than seq and one body: policy states maybe
                for key in POLICY_STATES:
                    held[key] = _apply_policy_state(data, entry, key, held[key], journal)
            if entry.get("policies") is True:  # the policies' (and callbacks') states only
                if "callbacks" in entry:
                    data["callbacks"] = entry["callbacks"]
                continue
            if "update" in entry:  # what changed in a known trial
                update = entry["update"]
                position = index.get(update["trial_id"])
                if position is None:
                    logger.warning(
                        "tunelab: %s, entry %s: an update of trial %s, whose state was not "
                        "read (a damaged line before it); skipping it",
                        journal,
                        seq,
                        update["trial_id"],
                    )
                else:
                    trials[position].update(update)
                continue
            if "trial" not in entry:  # a checkpoint of a known trial
                record = entry["checkpoint"]
                position = index.get(record["trial_id"])
                if position is not None:
                    _apply_checkpoint(trials[position], record)
                continue
            state = entry["trial"]
            position = index.get(state["trial_id"])
            if position is None:
                index[state["trial_id"]] = len(trials)
                trials.append(state)
            else:
                trials[position] = state
    return data


#: earlier experiments of the same directory, kept when a new run starts there
ARCHIVE_PREFIX = "experiment_state-"


def archive_state(experiment_path: str) -> tuple[str, int] | None:
    """Keep the experiment of ``experiment_path`` that a new run (not a resume) is about to
    replace: its state (snapshot and journal, merged) moves to
    ``experiment_state-<date>.json`` beside it, where :class:`~tunelab.ExperimentAnalysis`
    and ``tunelab ls`` still find its trials. Returns (that file, its number of trials), or
    None when there is no state, or one without trials, to keep."""
    state = load_state(experiment_path)
    if state is None:
        return None
    trials = state.get("trials") or []
    if trials:
        stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
        target = os.path.join(experiment_path, f"{ARCHIVE_PREFIX}{stamp}.json")
        n = 1
        while os.path.exists(target):
            n += 1
            target = os.path.join(experiment_path, f"{ARCHIVE_PREFIX}{stamp}.{n}.json")
        write_json_atomic(target, state, what="the earlier experiment's state")
    for name in (STATE_FILE, JOURNAL_FILE):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(experiment_path, name))
    return (target, len(trials)) if trials else None


def archived_states(experiment_path: str) -> list[str]:
    """The states :func:`archive_state` kept in ``experiment_path``, oldest first."""
    try:
        names = os.listdir(experiment_path)
    except OSError:
        return []
    paths = [
        os.path.join(experiment_path, name)
        for name in names
        if name.startswith(ARCHIVE_PREFIX) and name.endswith(".json")
    ]
    return sorted(paths, key=lambda p: (os.path.getmtime(p), p))


def _apply_policy_state(
    data: dict[str, Any], entry: dict[str, Any], key: str, held: int | None, journal: str
) -> int | None:
    """Take the state of policy ``key`` from a journal ``entry``: whole (``key``) or as a
    delta (``<key>_delta``) to the state of entry ``POLICY_STATES[key]``. A delta whose base
    is not the state held (a damaged line between them) is skipped with a warning, as are
    the deltas after it, until the next whole state. Returns the seq of the state now held
    (None: none can be trusted until a whole one)."""
    seq = entry.get("seq")
    if key in entry:
        data[key] = entry[key]
        return seq if isinstance(seq, int) else None
    delta = f"{key}_delta"
    if delta not in entry:
        return held
    if held is None:
        return None
    try:
        base = entry.get(POLICY_STATES[key])
        if base != held:
            raise ValueError(
                f"it changes the state of entry {base!r}, but the state read is that of "
                f"entry {held!r}"
            )
        data[key] = _apply_ops(data.get(key), entry[delta], in_place=True)
    except (ValueError, TypeError, KeyError) as exc:
        logger.warning(
            "tunelab: %s, entry %s: the %s state cannot be rebuilt (%s); it resumes from an "
            "older state",
            journal,
            seq,
            "search algorithm's" if key == "search_alg" else "scheduler's",
            exc,
        )
        return None
    return seq if isinstance(seq, int) else None


# kept for callers of the first version
read_state = load_state


def _private_copy(value: Any) -> Any:
    """``value`` as the journal reads it back (a copy nobody else holds)."""
    return json.loads(json.dumps(value, default=json_default))


#: a policy state whose JSON is at most this long is journaled whole when it changes:
#: comparing and writing its encoding costs less than a delta (a counter, a seed, a small
#: searcher); a longer one (states that grow with the trials) goes as a delta
SMALL_STATE = 2048


class _Base:
    """A policy's state as last journaled (the base of the next delta), with the seq of
    its entry. ``text``: its JSON when it was small (compared with the next encoding;
    ``value`` is then decoded only when a delta is needed); None once it is large."""

    __slots__ = ("_value", "seq", "text")

    def __init__(self, seq: int, *, text: str | None = None, value: Any = None) -> None:
        self.seq = seq
        self.text = text
        self._value = value

    @classmethod
    def of(cls, text: str, seq: int) -> _Base:
        """The state whose JSON is ``text``, journaled in entry ``seq``."""
        if len(text) <= SMALL_STATE:
            return cls(seq, text=text)
        return cls(seq, value=json.loads(text))

    @property
    def value(self) -> Any:
        """A private decoded copy, as the journal's reader holds it."""
        if self._value is None and self.text is not None:
            self._value = json.loads(self.text)
        return self._value

    def advance(self, ops: list[Any], seq: int) -> None:
        """The state of entry ``seq``: this one changed by ``ops`` (the base is large
        from now on)."""
        self._value = _apply_ops(self.value, _private_copy(ops), in_place=True)
        self.text = None
        self.seq = seq


class _Marked:
    """The state of a policy that reports its own changes, as last journaled: the seq of
    its entry and the policy's mark of it (the next delta is what changed since)."""

    __slots__ = ("mark", "seq")

    def __init__(self, seq: int, mark: Any) -> None:
        self.seq = seq
        self.mark = mark


#: ``changes(key, since)``: None when policy ``key`` cannot report its changes, else
#: ``(mark, ops)`` as ``get_state_changes`` returns them (ops None: take the state whole)
ChangesFn = Callable[[str, Any], "tuple[Any, list[Any] | None] | None"]


class ExperimentStateWriter:
    """Writes the journal on every change and the snapshot at most every ``period_s`` (of
    ``clock``, the run's clock, maybe a simulated one) and at most ~2% of the wall-clock
    time (at least 50 times the last snapshot's duration apart).

    A failed write (disk full, I/O error) raises a one-line
    :class:`~tunelab._errors.StorageError`. The journal then writes nothing more (its last
    line may be torn, which :func:`load_state` ignores) until a snapshot succeeds; the
    snapshot is replaced atomically, so the state on disk is always one to resume from.
    """

    def __init__(
        self,
        experiment_path: str,
        build: Callable[..., dict[str, Any]],
        *,
        period_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        policy_state: Callable[[str, bool], Any] | None = None,
        policy_changes: ChangesFn | None = None,
    ) -> None:
        self.path = os.path.join(experiment_path, STATE_FILE)
        self.journal_path = os.path.join(experiment_path, JOURNAL_FILE)
        self._build = build
        self._period = period_s
        self._clock = clock
        self._last = -float("inf")
        self._last_wall = -float("inf")  # time.perf_counter() at the last snapshot
        self._dirty = True
        self._seq = 0
        self._lines: list[str] = []  # journal lines not yet handed to the OS
        self._journal: Any = None  # the journal, opened unbuffered on the first flush
        self._broken = False  # a journal write failed: append nothing after its torn tail
        self._last_duration = 0.0
        # per policy, the state last written (a private decoded copy, or the policy's mark
        # of it) and the seq of its entry (the snapshot's journal_seq): later ones are
        # journaled as deltas to it
        self._bases: dict[str, _Base | _Marked] = {}
        # ``policy_state(key, raw)``: the state of the search algorithm ("search_alg") or
        # the scheduler ("scheduler") now (raw as get_state returns it, else JSON-safe),
        # journaled once per flush after a change
        self._policy_state = policy_state
        # ``policy_changes(key, since)``: what changed in a policy since its mark ``since``
        # (see ChangesFn), asked instead of taking its whole state
        self._policy_changes = policy_changes
        self._policies_changed = False
        # json.dumps(default=json_default), and json.dumps for the policies' raw states
        # (their safe form when it fails), each set up once
        self._encode = make_encoder()
        self._encode_strict = make_encoder(None)
        # trial id -> [Trial.fixed_key() at its last line, the bytes of its last whole line
        # and of its last update line, whether every line since its whole one left out a new
        # trial's run values], for the trials not finished then: their next line is an
        # update when the key is the same (sparse when that last flag is set), and makes
        # those bytes superseded
        self._fixed: dict[str, list[Any]] = {}
        # the journal since the last snapshot: its bytes, the bytes of them that later lines
        # superseded, its lines, its lines with a trial's whole state; and the bytes of its
        # last policies line, which the next one supersedes
        self._bytes = 0
        self._superseded = 0
        self._snapshot_seq = 0
        self._whole_lines = 0
        self._last_policies = 0

    def start(self) -> None:
        """Write the first snapshot (on resume it holds everything the journal held, so the
        numbering of the new journal starts over)."""
        self._seq = 0
        self.write()

    def record_trial(
        self, trial: Any, search_state: Any = None, scheduler_state: Any = None
    ) -> None:
        """Journal ``trial`` (a :class:`Trial`): its whole state the first time, then an
        update line with what changes while it runs (:meth:`Trial.run_state`) as long as
        the rest is as last written (:meth:`Trial.fixed_key`); the raw values when plain
        JSON holds them (the common case, encoded once by the C encoder), else JSON-safe
        ones. States are sparse (the values a new trial has are left out, see
        :meth:`Trial.to_state`); an update leaves out the failures, errors and
        checkpoints only while every line of the trial since its whole one had a new
        trial's values for them (so a reader that skipped a damaged line between them
        still has the right ones)."""
        key = trial.fixed_key()
        trial_id = trial.trial_id
        last = self._fixed.get(trial_id)
        update = last is not None and safely_equal(last[0], key)
        sparse = last is None or not update or bool(last[3])
        name, state = ("update", trial.run_state) if update else ("trial", trial.to_state)
        states = (
            None
            if search_state is None and scheduler_state is None
            else {"search_alg": search_state, "scheduler": scheduler_state}
        )
        try:
            body = state(safe=False, sparse=sparse)
            size = self._append_body(name, body, states)
        except (TypeError, ValueError, RecursionError):
            body = state(sparse=sparse)
            size = self._append_body(name, body, states)
        plain = sparse and "num_failures" not in body  # a new trial's values left out
        if last is not None:  # what this line supersedes
            self._superseded += last[2] if update else last[1] + last[2]
        if not update:
            self._whole_lines += 1
        if trial.is_finished():  # no line after this one is expected: forget the trial
            self._fixed.pop(trial_id, None)
        elif last is not None and update:
            last[2] = size
            last[3] = plain
        else:
            self._fixed[trial_id] = [key, size, 0, plain]

    def _append_body(self, name: str, body: Any, states: dict[str, Any] | None) -> int:
        """Journal ``body`` as entry kind ``name``, with the policies' ``states`` when given
        (see :meth:`_append_entry`); without them (the controller's case: it journals the
        policies once per flush) the entry is encoded as it is. Returns the line's length."""
        if states is None:
            return self._append(self._encode({"seq": self._seq + 1, name: body}))
        return self._append_entry({name: body}, states)

    def policies_changed(self) -> None:
        """The policies' states may have changed with a trial just journaled: the next
        :meth:`flush` journals them once, in a line after the step's trial lines and in the
        same write (taking and diffing them costs O(their size), which grows with the
        trials; once per loop step instead of with every trial line)."""
        self._policies_changed = True

    def _states(self, raw: bool, keys: list[str]) -> dict[str, Any]:
        """The states of the policies ``keys`` now (raw, or JSON-safe)."""
        state = self._policy_state
        assert state is not None
        return {key: state(key, raw) for key in keys}

    def _changes(self, key: str, since: Any) -> tuple[Any, list[Any] | None] | None:
        """What policy ``key`` reports changed since its mark ``since`` (see ChangesFn);
        None when it cannot tell (or fails to: its state is then taken whole)."""
        if self._policy_changes is None:
            return None
        try:
            return self._policy_changes(key, since)
        except Exception:
            logger.debug("tunelab: the %s changes could not be taken", key, exc_info=True)
            return None

    def _record_policies(self) -> None:
        if self._policy_state is None:
            return
        reported: dict[str, tuple[Any, list[Any]]] = {}  # key -> (its new mark, its ops)
        marks: dict[str, Any] = {}  # key -> the mark of the state taken whole
        taken: list[str] = []  # the policies whose states are taken
        for key in POLICY_STATES:
            base = self._bases.get(key)
            since = base.mark if isinstance(base, _Marked) else None
            changes = self._changes(key, since)
            if changes is not None and changes[1] is not None and since is not None:
                if changes[1]:
                    reported[key] = (changes[0], changes[1])
                continue
            if changes is not None:  # it cannot tell what changed (or has no mark yet):
                marks[key] = changes[0]  # its whole state, with its mark of it
            taken.append(key)
        if not taken and not reported:
            return
        try:
            states = self._states(True, taken)
            self._append_entry(
                {"policies": True}, states, strict=True, reported=reported, marks=marks
            )
        except (TypeError, ValueError, RecursionError):
            states = self._states(False, taken)
            self._append_entry({"policies": True}, states, reported=reported, marks=marks)

    def record(
        self,
        trial_state: dict[str, Any],
        search_state: Any = None,
        *,
        scheduler_state: Any = None,
    ) -> None:
        """Append one trial's new state to the journal (handed to the OS at the next
        :meth:`flush`), with the search algorithm's and the scheduler's states as they are
        after the change when given (so that a resume neither creates a trial again nor
        finds its policies behind the trials; a writer with ``policies`` journals them once
        per flush instead, see :meth:`policies_changed`). Policy states go as deltas to the
        last one written."""
        self._append_entry(
            {"trial": trial_state}, {"search_alg": search_state, "scheduler": scheduler_state}
        )

    def _append_entry(
        self,
        body: dict[str, Any],
        states: dict[str, Any],
        *,
        strict: bool = False,
        reported: dict[str, tuple[Any, list[Any]]] | None = None,
        marks: dict[str, Any] | None = None,
    ) -> int:
        """Journal ``body`` with the policies' ``states`` given (key -> state, None: not
        given): whole when small or when no base is known, else as deltas to the last one
        written; and the changes ``reported`` by policies (key -> (mark, ops), see
        :meth:`_record_policies`) as deltas. ``marks``: for the states given that a
        policy marked (key -> mark), the next delta is asked of the policy. Nothing for a
        policies line whose states did not change. Returns the line's length (0: none).
        Odd values are encoded as :func:`json_default` makes them (``strict``: they raise a
        ``TypeError``, as a key JSON cannot hold does, or a cycle a ``ValueError``; the
        journal is then as it was)."""
        encode = self._encode_strict if strict else self._encode
        seq = self._seq + 1
        entry: dict[str, Any] = {"seq": seq, **body}
        whole: list[tuple[str, str]] = []  # (key, its JSON): spliced into the line
        deltas: list[tuple[str, Any]] = []
        reported = reported or {}
        marks = marks or {}
        for key, (_, ops) in reported.items():
            entry[f"{key}_delta"] = ops
            entry[POLICY_STATES[key]] = self._bases[key].seq
        for key, state in states.items():
            if state is None:
                continue
            base = self._bases.get(key)
            if isinstance(base, _Marked) or key in marks:
                base = None  # a base known only to the policy: this state goes whole
            if base is None or base.text is not None:  # small so far: compare encodings
                text = encode(state)
                if base is not None and text == base.text:
                    continue
                if base is None or len(text) <= SMALL_STATE:
                    whole.append((key, text))
                    continue
            # a state that grows with the trials: what changed since the last one
            ops = _diff_states(base.value, state)
            if ops:
                entry[f"{key}_delta"] = ops
                entry[POLICY_STATES[key]] = base.seq
                deltas.append((key, ops))
        if "policies" in body and not whole and not deltas and not reported:
            return 0
        line = encode(entry)
        if whole:
            line = line[:-1] + "".join(f', "{key}": {text}' for key, text in whole) + "}"
        size = self._append(line)
        if "policies" in body:  # counted as superseded by the next policies line (what
            # a snapshot would compact: a whole state, or deltas that may each set a large
            # part anew, as a pickled sampler)
            self._superseded += self._last_policies
            self._last_policies = size
        for key, text in whole:
            mark = marks.get(key)
            self._bases[key] = _Base.of(text, seq) if mark is None else _Marked(seq, mark)
        for key, ops in deltas:
            base = self._bases[key]
            assert isinstance(base, _Base)
            base.advance(ops, seq)
        for key, (mark, _) in reported.items():
            self._bases[key] = _Marked(seq, mark)
        return size

    def record_checkpoint(
        self,
        trial_id: str,
        path: str,
        metrics: dict[str, Any],
        state: dict[str, Any] | None,
        dropped: list[str] | None = None,
    ) -> None:
        """Journal a checkpoint as soon as it is registered (``path`` relative to the
        experiment, its result ``metrics``, the ``state`` to restore, the checkpoints
        ``dropped`` from the trial's history), so that a run killed before the next snapshot
        resumes the trial from it. Costs one small line, whatever the trial's state holds."""
        record: dict[str, Any] = {"trial_id": trial_id, "path": path, "metrics": metrics}
        if state is not None:
            record["state"] = state
        if dropped:
            record["dropped"] = list(dropped)
        self._append(self._encode({"seq": self._seq + 1, "checkpoint": record}))

    def _append(self, line: str) -> int:
        """Buffer ``line``, the entry numbered ``seq + 1`` (handed to the OS by :meth:`flush`);
        returns its length."""
        self._seq += 1
        self._lines.append(line + "\n")
        self._dirty = True
        size = len(line) + 1
        self._bytes += size
        return size

    def record_callbacks(self, state: Any) -> None:
        """Journal the callbacks' states (``get_state``, JSON-safe; None: none to keep),
        which the snapshots carry, for a run that ends without one (see
        :meth:`journal_is_compact`)."""
        if state is not None:
            entry = {"seq": self._seq + 1, "policies": True, "callbacks": state}
            self._append(json.dumps(entry, default=json_default))

    def journal_is_compact(self) -> bool:
        """Whether the journal since the last snapshot is about as small as a snapshot of
        what it holds: every line made it to the OS, every trial it journaled finished
        since (a running trial's latest result is in the next snapshot only), at most half
        of its bytes superseded by later lines, at most 4 lines per trial it holds whole.
        Reading it back then costs about what reading that snapshot would, so a run may end
        without writing one (which costs O(trials) however few changed)."""
        lines = self._seq - self._snapshot_seq
        return (
            not self._broken
            and not self._lines
            and not self._fixed
            and 2 * self._superseded <= self._bytes
            and lines <= 4 * max(self._whole_lines, 1)
        )

    def flush(self) -> None:
        """Hand buffered journal lines to the OS (the controller calls it once per loop
        step, before it acts on anything, as the loggers do)."""
        if self._policies_changed:
            self._policies_changed = False
            self._record_policies()
        lines = self._lines
        if not lines:
            return
        data = "".join(lines).encode("utf-8", "backslashreplace")
        lines.clear()
        if self._broken:
            return  # the next snapshot holds these changes
        try:
            if self._journal is None:
                self._journal = open(self.journal_path, "ab", buffering=0)  # noqa: SIM115
            write_fully(self._journal, data)
        except BaseException as exc:
            self._broken = True
            self._close_journal()
            raise_storage_error(exc, "the experiment state journal", self.journal_path)

    def mark_dirty(self) -> None:
        self._dirty = True

    def maybe_write(self) -> None:
        self.flush()
        if not self._dirty or self._clock() - self._last < self._period:
            return
        # a snapshot costs O(trials): space them so that they take at most ~2% of the time,
        # of the wall-clock time whatever the run's clock (a simulated one runs far ahead of
        # it: 10 simulated seconds may pass in a few milliseconds)
        if time.perf_counter() - self._last_wall < 50 * self._last_duration:
            return
        self.write()

    def write(self) -> None:
        """Write the snapshot: the document ``build`` gives, its trials (Trial objects, or
        their states) encoded one by one as the file is written (a snapshot of N trials
        never holds N states or their whole text in memory at once), then start a fresh
        journal."""
        started = time.perf_counter()
        try:  # raw states encoded by the C encoder (the common case) ...
            document = self._build(safe=False)
            trials = document.pop("trials", [])
            head = self._head(document, strict=True)
        except (TypeError, ValueError):  # ... else the JSON-safe form
            document = self._build()
            trials = document.pop("trials", [])
            head = self._head(document, strict=False)
        write_chunks_atomic(self.path, _snapshot_chunks(head, trials), what="the experiment state")
        self._bases = {}
        for key in POLICY_STATES:
            if document.get(key) is None:
                continue
            # a policy that reports its changes: its mark of the state just written (the
            # document was built just now: nothing changed since)
            changes = self._changes(key, None)
            if changes is not None:
                self._bases[key] = _Marked(self._seq, changes[0])
            else:
                state = json.dumps(document[key], default=json_default)
                self._bases[key] = _Base.of(state, self._seq)
        # the snapshot holds everything up to seq (the policies' states too): start a
        # fresh journal
        self._lines.clear()
        self._policies_changed = False
        self._close_journal()
        with (
            writing("the experiment state journal", self.journal_path),
            open(self.journal_path, "wb"),
        ):
            pass
        self._broken = False
        self._last = self._clock()
        self._dirty = False
        self._bytes = self._superseded = self._whole_lines = 0
        self._snapshot_seq = self._seq
        self._last_policies = 0
        for known in self._fixed.values():  # their lines went with the old journal; the
            # next one of each is an update of the state in the snapshot, whole
            known[1] = known[2] = 0
            known[3] = False
        self._last_wall = time.perf_counter()
        self._last_duration = self._last_wall - started

    def _head(self, document: dict[str, Any], *, strict: bool) -> str:
        """The snapshot's ``document`` (without its trials) as JSON."""
        document.setdefault("version", STATE_VERSION)
        document["journal_seq"] = self._seq
        return json.dumps(document) if strict else json.dumps(document, default=json_default)

    def _close_journal(self) -> None:
        journal, self._journal = self._journal, None
        if journal is not None:
            with contextlib.suppress(OSError):
                journal.close()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._close_journal()

    def stop(self, *, write: bool) -> None:
        """Close after another part failed to write (never raises). ``write``: the logs are
        on disk, so flush the journal and write the snapshot if the disk lets us. Otherwise
        drop the unflushed journal lines: a state newer than the logs would make a resume
        skip the iterations whose results were lost; the state the last step left is one a
        resume reads as that of a run killed at that moment."""
        try:
            if write:
                for step in (self.flush, self.write):
                    try:
                        step()
                    except Exception:
                        logger.debug(
                            "tunelab: could not write the experiment state while stopping",
                            exc_info=True,
                        )
        finally:
            self._lines.clear()
            self._close_journal()
