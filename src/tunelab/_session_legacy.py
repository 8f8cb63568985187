"""The 0.8/1.x names of Ray Tune's ``ray.tune.session`` that later releases dropped, on top of
:mod:`tunelab._session`:

* ``make_checkpoint_dir(step)`` and ``save_checkpoint(path)`` (0.8.6's function-API
  checkpointing, deprecated in 0.8.7 for ``checkpoint_dir``)::

      def train(config, checkpoint=None):
          start = 0
          if checkpoint:                      # the path given to save_checkpoint, restored
              with open(checkpoint) as f:
                  start = json.load(f)["step"] + 1
          for step in range(start, 10):
              directory = tune.make_checkpoint_dir(step=step)
              path = os.path.join(directory, "checkpoint")
              with open(path, "w") as f:
                  json.dump({"step": step}, f)
              tune.save_checkpoint(path)
              tune.report(score=step)

  The checkpoint is attached to the next reported result (or kept at the end, like
  ``checkpoint_dir``). When the trial restores from it, a function with a ``checkpoint``
  parameter receives the path given to ``save_checkpoint``, inside the restored checkpoint
  (a ``checkpoint_dir`` parameter receives the directory, as for ``checkpoint_dir``).
* ``init(reporter)`` / ``shutdown()`` / ``get_session()``: Ray 1.x's process-wide session.
  ``init`` installs any ``reporter(**metrics)`` callable (with optional ``logdir``,
  ``trial_name``, ``trial_id``, ``trial_resources`` and ``set_checkpoint``) as the session
  that ``tune.report`` and friends talk to, for running a function trainable outside
  tunelab; ``shutdown`` removes the session of this process (and of this thread).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from tunelab import _session
from tunelab._resources import PlacementGroupFactory

__all__ = [
    "get_session",
    "init",
    "make_checkpoint_dir",
    "save_checkpoint",
    "saved_checkpoint_path",
    "shutdown",
]

logger = logging.getLogger("tunelab")

#: Written into a checkpoint directory by :func:`save_checkpoint`: the path it was given,
#: relative to the directory.
SAVED_PATH_FILE = ".tunelab_saved_checkpoint.json"

_REINIT = (
    "A tunelab session already exists in this process (a trial is running here, or init() "
    "was called before); call tunelab.session.shutdown() first"
)


def make_checkpoint_dir(step: int | None = None) -> str:
    """A new directory inside the trial directory for a checkpoint (0.8.6).

    Write the checkpoint's files there, then pass the directory, or a file in it, to
    :func:`save_checkpoint`. Outside a trial: the current directory (with a one-time
    warning), as in Ray Tune.

    Args:
        step: The iteration the checkpoint belongs to (names the directory). None: the
            iteration reported last.

    Returns:
        The directory's absolute path.

    Raises:
        TypeError: ``step`` is not an int or None.
    """
    session = _session._get_session()
    if session is None:
        _session._outside("make_checkpoint_dir")
        return os.path.abspath("./")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
        raise TypeError(f"make_checkpoint_dir: `step` must be an int or None, got {step!r}")
    return _session.new_checkpoint_dir(session, step)


def save_checkpoint(checkpoint: str | os.PathLike[str]) -> None:
    """Register a checkpoint, attached to the next reported result (0.8.6).

    Outside a trial: a one-time warning, nothing else.

    Args:
        checkpoint: A directory :func:`make_checkpoint_dir` returned, or a file or folder
            inside one. A restored trial whose function takes a ``checkpoint`` argument
            receives this same path, inside the restored checkpoint.

    Raises:
        FileNotFoundError: The path does not exist.
        ValueError: The path is not inside a directory :func:`make_checkpoint_dir`
            returned for this trial.
    """
    session = _session._get_session()
    if session is None:
        _session._outside("save_checkpoint")
        return
    path = os.path.abspath(os.fspath(checkpoint))
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"save_checkpoint: {path!r} does not exist; write the checkpoint into the "
            "directory make_checkpoint_dir() returned first"
        )
    trial_dir = os.path.abspath(session.context.get_trial_dir())
    directory = path
    while os.path.dirname(directory) != trial_dir:
        parent = os.path.dirname(directory)
        if parent == directory:
            directory = ""
            break
        directory = parent
    if not os.path.basename(directory).startswith("checkpoint_tmp_"):
        raise ValueError(
            f"save_checkpoint: {path!r} is not inside a directory made by "
            f"make_checkpoint_dir() (those are in the trial directory {trial_dir!r})"
        )
    with open(os.path.join(directory, SAVED_PATH_FILE), "w", encoding="utf-8") as handle:
        json.dump({"path": os.path.relpath(path, directory)}, handle)
    session.pending_checkpoint_dir = directory


def saved_checkpoint_path(checkpoint_dir: str) -> str | None:
    """The path :func:`save_checkpoint` was given, inside the (restored) checkpoint
    directory ``checkpoint_dir``; None when it was not saved that way."""
    try:
        with open(os.path.join(checkpoint_dir, SAVED_PATH_FILE), encoding="utf-8") as handle:
            relative = json.load(handle)["path"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(relative, str):
        return None
    path = os.path.normpath(os.path.join(checkpoint_dir, relative))
    inside = os.path.commonpath([os.path.abspath(checkpoint_dir), os.path.abspath(path)])
    if inside != os.path.abspath(checkpoint_dir):
        return None  # a marker pointing outside its checkpoint is ignored
    return path


class _ReporterSession(_session.TrialSession):
    """The session :func:`init` installs: every report goes to ``reporter(**metrics)``."""

    def __init__(self, reporter: Any) -> None:
        resources = getattr(reporter, "trial_resources", None)
        context = _session.TuneContext(
            trial_name=str(getattr(reporter, "trial_name", None) or "default"),
            trial_id=str(getattr(reporter, "trial_id", None) or "default"),
            trial_dir=str(getattr(reporter, "logdir", None) or os.getcwd()),
            trial_resources=resources if isinstance(resources, PlacementGroupFactory) else None,
        )
        super().__init__(context, self._unused_sink)
        self.reporter = reporter

    @staticmethod
    def _unused_sink(result: dict[str, Any], checkpoint: Any) -> None:
        raise RuntimeError("a reporter session reports through its reporter")

    def report(self, metrics: dict[str, Any], checkpoint: Any = None) -> None:
        pending = self.pending_checkpoint_dir
        self.pending_checkpoint_dir = None
        path = getattr(checkpoint, "path", None) or pending
        setter = getattr(self.reporter, "set_checkpoint", None)
        if path is not None and callable(setter):
            setter(str(path))
        self.state.fill(metrics)  # keeps the iteration count (checkpoint_dir's default step)
        self.reporter(**metrics)


def init(reporter: Any, ignore_reinit_error: bool = True) -> None:
    """Install ``reporter`` as this process's session (Ray 1.x's ``session.init``).

    ``tune.report`` and the other in-trial functions then talk to it, so that a function
    trainable can run outside tunelab.

    Args:
        reporter: A callable ``reporter(**metrics)``, optionally with ``logdir``,
            ``trial_name``, ``trial_id``, ``trial_resources`` attributes and a
            ``set_checkpoint(path)`` method. None installs nothing (Ray: a session where
            most calls do nothing) and logs a warning.
        ignore_reinit_error: When a session exists already: True (the default) logs a
            warning and changes nothing; False raises ``ValueError``.

    Raises:
        ValueError: A session exists and ``ignore_reinit_error`` is False.
        TypeError: ``reporter`` is not callable.
    """
    if _session._get_session() is not None:
        if ignore_reinit_error:
            logger.warning("tunelab: session.init(): %s", _REINIT)
            return
        raise ValueError(f"session.init(): {_REINIT}")
    if reporter is None:
        logger.warning(
            "tunelab: session.init(None): no session is installed; session calls do nothing "
            "outside a trial"
        )
        return
    if not callable(reporter):
        raise TypeError(
            f"session.init: `reporter` must be callable as reporter(**metrics), got {reporter!r}"
        )
    _session._set_session(_ReporterSession(reporter))


def shutdown() -> None:
    """Remove the session of this process and of this thread (Ray 1.x's
    ``session.shutdown``). Not ``tunelab.shutdown()``, which is ``ray.shutdown()``'s
    counterpart."""
    _session._set_session(None)
    _session._set_session(None, thread_local=True)


def get_session() -> _session.StatusReporter | None:
    """The running trial's reporter (``logdir``, ``trial_name``, ``trial_id``,
    ``trial_resources``, callable as ``reporter(**metrics)``), or None outside a trial
    (with a logged warning, as Ray Tune 1.x does)."""
    if _session._get_session() is None:
        logger.warning(
            "tunelab: session.get_session() was called outside a trial: there is no session"
        )
        return None
    return _session.StatusReporter()
