"""Ray Tune's ``ray.tune.callback`` path: :class:`Callback`, the experiment-event hooks."""

from __future__ import annotations

from tunelab._callback import Callback

__all__ = ["Callback"]
