"""Dict helpers (flatten, unflatten, nested lookup, deep merge) and ``date_str``."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "date_str",
    "deep_update",
    "flatten_dict",
    "merge_dicts",
    "unflatten_dict",
    "unflattened_lookup",
]

_MISSING: Any = object()


def _check_mapping(argument: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise TypeError(f"{argument} must be a dict, got {type(value).__name__}: {value!r}")


def _check_delimiter(delimiter: Any) -> None:
    if not isinstance(delimiter, str) or not delimiter:
        raise ValueError(f"delimiter must be a non-empty string, got {delimiter!r}")


def flatten_dict(
    dt: Mapping[Any, Any], delimiter: str = "/", prevent_delimiter: bool = False
) -> dict[Any, Any]:
    """Flatten nested dicts: ``{"a": {"b": 1}}`` -> ``{"a/b": 1}``.

    Keys keep their order. Nested keys are joined with ``delimiter`` (non-string keys are
    converted with ``str``); top-level keys are kept as they are. Empty nested dicts
    disappear, as in Ray Tune. Lists are values, not flattened. With ``prevent_delimiter``
    a key that already contains ``delimiter`` raises ``ValueError``.
    """
    _check_mapping("dt", dt)
    _check_delimiter(delimiter)
    out: dict[Any, Any] = {}
    _flatten_into(out, dt, None, delimiter, prevent_delimiter)
    return out


def _flatten_into(
    out: dict[Any, Any],
    node: Mapping[Any, Any],
    prefix: str | None,
    delimiter: str,
    prevent_delimiter: bool,
) -> None:
    for key, value in node.items():
        if prevent_delimiter and isinstance(key, str) and delimiter in key:
            raise ValueError(
                f"key {key!r} contains the delimiter {delimiter!r}; "
                "rename it or flatten with prevent_delimiter=False"
            )
        full = key if prefix is None else f"{prefix}{delimiter}{key}"
        if isinstance(value, dict):
            _flatten_into(out, value, str(full), delimiter, prevent_delimiter)
        else:
            out[full] = value


def unflatten_dict(dt: Mapping[Any, Any], delimiter: str = "/") -> dict[Any, Any]:
    """Inverse of :func:`flatten_dict`: ``{"a/b": 1}`` -> ``{"a": {"b": 1}}``.

    Raises ``ValueError`` when two keys disagree (``{"a": 1, "a/b": 2}``).
    """
    _check_mapping("dt", dt)
    _check_delimiter(delimiter)
    out: dict[Any, Any] = {}
    for key, value in dt.items():
        parts = key.split(delimiter) if isinstance(key, str) else [key]
        node = out
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                prefix = delimiter.join(parts[: depth + 1])
                raise ValueError(f"key {key!r} conflicts with the non-dict value at {prefix!r}")
            node = child
        leaf = parts[-1]
        if leaf in node:
            existing = node[leaf]
            if isinstance(existing, dict) and isinstance(value, dict):
                existing.update(unflatten_dict(value, delimiter))
                continue
            raise ValueError(f"key {key!r} conflicts with another key for the same entry")
        node[leaf] = unflatten_dict(value, delimiter) if isinstance(value, dict) else value
    return out


def unflattened_lookup(
    flat_key: str, lookup: Mapping[str, Any], delimiter: str = "/", default: Any = _MISSING
) -> Any:
    """Look ``flat_key`` (``"info/reward"``) up in the nested ``lookup``.

    A key present verbatim wins; otherwise each part indexes a dict, or a list/tuple when
    it is an integer. Returns ``default`` when given and the path does not resolve, else
    raises ``KeyError``.
    """
    _check_mapping("lookup", lookup)
    _check_delimiter(delimiter)
    if flat_key in lookup:
        return lookup[flat_key]
    node: Any = lookup
    for part in flat_key.split(delimiter):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
            continue
        if isinstance(node, Sequence) and not isinstance(node, (str, bytes)):
            try:
                node = node[int(part)]
                continue
            except (ValueError, IndexError):
                pass
        if default is not _MISSING:
            return default
        raise KeyError(flat_key)
    return node


def deep_update(
    original: dict[Any, Any],
    new_dict: Mapping[Any, Any],
    new_keys_allowed: bool = False,
    allow_new_subkey_list: Sequence[Any] | None = None,
    override_all_if_type_changes: Sequence[Any] | None = None,
    override_all_key_list: Sequence[Any] | None = None,
) -> dict[Any, Any]:
    """Update ``original`` in place with ``new_dict``, recursing into nested dicts.

    A key of ``new_dict`` missing from ``original`` raises ``ValueError`` unless
    ``new_keys_allowed``; below a key listed in ``allow_new_subkey_list`` new sub-keys are
    always allowed. For keys in ``override_all_if_type_changes`` the whole nested dict is
    replaced when its ``"type"`` entry changes; keys in ``override_all_key_list`` are always
    replaced whole. Returns ``original``.
    """
    _check_mapping("original", original)
    _check_mapping("new_dict", new_dict)
    allow_new = allow_new_subkey_list or ()
    override_type = override_all_if_type_changes or ()
    override_all = override_all_key_list or ()
    for key, value in new_dict.items():
        if key not in original and not new_keys_allowed:
            raise ValueError(
                f"unknown key {key!r}: it is not in the original dict "
                f"(known keys: {sorted(map(str, original))}); pass new_keys_allowed=True "
                "to add keys"
            )
        current = original.get(key)
        if isinstance(current, dict) and isinstance(value, dict) and key not in override_all:
            type_changed = (
                key in override_type
                and "type" in value
                and "type" in current
                and value["type"] != current["type"]
            )
            if type_changed:
                original[key] = value
            else:
                deep_update(
                    current,
                    value,
                    new_keys_allowed or key in allow_new,
                    allow_new_subkey_list,
                    override_all_if_type_changes,
                    override_all_key_list,
                )
        else:
            original[key] = value
    return original


def merge_dicts(d1: Mapping[Any, Any], d2: Mapping[Any, Any]) -> dict[Any, Any]:
    """A new dict: a deep copy of ``d1`` deep-updated with ``d2`` (new keys allowed)."""
    _check_mapping("d1", d1)
    _check_mapping("d2", d2)
    merged = copy.deepcopy(dict(d1))
    return deep_update(merged, d2, new_keys_allowed=True)


def date_str() -> str:
    """The current local time as ``"%Y-%m-%d_%H-%M-%S"`` (used in directory names)."""
    return datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
