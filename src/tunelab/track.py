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
    """One tracked trial (0.7's ``TrackSession``).

    Inside a tunelab trial, :func:`get_session` returns one that reports through the trial's
    session. Standalone (made by :func:`init` outside a trial), it writes the trial's files
    itself with tunelab's default loggers (``params.json``, ``result.json``,
    ``progress.csv``...) in ``<experiment_dir>/<trial_name>_<date>``.

    Args:
        trial_name: The trial's name. ``""``: ``trial_<trial_id>`` (standalone) or the
            running trial's name.
        experiment_dir: Standalone: the local directory that holds the trial's directory.
            None: ``<results root>/default`` (``TUNELAB_RESULTS_DIR`` or
            ``~/tunelab_results``). A URI is refused.
        upload_dir: 0.7's remote copy target; recorded only.
        trial_config: The trial's config, written to ``params.json`` and added to every
            result as ``config`` (standalone). None: ``{}``.
        _trial_session: Internal: the running trial's session.

    Attributes:
        trial_name (str): The trial's name.
        trial_id (str): The trial's id (8 hex digits for a standalone session).
        trial_config (dict): The trial's config.
        experiment_dir (str): The directory that holds the trial's directory.
        upload_dir: As given.
        logdir (str): The trial's directory.

    Raises:
        TypeError: ``trial_config`` is not a dict or ``trial_name`` not a str.
        ValueError: ``experiment_dir`` is a URI.
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
        """Record one result (one iteration): inside a trial, :func:`tunelab.report`;
        standalone, one line in ``result.json`` and ``progress.csv`` with the auto-filled
        keys (``training_iteration``, ``time_total_s``...).

        Args:
            **metrics: The metrics, as keyword arguments.

        Raises:
            RuntimeError: The standalone session was shut down.
        """
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
    """Start tracking a script that tunelab does not run (0.7's ``track.init``).

    Outside a trial, starts a standalone :class:`TrackSession`, which :func:`log` writes
    to; end it with :func:`shutdown`. Inside a tunelab trial it does nothing (the trial's
    session is already set up).

    Example::

        from tunelab import track

        track.init(trial_name="baseline", trial_config={"lr": 0.1})
        for step in range(3):
            track.log(loss=1 / (step + 1))
        track.shutdown()

    Args:
        ignore_reinit_error: When a standalone session is already open: True (the
            default) keeps it and does nothing, False raises ``ValueError``.
        **session_kwargs: :class:`TrackSession`'s arguments: ``trial_name``,
            ``experiment_dir``, ``upload_dir``, ``trial_config``.

    Raises:
        TypeError: An unknown keyword argument, or a ``trial_config``/``trial_name`` of
            the wrong type.
        ValueError: A standalone session is open and ``ignore_reinit_error`` is False, or
            ``experiment_dir`` is a URI.
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
    """Report one iteration's metrics (0.7-0.8's ``tune.track.log``).

    Inside a trial, the same as ``tune.report(**metrics)``; in a standalone session
    started by :func:`init`, one result written to its files; outside both, a one-time
    warning and nothing else, as :func:`tunelab.report`.

    Args:
        **metrics: The metrics, as keyword arguments.
    """
    if _session._get_session() is None and _standalone is not None:
        _standalone.log(**metrics)
        return
    _session.report(metrics)


def get_session() -> TrackSession:
    """The current :class:`TrackSession`: the running trial's, else the standalone one.

    Raises:
        ValueError: There is neither a running trial nor a standalone session (as 0.7).
    """
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
    """The trial's name (the standalone session's, outside a trial)."""
    if _session._get_session() is None and _standalone is not None:
        return _standalone.trial_name
    return _session.get_trial_name()


def trial_id() -> str:
    """The trial's id (the standalone session's, outside a trial)."""
    if _session._get_session() is None and _standalone is not None:
        return _standalone.trial_id
    return _session.get_trial_id()
