"""The package's layers and what each may import (issue 12; drawn in docs/architecture.md).

From the bottom: the foundation modules at the package root (records, errors, resources,
checkpoints, storage, the in-trial session...); the policies (schedulers, searchers,
stoppers), which decide but never touch processes or files; ``tunelab._persistence`` (the
experiment state on disk); ``tunelab.execution`` (executors and the worker); the outputs
(loggers, progress, server, analysis, plots); the trial-run core (``tunelab._core``, the
loop); and on top the front doors (``tunelab._frontdoor``). Every import is read from the
source, including the ones inside functions, so a lazy import cannot hide a dependency
that goes up the layers.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

FRONT = ["tunelab._frontdoor"]
CORE = ["tunelab._core"]
PERSISTENCE = ["tunelab._persistence"]
EXECUTION = ["tunelab.execution"]
POLICIES = ["tunelab.schedulers", "tunelab.search", "tunelab.stopper"]
OUTPUTS = ["tunelab.logger", "tunelab.progress", "tunelab.server", "tunelab.analysis"]
OUTPUTS += ["tunelab.plot"]

#: layer -> (its packages, what it may not import)
RULES = {
    "policies": (POLICIES, [*FRONT, *CORE, *PERSISTENCE, *EXECUTION, *OUTPUTS]),
    "persistence": (PERSISTENCE, [*FRONT, *CORE, *EXECUTION, *POLICIES, *OUTPUTS]),
    "execution": (EXECUTION, [*FRONT, *CORE, *PERSISTENCE, *OUTPUTS]),
    "outputs": (OUTPUTS, [*FRONT, *CORE, *EXECUTION]),
    "core": (CORE, [*FRONT, "tunelab.server", "tunelab.analysis", "tunelab.plot"]),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def imports() -> dict[str, set[str]]:
    """module -> every tunelab module it imports (at module level or inside functions)."""
    graph: dict[str, set[str]] = {}
    for path in (SRC / "tunelab").rglob("*.py"):
        module = _module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)
        graph[module] = {name for name in found if name.startswith("tunelab")}
    return graph


def _under(name: str, packages: list[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def violations(layer: str) -> list[str]:
    members, banned = RULES[layer]
    return sorted(
        f"{module} imports {name}"
        for module, names in imports().items()
        if _under(module, members)
        for name in names
        if _under(name, banned)
    )


def test_the_scan_sees_lazy_and_relative_imports() -> None:
    graph = imports()
    assert len(graph) > 200
    # tunelab/__init__.py imports the front doors; the controller its collaborators
    assert any(_under(n, FRONT) for n in graph["tunelab"])
    assert "tunelab._core.trial_lifecycle" in graph["tunelab._core.controller"]


def test_policies_import_no_loop_executor_storage_or_output() -> None:
    assert violations("policies") == []


def test_persistence_imports_only_the_foundation() -> None:
    assert violations("persistence") == []


def test_executors_import_no_loop_front_door_or_output() -> None:
    assert violations("execution") == []


def test_outputs_import_no_loop_executor_or_front_door() -> None:
    assert violations("outputs") == []


def test_the_core_imports_no_front_door_server_or_analysis() -> None:
    assert violations("core") == []


def test_a_rule_catches_an_import_up_the_layers() -> None:
    imports()["tunelab.stopper._fake"] = {"tunelab._core.controller"}
    try:
        assert violations("policies") == ["tunelab.stopper._fake imports tunelab._core.controller"]
    finally:
        del imports()["tunelab.stopper._fake"]


def test_every_layer_folder_says_what_it_holds_and_may_import() -> None:
    for package in ["_core", "_persistence", "_frontdoor", "execution"]:
        doc = ast.get_docstring(ast.parse((SRC / "tunelab" / package / "__init__.py").read_text()))
        assert doc and "import" in doc, package
