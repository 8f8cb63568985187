"""The search spaces of Ray Tune 0.x-1.x's ``ray.tune.automl``: one
:class:`ParameterSpace` per config key, collected in a :class:`SearchSpace`.

Every parameter has a finite list of ``choices``: a :class:`DiscreteSpace` lists them, a
:class:`ContinuousSpace` samples ``num`` evenly spaced values from ``[start, end]`` (both
ends included). The genetic search encodes a config as one one-hot vector per parameter (a
*gene*), in the order of the :class:`SearchSpace`'s ``param_list``.

A parameter's ``name`` is a path into the experiment's config: ``"optimizer.lr"`` sets
``config["optimizer"]["lr"]``.
"""

from __future__ import annotations

import logging
import numbers
import random
from collections.abc import Iterable, Sequence
from typing import Any

from tunelab.search.sample import Domain, choice, grid_search, uniform

__all__ = ["ContinuousSpace", "DiscreteSpace", "ParameterSpace", "SearchSpace"]

logger = logging.getLogger("tunelab.automl")


class ParameterSpace:
    """Base class of one parameter's space: ``name`` (a ``.``-separated config path) and
    ``choices`` (the finite values the genetic search encodes)."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name or "" in name.split("."):
            raise TypeError(
                "`name` must be a non-empty string (a '.'-separated path into the config, "
                f"such as 'optimizer.lr'), got {name!r}"
            )
        self.name = name
        self.choices: list[Any] = []

    def choices_count(self) -> int:
        """How many values the one-hot encoding of this parameter has."""
        return len(self.choices)

    def to_grid_search(self) -> dict[str, list[Any]]:
        """This parameter as a ``grid_search`` over its choices."""
        return grid_search(list(self.choices))

    def to_random_choice(self) -> Domain:
        """A search-space domain that draws one value of this parameter at random."""
        raise NotImplementedError


class DiscreteSpace(ParameterSpace):
    """A parameter that takes one of ``choices`` (a non-empty list)."""

    def __init__(self, name: str, choices: Sequence[Any]) -> None:
        super().__init__(name)
        if isinstance(choices, str | bytes) or not isinstance(choices, Sequence):
            raise TypeError(
                f"`choices` of DiscreteSpace {name!r} must be a list of values, got {choices!r}"
            )
        if not choices:
            raise ValueError(f"`choices` of DiscreteSpace {name!r} must not be empty")
        self.choices = list(choices)

    def to_random_choice(self) -> Domain:
        """A uniform choice among the choices (Ray: a lambda calling ``random.choice``)."""
        return choice(list(self.choices))

    def __str__(self) -> str:
        return f"DiscreteSpace {self.name}: {self.choices}"


class ContinuousSpace(ParameterSpace):
    """A real parameter in ``[start, end]``, encoded as ``num`` evenly spaced choices.

    ``distribution`` must be ``"linear"`` (the only one Ray Tune had). ``choices`` holds the
    ``num`` values as Python floats, ``start`` first and ``end`` last (one value: ``start``).
    :meth:`to_random_choice` draws uniformly from the whole interval instead.
    """

    LINEAR = "linear"

    def __init__(
        self, name: str, start: float, end: float, num: int, distribution: str = LINEAR
    ) -> None:
        super().__init__(name)
        for argument, value in (("start", start), ("end", end)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(
                    f"`{argument}` of ContinuousSpace {name!r} must be a number, got {value!r}"
                )
        if isinstance(num, bool) or not isinstance(num, numbers.Integral) or num < 1:
            raise ValueError(
                f"`num` of ContinuousSpace {name!r} must be an int >= 1 (how many values to "
                f"sample from [start, end]), got {num!r}"
            )
        if distribution != self.LINEAR:
            raise ValueError(
                f"`distribution` of ContinuousSpace {name!r} must be {self.LINEAR!r} (the only "
                f"one supported), got {distribution!r}"
            )
        self.start: float = float(start)
        self.end: float = float(end)
        self.num = int(num)
        self.distribution = distribution
        self.choices = _linspace(self.start, self.end, self.num)

    def to_random_choice(self) -> Domain:
        """A uniform draw from ``[start, end]`` (not limited to the sampled choices)."""
        low, high = sorted((self.start, self.end))
        return uniform(low, high) if low < high else choice([low])

    def __str__(self) -> str:
        return f"ContinuousSpace {self.name}: [{self.start}, {self.end}]"


def _linspace(start: float, end: float, num: int) -> list[float]:
    if num == 1:
        return [start]
    step = (end - start) / (num - 1)
    return [start + index * step for index in range(num - 1)] + [end]


class SearchSpace:
    """The parameters a genetic/grid/random AutoML search explores.

    ``param_list`` is a list (or any iterable) of :class:`ParameterSpace` with distinct
    names. Ray Tune's examples pass a ``set``, whose order Python does not fix; a set is
    therefore ordered by name, so that a seeded search is reproducible.
    """

    def __init__(self, param_list: Iterable[ParameterSpace]) -> None:
        if isinstance(param_list, ParameterSpace) or not isinstance(param_list, Iterable):
            raise TypeError(
                "`param_list` must be a list of ParameterSpace (ContinuousSpace, "
                f"DiscreteSpace), got {param_list!r}"
            )
        params = list(param_list)
        if isinstance(param_list, set | frozenset):
            params.sort(key=lambda space: str(getattr(space, "name", "")))
        for space in params:
            if not isinstance(space, ParameterSpace):
                raise TypeError(
                    "every item of `param_list` must be a ParameterSpace (ContinuousSpace, "
                    f"DiscreteSpace), got {space!r}"
                )
        names = [space.name for space in params]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"`param_list` names a parameter more than once: {repeated}")
        if not params:
            raise ValueError("`param_list` must hold at least one ParameterSpace")
        self.param_list = params
        for space in params:
            logger.debug("Add %s into SearchSpace", space)

    def to_grid_search(self) -> dict[str, Any]:
        """``{name: grid_search(choices)}`` for every parameter."""
        return {space.name: space.to_grid_search() for space in self.param_list}

    def to_random_choice(self) -> dict[str, Any]:
        """``{name: domain}`` drawing each parameter at random."""
        return {space.name: space.to_random_choice() for space in self.param_list}

    def generate_random_one_hot_encoding(self, rng: random.Random | None = None) -> list[Any]:
        """A random gene: one one-hot numpy vector per parameter, its 1 at a random choice.

        ``rng`` (a :class:`random.Random`) makes it reproducible; default: the ``random``
        module.
        """
        draw = rng if rng is not None else random
        return [
            one_hot(space.choices_count(), draw.randrange(space.choices_count()))
            for space in self.param_list
        ]

    def apply_one_hot_encoding(self, one_hot_encoding: Sequence[Any]) -> dict[str, Any]:
        """The ``{name: value}`` a gene stands for (the choice at each vector's largest entry).

        Raises ``ValueError`` when the gene does not fit this space.
        """
        if len(one_hot_encoding) != len(self.param_list):
            raise ValueError(
                f"`one_hot_encoding` has {len(one_hot_encoding)} vectors, the space has "
                f"{len(self.param_list)} parameters"
            )
        return {
            space.name: space.choices[hot_index(vector, space)]
            for space, vector in zip(self.param_list, one_hot_encoding, strict=True)
        }

    def __repr__(self) -> str:
        return f"SearchSpace([{', '.join(str(space) for space in self.param_list)}])"


def one_hot(size: int, index: int) -> Any:
    """A float numpy vector of ``size`` zeros with a 1 at ``index``."""
    import numpy as np

    vector = np.zeros(size)
    vector[index] = 1
    return vector


def hot_index(vector: Any, space: ParameterSpace) -> int:
    """The index of ``vector``'s largest entry; ``ValueError`` when its length is not the
    number of ``space``'s choices."""
    values = [float(value) for value in vector]
    if len(values) != space.choices_count():
        raise ValueError(
            f"the one-hot vector of {space.name!r} has {len(values)} entries, the parameter "
            f"has {space.choices_count()} choices"
        )
    return max(range(len(values)), key=values.__getitem__)
