"""Trial records: the controller's view of one run of a trainable with one config.

A :class:`Trial` is plain data owned by the controller. Policies (searchers, schedulers,
stoppers), reporters and loggers read it; only the controller changes it. Everything that
must survive a restart round-trips through :meth:`Trial.to_state`/:meth:`Trial.from_state`
as JSON-safe data.
"""

from __future__ import annotations

import enum
import math
import os
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

from tunelab._resources import PlacementGroupFactory

__all__ = ["Trial", "TrialStatus"]


class TrialStatus(str, enum.Enum):
    """The states of the trial state machine.

    PENDING -> RUNNING -> (PAUSED -> PENDING/RUNNING)* -> TERMINATED | ERROR
    """

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    TERMINATED = "TERMINATED"
    ERROR = "ERROR"

    def is_finished(self) -> bool:
        return self in (TrialStatus.TERMINATED, TrialStatus.ERROR)

    def __str__(self) -> str:
        return self.value


#: auto-filled bookkeeping keys: no running statistics are kept for them (analysis reads
#: them from result.json when asked)
_NOT_TRACKED = frozenset(
    {
        "config",
        "time_this_iter_s",
        "timestamp",
        "pid",
        "iterations_since_restore",
        "time_since_restore",
        "done",
        "date",
        "trial_id",
        "hostname",
        "node_ip",
        "experiment_tag",
    }
)


class MetricStats(Mapping[str, float]):
    """Running statistics of one numeric metric of one trial (for analysis scopes).

    Also a read-only mapping with the keys of :meth:`as_dict` (``"max"``, ``"min"``,
    ``"avg"``, ``"last"``, ``"last-5-avg"``, ``"last-10-avg"``), so Ray Tune's
    ``trial.metric_analysis[metric]["last"]`` works.
    """

    __slots__ = ("count", "last", "max", "min", "recent", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.max = -math.inf
        self.min = math.inf
        self.last = math.nan
        self.recent: deque[float] = deque(maxlen=10)

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        if value > self.max:
            self.max = value
        if value < self.min:
            self.min = value
        self.last = value
        self.recent.append(value)

    def as_dict(self) -> dict[str, float]:
        recent = list(self.recent)
        last5 = recent[-5:]
        return {
            "max": self.max,
            "min": self.min,
            "avg": self.total / self.count if self.count else math.nan,
            "last": self.last,
            "last-5-avg": sum(last5) / len(last5) if last5 else math.nan,
            "last-10-avg": sum(recent) / len(recent) if recent else math.nan,
        }

    def __getitem__(self, key: str) -> float:
        return self.as_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(_STAT_KEYS)

    def __len__(self) -> int:
        return len(_STAT_KEYS)

    def __repr__(self) -> str:
        return f"MetricStats({self.as_dict()!r})"


_STAT_KEYS = ("max", "min", "avg", "last", "last-5-avg", "last-10-avg")


class Trial:
    """One trial: a trainable, a resolved config, a status, a directory and its results.

    Attributes users and plugins read:
      ``trial_id`` (str), ``trainable_name``, ``config`` (the resolved config),
      ``evaluated_params`` (the sampled values, flattened with "/"), ``experiment_tag``,
      ``status`` (:class:`TrialStatus`), ``local_path``/``logdir`` (the trial directory),
      ``last_result`` (dict, empty before the first result), ``resources``
      (:class:`PlacementGroupFactory`), ``num_failures``, ``error_file``, ``error_msg``,
      ``checkpoint`` (latest persisted checkpoint or None), ``location`` ("host:pid").

    The statuses are also class attributes, as in Ray Tune 0.x-1.x (``Trial.TERMINATED``,
    ``Trial.PENDING``, ``Trial.RUNNING``, ``Trial.PAUSED``, ``Trial.ERROR``): the
    :class:`TrialStatus` members, which compare equal to their names as strings.
    """

    PENDING = TrialStatus.PENDING
    RUNNING = TrialStatus.RUNNING
    PAUSED = TrialStatus.PAUSED
    TERMINATED = TrialStatus.TERMINATED
    ERROR = TrialStatus.ERROR

    def __init__(
        self,
        trainable_name: str,
        *,
        trial_id: str,
        config: dict[str, Any] | None = None,
        experiment_tag: str = "",
        evaluated_params: dict[str, Any] | None = None,
        resources: PlacementGroupFactory | None = None,
        stopping_criterion: dict[str, Any] | None = None,
        experiment_name: str = "",
        experiment_path: str = "",
        dirname: str = "",
        max_failures: int = 0,
        trial_name: str | None = None,
        experiment_index: int = 0,
    ) -> None:
        self.trainable_name = trainable_name
        self.trial_id = trial_id
        self.config: dict[str, Any] = dict(config or {})
        self.experiment_tag = experiment_tag
        self.evaluated_params: dict[str, Any] = dict(evaluated_params or {})
        self.resources = resources or PlacementGroupFactory([{"CPU": 1}])
        self.stopping_criterion: dict[str, Any] = dict(stopping_criterion or {})
        self.experiment_name = experiment_name
        self.experiment_path = experiment_path
        self.dirname = dirname
        self.max_failures = max_failures
        self.custom_trial_name = trial_name
        self.experiment_index = experiment_index
        self.status = TrialStatus.PENDING
        self.last_result: dict[str, Any] = {}
        self.metric_analysis: dict[str, MetricStats] = {}
        self.num_failures = 0
        self.error_file: str | None = None
        self.error_msg: str | None = None
        self.checkpoint: Any = None
        self.location = ""
        self.start_time: float | None = None
        #: iteration counters saved with ``checkpoint`` (iteration, time_total, ...)
        self.restore_state: dict[str, Any] | None = None
        #: retained checkpoints as [path, metrics] pairs, oldest first
        self.checkpoint_history: list[list[Any]] = []

    # -- names and paths ------------------------------------------------------------------
    def __str__(self) -> str:
        if self.custom_trial_name:
            return self.custom_trial_name
        return f"{self.trainable_name}_{self.trial_id}"

    def __repr__(self) -> str:
        return f"Trial({self}, {self.status.value})"

    @property
    def trial_name(self) -> str:
        return str(self)

    @property
    def local_path(self) -> str:
        return os.path.join(self.experiment_path, self.dirname) if self.dirname else ""

    @property
    def logdir(self) -> str:
        return self.local_path

    @property
    def path(self) -> str:
        return self.local_path

    @property
    def placement_group_factory(self) -> PlacementGroupFactory:
        return self.resources

    def is_finished(self) -> bool:
        return self.status.is_finished()

    def has_checkpoint(self) -> bool:
        """True when the trial has a checkpoint to restore from (Ray Tune 0.x-1.x)."""
        return self.checkpoint is not None

    # -- results --------------------------------------------------------------------------
    def update_last_result(self, result: dict[str, Any]) -> None:
        """Record ``result`` as the latest and fold its numeric top-level metrics in."""
        self.last_result = result
        stats = self.metric_analysis
        skip = _NOT_TRACKED
        for key, value in result.items():
            if key not in skip and type(value) in (int, float):
                entry = stats.get(key)
                if entry is None:
                    entry = stats[key] = MetricStats()
                entry.add(value)

    # -- persistence ----------------------------------------------------------------------
    def relative(self, path: str) -> str:
        """``path`` relative to the experiment directory (so experiments can move); a remote
        URI (a checkpoint a worker uploaded straight to storage) stays as it is."""
        if "://" in path or not self.experiment_path:
            return path
        return os.path.relpath(path, self.experiment_path)

    def to_state(self, *, safe: bool = True) -> dict[str, Any]:
        """A snapshot of everything needed to rebuild this record: JSON-safe, or with
        ``safe=False`` the raw values (faster, for an encoder with ``default=json_default``
        that falls back to the safe form when the raw one cannot be encoded)."""
        from tunelab._json import json_safe

        if not safe:

            def json_safe(value: Any) -> Any:
                return value

        return {
            "trial_id": self.trial_id,
            "trainable_name": self.trainable_name,
            "config": json_safe(self.config),
            "experiment_tag": self.experiment_tag,
            "evaluated_params": json_safe(self.evaluated_params),
            "resources": self.resources.to_state(),
            "stopping_criterion": json_safe(self.stopping_criterion),
            "experiment_name": self.experiment_name,
            "dirname": self.dirname,
            "max_failures": self.max_failures,
            "trial_name": self.custom_trial_name,
            "experiment_index": self.experiment_index,
            "status": self.status.value,
            "last_result": json_safe(self.last_result),
            "num_failures": self.num_failures,
            "error_file": self.error_file,
            "error_msg": self.error_msg,
            "location": self.location,
            "checkpoint": self.relative(path)
            if (path := _checkpoint_path(self.checkpoint))
            else None,
            "restore_state": json_safe(self.restore_state),
            "checkpoint_history": [
                [self.relative(p), json_safe(m)] for p, m in self.checkpoint_history
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], experiment_path: str) -> Trial:
        trial = cls(
            state["trainable_name"],
            trial_id=state["trial_id"],
            config=state.get("config"),
            experiment_tag=state.get("experiment_tag", ""),
            evaluated_params=state.get("evaluated_params"),
            resources=PlacementGroupFactory.from_state(state["resources"])
            if state.get("resources")
            else None,
            stopping_criterion=state.get("stopping_criterion"),
            experiment_name=state.get("experiment_name", ""),
            experiment_path=experiment_path,
            dirname=state.get("dirname", ""),
            max_failures=state.get("max_failures", 0),
            trial_name=state.get("trial_name"),
            experiment_index=state.get("experiment_index", 0),
        )
        trial.status = TrialStatus(state.get("status", "PENDING"))
        trial.num_failures = state.get("num_failures", 0)
        trial.error_file = state.get("error_file")
        trial.error_msg = state.get("error_msg")
        trial.location = state.get("location", "")
        last = state.get("last_result") or {}
        if last:
            trial.update_last_result(last)
        if state.get("checkpoint"):
            from tunelab._checkpoint import Checkpoint

            path = _absolute(experiment_path, state["checkpoint"])
            if "://" in path or os.path.isdir(path):
                trial.checkpoint = Checkpoint(path)
        trial.restore_state = state.get("restore_state")
        trial.checkpoint_history = [
            [_absolute(experiment_path, p), m] for p, m in state.get("checkpoint_history", [])
        ]
        return trial


def _absolute(experiment_path: str, path: str) -> str:
    return path if "://" in path else os.path.join(experiment_path, path)


def _checkpoint_path(checkpoint: Any) -> str | None:
    path = getattr(checkpoint, "path", None)
    return str(path) if path else None
