"""The exception tree of tunelab.

``TuneError`` is the root of every error tunelab raises on its own behalf::

    TuneError
    ├── TrialError            a trial's trainable raised (carries the trial id and traceback)
    ├── ResourceError         a trial asks for resources that can never be satisfied
    └── ExtraNotInstalledError (also an ImportError) an optional integration is missing

Bad user input is reported with the built-in ``ValueError``/``TypeError`` (their messages
name the argument, the value received and what is allowed). ``StopTrial`` is not an error:
it is the control-flow exception the session raises inside a trainable to end it early.
"""

from __future__ import annotations

from typing import Any


class TuneError(Exception):
    """Root of tunelab's own errors. ``trials`` lists the affected trials when known."""

    def __init__(self, message: str = "", trials: list[Any] | None = None) -> None:
        super().__init__(message)
        self.trials = list(trials or [])


class TrialError(TuneError):
    """A trainable raised. ``trial_id`` names the trial, ``traceback`` holds its text."""

    def __init__(self, message: str, trial_id: str = "", traceback: str = "") -> None:
        super().__init__(message)
        self.trial_id = trial_id
        self.traceback = traceback


class ResourceError(TuneError):
    """A trial asks for resources that no placement can ever satisfy."""


class ExtraNotInstalledError(TuneError, ImportError):
    """An optional integration is used but its extra is not installed."""

    def __init__(self, feature: str, extra: str, module: str) -> None:
        super().__init__(
            f"{feature} needs the optional package {module!r}; "
            f'install it with: pip install "tunelab[{extra}]"'
        )
        self.extra = extra


class StopTrial(BaseException):
    """Raised inside a trainable by ``report`` when the controller decided to stop it.

    It derives from ``BaseException`` so that a user's ``except Exception`` does not swallow it.
    """


def require(module: str, *, extra: str, feature: str) -> Any:
    """Import ``module`` or raise :class:`ExtraNotInstalledError` naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ExtraNotInstalledError(feature, extra, module) from exc
