"""Serialization helpers: ``diagnose_serialization`` and the pinned-object registry."""

from __future__ import annotations

import inspect
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Literal

__all__ = ["PinnedObjectRef", "diagnose_serialization", "get_pinned_object", "pin_in_object_store"]

_MAX_DEPTH = 3


def _pickle_error(value: Any) -> str | None:
    import cloudpickle

    try:
        cloudpickle.dumps(value)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _references(fn: Callable[..., Any]) -> Iterator[tuple[str, str, Any]]:
    """(name, kind, value) for every closure variable, global and default ``fn`` uses."""
    try:
        closure = inspect.getclosurevars(fn)
    except (TypeError, ValueError):
        return
    for name, value in closure.nonlocals.items():
        yield name, "closure variable", value
    for name, value in closure.globals.items():
        yield name, "global variable", value
    signature_defaults = getattr(fn, "__kwdefaults__", None) or {}
    for name, value in signature_defaults.items():
        yield name, "keyword default", value
    code = getattr(fn, "__code__", None)
    defaults = getattr(fn, "__defaults__", None) or ()
    if code is not None and defaults:
        positional = code.co_varnames[: code.co_argcount]
        for name, value in zip(positional[-len(defaults) :], defaults):
            yield name, "default argument", value


def _find_culprits(
    fn: Callable[..., Any], depth: int, seen: set[int]
) -> list[tuple[str, str, str, list[Any]]]:
    """Unpicklable references of ``fn``: (name, kind, error, nested culprits)."""
    found: list[tuple[str, str, str, list[Any]]] = []
    for name, kind, value in _references(fn):
        if id(value) in seen:
            continue
        seen.add(id(value))
        error = _pickle_error(value)
        if error is None:
            continue
        nested: list[Any] = []
        if inspect.isfunction(value) and depth < _MAX_DEPTH:
            nested = _find_culprits(value, depth + 1, seen)
        found.append((name, kind, error, nested))
    return found


def _format(culprits: list[tuple[str, str, str, list[Any]]], indent: int) -> list[str]:
    lines = []
    for name, kind, error, nested in culprits:
        lines.append(f"{'  ' * indent}- {name!r} ({kind}): {error}")
        lines.extend(_format(nested, indent + 1))
    return lines


def diagnose_serialization(trainable: Callable[..., Any]) -> Literal[True] | set[str]:
    """Check that a function trainable can be sent to a worker, and say what blocks it.

    Pickles ``trainable`` with cloudpickle. On success prints so and returns True. On
    failure inspects the closure variables, the globals and the default arguments the
    function uses, prints a report of those that cannot be pickled (following functions
    they call, a few levels deep) and returns the set of their names (empty when no single
    variable is to blame). Raises ``TypeError`` for anything but a plain function.
    """
    if not inspect.isfunction(trainable):
        raise TypeError(
            "trainable must be a function trainable (def train(config): ...); "
            f"diagnose_serialization does not inspect {type(trainable).__name__} objects, "
            f"got {trainable!r}"
        )
    name = getattr(trainable, "__qualname__", trainable.__name__)
    error = _pickle_error(trainable)
    if error is None:
        print(f"Serialization check of {name!r}: it can be pickled; nothing to fix.")
        return True
    culprits = _find_culprits(trainable, 1, set())
    lines = [f"Serialization check of {name!r} failed: {error}"]
    if culprits:
        lines.append("These variables it uses cannot be pickled:")
        lines.extend(_format(culprits, 1))
        lines.append(
            "Fix: create these objects inside the trainable (for example from its config) "
            "instead of capturing them from the enclosing scope."
        )
    else:
        lines.append("No single variable could be identified; the function object itself fails.")
    print("\n".join(lines))
    return {culprit[0] for culprit in culprits}


class PinnedObjectRef:
    """A small picklable handle to an object pinned with :func:`pin_in_object_store`.

    It carries an id and the object serialized once; :func:`get_pinned_object` turns it
    back into the object, deserializing at most once per process. Made by
    :func:`pin_in_object_store` (and :func:`tunelab.put`), not by hand.

    Args:
        id: The pinned object's unique id (a hex string).
        payload: The object serialized with cloudpickle.
    """

    __slots__ = ("id", "payload")

    def __init__(self, id: str, payload: bytes) -> None:
        self.id = id
        self.payload = payload

    def __reduce__(self) -> tuple[Any, ...]:
        return (PinnedObjectRef, (self.id, self.payload))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PinnedObjectRef) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"PinnedObjectRef(id={self.id!r}, nbytes={len(self.payload)})"


_pinned: dict[str, Any] = {}
_pinned_lock = threading.Lock()


def pin_in_object_store(obj: Any) -> PinnedObjectRef:
    """Serialize ``obj`` once and return a handle that trials resolve cheaply.

    Put the handle in a config (or anywhere picklable) instead of a large object; in a
    worker, :func:`get_pinned_object` returns the object, unpickled once per process and
    shared by every trial that process runs (treat it as read-only). In the process that
    pinned it, the original object is returned.

    Args:
        obj: Any object cloudpickle can serialize.

    Returns:
        A :class:`PinnedObjectRef` for :func:`get_pinned_object`.
    """
    import cloudpickle

    ref = PinnedObjectRef(uuid.uuid4().hex, cloudpickle.dumps(obj))
    with _pinned_lock:
        _pinned[ref.id] = obj
    return ref


def get_pinned_object(ref: PinnedObjectRef) -> Any:
    """The object behind ``ref`` (see :func:`pin_in_object_store`).

    Args:
        ref: What :func:`pin_in_object_store` returned.

    Returns:
        The object: the original in the process that pinned it, else one copy per process.

    Raises:
        TypeError: ``ref`` is not a :class:`PinnedObjectRef`.
    """
    if not isinstance(ref, PinnedObjectRef):
        raise TypeError(
            f"ref must be a PinnedObjectRef from pin_in_object_store(), got "
            f"{type(ref).__name__}: {ref!r}"
        )
    try:
        return _pinned[ref.id]
    except KeyError:
        pass
    import pickle

    with _pinned_lock:
        if ref.id not in _pinned:
            _pinned[ref.id] = pickle.loads(ref.payload)
        return _pinned[ref.id]
