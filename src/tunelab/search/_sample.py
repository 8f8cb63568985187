"""The sampling functions users put in a config: ``uniform``, ``randint``, ``choice``, ...

Each returns a ready-made domain (see :mod:`tunelab.search._domain`); ``grid_search`` returns
the literal ``{"grid_search": [...]}`` marker. Bad bounds raise ``ValueError`` at definition
(``uniform(5, 1)``), and so does a quantum ``q`` finer than the float spacing at the bounds
(``quniform(1e16, 1e16 + 10, 1e-3)``: floats there are 2 apart). The 0.x numpy-style
spellings ``randint(n)`` and ``choice(n)`` mean ``[0, n)``; ``loguniform(..., base=10)``
accepts ``base`` (it does not change the law).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tunelab.search._common import check_categories, is_real
from tunelab.search._domain import (
    Categorical,
    Domain,
    Float,
    Function,
    Grid,
    Integer,
    LogUniform,
    Normal,
    Quantized,
    Sampler,
    Uniform,
)

__all__ = [
    "Categorical",
    "Domain",
    "Float",
    "Function",
    "Grid",
    "Integer",
    "LogUniform",
    "Normal",
    "Quantized",
    "Sampler",
    "Uniform",
    "choice",
    "function",
    "grid_search",
    "lograndint",
    "loguniform",
    "qlograndint",
    "qloguniform",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "sample_from",
    "uniform",
]


# -- the functions users call --------------------------------------------------------------
def uniform(lower: float, upper: float) -> Float:
    """A float drawn uniformly from [lower, upper)."""
    check_order("uniform()", lower, upper)
    return Float(lower, upper).uniform()


def quniform(lower: float, upper: float, q: float) -> Float:
    """A uniform float rounded to a multiple of ``q``; both bounds reachable.

    Values are the multiples of ``q`` within [lower, upper] (at least one must exist);
    ``q >= math.ulp(max(|lower|, |upper|))``.
    """
    check_order("quniform()", lower, upper)
    return Float(lower, upper).uniform().quantized(q)


def loguniform(lower: float, upper: float, base: float = 10) -> Float:
    """A float whose logarithm is uniform in [log lower, log upper); ``0 < lower``."""
    check_order("loguniform()", lower, upper)
    return Float(lower, upper).loguniform(base)


def qloguniform(lower: float, upper: float, q: float, base: float = 10) -> Float:
    """A log-uniform float rounded to a multiple of ``q``; both bounds reachable.

    The draw is rounded to the nearest multiple of ``q``; when that multiple lies outside
    [lower, upper] (say 0 for ``qloguniform(1e-4, 1e-1, 1e-3)``), the nearest multiple inside
    is used instead. ``q >= math.ulp(upper)``.
    """
    check_order("qloguniform()", lower, upper)
    return Float(lower, upper).loguniform(base).quantized(q)


def randn(mean: float = 0.0, sd: float = 1.0) -> Float:
    """A float from the normal distribution N(mean, sd**2).

    A draw beyond the float range (``sd`` near 1e308) is clamped to the largest finite float.
    """
    return Float(None, None).normal(mean, sd)


def qrandn(mean: float, sd: float, q: float) -> Float:
    """A normal float rounded to a multiple of ``q``; ``q >= math.ulp(|mean| + sd)``."""
    return Float(None, None).normal(mean, sd).quantized(q)


def randint(lower: int, upper: int | None = None) -> Integer:
    """An integer in [lower, upper). ``randint(n)`` (0.x numpy style) means [0, n)."""
    if upper is None:
        lower, upper = 0, lower
    check_order("randint()", lower, upper)
    return Integer(lower, upper).uniform()


def qrandint(lower: int, upper: int, q: int = 1) -> Integer:
    """A multiple of ``q`` in [lower, upper]; with ``q == 1`` upper is exclusive like randint."""
    check_order("qrandint()", lower, upper)
    return Integer(lower, upper).uniform().quantized(q)


def lograndint(lower: int, upper: int, base: float = 10) -> Integer:
    """An integer in [lower, upper) with a log-uniform law; ``lower >= 1``."""
    check_order("lograndint()", lower, upper)
    return Integer(lower, upper).loguniform(base)


def qlograndint(lower: int, upper: int, q: int, base: float = 10) -> Integer:
    """A log-uniform multiple of ``q``; bounds as in :func:`qrandint`."""
    check_order("qlograndint()", lower, upper)
    return Integer(lower, upper).loguniform(base).quantized(q)


def choice(categories: Sequence[Any] | int) -> Categorical:
    """One of ``categories`` at random. ``choice(n)`` (0.x numpy style) means ``range(n)``."""
    if isinstance(categories, int) and not isinstance(categories, bool):
        if categories < 1:
            raise ValueError(f"`categories` of choice() as an int must be >= 1, got {categories}")
        categories = list(range(categories))
    return Categorical(check_categories(categories, "choice()")).uniform()


def sample_from(func: Callable[..., Any]) -> Function:
    """A value computed by ``func(config)`` (or ``func()``) when a trial's config is resolved."""
    return Function(func)


def grid_search(values: Iterable[Any]) -> dict[str, list[Any]]:
    """Every value in ``values`` is tried (one trial per value and per grid combination)."""
    if isinstance(values, str | bytes | Mapping | set | frozenset) or not isinstance(
        values, Iterable
    ):
        raise TypeError(
            f"`values` of grid_search() must be a list or tuple of values, got {values!r}"
        )
    listed = list(values)
    if not listed:
        raise ValueError("`values` of grid_search() must not be empty, got []")
    return {"grid_search": listed}


def function(func: Callable[..., Any]) -> Callable[..., Any]:
    """Pass a callable through the config unsampled (0.6's ``tune.function``).

    The trainable receives ``func`` itself. Only a function the variant generator would
    evaluate as a 0.x sample function (a ``lambda spec: ...``, see
    :mod:`tunelab.search._resolve`) needs marking: for it this returns a marker that the
    variant generator replaces by ``func`` (calling the marker calls ``func``); any other
    callable is returned as it is.
    """
    from tunelab.search._resolve import LiteralFunction, is_legacy_spec_function

    if not callable(func):
        raise TypeError(f"`func` of function() must be callable, got {func!r}")
    return LiteralFunction(func) if is_legacy_spec_function(func) else func


def check_order(where: str, lower: Any, upper: Any) -> None:
    if is_real(lower) and is_real(upper) and not lower < upper:
        raise ValueError(f"{where} needs lower < upper, got lower={lower!r}, upper={upper!r}")
