"""The model behind TuneBOHB: an encoding of configurations and a product-kernel density.

Every searched parameter becomes one coordinate. Numeric parameters map to ``[0, 1]`` such
that a uniform draw there reproduces the domain's own law (linear for uniform, logarithmic for
loguniform, the normal CDF for normal domains; integers and quantized values by rounding).
Categorical parameters keep their index. A :class:`KernelDensity` over encoded points uses
Gaussian kernels on numeric coordinates and Aitchison-Aitken kernels on categorical ones
(keep the category with probability ``1 - lambda``, else any other one uniformly).

numpy is passed in (``np``) so that importing this module stays free of it.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

from tunelab.search._convert import ParamSpec

__all__ = ["Encoder", "KernelDensity"]

_STANDARD = NormalDist()
_EPS = 1e-9


class Encoder:
    """Configuration values <-> vectors (numeric coordinates in [0, 1], category indices)."""

    def __init__(self, specs: list[ParamSpec]) -> None:
        self.specs = specs
        self.cardinalities = [
            len(spec.categories) if spec.kind == "categorical" else 0 for spec in specs
        ]

    @property
    def dims(self) -> int:
        return len(self.specs)

    def encode(self, values: dict[str, Any]) -> list[float]:
        return [_encode(spec, values[spec.name]) for spec in self.specs]

    def decode(self, vector: list[float]) -> dict[str, Any]:
        return {spec.name: _decode(spec, u) for spec, u in zip(self.specs, vector)}

    def random(self, rng: Any) -> list[float]:
        """A vector whose decoded values follow the domains' own laws."""
        out = []
        for card in self.cardinalities:
            out.append(float(rng.integers(card)) if card else float(rng.random()))
        return out


def _index(spec: ParamSpec, value: Any) -> int:
    for i, category in enumerate(spec.categories):
        if category is value:
            return i
    for i, category in enumerate(spec.categories):
        try:
            if category == value:
                return i
        except Exception:
            continue
    raise ValueError(f"{value!r} is not a category of {spec.name!r}")


def _clip01(u: float) -> float:
    return min(max(u, 0.0), 1.0)


def _encode(spec: ParamSpec, value: Any) -> float:
    if spec.kind == "categorical":
        return float(_index(spec, value))
    x = float(value)
    if spec.law == "normal":
        return _clip01(_STANDARD.cdf((x - spec.mean) / spec.sd))
    if spec.kind == "int":
        step = spec.q or 1
        if spec.law == "loguniform":
            low, high = math.log(spec.lower - step / 2), math.log(spec.upper + step / 2)
            return _clip01((math.log(x) - low) / (high - low))
        count = (spec.upper - spec.lower) / step + 1
        return _clip01(((x - spec.lower) / step + 0.5) / count)
    if spec.law == "loguniform":
        low, high = math.log(spec.lower), math.log(spec.upper)
        return _clip01((math.log(x) - low) / (high - low)) if high > low else 0.5
    width = spec.upper - spec.lower
    return _clip01((x - spec.lower) / width) if width > 0 else 0.5


def _decode(spec: ParamSpec, u: float) -> Any:
    if spec.kind == "categorical":
        return spec.categories[min(max(round(u), 0), len(spec.categories) - 1)]
    u = _clip01(float(u))
    if spec.law == "normal":
        z = _STANDARD.inv_cdf(min(max(u, _EPS), 1 - _EPS))
        return spec.finish(spec.mean + spec.sd * z)
    if spec.kind == "int":
        step = spec.q or 1
        if spec.law == "loguniform":
            low, high = math.log(spec.lower - step / 2), math.log(spec.upper + step / 2)
            return spec.finish(math.exp(low + u * (high - low)))
        count = round((spec.upper - spec.lower) / step) + 1
        return int(spec.lower + step * min(int(u * count), count - 1))
    if spec.law == "loguniform":
        low, high = math.log(spec.lower), math.log(spec.upper)
        return spec.finish(math.exp(low + u * (high - low)))
    return spec.finish(spec.lower + u * (spec.upper - spec.lower))


class KernelDensity:
    """A product-kernel density estimate over encoded vectors (rows of ``data``).

    Bandwidths follow the normal reference rule, ``1.06 * sd * n ** (-1 / (d + 4))`` for a
    numeric coordinate (at least ``numeric_floor``) and ``(c - 1) / c * n ** (-1 / (d + 4))``
    for a categorical one with ``c`` categories; never below ``min_bandwidth``.
    """

    def __init__(
        self,
        np: Any,
        data: Any,
        cardinalities: list[int],
        min_bandwidth: float,
        numeric_floor: float = 0.0,
    ) -> None:
        self.np = np
        self.data = np.asarray(data, dtype=float)
        self.cards = np.asarray(cardinalities, dtype=float)
        self.categorical = self.cards > 0
        n, d = self.data.shape
        shrink = n ** (-1.0 / (d + 4))
        spread = self.data.std(axis=0) if n > 1 else np.zeros(d)
        numeric_bw = 1.06 * spread * shrink
        safe_cards = np.where(self.categorical, self.cards, 2.0)
        categorical_bw = (safe_cards - 1) / safe_cards * shrink
        numeric_bw = np.maximum(numeric_bw, numeric_floor)
        bandwidth = np.where(self.categorical, categorical_bw, numeric_bw)
        upper = np.where(self.categorical, (safe_cards - 1) / safe_cards, np.inf)
        self.bandwidth = np.minimum(np.maximum(bandwidth, min_bandwidth), upper)

    def pdf(self, points: Any) -> Any:
        """The density at each row of ``points`` (shape ``(m, d)``)."""
        np = self.np
        x = np.asarray(points, dtype=float)[:, None, :]
        diff = x - self.data[None, :, :]
        bw = self.bandwidth
        gauss = np.exp(-0.5 * (diff / bw) ** 2) / (bw * math.sqrt(2 * math.pi))
        safe_cards = np.where(self.categorical, self.cards, 2.0)
        same = np.abs(diff) < 0.5
        aitchison = np.where(same, 1 - bw, bw / np.maximum(safe_cards - 1, 1))
        kernel = np.where(self.categorical, aitchison, gauss)
        return np.prod(kernel, axis=2).mean(axis=1)

    def sample(self, rng: Any, count: int, bandwidth_factor: float) -> Any:
        """``count`` draws around random data points; numeric bandwidths are widened by
        ``bandwidth_factor`` (categorical ones are kept, as widening would make them uniform)."""
        np = self.np
        n, d = self.data.shape
        centers = self.data[rng.integers(n, size=count)]
        out = centers.copy()
        for j in range(d):
            bw = self.bandwidth[j]
            if self.categorical[j]:
                card = int(self.cards[j])
                flip = rng.random(count) < bw  # categories are not widened
                others = rng.integers(card - 1, size=count) if card > 1 else np.zeros(count)
                shifted = np.where(others >= centers[:, j], others + 1, others)
                out[:, j] = np.where(flip, shifted, centers[:, j])
            else:
                out[:, j] = _truncated_normal(np, rng, centers[:, j], bw * bandwidth_factor)
        return out


def _truncated_normal(np: Any, rng: Any, mean: Any, sd: float) -> Any:
    """Normal draws around ``mean`` truncated to [0, 1], by the inverse CDF: continuous on
    the interval, so no point mass at its ends (clipping redrawn values put one there, and
    returned a domain's bound itself, e.g. ``uniform(0, 20)`` -> exactly 0)."""
    from scipy.stats import truncnorm  # exact in the far tails too

    values = truncnorm.rvs(
        (0.0 - mean) / sd, (1.0 - mean) / sd, loc=mean, scale=sd, random_state=rng
    )
    # the ends themselves only through rounding: keep draws strictly inside
    return np.clip(values, _EPS, 1.0 - _EPS)
