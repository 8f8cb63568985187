"""Search-space domains and their samplers.

A *domain* describes the set of values one hyperparameter may take (:class:`Float`,
:class:`Integer`, :class:`Categorical`, :class:`Function`); its *sampler* says how values are
drawn from it (:class:`Uniform`, :class:`LogUniform`, :class:`Normal`, :class:`Grid`, wrapped by
:class:`Quantized`). Bounds are checked when a domain is defined. Sampling uses
:class:`random.Random` only (numpy is never imported here). Without a ``random_state`` the
draw is seeded from numpy's global generator when numpy is loaded (so ``np.random.seed(n)``
makes it repeatable, as in Ray Tune), else from the ``random`` module (:func:`default_seed`).

Edges of the float range are handled rather than overflowed: a uniform range wider than the
largest float (``uniform(-1e308, 1e308)``) is sampled across its whole width, a normal draw that
overflows is clamped to the largest finite float, and integer bounds of any size work. A quantum
``q`` must be at least the spacing of floats where the domain's values lie
(``math.ulp(max(|lower|, |upper|))``, or ``math.ulp(|mean| + sd)`` for a normal law): a smaller
``q`` cannot be represented there and is a ``ValueError`` at definition. Quantized values are
the multiple of ``q`` nearest to the draw; when that multiple lies outside the bounds, the
nearest multiple inside them is used, so every value is within ``[lower, upper]``.
"""

from __future__ import annotations

import copy
import math
import random
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from tunelab.search._common import (
    DomainBase,
    Draw,
    as_random,
    check_categories,
    check_int,
    check_real,
    check_size,
    is_integral,
    is_real,
    spec_view,
    takes_one_argument,
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
    "default_seed",
]


_MAX = sys.float_info.max
_LN2 = math.log(2.0)


def default_seed(random_state: object) -> object:
    """``random_state`` itself, or for ``None`` a seed from the global generator users seed.

    Ray Tune samples search spaces from numpy's global generator, so Ray code makes a search
    repeatable with ``np.random.seed(n)``. When numpy is loaded, ``None`` becomes an int drawn
    from it (one draw); otherwise from the ``random`` module, so ``random.seed(n)`` works in
    numpy-free code. numpy is never imported here.
    """
    if random_state is not None:
        return random_state
    numpy = sys.modules.get("numpy")
    legacy = getattr(getattr(numpy, "random", None), "randint", None)
    if callable(legacy):
        return int(legacy(0, 2**31 - 1))
    return random.getrandbits(64)


# -- float-range helpers -------------------------------------------------------------------
def _real(name: str, value: Any, where: str, finite: bool = False) -> float:
    """``check_real`` that also turns an int beyond the float range into a ``ValueError``."""
    try:
        return check_real(name, value, where, finite=finite)
    except OverflowError:
        text = repr(value)
        shown = text if len(text) <= 40 else f"{text[:20]}...({len(text)} digits)"
        raise ValueError(
            f"`{name}` of {where} must be within the float range (|x| <= {_MAX!r}), got {shown}"
        ) from None


def _uniform_draw(lo: float, hi: float) -> Draw:
    """Uniform floats in ``[lo, hi)`` (``lo`` when ``lo == hi``), also when ``hi - lo``
    overflows (``uniform(-1e308, 1e308)``)."""
    top = math.nextafter(hi, -math.inf) if hi > lo else lo
    width = hi - lo
    if math.isfinite(width):

        def draw(rng: random.Random) -> float:
            value = lo + width * rng.random()
            return value if value < hi else top

        return draw

    def draw_wide(rng: random.Random) -> float:
        u = rng.random()
        return min(max(lo * (1.0 - u) + hi * u, lo), top)

    return draw_wide


def _loguniform_draw(lo: float, hi: float, inclusive: bool) -> Draw:
    """Log-uniform floats in ``[lo, hi)`` (``[lo, hi]`` when ``inclusive``), ``0 < lo < hi``."""
    llo, lhi = math.log(lo), math.log(hi)
    span = lhi - llo
    top = hi if inclusive else math.nextafter(hi, -math.inf)
    if hi < 1e300:

        def draw(rng: random.Random) -> float:
            return min(max(math.exp(llo + span * rng.random()), lo), top)

        return draw

    def draw_near_max(rng: random.Random) -> float:  # keep exp() from overflowing
        return min(max(math.exp(min(llo + span * rng.random(), lhi)), lo), top)

    return draw_near_max


def _normal_draw(mean: float, sd: float, quantum: _Multiples | None) -> Draw:
    """Gaussian floats, clamped to the finite floats when ``mean + sd * z`` overflows.

    ``random.gauss`` stays within 8.6 sd of the mean, so only a mean or sd near the end of the
    float range needs the clamp.
    """
    safe = abs(mean) + 16 * sd < _MAX / 2
    if quantum is None:
        if safe:

            def draw(rng: random.Random) -> float:
                return rng.gauss(mean, sd)

            return draw

        def draw_clamped(rng: random.Random) -> float:
            return min(max(rng.gauss(mean, sd), -_MAX), _MAX)

        return draw_clamped
    if safe:
        at, q = quantum.at, quantum.q

        def draw_q(rng: random.Random) -> float:
            return at(round(rng.gauss(mean, sd) / q))

        return draw_q
    nearest = quantum.nearest_finite

    def draw_q_clamped(rng: random.Random) -> float:
        return nearest(min(max(rng.gauss(mean, sd), -_MAX), _MAX))

    return draw_q_clamped


def _exp_int(x: float, nearest: bool) -> int:
    """``e**x`` rounded down (or to the nearest) to an int, also beyond the float range."""
    if x < 700.0:
        value = math.exp(x)
        return round(value) if nearest else math.floor(value)
    shift = int(x / _LN2) - 60  # e**x = m * 2**shift with m about 2**60 (53 bits of it exact)
    mantissa = math.exp(x - shift * _LN2)
    return (round(mantissa) if nearest else math.floor(mantissa)) << shift


def _multiple_draw(first: int, count: int, q: int) -> Draw:
    """``(first + k) * q`` for ``k`` uniform in ``range(count)``; exact for any ``count``."""
    if count < 2**52:

        def draw(rng: random.Random) -> int:
            return (first + int(rng.random() * count)) * q

        return draw

    def draw_big(rng: random.Random) -> int:
        return (first + rng.randrange(count)) * q

    return draw_big


def _decimal_places(q: float) -> int:
    """Decimal places of ``q`` as written (0.1 -> 1, 2.5e-07 -> 8, 1e+16 -> 0)."""
    exponent = Decimal(repr(float(q))).as_tuple().exponent
    return max(-exponent, 0) if isinstance(exponent, int) else 0


class _Multiples:
    """The multiples of a quantum ``q`` as floats.

    ``at(k)`` is ``k * q`` rounded to the decimal places of ``q`` (so multiples of 0.1 read
    0.3, not 0.30000000000000004), which moves it by at most a float spacing or two when ``q``
    is a normal float; it is non-decreasing in ``k``, so :meth:`span` finds the
    exact indices of the first and last multiples within bounds from an estimate a few steps
    off. Callers have checked that ``q`` is at least the float spacing at the bounds, so every
    ``value / q`` below is finite.
    """

    __slots__ = ("places", "q")

    def __init__(self, q: float) -> None:
        self.q = float(q)
        # a subnormal q has fewer digits than its repr: rounding to them would move multiples
        self.places = _decimal_places(q) if self.q >= sys.float_info.min else 0

    def at(self, k: int) -> float:
        value = k * self.q
        return round(value, self.places) if self.places else value

    def span(self, lower: float, upper: float) -> tuple[int, int]:
        """Indices ``(first, last)`` of the multiples within ``[lower, upper]`` (finite
        bounds); ``first > last`` when there is none."""
        at = self.at
        first = math.ceil(lower / self.q)
        while at(first - 1) >= lower:
            first -= 1
        while at(first) < lower:
            first += 1
        last = math.floor(upper / self.q)
        while at(last + 1) <= upper:
            last += 1
        while at(last) > upper:
            last -= 1
        return first, last

    def nearest_finite(self, value: float) -> float:
        """The multiple nearest to the finite ``value`` that is itself a finite float."""
        k = round(value / self.q)
        result = self.at(k)
        while not -_MAX <= result <= _MAX:  # k * q overflowed: one step towards zero
            k -= 1 if k > 0 else -1
            result = self.at(k)
        return result


def quantized_bounds(lower: float, upper: float, q: float) -> tuple[float, float]:
    """The first and last multiples of ``q`` within the finite ``[lower, upper]``, exactly as a
    quantized :class:`Float` draws them: ``(0.1, 0.5)`` for ``(0.05, 0.52, 0.1)``.

    For the searcher adapters and PBT, in place of ``_common.snap`` (whose tolerance of 1e-9 q
    gives ``snap(1.0, 1e300, 1e290) == (0.0, 1e300)``). Raises ``ValueError`` when ``q`` is
    below the float spacing at the bounds or no multiple lies within them.
    """
    _spacing_check(q, max(abs(lower), abs(upper)), "max(|lower|, |upper|)", "quantized_bounds()")
    quantum = _Multiples(q)
    first, last = quantum.span(lower, upper)
    if first > last:
        raise ValueError(f"no multiple of q={q!r} lies within [{lower!r}, {upper!r}]")
    return quantum.at(first), quantum.at(last)


def _spacing_check(q: float, magnitude: float, at: str, where: str) -> None:
    """``q`` below the float spacing at ``magnitude`` is a ``ValueError`` naming the rule."""
    spacing = math.ulp(min(magnitude, _MAX))
    if q < spacing:
        raise ValueError(
            f"`q` of {where} must be >= {spacing!r}, the spacing of floats at {at} = "
            f"{magnitude!r} (multiples of a smaller q cannot be told apart there), got q={q!r}"
        )


# -- samplers ------------------------------------------------------------------------------
class Sampler:
    """How values are drawn from a :class:`Domain`.

    A sampler is a small immutable description (``Uniform()``, ``LogUniform()``,
    ``Normal(mean, sd)``, ``Quantized(inner, q)``, ``Grid()``); the domain it is attached to does
    the drawing and checks that the pair makes sense (``Normal`` on a bounded ``Float`` is a
    ``ValueError``). Search-algorithm adapters read these objects to translate a tunelab space
    into their own library's space.
    """

    def sample(
        self,
        domain: Domain,
        config: Mapping[str, Any] | None = None,
        size: int = 1,
        random_state: object = None,
    ) -> list[Any]:
        """Draw ``size`` values of ``domain`` with this sampler (not the domain's own).

        Args:
            domain: The domain to draw from.
            config: The config a :class:`Function` domain is computed from (ignored by
                the others).
            size: How many values (>= 1; default 1).
            random_state: An int seed, a :class:`random.Random`, a numpy
                ``Generator``/``RandomState`` or ``None`` (a fresh seed; see
                :meth:`Domain.sample`).

        Returns:
            A list of ``size`` values.

        Raises:
            ValueError: ``size < 1``, or this sampler does not fit ``domain``.
        """
        with_self = domain._with_sampler(self, allow_override=True)
        values = with_self.sample(config=config, size=size, random_state=random_state)
        return list(values) if size != 1 else [values]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Uniform(Sampler):
    """Every value of the domain equally likely (the default sampler of every domain)."""


class LogUniform(Sampler):
    """Uniform in log space.

    Args:
        base: Kept for compatibility with Ray Tune; it does not change the law. Must be
            > 0 and != 1 (default 10).

    Raises:
        TypeError: ``base`` is not a number.
        ValueError: ``base`` is <= 0 or 1.
    """

    def __init__(self, base: float = 10) -> None:
        self.base = _real("base", base, "LogUniform()")
        if self.base <= 0 or self.base == 1:
            raise ValueError(f"`base` of LogUniform() must be > 0 and != 1, got {base!r}")

    def __repr__(self) -> str:
        return f"LogUniform(base={self.base!r})"


class Normal(Sampler):
    """Gaussian with mean ``mean`` and standard deviation ``sd`` (for unbounded floats).

    Args:
        mean: The mean (default 0.0); finite.
        sd: The standard deviation (default 1.0); finite and > 0.

    Raises:
        TypeError: An argument is not a number.
        ValueError: ``sd <= 0`` or an argument is not finite.
    """

    def __init__(self, mean: float = 0.0, sd: float = 1.0) -> None:
        self.mean = _real("mean", mean, "Normal()", finite=True)
        self.sd = _real("sd", sd, "Normal()", finite=True)
        if self.sd <= 0:
            raise ValueError(f"`sd` of Normal() must be > 0, got {sd!r}")

    def __repr__(self) -> str:
        return f"Normal(mean={self.mean!r}, sd={self.sd!r})"


class Grid(Sampler):
    """Marks a :class:`Categorical` whose values are all enumerated, like ``grid_search``."""


class Quantized(Sampler):
    """Wraps another sampler and rounds its values to multiples of ``q``.

    Args:
        sampler: A :class:`Uniform`, :class:`LogUniform` or :class:`Normal` sampler.
        q: The quantum (> 0); an integral value is kept as an int.

    Raises:
        TypeError: ``sampler`` is not one of those samplers, or ``q`` is not a number.
        ValueError: ``q <= 0`` or not finite.
    """

    def __init__(self, sampler: Sampler, q: float) -> None:
        if not isinstance(sampler, Sampler) or isinstance(sampler, Quantized | Grid):
            raise TypeError(
                f"`sampler` of Quantized() must be a Uniform, LogUniform or Normal "
                f"sampler, got {sampler!r}"
            )
        self.sampler = sampler
        value = _real("q", q, "Quantized()", finite=True)
        self.q: float = int(q) if is_integral(q) else value
        if self.q <= 0:
            raise ValueError(f"`q` of Quantized() must be > 0, got {q!r}")

    def get_sampler(self) -> Sampler:
        """The wrapped sampler."""
        return self.sampler

    def __repr__(self) -> str:
        return f"Quantized({self.sampler!r}, q={self.q!r})"


# -- domains -------------------------------------------------------------------------------
class Domain(DomainBase):
    """The set of values one hyperparameter may take, plus how to draw from it.

    Contract: a domain is defined once (bounds validated in the constructor and when a sampler is
    chosen) and is never mutated afterwards by tunelab; chaining methods (``.uniform()``,
    ``.quantized(q)``, ...) return new objects. The variant generator finds domains anywhere in
    a config and calls :meth:`sample`; searchers read ``lower``/``upper``/``categories`` and
    :meth:`get_sampler` to translate the space.
    """

    default_sampler_cls: type[Sampler] = Uniform

    def __init__(self) -> None:
        self.sampler: Sampler | None = None
        self._draw: Draw | None = None

    # sampler handling ----------------------------------------------------------------
    def set_sampler(self, sampler: Sampler, allow_override: bool = False) -> None:
        """Choose how values are drawn (in place; the chaining methods return copies).

        Args:
            sampler: The sampler; it must fit the domain (e.g. no :class:`Normal` on a
                bounded :class:`Float`).
            allow_override: ``True``: replace a sampler chosen before. ``False`` (default):
                a second choice is an error.

        Raises:
            TypeError: ``sampler`` is not a :class:`Sampler`.
            ValueError: A sampler was chosen before, or ``sampler`` does not fit the domain.
        """
        if not isinstance(sampler, Sampler):
            raise TypeError(f"`sampler` must be a Sampler, got {sampler!r}")
        if self.sampler is not None and not allow_override:
            raise ValueError(
                f"{type(self).__name__} already samples with {self.sampler!r}; a domain takes "
                f"one sampler (got {sampler!r} as well)"
            )
        self._check_sampler(sampler)
        self.sampler = sampler
        self._draw = None

    def get_sampler(self) -> Sampler:
        """The chosen sampler, or a default one (``Uniform()``) when none was chosen."""
        return self.sampler if self.sampler is not None else self.default_sampler_cls()

    def _with_sampler(self, sampler: Sampler, allow_override: bool = False) -> Any:
        new = copy.copy(self)
        new._draw = None
        new.set_sampler(sampler, allow_override=allow_override)
        return new

    def _check_sampler(self, sampler: Sampler) -> None:  # pragma: no cover - overridden
        pass

    def _make_draw(self) -> Draw:  # pragma: no cover - overridden
        raise NotImplementedError

    def drawer(self) -> Draw:
        """A fast ``rng -> value`` function for this domain (used by the variant generator).

        The function takes a :class:`random.Random` and returns one value.
        """
        if self._draw is None:
            self._draw = self._make_draw()
        return self._draw

    # public API ----------------------------------------------------------------------
    def sample(
        self,
        config: Mapping[str, Any] | None = None,
        size: int = 1,
        random_state: object = None,
    ) -> Any:
        """Draw one value (``size == 1``) or a list of ``size`` values.

        Args:
            config: The config a :class:`Function` domain is computed from (ignored by the
                other domains).
            size: How many values (>= 1; default 1).
            random_state: An int seed, a :class:`random.Random` (used directly), a numpy
                ``Generator``/``RandomState`` or ``None`` (default): a seed drawn from
                numpy's global generator when numpy is loaded, else from the ``random``
                module.

        Returns:
            One value when ``size == 1``, else a list of ``size`` values.

        Raises:
            ValueError: ``size`` is not an int >= 1.
            TypeError: ``random_state`` is of another type.
        """
        size = check_size(size)
        draw = self.drawer()
        rng = as_random(default_seed(random_state))
        if size == 1:
            return draw(rng)
        return [draw(rng) for _ in range(size)]

    def is_grid(self) -> bool:
        """Whether the domain's values are all enumerated (a :class:`Grid` sampler)."""
        return isinstance(self.sampler, Grid)

    def is_function(self) -> bool:
        """Whether the domain is a :class:`Function` (``sample_from``)."""
        return False

    def is_valid(self, value: Any) -> bool:  # pragma: no cover - overridden
        """Whether ``value`` lies in the domain (bounds included; a category by ``==``).

        Args:
            value: The value to check.
        """
        raise NotImplementedError

    @property
    def domain_str(self) -> str:  # pragma: no cover - overridden
        """The domain's values in words, as its ``repr`` shows them."""
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_draw"] = None
        return state

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.domain_str}, sampler={self.get_sampler()!r})"


class Float(Domain):
    """Real numbers between ``lower`` and ``upper`` (``None`` means unbounded).

    ``.uniform()`` (default, needs finite bounds, upper exclusive), ``.loguniform()`` (needs
    ``lower > 0``), ``.normal(mean, sd)`` (needs no bounds), ``.quantized(q)`` (round to
    multiples of ``q``; the upper bound becomes reachable). Each returns a new domain:
    ``Float(1e-4, 1e-1).loguniform()`` is what :func:`~tunelab.search.loguniform` returns.

    Args:
        lower: The lower bound, or ``None`` for none.
        upper: The upper bound, or ``None`` for none; must be above ``lower``.

    Raises:
        TypeError: A bound is not a number.
        ValueError: ``lower >= upper``, a NaN bound, or a bound beyond the float range.
    """

    def __init__(self, lower: float | None, upper: float | None) -> None:
        super().__init__()
        lo = -math.inf if lower is None else _real("lower", lower, "Float()")
        hi = math.inf if upper is None else _real("upper", upper, "Float()")
        if math.isnan(lo) or math.isnan(hi) or not lo < hi:
            raise ValueError(f"Float() needs lower < upper, got lower={lower!r}, upper={upper!r}")
        self.lower = lo
        self.upper = hi

    def uniform(self) -> Float:
        """A copy that draws uniformly from ``[lower, upper)``.

        Raises:
            ValueError: A bound is infinite, or a sampler was chosen before.
        """
        result: Float = self._with_sampler(Uniform())
        return result

    def loguniform(self, base: float = 10) -> Float:
        """A copy whose logarithm is uniform in ``[log lower, log upper)``.

        Args:
            base: Accepted for compatibility; it does not change the law (default 10).

        Raises:
            ValueError: ``lower <= 0``, an infinite ``upper``, a bad ``base``, or a sampler
                chosen before.
        """
        result: Float = self._with_sampler(LogUniform(base))
        return result

    def normal(self, mean: float = 0.0, sd: float = 1.0) -> Float:
        """A copy that draws from N(mean, sd**2); the domain must have no bounds.

        Args:
            mean: The mean (default 0.0).
            sd: The standard deviation (> 0; default 1.0).

        Raises:
            ValueError: The domain has a bound, ``sd <= 0``, or a sampler was chosen before.
        """
        result: Float = self._with_sampler(Normal(mean, sd))
        return result

    def quantized(self, q: float) -> Float:
        """A copy whose values (from the sampler chosen so far, uniform by default) are
        rounded to the nearest multiple of ``q`` within the bounds; both bounds are
        reachable.

        Args:
            q: The quantum (> 0), at least the float spacing at the bounds.

        Raises:
            ValueError: ``q <= 0``, ``q`` below the float spacing, or no multiple of ``q``
                within the bounds.
        """
        result: Float = self._with_sampler(Quantized(self.get_sampler(), q), allow_override=True)
        return result

    def _check_sampler(self, sampler: Sampler) -> None:
        inner = sampler.get_sampler() if isinstance(sampler, Quantized) else sampler
        bounds = f"lower={self.lower!r}, upper={self.upper!r}"
        finite = math.isfinite(self.lower) and math.isfinite(self.upper)
        if isinstance(inner, Grid):
            raise ValueError("Float domains cannot use a Grid sampler; use grid_search([...])")
        if isinstance(inner, Uniform) and not finite:
            raise ValueError(f"uniform sampling of a Float needs finite bounds, got {bounds}")
        if isinstance(inner, LogUniform) and not (self.lower > 0 and math.isfinite(self.upper)):
            raise ValueError(f"loguniform sampling needs 0 < lower < upper < inf, got {bounds}")
        if isinstance(inner, Normal) and (math.isfinite(self.lower) or math.isfinite(self.upper)):
            raise ValueError(f"normal sampling of a Float takes no bounds, got {bounds}")
        if not isinstance(sampler, Quantized):
            return
        q = float(sampler.q)
        if isinstance(inner, Normal):
            magnitude = abs(inner.mean) + inner.sd
            _spacing_check(q, magnitude, "|mean| + sd", "a normal Float domain")
            return
        magnitude = max(abs(self.lower), abs(self.upper))
        _spacing_check(q, magnitude, "max(|lower|, |upper|)", "a Float domain")
        first, last = _Multiples(q).span(self.lower, self.upper)
        if first > last:
            raise ValueError(
                f"no multiple of q={sampler.q!r} lies within [{self.lower!r}, "
                f"{self.upper!r}]; choose a smaller q or wider bounds"
            )

    def _make_draw(self) -> Draw:
        sampler = self.get_sampler()
        quantum: _Multiples | None = None
        if isinstance(sampler, Quantized):
            quantum, sampler = _Multiples(sampler.q), sampler.get_sampler()
        lo, hi = self.lower, self.upper
        if isinstance(sampler, Normal):
            return _normal_draw(sampler.mean, sampler.sd, quantum)
        if quantum is None:
            if isinstance(sampler, LogUniform):
                return _loguniform_draw(lo, hi, inclusive=False)
            return _uniform_draw(lo, hi)
        first, last = quantum.span(lo, hi)
        base = (
            _loguniform_draw(lo, hi, inclusive=True)
            if isinstance(sampler, LogUniform)
            else _uniform_draw(quantum.at(first), quantum.at(last))
        )
        at, q = quantum.at, quantum.q

        def draw(rng: random.Random) -> float:
            return at(min(max(round(base(rng) / q), first), last))

        return draw

    def is_valid(self, value: Any) -> bool:
        return is_real(value) and self.lower <= value <= self.upper

    @property
    def domain_str(self) -> str:
        return f"({self.lower}, {self.upper})"


class Integer(Domain):
    """Integers from ``lower`` (inclusive) to ``upper`` (exclusive unless quantized with q > 1).

    ``.uniform()`` (default), ``.loguniform()`` (needs ``lower >= 1``), ``.quantized(q)``
    (multiples of ``q``; with ``q > 1`` the upper bound is inclusive). Each returns a new
    domain: ``Integer(1, 100).loguniform()`` is what :func:`~tunelab.search.lograndint`
    returns. Bounds of any size work.

    Args:
        lower: The lowest value.
        upper: The upper bound (excluded unless quantized with ``q > 1``); at least
            ``lower`` (sampling then needs ``lower < upper``).

    Raises:
        TypeError: A bound is not an integer (a float with an integral value is accepted).
        ValueError: ``lower > upper``.
    """

    def __init__(self, lower: int, upper: int) -> None:
        super().__init__()
        lo = check_int("lower", lower, "Integer()")
        hi = check_int("upper", upper, "Integer()")
        if lo > hi:
            raise ValueError(
                f"Integer() needs lower <= upper, got lower={lower!r}, upper={upper!r}"
            )
        self.lower = lo
        self.upper = hi

    def uniform(self) -> Integer:
        """A copy that draws uniformly.

        Raises:
            ValueError: ``lower >= upper``, or a sampler was chosen before.
        """
        result: Integer = self._with_sampler(Uniform())
        return result

    def loguniform(self, base: float = 10) -> Integer:
        """A copy whose logarithm is uniform (small values more likely).

        Args:
            base: Accepted for compatibility; it does not change the law (default 10).

        Raises:
            ValueError: ``lower < 1``, a bad ``base``, or a sampler chosen before.
        """
        result: Integer = self._with_sampler(LogUniform(base))
        return result

    def quantized(self, q: int) -> Integer:
        """A copy that draws multiples of ``q`` (with ``q > 1`` the upper bound is included).

        Args:
            q: The step, an int >= 1.

        Raises:
            TypeError: ``q`` is not an integer.
            ValueError: ``q < 1``, or no multiple of ``q`` within the bounds.
        """
        q_int = check_int("q", q, "Integer.quantized()")
        if q_int < 1:
            raise ValueError(f"`q` of Integer.quantized() must be >= 1, got {q!r}")
        result: Integer = self._with_sampler(
            Quantized(self.get_sampler(), q_int), allow_override=True
        )
        return result

    def _check_sampler(self, sampler: Sampler) -> None:
        q = 1
        if isinstance(sampler, Quantized):
            q = check_int("q", sampler.q, "an Integer domain")
            if q < 1:
                raise ValueError(f"`q` of an Integer domain must be >= 1, got {sampler.q!r}")
        inner = sampler.get_sampler() if isinstance(sampler, Quantized) else sampler
        bounds = f"lower={self.lower!r}, upper={self.upper!r}"
        if not isinstance(inner, Uniform | LogUniform):
            raise ValueError(f"Integer domains sample uniform or loguniform, not {inner!r}")
        if isinstance(inner, LogUniform) and self.lower < 1:
            raise ValueError(f"log-uniform integer sampling needs lower >= 1, got {bounds}")
        if q == 1 and self.lower >= self.upper:
            raise ValueError(
                f"integer sampling needs lower < upper (upper is exclusive), got {bounds}"
            )
        if q > 1 and -(-self.lower // q) * q > (self.upper // q) * q:
            raise ValueError(f"no multiple of q={q} lies within [{self.lower}, {self.upper}]")

    def _make_draw(self) -> Draw:
        sampler = self.get_sampler()
        q = 1
        if isinstance(sampler, Quantized):
            q, sampler = int(sampler.q), sampler.get_sampler()
        lo, hi = self.lower, self.upper
        if q > 1:  # multiples of q within [lower, upper], both ends inclusive
            first, last = -(-lo // q), hi // q
            if isinstance(sampler, LogUniform):
                # k log-uniform on [first - 0.5, last + 0.5], rounded (the 0.5 is lost past 2**53)
                la = math.log(first - 0.5) if first < 2**53 else math.log(first)
                lb = math.log(last + 0.5) if last < 2**53 else math.log(last)
                span = lb - la

                def draw_q(rng: random.Random) -> int:
                    k = _exp_int(la + span * rng.random(), nearest=True)
                    return min(max(k, first), last) * q

                return draw_q
            return _multiple_draw(first, last - first + 1, q)
        if isinstance(sampler, LogUniform):
            llo, lspan = math.log(lo), math.log(hi) - math.log(lo)

            def draw_log(rng: random.Random) -> int:
                value = _exp_int(llo + lspan * rng.random(), nearest=False)
                return min(max(value, lo), hi - 1)

            return draw_log
        return _multiple_draw(lo, hi - lo, 1)

    def is_valid(self, value: Any) -> bool:
        return is_integral(value) and self.lower <= value <= self.upper

    @property
    def domain_str(self) -> str:
        return f"({self.lower}, {self.upper})"


class Categorical(Domain):
    """One of a list of values (any Python objects, types preserved).

    ``.uniform()`` (default) draws one at random; ``.grid()`` enumerates all of them, exactly
    like ``grid_search(categories)``. :func:`~tunelab.search.choice` returns one.

    Args:
        categories: A non-empty list or tuple of values.

    Raises:
        TypeError: ``categories`` is a str, a dict or not iterable.
        ValueError: ``categories`` is empty.
    """

    def __init__(self, categories: Sequence[Any]) -> None:
        super().__init__()
        self.categories = check_categories(categories, "Categorical()")

    def uniform(self) -> Categorical:
        """A copy that draws one category at random, each equally likely."""
        result: Categorical = self._with_sampler(Uniform())
        return result

    def grid(self) -> Categorical:
        """A copy whose categories are all enumerated, like ``grid_search(categories)``."""
        result: Categorical = self._with_sampler(Grid())
        return result

    def _check_sampler(self, sampler: Sampler) -> None:
        if not isinstance(sampler, Uniform | Grid):
            raise ValueError(f"Categorical domains sample uniform or grid, not {sampler!r}")

    def _make_draw(self) -> Draw:
        categories, count = self.categories, len(self.categories)

        def draw(rng: random.Random) -> Any:
            return categories[int(rng.random() * count)]

        return draw

    def is_valid(self, value: Any) -> bool:
        try:
            return any(value is c or bool(value == c) for c in self.categories)
        except Exception:
            return False

    def __len__(self) -> int:
        return len(self.categories)

    def __getitem__(self, index: int) -> Any:
        return self.categories[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.categories)

    @property
    def domain_str(self) -> str:
        return repr(self.categories)


class Function(Domain):
    """A value computed by ``func`` from the (partially resolved) config: ``sample_from``.

    ``func`` takes no argument or one. The argument is a read-only view of the config that
    supports both spellings: ``config["alpha"]`` (newest) and ``spec.config.alpha`` (0.x/1.x).
    Reading a value that is not resolved yet makes the variant generator retry later, so
    dependent values resolve in dependency order.

    Args:
        func: A callable taking no argument or one (the config view).

    Raises:
        TypeError: ``func`` is not callable.
        ValueError: ``func`` takes more than one required argument.
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        super().__init__()
        if not callable(func):
            raise TypeError(f"`func` of sample_from() must be callable, got {func!r}")
        self.func = func
        self.pass_config = takes_one_argument(func)

    def call(self, view: Any) -> Any:
        """Call ``func`` with ``view`` (or with nothing when it takes no argument).

        Args:
            view: The config view passed to ``func``.

        Returns:
            What ``func`` returns.
        """
        return self.func(view) if self.pass_config else self.func()

    def sample(
        self,
        config: Mapping[str, Any] | None = None,
        size: int = 1,
        random_state: object = None,
    ) -> Any:
        size = check_size(size)
        view = spec_view(config if config is not None else {})
        if size == 1:
            return self.call(view)
        return [self.call(view) for _ in range(size)]

    def is_function(self) -> bool:
        return True

    def _check_sampler(self, sampler: Sampler) -> None:
        raise ValueError("sample_from() domains take no sampler")

    def is_valid(self, value: Any) -> bool:
        return True

    @property
    def domain_str(self) -> str:
        name = getattr(self.func, "__qualname__", None) or repr(self.func)
        return f"{name}()"

    def __repr__(self) -> str:
        return f"Function({self.domain_str})"
