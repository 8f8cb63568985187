"""Ray Tune's ``ray.tune.integration.docker`` (Docker syncer).

No tunelab counterpart: it runs on Ray Core. The module imports, so that a ported script fails
on the name it uses; each name raises :class:`~tunelab.integration.IntegrationNotAvailableError`
(an ``ImportError``).
"""

from __future__ import annotations

from typing import NoReturn

from tunelab.integration._pending import missing

_NAMES = ("DockerSyncClient", "DockerSyncer")


def __getattr__(name: str) -> NoReturn:
    missing(__name__, name, _NAMES)
