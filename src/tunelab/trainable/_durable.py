"""``DurableTrainable`` (Ray Tune 0.8) and ``durable(trainable)`` (1.x).

In Ray Tune 0.8 a ``DurableTrainable`` was a class trainable whose checkpoints were uploaded
to ``upload_dir`` after every save (and downloaded before a restore), so that a trial could
resume on another machine. Ray Tune received the trial's remote directory as the
constructor's first argument, ``remote_checkpoint_dir``.

tunelab's storage layer does that for every trainable: with ``storage_path`` set to a URI
(``s3://...``) or ``upload_dir``/``SyncConfig(upload_dir=...)``, checkpoints reach remote
storage and a resumed trial restores from there. So ``DurableTrainable`` is a
:class:`Trainable` that also receives ``remote_checkpoint_dir`` (keyword or first
positional, as in 0.8: subclasses with ``__init__(self, remote_checkpoint_dir, *args,
**kwargs)`` keep working), and :func:`durable` gives any trainable that behaviour by name
only. ``remote_checkpoint_dir`` is the trial's directory in remote storage when the
experiment's ``storage_path`` is a URI, else ``None`` (the checkpoints then live in the
local trial directory and are mirrored to ``upload_dir`` by the experiment's syncer, if one
was given).
"""

from __future__ import annotations

import os
from typing import Any

from tunelab.trainable._trainable import Trainable

__all__ = ["DurableTrainable", "durable"]


def _remote_trial_dir() -> str | None:
    """The running trial's directory in remote storage, or None (no trial, local storage)."""
    from tunelab import _session
    from tunelab._storage import is_uri, join_uri

    session = _session._get_session()
    if session is None:
        return None
    context = session.context
    storage = context.get_storage()
    trial_dir = context.get_trial_dir()
    if not storage or not trial_dir or not is_uri(storage):
        return None
    name = os.path.basename(os.path.normpath(trial_dir))
    return join_uri(join_uri(storage, context.get_experiment_name()), name)


class _DurableMeta(type):
    """Hands ``remote_checkpoint_dir`` to the constructor as Ray Tune 0.8 did.

    tunelab builds a class trainable as ``cls(config)``; for a durable class the config is
    moved to the ``config=`` keyword and ``remote_checkpoint_dir=`` is added, unless the
    caller gave one (a str, or None, as the first positional argument or by keyword).
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if "remote_checkpoint_dir" not in kwargs:
            if args and (args[0] is None or isinstance(args[0], str | os.PathLike)):
                kwargs["remote_checkpoint_dir"], args = args[0], args[1:]
            else:
                kwargs["remote_checkpoint_dir"] = _remote_trial_dir()
        if args and "config" not in kwargs:
            kwargs["config"], args = args[0], args[1:]
        return super().__call__(*args, **kwargs)


class DurableTrainable(Trainable, metaclass=_DurableMeta):
    """A class trainable that knows its remote checkpoint directory (Ray Tune 0.8).

    Implement it like :class:`Trainable`. Checkpoints reach remote storage through the
    experiment's storage (``storage_path="s3://..."`` or ``upload_dir``), as for every
    trainable in tunelab; see the module docstring.

    Attributes:
        remote_checkpoint_dir: the trial's directory in remote storage, or ``None``.
    """

    def __init__(
        self,
        remote_checkpoint_dir: str | os.PathLike[str] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        if remote_checkpoint_dir is not None and not isinstance(
            remote_checkpoint_dir, str | os.PathLike
        ):
            raise TypeError(
                f"`remote_checkpoint_dir` of {type(self).__name__}() must be a path or URI "
                f"(str) or None, got {remote_checkpoint_dir!r}"
            )
        self.remote_checkpoint_dir = (
            os.fspath(remote_checkpoint_dir) if remote_checkpoint_dir is not None else None
        )
        super().__init__(*args, **kwargs)

    def _storage_path(self, local_path: str) -> str | None:
        """Where ``local_path`` (inside :attr:`logdir`) lives in remote storage (0.8 helper)."""
        if self.remote_checkpoint_dir is None:
            return None
        from tunelab._storage import join_uri

        relative = os.path.relpath(local_path, self.logdir).replace(os.sep, "/")
        return join_uri(self.remote_checkpoint_dir, relative)


def durable(trainable: Any) -> Any:
    """Ray Tune 1.x ``tune.durable(trainable)``: the trainable with durable checkpoints.

    A :class:`Trainable` subclass comes back as a :class:`DurableTrainable` subclass of the
    same name; a function or a registered name comes back as it is, since tunelab syncs
    every trainable's checkpoints to the experiment's remote storage (see the module
    docstring). Anything else is a ``TypeError``.
    """
    if isinstance(trainable, type) and issubclass(trainable, Trainable):
        if issubclass(trainable, DurableTrainable):
            return trainable
        wrapped = _DurableMeta(
            trainable.__name__,
            (DurableTrainable, trainable),
            {"__module__": trainable.__module__, "__qualname__": trainable.__qualname__},
        )
        return wrapped
    if isinstance(trainable, str) or callable(trainable):
        return trainable
    raise TypeError(
        f"`trainable` of durable() must be a Trainable subclass, a function or a registered "
        f"trainable name, got {trainable!r}"
    )
