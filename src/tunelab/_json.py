"""JSON helpers shared by loggers, experiment state and analysis."""

from __future__ import annotations

import contextlib
import gc
import json
import json.encoder
import math
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No automatic cyclic garbage collection inside the block; the collector's earlier
    state is restored after it.

    For reading a large experiment state: decoding it and rebuilding its trials makes
    millions of objects without reference cycles, and every automatic collection on the
    way traverses all of them (half the time of reading 100,000 trials). When the block
    left many new objects, one collection of the young generations moves them to the
    oldest at once (else each later young collection would traverse them again).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
            if gc.get_count()[0] > _MANY_NEW_OBJECTS:
                gc.collect(1)


#: new objects after :func:`paused_gc` above which it collects the young generations
_MANY_NEW_OBJECTS = 100_000


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


def make_encoder(default: Callable[[Any], Any] | None = json_default) -> Callable[[Any], str]:
    """A reusable ``json.dumps(obj, default=default)`` equivalent, built once (``default``
    None: ``json.dumps(obj)``, a ``TypeError`` for what JSON cannot hold).

    It drives the C encoder directly (saving the encoder set-up ``json.dumps`` pays per
    call) and falls back to :class:`json.JSONEncoder` where that is unavailable. After a
    failed encode the C encoder is rebuilt (its circular-reference markers may be stale).
    One encoder per user (a logger, a state writer): its markers are not for two threads
    at once.
    """
    fallback = json.JSONEncoder(default=default).encode
    hook = default or json.JSONEncoder().default
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return fallback

    def build() -> Any:
        return make(
            {}, hook, json.encoder.encode_basestring_ascii, None,
            ": ", ", ", False, False, True,
        )  # fmt: skip

    try:
        c_encoder = build()
        probe: dict[str, Any] = {"a": [1, 2.5, None, True], "b": {"c": "\u00e9"}, "n": float("nan")}
        if "".join(c_encoder(probe, 0)) != fallback(probe):
            return fallback
    except Exception:
        return fallback

    def encode(obj: Any) -> str:
        nonlocal c_encoder
        try:
            return "".join(c_encoder(obj, 0))
        except BaseException:
            c_encoder = build()
            raise

    return encode


def safely_equal(a: Any, b: Any) -> bool:
    """``a == b``, False when comparing fails or gives no single truth value (values
    holding numpy arrays, say)."""
    try:
        return bool(a == b)
    except Exception:
        return False


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
