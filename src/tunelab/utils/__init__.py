"""Utilities (``from ray.tune.utils import ...`` / ``ray.tune.util`` become ``tunelab.utils``)."""

from __future__ import annotations

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
