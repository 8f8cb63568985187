"""Utilities (``from ray.tune.utils import ...`` / ``ray.tune.util`` become ``tunelab.utils``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunelab.utils._gpu import wait_for_gpu
    from tunelab.utils._monitor import UtilMonitor, warn_if_slow
    from tunelab.utils._serialization import (
        PinnedObjectRef,
        diagnose_serialization,
        get_pinned_object,
        pin_in_object_store,
    )
    from tunelab.utils._util import (
        date_str,
        deep_update,
        flatten_dict,
        merge_dicts,
        unflatten_dict,
        unflattened_lookup,
    )
    from tunelab.utils._validate import validate_save_restore

#: each name -> its module, imported on first use (a worker process imports
#: ``tunelab.utils._monitor`` for every trial; the rest would cost it ~6 ms to start)
_LAZY = {
    "wait_for_gpu": "_gpu",
    "UtilMonitor": "_monitor",
    "warn_if_slow": "_monitor",
    "PinnedObjectRef": "_serialization",
    "diagnose_serialization": "_serialization",
    "get_pinned_object": "_serialization",
    "pin_in_object_store": "_serialization",
    "date_str": "_util",
    "deep_update": "_util",
    "flatten_dict": "_util",
    "merge_dicts": "_util",
    "unflatten_dict": "_util",
    "unflattened_lookup": "_util",
    "validate_save_restore": "_validate",
}

__all__ = [
    "PinnedObjectRef",
    "UtilMonitor",
    "date_str",
    "deep_update",
    "diagnose_serialization",
    "flatten_dict",
    "get_pinned_object",
    "merge_dicts",
    "pin_in_object_store",
    "unflatten_dict",
    "unflattened_lookup",
    "validate_save_restore",
    "wait_for_gpu",
    "warn_if_slow",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
