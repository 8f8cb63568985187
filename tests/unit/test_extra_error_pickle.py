"""ExtraNotInstalledError survives pickling, so an error raised in a worker process reaches
the driver whole (type, message and the extra to install)."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

from tunelab._errors import ExtraNotInstalledError, TuneError, require


def _needs_a_missing_extra() -> None:
    require("tunelab_no_such_module_xyz", extra="demo", feature="The demo integration")


def test_round_trip_keeps_type_message_and_fields() -> None:
    error = ExtraNotInstalledError("The demo integration", "demo", "sklearn")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ExtraNotInstalledError
    assert str(copy) == str(error)
    assert (copy.feature, copy.extra, copy.module) == ("The demo integration", "demo", "sklearn")
    assert isinstance(copy, ImportError) and isinstance(copy, TuneError)


def test_raised_in_a_worker_process_is_rebuilt_in_the_parent() -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        future = pool.submit(_needs_a_missing_extra)
        with pytest.raises(ExtraNotInstalledError, match=r'pip install "tunelab\[demo\]"') as info:
            future.result(timeout=60)
    assert info.value.module == "tunelab_no_such_module_xyz"
