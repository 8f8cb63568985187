"""``train.report``, ``train.get_checkpoint`` and ``train.get_context``: Ray 2.7+'s in-trial
spellings, on top of the one trial session of :mod:`tunelab._session`."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from tunelab import _session
from tunelab._checkpoint import Checkpoint
from tunelab._session import TuneContext, get_checkpoint

__all__ = ["TrainContext", "get_checkpoint", "get_context", "report"]

# Ray's TrainContext is the base of its TuneContext; in a Tune trial both are one object with
# the trial's facts (name, id, directory, resources, experiment, storage, ranks).
TrainContext = TuneContext


def get_context() -> TuneContext:
    """The running trial's context (``get_trial_name()``, ``get_trial_id()``,
    ``get_trial_dir()``, ``get_experiment_name()``, ``get_trial_resources()``,
    ``get_storage()``, ``get_world_rank()``...); outside a trial, a context with defaults."""
    return _session.get_context()


def report(
    metrics: Mapping[str, Any],
    *,
    checkpoint: Checkpoint | None = None,
    checkpoint_dir_name: str | None = None,
) -> None:
    """Report one iteration's ``metrics`` (a dict), optionally with a ``checkpoint``.

    Each call is one ``training_iteration``. The checkpoint's directory is copied into the
    trial's storage before this returns, so it may be a temporary directory that is deleted
    right after. ``checkpoint_dir_name`` (later Ray 2.x) is accepted and ignored with a
    warning: tunelab names checkpoint directories ``checkpoint_<iteration>``. Outside a
    trial, warns once and does nothing. May raise the trial's stop signal; let it propagate.
    """
    if not isinstance(metrics, Mapping):
        raise TypeError(
            "train.report: metrics must be a dict of metric name -> value, got "
            f"{type(metrics).__name__}: {_session._safe_repr(metrics)}"
        )
    if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
        raise TypeError(
            "train.report: checkpoint must be None or a tunelab.train.Checkpoint "
            "(e.g. Checkpoint.from_directory(path)), got "
            f"{type(checkpoint).__name__}: {_session._safe_repr(checkpoint)}"
        )
    if checkpoint_dir_name is not None:
        if not isinstance(checkpoint_dir_name, str):
            raise TypeError(
                "train.report: checkpoint_dir_name must be None or a str, got "
                f"{checkpoint_dir_name!r}"
            )
        warnings.warn(
            f"tunelab: train.report(checkpoint_dir_name={checkpoint_dir_name!r}) is ignored; "
            "the checkpoint is stored as checkpoint_<iteration> in the trial directory",
            stacklevel=2,
        )
    session = _session._get_session()
    if session is None:
        _session._outside("report")
        return
    session.report(dict(metrics), checkpoint)
