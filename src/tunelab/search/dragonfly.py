"""Ray Tune's ``ray.tune.search.dragonfly`` (0.8-2.0; 1.x's ``ray.tune.suggest.dragonfly``).

Dragonfly does not run on numpy 2 (see :data:`tunelab.search._unavailable.REASONS`). The
module imports, so that a ported script fails on the name it uses: ``DragonflySearch``
raises :class:`~tunelab.search._unavailable.LibraryUnavailableError` (an ``ImportError``)
that says why and what to use instead.
"""

from __future__ import annotations

from typing import NoReturn

from tunelab.search._unavailable import unavailable

_NAMES = ("DragonflySearch",)


def __getattr__(name: str) -> NoReturn:
    unavailable(__name__, name, _NAMES)
