"""Resource requests of trials: :class:`PlacementGroupFactory` and the dict forms of every
Ray Tune generation, normalised to one representation.

A request is a list of *bundles* (dicts of resource name -> amount). The first bundle is the
trial's own worker; the others are reserved for what the trial launches. Resource names are
``CPU``, ``GPU``, ``memory`` (bytes) and any custom name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["PlacementGroupFactory", "Resources", "resources_from_request"]

_STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")


def _check_amount(name: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: resource {key!r} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}: resource {key!r} must be a finite number >= 0, got {value!r}")
    return float(value)


class PlacementGroupFactory:
    """A trial's resource request as a list of bundles (Ray's placement group form).

    ``PlacementGroupFactory([{"CPU": 1, "GPU": 0.5}, {"CPU": 2}])``: the first bundle is
    the trial's own worker; the others are reserved for processes the trial starts itself
    (data loaders, a process pool). tunelab places a trial on one machine (one Dask worker
    on a cluster) and reserves the sum of all bundles (:attr:`required_resources`) for as
    long as the trial runs; a trial's ``CUDA_VISIBLE_DEVICES`` names every GPU of that
    sum. There are no Ray placement groups behind it: the object is only the request.

    Pass it wherever a resource request is accepted: ``resources_per_trial=``,
    :func:`tunelab.with_resources`, or ``Trainable.default_resource_request``.

    Args:
        bundles: A non-empty list of dicts, resource name -> amount: ``"CPU"``, ``"GPU"``
            (a fraction below 1 shares a device, larger requests must be whole),
            ``"memory"`` in bytes, or a custom name. Amounts must be finite and >= 0;
            zero entries are dropped.
        strategy: Ray's placement strategy, ``"PACK"``, ``"SPREAD"``, ``"STRICT_PACK"`` or
            ``"STRICT_SPREAD"``; recorded but with no effect (all bundles of a trial land on
            one machine).
        *args: Accepted for Ray's signature and ignored.
        **kwargs: Accepted for Ray's signature and ignored.

    Raises:
        ValueError: ``bundles`` is empty or not a list, an amount is negative or not
            finite, or ``strategy`` is unknown.
        TypeError: A bundle is not a dict or an amount is not a number.
    """

    def __init__(
        self,
        bundles: Sequence[Mapping[str, float]],
        strategy: str = "PACK",
        *args: Any,
        **kwargs: Any,
    ) -> None:
        if isinstance(bundles, Mapping) or not isinstance(bundles, Sequence) or not bundles:
            raise ValueError(
                f"PlacementGroupFactory: bundles must be a non-empty list of dicts, got {bundles!r}"
            )
        if strategy not in _STRATEGIES:
            raise ValueError(
                f"PlacementGroupFactory: strategy must be one of {_STRATEGIES}, got {strategy!r}"
            )
        clean: list[dict[str, float]] = []
        for bundle in bundles:
            if not isinstance(bundle, Mapping):
                raise TypeError(
                    f"PlacementGroupFactory: each bundle must be a dict, got {bundle!r}"
                )
            entry = {}
            for key, value in bundle.items():
                amount = _check_amount("PlacementGroupFactory", str(key), value)
                if amount > 0:
                    entry[str(key)] = amount
            clean.append(entry)
        self._head_bundle_is_empty = not clean[0]
        self._bundles = clean
        self._strategy = strategy
        self._args = args
        self._kwargs = kwargs

    @property
    def bundles(self) -> list[dict[str, float]]:
        """The bundles (copies), zero entries dropped."""
        return [dict(b) for b in self._bundles]

    @property
    def strategy(self) -> str:
        """The placement strategy given (recorded only)."""
        return self._strategy

    @property
    def head_bundle_is_empty(self) -> bool:
        """True when the first bundle asks for nothing."""
        return self._head_bundle_is_empty

    @property
    def head_cpus(self) -> float:
        """The CPUs of the first bundle (the trial's own worker)."""
        return self._bundles[0].get("CPU", 0.0)

    @property
    def required_resources(self) -> dict[str, float]:
        """The sum of all bundles: what the trial takes from the executor's pool."""
        total: dict[str, float] = {}
        for bundle in self._bundles:
            for key, value in bundle.items():
                total[key] = total.get(key, 0.0) + value
        return total

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PlacementGroupFactory)
            and self._bundles == other._bundles
            and self._strategy == other._strategy
        )

    def __hash__(self) -> int:
        return hash((self._strategy, tuple(tuple(sorted(b.items())) for b in self._bundles)))

    def __repr__(self) -> str:
        return f"PlacementGroupFactory({self._bundles!r}, strategy={self._strategy!r})"

    def to_state(self) -> dict[str, Any]:
        """A JSON-safe dict (``bundles``, ``strategy``) that :meth:`from_state` reads back."""
        return {"bundles": self.bundles, "strategy": self._strategy}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> PlacementGroupFactory:
        """Rebuild a request from :meth:`to_state` output.

        Args:
            state: A dict with ``bundles`` and optionally ``strategy`` (default ``"PACK"``).

        Returns:
            The request.
        """
        return cls(state["bundles"], strategy=state.get("strategy", "PACK"))

    def describe(self) -> str:
        """Short human text for messages, such as ``1 CPU, 0.5 GPU``."""
        req = self.required_resources
        if not req:
            return "no resources"
        return ", ".join(f"{_fmt(v)} {k}" for k, v in sorted(req.items()))


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class Resources:
    """The 0.x/1.x resource record (``cpu``, ``gpu``, ``memory``, ``extra_*``, custom)."""

    def __init__(
        self,
        cpu: float = 1,
        gpu: float = 0,
        memory: float = 0,
        object_store_memory: float = 0,
        extra_cpu: float = 0,
        extra_gpu: float = 0,
        extra_memory: float = 0,
        extra_object_store_memory: float = 0,
        custom_resources: Mapping[str, float] | None = None,
        extra_custom_resources: Mapping[str, float] | None = None,
    ) -> None:
        self.cpu = cpu
        self.gpu = gpu
        self.memory = memory
        self.object_store_memory = object_store_memory
        self.extra_cpu = extra_cpu
        self.extra_gpu = extra_gpu
        self.extra_memory = extra_memory
        self.extra_object_store_memory = extra_object_store_memory
        self.custom_resources = dict(custom_resources or {})
        self.extra_custom_resources = dict(extra_custom_resources or {})

    def to_placement_group_factory(self) -> PlacementGroupFactory:
        head: dict[str, float] = {"CPU": self.cpu, "GPU": self.gpu, "memory": self.memory}
        head.update(self.custom_resources)
        bundles: list[dict[str, float]] = [head]
        extra: dict[str, float] = {
            "CPU": self.extra_cpu,
            "GPU": self.extra_gpu,
            "memory": self.extra_memory,
        }
        extra.update(self.extra_custom_resources)
        if any(v for v in extra.values()):
            bundles.append(extra)
        return PlacementGroupFactory(bundles)


_LEGACY_KEYS = {
    "cpu",
    "gpu",
    "memory",
    "object_store_memory",
    "extra_cpu",
    "extra_gpu",
    "extra_memory",
    "extra_object_store_memory",
    "custom_resources",
    "extra_custom_resources",
}
_REJECTED_KEYS = {"driver_cpu_limit", "driver_gpu_limit"}


def resources_from_request(
    value: Any, *, argument: str = "resources_per_trial"
) -> PlacementGroupFactory | None:
    """Normalise any generation's resource request to a :class:`PlacementGroupFactory`.

    Accepts None (-> None: the caller decides the default), a ``PlacementGroupFactory``,
    a :class:`Resources`, a ``tunelab.train.ScalingConfig``, or a dict: ``{"cpu": 2,
    "gpu": 1}``, ``{"CPU": 1, "GPU": 0.5}``, ``{"cpu": 1, "extra_cpu": 2}``,
    ``{"cpu": 1, "custom_resources": {"tpu": 1}}``,
    ``{"cpu": 1, "memory": 2**30, "my_accel": 1}``. A non-empty dict without a cpu entry
    asks for 0 CPUs; an empty dict asks for 1 CPU.
    """
    if value is None:
        return None
    if isinstance(value, PlacementGroupFactory):
        return value
    if isinstance(value, Resources):
        return value.to_placement_group_factory()
    as_factory = getattr(value, "as_placement_group_factory", None)
    if callable(as_factory) and not isinstance(value, type):
        # a ScalingConfig (tunelab.train): the coordinator's bundle, then one per worker
        factory = as_factory()
        if not isinstance(factory, PlacementGroupFactory):
            raise TypeError(
                f"{argument}: {value!r}.as_placement_group_factory() must return a "
                f"PlacementGroupFactory, got {factory!r}"
            )
        return factory
    if not isinstance(value, Mapping):
        raise TypeError(
            f"{argument} must be a dict of resources, a PlacementGroupFactory, a "
            f"ScalingConfig or None, got {value!r}"
        )
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"{argument}: resource names must be strings, got {key!r}")
        if key in _REJECTED_KEYS:
            raise ValueError(f"{argument}: {key!r} is not supported (it limits the driver)")
    if not value:
        return PlacementGroupFactory([{"CPU": 1}])
    head: dict[str, float] = {}
    extra: dict[str, float] = {}

    def put(target: dict[str, float], key: str, amount: Any) -> None:
        target[key] = target.get(key, 0.0) + _check_amount(argument, key, amount)

    for key, amount in value.items():
        if key in ("cpu", "CPU"):
            put(head, "CPU", amount)
        elif key in ("gpu", "GPU"):
            put(head, "GPU", amount)
        elif key == "memory":
            put(head, "memory", amount)
        elif key == "object_store_memory":
            _check_amount(argument, key, amount)
        elif key == "extra_cpu":
            put(extra, "CPU", amount)
        elif key == "extra_gpu":
            put(extra, "GPU", amount)
        elif key == "extra_memory":
            put(extra, "memory", amount)
        elif key == "extra_object_store_memory":
            _check_amount(argument, key, amount)
        elif key in ("custom_resources", "extra_custom_resources"):
            if not isinstance(amount, Mapping):
                raise TypeError(f"{argument}: {key!r} must be a dict, got {amount!r}")
            target = head if key == "custom_resources" else extra
            for name, sub in amount.items():
                put(target, str(name), sub)
        else:
            put(head, key, amount)
    bundles = [head, extra] if any(v > 0 for v in extra.values()) else [head]
    return PlacementGroupFactory(bundles)
