"""``tunelab.search.bohb`` (Ray Tune's ``ray.tune.search.bohb``): :class:`TuneBOHB`.

A native implementation of BOHB's model (a kernel density per budget); pair it with the
``HyperBandForBOHB`` scheduler. Importing this module does not import numpy; constructing
:class:`TuneBOHB` does, and raises an ``ImportError`` naming ``pip install "tunelab[bohb]"``
when it is missing.
"""

from __future__ import annotations

from tunelab.search.bohb._search import TuneBOHB

__all__ = ["TuneBOHB"]
