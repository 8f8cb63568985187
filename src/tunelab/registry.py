"""Ray Tune's ``ray.tune.registry`` path: :func:`register_trainable` and :func:`register_env`."""

from __future__ import annotations

from tunelab._registry import register_env, register_trainable

__all__ = ["register_env", "register_trainable"]
