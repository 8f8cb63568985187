"""Search-space domains and sampling functions (tunelab.search.sample)."""

from __future__ import annotations

import math
import pickle
import random
import subprocess
import sys
from fractions import Fraction
from typing import Any

import pytest

import tunelab.search as search
import tunelab.search.sample as sample_module
import tunelab.suggest as suggest
from tunelab.search.sample import (
    Categorical,
    Domain,
    Float,
    Function,
    Integer,
    LogUniform,
    Normal,
    Quantized,
    Uniform,
    choice,
    function,
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


def draw(domain: Domain, n: int = 2000, seed: int = 0) -> list[Any]:
    values: list[Any] = domain.sample(size=n, random_state=seed)
    return values


# -- public names --------------------------------------------------------------------------
def test_public_names_are_pinned() -> None:
    assert set(search.__all__) == {
        "BasicVariantGenerator", "Categorical", "ConcurrencyLimiter", "Domain", "Float",
        "Function", "Grid", "Integer", "LogUniform", "Normal", "Quantized",
        "RecursiveDependencyError", "Repeater", "Sampler", "SearchAlgorithm", "SearchGenerator",
        "Searcher", "TrialSuggestion", "Uniform", "choice", "count_grid_variants",
        "create_searcher", "flatten_resolved_vars", "function", "generate_variants",
        "grid_search", "lograndint", "loguniform", "qlograndint", "qloguniform", "qrandint",
        "qrandn", "quniform", "randint", "randn", "sample_from", "uniform",
    }  # fmt: skip
    for name in search.__all__:
        assert hasattr(search, name)


def test_suggest_is_an_alias_of_search() -> None:
    assert suggest.BasicVariantGenerator is search.BasicVariantGenerator
    assert suggest.uniform is search.uniform
    from tunelab.suggest.basic_variant import BasicVariantGenerator
    from tunelab.suggest.sample import Float as SuggestFloat
    from tunelab.suggest.suggestion import ConcurrencyLimiter, Searcher
    from tunelab.suggest.variant_generator import generate_variants

    assert BasicVariantGenerator is search.BasicVariantGenerator
    assert SuggestFloat is Float
    assert Searcher is search.Searcher and ConcurrencyLimiter is search.ConcurrencyLimiter
    assert generate_variants is search.generate_variants


def test_ray_module_paths_resolve() -> None:
    from tunelab.search.basic_variant import BasicVariantGenerator
    from tunelab.search.concurrency_limiter import ConcurrencyLimiter
    from tunelab.search.repeater import Repeater
    from tunelab.search.search_generator import SearchGenerator
    from tunelab.search.searcher import Searcher

    assert BasicVariantGenerator is search.BasicVariantGenerator
    assert ConcurrencyLimiter is search.ConcurrencyLimiter
    assert Repeater is search.Repeater
    assert SearchGenerator is search.SearchGenerator
    assert Searcher is search.Searcher


def test_import_does_not_load_numpy_or_pandas() -> None:
    code = (
        "import sys, tunelab.search, tunelab.suggest;"
        "print('numpy' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# -- floats --------------------------------------------------------------------------------
def test_uniform_stays_in_bounds_and_spreads() -> None:
    values = draw(uniform(-2.0, 3.0))
    assert all(-2.0 <= v < 3.0 for v in values)
    assert min(values) < -1.9 and max(values) > 2.9
    assert all(isinstance(v, float) for v in values)


def test_loguniform_is_uniform_in_log_space() -> None:
    values = draw(loguniform(1e-4, 1e-1), n=4000)
    assert all(1e-4 <= v <= 1e-1 for v in values)
    below_1e3 = sum(v < 1e-3 for v in values) / len(values)
    assert 0.28 < below_1e3 < 0.39  # one decade of three


def test_quniform_rounds_to_q_and_reaches_upper_bound() -> None:
    values = draw(quniform(0.0, 1.0, 0.1))
    assert set(values) == {round(0.1 * i, 1) for i in range(11)}


def test_quniform_snaps_bounds_that_are_not_multiples_of_q() -> None:
    values = draw(quniform(0.05, 0.52, 0.1))
    assert set(values) == {0.1, 0.2, 0.3, 0.4, 0.5}


def test_qloguniform_values_are_multiples_within_bounds() -> None:
    values = draw(qloguniform(1e-3, 1.0, 5e-4))
    assert all(1e-3 <= v <= 1.0 for v in values)
    assert all(abs(v / 5e-4 - round(v / 5e-4)) < 1e-6 for v in values)


def test_randn_and_qrandn() -> None:
    values = draw(randn(10.0, 2.0), n=4000)
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    assert abs(mean - 10.0) < 0.2 and abs(sd - 2.0) < 0.2
    assert all(v % 0.5 == 0 for v in draw(qrandn(0.0, 1.0, 0.5)))


# -- integers ------------------------------------------------------------------------------
def test_randint_upper_is_exclusive() -> None:
    assert set(draw(randint(3, 7))) == {3, 4, 5, 6}


def test_randint_single_argument_is_numpy_style() -> None:
    assert set(draw(randint(4))) == {0, 1, 2, 3}


def test_qrandint_q1_excludes_upper_and_q_above_1_includes_it() -> None:
    assert set(draw(qrandint(0, 5))) == {0, 1, 2, 3, 4}
    assert set(draw(qrandint(0, 20, 5))) == {0, 5, 10, 15, 20}
    assert set(draw(qrandint(1, 19, 5))) == {5, 10, 15}


def test_lograndint_and_qlograndint() -> None:
    values = draw(lograndint(1, 1000), n=4000)
    assert all(isinstance(v, int) and 1 <= v < 1000 for v in values)
    assert 0.25 < sum(v < 10 for v in values) / len(values) < 0.42
    qvalues = draw(qlograndint(10, 1000, 10))
    assert all(v % 10 == 0 and 10 <= v <= 1000 for v in qvalues)
    assert 1000 in qvalues and 10 in qvalues


# -- categorical and function ------------------------------------------------------------
def test_choice_preserves_types_and_identity() -> None:
    marker = object()
    categories = [1, "a", None, (1, 2), marker]
    values = draw(choice(categories))
    assert {id(v) for v in values} == {id(c) for c in categories}


def test_choice_int_means_range() -> None:
    assert set(draw(choice(3))) == {0, 1, 2}


def test_sample_from_passes_config_in_both_styles() -> None:
    config = {"alpha": 3, "sub": {"beta": 4}}
    assert sample_from(lambda config: config["alpha"] * 2).sample(config) == 6
    assert sample_from(lambda spec: spec.config.alpha * 2).sample(config) == 6
    assert sample_from(lambda spec: spec.config.sub.beta).sample(config) == 4
    assert sample_from(lambda: 7).sample() == 7
    assert sample_from(lambda c: c["alpha"]).sample(config, size=3) == [3, 3, 3]


def test_sample_from_rejects_functions_of_two_arguments() -> None:
    with pytest.raises(ValueError, match="zero or one argument"):
        sample_from(lambda a, b: a)
    with pytest.raises(TypeError, match="callable"):
        sample_from(3)  # type: ignore[arg-type]


def test_function_passes_the_callable_through() -> None:
    def activation(x: float) -> float:
        return x

    assert function(activation) is activation
    with pytest.raises(TypeError, match="`func` of function"):
        function("relu")  # type: ignore[arg-type]


def test_grid_search_is_a_literal_marker() -> None:
    assert grid_search([1, 2]) == {"grid_search": [1, 2]}
    assert grid_search(range(2)) == {"grid_search": [0, 1]}
    with pytest.raises(TypeError, match="grid_search"):
        grid_search("abc")
    with pytest.raises(ValueError, match="must not be empty"):
        grid_search([])


# -- seeds ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "domain",
    [uniform(0, 1), loguniform(1e-3, 1), randint(0, 100), choice(list("abcdef")), randn()],
    ids=repr,
)
def test_same_seed_same_values(domain: Domain) -> None:
    assert domain.sample(size=20, random_state=5) == domain.sample(size=20, random_state=5)
    assert domain.sample(size=20, random_state=5) != domain.sample(size=20, random_state=6)


def test_random_state_accepts_random_and_numpy_generators() -> None:
    np = pytest.importorskip("numpy")
    domain = uniform(0, 1)
    assert domain.sample(random_state=random.Random(1)) == domain.sample(
        random_state=random.Random(1)
    )
    a = domain.sample(size=3, random_state=np.random.default_rng(7))
    b = domain.sample(size=3, random_state=np.random.default_rng(7))
    c = domain.sample(size=3, random_state=np.random.RandomState(7))
    assert a == b and len(c) == 3
    with pytest.raises(TypeError, match="random_state"):
        domain.sample(random_state="seed")


# -- validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: uniform(5, 1), "lower=5, upper=1"),
        (lambda: uniform(1, 1), "lower < upper"),
        (lambda: loguniform(0, 1), "lower"),
        (lambda: loguniform(-1, 1), "lower"),
        (lambda: quniform(0, 1, 0), "`q`"),
        (lambda: quniform(0.1, 0.2, 1.0), "no multiple of q"),
        (lambda: randint(5, 5), "lower < upper"),
        (lambda: randint(0), "lower < upper"),
        (lambda: qrandint(1, 4, 5), "no multiple of q=5"),
        (lambda: lograndint(0, 10), "lower >= 1"),
        (lambda: randn(0, 0), "`sd`"),
        (lambda: randn(0, -1), "`sd`"),
        (lambda: choice([]), "must not be empty"),
        (lambda: uniform(0, math.nan), "lower < upper"),
        (lambda: Float(0, 1).normal(), "takes no bounds"),
        (lambda: Float(None, 1).uniform(), "finite bounds"),
        (lambda: Float(0, 1).uniform().loguniform(), "one sampler"),
        (lambda: LogUniform(base=1), "`base`"),
    ],
)
def test_bad_definitions_raise_value_error(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: uniform("0", 1), "`lower`"),
        (lambda: randint(0.5, 3), "`lower` of Integer"),
        (lambda: choice(3.5), "`categories`"),
        (lambda: choice("relu"), "`categories`"),
        (lambda: choice({"a": 1}), "`categories`"),
        (lambda: Quantized(Quantized(Uniform(), 1), 1), "`sampler`"),
        (lambda: uniform(0, True), "`upper`"),
    ],
)
def test_bad_types_raise_type_error(make: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        make()


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="`size`"):
        uniform(0, 1).sample(size=0)


# -- domain API ----------------------------------------------------------------------------
def test_domain_attributes_and_validity() -> None:
    lr = loguniform(1e-4, 1e-1)
    assert (lr.lower, lr.upper) == (1e-4, 1e-1)
    assert isinstance(lr.get_sampler(), LogUniform)
    assert lr.is_valid(1e-2) and not lr.is_valid(1.0) and not lr.is_valid("x")
    assert lr.domain_str == "(0.0001, 0.1)"
    ints = randint(0, 10)
    assert ints.is_valid(3) and not ints.is_valid(3.5) and not ints.is_valid(11)
    cat = choice(["a", "b"])
    assert cat.categories == ["a", "b"] and len(cat) == 2 and cat[1] == "b"
    assert cat.is_valid("a") and not cat.is_valid("c")
    assert sample_from(lambda: 1).is_function() and not cat.is_function()
    assert "0.0001" in repr(lr)


def test_chaining_returns_new_domains() -> None:
    base = Float(1e-3, 1.0)
    log = base.loguniform()
    quantized = log.quantized(1e-3)
    assert base.sampler is None and isinstance(log.get_sampler(), LogUniform)
    sampler = quantized.get_sampler()
    assert isinstance(sampler, Quantized) and isinstance(sampler.get_sampler(), LogUniform)
    assert sampler.q == 1e-3
    normal = Float(None, None).normal(1.0, 2.0)
    assert isinstance(normal.get_sampler(), Normal)
    evens = Integer(0, 10).quantized(2).sample(size=200, random_state=0)
    assert set(evens) == {0, 2, 4, 6, 8, 10}
    assert Categorical([1, 2]).grid().is_grid()


def test_domains_pickle_after_sampling() -> None:
    domain = loguniform(1e-3, 1.0)
    domain.sample(random_state=0)
    clone = pickle.loads(pickle.dumps(domain))
    assert clone.sample(size=5, random_state=3) == domain.sample(size=5, random_state=3)


def test_function_domain_repr_names_the_function() -> None:
    def double(config: Any) -> Any:
        return config["a"] * 2

    assert "double" in repr(Function(double))


def test_public_sample_module_matches_the_package() -> None:
    for name in sample_module.__all__:
        assert getattr(sample_module, name) is getattr(search, name)


def test_sampler_sample_draws_with_that_sampler() -> None:
    domain = Float(1.0, 1000.0)
    logs = LogUniform().sample(domain, size=2000, random_state=0)
    assert 0.25 < sum(v < 10 for v in logs) / 2000 < 0.42
    uniforms = Uniform().sample(domain, size=2000, random_state=0)
    assert sum(v < 10 for v in uniforms) / 2000 < 0.05
    assert domain.sampler is None


# -- edges of the float range (issue 10, point 10) -------------------------------------------
FLOAT_MAX = sys.float_info.max


def is_multiple(value: float, q: float) -> bool:
    """``value`` is a multiple of ``q`` up to a few float spacings at ``value`` (exact check)."""
    k = round(Fraction(value) / Fraction(q))
    return abs(Fraction(value) - k * Fraction(q)) <= 4 * Fraction(math.ulp(max(abs(value), q)))


@pytest.mark.parametrize(("lower", "upper"), [(-1e308, 1e308), (-FLOAT_MAX, FLOAT_MAX)])
def test_uniform_wider_than_the_float_range_samples_across_it(lower: float, upper: float) -> None:
    values = draw(uniform(lower, upper))
    assert all(lower <= v < upper and math.isfinite(v) for v in values)
    assert min(values) < lower * 0.9 and max(values) > upper * 0.9  # not stuck at the lower bound
    assert len(set(values)) == len(values)


def test_uniform_accepts_bounds_whose_sum_overflows() -> None:
    values = draw(uniform(1e308, FLOAT_MAX), n=500)
    assert all(1e308 <= v < FLOAT_MAX for v in values) and len(set(values)) > 400


def test_quantized_and_log_domains_with_huge_ranges_stay_finite_and_in_bounds() -> None:
    qvalues = draw(quniform(-1e308, 1e308, 1e300))
    assert all(-1e308 <= v <= 1e308 for v in qvalues)
    assert all(is_multiple(v, 1e300) for v in qvalues)
    assert min(qvalues) < -9e307 and max(qvalues) > 9e307
    tenths = draw(quniform(0, 1e308, 1e307))
    assert all(0 <= v <= 1e308 for v in tenths) and len(set(tenths)) >= 10
    logs = draw(loguniform(5e-324, FLOAT_MAX))
    assert all(5e-324 <= v < FLOAT_MAX for v in logs)
    assert min(logs) < 1e-200 and max(logs) > 1e200


def test_integer_domains_with_bounds_beyond_the_float_range() -> None:
    big = 10**400
    assert all(-big <= v < big and isinstance(v, int) for v in draw(randint(-big, big), n=200))
    assert max(draw(randint(-big, big), n=200)) > big // 2
    logs = draw(lograndint(1, big), n=500)
    assert all(1 <= v < big for v in logs) and max(logs) > 10**300 and min(logs) < 10**100
    multiples = draw(qrandint(-big, big, 7), n=200)
    assert all(-big <= v <= big and v % 7 == 0 for v in multiples)
    qlogs = draw(qlograndint(1, big, 3), n=200)
    assert all(3 <= v <= big and v % 3 == 0 for v in qlogs) and max(qlogs) > 10**300
    assert set(draw(qrandint(0, 2**60, 2**59), n=200)) == {0, 2**59, 2**60}


def test_normal_with_a_huge_sd_is_clamped_to_finite_floats() -> None:
    values = draw(randn(0.0, 1e308))
    assert all(math.isfinite(v) for v in values)
    assert min(values) < -1e308 and max(values) > 1e308  # some draws overflow and are clamped
    assert FLOAT_MAX in values and -FLOAT_MAX in values
    qvalues = draw(qrandn(0.0, 1e308, 1e300))
    assert all(math.isfinite(v) and is_multiple(v, 1e300) for v in qvalues)
    assert set(draw(qrandn(0.0, 1.0, FLOAT_MAX), n=200)) == {0.0}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: qrandn(0, 1e300, 1e-300), r"`q` .* >= 1\.48\d*e\+284.*got q=1e-300"),
        (lambda: qrandn(1e300, 1, 1), r"`q` .*\|mean\| \+ sd = 1e\+300.*got q=1"),
        (lambda: quniform(1e16, 1e16 + 10, 1e-3), r"`q` .* >= 2\.0.*got q=0\.001"),
        (lambda: quniform(0, 1, 1e-20), r"`q` .*max\(\|lower\|, \|upper\|\) = 1"),
        (lambda: qloguniform(1e15, 1e17, 1e-3), r"`q` .* >= 16\.0.*got q=0\.001"),
        (lambda: Float(-1e308, 1e308).uniform().quantized(1.0), r"`q` .*got q=1\.0"),
        (lambda: quniform(0, 1, 10**400), r"`q` of Quantized\(\) must be within the float"),
        (lambda: uniform(-(10**400), 0), r"`lower` of Float\(\) must be within the float"),
        (lambda: randn(0, 10**400), r"`sd` of Normal\(\) must be within the float"),
        (lambda: qloguniform(1e-5, 4e-5, 1e-4), "no multiple of q=0.0001"),
        (lambda: quniform(0.31, 0.39, 0.1), "no multiple of q=0.1"),
    ],
)
def test_q_finer_than_the_float_spacing_is_a_value_error(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_q_at_the_float_spacing_is_allowed() -> None:
    spacing = math.ulp(1.0)
    values = draw(quniform(0.0, 1.0, spacing), n=100)
    assert all(0.0 <= v <= 1.0 for v in values)
    assert draw(quniform(1e16, 1e16 + 10, 2.0), n=100)[0] % 2 == 0
    assert all(math.isfinite(v) for v in draw(qrandn(0.0, 1.0, math.ulp(2.0)), n=100))


def test_integer_domains_reject_a_fractional_or_small_q_given_as_a_sampler() -> None:
    with pytest.raises(TypeError, match="`q` of an Integer domain"):
        Quantized(Uniform(), 2.5).sample(Integer(0, 10))
    with pytest.raises(TypeError, match="`q` of an Integer domain"):
        Quantized(Uniform(), 0.5).sample(Integer(0, 10))
    assert set(Quantized(Uniform(), 2.0).sample(Integer(0, 4), size=100)) == {0, 2, 4}


@pytest.mark.parametrize(
    ("lower", "upper", "q"),
    [
        (1e-17, 1e-16, 1e-17),  # q finer than 15 decimal places: used to round to 0.0
        (1e-16, 1e-15, 1e-16),
        (1e-12, 1e-10, 1e-11),
        (1.0, 1e300, 1e290),  # most draws are nearer to 0 than to q: 0.0 before
        (0.5, 2.5, 1.0),
        (1e-4, 1e-1, 1e-3),
    ],
)
def test_qloguniform_never_leaves_its_bounds(lower: float, upper: float, q: float) -> None:
    values = draw(qloguniform(lower, upper, q))
    assert all(lower <= v <= upper for v in values), sorted(set(values))[:3]
    assert all(is_multiple(v, q) for v in values)
    assert 0.0 not in values


def test_quantized_values_never_pass_a_bound_that_is_just_off_a_multiple() -> None:
    upper = 0.3 - 1e-12  # the multiple 0.3 lies just above: 0.2 is the largest allowed
    values = draw(quniform(0.0, upper, 0.1))
    assert set(values) == {0.0, 0.1, 0.2}
    lows = draw(quniform(0.1 + 1e-12, 0.5, 0.1))
    assert min(lows) == 0.2


def test_nearest_multiple_inside_the_bounds_is_used() -> None:
    # draws in [0.5, 1.5) round to 1; [1.5, 2.5] to 2; below 0.5 (none here) would be 0 -> 1
    values = draw(qloguniform(0.5, 2.5, 1.0), n=4000)
    assert set(values) == {1.0, 2.0}
    share_of_1 = values.count(1.0) / len(values)
    expected = math.log(1.5 / 0.5) / math.log(2.5 / 0.5)
    assert abs(share_of_1 - expected) < 0.03


def test_quantized_bounds_are_the_first_and_last_values_drawn() -> None:
    from tunelab.search._domain import quantized_bounds

    assert quantized_bounds(0.05, 0.52, 0.1) == (0.1, 0.5)
    assert quantized_bounds(0.0, 0.3, 0.1) == (0.0, 0.3)
    assert quantized_bounds(1.0, 1e300, 1e290) == (1e290, 1e300)
    assert quantized_bounds(1e-17, 1e-16, 1e-17) == (1e-17, 1e-16)
    values = draw(qloguniform(1e-17, 1e-16, 1e-17))
    assert (min(values), max(values)) == (1e-17, 1e-16)
    with pytest.raises(ValueError, match="`q`"):
        quantized_bounds(1e16, 1e16 + 10, 1e-3)
    with pytest.raises(ValueError, match=r"no multiple of q=1\.0"):
        quantized_bounds(0.1, 0.2, 1.0)
