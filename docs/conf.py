"""Sphinx configuration of tunelab's documentation site.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (``bash scripts/docs``).
Guides are Markdown (MyST); the API reference is generated from the docstrings (autodoc with
napoleon's Google style); the examples gallery is generated from ``examples/*.py`` at build
time (``_gallery.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import tunelab  # noqa: E402

project = "tunelab"
author = "the tunelab developers"
copyright = "2026, the tunelab developers"
release = tunelab.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "README.md"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# The API reference: signatures show types, parameters are described in the docstrings'
# Google-style Args/Returns/Raises sections.
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
# Type names that stay strings under ``from __future__ import annotations`` and are not all
# importable at build time resolve quietly instead of failing the -W build.
nitpicky = False


html_theme = "furo"
html_title = f"tunelab {release}"
html_static_path: list[str] = []
html_extra_path = ["_extra"]  # openapi.json, written by _gallery.py
html_show_sourcelink = False


def _skip_member(
    app: object, what: str, name: str, obj: object, skip: bool, options: object
) -> bool:
    # scikit-learn generates set_*_request methods on estimators (metadata routing); their
    # docstrings point into scikit-learn's own site. TuneSearchCV documents its real methods.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app: object) -> None:
    app.connect("autodoc-skip-member", _skip_member)  # type: ignore[attr-defined]
