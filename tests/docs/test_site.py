"""The documentation site builds with no warning and works in a real browser (issue 15).

The site is built once per module with ``sphinx-build -W`` (warnings are errors), then served
over HTTP and opened in headless Chromium (Debian's ``chromium`` through Playwright): the start
page, a guide, the API page of ``ASHAScheduler`` and the search box. Screenshots land in
``tests/artifacts/docs_*.png`` for review.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from _pages import DOCS, ROOT

from browser_helpers import chromium_browser

ARTIFACTS = ROOT / "tests" / "artifacts"

pytest.importorskip("sphinx", reason="the docs extra is not installed (pip install tunelab[docs])")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(DOCS),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, MPLBACKEND="Agg"),
    )
    assert done.returncode == 0, f"the site does not build cleanly:\n{done.stderr[-6000:]}"
    return out


@pytest.mark.timeout(660)
def test_the_site_builds_with_no_warning(site: Path) -> None:
    for page in [
        "index.html",
        "getting-started.html",
        "concepts.html",
        "porting.html",
        "guides/schedulers.html",
        "api/schedulers.html",
        "gallery/index.html",
        "generated/rest-api.html",
        "openapi.json",
        "searchindex.js",
    ]:
        assert (site / page).is_file(), page


@pytest.mark.timeout(660)
def test_every_guide_and_example_is_a_page(site: Path) -> None:
    guides = [p.stem for p in (DOCS / "guides").glob("*.md") if p.stem != "index"]
    assert len(guides) >= 16
    for stem in guides:
        assert (site / "guides" / f"{stem}.html").is_file(), stem
    for script in (ROOT / "examples").glob("[!_]*.py"):
        html = (site / "gallery" / f"{script.stem}.html").read_text(encoding="utf-8")
        assert "--smoke-test" in html and script.name in html


@pytest.mark.timeout(660)
def test_the_api_page_of_a_scheduler_documents_its_arguments(site: Path) -> None:
    html = (site / "api" / "schedulers.html").read_text(encoding="utf-8")
    assert 'id="tunelab.schedulers.ASHAScheduler"' in html
    for argument in ["grace_period", "reduction_factor", "max_t", "time_attr"]:
        assert argument in html, argument


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    yield from chromium_browser()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(f"page error: {exc}"))
    # what a reader would see break: a script error, or a page resource that is missing
    # (the browser's own favicon request is not the site's)
    page.on(
        "response",
        lambda response: (
            page.problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico")
            else None
        ),
    )
    yield page
    context.close()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"docs_{name}.png"), full_page=False)


@pytest.mark.timeout(660)
def test_the_start_page_leads_to_the_guides(served: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{served}/index.html")
    assert "tunelab" in page.title()
    nav = page.locator(".sidebar-tree")
    for caption in ["User guides", "Examples", "Reference"]:
        assert nav.get_by_text(caption, exact=True).count() >= 1, caption
    _shot(page, "start")
    # the sidebar leads to the guides' index, whose list leads to each guide
    page.locator(".sidebar-tree a", has_text="User guides").first.click()
    page.wait_for_url("**/guides/index.html")
    page.locator("article a", has_text="Trial schedulers").first.click()
    page.wait_for_url("**/guides/schedulers.html")
    assert page.url.endswith("guides/schedulers.html")
    assert page.locator("h1").first.inner_text().strip()
    assert page.locator("article pre").count() >= 3  # runnable code on the guide
    _shot(page, "guide_schedulers")
    assert not page.problems, page.problems


@pytest.mark.timeout(660)
def test_the_asha_api_page(served: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{served}/api/schedulers.html#tunelab.schedulers.ASHAScheduler")
    entry = page.locator('[id="tunelab.schedulers.ASHAScheduler"]')
    entry.wait_for()
    assert entry.is_visible()
    described = page.locator('[id="tunelab.schedulers.ASHAScheduler"] + dd').inner_text()
    assert "grace_period" in described and "reduction_factor" in described
    _shot(page, "api_asha")
    assert not page.problems, page.problems


@pytest.mark.timeout(660)
def test_the_search_box_finds_a_scheduler(served: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{served}/index.html")
    box = page.locator("input[name=q]").first
    box.fill("ASHAScheduler")
    box.press("Enter")
    page.wait_for_url("**/search.html*")
    hits = page.locator("#search-results ul.search li")
    hits.first.wait_for(timeout=30_000)
    assert hits.count() >= 1
    texts = " ".join(hits.all_inner_texts())
    assert "ASHAScheduler" in texts or "schedulers" in texts.lower()
    _shot(page, "search")
    assert not page.problems, page.problems
