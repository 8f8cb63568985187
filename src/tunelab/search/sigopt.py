"""Ray Tune's ``ray.tune.search.sigopt`` (0.6-2.0; 1.x's ``ray.tune.suggest.sigopt``).

SigOpt is a hosted service with no offline mode (see
:data:`tunelab.search._unavailable.REASONS`). The module imports, so that a ported script
fails on the name it uses: ``SigOptSearch`` raises
:class:`~tunelab.search._unavailable.LibraryUnavailableError` (an ``ImportError``) that says
why and what to use instead.
"""

from __future__ import annotations

from typing import NoReturn

from tunelab.search._unavailable import unavailable

_NAMES = ("SigOptSearch",)


def __getattr__(name: str) -> NoReturn:
    unavailable(__name__, name, _NAMES)
