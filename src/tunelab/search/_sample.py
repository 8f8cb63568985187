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
    """A float drawn uniformly from ``[lower, upper)``.

    Args:
        lower: The lower bound (included).
        upper: The upper bound (excluded); must be above ``lower``.

    Returns:
        A :class:`Float` domain with a :class:`Uniform` sampler.

    Raises:
        TypeError: A bound is not a number.
        ValueError: ``lower >= upper``, or a bound is not finite.
    """
    check_order("uniform()", lower, upper)
    return Float(lower, upper).uniform()


def quniform(lower: float, upper: float, q: float) -> Float:
    """A uniform float rounded to a multiple of ``q``; both bounds reachable.

    Values are the multiples of ``q`` within ``[lower, upper]``, e.g.
    ``quniform(0, 1, 0.25)`` draws one of 0, 0.25, 0.5, 0.75 and 1.0 (rounded to the decimals
    of ``q``, so multiples of 0.1 read 0.3, not 0.30000000000000004).

    Args:
        lower: The lower bound.
        upper: The upper bound; must be above ``lower``.
        q: The quantum (> 0), at least the float spacing at the bounds
            (``math.ulp(max(|lower|, |upper|))``).

    Returns:
        A :class:`Float` domain with a :class:`Quantized` :class:`Uniform` sampler.

    Raises:
        TypeError: An argument is not a number.
        ValueError: ``lower >= upper``, ``q <= 0``, ``q`` below the float spacing at the
            bounds, or no multiple of ``q`` lies within the bounds.
    """
    check_order("quniform()", lower, upper)
    return Float(lower, upper).uniform().quantized(q)


def loguniform(lower: float, upper: float, base: float = 10) -> Float:
    """A float whose logarithm is uniform in ``[log lower, log upper)``.

    For scale parameters such as learning rates: ``loguniform(1e-4, 1e-1)`` draws each
    decade equally often.

    Args:
        lower: The lower bound (included); must be > 0.
        upper: The upper bound (excluded); must be above ``lower`` and finite.
        base: Accepted for compatibility (Ray Tune's argument); it does not change the
            distribution. Must be > 0 and != 1 (default 10).

    Returns:
        A :class:`Float` domain with a :class:`LogUniform` sampler.

    Raises:
        TypeError: An argument is not a number.
        ValueError: ``lower <= 0``, ``lower >= upper``, an infinite ``upper``, or a bad
            ``base``.
    """
    check_order("loguniform()", lower, upper)
    return Float(lower, upper).loguniform(base)


def qloguniform(lower: float, upper: float, q: float, base: float = 10) -> Float:
    """A log-uniform float rounded to a multiple of ``q``; both bounds reachable.

    The draw is rounded to the nearest multiple of ``q``; when that multiple lies outside
    ``[lower, upper]`` (say 0 for ``qloguniform(1e-4, 1e-1, 1e-3)``), the nearest multiple
    inside is used instead.

    Args:
        lower: The lower bound; must be > 0.
        upper: The upper bound; must be above ``lower`` and finite.
        q: The quantum (> 0), at least the float spacing at ``upper``
            (``math.ulp(upper)``).
        base: Accepted for compatibility; it does not change the distribution (default 10).

    Returns:
        A :class:`Float` domain with a :class:`Quantized` :class:`LogUniform` sampler.

    Raises:
        TypeError: An argument is not a number.
        ValueError: Bad bounds (as :func:`loguniform`), ``q <= 0``, ``q`` below the float
            spacing at the bounds, or no multiple of ``q`` within the bounds.
    """
    check_order("qloguniform()", lower, upper)
    return Float(lower, upper).loguniform(base).quantized(q)


def randn(mean: float = 0.0, sd: float = 1.0) -> Float:
    """A float from the normal distribution N(mean, sd**2) (unbounded).

    A draw beyond the float range (``sd`` near 1e308) is clamped to the largest finite float.
    Most model-based searchers need bounds and cannot search it (HyperOpt, Nevergrad and
    BOHB can).

    Args:
        mean: The mean (default 0.0); finite.
        sd: The standard deviation (default 1.0); finite and > 0.

    Returns:
        A :class:`Float` domain without bounds and with a :class:`Normal` sampler.

    Raises:
        TypeError: An argument is not a number.
        ValueError: ``sd <= 0``, or an argument is not finite.
    """
    return Float(None, None).normal(mean, sd)


def qrandn(mean: float, sd: float, q: float) -> Float:
    """A normal float rounded to a multiple of ``q``.

    Args:
        mean: The mean; finite.
        sd: The standard deviation; finite and > 0.
        q: The quantum (> 0), at least ``math.ulp(|mean| + sd)``.

    Returns:
        A :class:`Float` domain with a :class:`Quantized` :class:`Normal` sampler.

    Raises:
        TypeError: An argument is not a number.
        ValueError: ``sd <= 0``, ``q <= 0``, or ``q`` below the float spacing there.
    """
    return Float(None, None).normal(mean, sd).quantized(q)


def randint(lower: int, upper: int | None = None) -> Integer:
    """An integer drawn uniformly from ``[lower, upper)`` (``upper`` excluded).

    Args:
        lower: The lowest value. Alone (``randint(n)``, the 0.x numpy style) it is the
            upper bound and the range is ``[0, n)``.
        upper: The upper bound (excluded); must be above ``lower``.

    Returns:
        An :class:`Integer` domain with a :class:`Uniform` sampler.

    Raises:
        TypeError: A bound is not an integer (a float with an integral value is accepted).
        ValueError: ``lower >= upper``.
    """
    if upper is None:
        lower, upper = 0, lower
    check_order("randint()", lower, upper)
    return Integer(lower, upper).uniform()


def qrandint(lower: int, upper: int, q: int = 1) -> Integer:
    """A uniform multiple of ``q`` in ``[lower, upper]``.

    With ``q > 1`` the upper bound is included (``qrandint(0, 10, 5)`` draws 0, 5 or 10);
    with ``q == 1`` it is excluded, as for :func:`randint`.

    Args:
        lower: The lower bound.
        upper: The upper bound.
        q: The step (an int >= 1; default 1).

    Returns:
        An :class:`Integer` domain with a :class:`Quantized` :class:`Uniform` sampler.

    Raises:
        TypeError: An argument is not an integer.
        ValueError: ``lower >= upper``, ``q < 1``, or no multiple of ``q`` within the
            bounds.
    """
    check_order("qrandint()", lower, upper)
    return Integer(lower, upper).uniform().quantized(q)


def lograndint(lower: int, upper: int, base: float = 10) -> Integer:
    """An integer in ``[lower, upper)`` whose logarithm is uniform (small values more likely).

    Args:
        lower: The lowest value; must be >= 1.
        upper: The upper bound (excluded); must be above ``lower``.
        base: Accepted for compatibility; it does not change the distribution (default 10).

    Returns:
        An :class:`Integer` domain with a :class:`LogUniform` sampler.

    Raises:
        TypeError: A bound is not an integer.
        ValueError: ``lower < 1``, ``lower >= upper``, or a bad ``base``.
    """
    check_order("lograndint()", lower, upper)
    return Integer(lower, upper).loguniform(base)


def qlograndint(lower: int, upper: int, q: int, base: float = 10) -> Integer:
    """A log-uniform multiple of ``q``; bounds as in :func:`qrandint`.

    Args:
        lower: The lower bound; must be >= 1.
        upper: The upper bound (included when ``q > 1``).
        q: The step (an int >= 1).
        base: Accepted for compatibility; it does not change the distribution (default 10).

    Returns:
        An :class:`Integer` domain with a :class:`Quantized` :class:`LogUniform` sampler.

    Raises:
        TypeError: An argument is not an integer.
        ValueError: ``lower < 1``, ``lower >= upper``, ``q < 1``, or no multiple of ``q``
            within the bounds.
    """
    check_order("qlograndint()", lower, upper)
    return Integer(lower, upper).loguniform(base).quantized(q)


def choice(categories: Sequence[Any] | int) -> Categorical:
    """One of ``categories``, each equally likely.

    The values keep their types and may be any Python objects (lists, dicts, classes).

    Args:
        categories: A non-empty list or tuple of values, or an int ``n`` (the 0.x numpy
            style), which means ``list(range(n))``.

    Returns:
        A :class:`Categorical` domain with a :class:`Uniform` sampler.

    Raises:
        TypeError: ``categories`` is a str, a dict or not iterable.
        ValueError: ``categories`` is empty, or an int below 1.
    """
    if isinstance(categories, int) and not isinstance(categories, bool):
        if categories < 1:
            raise ValueError(f"`categories` of choice() as an int must be >= 1, got {categories}")
        categories = list(range(categories))
    return Categorical(check_categories(categories, "choice()")).uniform()


def sample_from(func: Callable[..., Any]) -> Function:
    """A value computed by ``func(config)`` (or ``func()``) when a trial's config is resolved.

    ``func`` may read other values of the config, resolved or searched:
    ``sample_from(lambda config: config["lr"] * 10)``; values are resolved in dependency
    order. With a model-based searcher it is computed after the searcher's suggestion.

    Args:
        func: A callable taking no argument or one: a read-only view of the config that
            supports ``config["a"]["b"]`` and the 0.x/1.x spelling ``spec.config.a.b``.

    Returns:
        A :class:`Function` domain.

    Raises:
        TypeError: ``func`` is not callable.
        ValueError: ``func`` takes more than one required argument.
    """
    return Function(func)


def grid_search(values: Iterable[Any]) -> dict[str, list[Any]]:
    """Every value in ``values`` is tried (one trial per value and per grid combination).

    Several grids in one space multiply; ``num_samples`` repeats the whole grid. Only
    :class:`BasicVariantGenerator` enumerates grids: model-based searchers raise
    ``ValueError`` for them (use :func:`choice` there).

    Args:
        values: A non-empty list or tuple (or another iterable that is not a str, dict or
            set) of values; a value may itself hold domains or grids.

    Returns:
        The marker ``{"grid_search": [values...]}`` that Ray Tune configs use.

    Raises:
        TypeError: ``values`` is a str, bytes, dict, set or not iterable.
        ValueError: ``values`` is empty.
    """
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
    evaluate as a 0.x sample function (a plain function or lambda whose only parameter is a
    positional ``spec``) needs marking: for it this returns a marker that the variant
    generator replaces by ``func`` (calling the marker calls ``func``); any other callable is
    returned as it is.

    Args:
        func: The callable to pass through.

    Returns:
        ``func``, or the marker that stands for it.

    Raises:
        TypeError: ``func`` is not callable.
    """
    from tunelab.search._resolve import LiteralFunction, is_legacy_spec_function

    if not callable(func):
        raise TypeError(f"`func` of function() must be callable, got {func!r}")
    return LiteralFunction(func) if is_legacy_spec_function(func) else func


def check_order(where: str, lower: Any, upper: Any) -> None:
    if is_real(lower) and is_real(upper) and not lower < upper:
        raise ValueError(f"{where} needs lower < upper, got lower={lower!r}, upper={upper!r}")
