"""Property-based fuzzing of the search-space API (issue 10, point 10).

Every domain constructor gets arbitrary arguments (NaN, infinities, subnormals, ints beyond the
float range, quanta finer than the float spacing, wrong types) and arbitrary seeds. Either the
constructor raises ``ValueError``/``TypeError`` with a message naming one of its arguments, or
every sample is within the bounds, of the domain's type, a multiple of ``q`` (up to a few float
spacings), never NaN or infinite, spread over the range, and the same for the same seed. Whole
nested spaces then go through :func:`generate_variants` and :class:`BasicVariantGenerator`
(with a save/restore in the middle) and every config must keep the space's structure.

Each test is bounded (``max_examples=200``, no deadline): the file runs in a few seconds.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tunelab.search import (
    BasicVariantGenerator,
    Categorical,
    Domain,
    Float,
    Function,
    Integer,
    choice,
    count_grid_variants,
    generate_variants,
    grid_search,
    lograndint,
    loguniform,
    qlograndint,
    qloguniform,
    qrandint,
    qrandn,
    quniform,
    randint,
    randn,
    sample_from,
    uniform,
)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FLOAT_MAX = sys.float_info.max
SAMPLES = 100  # a range quarter is missed by all of them with probability (3/4)**100 ~ 3e-13

# -- strategies ------------------------------------------------------------------------------
EDGES = [0, 1, -1, 0.5, 1e-300, 5e-324, 1e16, 1e300, 1e308, -1e308, FLOAT_MAX, -FLOAT_MAX]
# numbers of every kind: floats with NaN, infinities and subnormals, ints beyond the float range
NUMBERS = st.one_of(
    st.floats(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.integers(min_value=-1000, max_value=1000),
    st.sampled_from(EDGES),
)
NOT_NUMBERS = st.sampled_from([None, "1", True, [1], object()])
ARGUMENTS = st.one_of(NUMBERS, NUMBERS, NUMBERS, NOT_NUMBERS)
SEEDS = st.integers(min_value=0, max_value=2**64)


@st.composite
def quanta(draw: st.DrawFn, lower: Any, upper: Any) -> Any:
    """Anything, or (often) a q that fits the range: its width over 1..1000, or around the
    float spacing at the bounds."""
    if isinstance(lower, float | int) and isinstance(upper, float | int):
        try:
            lo, hi = float(lower), float(upper)
        except OverflowError:
            lo = hi = math.nan
        if math.isfinite(lo) and math.isfinite(hi) and lo < hi:
            n = draw(st.integers(min_value=1, max_value=1000))
            near_spacing = math.ulp(max(abs(lo), abs(hi))) * draw(st.sampled_from([0.5, 1, 3]))
            return draw(st.sampled_from([hi / n - lo / n, near_spacing, draw(ARGUMENTS)]))
    return draw(ARGUMENTS)


def normal_range(mean: Any, sd: Any) -> tuple[Any, Any]:
    """``(mean - sd, mean + sd)`` when both are numbers (to size a q), else the arguments."""
    try:
        return float(mean) - abs(float(sd)), float(mean) + abs(float(sd))
    except (TypeError, ValueError, OverflowError):
        return mean, sd


def names_an_argument(exc: BaseException, names: Sequence[str]) -> bool:
    return re.search(r"\b(" + "|".join(map(re.escape, names)) + r")\b", str(exc)) is not None


def construct(make: Callable[..., Any], names: Sequence[str], *args: Any) -> Any:
    """``make(*args)``, or ``None`` when it raised ValueError/TypeError naming an argument."""
    try:
        return make(*args)
    except (ValueError, TypeError) as exc:
        assert names_an_argument(exc, names), f"{make.__name__}{args!r}: {exc}"
        return None


def is_multiple(value: float, q: float) -> bool:
    """``value`` is a multiple of ``q`` up to a few float spacings at ``value`` (exact check)."""
    k = round(Fraction(value) / Fraction(q))
    return abs(Fraction(value) - k * Fraction(q)) <= 4 * Fraction(math.ulp(max(abs(value), q)))


def sample_twice(domain: Domain, seed: int) -> list[Any]:
    values: list[Any] = domain.sample(size=SAMPLES, random_state=seed)
    assert domain.sample(size=SAMPLES, random_state=seed) == values, "same seed, other values"
    return values


# -- floats ----------------------------------------------------------------------------------
def check_floats(
    values: list[Any], lower: float, upper: float, q: Any = None, exclusive: bool = False
) -> None:
    """Float bounds are the nearest floats to the arguments (an int bound may round outwards:
    those are the domain's ``lower``/``upper``)."""
    for value in values:
        assert type(value) is float, value
        assert math.isfinite(value), value
        assert lower <= value <= upper, (lower, value, upper)
        if exclusive:
            assert value < upper, (value, upper)
        if q is not None:
            assert is_multiple(value, float(q)), (value, q)


@FUZZ
@given(lower=ARGUMENTS, upper=ARGUMENTS, seed=SEEDS)
def test_uniform(lower: Any, upper: Any, seed: int) -> None:
    domain = construct(uniform, ["lower", "upper"], lower, upper)
    if domain is None:
        return
    values = sample_twice(domain, seed)
    check_floats(values, domain.lower, domain.upper, exclusive=True)
    lo, hi = domain.lower, domain.upper
    assert (lo, hi) == (float(lower), float(upper))
    top = math.nextafter(hi, -math.inf)
    # spread over the range (the overflow of upper - lower kept every draw at lower)
    assert max(values) >= min(0.75 * lo + 0.25 * hi, top)
    assert min(values) <= max(0.25 * lo + 0.75 * hi, lo)


@FUZZ
@given(lower=ARGUMENTS, upper=ARGUMENTS, seed=SEEDS, data=st.data())
def test_quniform(lower: Any, upper: Any, seed: int, data: st.DataObject) -> None:
    q = data.draw(quanta(lower, upper), label="q")
    domain = construct(quniform, ["lower", "upper", "q"], lower, upper, q)
    if domain is not None:
        check_floats(sample_twice(domain, seed), domain.lower, domain.upper, q)


@FUZZ
@given(lower=ARGUMENTS, upper=ARGUMENTS, seed=SEEDS)
def test_loguniform(lower: Any, upper: Any, seed: int) -> None:
    domain = construct(loguniform, ["lower", "upper"], lower, upper)
    if domain is not None:
        check_floats(sample_twice(domain, seed), domain.lower, domain.upper, exclusive=True)


@FUZZ
@given(lower=ARGUMENTS, upper=ARGUMENTS, seed=SEEDS, data=st.data())
def test_qloguniform(lower: Any, upper: Any, seed: int, data: st.DataObject) -> None:
    q = data.draw(quanta(lower, upper), label="q")
    domain = construct(qloguniform, ["lower", "upper", "q"], lower, upper, q)
    if domain is not None:
        values = sample_twice(domain, seed)
        check_floats(values, domain.lower, domain.upper, q)
        assert all(value > 0 for value in values)  # never the multiple 0 below the bounds


@FUZZ
@given(mean=ARGUMENTS, sd=ARGUMENTS, seed=SEEDS)
def test_randn(mean: Any, sd: Any, seed: int) -> None:
    domain = construct(randn, ["mean", "sd"], mean, sd)
    if domain is not None:
        check_floats(sample_twice(domain, seed), -FLOAT_MAX, FLOAT_MAX)


@FUZZ
@given(mean=ARGUMENTS, sd=ARGUMENTS, seed=SEEDS, data=st.data())
def test_qrandn(mean: Any, sd: Any, seed: int, data: st.DataObject) -> None:
    q = data.draw(quanta(*normal_range(mean, sd)), label="q")
    domain = construct(qrandn, ["mean", "sd", "q"], mean, sd, q)
    if domain is not None:
        check_floats(sample_twice(domain, seed), -FLOAT_MAX, FLOAT_MAX, q)


# -- integers --------------------------------------------------------------------------------
INT_BOUNDS = st.one_of(
    ARGUMENTS,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-20, max_value=50),
)
INT_Q = st.one_of(st.integers(min_value=-2, max_value=12), st.integers(min_value=1), ARGUMENTS)


def check_ints(values: list[Any], lower: Any, upper: Any, q: int, exclusive: bool) -> None:
    for value in values:
        assert type(value) is int, value
        assert lower <= value <= upper, (lower, value, upper)
        if exclusive:
            assert value < upper, (value, upper)
        assert value % q == 0, (value, q)


@FUZZ
@given(lower=INT_BOUNDS, upper=st.one_of(st.none(), INT_BOUNDS), seed=SEEDS)
def test_randint(lower: Any, upper: Any, seed: int) -> None:
    domain = construct(randint, ["lower", "upper"], lower, upper)
    if domain is None:
        return
    values = sample_twice(domain, seed)
    lo, hi = (0, lower) if upper is None else (lower, upper)
    check_ints(values, lo, hi, 1, exclusive=True)
    quarter = (int(hi) - int(lo)) // 4
    assert max(values) >= int(lo) + quarter and min(values) < int(hi) - quarter


@FUZZ
@given(lower=INT_BOUNDS, upper=INT_BOUNDS, q=INT_Q, seed=SEEDS)
def test_qrandint(lower: Any, upper: Any, q: Any, seed: int) -> None:
    domain = construct(qrandint, ["lower", "upper", "q"], lower, upper, q)
    if domain is not None:
        q_int = int(q)
        check_ints(sample_twice(domain, seed), lower, upper, q_int, exclusive=q_int == 1)


@FUZZ
@given(lower=INT_BOUNDS, upper=INT_BOUNDS, seed=SEEDS)
def test_lograndint(lower: Any, upper: Any, seed: int) -> None:
    domain = construct(lograndint, ["lower", "upper"], lower, upper)
    if domain is not None:
        check_ints(sample_twice(domain, seed), lower, upper, 1, exclusive=True)


@FUZZ
@given(lower=INT_BOUNDS, upper=INT_BOUNDS, q=INT_Q, seed=SEEDS)
def test_qlograndint(lower: Any, upper: Any, q: Any, seed: int) -> None:
    domain = construct(qlograndint, ["lower", "upper", "q"], lower, upper, q)
    if domain is not None:
        q_int = int(q)
        check_ints(sample_twice(domain, seed), lower, upper, q_int, exclusive=q_int == 1)


# -- categories, grids and functions ---------------------------------------------------------
CONSTANTS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=4),
    st.tuples(st.integers(), st.text(max_size=2)),
)
CATEGORY_LISTS = st.lists(st.one_of(CONSTANTS, st.floats(), st.builds(object)), max_size=6)


@FUZZ
@given(
    categories=st.one_of(
        CATEGORY_LISTS,
        CATEGORY_LISTS.map(tuple),
        st.integers(min_value=-3, max_value=30),
        st.one_of(
            st.text(max_size=3), st.floats(), st.none(), st.dictionaries(st.text(), CONSTANTS)
        ),
    ),
    seed=SEEDS,
)
def test_choice(categories: Any, seed: int) -> None:
    domain = construct(choice, ["categories"], categories)
    if domain is None:
        return
    values = sample_twice(domain, seed)
    if isinstance(categories, int):
        assert all(type(value) is int and 0 <= value < categories for value in values)
    else:  # the category objects themselves, identity kept (NaN and object() included)
        assert all(any(value is c for c in categories) for value in values)


@FUZZ
@given(
    values=st.one_of(
        st.lists(CONSTANTS, max_size=5),
        st.lists(CONSTANTS, max_size=5).map(tuple),
        st.one_of(st.text(max_size=3), st.integers(), st.none(), st.sets(st.integers())),
    ),
    seed=SEEDS,
)
def test_grid_search(values: Any, seed: int) -> None:
    marker = construct(grid_search, ["values"], values)
    if marker is None:
        return
    assert marker == {"grid_search": list(values)}
    configs = [config for _, config in generate_variants({"g": marker}, random_state=seed)]
    assert [config["g"] for config in configs] == list(values)
    assert count_grid_variants({"g": marker}) == len(values)


@FUZZ
@given(result=CONSTANTS, arity=st.sampled_from([0, 1, 2, "not callable"]), seed=SEEDS)
def test_sample_from(result: Any, arity: Any, seed: int) -> None:
    funcs: dict[Any, Any] = {
        0: lambda: result,
        1: lambda spec: (spec["k"], result),
        2: lambda spec, other: result,
        "not callable": result,
    }
    domain = construct(sample_from, ["func"], funcs[arity])
    if domain is None:
        return
    expected = result if arity == 0 else (3, result)
    assert domain.sample({"k": 3}, random_state=seed) == expected
    assert domain.sample({"k": 3}, size=3) == [expected] * 3
    configs = [c for _, c in generate_variants({"k": 3, "f": domain}, random_state=seed)]
    assert configs == [{"k": 3, "f": expected}]


# -- whole spaces through the variant generation ---------------------------------------------
FINITE = st.floats(allow_nan=False, allow_infinity=False)
POSITIVE = st.floats(min_value=5e-324, max_value=FLOAT_MAX)


@st.composite
def float_domains(draw: st.DrawFn) -> Domain:
    """A valid float domain, quantized half of the time when the drawn q is allowed."""
    kind = draw(st.sampled_from(["uniform", "loguniform", "randn"]))
    make: Callable[..., Domain]
    if kind == "randn":
        make, quantized = randn, qrandn
        args: tuple[float, float] = (draw(FINITE), draw(POSITIVE))
        q = draw(st.floats(min_value=1e-3, max_value=FLOAT_MAX))
    else:
        lo, hi = sorted(
            draw(st.lists(POSITIVE if kind == "loguniform" else FINITE, min_size=2, max_size=2))
        )
        assume(lo < hi)
        make, quantized = (uniform, quniform) if kind == "uniform" else (loguniform, qloguniform)
        args = (lo, hi)
        q = hi / draw(st.integers(1, 100)) - lo / draw(st.integers(1, 100))
    if draw(st.booleans()):
        try:
            return quantized(*args, q)
        except ValueError:  # q finer than the float spacing, or no multiple in range
            pass
    return make(*args)


@st.composite
def int_domains(draw: st.DrawFn) -> Domain:
    lo = draw(st.integers(min_value=1, max_value=10**30) | st.integers(1, 50))
    hi = lo + draw(st.integers(min_value=1, max_value=10**400) | st.integers(1, 100))
    q = draw(st.integers(min_value=1, max_value=20))
    makers = [
        lambda: randint(-lo, hi),
        lambda: lograndint(lo, hi),
        lambda: qrandint(-lo, hi, q),
        lambda: qlograndint(lo, hi, q),
    ]
    try:
        domain: Domain = draw(st.sampled_from(makers))()
    except ValueError:  # no multiple of q in range
        domain = randint(lo, hi)
    return domain


def top_level_size(spec: Any) -> int:
    return len(spec)


KEYS = st.text(alphabet="abcxyz_", min_size=1, max_size=3)
LEAVES = st.one_of(
    CONSTANTS,
    float_domains(),
    int_domains(),
    st.lists(CONSTANTS, min_size=1, max_size=4).map(choice),
    st.lists(CONSTANTS, min_size=1, max_size=3).map(lambda v: Categorical(v).grid()),
    st.lists(CONSTANTS, min_size=1, max_size=3).map(grid_search),
    st.just(sample_from(top_level_size)),
)
SPACES = st.dictionaries(
    KEYS,
    st.recursive(
        LEAVES,
        lambda children: st.one_of(
            st.dictionaries(KEYS, children, max_size=3),
            st.lists(children, max_size=3),
            st.lists(children, max_size=2).map(tuple),
        ),
        max_leaves=8,
    ),
    max_size=4,
)


def check_structure(space: Any, config: Any, root: dict[str, Any]) -> None:
    """``config`` is ``space`` with every unresolved leaf replaced by a valid value."""
    if isinstance(space, Function):
        assert config == len(root)
    elif isinstance(space, Domain):
        assert not isinstance(config, Domain) and space.is_valid(config), (space, config)
        if isinstance(space, Float):
            assert type(config) is float and math.isfinite(config)
        elif isinstance(space, Integer):
            assert type(config) is int
        elif space.is_grid():  # grid values are copied (tuples rebuilt)
            assert any(config == c for c in space.categories)
        else:
            assert any(config is c for c in space.categories)
    elif isinstance(space, dict) and set(space) == {"grid_search"}:
        assert any(config == value for value in space["grid_search"])
    elif isinstance(space, dict):
        assert type(config) is dict and list(config) == list(space)
        for key in space:
            check_structure(space[key], config[key], root)
    elif isinstance(space, list | tuple):
        assert type(config) is type(space) and len(config) == len(space)
        for item, value in zip(space, config):
            check_structure(item, value, root)
    else:
        assert config == space and type(config) is type(space)


def leaf_ids(node: Any) -> list[int]:
    if isinstance(node, dict):
        return [i for value in node.values() for i in leaf_ids(value)]
    if isinstance(node, list | tuple):
        return [i for value in node for i in leaf_ids(value)]
    return [id(node)]


@FUZZ
@given(space=SPACES, seed=SEEDS)
def test_generate_variants_keeps_the_structure(space: dict[str, Any], seed: int) -> None:
    variants = count_grid_variants(space)
    assume(variants <= 64)
    before = leaf_ids(space)
    configs = [config for _, config in generate_variants(space, random_state=seed)]
    assert len(configs) == variants
    for config in configs:
        check_structure(space, config, space)
    assert [c for _, c in generate_variants(space, random_state=seed)] == configs
    assert leaf_ids(space) == before  # the space itself is never modified


@FUZZ
@given(space=SPACES, seed=SEEDS, num_samples=st.integers(1, 3), stop_at=st.integers(0, 200))
def test_basic_variant_generator_keeps_the_structure_across_a_restore(
    space: dict[str, Any], seed: int, num_samples: int, stop_at: int
) -> None:
    variants = count_grid_variants(space)
    assume(variants <= 32)
    experiment = {"config": space, "num_samples": num_samples, "name": "fuzz"}
    generator = BasicVariantGenerator(random_state=seed)
    generator.add_configurations([experiment])
    suggestions = []
    while (suggestion := generator.next_trial()) is not None:
        suggestions.append(suggestion)
    assert len(suggestions) == num_samples * variants == generator.total_samples
    assert generator.is_finished()
    assert len({s.trial_id for s in suggestions}) == len(suggestions)
    for suggestion in suggestions:
        check_structure(space, suggestion.config, space)
    # a generator restored from the JSON state continues with the same configs
    stop = stop_at % (len(suggestions) + 1)
    first = BasicVariantGenerator(random_state=seed)
    first.add_configurations([experiment])
    for _ in range(stop):
        first.next_trial()
    state = json.loads(json.dumps(first.get_state()))
    restored = BasicVariantGenerator()
    restored.set_state(state)
    restored.add_configurations([experiment])
    rest = []
    while (suggestion := restored.next_trial()) is not None:
        rest.append(suggestion)
    assert [s.config for s in rest] == [s.config for s in suggestions[stop:]]
    assert [s.experiment_tag for s in rest] == [s.experiment_tag for s in suggestions[stop:]]
