"""Rewrite a Ray Tune script's imports to tunelab's (the logic of ``tunelab port``).

The porting rule, applied to every ``import`` statement wherever it is (module level,
functions, ``if __name__ == "__main__":`` blocks, ``try`` blocks):

* module paths: ``ray.tune`` -> ``tunelab``, ``ray.tune.<sub>`` -> ``tunelab.<sub>``,
  ``ray.<other>`` -> ``tunelab.<other>`` (``ray.air.session`` -> ``tunelab.air.session``);
* ``import ray`` / ``import ray.tune`` / ``import ray.<anything>`` without ``as`` bind the
  name ``ray``, so they become ``import tunelab as ray`` (tunelab reaches its submodules as
  attributes, so ``ray.tune.schedulers`` keeps resolving); with ``as`` the mapped path is
  imported under the same alias (``import ray.tune as t`` -> ``import tunelab as t``);
* ``from ray... import names`` keeps its names, aliases, parentheses and comments and only
  its module path changes (``from ray import tune`` -> ``from tunelab import tune``);
* Ray Tune's examples import their helpers as ``ray.tune.examples.<helper>``; when the
  helper is a *sibling* (a module importable from the script's directory), the import
  becomes one that works when the script is run from its directory: ``from
  ray.tune.examples.mnist_pytorch import train`` -> ``from mnist_pytorch import train``,
  ``from ray.tune.examples import utils`` -> ``import utils``, ``from
  ray.tune.examples.pbt_dcgan_mnist.common import Net`` -> ``from common import Net`` in
  ``pbt_dcgan_mnist/``. Other ``ray.tune.examples`` paths are mapped like any module path.

Nothing but the module-name tokens of import statements changes: whitespace, comments and
the line structure are kept (a change never adds or removes a line), so every change is
reported as one line before and after. Statements are found with :mod:`ast` and the exact
tokens with :mod:`tokenize`. Imports of other modules (``rayleigh``, relative imports) are
never touched, and porting a ported source changes nothing.

What has no counterpart is reported with its line: imported modules whose tunelab path does
not exist, imported names tunelab lacks (``from ray import remote``), and attribute chains on
a name bound to an imported module that tunelab lacks (``ray.remote``, ``ray.get_actor``,
``ray.util.placement_group``). The checks import tunelab (and the submodules a script
names); a module that exists but fails to import (an optional dependency) is not reported.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import io
import sys
import tokenize
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

__all__ = ["Change", "Finding", "PortResult", "map_module", "port_source"]

_EXAMPLES = ("ray", "tune", "examples")


@dataclass(frozen=True)
class Change:
    """One changed line: its number (the same before and after) and its text, without the
    line ending."""

    line: int
    old: str
    new: str


@dataclass(frozen=True)
class Finding:
    """A name the script uses that tunelab has no counterpart for.

    ``name`` is the script's spelling (``ray.remote``, ``ray.rllib.agents``), ``target`` the
    tunelab path that was looked for (``tunelab.remote``), ``kind`` says whether a module or
    an attribute (a name inside a module) is missing.
    """

    line: int
    name: str
    target: str
    kind: Literal["module", "attribute"]

    @property
    def message(self) -> str:
        """``"ray.remote (tunelab has no attribute 'remote')"`` and the like."""
        if self.kind == "module":
            return f"{self.name} (no module {self.target})"
        parent, _, attribute = self.target.rpartition(".")
        return f"{self.name} ({parent} has no attribute {attribute!r})"


@dataclass(frozen=True)
class PortResult:
    """The ported source, the lines changed (in order) and what has no counterpart (in
    order of line)."""

    source: str
    changes: tuple[Change, ...]
    findings: tuple[Finding, ...]

    @property
    def changed(self) -> bool:
        """Whether porting changed anything."""
        return bool(self.changes)


def map_module(name: str) -> str | None:
    """The tunelab module path for the Ray module path ``name``, or ``None`` when ``name``
    is not in Ray (``"ray.tune.schedulers"`` -> ``"tunelab.schedulers"``, ``"ray"`` ->
    ``"tunelab"``, ``"rayleigh"`` -> ``None``). tune-sklearn's modules map to
    ``tunelab.sklearn`` (``"tune_sklearn"`` -> ``"tunelab.sklearn"``)."""
    parts = name.split(".")
    if parts[0] == "tune_sklearn":  # tune-sklearn's TuneSearchCV is tunelab.sklearn's
        return ".".join(["tunelab", "sklearn", *parts[1:]])
    if parts[0] != "ray":
        return None
    rest = parts[2:] if parts[1:2] == ["tune"] else parts[1:]
    return ".".join(["tunelab", *rest])


def port_source(source: str, *, siblings: Collection[str] = ()) -> PortResult:
    """Port the Python source ``source`` to tunelab by the rule in this module's docstring.

    ``siblings`` are the names of the modules importable from the script's directory: file
    stems such as ``"mnist_pytorch"``, packages such as ``"pbt_dcgan_mnist"`` and their
    modules as dotted names (``"pbt_dcgan_mnist.common"``), but not the script itself;
    imports of ``ray.tune.examples.<...>`` that name a sibling become imports of the
    sibling. Raises ``SyntaxError`` when ``source`` is not valid Python (``lineno`` names
    the line).
    """
    tree = ast.parse(source)
    lines = io.StringIO(source).readlines()
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    porter = _Porter(lines, tokens, frozenset(siblings))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            porter.port_import(node)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            porter.port_import_from(node)
    porter.check_attribute_chains(tree)
    return porter.result()


# -- rewriting ------------------------------------------------------------------------------
_Edit = tuple[int, int, int, str]  # (row, start col, end col, text): one line, str columns


class _Porter:
    """The state of one :func:`port_source` call: tokens, edits, bound names, findings."""

    def __init__(
        self, lines: list[str], tokens: list[tokenize.TokenInfo], siblings: frozenset[str]
    ) -> None:
        self.lines = lines
        self.tokens = tokens
        self.siblings = siblings
        self.index = {tok.start: i for i, tok in enumerate(tokens)}
        self.edits: list[_Edit] = []
        self.findings: dict[tuple[int, str], Finding] = {}
        # name -> (tunelab module, attributes below it) for names bound to modules
        self.bound: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.resolver = _Resolver()

    # positions ---------------------------------------------------------------------------
    def _token_at(self, lineno: int, byte_col: int) -> int:
        line = self.lines[lineno - 1] if lineno <= len(self.lines) else ""
        col = len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="replace"))
        try:
            return self.index[(lineno, col)]
        except KeyError:
            raise ValueError(f"line {lineno}: cannot find the tokens of an import") from None

    def _dotted(self, start: int) -> list[int]:
        """The indices of the tokens of the dotted name starting at token ``start``."""
        found = [start]
        i = start + 1
        while (
            i + 1 < len(self.tokens)
            and self.tokens[i].type == tokenize.OP
            and self.tokens[i].string == "."
            and self.tokens[i + 1].type == tokenize.NAME
        ):
            found += [i, i + 1]
            i += 2
        return found

    def _replace(self, indices: Sequence[int], text: str) -> None:
        """Replace the tokens ``indices`` (and what lies between them on a line) by ``text``:
        the tokens of the first line become ``text``, those of later lines (a backslash
        continuation) disappear, so no line is added or removed."""
        rows: dict[int, list[tokenize.TokenInfo]] = {}
        for i in indices:
            tok = self.tokens[i]
            rows.setdefault(tok.start[0], []).append(tok)
        for n, (row, toks) in enumerate(sorted(rows.items())):
            self.edits.append((row, toks[0].start[1], toks[-1].end[1], text if n == 0 else ""))

    # import statements ---------------------------------------------------------------------
    def port_import(self, node: ast.Import) -> None:
        for alias in node.names:
            root = alias.name.split(".")[0]
            target = alias.name if root == "tunelab" else map_module(alias.name)
            if target is None:
                continue
            bound = alias.asname or root
            if root == "tunelab":  # already ported: checked, not changed
                self._check_module(node.lineno, alias.name, target)
                self.bound[bound] = (target if alias.asname else "tunelab", ())
                continue
            name_tokens = self._dotted(self._token_at(alias.lineno, alias.col_offset))
            sibling = self._sibling_module(alias.name.split(".")) if alias.asname else None
            if sibling is not None:
                self._replace(name_tokens, sibling)
                continue
            self._check_module(node.lineno, alias.name, target)
            if alias.asname is None:  # binds `ray`: tunelab reaches submodules as attributes
                root_target = map_module(root) or "tunelab"
                self._replace(name_tokens, f"{root_target} as {root}")
                self.bound[root] = (root_target, ())
            else:
                self._replace(name_tokens, target)
                self.bound[alias.asname] = (target, ())

    def port_import_from(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        ported = module.split(".")[0] == "tunelab"
        target = module if ported else map_module(module)
        if target is None:
            return
        if not ported:
            start = self._token_at(node.lineno, node.col_offset)  # the "from" keyword
            module_tokens = self._dotted(start + 1)
            if self._port_sibling_from(node, start, module_tokens):
                return
            self._replace(module_tokens, target)
        if not self._check_module(node.lineno, module, target):
            return
        for alias in node.names:
            if alias.name == "*":
                continue
            self._check_attributes(alias.lineno, module, target, (), (alias.name,))
            self.bound[alias.asname or alias.name] = (target, (alias.name,))

    # siblings ------------------------------------------------------------------------------
    def _sibling_module(self, parts: Sequence[str]) -> str | None:
        """``ray.tune.examples.<path>`` as a sibling module: the longest tail of ``<path>``
        that is a sibling's name (``pbt_dcgan_mnist.common`` from the examples directory,
        ``common`` from ``pbt_dcgan_mnist/``), or ``None``."""
        if tuple(parts[:3]) != _EXAMPLES:
            return None
        rest = list(parts[3:])
        for i in range(len(rest)):
            if ".".join(rest[i:]) in self.siblings:
                return ".".join(rest[i:])
        return None

    def _port_sibling_from(
        self, node: ast.ImportFrom, start: int, module_tokens: list[int]
    ) -> bool:
        """Rewrite ``from ray.tune.examples... import names`` to a sibling import, if the
        module or every name is a sibling; ``False`` when it is not done."""
        parts = (node.module or "").split(".")
        if tuple(parts[:3]) != _EXAMPLES:
            return False
        sibling = self._sibling_module(parts)
        if sibling is not None:
            self._replace(module_tokens, sibling)  # from mnist_pytorch import train
            return True
        # `from ray.tune.examples[.pkg] import helper` -> `import helper`; parentheses can go
        # only when the statement is on one line
        if not all(alias.name in self.siblings for alias in node.names):
            return False
        keyword = module_tokens[-1] + 1  # the "import" keyword
        if self.tokens[keyword].string != "import":
            return False
        parens: list[int] = []
        if self.tokens[keyword + 1].string == "(":
            if node.end_lineno != node.lineno:
                return False
            close = self._token_at(node.end_lineno, (node.end_col_offset or 1) - 1)
            parens = [keyword + 1, close]
        self._replace([start, *module_tokens, keyword], "import")
        for i in parens:
            self._replace([i], "")
        return True

    # counterparts --------------------------------------------------------------------------
    def _report(
        self, line: int, name: str, target: str, kind: Literal["module", "attribute"]
    ) -> None:
        self.findings.setdefault((line, name), Finding(line, name, target, kind))

    def _check_module(self, line: int, name: str, target: str) -> bool:
        if self.resolver.module_exists(target):
            return True
        self._report(line, name, target, "module")
        return False

    def _check_attributes(
        self, line: int, spelling: str, module: str, prefix: tuple[str, ...], attrs: tuple[str, ...]
    ) -> None:
        """Report the first missing name of ``spelling.<attrs>``, where ``spelling`` is the
        script's name for the tunelab ``module`` plus ``prefix`` (a name bound by ``from
        module import prefix``). A missing part of ``prefix`` was reported at its import."""
        full = (*prefix, *attrs)
        missing = self.resolver.missing(module, full)
        if missing is None or missing < len(prefix):
            return
        name = ".".join([spelling, *attrs[: missing - len(prefix) + 1]])
        self._report(line, name, ".".join([module, *full[: missing + 1]]), "attribute")

    def check_attribute_chains(self, tree: ast.AST) -> None:
        """Report attribute chains on names bound to modules (``ray.remote``) that tunelab
        lacks."""
        for root, attrs, line in _attribute_chains(tree):
            binding = self.bound.get(root)
            if binding is None:
                continue
            module, prefix = binding
            self._check_attributes(line, root, module, prefix, attrs)

    def result(self) -> PortResult:
        new_lines = list(self.lines)
        for row in sorted({edit[0] for edit in self.edits}):
            text = self.lines[row - 1]
            for _, start, end, replacement in sorted(
                (e for e in self.edits if e[0] == row), key=lambda e: e[1], reverse=True
            ):
                text = text[:start] + replacement + text[end:]
            new_lines[row - 1] = text
        changes = tuple(
            Change(i + 1, old.rstrip("\r\n"), new.rstrip("\r\n"))
            for i, (old, new) in enumerate(zip(self.lines, new_lines, strict=True))
            if old != new
        )
        findings = tuple(sorted(self.findings.values(), key=lambda f: (f.line, f.name)))
        return PortResult("".join(new_lines), changes, findings)


def _attribute_chains(tree: ast.AST) -> Iterator[tuple[str, tuple[str, ...], int]]:
    """``(root name, attributes, line)`` for every maximal chain ``name.a.b`` that is read."""
    inner: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            inner.add(id(node.value))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or id(node) in inner:
            continue
        attrs: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            attrs.append(current.attr)
            current = current.value
        if isinstance(current, ast.Name):
            if not isinstance(node.ctx, ast.Load):
                attrs = attrs[1:]  # `ray.x = 1` sets x: only the chain above it is read
            if attrs:
                yield current.id, tuple(reversed(attrs)), node.lineno


class _Resolver:
    """Looks up tunelab modules and attributes, with caches, guarding against import errors."""

    def __init__(self) -> None:
        self._modules: dict[str, bool] = {}
        self._missing: dict[tuple[str, tuple[str, ...]], int | None] = {}

    def module_exists(self, name: str) -> bool:
        if name not in self._modules:
            self._modules[name] = _find_module(name)
        return self._modules[name]

    def missing(self, module: str, attrs: tuple[str, ...]) -> int | None:
        """The index of the first of ``attrs`` (read one below the other, starting at the
        tunelab ``module``) that does not exist, or ``None`` when all do or the chain leaves
        modules (attributes of classes and functions are not checked) or cannot be
        imported here."""
        key = (module, attrs)
        if key not in self._missing:
            self._missing[key] = self._find_missing(module, attrs)
        return self._missing[key]

    def _find_missing(self, module: str, attrs: tuple[str, ...]) -> int | None:
        obj = _import(module)
        path = module
        for i, attr in enumerate(attrs):
            if not isinstance(obj, ModuleType):
                return None
            path = f"{path}.{attr}"
            try:
                obj = getattr(obj, attr)
                continue
            except AttributeError:
                pass
            except Exception:  # a lazy attribute that exists but cannot load here
                return None
            if not self.module_exists(path):
                return i
            obj = _import(path)
        return None


def _find_module(name: str) -> bool:
    if name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except Exception:  # a parent that is missing or fails to import
        return False


def _import(name: str) -> object:
    """The module ``name``, or ``None`` when it cannot be imported here."""
    try:
        return importlib.import_module(name)
    except Exception:
        return None
