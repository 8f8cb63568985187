"""Ray Tune 2.x's ``ray.tune.logger.aim``: :class:`AimLoggerCallback`, one Aim run per trial
in a local Aim repository (the ``aim`` extra), its calls made in a helper thread of the
driver.

Importing this module does not import aim; constructing the callback does, and raises an
``ImportError`` naming ``pip install "tunelab[aim]"`` when it is missing.
"""

from __future__ import annotations

from tunelab.integration._aim import AimLoggerCallback

__all__ = ["AimLoggerCallback"]
