"""Small deltas between two JSON documents whose lists mostly grow at the end.

The journal carries a learning searcher's state with every new trial (so that a resume
continues the search exactly). Such states are dominated by lists that only grow or change
near their end (Optuna's trials, HyperOpt's documents, BOHB's observations); writing the
whole state each time costs O(trials) per trial. :func:`diff` describes ``new`` relative to
``old`` as a list of operations whose size follows what changed; :func:`apply` rebuilds
``new`` from ``old`` and them. Pure functions over JSON values (dicts with string keys,
lists, strings, numbers, booleans, None); no I/O.

An operation is ``[path, "set", value]`` (replace the value at ``path``; an empty path
replaces the whole document), ``[path, "del"]`` (remove a dict key) or
``[path, "tail", keep, items]`` (keep the first ``keep`` items of the list at ``path`` and
append ``items``). ``path`` is a list of dict keys.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["apply", "diff"]

Op = list[Any]


def diff(old: Any, new: Any) -> list[Op]:
    """Operations that turn ``old`` into ``new`` (empty when they are equal)."""
    ops: list[Op] = []
    _diff(old, new, [], ops)
    return ops


def _diff(old: Any, new: Any, path: list[str], ops: list[Op]) -> None:
    if type(old) is not type(new):
        ops.append([list(path), "set", new])
    elif isinstance(new, dict):
        if old == new:
            return
        for key in old:
            if key not in new:
                ops.append([[*path, key], "del"])
        for key, value in new.items():
            if key not in old:
                ops.append([[*path, key], "set", value])
            else:
                _diff(old[key], value, [*path, key], ops)
    elif isinstance(new, list):
        keep = _common_prefix(old, new)
        if keep == len(old) == len(new):
            return
        if keep * 2 < len(new) or not path:  # mostly new (or the root): the value itself
            ops.append([list(path), "set", new])
        else:
            ops.append([list(path), "tail", keep, new[keep:]])
    elif old != new or (old is not new and _is_nan(old) != _is_nan(new)):
        ops.append([list(path), "set", new])


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def _common_prefix(old: list[Any], new: list[Any]) -> int:
    limit = min(len(old), len(new))
    index = 0
    while index < limit and _same(old[index], new[index]):
        index += 1
    return index


def _same(a: Any, b: Any) -> bool:
    """Equal for the delta's purpose: the same type and ``==`` (NaN matches NaN at this
    level; a NaN deeper inside makes the items differ, which only costs a larger delta).
    Inside containers ``==`` does not tell 1 from 1.0 or True: such a change alone within
    an otherwise equal item is not carried (harmless for the numeric states it serves)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and _is_nan(a):
        return _is_nan(b)
    return bool(a == b)


def apply(old: Any, ops: list[Op], *, in_place: bool = False) -> Any:
    """``old`` with ``ops`` (from :func:`diff`) applied. ``old`` is not changed unless
    ``in_place`` (for documents and operations nobody else holds: a decoded journal).

    ValueError when an operation does not fit the document (a journal from another run)."""
    document = old if in_place else copy.deepcopy(old)
    for op in ops:
        if not isinstance(op, list) or len(op) < 2 or not isinstance(op[0], list):
            raise ValueError(f"not a state delta operation: {op!r}")
        path, kind = op[0], op[1]
        if not path:
            if kind != "set" or len(op) != 3:
                raise ValueError(f"not a state delta operation: {op!r}")
            document = op[2] if in_place else copy.deepcopy(op[2])
            continue
        parent = _walk(document, path[:-1], op)
        key = path[-1]
        if kind == "set" and len(op) == 3:
            parent[key] = op[2] if in_place else copy.deepcopy(op[2])
        elif kind == "del" and len(op) == 2:
            parent.pop(key, None)
        elif kind == "tail" and len(op) == 4:
            current = parent.get(key)
            keep, items = op[2], op[3]
            if (
                not isinstance(current, list)
                or not isinstance(keep, int)
                or not 0 <= keep <= len(current)
                or not isinstance(items, list)
            ):
                raise ValueError(f"state delta {op!r} does not fit the value at {path!r}")
            if in_place:
                del current[keep:]
                current.extend(items)
            else:
                parent[key] = current[:keep] + copy.deepcopy(items)
        else:
            raise ValueError(f"not a state delta operation: {op!r}")
    return document


def _walk(document: Any, path: list[Any], op: Op) -> dict[str, Any]:
    node = document
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise ValueError(f"state delta {op!r} does not fit the document")
        node = node[key]
    if not isinstance(node, dict):
        raise ValueError(f"state delta {op!r} does not fit the document")
    return node
