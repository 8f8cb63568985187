"""Ray Tune 2.x's ``ray.tune.logger.comet``: :class:`CometLoggerCallback` (the ``comet``
extra; see :mod:`tunelab.integration.comet`)."""

from __future__ import annotations

from tunelab.integration._comet import CometLoggerCallback

__all__ = ["CometLoggerCallback"]
