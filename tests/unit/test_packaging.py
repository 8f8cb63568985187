"""Packaging as users meet it (issue 15): the version, the extras and the test tools."""

from __future__ import annotations

from pathlib import Path

import pytest

import tunelab

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")

PYPROJECT = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())


def test_the_package_reports_the_version_it_is_published_as() -> None:
    assert tunelab.__version__ == PYPROJECT["project"]["version"] == "0.2.0"


def test_test_tools_are_a_dependency_group_not_a_published_extra() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert "test" not in extras and "compat" not in extras
    tools = " ".join(PYPROJECT["dependency-groups"]["test"])
    for tool in ["pytest", "mypy", "ruff", "hypothesis", "playwright", "moto"]:
        assert tool in tools
        assert not any(tool in " ".join(deps) for deps in extras.values()), tool


def test_the_core_stays_small() -> None:
    names = sorted(d.split(">")[0].split("=")[0] for d in PYPROJECT["project"]["dependencies"])
    # each justified in docs/getting-started.md (install sizes)
    assert names == ["cloudpickle", "pandas", "psutil", "tabulate"]
