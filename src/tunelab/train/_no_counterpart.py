"""The ``__getattr__`` body of the ``tunelab.train.<framework>`` modules for the names of Ray
Train's distributed trainers, which have no counterpart."""

from __future__ import annotations

from collections.abc import Collection
from typing import NoReturn

__all__ = ["ray_train_only"]


def ray_train_only(module: str, name: str, names: Collection[str], instead: str) -> NoReturn:
    """``ImportError`` (an error ``from ... import`` raises as is) saying that ``name`` of
    ``module`` belongs to Ray Train's distributed training and what to use instead, when
    ``name`` is one of ``names``; ``AttributeError`` otherwise."""
    if name in names:
        raise ImportError(
            f"{module}.{name} has no counterpart: it belongs to Ray Train's distributed "
            f"training (workers placed by Ray, Ray Data), which tunelab does not re-create. "
            f"{instead}",
            name=module,
        )
    raise AttributeError(f"module {module!r} has no attribute {name!r}")
