"""JSON helpers: pausing the garbage collector around large loads."""

from __future__ import annotations

import gc

import pytest

from tunelab._json import paused_gc


def test_paused_gc_restores_the_collectors_state() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # a caller's disabled collector stays disabled
    finally:
        gc.enable()
