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
# openapi.json, written by _gallery.py when the builder starts; the folder must exist
# before that, when Sphinx checks its configuration (a fresh clone has none)
(HERE / "_extra").mkdir(exist_ok=True)
html_extra_path = ["_extra"]
html_show_sourcelink = False


def _skip_member(
    app: object, what: str, name: str, obj: object, skip: bool, options: object
) -> bool:
    # scikit-learn generates set_*_request methods on estimators (metadata routing); their
    # docstrings point into scikit-learn's own site. TuneSearchCV documents its real methods.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def _alias_documenter() -> type:
    """``autoaliasclass``: a class under another public name, documented in full (autodoc
    renders a name that differs from the class's ``__name__`` as "alias of ..."). Used for
    ``ASHAScheduler``, the name most code uses for ``AsyncHyperBandScheduler``."""
    from sphinx.ext.autodoc import ClassDocumenter

    class AliasClassDocumenter(ClassDocumenter):
        objtype = "aliasclass"
        directivetype = "class"
        priority = ClassDocumenter.priority - 10  # only when asked for by name

        def import_object(self, raiseerror: bool = False) -> bool:
            imported = super().import_object(raiseerror)
            self.doc_as_attr = False
            return imported

        def get_canonical_fullname(self) -> None:
            return None  # the class's own entry owns the canonical name

    return AliasClassDocumenter


def setup(app: object) -> None:
    app.connect("autodoc-skip-member", _skip_member)  # type: ignore[attr-defined]
    app.add_autodocumenter(_alias_documenter())  # type: ignore[attr-defined]
