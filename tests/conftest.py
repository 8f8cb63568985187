import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_results(tmp_path, monkeypatch):
    """Every test writes results under its own tmp dir, never into ~/tunelab_results."""
    monkeypatch.setenv("TUNELAB_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.chdir(tmp_path)
    yield
    os.environ.pop("TUNELAB_TEST_MARKER", None)
