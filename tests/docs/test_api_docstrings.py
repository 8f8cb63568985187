"""The API reference documents every public name and every parameter (issue 15).

The reference is generated from docstrings (napoleon, Google style), so these checks read the
docstrings themselves: each public class, function and public method of the modules the API
pages render has a docstring, and every parameter of its signature is described in its
``Args:`` section (``Attributes:`` for dataclass fields). The rendered pages are checked by
``test_site.py``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

# The modules docs/api/*.rst render, with their public names (``__all__``).
MODULES = [
    "tunelab",
    "tunelab.train",
    "tunelab.schedulers",
    "tunelab.search",
    "tunelab.stopper",
    "tunelab.analysis",
    "tunelab.logger",
    "tunelab.progress",
    "tunelab.execution",
    "tunelab.sklearn",
    "tunelab.plot",
    "tunelab.testing",
    "tunelab.track",
    "tunelab.search.optuna",
    "tunelab.search.hyperopt",
    "tunelab.search.nevergrad",
    "tunelab.search.bohb",
    "tunelab.search.bayesopt",
    "tunelab.search.skopt",
    "tunelab.search.zoopt",
    "tunelab.search.flaml",
    "tunelab.search.hebo",
    "tunelab.search.ax",
    "tunelab.integration.xgboost",
    "tunelab.integration.lightgbm",
    "tunelab.integration.keras",
    "tunelab.integration.pytorch_lightning",
    "tunelab.integration.huggingface",
    "tunelab.integration.mlflow",
    "tunelab.integration.wandb",
    "tunelab.integration.comet",
]
# Server names the API page renders (the rest of tunelab.server is the dashboard's plumbing).
EXTRA = {"tunelab.server": ["TuneClient", "TuneClientError", "TuneServer", "serve_dashboard"]}
_SECTION = re.compile(
    r"^(?P<indent>[ \t]*)(Args|Arguments|Parameters|Attributes|Keyword Args|Other Parameters):"
    r"[ \t]*\n(?P<body>(?:(?P=indent)[ \t]+\S.*\n|[ \t]*\n)*)",
    re.MULTILINE,
)
_ENTRY = re.compile(r"^[ \t]+\**(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:[ \t]*\([^)]*\))?[ \t]*:")


def _public(module_name: str) -> Iterator[tuple[str, Any]]:
    module = importlib.import_module(module_name)
    names = EXTRA.get(module_name) or getattr(module, "__all__", [])
    for name in names:
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            yield f"{module_name}.{name}", obj


def _documented_params(doc: str) -> set[str]:
    names: set[str] = set()
    for section in _SECTION.finditer(doc + "\n"):
        for line in section.group("body").splitlines():
            entry = _ENTRY.match(line)
            if entry and len(line) - len(line.lstrip()) <= len(section.group("indent")) + 8:
                names.add(entry.group("name"))
    return names


def _params(func: Callable[..., Any]) -> list[str]:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in signature.parameters.values()
        if p.name not in ("self", "cls")
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and not p.name.startswith("_")
    ]


def _own_methods(cls: type) -> Iterator[tuple[str, Callable[..., Any]]]:
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        func = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
        if inspect.isfunction(func):
            yield name, func


def _targets() -> list[tuple[str, Callable[..., Any], str]]:
    """(public name, callable, docstring holding its Args) for everything to check."""
    seen: set[int] = set()
    found = []
    for module_name in [*MODULES, *EXTRA]:
        for name, obj in _public(module_name):
            if id(obj) in seen or not getattr(obj, "__module__", "").startswith("tunelab"):
                continue
            seen.add(id(obj))
            if inspect.isclass(obj):
                init = obj.__init__ if "__init__" in vars(obj) else None
                if init is None and dataclasses.is_dataclass(obj):
                    init = obj.__init__
                class_doc = inspect.getdoc(obj) or ""
                if init is not None and not issubclass(obj, BaseException):
                    found.append((name, init, class_doc + "\n" + (init.__doc__ or "")))
                else:
                    found.append((name, lambda: None, class_doc))
                for method_name, method in _own_methods(obj):
                    found.append((f"{name}.{method_name}", method, inspect.getdoc(method) or ""))
            else:
                found.append((name, obj, inspect.getdoc(obj) or ""))
    return found


TARGETS = _targets()


def test_there_is_a_public_api_to_check() -> None:
    assert len(TARGETS) > 300


@pytest.mark.parametrize(("name", "func", "doc"), TARGETS, ids=[t[0] for t in TARGETS])
def test_a_public_name_has_a_docstring_describing_every_parameter(
    name: str, func: Callable[..., Any], doc: str
) -> None:
    assert doc.strip(), f"{name} has no docstring"
    missing = [p for p in _params(func) if p not in _documented_params(doc)]
    assert not missing, f"{name}: parameters not described under Args: {missing}"
