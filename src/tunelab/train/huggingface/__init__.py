"""Ray 2.x's ``ray.train.huggingface`` paths: :mod:`tunelab.train.huggingface.transformers`.
Importing this package does not import transformers."""

from __future__ import annotations

from typing import Any

__all__: list[str] = []


def __getattr__(name: str) -> Any:
    if name == "transformers":
        import importlib

        return importlib.import_module(f"{__name__}.transformers")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
