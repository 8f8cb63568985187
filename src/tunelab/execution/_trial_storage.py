"""Where a worker keeps a trial's files, and where its checkpoints go.

An experiment stored at a URI (``s3://...``) runs in the driver's local *staging* directory,
which a background syncer mirrors to the URI. A worker that sees that directory (same
machine, or shared storage) writes checkpoints into it, as for a local experiment. A worker
that does not (a Dask worker on another machine) works in a local directory of its own and
uploads each checkpoint straight to the URI, announcing the URI to the controller; it
downloads remote checkpoints it must restore from.

The task's ``remote`` field (a :class:`~tunelab.execution._protocol.RemoteStorage`) says
where the experiment lives: ``experiment_dir`` (the driver's staging directory), ``uri`` (the
experiment's URI) and ``token`` (the random token that the staging directory's marker file
holds), or None for a local experiment.
Its ``upload`` field (``TUNELAB_CHECKPOINT_UPLOAD`` in the driver's environment, read at the
front door) can force either behaviour.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tunelab._errors import TuneError
from tunelab._storage import STAGING_MARKER, download, is_uri, join_uri, upload

if TYPE_CHECKING:
    from tunelab.execution._protocol import TrialTask

__all__ = ["TrialStorage"]

_UPLOAD_ATTEMPTS = 3
_UPLOAD_BACKOFF_S = 0.5


def _sees_staging(experiment_dir: str, token: str) -> bool:
    try:
        with open(os.path.join(experiment_dir, STAGING_MARKER), encoding="utf-8") as fh:
            return fh.read().strip() == token
    except OSError:
        return False


@dataclass
class TrialStorage:
    """``trial_dir``: the local directory the trial runs in. ``remote_dir``: the URI of the
    trial's directory when checkpoints go straight to remote storage (else None), with the
    driver's ``experiment_dir`` and the experiment's ``experiment_uri`` to map paths.
    Call :meth:`cleanup` when the trial's run ends (it removes downloaded checkpoints)."""

    trial_dir: str
    remote_dir: str | None = None
    experiment_dir: str = ""
    experiment_uri: str = ""
    _downloads: list[str] = field(default_factory=list)

    @classmethod
    def for_task(cls, task: TrialTask) -> TrialStorage:
        trial_dir = task.trial_dir
        remote = task.remote
        if remote is None:
            return cls(trial_dir)
        mode = remote.upload
        if mode == "staging" or (
            mode == "auto" and _sees_staging(remote.experiment_dir, remote.token)
        ):
            return cls(trial_dir)
        relative = os.path.relpath(trial_dir, remote.experiment_dir).replace(os.sep, "/")
        local = os.path.join(
            tempfile.gettempdir(),
            f"tunelab-worker-{os.getuid() if hasattr(os, 'getuid') else 'user'}",
            remote.token[:12],
            *relative.split("/"),
        )
        return cls(
            local,
            join_uri(remote.uri, relative),
            experiment_dir=remote.experiment_dir,
            experiment_uri=remote.uri,
        )

    @property
    def direct(self) -> bool:
        """True when checkpoints go straight to remote storage."""
        return self.remote_dir is not None

    def publish(self, path: str) -> str:
        """The location to announce for the checkpoint just written at ``path``: ``path``
        itself, or (direct mode) the URI it was uploaded to; the local copy is then removed."""
        if self.remote_dir is None or is_uri(path):
            return path
        target = join_uri(self.remote_dir, os.path.basename(path.rstrip(os.sep)))
        for attempt in range(_UPLOAD_ATTEMPTS):
            try:
                upload(path, target)
                break
            except Exception as exc:
                if attempt + 1 == _UPLOAD_ATTEMPTS:
                    raise TuneError(
                        f"could not upload the checkpoint {path} to {target} after "
                        f"{_UPLOAD_ATTEMPTS} attempts ({type(exc).__name__}: {exc}); the local "
                        "copy is kept there"
                    ) from exc
                time.sleep(_UPLOAD_BACKOFF_S * 2**attempt)
        shutil.rmtree(path, ignore_errors=True)
        return target

    def fetch(self, path: str | None) -> str | None:
        """A local directory holding the checkpoint at ``path`` (None stays None): a URI is
        downloaded into the trial directory; in direct mode, a path inside the driver's
        staging directory that this machine does not see is read from the URI it was
        mirrored to."""
        if path is None:
            return None
        if not is_uri(path):
            if self.remote_dir is None or os.path.exists(path):
                return path
            relative = os.path.relpath(path, self.experiment_dir)
            if relative.startswith(".."):
                return path  # not the experiment's: let the trainable report it missing
            path = join_uri(self.experiment_uri, relative.replace(os.sep, "/"))
        scratch = tempfile.mkdtemp(prefix="tunelab_restore_")
        self._downloads.append(scratch)
        local = os.path.join(scratch, path.rstrip("/").rsplit("/", 1)[-1])
        download(path, local)
        return local

    def cleanup(self) -> None:
        """Remove the checkpoints :meth:`fetch` downloaded, and (direct mode) the worker's
        local trial directory when nothing is left in it."""
        for scratch in self._downloads:
            shutil.rmtree(scratch, ignore_errors=True)
        self._downloads.clear()
        if self.remote_dir is not None:
            with contextlib.suppress(OSError):  # not empty: the trainable's own files stay
                os.removedirs(self.trial_dir)
