"""What the Keras and PyTorch Lightning callbacks share: which hooks they act on, which
metrics they report under which names, and how a checkpoint of the model is reported.

Neither framework is imported here. A checkpoint is a directory holding the model saved by
the framework under the callback's ``filename``; the name is also kept in the checkpoint's
metadata (:data:`MODEL_FILE_KEY`), so that a loader finds the file without being told.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tunelab import _session
from tunelab._checkpoint import Checkpoint, make_temp_checkpoint_dir

__all__ = [
    "MODEL_FILE_KEY",
    "Metrics",
    "check_filename",
    "check_hooks",
    "check_metrics",
    "checkpoint_dir_of",
    "model_path",
    "report",
    "select_metrics",
]

logger = logging.getLogger("tunelab.integration")

#: The checkpoint metadata key that names the model's file inside the checkpoint.
MODEL_FILE_KEY = "model_file"

#: What ``metrics=`` accepts: None (everything), a name, a list of names, or a dict
#: ``{name to report: the framework's name}``.
Metrics = str | Sequence[str] | Mapping[str, str] | None


def check_metrics(metrics: Any) -> list[str] | dict[str, str] | None:
    """``metrics`` as None (report everything), a list of names, or a dict report-name ->
    framework-name; ``TypeError`` for anything else."""
    if metrics is None:
        return None
    if isinstance(metrics, str):
        return [metrics]
    if isinstance(metrics, Mapping):
        if all(isinstance(k, str) and isinstance(v, str) for k, v in metrics.items()):
            return dict(metrics)
    elif isinstance(metrics, Sequence) and all(isinstance(m, str) for m in metrics):
        return list(metrics)
    raise TypeError(
        "metrics must be None (report every logged metric), a metric name, a list of names "
        "or a dict {name to report: the framework's name}, all str, got "
        f"{type(metrics).__name__}: {metrics!r}"
    )


def check_hooks(on: Any, allowed: Iterable[str], *, argument: str = "on") -> list[str]:
    """``on`` (a hook name without ``on_``, or a list of them) as a list; ``ValueError``
    naming the argument, the value and the allowed names when one is unknown."""
    names = [on] if isinstance(on, str) else on
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise TypeError(
            f"{argument} must be a hook name (str) or a list of them, got "
            f"{type(on).__name__}: {on!r}"
        )
    known = sorted(set(allowed))
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(
            f"{argument}: unknown hook(s) {unknown!r} in {on!r}; each must be one of {known} "
            "(the framework's callback hooks without the 'on_' prefix)"
        )
    return list(names)


def check_filename(filename: Any, *, argument: str = "filename") -> str:
    """A non-empty relative file name (the model's file inside the checkpoint)."""
    if isinstance(filename, os.PathLike):
        filename = os.fspath(filename)
    if not isinstance(filename, str) or not filename or os.path.isabs(filename):
        raise ValueError(
            f"{argument} must be a non-empty relative file name (the model's file inside the "
            f"checkpoint directory), got {filename!r}"
        )
    return filename


def scalar(value: Any) -> Any:
    """A one-element tensor or array as a Python number; anything else as it is."""
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (ValueError, RuntimeError, TypeError):  # not a single element
            return value
    return value


def select_metrics(
    metrics: list[str] | dict[str, str] | None,
    logged: Mapping[str, Any],
    *,
    framework: str,
    missing: str = "raise",
) -> dict[str, Any]:
    """The dict to report from the framework's ``logged`` values: all of them (``metrics``
    None) or the selected ones, renamed by a dict. A selected name that was not logged raises
    ``KeyError`` naming the logged ones (``missing="raise"``) or is left out with a warning
    in the log (``missing="warn"``)."""
    if metrics is None:
        return {str(k): scalar(v) for k, v in logged.items()}
    pairs = metrics.items() if isinstance(metrics, dict) else ((m, m) for m in metrics)
    report: dict[str, Any] = {}
    for name, source in pairs:
        if source in logged:
            report[name] = scalar(logged[source])
        elif missing == "warn":
            logger.warning(
                "metrics: %r is not among the metrics %s logged, %r; it is not reported",
                source,
                framework,
                sorted(logged),
            )
        else:
            raise KeyError(
                f"metrics: {source!r} is not among the metrics {framework} logged here, "
                f"{sorted(logged)!r}"
            )
    return report


def report(
    metrics: dict[str, Any],
    save: Callable[[str], None] | None = None,
    filename: str = "",
) -> None:
    """Report ``metrics`` to the running trial; with ``save``, also a checkpoint: a new
    directory in which ``save(path)`` writes the model at ``path`` (``filename`` inside it).
    Outside a trial nothing is saved (``report`` warns once that it does nothing there)."""
    if save is None or not _session.is_session_enabled():
        _session.report(metrics)
        return
    directory = make_temp_checkpoint_dir()
    save(os.path.join(directory, filename))
    checkpoint = Checkpoint.from_directory(directory)
    checkpoint.set_metadata({MODEL_FILE_KEY: filename})
    _session.report(metrics, checkpoint=checkpoint)


def checkpoint_dir_of(checkpoint: Any) -> Checkpoint:
    """``checkpoint`` (a :class:`~tunelab.Checkpoint`, or a checkpoint directory's path as
    0.x-1.x results hand out) as a Checkpoint; ``TypeError`` otherwise."""
    if isinstance(checkpoint, (str, os.PathLike)):
        return Checkpoint.from_directory(checkpoint)
    if isinstance(checkpoint, Checkpoint):
        return checkpoint
    raise TypeError(
        "checkpoint must be a tunelab Checkpoint (e.g. result.checkpoint) or a checkpoint "
        f"directory path, got {type(checkpoint).__name__}: {checkpoint!r}"
    )


def model_path(directory: str, checkpoint: Checkpoint, filename: str | None, default: str) -> str:
    """The model's path inside ``directory`` (``checkpoint`` as a local directory): the
    ``filename`` given, else the one recorded in the checkpoint's metadata, else
    ``default``; ``FileNotFoundError`` naming what the directory holds when it is absent."""
    if filename is not None:
        name = check_filename(filename)
    else:
        recorded = checkpoint.get_metadata().get(MODEL_FILE_KEY)
        name = recorded if isinstance(recorded, str) and recorded else default
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        present = sorted(n for n in os.listdir(directory) if not n.startswith("."))
        raise FileNotFoundError(
            f"the checkpoint directory {directory!r} has no model file {name!r} (it holds "
            f"{present!r}); pass filename= as given to the callback that saved it"
        )
    return path
