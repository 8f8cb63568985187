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
append ``items``). ``path`` is a list of dict keys and list indices (a nested list that
grew inside a list whose other items did not change).
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


def _diff(old: Any, new: Any, path: list[Any], ops: list[Op]) -> None:
    if type(old) is not type(new):
        ops.append([list(path), "set", new])
    elif isinstance(new, dict):
        if old == new:
            return
        changed = _changed_keys(old, new)
        for key in old:
            if key not in new:
                ops.append([[*path, key], "del"])
        for key in new:  # in order: keys added come back in the same order
            if key not in old:
                ops.append([[*path, key], "set", new[key]])
            elif changed is None or key in changed:
                _diff(old[key], new[key], [*path, key], ops)
    elif isinstance(new, list):
        _diff_list(old, new, path, ops)
    elif old != new or (old is not new and _is_nan(old) != _is_nan(new)):
        ops.append([list(path), "set", new])


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> set[Any] | None:
    """Keys whose values differ, found at C speed when the values are hashable (None:
    they are not; every common key is compared)."""
    try:
        return {key for key, _ in new.items() ^ old.items()}
    except TypeError:
        return None


#: at most this many changed items of equal-length lists are described one by one
_MAX_ITEM_OPS = 4


def _diff_list(old: list[Any], new: list[Any], path: list[Any], ops: list[Op]) -> None:
    keep = _common_prefix(old, new)
    if keep == len(old) == len(new):
        return
    overlap = min(len(old), len(new))
    if path and len(new) >= len(old) > keep:
        # items changed in place (a nested list that grew): describe them one by one
        changed = [i for i in range(keep, overlap) if not _same(old[i], new[i])]
        if len(changed) <= _MAX_ITEM_OPS and all(
            isinstance(new[i], (dict, list)) and type(old[i]) is type(new[i]) for i in changed
        ):
            for i in changed:
                _diff(old[i], new[i], [*path, i], ops)
            if len(new) > len(old):
                ops.append([list(path), "tail", len(old), new[len(old) :]])
            return
    if keep * 2 < len(new) or not path:  # mostly new (or the root): the value itself
        ops.append([list(path), "set", new])
    else:
        ops.append([list(path), "tail", keep, new[keep:]])


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def _common_prefix(old: list[Any], new: list[Any]) -> int:
    limit = min(len(old), len(new))
    if old[:limit] == new[:limit]:  # the common case (a list that grew), at C speed
        return limit
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
        if isinstance(parent, list) and not (
            isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(parent)
        ):
            raise ValueError(f"state delta {op!r} does not fit the document")
        if isinstance(parent, dict) and not isinstance(key, str):
            raise ValueError(f"state delta {op!r} does not fit the document")
        if kind == "set" and len(op) == 3:
            parent[key] = op[2] if in_place else copy.deepcopy(op[2])
        elif kind == "del" and len(op) == 2 and isinstance(parent, dict):
            parent.pop(key, None)
        elif kind == "tail" and len(op) == 4:
            current = parent[key] if isinstance(parent, list) else parent.get(key)
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


def _walk(document: Any, path: list[Any], op: Op) -> Any:
    node = document
    for key in path:
        if _has(node, key):
            node = node[key]
        else:
            raise ValueError(f"state delta {op!r} does not fit the document")
    if not isinstance(node, (dict, list)):
        raise ValueError(f"state delta {op!r} does not fit the document")
    return node


def _has(node: Any, key: Any) -> bool:
    """``node[key]`` exists: a dict's str key or a list's index."""
    if isinstance(node, dict):
        return isinstance(key, str) and key in node
    return (
        isinstance(node, list)
        and isinstance(key, int)
        and not isinstance(key, bool)
        and 0 <= key < len(node)
    )
