"""Every Python snippet of the README runs as written, each in a fresh interpreter with its
results under a temporary directory (issue 15: no snippet rots)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _snippets() -> list[tuple[int, str]]:
    text = README.read_text()
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in _BLOCK.finditer(text)]


def test_the_readme_has_snippets() -> None:
    assert len(_snippets()) >= 3


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("line", "code"), _snippets(), ids=lambda v: str(v)[:12])
def test_a_readme_snippet_runs_as_written(tmp_path: Path, line: int, code: str) -> None:
    env = dict(os.environ, TUNELAB_RESULTS_DIR=str(tmp_path / "results"))
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, f"README.md line {line}:\n{done.stderr[-3000:]}"
