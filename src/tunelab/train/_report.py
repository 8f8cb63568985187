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
    """The running trial's context: the same object as :func:`tunelab.get_context`.

    A :class:`~tunelab.TuneContext` (``TrainContext`` is the same class) with
    ``get_trial_name()``, ``get_trial_id()``, ``get_trial_dir()``,
    ``get_experiment_name()``, ``get_trial_resources()``, ``get_storage()`` and Ray
    Train's rank getters. Outside a trial, a context holding the defaults.

    :rtype: ~tunelab.TuneContext
    """
    return _session.get_context()


def report(
    metrics: Mapping[str, Any],
    *,
    checkpoint: Checkpoint | None = None,
    checkpoint_dir_name: str | None = None,
) -> None:
    """Report one iteration's metrics, optionally with a checkpoint (Ray 2.7+).

    ``train.report`` is :func:`tunelab.report` with Ray Train's stricter signature: the
    metrics must be a dict and the checkpoint a :class:`~tunelab.Checkpoint`. Each call is
    one result, one ``training_iteration``, with the same auto-filled keys. The
    checkpoint's directory is copied into the trial directory (as
    ``checkpoint_<iteration>``) before this returns, so it may be a temporary directory
    that is deleted right after. Outside a trial, the call warns once and does nothing.
    When tunelab has decided that the trial ends, the call raises a control-flow exception
    (a ``BaseException``): let it propagate.

    Example::

        import tempfile

        from tunelab import train
        from tunelab.train import Checkpoint

        def trainable(config):
            for epoch in range(5):
                with tempfile.TemporaryDirectory() as directory:
                    with open(f"{directory}/epoch.txt", "w") as f:
                        f.write(str(epoch))
                    train.report(
                        {"loss": 1 / (epoch + 1)},
                        checkpoint=Checkpoint.from_directory(directory),
                    )

    Args:
        metrics: The metrics of this iteration: a dict of result key to value.
        checkpoint: A :class:`~tunelab.Checkpoint` to store with this result. None: no
            checkpoint.
        checkpoint_dir_name: Later Ray 2.x's name for the checkpoint's directory. Accepted and
            ignored, with a warning: tunelab names checkpoint directories
            ``checkpoint_<iteration>`` so that retention and rollback can find them.

    Raises:
        TypeError: ``metrics`` is not a dict, ``checkpoint`` is not a ``Checkpoint``, or
            ``checkpoint_dir_name`` is not a str.
        RuntimeError: The call comes from a process forked inside the trial.
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
