"""Trial records: the controller's view of one run of a trainable with one config.

A :class:`Trial` is plain data owned by the controller. Policies (searchers, schedulers,
stoppers), reporters and loggers read it; only the controller changes it. Everything that
must survive a restart round-trips through :meth:`Trial.to_state`/:meth:`Trial.from_state`
as JSON-safe data.
"""

from __future__ import annotations

import enum
import functools
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from tunelab._metric_stats import MetricStats, RunningStats, settled, shared_number
from tunelab._resources import PlacementGroupFactory

__all__ = ["FrozenDict", "Trial", "TrialStatus", "TrialView"]


class TrialStatus(str, enum.Enum):
    """The status of a trial: ``trial.status``.

    A trial goes PENDING -> RUNNING -> (PAUSED -> PENDING/RUNNING)* -> TERMINATED or ERROR.
    The members are strings, so ``trial.status == "TERMINATED"`` works, and ``str()`` of a
    member is its value. They are also ``Trial``'s class attributes (``Trial.ERROR``), as
    in Ray Tune 0.x-1.x.

    Attributes:
        PENDING: Created, waiting for resources to start (or to start again).
        RUNNING: Running in a worker.
        PAUSED: Stopped by a scheduler (or by Ctrl+C) after saving a checkpoint; it
            continues from it when resumed.
        TERMINATED: Ended normally: the trainable returned, a stop criterion or the
            scheduler stopped it, or the experiment ended.
        ERROR: Failed, with no retries left (``max_failures``); ``trial.error_file``
            holds the traceback.
    """

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    TERMINATED = "TERMINATED"
    ERROR = "ERROR"

    def is_finished(self) -> bool:
        """True for TERMINATED and ERROR: the trial will not run again (unless resumed)."""
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


class Trial:
    """One trial: a trainable run with one resolved config, its status and its results.

    The controller creates and updates trials; everything else reads them: callbacks,
    schedulers, searchers, stoppers, progress reporters, ``trial_name_creator`` functions,
    and the code that inspects ``tune.run(..., return_trials=True)``,
    ``run_experiments(...)``, ``ExperimentAnalysis.trials`` or ``TuneError.trials``. Treat
    a trial as read-only (schedulers receive a :class:`TrialView`, which enforces it).
    ``str(trial)`` is its name.

    The statuses are also class attributes, as in Ray Tune 0.x-1.x (``Trial.TERMINATED``,
    ``Trial.PENDING``, ``Trial.RUNNING``, ``Trial.PAUSED``, ``Trial.ERROR``): the
    :class:`TrialStatus` members, which compare equal to their names as strings.

    Args:
        trainable_name: The trainable's name (the first part of the trial's name).
        trial_id: The trial's id, unique in the experiment.
        config: The resolved config the trainable receives.
        experiment_tag: A short tag of the sampled values (``"3_lr=0.0100"``), part of the
            directory name.
        evaluated_params: The sampled values, keys flattened with ``"/"``.
        resources: What the trial reserves. None: 1 CPU.
        stopping_criterion: The dict stop criteria of its experiment.
        experiment_name: The experiment's name.
        experiment_path: The experiment directory.
        dirname: The trial directory's name inside the experiment directory.
        max_failures: How many times it may be restarted after a failure.
        trial_name: A name from ``trial_name_creator``, or None.
        experiment_index: The index of its experiment in the run.

    Attributes:
        trial_id (str): The trial's id, unique in the experiment.
        trainable_name (str): The trainable's name.
        config (dict): The resolved config the trainable receives.
        evaluated_params (dict): The sampled values, keys flattened with ``"/"``.
        experiment_tag (str): The tag of the sampled values.
        status (TrialStatus): The trial's status.
        last_result (dict): The latest result (with its auto-filled keys); ``{}`` before
            the first one.
        metric_analysis (dict): Per numeric metric of the results, running statistics:
            ``trial.metric_analysis["loss"]["min"]`` (also ``"max"``, ``"avg"``,
            ``"last"``, ``"last-5-avg"``, ``"last-10-avg"``).
        resources (PlacementGroupFactory): What the trial reserves.
        num_failures (int): How many times it has failed so far.
        error_file (str): The file holding the traceback of its last failure, or None.
        error_msg (str): The last line of that traceback, or None.
        checkpoint: Its latest stored checkpoint (a :class:`~tunelab.Checkpoint`), or None.
        location (str): Where it runs or ran, as ``"host:pid"``.
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
        self.evaluated_params: dict[str, Any] = _own(evaluated_params)
        self.resources = resources or _ONE_CPU
        self.stopping_criterion: dict[str, Any] = _own(stopping_criterion)
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
        #: retained checkpoints as [path, metrics] pairs, oldest first (replaced, never
        #: changed in place: a trial without checkpoints shares the empty tuple, 72 bytes
        #: per trial of a run less than a list)
        self.checkpoint_history: Sequence[list[Any]] = ()

    # -- names and paths ------------------------------------------------------------------
    def __str__(self) -> str:
        if self.custom_trial_name:
            return self.custom_trial_name
        return f"{self.trainable_name}_{self.trial_id}"

    def __repr__(self) -> str:
        return f"Trial({self}, {self.status.value})"

    @property
    def trial_name(self) -> str:
        """The trial's name (the ``trial_name_creator``'s, else
        ``<trainable>_<trial_id>``)."""
        return str(self)

    @property
    def local_path(self) -> str:
        """The trial directory (``""`` before it is named)."""
        return os.path.join(self.experiment_path, self.dirname) if self.dirname else ""

    @property
    def logdir(self) -> str:
        """The trial directory (0.x-1.x's name of :attr:`local_path`)."""
        return self.local_path

    @property
    def path(self) -> str:
        """The trial directory (2.x's name of :attr:`local_path`)."""
        return self.local_path

    @property
    def placement_group_factory(self) -> PlacementGroupFactory:
        """What the trial reserves (the same object as ``resources``)."""
        return self.resources

    def is_finished(self) -> bool:
        """True when the trial is TERMINATED or ERROR."""
        return self.status.is_finished()

    def has_checkpoint(self) -> bool:
        """True when the trial has a checkpoint to restore from (Ray Tune 0.x-1.x)."""
        return self.checkpoint is not None

    # -- results --------------------------------------------------------------------------
    def update_last_result(self, result: dict[str, Any]) -> None:
        """Record ``result`` as the latest and fold its numeric top-level metrics into
        :attr:`metric_analysis` (called by the controller).

        Args:
            result: The result, with its auto-filled keys.
        """
        self.last_result = result
        stats = self.metric_analysis
        skip = _NOT_TRACKED
        for key, value in result.items():
            if key not in skip and type(value) in (int, float):
                entry = stats.get(key)
                if type(entry) is not RunningStats:  # new, or settled when it ended
                    entry = stats[key] = RunningStats() if entry is None else entry.running()
                entry.add(value)

    def compact(self) -> None:
        """Share what a finished trial's last result has in common with the other trials:
        its keys (``"time_this_iter_s"``... each result decoded from a worker holds its own
        copies, ~60 bytes each), the table of those keys (the dict is rebuilt as one whose
        key table is shared by every result with the same keys, in order: about half the
        memory for 17 keys, see :func:`_shared_keys_dict`) and its short string values
        (host, IP, date); its ``trial_id``, ``experiment_tag`` and ``config`` are the
        trial's own objects when equal to them (decoded copies, ~200 bytes); its ints and
        floats are shared with the equal ones of the trials that ended lately (its ``pid``,
        its equal time figures: see :func:`~tunelab._metric_stats.shared_number`). The
        metrics' statistics are keyed the same way, and those of a metric that got one value
        take half the memory (:func:`~tunelab._metric_stats.settled`). Called by the
        controller when the trial ends; a dict that cannot be rebuilt so (a key that is not
        a plain string) is changed in place."""
        from tunelab._json import safely_equal

        intern = sys.intern
        last = self.last_result
        config = last.get("config")
        if config is not None and config is not self.config and safely_equal(config, self.config):
            last["config"] = self.config
        trial_id, tag = self.trial_id, self.experiment_tag
        holder = _shape(tuple(last))
        # one pass over the result: into an instance of the shape's class (whose attribute
        # dict shares the shape's key table: no key of its own), else back into ``last``
        target: Any = holder() if holder is not None else None
        items: list[tuple[Any, Any]] = []
        for key, value in last.items():
            if type(value) is str:
                if key == "trial_id" or key == "experiment_tag":
                    mine = trial_id if key == "trial_id" else tag
                    if value == mine:  # the trial's own string (never a new interned one)
                        value = mine
                elif len(value) <= 64:
                    value = intern(value)
            elif type(value) is float or type(value) is int:
                value = shared_number(value)
            if target is not None:
                setattr(target, key, value)
            else:
                items.append((intern(key) if type(key) is str else key, value))
        if target is not None:
            self.last_result = target.__dict__
        else:
            last.clear()
            last.update(items)
        stats = [(intern(k), settled(v)) for k, v in self.metric_analysis.items()]
        self.metric_analysis = _shared_keys_dict(stats) or dict(stats)

    # -- persistence ----------------------------------------------------------------------
    def relative(self, path: str) -> str:
        """``path`` relative to the experiment directory (so experiments can move); a remote
        URI (a checkpoint a worker uploaded straight to storage) stays as it is.

        Args:
            path: A path inside the experiment directory, or a URI.

        Returns:
            The relative path, or ``path`` itself for a URI or a trial without an
            experiment directory.
        """
        if "://" in path or not self.experiment_path:
            return path
        return os.path.relpath(path, self.experiment_path)

    def to_state(self, *, safe: bool = True, sparse: bool = False) -> dict[str, Any]:
        """A snapshot of everything needed to rebuild this record (what
        ``experiment_state.json`` holds per trial).

        Args:
            safe: True (the default): JSON-safe values. False: the raw values (faster,
                for an encoder with ``default=json_default`` that falls back to the safe
                form when the raw one cannot be encoded).
            sparse: Leave out the fields that still have the value a new trial has (no
                failures, no checkpoint...: see :func:`with_state_defaults`, which puts
                them back). The experiment state's files hold sparse states: a short
                trial's state is about half as long, and half as costly to encode.

        Returns:
            A dict that :meth:`from_state` turns back into a Trial.
        """
        from tunelab._json import json_safe

        convert = json_safe if safe else _as_is
        state = {
            "trial_id": self.trial_id,
            "trainable_name": self.trainable_name,
            "config": convert(self.config),
            "experiment_tag": self.experiment_tag,
            "evaluated_params": convert(self.evaluated_params),
            "resources": self.resources.to_state(),
            "stopping_criterion": convert(self.stopping_criterion),
            "experiment_name": self.experiment_name,
            "dirname": self.dirname,
            "max_failures": self.max_failures,
            "trial_name": self.custom_trial_name,
            "experiment_index": self.experiment_index,
        }
        if sparse:
            for key in _FIXED_DEFAULTS:
                if _is_default(key, state[key]):
                    del state[key]
        self._add_run_state(state, convert, sparse)
        return state

    def run_state(self, *, safe: bool = True, sparse: bool = False) -> dict[str, Any]:
        """The part of :meth:`to_state` that changes while the trial runs (its status,
        last result, failures, location and checkpoints), with its ``trial_id``: what a
        journal's update line carries when the rest is as last written (see
        :meth:`fixed_key`).

        Args:
            safe: As for :meth:`to_state`.
            sparse: Leave out the failures, errors and checkpoints that still have the
                value a new trial has (a reader keeps the values it has: right when every
                earlier state it read had those too).
        """
        from tunelab._json import json_safe

        state: dict[str, Any] = {"trial_id": self.trial_id}
        self._add_run_state(state, json_safe if safe else _as_is, sparse)
        return state

    def _add_run_state(self, state: dict[str, Any], convert: Any, sparse: bool) -> None:
        state["status"] = self.status.value
        state["last_result"] = convert(self.last_result)
        state["location"] = self.location
        checkpoint = _checkpoint_path(self.checkpoint)
        if sparse and not (
            self.num_failures
            or self.error_file
            or self.error_msg
            or checkpoint
            or self.restore_state is not None
            or self.checkpoint_history
        ):
            return  # the common case: the values of a new trial, all left out
        state["num_failures"] = self.num_failures
        state["error_file"] = self.error_file
        state["error_msg"] = self.error_msg
        state["checkpoint"] = self.relative(checkpoint) if checkpoint else None
        state["restore_state"] = convert(self.restore_state)
        state["checkpoint_history"] = (
            [[self.relative(p), convert(m)] for p, m in self.checkpoint_history]
            if self.checkpoint_history
            else []
        )

    def fixed_key(self) -> tuple[Any, ...]:
        """The values of the fields :meth:`run_state` leaves out. The controller changes
        them only by assigning new values (a new config after a PBT exploit, new resources),
        so when this key equals the one taken at the trial's last journal line, an update
        line (:meth:`run_state`) rebuilds the whole state."""
        return (
            self.config,
            self.evaluated_params,
            self.resources,
            self.stopping_criterion,
            self.experiment_tag,
            self.dirname,
            self.trainable_name,
            self.experiment_name,
            self.max_failures,
            self.custom_trial_name,
            self.experiment_index,
        )

    @classmethod
    def from_state(cls, state: dict[str, Any], experiment_path: str) -> Trial:
        """Rebuild a trial from :meth:`to_state`'s snapshot.

        Args:
            state: The snapshot.
            experiment_path: The experiment directory now (it may have moved since the
                snapshot was written; relative paths are resolved against it).

        Returns:
            The Trial, with its status, results, failures and checkpoints restored.
        """
        trial = cls(
            state["trainable_name"],
            trial_id=state["trial_id"],
            config=state.get("config"),
            experiment_tag=state.get("experiment_tag", ""),
            evaluated_params=state.get("evaluated_params"),
            resources=_request(state.get("resources")),
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


#: the values of a new trial's state for the fields a sparse state leaves out when they have
#: them (:meth:`Trial.to_state`): the fixed ones, then those that change while it runs
_FIXED_DEFAULTS: dict[str, Any] = {
    "evaluated_params": {},
    "stopping_criterion": {},
    "max_failures": 0,
    "trial_name": None,
    "experiment_index": 0,
}
_RUN_DEFAULTS: dict[str, Any] = {
    "num_failures": 0,
    "error_file": None,
    "error_msg": None,
    "checkpoint": None,
    "restore_state": None,
    "checkpoint_history": [],
}
_STATE_DEFAULTS = {**_FIXED_DEFAULTS, **_RUN_DEFAULTS, "last_result": {}, "location": ""}


def _is_default(key: str, value: Any) -> bool:
    """Whether ``value`` is field ``key``'s value in a new trial's state: an empty dict
    or list (a subclass's too, a :class:`FrozenDict`), 0, None or "" (compared only with
    a value of the default's type)."""
    default = _STATE_DEFAULTS[key]
    if isinstance(default, (dict, list)):
        return isinstance(value, type(default)) and not value
    return value is default or (type(value) is type(default) and value == default)


def with_state_defaults(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` (a trial's state as a file holds it, changed in place and returned) with
    the fields a sparse state left out (see :meth:`Trial.to_state`), each with its own
    copy of the default value."""
    missing = _STATE_DEFAULTS.keys() - state.keys()
    for key in missing:
        default = _STATE_DEFAULTS[key]
        state[key] = type(default)() if isinstance(default, (dict, list)) else default
    return state


#: keys of finished trials' results (in order) -> a class whose instances' attribute dicts
#: share one table of those keys (CPython's key-sharing instance dicts)
_SHAPES: dict[tuple[str, ...], type] = {}
#: at most this many shapes (a run whose results keep changing keys gets plain dicts)
_MAX_SHAPES = 256
#: at most this many keys (CPython 3.11 stops sharing a table at 30, and such a dict then
#: costs more than a plain one)
_MAX_SHARED_KEYS = 24


def _shared_keys_dict(items: list[tuple[Any, Any]]) -> dict[str, Any] | None:
    """A plain dict of ``items`` whose table of keys is shared with every other dict made
    here with the same keys in the same order: the attribute dict of an instance of a class
    made for those keys (on CPython 3.11, a dict of 17 keys then costs about 265 bytes
    instead of 470; on other interpreters it is an ordinary dict). None when a key is not a plain
    string or starts with ``"__"`` (a class attribute could take it), for more than 24
    keys, or when the shapes are used up. The dict behaves as any other: it can be changed,
    copied, pickled."""
    holder = _shape(tuple([key for key, _ in items]))
    if holder is None:
        return None
    instance = holder()
    for key, value in items:
        setattr(instance, key, value)
    shared: dict[str, Any] = instance.__dict__
    return shared


def _shape(keys: tuple[Any, ...]) -> type | None:
    """The class of :func:`_shared_keys_dict` for ``keys`` (made on first use), or None
    when they cannot share a table."""
    holder = _SHAPES.get(keys)
    if holder is None:
        if (
            len(_SHAPES) >= _MAX_SHAPES
            or len(keys) > _MAX_SHARED_KEYS
            or not all(type(key) is str and not key.startswith("__") for key in keys)
        ):
            return None
        holder = _SHAPES[keys] = type("_SharedKeys", (), {"__slots__": ("__dict__",)})
    return holder


def _own(mapping: Mapping[str, Any] | None) -> dict[str, Any]:
    """A trial's own copy of ``mapping``; an empty or a frozen one is shared (read-only
    records: 64 bytes and more per trial of a run that each would copy)."""
    if not mapping:
        return _NOTHING
    if type(mapping) is FrozenDict:
        return mapping
    return dict(mapping)


#: the request of a trial that asks for nothing: one CPU (one object shared by those trials,
#: as an experiment's ``resources_per_trial`` is; requests are never changed in place)
_ONE_CPU = PlacementGroupFactory([{"CPU": 1}])


def _request(state: Any) -> PlacementGroupFactory | None:
    """The request a trial state holds, one object per distinct request (trials read back
    share them as the trials of a run do)."""
    if not state:
        return None
    try:
        key = json.dumps(state, sort_keys=True)
    except (TypeError, ValueError):
        return PlacementGroupFactory.from_state(state)
    return _request_of(key)


@functools.lru_cache(maxsize=256)
def _request_of(key: str) -> PlacementGroupFactory:
    return PlacementGroupFactory.from_state(json.loads(key))


def _absolute(experiment_path: str, path: str) -> str:
    return path if "://" in path else os.path.join(experiment_path, path)


def _as_is(value: Any) -> Any:
    return value


def _checkpoint_path(checkpoint: Any) -> str | None:
    path = getattr(checkpoint, "path", None)
    return str(path) if path else None


class FrozenDict(dict[str, Any]):
    """A dict that refuses changes (a policy's view of a trial's config or result).

    Reading, iterating, ``json.dumps`` and ``isinstance(d, dict)`` work as on a dict;
    ``copy.copy``, ``copy.deepcopy``, ``dict(d)`` and ``d.copy()`` give a plain, mutable
    dict (to build a new config from, as Ray's PBT does); changing it raises ``TypeError``.
    Only the top level is frozen.
    """

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "this dict of a trial record is read-only (a trial's config and last_result for "
            "schedulers; shared parts of every trial): copy it (dict(trial.config)); a "
            "scheduler changes a trial's config by returning a Reconfigure(config=...)"
        )

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse  # type: ignore[assignment]

    def copy(self) -> dict[str, Any]:
        return dict(self)

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        import copy

        return copy.deepcopy(dict(self), memo)

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self),))


#: the empty ``evaluated_params`` / ``stopping_criterion`` every such trial shares
_NOTHING = FrozenDict()


class TrialView(Trial):
    """A read-only view of a :class:`Trial`: what schedulers receive.

    Every read goes to the trial, so a view is always current (status, last result,
    checkpoint); ``config`` and ``last_result`` come as :class:`FrozenDict`. Setting an
    attribute raises ``AttributeError``, and so does every :class:`Trial` method that would
    change the record: a scheduler changes a trial only through ``runner.stop_trial``,
    ``runner.reconfigure_trial`` or the decision it returns, which the controller carries
    out. ``isinstance(view, Trial)`` holds; one view exists per trial of a run, so views
    can be compared by identity and used as keys. Pickled, a view becomes a view of a copy
    of its trial.

    Args:
        trial: The trial to show.
    """

    __slots__ = ("_frozen", "_trial")

    def __init__(self, trial: Trial) -> None:  # no Trial.__init__: every read is the trial's
        object.__setattr__(self, "_trial", trial)
        #: attribute -> (the trial's dict it froze, the frozen copy); made on first use (a
        #: view costs ~90 bytes per trial of a run until a scheduler reads a config)
        object.__setattr__(self, "_frozen", None)

    def __getattr__(self, name: str) -> Any:
        value = getattr(object.__getattribute__(self, "_trial"), name)
        if name == "config" or name == "last_result":
            frozen: dict[str, tuple[Any, FrozenDict]] | None
            frozen = object.__getattribute__(self, "_frozen")
            if frozen is None:
                frozen = {}
                object.__setattr__(self, "_frozen", frozen)
            cached = frozen.get(name)
            if cached is None or cached[0] is not value:
                cached = frozen[name] = (value, FrozenDict(value))
            return cached[1]
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"trial {self} is read-only for schedulers (setting {name!r}): end a waiting trial "
            "with runner.stop_trial(trial), change it with runner.reconfigure_trial(trial, "
            "Reconfigure(...)), or return a Decision or Reconfigure for a running one"
        )

    __delattr__ = __setattr__  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (TrialView, (object.__getattribute__(self, "_trial"),))

    @property
    def trial(self) -> Trial:
        """The trial this view shows (for the controller; policies read the view)."""
        trial: Trial = object.__getattribute__(self, "_trial")
        return trial
