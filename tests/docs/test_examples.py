"""Every script of ``examples/`` runs as written (``--smoke-test``) and can be a gallery page.

Each example runs in its own interpreter, as a user would start it, in an empty temporary
working directory, with its results under a temporary results root (``TUNELAB_RESULTS_DIR``,
the default of every script's ``--storage-path``).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

#: modules an example needs beyond tunelab's core (the test extra installs them all)
NEEDS: dict[str, tuple[str, ...]] = {
    "sklearn_random_forest": ("sklearn",),
    "pytorch_small_model": ("torch", "sklearn"),
    "pbt": ("numpy",),
    "dask_cluster": ("distributed",),
    "s3_storage": ("moto.server", "s3fs"),
}

#: what each example prints at the end when it worked (default: a line about the best trial)
EXPECTED: dict[str, tuple[str, ...]] = {
    "resume_after_interrupt": ("interrupted: True", "every iteration exactly once"),
    "dask_cluster": ("ran on Dask worker",),
    "s3_storage": ("uploaded to s3://", "read back from s3://"),
    "dashboard": ("stop_trial", "add_trial"),
}


def scripts() -> list[Path]:
    """The gallery's scripts, as ``docs/_gallery.py`` finds them."""
    return sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def test_there_are_examples_and_the_tables_above_name_them() -> None:
    names = {p.stem for p in scripts()}
    assert len(names) >= 7, sorted(names)
    assert set(NEEDS) | set(EXPECTED) <= names, sorted(set(NEEDS) | set(EXPECTED) - names)


@pytest.mark.parametrize("script", scripts(), ids=lambda p: p.stem)
def test_an_example_has_a_title_an_explanation_and_a_smoke_test_flag(script: Path) -> None:
    source = script.read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(source))
    assert doc, f"{script.name}: no module docstring (the gallery takes its title from it)"
    title, _, body = doc.strip().partition("\n")
    assert title.strip() and len(title) <= 80, f"{script.name}: title line {title!r}"
    assert not title.rstrip().endswith("."), f"{script.name}: a title, not a sentence"
    assert body.startswith("\n"), f"{script.name}: a blank line after the title"
    assert len(body.split()) >= 80, f"{script.name}: the explanation is too short"
    assert '"--smoke-test"' in source, f"{script.name}: no --smoke-test option"
    assert 'if __name__ == "__main__":' in source, f"{script.name}: not runnable as a script"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("script", scripts(), ids=lambda p: p.stem)
def test_an_example_runs_with_smoke_test(tmp_path: Path, script: Path) -> None:
    for module in NEEDS.get(script.stem, ()):
        pytest.importorskip(module, reason=f"{script.name} needs {module}")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    results = tmp_path / "results"
    env = dict(os.environ, TUNELAB_RESULTS_DIR=str(results), MPLBACKEND="Agg")
    env.pop("TUNE_RESULT_DIR", None)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(script), "--smoke-test"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, (
        f"{script.name} --smoke-test exited {done.returncode} after {elapsed:.0f} s:\n"
        f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    )
    for expected in EXPECTED.get(script.stem, ("Best",)):
        assert expected in done.stdout, (script.name, expected, done.stdout[-3000:])
    assert results.is_dir() and any(results.iterdir()), (
        f"{script.name} wrote nothing under TUNELAB_RESULTS_DIR"
    )
    assert not list(cwd.iterdir()), f"{script.name} wrote into its working directory"
    print(f"{script.name}: {elapsed:.1f} s")
