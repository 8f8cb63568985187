"""Small helpers shared by the search-library adapters of issue 13 (BayesOpt, SkOpt, ZOOpt,
HEBO, FLAML, Ax): flat ``a/b`` parameter names, numpy values as plain Python values, numpy
random states as JSON, fresh numpy/torch generator states (Ax, HEBO), and the checks of
``points_to_evaluate``/``evaluated_rewards``.

Nothing here imports numpy or a search library at module import.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "check_rewards",
    "flatten_point",
    "fresh_random_states",
    "is_finite_number",
    "kept_as_values",
    "nest",
    "random_state_from_json",
    "random_state_to_json",
    "to_python",
]


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a/b": 1, "c": 2}`` -> ``{"a": {"b": 1}, "c": 2}`` (Ray Tune's ``unflatten_dict``)."""
    out: dict[str, Any] = {}
    for name, value in flat.items():
        node = out
        parts = str(name).split("/")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def flatten_point(point: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a/b": 1}`` (non-empty dict values are walked)."""
    flat: dict[str, Any] = {}
    for key, value in point.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten_point(value, name + "/"))
        else:
            flat[name] = value
    return flat


def to_python(value: Any) -> Any:
    """A numpy scalar or array as the plain Python value it holds (others unchanged)."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and hasattr(value, "shape"):
        return tolist()
    if isinstance(value, list | tuple):
        return type(value)(to_python(v) for v in value)
    return value


def is_finite_number(value: Any) -> bool:
    """True for a real number (not bool) that is neither NaN nor infinite."""
    if isinstance(value, bool):
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number)


def random_state_to_json(state: Any) -> list[Any]:
    """``numpy.random.RandomState.get_state()`` as JSON (a list of plain values)."""
    name, keys, pos, has_gauss, cached = state
    return [str(name), [int(k) for k in keys], int(pos), int(has_gauss), float(cached)]


def random_state_from_json(saved: list[Any]) -> tuple[Any, ...]:
    """The argument of ``numpy.random.RandomState.set_state()`` for :func:`random_state_to_json`."""
    import numpy as np

    name, keys, pos, has_gauss, cached = saved
    return (str(name), np.asarray(keys, dtype=np.uint32), int(pos), int(has_gauss), float(cached))


def fresh_random_states(seed: int | None) -> tuple[Any, Any]:
    """numpy's and torch's generator states for ``seed`` (fresh entropy when None): the
    states an adapter that keeps its own global random state (Ax, HEBO) starts from."""
    import numpy as np
    import torch

    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return np.random.RandomState(seed).get_state(), generator.get_state()


def check_rewards(rewards: Any, points: list[dict[str, Any]], where: str) -> list[float] | None:
    """``evaluated_rewards``: ``None``, or one number per point of ``points_to_evaluate``."""
    if rewards is None:
        return None
    if isinstance(rewards, str | bytes | dict) or not isinstance(rewards, list | tuple):
        raise TypeError(
            f"`evaluated_rewards` of {where} must be a list of numbers, got {rewards!r}"
        )
    if len(rewards) != len(points):
        raise ValueError(
            f"`evaluated_rewards` of {where} needs one reward per point of `points_to_evaluate` "
            f"({len(points)}), got {len(rewards)}"
        )
    out = []
    for reward in rewards:
        if isinstance(reward, bool) or not _numberlike(reward):
            raise TypeError(
                f"`evaluated_rewards` of {where} must hold numbers, got the element {reward!r}"
            )
        out.append(float(reward))
    return out


def _numberlike(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, str | bytes)


def kept_as_values(categories: Sequence[Any]) -> bool:
    """Whether a library can search ``categories`` as the values themselves: unique values
    of one plain type (``bool``, ``int``, ``float`` or ``str``). Libraries that hold choices
    in numpy arrays would turn ``[1, 2.5]`` into floats; other categories are searched by
    label (``"#0"``, ``"#1"``, ...) and mapped back."""
    kinds = {type(c) for c in categories}
    if len(kinds) != 1 or not kinds <= {bool, int, float, str}:
        return False
    return len(set(categories)) == len(categories)
