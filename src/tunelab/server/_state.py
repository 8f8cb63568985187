"""What the server shows: a thread-safe, JSON-ready store of trials and their results.

Two writers feed a :class:`ResultStore`, both from one thread of their own:

* :class:`ServerCallback`, a :class:`~tunelab.Callback` the controller calls on its loop
  thread (a live experiment);
* :class:`~tunelab.server._disk.DiskSource`, which re-reads an experiment directory
  (``tunelab dashboard``).

The HTTP server's threads only read it. Every method takes the store's lock for a few
dictionary operations; nothing is serialised under the lock. Values stored are never mutated
afterwards (they are replaced), so readers can encode them after releasing the lock.

Per result the cost is one pass over the result's top-level keys (to pick its numeric
metrics), one shallow copy and a few appends: microseconds.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from tunelab._callback import Callback
from tunelab.server._values import History, json_ready, numeric_metrics

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = ["ResultStore", "ServerCallback"]


class _Record:
    """One trial as the server shows it. Fields are replaced, never mutated in place."""

    __slots__ = (
        "config",
        "error",
        "experiment",
        "history",
        "iterations",
        "logdir",
        "metrics",
        "name",
        "num_failures",
        "params",
        "result",
        "status",
        "tag",
        "time_total_s",
        "trainable_name",
        "trial_id",
        "updated",
    )

    def __init__(self, trial_id: str, history_size: int) -> None:
        self.trial_id = trial_id
        self.name = trial_id
        self.trainable_name = ""
        self.experiment = ""
        self.status = "PENDING"
        self.config: Any = {}
        self.params: Any = {}
        self.tag = ""
        self.error: str | None = None
        self.num_failures = 0
        self.logdir = ""
        self.result: dict[str, Any] = {}
        self.metrics: dict[str, float] = {}
        self.iterations: Any = 0
        self.time_total_s: Any = 0.0
        self.updated = 0
        self.history = History(history_size)

    def info(self) -> dict[str, Any]:
        # the reference's keys ("id", "trainable_name", "config", "status", "result") plus
        # what the dashboard shows; JSON objects, never pickles
        return {
            "id": self.trial_id,
            "trial_id": self.trial_id,
            "name": self.name,
            "trainable_name": self.trainable_name,
            "experiment": self.experiment,
            "status": self.status,
            "config": self.config,
            "params": self.params,
            "experiment_tag": self.tag,
            "result": self.result,
            "metrics": self.metrics,
            "iterations": self.iterations,
            "time_total_s": self.time_total_s,
            "error": self.error,
            "num_failures": self.num_failures,
            "logdir": self.logdir,
            "updated": self.updated,
        }


_TRIAL_FIELDS = frozenset(
    {
        "name",
        "trainable_name",
        "experiment",
        "status",
        "config",
        "params",
        "tag",
        "error",
        "num_failures",
        "logdir",
    }
)


class ResultStore:
    """Trials, their latest results and bounded result histories, behind one lock.

    ``seq`` is a counter bumped by every change; readers ask for what changed since the
    ``seq`` they saw last (:meth:`changes_since`).

    Args:
        name: The experiment's name (``GET /experiment``).
        metric: The experiment's metric, or None.
        mode: ``"min"``, ``"max"`` or None.
        controllable: Whether the server can stop and add trials (a live experiment);
            shown to the dashboard, which disables its stop buttons otherwise.
        history_size: The most points kept per trial (>= 2); past it, every other point is
            dropped and later results are kept at a wider stride.
        buffer_size: The most recent results kept for :meth:`changes_since` (>= 2); a reader
            further behind gets every trial's kept history again (``reset``).

    Raises:
        ValueError: ``history_size`` or ``buffer_size`` is not an int >= 2, or ``mode`` is
            not ``"min"``, ``"max"`` or None.
    """

    def __init__(
        self,
        *,
        name: str = "",
        metric: str | None = None,
        mode: str | None = None,
        controllable: bool = False,
        history_size: int = 1000,
        buffer_size: int = 20000,
    ) -> None:
        for arg, value in (("history_size", history_size), ("buffer_size", buffer_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ValueError(f"{arg} must be an int >= 2, got {value!r}")
        if mode is not None and mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min', 'max' or None, got {mode!r}")
        self._lock = threading.Lock()
        self._records: dict[str, _Record] = {}
        self._seq = 0
        self._dropped = 0  # seq of the newest result evicted from the buffer
        self._history_size = history_size
        self._buffer: deque[tuple[int, str, dict[str, float]]] = deque(maxlen=buffer_size)
        self._meta: dict[str, Any] = {
            "name": name,
            "metric": metric,
            "mode": mode,
            "controllable": controllable,
            "finished": False,
            "start_time": time.time(),
            "experiments": [name] if name else [],
        }
        #: set once the experiment has ended (the controller's loop no longer runs commands)
        self.finished = threading.Event()

    # -- writers (one thread: the controller's loop or the disk reader) ------------------------
    def upsert_trial(self, trial_id: str, **fields: Any) -> None:
        """Create or update the trial ``trial_id`` with ``fields`` (``name``, ``status``,
        ``config``, ``params``, ``trainable_name``, ``experiment``, ``tag``, ``error``,
        ``num_failures``, ``logdir``). Values must already be JSON-safe."""
        unknown = set(fields) - _TRIAL_FIELDS
        if unknown:
            raise TypeError(f"upsert_trial: unknown fields {sorted(unknown)}")
        with self._lock:
            record = self._records.get(trial_id)
            if record is None:
                record = self._records[trial_id] = _Record(trial_id, self._history_size)
            for key, value in fields.items():
                setattr(record, key, value)
            self._seq += 1
            record.updated = self._seq

    def add_result(self, trial_id: str, result: dict[str, Any]) -> bool:
        """Record one result of ``trial_id`` (False when the trial is unknown)."""
        metrics = numeric_metrics(result)
        copy = {k: v for k, v in result.items() if k != "config"}
        iterations = result.get("training_iteration", 0)
        elapsed = result.get("time_total_s", 0.0)
        with self._lock:
            record = self._records.get(trial_id)
            if record is None:
                return False
            self._seq += 1
            seq = self._seq
            record.result = copy
            record.metrics = metrics
            record.iterations = iterations
            record.time_total_s = elapsed
            record.updated = seq
            record.history.add(metrics)
            buffer = self._buffer
            if len(buffer) == buffer.maxlen:
                self._dropped = buffer[0][0]
            buffer.append((seq, trial_id, metrics))
        return True

    def clear_results(self, trial_id: str) -> None:
        """Forget the results of ``trial_id`` (its log was rolled back and is read again)."""
        with self._lock:
            record = self._records.get(trial_id)
            if record is None:
                return
            record.history = History(self._history_size)
            record.result = {}
            record.metrics = {}
            record.iterations = 0
            record.time_total_s = 0.0
            self._seq += 1
            record.updated = self._seq
            # readers that saw older points of this trial must reload
            self._dropped = self._seq

    def set_meta(self, **meta: Any) -> None:
        with self._lock:
            self._meta.update(meta)
            self._seq += 1

    def set_finished(self) -> None:
        self.set_meta(finished=True)
        self.finished.set()

    # -- readers (any thread) ------------------------------------------------------------------
    @property
    def seq(self) -> int:
        with self._lock:
            return self._seq

    def meta(self) -> dict[str, Any]:
        with self._lock:
            meta = dict(self._meta)
            counts: dict[str, int] = {}
            for record in self._records.values():
                counts[record.status] = counts.get(record.status, 0) + 1
            meta["num_trials"] = len(self._records)
            meta["counts"] = counts
            meta["seq"] = self._seq
        return json_ready(meta)  # type: ignore[no-any-return]

    def has_trial(self, trial_id: str) -> bool:
        with self._lock:
            return trial_id in self._records

    def status_of(self, trial_id: str) -> str | None:
        with self._lock:
            record = self._records.get(trial_id)
            return None if record is None else record.status

    def trial_ids(self, status: str | None = None) -> list[str]:
        with self._lock:
            return [
                r.trial_id for r in self._records.values() if status is None or r.status == status
            ]

    def trials(self, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """JSON-ready infos of all trials (or of ``ids``, unknown ones skipped)."""
        with self._lock:
            if ids is None:
                infos = [r.info() for r in self._records.values()]
            else:
                infos = [r.info() for i in ids if (r := self._records.get(i)) is not None]
        return [json_ready(info) for info in infos]

    def trial(self, trial_id: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._records.get(trial_id)
            info = None if record is None else record.info()
        return None if info is None else json_ready(info)  # type: ignore[no-any-return]

    def history(self, trial_id: str) -> list[dict[str, Any]] | None:
        """The kept result points of ``trial_id`` (numeric metrics), oldest first."""
        with self._lock:
            record = self._records.get(trial_id)
            points = None if record is None else record.history.snapshot()
        return None if points is None else json_ready(points)  # type: ignore[no-any-return]

    def changes_since(self, since: int, max_results: int = 5000) -> dict[str, Any]:
        """What changed after ``since``: ``{"seq", "reset", "more", "trials", "results"}``.

        ``results`` are ``{"seq", "trial_id", "metrics"}`` in order; ``trials`` the infos of
        trials changed after ``since``. ``reset`` is true when results the reader has not
        seen were evicted (or rolled back): ``results`` then holds every trial's kept history
        and the reader should rebuild its curves. ``more`` is true when only the first
        ``max_results`` new results were returned; ask again from the returned ``seq``.
        """
        with self._lock:
            seq = self._seq
            reset = since < self._dropped or since > seq
            more = False
            results: list[tuple[int, str, dict[str, float]]] = []
            if reset:
                for record in self._records.values():
                    results.extend((0, record.trial_id, p) for p in record.history.snapshot())
                changed = [r.info() for r in self._records.values()]
            else:
                for entry in reversed(self._buffer):
                    if entry[0] <= since:
                        break
                    results.append(entry)
                results.reverse()
                if len(results) > max_results:
                    results = results[:max_results]
                    seq = results[-1][0]
                    more = True
                changed = [r.info() for r in self._records.values() if r.updated > since]
        return {
            "seq": seq,
            "reset": reset,
            "more": more,
            "trials": json_ready(changed),
            "results": [{"seq": s, "trial_id": t, "metrics": json_ready(m)} for s, t, m in results],
        }


def _trial_fields(trial: Trial) -> dict[str, Any]:
    from tunelab._json import json_safe

    return {
        "name": str(trial),
        "trainable_name": trial.trainable_name,
        "experiment": trial.experiment_name,
        "status": trial.status.value,
        "config": json_safe(trial.config),
        "params": json_safe(trial.evaluated_params),
        "tag": trial.experiment_tag,
        "error": trial.error_msg,
        "num_failures": trial.num_failures,
        "logdir": trial.local_path,
    }


class ServerCallback(Callback):
    """Keeps a :class:`ResultStore` up to date from the controller's loop thread.

    Trial records are refreshed on start, restore, completion, errors and recoveries; every
    result is added to the trial's history. Status changes that have no hook (a trial
    added by a command, a pause) are picked up by a cheap scan in ``on_step_end``: new trials
    at once, statuses at most every ``scan_period_s`` seconds of ``clock``.

    Args:
        store: The store to feed; None makes a controllable one from ``metric``, ``mode``
            and ``name``.
        metric: The experiment's metric (for a new store).
        mode: ``"min"``, ``"max"`` or None (for a new store).
        name: The experiment's name (for a new store).
        scan_period_s: Seconds between status scans (>= 0).
        clock: The clock the scan period is measured with.

    Raises:
        TypeError: ``scan_period_s`` is not a number.
        ValueError: ``scan_period_s`` is negative.
    """

    def __init__(
        self,
        store: ResultStore | None = None,
        *,
        metric: str | None = None,
        mode: str | None = None,
        name: str = "",
        scan_period_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(scan_period_s, bool) or not isinstance(scan_period_s, (int, float)):
            raise TypeError(f"scan_period_s must be a number of seconds, got {scan_period_s!r}")
        if scan_period_s < 0:
            raise ValueError(f"scan_period_s must be >= 0, got {scan_period_s!r}")
        self.store = store or ResultStore(name=name, metric=metric, mode=mode, controllable=True)
        self._scan_period = float(scan_period_s)
        self._clock = clock
        self._last_scan = -math.inf
        self._known = 0
        self._statuses: dict[str, str] = {}

    def sync(self, trial: Trial) -> None:
        """Copy ``trial``'s record into the store (call on the controller's thread)."""
        fields = _trial_fields(trial)
        self._statuses[trial.trial_id] = fields["status"]
        self.store.upsert_trial(trial.trial_id, **fields)

    def sync_all(self, trials: list[Trial]) -> None:
        """Add new trials and refresh changed statuses (call on the controller's thread)."""
        statuses = self._statuses
        for trial in trials:
            if statuses.get(trial.trial_id) != trial.status.value:
                self.sync(trial)
        self._known = len(trials)
        self._last_scan = self._clock()

    # -- hooks ---------------------------------------------------------------------------------
    def setup(
        self,
        stop: Any = None,
        num_samples: int | None = None,
        total_num_samples: int | None = None,
        **info: Any,
    ) -> None:
        self.store.set_meta(total_samples=total_num_samples or None)

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.sync(trial)

    def on_trial_restore(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.sync(trial)

    def on_trial_result(
        self,
        iteration: int,
        trials: list[Trial],
        trial: Trial,
        result: dict[str, Any],
        **info: Any,
    ) -> None:
        if not self.store.add_result(trial.trial_id, result):
            self.sync(trial)
            self.store.add_result(trial.trial_id, result)

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.sync(trial)

    def on_trial_recover(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.sync(trial)

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.sync(trial)

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        known = self._known
        if len(trials) != known:
            for trial in trials[known:]:
                if trial.trial_id not in self._statuses:
                    self.sync(trial)
            self._known = len(trials)
        if self._clock() - self._last_scan >= self._scan_period:
            self.sync_all(trials)

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        self.sync_all(trials)
        self.store.set_finished()
