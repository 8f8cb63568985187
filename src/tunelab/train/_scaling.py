"""``ScalingConfig``: Ray Train's request for a coordinator plus ``num_workers`` workers, as
Ray Tune code hands it to ``tune.with_resources(...)`` or puts it in a ``param_space``.

tunelab runs no distributed trainers; a ``ScalingConfig`` is a resource request. It maps to a
:class:`~tunelab.PlacementGroupFactory` the way Ray 2.7-2.9 (the ``ray.train`` generation of
Tune code) maps it: the first bundle is the coordinator's ``trainer_resources`` (the trial's
own worker), then one bundle per worker. A trial holds the sum of all bundles.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from tunelab._resources import PlacementGroupFactory

__all__ = ["ScalingConfig"]

_STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")
# Ray's prefix for the resource that pins a worker to an accelerator type.
_ACCELERATOR_PREFIX = "accelerator_type:"
_ACCELERATOR_AMOUNT = 0.001


def _is_search_value(value: Any) -> bool:
    """A search-space value (a domain or ``{"grid_search": [...]}``) left for a trainer to
    resolve; it is kept as given and only refused when resources are computed."""
    from tunelab.search._common import DomainBase

    if isinstance(value, DomainBase):
        return True
    return isinstance(value, Mapping) and set(value) == {"grid_search"}


def _check_resources(value: Any, argument: str) -> None:
    if value is None or _is_search_value(value):
        return
    rule = 'None or a dict of resource name -> number >= 0 (e.g. {"CPU": 2, "GPU": 1})'
    if not isinstance(value, Mapping):
        raise TypeError(f"ScalingConfig.{argument} must be {rule}, got {value!r}")
    for key, amount in value.items():
        if not isinstance(key, str):
            raise TypeError(
                f"ScalingConfig.{argument}: resource names must be strings, got {key!r}"
            )
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            raise TypeError(
                f"ScalingConfig.{argument}[{key!r}] must be a number >= 0, got {amount!r}"
            )
        if not math.isfinite(amount) or amount < 0:
            raise ValueError(
                f"ScalingConfig.{argument}[{key!r}] must be a finite number >= 0, got {amount!r}"
            )


@dataclass(eq=False, repr=False)
class ScalingConfig:
    """Resources of a Ray Train style run: a coordinator and ``num_workers`` workers.

    tunelab runs no distributed trainers, so a ``ScalingConfig`` is only a resource
    request, as Ray Tune code passes it to ``tune.with_resources(trainable,
    ScalingConfig(...))`` or as ``resources_per_trial``. It maps to a
    :class:`~tunelab.PlacementGroupFactory` as Ray 2.7-2.9 map it: the first bundle is the
    coordinator's (the trial's own process), then one bundle per worker, and the trial
    reserves the sum of all bundles. For example,
    ``ScalingConfig(num_workers=2, use_gpu=True).as_placement_group_factory()`` is
    ``PlacementGroupFactory([{"CPU": 1}, {"GPU": 1}, {"GPU": 1}])``: 1 CPU and 2 GPUs.
    (Ray's newest releases default ``num_workers`` to 1 and merge the coordinator into
    the first worker's bundle; the totals are the same for any ``num_workers`` >= 1.)

    Any field may hold a search-space value (``tune.grid_search([1, 2])``, a domain) as in
    a Ray Train trainer's ``param_space``; it is kept, and
    :meth:`as_placement_group_factory` refuses to compute resources until it is resolved.

    Example::

        trainable = tune.with_resources(train, tune.train.ScalingConfig(num_workers=2))
        # reserves 3 CPUs per trial: 1 for the coordinator, 1 per worker

    Args:
        trainer_resources: The coordinator's bundle, a dict of resource name to amount.
            None: ``{"CPU": 1}``; ``{}`` reserves nothing for it.
        num_workers: How many worker bundles. None or 0: none.
        use_gpu: True: each worker takes 1 GPU (and no CPU unless
            ``resources_per_worker`` says so). Default False.
        resources_per_worker: Each worker's bundle. None: ``{"CPU": 1}``, or ``{"GPU": 1}``
            with ``use_gpu``. A positive ``"GPU"`` entry needs ``use_gpu=True``; with
            ``use_gpu`` and no (or a zero) ``"GPU"`` entry, each worker takes 1 GPU.
        placement_strategy: ``"PACK"`` (the default), ``"SPREAD"``, ``"STRICT_PACK"`` or
            ``"STRICT_SPREAD"``; recorded in the placement group factory.
        accelerator_type: Later Ray 2.x: each worker also asks for
            ``"accelerator_type:<name>": 0.001``, a custom resource that the executor must
            declare (``LocalExecutor(resources={"accelerator_type:A100": 1})``). None: no
            such request.

    Raises:
        ValueError: A negative ``num_workers`` or amount, an unknown
            ``placement_strategy``, or a GPU in ``resources_per_worker`` with
            ``use_gpu=False``.
        TypeError: A field has the wrong type.
    """

    trainer_resources: dict[str, float] | None = None
    num_workers: int | None = None
    use_gpu: bool = False
    resources_per_worker: dict[str, float] | None = None
    placement_strategy: str = "PACK"
    accelerator_type: str | None = None

    def __post_init__(self) -> None:
        _check_resources(self.trainer_resources, "trainer_resources")
        _check_resources(self.resources_per_worker, "resources_per_worker")
        workers = self.num_workers
        concrete = not (workers is None or _is_search_value(workers))
        if concrete and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
            raise ValueError(
                f"ScalingConfig.num_workers must be None or an int >= 0, got {workers!r}"
            )
        if not (isinstance(self.use_gpu, bool) or _is_search_value(self.use_gpu)):
            raise TypeError(f"ScalingConfig.use_gpu must be True or False, got {self.use_gpu!r}")
        strategy = self.placement_strategy
        if not (strategy in _STRATEGIES or _is_search_value(strategy)):
            raise ValueError(
                f"ScalingConfig.placement_strategy must be one of {_STRATEGIES}, got {strategy!r}"
            )
        if self.accelerator_type is not None and (
            not isinstance(self.accelerator_type, str) or not self.accelerator_type
        ):
            raise TypeError(
                "ScalingConfig.accelerator_type must be None or a non-empty str (e.g. 'A100'), "
                f"got {self.accelerator_type!r}"
            )
        if self._unresolved() is None and self.resources_per_worker:
            gpus = self.num_gpus_per_worker
            if not self.use_gpu and gpus > 0:
                raise ValueError(
                    "ScalingConfig: use_gpu is False but resources_per_worker asks for "
                    f"{gpus:g} GPU; set use_gpu=True or drop 'GPU' from resources_per_worker "
                    f"(got resources_per_worker={self.resources_per_worker!r})"
                )

    def _unresolved(self) -> str | None:
        """The name of the first field holding a search-space value, or None."""
        for item in fields(self):
            if _is_search_value(getattr(self, item.name)):
                return item.name
        return None

    def _require_resolved(self, what: str) -> None:
        name = self._unresolved()
        if name is not None:
            raise ValueError(
                f"ScalingConfig.{what}: {name}={getattr(self, name)!r} is a search-space value; "
                "resolve it (the trial's config holds the sampled value) before asking for "
                "resources"
            )

    # -- what one worker and the coordinator ask for (Ray's rules) ---------------------------
    @property
    def _worker_bundle(self) -> dict[str, float]:
        self._require_resolved("resources_per_worker")
        if self.resources_per_worker is None:
            bundle: dict[str, float] = {"GPU": 1} if self.use_gpu else {"CPU": 1}
        else:
            bundle = {k: v for k, v in self.resources_per_worker.items() if v != 0}
            bundle.setdefault("GPU", int(self.use_gpu))
        if self.accelerator_type:
            bundle.setdefault(_ACCELERATOR_PREFIX + self.accelerator_type, _ACCELERATOR_AMOUNT)
        return bundle

    @property
    def _trainer_bundle(self) -> dict[str, float]:
        self._require_resolved("trainer_resources")
        if self.trainer_resources is None:
            return {"CPU": 1}
        return {k: v for k, v in self.trainer_resources.items() if v != 0}

    @property
    def num_cpus_per_worker(self) -> float:
        """CPUs each worker asks for."""
        return self._worker_bundle.get("CPU", 0)

    @property
    def num_gpus_per_worker(self) -> float:
        """GPUs each worker asks for."""
        return self._worker_bundle.get("GPU", 0)

    @property
    def additional_resources_per_worker(self) -> dict[str, float]:
        """Each worker's resources other than CPU and GPU."""
        return {k: v for k, v in self._worker_bundle.items() if k not in ("CPU", "GPU")}

    @property
    def total_resources(self) -> dict[str, float]:
        """The coordinator's resources plus ``num_workers`` times one worker's."""
        total = {k: float(v) for k, v in self._trainer_bundle.items()}
        count = self.num_workers or 0
        for key, value in self._worker_bundle.items():
            total[key] = total.get(key, 0.0) + value * count
        return {k: v for k, v in total.items() if v != 0}

    def as_placement_group_factory(self) -> PlacementGroupFactory:
        """The trial's resource request: the coordinator's bundle, then one per worker."""
        self._require_resolved("as_placement_group_factory()")
        per_worker = self._worker_bundle
        bundles = [self._trainer_bundle] + [dict(per_worker) for _ in range(self.num_workers or 0)]
        return PlacementGroupFactory(bundles, strategy=self.placement_strategy)

    @classmethod
    def from_placement_group_factory(cls, pgf: PlacementGroupFactory) -> ScalingConfig:
        """The ``ScalingConfig`` whose :meth:`as_placement_group_factory` is ``pgf``.

        Args:
            pgf: The resource request. Its first bundle is the coordinator's (none when it
                is empty), the others the workers'.

        Returns:
            The ScalingConfig.

        Raises:
            TypeError: ``pgf`` is not a ``PlacementGroupFactory``.
            ValueError: The workers' bundles are not all equal.
        """
        if not isinstance(pgf, PlacementGroupFactory):
            raise TypeError(
                f"ScalingConfig.from_placement_group_factory: pgf must be a "
                f"PlacementGroupFactory, got {pgf!r}"
            )
        bundles = pgf.bundles
        trainer, workers = bundles[0], bundles[1:]
        if any(bundle != workers[0] for bundle in workers[1:]):
            raise ValueError(
                "ScalingConfig.from_placement_group_factory: every bundle after the first "
                f"(one per worker) must be the same, got {workers!r}"
            )
        return cls(
            trainer_resources=trainer,
            num_workers=len(workers) or None,
            use_gpu=bool(workers and workers[0].get("GPU")),
            resources_per_worker=workers[0] if workers else None,
            placement_strategy=pgf.strategy,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScalingConfig):
            return NotImplemented
        if self._unresolved() is None and other._unresolved() is None:
            return self.as_placement_group_factory() == other.as_placement_group_factory()
        return all(getattr(self, f.name) == getattr(other, f.name) for f in fields(self))

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        parts = [
            f"{item.name}={getattr(self, item.name)!r}"
            for item in fields(self)
            if getattr(self, item.name) != item.default
        ]
        return f"ScalingConfig({', '.join(parts)})"
