"""Copies of the objects a search is given (schedulers, searchers, stoppers, callbacks)."""

from __future__ import annotations

import copy
from typing import TypeVar

__all__ = ["fresh"]

_T = TypeVar("_T")


def fresh(obj: _T) -> _T:
    """A deep copy of ``obj``, so that a fit leaves the object it was given as it was and a
    second fit starts from the same state; ``obj`` itself when it cannot be copied (a
    searcher holding a library module or a live connection): each fit then continues from
    the state the previous one left."""
    try:
        return copy.deepcopy(obj)
    except (TypeError, copy.Error, AttributeError, RecursionError):
        return obj
