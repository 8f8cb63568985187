"""The 0.7/0.8 ``tune.track`` API: ``track.log(**metrics)`` reports one iteration."""

from __future__ import annotations

from typing import Any

from tunelab import _session


def log(**metrics: Any) -> None:
    """Report metrics (same as ``tune.report(**metrics)``)."""
    _session.report(metrics)


def init(*args: Any, **kwargs: Any) -> None:
    """Kept for 0.7 code: tunelab sets up the session itself; this does nothing."""


def shutdown() -> None:
    """Kept for 0.7 code: does nothing."""


def trial_dir() -> str:
    return _session.get_trial_dir()


def trial_name() -> str:
    return _session.get_trial_name()


def trial_id() -> str:
    return _session.get_trial_id()


def get_session() -> Any:
    return _session._get_session()


__all__ = ["get_session", "init", "log", "shutdown", "trial_dir", "trial_id", "trial_name"]
