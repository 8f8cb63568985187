"""Ray Tune searchers whose libraries cannot run with tunelab's dependencies.

Their modules (``tunelab.search.dragonfly``, ``tunelab.search.sigopt``, also reachable as
``tunelab.suggest.<name>``) import, so that a ported script fails on the name it uses, with
:class:`LibraryUnavailableError`: an ``ImportError`` (an
:class:`~tunelab.integration.IntegrationNotAvailableError` whose ``issue`` is ``None``) that
says why the library cannot be used and what to use instead.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NoReturn

from tunelab.integration._pending import IntegrationNotAvailableError

__all__ = ["REASONS", "LibraryUnavailableError", "unavailable"]

#: Why each module's library cannot be used (checked on Python 3.11 with numpy 2).
REASONS = {
    "tunelab.search.dragonfly": (
        "Dragonfly (dragonfly-opt 0.1.7, its last release, from 2022) does not run on numpy 2: "
        "it calls np.math, which numpy 2.0 removed (and its source distribution builds only "
        "with numpy preinstalled and pip's build isolation off). Use another Bayesian "
        "optimizer: BayesOptSearch, SkOptSearch, HEBOSearch or AxSearch"
    ),
    "tunelab.search.sigopt": (
        "SigOpt is a hosted service: its client (the sigopt package) only talks to SigOpt's "
        "API over the network with an API token and has no offline mode, so tunelab has no "
        "adapter it could test. Use a local searcher: OptunaSearch (multi-objective too), "
        "AxSearch, HyperOptSearch, ..."
    ),
}


class LibraryUnavailableError(IntegrationNotAvailableError):
    """A Ray Tune searcher whose library cannot run here (see :data:`REASONS`)."""

    def __init__(self, module: str, attribute: str) -> None:
        super().__init__(module, attribute)
        self.issue = None
        message = f"tunelab has no {attribute} ({self.ray_path}): {REASONS[module]}"
        self.args = (message,)
        self.msg = message  # what ImportError.__str__ shows


def unavailable(module: str, name: str, names: Collection[str]) -> NoReturn:
    """The body of such a module's ``__getattr__``: :class:`LibraryUnavailableError` for a
    listed name, ``AttributeError`` for any other."""
    if name in names:
        raise LibraryUnavailableError(module, name)
    raise AttributeError(f"module {module!r} has no attribute {name!r}")
