"""Every Python block of every documentation page runs as written (issue 15: no snippet rots).

Each page's blocks run in order in one fresh interpreter (a reader pastes them one after the
other), in a temporary directory, with results under it (``TUNELAB_RESULTS_DIR``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _pages import DOCS, pages, program, python_blocks

_RUNNABLE = [p for p in pages() if program(p).strip()]


def test_the_guides_have_code_that_runs() -> None:
    assert len(_RUNNABLE) >= 10, [str(p) for p in _RUNNABLE]


def test_every_skipped_block_says_why() -> None:
    for page in pages():
        for block in python_blocks(page):
            assert block.skip_reason is None or len(block.skip_reason) > 10, (page, block.line)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("page", _RUNNABLE, ids=lambda p: str(p.relative_to(DOCS)))
def test_a_page_runs_as_written(tmp_path: Path, page: Path) -> None:
    script = tmp_path / f"{page.stem}_blocks.py"
    script.write_text(program(page), encoding="utf-8")
    env = dict(os.environ, TUNELAB_RESULTS_DIR=str(tmp_path / "results"), MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, (
        f"{page.relative_to(DOCS)}: the blocks (joined in {script}) failed:\n"
        f"{done.stdout[-1500:]}\n{done.stderr[-4000:]}"
    )
