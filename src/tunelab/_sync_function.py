"""The 0.x ``sync_function`` (``Experiment(sync_function=)``, 0.6) and ``sync_to_cloud``
(``tune.run(sync_to_cloud=)``, 0.8): the user's own way of copying the experiment
directory to ``upload_dir``.

As in Ray Tune 0.x it is either a function ``fn(local_dir, remote_dir)`` or a command
template (run by the shell, as Ray ran it) with the fields ``{local_dir}`` and
``{remote_dir}`` (0.6) or ``{source}`` and ``{target}`` (0.8); the directories are
shell-quoted before they are put in. It replaces tunelab's own upload for that experiment:
it runs in a background thread at most every ``period_s`` seconds while the experiment
runs (a run that is still going is not started twice) and once more when it ends, which
the experiment waits for.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from tunelab._callback import Callback
from tunelab._errors import TuneTypeError, TuneValueError

__all__ = ["SyncFunctionCallback", "check_sync_function"]

logger = logging.getLogger("tunelab")

_FIELDS = ("local_dir", "remote_dir", "source", "target")


def check_sync_function(value: Any, argument: str = "sync_function") -> Any:
    """None, a function ``fn(local_dir, remote_dir)`` or a command template with
    ``{local_dir}``/``{remote_dir}`` (or ``{source}``/``{target}``) fields."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value.format(**dict.fromkeys(_FIELDS, "x"))
        except (KeyError, IndexError, ValueError) as exc:
            raise TuneValueError(
                f"{argument}: a command template may use only the fields {{local_dir}} and "
                f"{{remote_dir}} (or {{source}} and {{target}}), got {value!r} ({exc!r})"
            ) from None
        if not any("{" + name + "}" in value for name in _FIELDS):
            raise TuneValueError(
                f"{argument}: the command template must name where to copy from and to, with "
                f"{{local_dir}} and {{remote_dir}} (or {{source}} and {{target}}), got {value!r}"
            )
        return value
    if callable(value):
        return value
    raise TuneTypeError(
        f"{argument} must be None, a command template (str) or a function(local_dir, "
        f"remote_dir), got {value!r}"
    )


class SyncFunctionCallback(Callback):
    """Runs ``sync`` (see the module docstring) to copy ``local_dir`` to ``remote_dir``:
    every ``period_s`` seconds from a background thread, and once at the experiment's end
    (waited for). A failing sync is logged; the next one tries again."""

    def __init__(
        self,
        sync: Callable[[str, str], Any] | str,
        local_dir: str,
        remote_dir: str,
        *,
        period_s: float = 300.0,
    ) -> None:
        self.sync = check_sync_function(sync)
        self.local_dir = local_dir
        self.remote_dir = remote_dir
        self.period_s = period_s
        self._last = time.monotonic()
        self._thread: threading.Thread | None = None
        self.runs = 0  # completed syncs (successful or not)

    def _run_once(self) -> None:
        try:
            if isinstance(self.sync, str):
                local, remote = shlex.quote(self.local_dir), shlex.quote(self.remote_dir)
                command = self.sync.format(
                    local_dir=local, remote_dir=remote, source=local, target=remote
                )
                # the user's own command template, run by the shell as Ray Tune 0.x ran it
                completed = subprocess.run(command, shell=True, check=False)
                if completed.returncode != 0:
                    logger.warning(
                        "tunelab: the sync command %r exited with %d", command, completed.returncode
                    )
            else:
                self.sync(self.local_dir, self.remote_dir)
        except Exception:
            logger.warning(
                "tunelab: syncing %s to %s failed", self.local_dir, self.remote_dir, exc_info=True
            )
        finally:
            self.runs += 1

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        now = time.monotonic()
        if now - self._last < self.period_s:
            return
        if self._thread is not None and self._thread.is_alive():
            return  # the previous sync is still going
        self._last = now
        self._thread = threading.Thread(
            target=self._run_once, name="tunelab-sync-function", daemon=True
        )
        self._thread.start()

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        if self._thread is not None:
            self._thread.join()
        self._run_once()
