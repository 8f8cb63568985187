"""Messages between the controller and workers (pickled tuples over an authenticated
connection; see ``_transport``).

controller -> worker
  ("setup", {"sys_path": [...], "env": {...}})        once, right after "hello"
  ("run", task)                                       start a trial (task: dict, see TrialTask)
  ("decision", trial_id, decision)                    answer to a result marked "__wait__"
  ("stop", trial_id)                                  end the trial at its next report
  ("exit",)                                           leave the worker loop
worker -> controller
  ("hello", token, pid, hostname, node_ip)
  ("results", trial_id, [result, ...])                results in order; a result that came with
                                                      a checkpoint carries "__checkpoint__": path;
                                                      one the worker waits on carries "__wait__"
  ("checkpoint", trial_id, path, iteration)           a checkpoint saved after the last result
  ("end", trial_id, reason, payload)                  reason: "done" | "stopped" | "paused" |
                                                      "error" (payload: (traceback, repr))

A result that cannot be pickled never reaches the wire: the worker sends the results before
it and ends the trial with "error" (the text names the key and the type). A process forked
inside a trial sends nothing at all. A message that cannot be unpickled raises
:class:`UnreadableMessage` (an ``OSError``: the reader treats its peer as gone).
"""

from __future__ import annotations

import pickle
from typing import Any

CHECKPOINT_KEY = "__checkpoint__"
WAIT_KEY = "__wait__"  # the worker waits for a decision on this result

CONTINUE = "CONTINUE"
STOP = "STOP"
PAUSE = "PAUSE"
SAVE = "SAVE"  # class trainables save a checkpoint, then continue

END_DONE = "done"
END_STOPPED = "stopped"
END_PAUSED = "paused"
END_ERROR = "error"

TASK_KEYS = (
    "trial_id",
    "trial_name",
    "trial_dir",
    "experiment_name",
    "storage_path",
    "config",
    "trainable_key",
    "trainable_blob",
    "is_function",
    "resources",
    "stop_criteria",
    "sync",
    "checkpoint_freq",
    "checkpoint_at_end",
    "restore_path",
    "iteration_state",
    "log_to_file",
    "chdir",
    "reuse",
    "gpu_ids",
    "remote",  # remote storage of the experiment, or None (execution/_trial_storage.py)
)

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
