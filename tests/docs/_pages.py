"""The documentation's Markdown pages and their Python code blocks (shared by the docs tests).

Convention (stated in docs/contributing.md): every ```` ```python ```` block of a page runs, in
order, in one fresh interpreter per page, the way a reader would paste them one after the
other; a block right after a MyST comment line ``% skip-run: <reason>`` is shown but not run
(only for what cannot run on one machine, such as a GPU or a remote cluster).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
_FENCE = re.compile(r"^(```+|~~~+)([^\n]*)\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_SKIP = re.compile(r"^% skip-run:\s*(\S.*)$")


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it starts, its language, its code and why it is skipped."""

    line: int
    language: str
    code: str
    skip_reason: str | None


def pages() -> list[Path]:
    """The hand-written Markdown pages (not the build output or the generated gallery)."""
    skip = {"_build", "gallery"}
    return sorted(p for p in DOCS.rglob("*.md") if not skip.intersection(p.relative_to(DOCS).parts))


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page``, in order."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = _SKIP.match(before.strip())
        language = match.group(2).strip().split(" ")[0] if match.group(2).strip() else ""
        found.append(Block(line, language, match.group(3), skip.group(1) if skip else None))
    return found


def python_blocks(page: Path) -> list[Block]:
    """The page's ```` ```python ```` blocks, the ones the snippet test runs or skips."""
    return [b for b in blocks(page) if b.language == "python"]


def program(page: Path) -> str:
    """The page's runnable blocks joined into one script; a failure names the block's line."""
    parts = []
    for block in python_blocks(page):
        if block.skip_reason is None:
            parts.append(f"# --- {page.name} line {block.line}\n{block.code}")
    return "\n".join(parts)
