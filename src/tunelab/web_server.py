"""Ray Tune 0.x-2.0's ``ray.tune.web_server`` path: :class:`TuneClient` and :class:`TuneServer`.

The same classes as :mod:`tunelab.server`.
"""

from __future__ import annotations

from tunelab.server import TuneClient, TuneServer

__all__ = ["TuneClient", "TuneServer"]
