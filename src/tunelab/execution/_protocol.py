"""The worker protocol: what the controller and a worker say to each other, typed, and the
one place that knows how it travels (pickled tuples over an authenticated
``multiprocessing.connection`` connection: a Unix socket, a TCP socket or a pipe).

Typed messages (frozen dataclasses) and their wire form:

controller -> worker (:func:`encode_command` / :func:`decode_command`)
  :class:`Setup`          ("setup", {"sys_path": [...], "env": {...}})  once, after the hello
  :class:`TrialTask`      ("run", task)           start a trial (cloudpickled: configs may
                                                  hold functions)
  :class:`Decide`         ("decision", trial_id, "CONTINUE" | "STOP" | "PAUSE" | "SAVE")
                                                  the :class:`Verdict` on a waiting result
  :class:`StopRequest`    ("stop", trial_id)      end the trial at its next report
  :class:`PauseRequest`   ("pause", trial_id)     end it as paused at its next report (class
                                                  trainables save first)
  :class:`Exit`           ("exit",)               leave the worker loop

worker -> controller (built with :func:`hello_message`, :func:`results_message`,
:func:`checkpoint_message`, :func:`end_message`; read with :func:`decode_event`)
  :class:`Hello`          ("hello", token, pid, hostname, node_ip[, {"cached": [keys]}])
  :class:`Results`        ("results", trial_id, [result, ...])   results in order; a result
                          that came with a checkpoint holds ``__checkpoint__: path``, the one
                          the worker then waits on (always the last) ``__wait__: True``: the
                          decoded event carries them as ``checkpoints`` and ``wait``
  :class:`CheckpointSaved` ("checkpoint", trial_id, path, iteration)  saved after the last
                          result (a SAVE verdict, ``checkpoint_at_end``, a function's final
                          ``checkpoint_dir``)
  :class:`Ended`          ("end", trial_id, "done" | "stopped", None)
  :class:`Paused`         ("end", trial_id, "paused", checkpoint path or None)
  :class:`Failed`         ("end", trial_id, "error", (traceback, repr[, "restore"]))

executor -> controller only
  :class:`Lost`           the worker died or sent what cannot be read (never on the wire)

Executors return these events from ``poll()`` (the simulated executor builds them without a
wire). Results stay plain dicts and travel as they are: the per-result cost is one pickled
dict inside a batch, nothing more.

A result that cannot be pickled never reaches the wire: the worker sends the results before
it and ends the trial with :class:`Failed` (the text names the key and the type). A process
forked inside a trial sends nothing at all. A message that cannot be unpickled raises
:class:`UnreadableMessage` (an ``OSError``: the reader treats its peer as gone).
"""

from __future__ import annotations

import enum
import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "CheckpointSaved",
    "Decide",
    "EndReason",
    "Ended",
    "Event",
    "Exit",
    "Failed",
    "Hello",
    "Lost",
    "PauseRequest",
    "Paused",
    "RemoteStorage",
    "ResultLog",
    "ResultLogs",
    "Results",
    "Setup",
    "StopRequest",
    "TrialTask",
    "UnreadableMessage",
    "Verdict",
]

# in-band marks of a result on the wire (taken out when it is decoded)
_CHECKPOINT_KEY = "__checkpoint__"
_WAIT_KEY = "__wait__"


class Verdict(str, enum.Enum):
    """The controller's answer to a result the worker waits on.

    CONTINUE: go on. STOP: end the trial. PAUSE: end the run as paused (class trainables
    save; the trial resumes from that checkpoint later). SAVE: class trainables save a
    checkpoint, then go on. A scheduler's :class:`~tunelab.schedulers.Reconfigure` travels
    as PAUSE (the controller restarts the trial from there): see :meth:`of`."""

    CONTINUE = "CONTINUE"
    STOP = "STOP"
    PAUSE = "PAUSE"
    SAVE = "SAVE"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of(cls, decision: Any) -> Verdict:
        """The verdict for a policy's answer: a ``Decision`` (or its string; NOOP is
        CONTINUE) or a ``Reconfigure`` (PAUSE). ``ValueError`` for anything else."""
        from tunelab.schedulers._trial_scheduler import Decision, Reconfigure

        if isinstance(decision, Reconfigure):
            return cls.PAUSE
        value = Decision(decision).value
        return cls.CONTINUE if value == Decision.NOOP.value else cls(value)


class EndReason(str, enum.Enum):
    """How a trial's run on a worker ended (the wire value of an "end" message)."""

    DONE = "done"
    STOPPED = "stopped"
    PAUSED = "paused"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


# -- the task ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RemoteStorage:
    """The remote storage of the experiment (see ``execution/_trial_storage.py``): the
    driver's local ``experiment_dir`` (a staging dir holding a file with ``token``) and the
    ``uri`` it mirrors to. ``upload``: ``"auto"`` (upload straight to ``uri`` only from a
    worker that does not see ``experiment_dir``), ``"direct"`` or ``"staging"`` (always /
    never), read from ``TUNELAB_CHECKPOINT_UPLOAD`` at the front door."""

    experiment_dir: str
    uri: str
    token: str
    upload: str = "auto"


class ResultLog(Protocol):
    """The result files of one run of a trial, written by its worker (see
    :class:`ResultLogs`)."""

    #: the first failure to write (a full disk); nothing more is written after it
    error: BaseException | None

    def write(self, results: list[dict[str, Any]]) -> None:
        """Append a batch of results (as reported, marks included) and hand it to the OS;
        a failure is kept in :attr:`error`, never raised."""

    def close(self) -> BaseException | None:
        """Close the files; return :attr:`error` (or the failure to close them)."""


class ResultLogs(Protocol):
    """The result files a worker writes itself for the trial it runs, as a task's ``logs``.

    The executors define this interface and the outputs implement it (the default
    loggers' ``logger/_in_worker.TrialLogs``): the worker knows nothing of loggers, it
    opens what the task carries and writes each batch there after pickling it and before
    sending it, so the results are on disk before the controller acts on them.
    """

    def open(self, trial_dir: str, config: dict[str, Any], owner: str) -> ResultLog:
        """The files of the trial in ``trial_dir`` (``owner`` names it in errors)."""
        ...


@dataclass(frozen=True)
class TrialTask:
    """What a worker needs to run one trial (built by the controller's trial factory).

    ``resources``: the trial's ``PlacementGroupFactory.to_state()`` (None: 1 CPU).
    ``stop_criteria``: dict stop criteria, checked by the worker. ``sync``: every result is
    a decision point; ``milestone_attr``/``milestones``: results whose ``milestone_attr``
    reaches a milestone are (the scheduler's ``DecisionPoints``). ``restore_path`` and
    ``iteration_state``: the checkpoint to start from and the counters saved with it.
    ``log_to_file``: (stdout name, stderr name). ``chdir``: run in the trial directory.
    ``reuse``: keep a class trainable's object for the next trial (``reuse_actors``).
    ``gpu_ids``: set by the executor; ``trainable_blob``: the cloudpickled trainable, sent
    only to a worker that does not have ``trainable_key`` yet. ``logs``: the result files
    the worker writes (None: the controller's loggers write them all).
    """

    trial_id: str
    trial_dir: str
    trainable_key: str = ""
    trial_name: str = ""
    experiment_name: str = ""
    storage_path: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    is_function: bool = True
    resources: Mapping[str, Any] | None = None
    stop_criteria: Mapping[str, Any] | None = None
    sync: bool = False
    milestone_attr: str | None = None
    milestones: tuple[float, ...] = ()
    checkpoint_freq: int = 0
    checkpoint_at_end: bool = False
    export_formats: tuple[str, ...] = ()
    restore_path: str | None = None
    iteration_state: Mapping[str, Any] | None = None
    log_to_file: tuple[str | None, str | None] | None = None
    chdir: bool = False
    reuse: bool = False
    remote: RemoteStorage | None = None
    gpu_ids: tuple[str, ...] = ()
    trainable_blob: bytes | None = None
    logs: ResultLogs | None = None


# -- controller -> worker ------------------------------------------------------------------------
@dataclass(frozen=True)
class Setup:
    sys_path: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decide:
    trial_id: str
    verdict: Verdict


@dataclass(frozen=True)
class StopRequest:
    trial_id: str


@dataclass(frozen=True)
class PauseRequest:
    trial_id: str


@dataclass(frozen=True)
class Exit:
    pass


Command = Setup | TrialTask | Decide | StopRequest | PauseRequest | Exit


# -- worker -> controller ------------------------------------------------------------------------
@dataclass(frozen=True)
class Hello:
    token: str
    pid: int
    hostname: str
    node_ip: str
    cached: tuple[str, ...] = ()  # trainable keys the worker holds already (Dask)


@dataclass(frozen=True)
class Results:
    """Results of one trial, in order. ``checkpoints``: index in ``results`` -> the path of
    the checkpoint reported with that result. ``wait``: the worker waits for a
    :class:`Verdict` on the last result (a decision point)."""

    trial_id: str
    results: list[dict[str, Any]]
    checkpoints: Mapping[int, str] | None = None
    wait: bool = False


@dataclass(frozen=True)
class CheckpointSaved:
    """A checkpoint saved after the trial's last result (it belongs to that result)."""

    trial_id: str
    path: str
    iteration: int


@dataclass(frozen=True)
class Ended:
    """The run ended: ``DONE`` (the trainable finished, or a result was done) or ``STOPPED``."""

    trial_id: str
    reason: EndReason


@dataclass(frozen=True)
class Paused:
    """The run ended as paused; ``checkpoint``: where it resumes from (None: its latest)."""

    trial_id: str
    checkpoint: str | None = None


@dataclass(frozen=True)
class Failed:
    """The trainable failed: ``traceback`` text, ``description`` (the exception's repr);
    ``during_restore``: loading its checkpoint failed (an older one may do)."""

    trial_id: str
    traceback: str
    description: str = ""
    during_restore: bool = False


@dataclass(frozen=True)
class Lost:
    """The worker died, or sent what cannot be read; ``message`` says which."""

    trial_id: str
    message: str


Event = Results | CheckpointSaved | Ended | Paused | Failed | Lost


# -- the wire ------------------------------------------------------------------------------------
_PROTOCOL = pickle.HIGHEST_PROTOCOL


def dumps(message: Any) -> bytes:
    return pickle.dumps(message, _PROTOCOL)


class UnreadableMessage(OSError):
    """A message arrived but could not be unpickled (say, a result whose ``__reduce__``
    names a function that raises, or a class this side cannot import). An ``OSError`` so
    that a reader that catches connection errors treats the peer as gone instead of dying."""


def loads(data: bytes) -> Any:
    try:
        return pickle.loads(data)
    except Exception as exc:
        try:
            detail = f"{type(exc).__name__}: {exc}"
        except Exception:
            detail = type(exc).__name__
        raise UnreadableMessage(
            f"a message of {len(data)} bytes could not be unpickled ({detail})"
        ) from exc


def encode_command(command: Command) -> bytes:
    """The bytes that carry ``command`` to a worker."""
    if isinstance(command, TrialTask):
        import cloudpickle  # a config may hold functions

        data: bytes = cloudpickle.dumps(("run", command), protocol=5)
        return data
    if isinstance(command, Decide):
        return dumps(("decision", command.trial_id, command.verdict.value))
    if isinstance(command, StopRequest):
        return dumps(("stop", command.trial_id))
    if isinstance(command, PauseRequest):
        return dumps(("pause", command.trial_id))
    if isinstance(command, Setup):
        return dumps(("setup", {"sys_path": list(command.sys_path), "env": dict(command.env)}))
    if isinstance(command, Exit):
        return dumps(("exit",))
    raise TypeError(f"not a command of the worker protocol: {command!r}")


def decode_command(data: bytes) -> Command:
    """The command in ``data`` (read by a worker). ``UnreadableMessage`` when it cannot be
    unpickled or is no command."""
    message = loads(data)
    try:
        kind = message[0]
        if kind == "run" and isinstance(message[1], TrialTask):
            return message[1]  # type: ignore[no-any-return]
        if kind == "decision":
            return Decide(message[1], Verdict(message[2]))
        if kind == "stop":
            return StopRequest(message[1])
        if kind == "pause":
            return PauseRequest(message[1])
        if kind == "setup":
            setup = message[1]
            return Setup(tuple(setup.get("sys_path", ())), dict(setup.get("env", {})))
        if kind == "exit":
            return Exit()
    except (TypeError, IndexError, KeyError, ValueError, AttributeError):
        pass
    raise UnreadableMessage(f"not a command of the worker protocol: {type(message).__name__}")


def hello_message(
    token: str, pid: int, hostname: str, node_ip: str, cached: list[str] | None = None
) -> tuple[Any, ...]:
    if cached is None:
        return ("hello", token, pid, hostname, node_ip)
    return ("hello", token, pid, hostname, node_ip, {"cached": list(cached)})


def decode_hello(message: Any) -> Hello:
    """The :class:`Hello` in an unpickled first message; ``ValueError`` if it is none."""
    if not (isinstance(message, tuple) and len(message) >= 5 and message[0] == "hello"):
        raise ValueError("not a hello")
    extra = message[5] if len(message) > 5 and isinstance(message[5], dict) else {}
    return Hello(
        str(message[1]),
        int(message[2]),
        str(message[3]),
        str(message[4]),
        tuple(str(k) for k in extra.get("cached", ())),
    )


def results_message(trial_id: str, batch: list[dict[str, Any]]) -> tuple[Any, ...]:
    return ("results", trial_id, batch)


def checkpoint_message(trial_id: str, path: str, iteration: int) -> tuple[Any, ...]:
    return ("checkpoint", trial_id, path, iteration)


def end_message(trial_id: str, reason: EndReason, payload: Any = None) -> tuple[Any, ...]:
    """``payload``: the checkpoint of a pause, or (traceback, repr[, "restore"]) of an error."""
    return ("end", trial_id, reason.value, payload)


def mark_checkpoint(result: dict[str, Any], path: str) -> None:
    """``result`` goes with the checkpoint at ``path`` (its directory name becomes the
    result's ``checkpoint_dir_name``, as users see it)."""
    result["checkpoint_dir_name"] = os.path.basename(path)
    result[_CHECKPOINT_KEY] = path


def mark_wait(result: dict[str, Any]) -> None:
    """The worker waits for a verdict on ``result`` (it is the last of its batch)."""
    result[_WAIT_KEY] = True


def results_event(trial_id: str, batch: list[dict[str, Any]]) -> Results:
    """:class:`Results` from a batch in wire form (marks taken out of the results)."""
    checkpoints: dict[int, str] | None = None
    for index, result in enumerate(batch):
        if _CHECKPOINT_KEY in result:
            if checkpoints is None:
                checkpoints = {}
            checkpoints[index] = result.pop(_CHECKPOINT_KEY)
    wait = bool(batch[-1].pop(_WAIT_KEY, False)) if batch else False
    return Results(trial_id, batch, checkpoints, wait)


def decode_event(message: Any) -> Event | Hello:
    """The typed event of an unpickled worker message. ``UnreadableMessage`` when it is
    none."""
    try:
        kind = message[0]
        if kind == "results":
            return results_event(message[1], message[2])
        if kind == "checkpoint":
            return CheckpointSaved(message[1], message[2], message[3])
        if kind == "end":
            trial_id, reason, payload = message[1], EndReason(message[2]), message[3]
            if reason is EndReason.PAUSED:
                return Paused(trial_id, payload)
            if reason is EndReason.ERROR:
                restore = len(payload) > 2 and payload[2] == "restore"
                return Failed(trial_id, str(payload[0]), str(payload[1]), restore)
            return Ended(trial_id, reason)
        if kind == "hello":
            return decode_hello(message)
    except (TypeError, IndexError, KeyError, ValueError, AttributeError):
        pass
    raise UnreadableMessage(f"not a message of the worker protocol: {type(message).__name__}")
