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
    assert names == ["cloudpickle", "pandas", "psutil", "sortedcontainers", "tabulate"]


# distribution -> the module tunelab imports from it
_MODULE = {
    "scikit-learn": "sklearn",
    "dask[distributed]": "distributed",
    "pyyaml": "yaml",
    "bayesian-optimization": "bayes_opt",
    "scikit-optimize": "skopt",
    "ax-platform": "ax",
    "comet-ml": "comet_ml",
    "tensorboardX": "tensorboardX",
}
# installed for a library tunelab drives, which needs them at run time without declaring
# them the way tunelab uses it (each named in pyproject.toml's comments)
_FOR_ANOTHER = {
    ("keras", "torch"),  # Keras 3's backend when TensorFlow is missing
    ("lightning", "torch"),
    ("transformers", "torch"),
    ("transformers", "accelerate"),  # transformers' Trainer
    ("ax", "torch"),
    ("hebo", "torch"),  # HEBO itself is installed with --no-deps (its numpy<1.25 pin)
    ("hebo", "pymoo"),
    ("hebo", "gpytorch"),
    ("hebo", "GPy"),
    ("hebo", "catboost"),
    ("hebo", "disjoint-set"),
    ("hebo", "scikit-learn"),
    ("hebo", "pandas"),
    ("flaml", "optuna"),  # BlendSearch's global search
    ("tensorboard", "crc32c"),  # tensorboardX's fast event checksums
    ("s3", "s3fs"),  # fsspec's s3:// protocol
    ("docs", "myst-parser"),  # Sphinx's extension and theme, named in docs/conf.py
    ("docs", "furo"),
}


def test_every_extra_installs_only_what_tunelab_or_its_library_uses() -> None:
    root = Path(__file__).resolve().parents[2]
    files = [*(root / "src" / "tunelab").rglob("*.py"), *(root / "docs").glob("*.py")]
    code = "\n".join(p.read_text() for p in files)
    unused = []
    for extra, requirements in PYPROJECT["project"]["optional-dependencies"].items():
        if extra == "all":
            continue
        for requirement in requirements:
            name = requirement.split(">")[0].split("<")[0].split("=")[0].strip()
            if (extra, name) in _FOR_ANOTHER:
                continue
            module = _MODULE.get(name, name.replace("-", "_"))
            used = (f"import {module}", f"from {module}", f'require("{module}"')
            if not any(spelling in code for spelling in used):
                unused.append(f"[{extra}] {name}")
    assert unused == []
