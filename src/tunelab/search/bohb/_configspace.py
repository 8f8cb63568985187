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
different space than the one given.
"""

from __future__ import annotations

from typing import Any

__all__ = ["from_configspace", "is_configspace"]


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
