"""Comet (Ray Tune's ``ray.tune.integration.comet``, with the ``comet`` extra):
:class:`CometLoggerCallback`, one Comet experiment per trial (online, or offline with
``online=False``), its calls made in a helper thread of the driver.

Importing this module does not import comet_ml; constructing the callback does, and raises
an ``ImportError`` naming ``pip install "tunelab[comet]"`` when it is missing.
"""

from __future__ import annotations

from tunelab.integration._comet import CometLoggerCallback

__all__ = ["CometLoggerCallback"]
