"""A ``ConfigSpace.ConfigurationSpace`` (what Ray Tune's TuneBOHB took) as a tunelab space.

The ConfigSpace package is not needed by tunelab's BOHB; an object of it is read through its
public attributes only (ConfigSpace 0.4 to 1.x). Each hyperparameter becomes a tunelab domain
of the same law:

===============================  ==========================================================
ConfigSpace                      tunelab
===============================  ==========================================================
``UniformFloatHyperparameter``   ``uniform``/``loguniform`` (``log=True``); ``q`` (0.x):
                                 ``quniform``/``qloguniform``
``UniformIntegerHyperparameter`` ``randint(lower, upper + 1)`` (ConfigSpace's upper bound is
                                 inclusive), ``lograndint`` for ``log=True``; ``q``:
                                 ``qrandint``
``NormalFloatHyperparameter``    ``randn(mu, sigma)`` (``qrandn`` with ``q``) when unbounded
``CategoricalHyperparameter``    ``choice(choices)`` (equal weights only)
``OrdinalHyperparameter``        ``choice(sequence)``
``Constant``                     the value itself
===============================  ==========================================================

Anything else (bounded normals, beta laws, weighted categoricals, conditions, forbidden
clauses) raises ``ValueError`` naming what is not supported, rather than searching a
different space than the one given. A hyperparameter named ``"a/b"`` becomes the key ``b``
nested under ``a`` (the names :func:`to_configspace` gives nested parameters).

:func:`to_configspace` goes the other way, for ``TuneBOHB.convert_search_space`` (Ray Tune's
method): each searched domain of a tunelab space becomes the hyperparameter of the same law,
named by its ``/``-joined path; that direction needs the ConfigSpace package.
:func:`configspace_seed` derives a seed from a ConfigurationSpace's own random state, so that
``cs.seed(n)`` makes a search reproducible as it did with Ray Tune's TuneBOHB.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["configspace_seed", "from_configspace", "is_configspace", "nest", "to_configspace"]

logger = logging.getLogger("tunelab.search")


def is_configspace(space: Any) -> bool:
    """True for a ``ConfigSpace.ConfigurationSpace`` (recognised without importing it)."""
    cls = type(space)
    return cls.__name__ == "ConfigurationSpace" and cls.__module__.split(".")[0] == "ConfigSpace"


def _hyperparameters(space: Any) -> list[Any]:
    values = getattr(space, "values", None)
    if callable(values) and hasattr(space, "__getitem__"):  # ConfigSpace 1.x: a Mapping
        return list(values())
    return list(space.get_hyperparameters())  # ConfigSpace 0.x


def _conditions(space: Any) -> list[Any]:
    found: list[Any] = []
    for attribute, getter in (
        ("conditions", "get_conditions"),
        ("forbidden_clauses", "get_forbiddens"),
    ):
        value = getattr(type(space), attribute, None)
        if value is not None:
            found.extend(getattr(space, attribute))
        elif callable(getattr(space, getter, None)):
            found.extend(getattr(space, getter)())
    return found


def from_configspace(space: Any, where: str) -> dict[str, Any]:
    """The tunelab search space (name -> domain or constant) of a ConfigurationSpace."""
    conditions = _conditions(space)
    if conditions:
        raise ValueError(
            f"`space` of {where}: the ConfigurationSpace has conditions or forbidden clauses "
            f"({conditions[0]!r}{' ...' if len(conditions) > 1 else ''}), which tunelab's BOHB "
            f"does not model; give a flat space"
        )
    return {str(hp.name): _domain(hp, where) for hp in _hyperparameters(space)}


def _number(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _quantum(hp: Any) -> Any:
    q = getattr(hp, "q", None)
    return _number(q) if q not in (None, 0) else None


def _domain(hp: Any, where: str) -> Any:
    from tunelab.search import _sample as S

    kind = type(hp).__name__
    name = getattr(hp, "name", "?")
    log = bool(getattr(hp, "log", False))
    if kind == "UniformFloatHyperparameter":
        lower, upper, q = _number(hp.lower), _number(hp.upper), _quantum(hp)
        if q is not None:
            return S.qloguniform(lower, upper, q) if log else S.quniform(lower, upper, q)
        return S.loguniform(lower, upper) if log else S.uniform(lower, upper)
    if kind == "UniformIntegerHyperparameter":
        lower, upper, q = int(_number(hp.lower)), int(_number(hp.upper)), _quantum(hp)
        if q is not None and int(q) > 1:
            if log:
                return S.qlograndint(lower, upper, int(q))
            return S.qrandint(lower, upper, int(q))
        return S.lograndint(lower, upper + 1) if log else S.randint(lower, upper + 1)
    if kind == "NormalFloatHyperparameter" and not log:
        bounded = any(getattr(hp, bound, None) is not None for bound in ("lower", "upper"))
        if not bounded:
            mu, sigma, q = _number(hp.mu), _number(hp.sigma), _quantum(hp)
            return S.qrandn(mu, sigma, q) if q is not None else S.randn(mu, sigma)
    if kind == "CategoricalHyperparameter":
        weights = getattr(hp, "weights", None)
        if weights is not None and len(set(weights)) > 1:
            raise ValueError(
                f"`space` of {where}: the categorical {name!r} has weights {tuple(weights)}; "
                f"tunelab's BOHB draws categories with equal weights"
            )
        return S.choice([_number(c) for c in hp.choices])
    if kind == "OrdinalHyperparameter":
        return S.choice([_number(v) for v in hp.sequence])
    if kind == "Constant":
        return _number(hp.value)
    raise ValueError(
        f"`space` of {where}: the hyperparameter {name!r} ({hp!r}) has no tunelab "
        f"counterpart; supported: uniform floats and integers (log or not), unbounded "
        f"normal floats, categoricals, ordinals and constants"
    )


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"a/b": v}`` as ``{"a": {"b": v}}`` (names without ``/`` stay as they are)."""
    out: dict[str, Any] = {}
    for name, value in flat.items():
        *parents, leaf = name.split("/")
        node = out
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(
                    f"the hyperparameter names {part!r} and {name!r} collide once nested by '/'"
                )
            node = child
        if leaf in node:
            raise ValueError(f"the hyperparameter name {name!r} is given twice once nested by '/'")
        node[leaf] = value
    return out


def configspace_seed(space: Any) -> int | None:
    """A seed for TuneBOHB drawn from a copy of the ConfigurationSpace's random state (the
    space itself is not advanced): equal for spaces seeded alike (``cs.seed(1234)``);
    None when the space has no numpy random state."""
    state = getattr(getattr(space, "random", None), "get_state", None)
    if not callable(state):
        return None
    import numpy as np

    copy = np.random.RandomState()
    copy.set_state(state())
    return int(copy.randint(0, 2**31 - 1))


def to_configspace(spec: Any, where: str) -> Any:
    """A ``ConfigSpace.ConfigurationSpace`` holding each searched domain of the tunelab space
    ``spec`` as the hyperparameter of the same law, named by its path (``"b/x"``).

    Floats and integers become uniform hyperparameters (``log=True`` for log laws; integer
    bounds become the inclusive bounds of the values tunelab draws: ``randint(0, 5)`` is
    0..4, ``qrandint(0, 5, 2)`` 0..4); ConfigSpace has no quantization, so ``q`` is dropped
    with a logged warning (pass the tunelab space itself as ``space=`` to keep it). Categoricals
    become ``CategoricalHyperparameter``. Constants and ``sample_from`` values are left out
    (the experiment's config keeps them). ``grid_search`` and normal laws (ConfigSpace needs
    bounds for those) raise ``ValueError``.
    """
    from tunelab.search._common import is_eval_spec, is_grid_spec
    from tunelab.search._domain import (
        Categorical,
        Domain,
        Float,
        Function,
        Integer,
        LogUniform,
        Normal,
        Quantized,
    )
    from tunelab.search._resolve import find_unresolved

    try:
        import ConfigSpace as cs_module
    except ImportError as exc:
        raise ImportError(
            f"{where} returns a ConfigSpace.ConfigurationSpace and needs the ConfigSpace "
            f"package (pip install ConfigSpace); TuneBOHB itself does not: pass the tunelab "
            f"space as TuneBOHB(space=...)"
        ) from exc
    if not isinstance(spec, dict):
        raise TypeError(f"`spec` of {where} must be a dict search space, got {spec!r}")
    space = cs_module.ConfigurationSpace()
    add = getattr(space, "add", None) or space.add_hyperparameter
    for path, leaf in find_unresolved(spec):
        name = "/".join(str(part) for part in path)
        if isinstance(leaf, Function) or is_eval_spec(leaf):
            continue
        if is_grid_spec(leaf) or (isinstance(leaf, Domain) and leaf.is_grid()):
            raise ValueError(
                f"{where}: grid_search values (at {name!r}) cannot be converted to a "
                f"ConfigurationSpace; use tune.choice([...]) to let TuneBOHB choose"
            )
        sampler = leaf.get_sampler()
        int_bounds = None
        if isinstance(leaf, Integer):  # inclusive bounds of the values tunelab draws
            int_bounds = (leaf.lower, leaf.upper - 1)
            if isinstance(sampler, Quantized) and int(sampler.q) > 1:
                q = int(sampler.q)  # the multiples of q in [lower, upper]
                int_bounds = (-(-leaf.lower // q) * q, (leaf.upper // q) * q)
        if isinstance(sampler, Quantized):
            logger.warning(
                "%s: ConfigSpace has no quantization; q=%r of %r is dropped (pass the tunelab "
                "space to TuneBOHB(space=...) to keep it)",
                where,
                sampler.q,
                name,
            )
            sampler = sampler.get_sampler()
        log = isinstance(sampler, LogUniform)
        if isinstance(sampler, Normal):
            raise ValueError(
                f"{where}: the normal law of {name!r} cannot be converted (ConfigSpace's normal "
                f"hyperparameters need bounds); pass the tunelab space to TuneBOHB(space=...)"
            )
        hp: Any
        try:
            if isinstance(leaf, Float):
                hp = cs_module.UniformFloatHyperparameter(
                    name, lower=leaf.lower, upper=leaf.upper, log=log
                )
            elif isinstance(leaf, Integer) and int_bounds is not None:
                hp = cs_module.UniformIntegerHyperparameter(
                    name, lower=int_bounds[0], upper=int_bounds[1], log=log
                )
            elif isinstance(leaf, Categorical):
                hp = cs_module.CategoricalHyperparameter(name, choices=list(leaf.categories))
            else:
                raise ValueError(f"the domain {leaf!r} has no ConfigSpace counterpart")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: cannot convert {name!r}: {exc}") from exc
        add(hp)
    return space
