"""``tunelab.search.nevergrad`` (Ray Tune's ``ray.tune.search.nevergrad``).

:class:`NevergradSearch` runs nevergrad optimizers.

Importing this module does not import nevergrad; constructing :class:`NevergradSearch` does,
and raises an ``ImportError`` naming ``pip install "tunelab[nevergrad]"`` when it is missing.
"""

from __future__ import annotations

from tunelab.search.nevergrad._search import NevergradSearch

__all__ = ["NevergradSearch"]
