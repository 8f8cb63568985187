"""Helpers shared by the domains and the variant generator.

- random states: ``as_random`` / ``seed_from_random_state`` accept an int, a
  :class:`random.Random`, a numpy ``Generator``/``RandomState`` (duck-typed, numpy is never
  imported here) or ``None``;
- unresolved leaves: a :class:`DomainBase` instance, ``{"grid_search": [...]}`` or
  ``{"eval": "expr"}``;
- the read-only *config view* handed to ``sample_from`` functions and ``eval`` expressions. It
  answers both ``config["a"]`` and ``spec.config.a`` and raises :class:`UnresolvedValueError`
  when the function reads a value that is not resolved yet (the generator retries it later).
"""

from __future__ import annotations

import inspect
import math
import numbers
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, overload

__all__ = [
    "DomainBase",
    "Draw",
    "SeqView",
    "SpecView",
    "UnresolvedValueError",
    "as_random",
    "check_categories",
    "check_int",
    "check_real",
    "check_size",
    "decimals",
    "is_eval_spec",
    "is_grid_spec",
    "is_integral",
    "is_real",
    "is_unresolved",
    "quantizer",
    "seed_from_random_state",
    "snap",
    "spec_view",
    "takes_one_argument",
    "unwrap",
]

Path = tuple[Any, ...]
Draw = Callable[[random.Random], Any]


class DomainBase:
    """Marker base of every search-space domain (``tunelab.search.sample.Domain``)."""

    __slots__ = ()


# -- random states -------------------------------------------------------------------------
def seed_from_random_state(random_state: object) -> int:
    """An integer seed for ``random_state``; ``None`` draws one from the ``random`` module.

    The same int, or generators in the same state, give the same seed. Raises ``TypeError``
    naming ``random_state`` for anything else.
    """
    if random_state is None:
        return random.getrandbits(64)
    if isinstance(random_state, bool):
        raise TypeError(_random_state_message(random_state))
    if isinstance(random_state, int):
        return random_state
    if isinstance(random_state, random.Random):
        return random_state.getrandbits(64)
    integers = getattr(random_state, "integers", None)  # numpy.random.Generator
    if callable(integers):
        return int(integers(0, 2**63 - 1))
    randint = getattr(random_state, "randint", None)  # numpy.random.RandomState
    if callable(randint):
        return int(randint(0, 2**31 - 1))
    raise TypeError(_random_state_message(random_state))


def as_random(random_state: object) -> random.Random:
    """A :class:`random.Random` to draw with: the object itself, or one seeded from it."""
    if isinstance(random_state, random.Random):
        return random_state
    return random.Random(seed_from_random_state(random_state))


def _random_state_message(value: object) -> str:
    return (
        f"`random_state` must be None, an int seed, a random.Random or a numpy Generator/"
        f"RandomState, got {value!r}"
    )


# -- unresolved leaves ---------------------------------------------------------------------
def is_grid_spec(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and "grid_search" in value


def is_eval_spec(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("eval"), str)


def is_unresolved(value: Any) -> bool:
    """True for a domain, a grid marker or a legacy eval marker."""
    if isinstance(value, DomainBase):
        return True
    return (
        isinstance(value, dict) and len(value) == 1 and (is_grid_spec(value) or is_eval_spec(value))
    )


class UnresolvedValueError(Exception):
    """A ``sample_from`` function read a value that is not resolved yet (internal retry signal)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"config value at {'/'.join(map(str, path))} is not resolved yet")
        self.path = path


# -- views ---------------------------------------------------------------------------------
def _wrap(value: Any, path: Path) -> Any:
    if isinstance(value, dict):
        if is_unresolved(value):
            raise UnresolvedValueError(path)
        return SpecView(value, path)
    if isinstance(value, list | tuple):
        return SeqView(value, path)
    if isinstance(value, DomainBase):
        raise UnresolvedValueError(path)
    return value


class SpecView(Mapping[Any, Any]):
    """Read-only view of a config dict for ``sample_from`` functions.

    ``view["a"]`` and ``view.a`` read key ``a``; ``view.config`` / ``view["config"]`` return the
    view itself unless the config has a key ``config`` (so ``spec.config.a`` works too). Nested
    dicts and lists come back as views; an unresolved value raises
    :class:`UnresolvedValueError`.
    """

    __slots__ = ("_data", "_path")

    def __init__(self, data: Mapping[Any, Any], path: Path = ()) -> None:
        self._data = data
        self._path = path

    def __getitem__(self, key: Any) -> Any:
        data = self._data
        if key in data:
            return _wrap(data[key], (*self._path, key))
        if key == "config":
            return self
        raise KeyError(key)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_data", "_path"):
            raise AttributeError(name)
        data = self._data
        if name in data:
            return _wrap(data[name], (*self._path, name))
        if name == "config":
            return self
        raise AttributeError(f"the config has no key {name!r} (keys: {sorted(map(str, data))})")

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"SpecView({self._data!r})"


class SeqView(Sequence[Any]):
    """Read-only view of a list or tuple inside a config (see :class:`SpecView`)."""

    __slots__ = ("_data", "_path")

    def __init__(self, data: Sequence[Any], path: Path = ()) -> None:
        self._data = data
        self._path = path

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._data)))]
        position = index if index >= 0 else index + len(self._data)
        return _wrap(self._data[index], (*self._path, position))

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"SeqView({self._data!r})"


def spec_view(data: Any, path: Path = ()) -> Any:
    """Wrap a config (dict, list or tuple) in a view; other values are returned as they are."""
    if isinstance(data, Mapping):
        return SpecView(data, path)
    if isinstance(data, list | tuple):
        return SeqView(data, path)
    return data


def unwrap(value: Any) -> Any:
    """Turn views inside a function's return value back into plain dicts and lists."""
    if isinstance(value, SpecView):
        return {key: unwrap(value[key]) for key in value}
    if isinstance(value, SeqView):
        items = [unwrap(item) for item in value]
        return tuple(items) if isinstance(value._data, tuple) else items
    if isinstance(value, dict):
        return {key: unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap(item) for item in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(unwrap(item) for item in value)
    return value


# -- argument checks and quantization ------------------------------------------------------
def is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_integral(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_real(name: str, value: Any, where: str, finite: bool = False) -> float:
    if not is_real(value):
        raise TypeError(f"`{name}` of {where} must be a number, got {value!r}")
    result = float(value)
    if math.isnan(result) or (finite and not math.isfinite(result)):
        raise ValueError(f"`{name}` of {where} must be a finite number, got {value!r}")
    return result


def check_int(name: str, value: Any, where: str) -> int:
    if is_integral(value):
        return int(value)
    if is_real(value) and float(value).is_integer():
        return int(value)
    raise TypeError(f"`{name}` of {where} must be an integer, got {value!r}")


def check_size(size: Any) -> int:
    if not is_integral(size) or size < 1:
        raise ValueError(f"`size` must be an integer >= 1, got {size!r}")
    return int(size)


def check_categories(categories: Any, where: str) -> list[Any]:
    if isinstance(categories, str | bytes | Mapping) or not isinstance(categories, Iterable):
        raise TypeError(f"`categories` of {where} must be a list of values, got {categories!r}")
    listed = list(categories)
    if not listed:
        raise ValueError(f"`categories` of {where} must not be empty, got {categories!r}")
    return listed


def takes_one_argument(func: Callable[..., Any]) -> bool:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return True
    try:
        signature.bind(None)
        return True
    except TypeError:
        pass
    try:
        signature.bind()
    except TypeError as exc:
        raise ValueError(
            f"`func` of sample_from() must take zero or one argument (the config), "
            f"got {func!r} with signature {signature}"
        ) from exc
    return False


def decimals(q: float) -> int | None:
    exponent = Decimal(repr(q)).as_tuple().exponent
    if not isinstance(exponent, int):
        return None
    return min(max(-exponent, 0), 15)


def snap(lower: float, upper: float, q: float) -> tuple[float, float]:
    """The first and last multiples of ``q`` within [lower, upper] (tolerant to float error)."""
    digits = decimals(q)
    lo = math.ceil(lower / q - 1e-9) * q
    hi = math.floor(upper / q + 1e-9) * q
    if digits is not None:
        lo, hi = round(lo, digits), round(hi, digits)
    return lo, hi


def quantizer(base: Draw, q: float, lo: float, hi: float) -> Draw:
    digits = decimals(q)

    def draw(rng: random.Random) -> float:
        value = round(base(rng) / q) * q
        if digits is not None:
            value = round(value, digits)
        return float(min(max(value, lo), hi))

    return draw
