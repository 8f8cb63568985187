"""The chaos suite: adversarial tests that try to break tunelab (kills at random moments,
hung and fork-happy trials, unserialisable results, silent socket clients, a full disk,
fuzzed inputs). Every test here carries the ``chaos`` marker; ``pytest -m chaos`` runs
only them, ``pytest -m "not chaos"`` everything else. The long soak is
``benchmarks/soak_chaos.py``."""

import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/chaos/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.chaos)
