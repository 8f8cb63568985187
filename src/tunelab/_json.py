"""JSON helpers shared by loggers, experiment state and analysis."""

from __future__ import annotations

import math
from typing import Any


def json_safe(value: Any) -> Any:
    """Return ``value`` with everything JSON cannot hold turned into a string.

    Dicts, lists and tuples are walked; numbers, strings, bools and None pass through;
    numpy scalars become Python numbers; anything else becomes its ``repr``-like string.
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        try:
            return json_safe(item())
        except Exception:
            pass
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        try:
            return json_safe(tolist())
        except Exception:
            pass
    if callable(value):
        name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
        if name:
            return f"<function {name}>"
    return str(value)


def json_default(value: Any) -> Any:
    """``default=`` hook for :func:`json.dumps`: same conversions as :func:`json_safe`."""
    converted = json_safe(value)
    if converted is value:
        return str(value)
    return converted


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
