"""``tunelab.search.hebo`` (Ray Tune's ``ray.tune.search.hebo`` and 1.x's
``ray.tune.suggest.hebo``): :class:`HEBOSearch`.

Importing this module does not import HEBO; constructing :class:`HEBOSearch` does, and raises
an ``ImportError`` that says how to install it when it is missing: ``pip install
"tunelab[hebo]"`` (HEBO's dependencies, PyTorch among them), then ``pip install --no-deps
"HEBO>=0.3.5"`` (HEBO's own metadata pins numpy<1.25; it runs on numpy 2).
"""

from __future__ import annotations

from tunelab.search.hebo._search import HEBOSearch

__all__ = ["HEBOSearch"]
