"""Sphinx extension: the site's generated pages.

One gallery page per script of ``examples/``, and the REST API reference with the
``openapi.json`` it is generated from.

Each ``examples/<name>.py`` starts with a module docstring whose first line is the title and
whose other lines are Markdown; its page shows that text, how to run the script, and the
script itself. The pages are written to ``docs/gallery/`` and ``docs/generated/`` (not
tracked) when the build starts, so the gallery always shows the scripts that CI runs and the
REST reference always matches the server.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
EXAMPLES = DOCS.parent / "examples"
GALLERY = DOCS / "gallery"


def example_scripts() -> list[Path]:
    """The gallery's scripts, in name order."""
    return sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def _page(script: Path) -> str:
    doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""
    if not doc.strip():
        raise ValueError(f"{script} has no module docstring: the gallery needs its title")
    title, _, body = doc.strip().partition("\n")
    return (
        f"# {title.strip()}\n\n{body.strip()}\n\n"
        f"Run it from the repository's root:\n\n"
        f"```bash\npython examples/{script.name}\n```\n\n"
        f"CI runs every example with `--smoke-test` (a few trials, a few iterations).\n\n"
        f"```{{literalinclude}} ../../examples/{script.name}\n:language: python\n:linenos:\n```\n"
    )


def write_gallery(app: Any = None) -> None:
    """Write ``docs/gallery/index.md`` and one page per example (only files that changed)."""
    GALLERY.mkdir(exist_ok=True)
    scripts = example_scripts()
    pages: dict[str, str] = {}
    for script in scripts:
        pages[f"{script.stem}.md"] = _page(script)
    toc = "\n".join(script.stem for script in scripts)
    pages["index.md"] = (
        "# Examples gallery\n\n"
        "Complete scripts, each runnable as it is. CI runs every one of them with "
        "`--smoke-test`, so none of them rots.\n\n"
        f"```{{toctree}}\n:maxdepth: 1\n\n{toc}\n```\n"
    )
    for old in GALLERY.glob("*.md"):
        if old.name not in pages:
            old.unlink()
    for name, text in pages.items():
        _write_if_changed(GALLERY / name, text)


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", write_generated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def _rest_api_page() -> str:
    """The REST API reference, from the OpenAPI description the server itself serves."""
    from tunelab.server._openapi import openapi_document

    doc = openapi_document()
    rows = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            codes = ", ".join(sorted(op.get("responses", {})))
            auth = "no" if op.get("security") == [] else "token"
            summary = str(op.get("summary", "")).replace("|", "\\|")
            rows.append(f"| `{method.upper()}` | `{path}` | {summary} | {auth} | {codes} |")
    table = "\n".join(rows)
    return (
        "# REST API\n\n"
        f"{doc['info']['description']}\n\n"
        "This table is generated from the OpenAPI description that a running server serves "
        "at `GET /openapi.json`; the same document is part of this site: "
        '<a href="../openapi.json">openapi.json</a>. A guide to the server, the dashboard and '
        "{class}`~tunelab.server.TuneClient` is in {doc}`../guides/dashboard`.\n\n"
        "| method | path | what it does | auth | responses |\n|---|---|---|---|---|\n"
        f"{table}\n"
    )


def write_generated(app: Any = None) -> None:
    """Write the generated pages (gallery, REST API) and ``openapi.json`` for the site."""
    import json

    write_gallery(app)
    from tunelab.server._openapi import openapi_document

    generated = DOCS / "generated"
    generated.mkdir(exist_ok=True)
    _write_if_changed(generated / "rest-api.md", _rest_api_page())
    extra = DOCS / "_extra"
    extra.mkdir(exist_ok=True)
    _write_if_changed(extra / "openapi.json", json.dumps(openapi_document(), indent=2) + "\n")


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
