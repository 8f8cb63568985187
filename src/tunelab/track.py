"""The 0.7/0.8 ``tune.track`` API.

Inside a tunelab trial (a function trainable run by ``tune.run``/``Tuner``):
``track.log(**metrics)`` reports one iteration (same as ``tune.report(**metrics)``);
``track.trial_dir()``, ``track.trial_name()``, ``track.trial_id()`` describe the trial;
``track.get_session()`` returns a :class:`TrackSession` for it; ``track.init()`` and
``track.shutdown()`` do nothing (tunelab sets the session up and ends it).

Outside a trial (Ray Tune 0.7 allowed tracking a script that Tune does not run):
``track.init(trial_name=..., experiment_dir=..., trial_config=...)`` starts a standalone
:class:`TrackSession` that writes ``params.json``, ``result.json`` and ``progress.csv``
(tunelab's legacy ``UnifiedLogger``) into ``<experiment_dir>/<trial_name>_<date>``;
``experiment_dir`` defaults to ``<results root>/default``. ``track.log`` appends a result
with the usual auto-filled fields, ``track.shutdown()`` (or ``get_session().shutdown()``)
closes the files. ``get_session()`` with no session raises ``ValueError`` as 0.7 did, and
so does ``init()`` when a standalone session is open and ``ignore_reinit_error=False``.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from tunelab import _session

__all__ = [
    "TrackSession",
    "get_session",
    "init",
    "log",
    "shutdown",
    "trial_dir",
    "trial_id",
    "trial_name",
]


class TrackSession:
    """One tracked trial (0.7's ``TrackSession``): inside a tunelab trial it reports through
    the trial's session; standalone (:func:`init` outside a trial) it writes the trial's
    files itself.

    Attributes: ``trial_name``, ``trial_id``, ``trial_config``, ``experiment_dir``,
    ``upload_dir``, ``logdir``.
    """

    trial_name: str
    trial_id: str
    logdir: str
    experiment_dir: str
    trial_config: dict[str, Any]

    def __init__(
        self,
        trial_name: str = "",
        experiment_dir: str | os.PathLike[str] | None = None,
        upload_dir: str | None = None,
        trial_config: dict[str, Any] | None = None,
        _trial_session: Any = None,
    ) -> None:
        if trial_config is not None and not isinstance(trial_config, dict):
            raise TypeError(f"`trial_config` of track.init() must be a dict, got {trial_config!r}")
        if not isinstance(trial_name, str):
            raise TypeError(f"`trial_name` of track.init() must be a str, got {trial_name!r}")
        self._trial_session = _trial_session
        self.upload_dir = upload_dir
        self._logger: Any = None
        self._state: Any = None
        if _trial_session is not None:
            context = _trial_session.context
            self.trial_name = context.get_trial_name()
            self.trial_id = context.get_trial_id()
            self.logdir = context.get_trial_dir()
            self.experiment_dir = os.path.dirname(self.logdir) if self.logdir else ""
            self.trial_config = dict(trial_config or {})
            return
        from tunelab import _defaults
        from tunelab.logger import UnifiedLogger
        from tunelab.trainable._progress import IterationState
        from tunelab.utils import date_str

        root = (
            os.fspath(experiment_dir)
            if experiment_dir is not None
            else os.path.join(_defaults.results_root(), "default")
        )
        if "://" in root:
            raise ValueError(
                f"`experiment_dir` of track.init() must be a local directory, got {root!r}; "
                f"pass upload_dir= for remote storage"
            )
        self.trial_id = uuid.uuid4().hex[:8]
        self.trial_name = trial_name or f"trial_{self.trial_id}"
        self.trial_config = dict(trial_config or {})
        self.experiment_dir = os.path.abspath(os.path.expanduser(root))
        self.logdir = os.path.join(self.experiment_dir, f"{self.trial_name}_{date_str()}")
        os.makedirs(self.logdir, exist_ok=True)
        self._state = IterationState(self.trial_id)
        self._logger = UnifiedLogger(self.trial_config, self.logdir)

    @property
    def is_standalone(self) -> bool:
        """True for a session started by :func:`init` outside a tunelab trial."""
        return self._trial_session is None

    def log(self, **metrics: Any) -> None:
        """Record one result (one iteration)."""
        if self._trial_session is not None:
            _session.report(metrics)
            return
        if self._logger is None:
            raise RuntimeError(f"track session {self.trial_name!r} was shut down")
        result = self._state.fill(dict(metrics))
        result.setdefault("config", self.trial_config)
        self._logger.on_result(result)
        self._logger.flush()

    def close(self) -> None:
        """Close the files of a standalone session (nothing to do inside a trial)."""
        if self._logger is not None:
            self._logger.close()
            self._logger = None

    shutdown = close

    def __repr__(self) -> str:
        kind = "standalone" if self.is_standalone else "trial"
        return f"TrackSession({self.trial_name!r}, {kind}, logdir={self.logdir!r})"


_standalone: TrackSession | None = None


def _current() -> TrackSession | None:
    trial_session = _session._get_session()
    if trial_session is not None:
        return TrackSession(_trial_session=trial_session)
    return _standalone


def init(ignore_reinit_error: bool = True, **session_kwargs: Any) -> None:
    """Start tracking (see the module docstring). Inside a tunelab trial it does nothing.

    ``session_kwargs``: ``trial_name``, ``experiment_dir``, ``upload_dir``, ``trial_config``.
    """
    global _standalone
    if _session._get_session() is not None:
        return
    unknown = sorted(set(session_kwargs) - {"trial_name", "experiment_dir", "upload_dir",
                                            "trial_config"})  # fmt: skip
    if unknown:
        raise TypeError(
            f"track.init() got unknown arguments {unknown}; it takes trial_name, "
            f"experiment_dir, upload_dir, trial_config and ignore_reinit_error"
        )
    if _standalone is not None:
        if not ignore_reinit_error:
            raise ValueError(
                f"a track session already exists ({_standalone!r}); call track.shutdown() "
                f"first, or pass ignore_reinit_error=True"
            )
        return
    _standalone = TrackSession(**session_kwargs)


def shutdown() -> None:
    """End the standalone session started by :func:`init` (inside a trial: nothing)."""
    global _standalone
    if _standalone is not None:
        _standalone.close()
        _standalone = None


def log(**metrics: Any) -> None:
    """Report metrics: inside a trial ``tune.report(**metrics)``; standalone, one result of
    the session :func:`init` started (outside both, a one-time warning, as ``report``)."""
    if _session._get_session() is None and _standalone is not None:
        _standalone.log(**metrics)
        return
    _session.report(metrics)


def get_session() -> TrackSession:
    """The current :class:`TrackSession`; ``ValueError`` when there is none."""
    current = _current()
    if current is None:
        raise ValueError("Session not detected. Try `track.init()`?")
    return current


def trial_dir() -> str:
    """The trial's directory (the standalone session's, outside a trial)."""
    if _session._get_session() is None and _standalone is not None:
        return _standalone.logdir
    return _session.get_trial_dir()


def trial_name() -> str:
    if _session._get_session() is None and _standalone is not None:
        return _standalone.trial_name
    return _session.get_trial_name()


def trial_id() -> str:
    if _session._get_session() is None and _standalone is not None:
        return _standalone.trial_id
    return _session.get_trial_id()
