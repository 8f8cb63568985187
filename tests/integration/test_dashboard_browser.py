"""The dashboard in a real headless Chromium (Debian's ``chromium``, driven by Playwright),
against a live experiment whose trials run in real worker processes, and against an
experiment read from disk. Screenshots land in ``tests/artifacts/`` for review."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from server_helpers import live_experiment, wait_for

import tunelab as tune
from browser_helpers import CHROMIUM, MISSING, chromium_browser
from tunelab.execution import InProcessExecutor, LocalExecutor
from tunelab.server import serve_dashboard

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=MISSING,
)


@pytest.fixture(scope="module")
def browser():
    yield from chromium_browser()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            page.problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
        ),
    )
    yield page
    context.close()


def screenshot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def cell(page, trial_id, column):
    return page.text_content(f'tr[data-trial-id="{trial_id}"] td[data-col="{column}"]')


def result_lines(trial_dir):
    path = os.path.join(trial_dir, "result.json")
    with open(path) as fh:
        return [json.loads(line)["training_iteration"] for line in fh if line.strip()]


def test_live_dashboard_shows_updates_and_stops_a_trial(tmp_path, monkeypatch, page):
    with live_experiment(
        tmp_path,
        monkeypatch,
        executor=LocalExecutor(num_cpus=3),
        config={"x": tune.grid_search([1.0, 2.0, 3.0]), "sleep": 0.05},
    ) as live:
        trials = wait_for(
            lambda: (
                len(t := live.trials()) == 3
                and all(x["status"] == "RUNNING" and x["iterations"] >= 1 for x in t.values())
                and t
            ),
            message="three running trials",
        )
        page.goto(live.server.dashboard_url)
        page.wait_for_function("() => document.querySelectorAll('#trials tbody tr').length === 3")
        ids = sorted(trials)
        for trial_id in ids:
            assert cell(page, trial_id, "status") == "RUNNING"
        assert page.text_content("#exp-state") == "running"
        # live updates: a trial's iteration count grows on the page without a reload
        first = int(cell(page, ids[0], "iterations"))
        page.wait_for_function(
            "([id, n]) => Number(document.querySelector("
            '`tr[data-trial-id="${id}"] td[data-col="iterations"]`).textContent) > n + 3',
            arg=[ids[0], first],
            timeout=20000,
        )
        page.wait_for_function("() => document.querySelectorAll('#curves path.curve').length === 3")
        page.wait_for_function(
            "() => document.querySelectorAll('#parallel path.pc-line').length === 3"
        )
        assert "loss (min)" in page.text_content("#best-body")
        assert page.input_value("#metric") == "loss"
        screenshot(page, "dashboard-live.png")

        # sorting by a column
        page.click('#trials th[data-col="p:x"]')
        page.click('#trials th[data-col="p:x"]')  # descending
        page.wait_for_function(
            "() => document.querySelector('#trials th[data-col=\"p:x\"]').className"
            " === 'sorted-desc'"
        )
        shown = page.eval_on_selector_all(
            '#trials tbody td[data-col="p:x"]', "cells => cells.map(c => Number(c.textContent))"
        )
        assert shown == [3, 2, 1]

        # the stop button stops one trial through the token-protected API
        victim = ids[1]
        page.click(f'button.stop-trial[data-trial-id="{victim}"]')
        page.wait_for_function(
            'id => document.querySelector(`tr[data-trial-id="${id}"] td[data-col="status"]`)'
            ".textContent === 'TERMINATED'",
            arg=victim,
            timeout=20000,
        )
        info = live.client.get_trial(victim)["trial"]
        assert info["status"] == "TERMINATED"
        stopped_lines = result_lines(info["logdir"])
        assert stopped_lines == list(range(1, len(stopped_lines) + 1))
        others = [i for i in ids if i != victim]
        seen = {i: live.client.get_trial(i)["trial"]["iterations"] for i in others}
        wait_for(
            lambda: all(
                live.client.get_trial(i)["trial"]["iterations"] > seen[i] + 3 for i in others
            ),
            message="the other trials to go on",
        )
        assert result_lines(info["logdir"]) == stopped_lines  # its result.json stopped growing
        assert page.is_disabled(f'button.stop-trial[data-trial-id="{victim}"]')
        assert page.is_enabled(f'button.stop-trial[data-trial-id="{others[0]}"]')
        screenshot(page, "dashboard-after-stop.png")

        # the experiment's stop button (with its confirmation dialog)
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#stop-experiment")
        analysis = live.finish()
    assert {t.status.value for t in analysis.trials} == {"TERMINATED"}
    assert page.problems == []


def short(config):
    for i in range(5):
        tune.report(loss=config["x"] / (i + 1), acc=1 - config["x"] / (i + 2))


def test_disk_dashboard_shows_a_finished_experiment_read_only(tmp_path, page):
    tune.run(
        short,
        config={"x": tune.grid_search([0.5, 1.0, 2.0, 4.0]), "opt": tune.grid_search(["a", "b"])},
        name="finished",
        storage_path=str(tmp_path),
        verbose=0,
        executor=InProcessExecutor(num_cpus=2),
        # long names with a common start, as a real trainable's (train_digits_0ed32_00001)
        trial_name_creator=lambda trial: f"a_long_trainable_name_{trial.trial_id}",
    )
    server = serve_dashboard(str(tmp_path / "finished"), port=0)
    try:
        page.goto(server.dashboard_url)
        page.wait_for_function("() => document.querySelectorAll('#trials tbody tr').length === 8")
        assert page.text_content("#exp-state") == "finished (from disk)"
        assert page.is_disabled("#stop-experiment")
        buttons = page.query_selector_all("button.stop-trial")
        assert len(buttons) == 8 and all(b.is_disabled() for b in buttons)
        page.select_option("#metric", "loss")
        page.select_option("#mode", "min")
        page.wait_for_function(
            "() => document.querySelectorAll('#parallel path.pc-line').length === 8"
        )
        page.wait_for_function(
            "() => document.querySelector('#best-body').textContent.includes('loss (min)')"
        )
        best = page.text_content("#best-body")
        assert "loss (min)" in best and "0.1" in best  # x=0.5 after 5 iterations: 0.1
        page.select_option("#curve-choice", "all")
        page.wait_for_function("() => document.querySelectorAll('#curves path.curve').length === 8")
        # legend labels keep the ends of the trial names, where they differ (cut to their
        # common start, all eight read the same)
        labels = page.eval_on_selector_all(
            "#curves svg > text", "nodes => nodes.map(n => n.textContent)"
        )
        legend = [label for label in labels if label.startswith("\u2026") or "_long_" in label]
        assert len(legend) == 8 and len(set(legend)) == 8, labels
        screenshot(page, "dashboard-disk.png")
        # without the token the page says so and shows no data
        page.goto(server.url + "/")
        assert "missing or wrong token" in page.content()
    finally:
        server.stop()
    # the only problem the browser logged is the refused page load
    assert all("401" in problem for problem in page.problems), page.problems


def scored(config):
    for i in range(3):
        tune.report(score=config["x"] * (i + 1))


def test_disk_dashboard_of_a_results_root_shows_one_experiment_at_a_time(tmp_path, page):
    # two unrelated experiments whose metric has the same name but not the same meaning:
    # "older" maximises score, "newer" minimises it
    for name, mode, xs in [("older", "max", [1.0, 2.0]), ("newer", "min", [5.0, 6.0, 7.0])]:
        tune.run(
            scored,
            config={"x": tune.grid_search(xs)},
            name=name,
            metric="score",
            mode=mode,
            storage_path=str(tmp_path),
            verbose=0,
            executor=InProcessExecutor(num_cpus=2),
        )
    server = serve_dashboard(str(tmp_path), port=0)
    try:
        page.goto(server.dashboard_url)
        # the newest experiment first, with its own metric and mode
        page.wait_for_function("() => document.querySelectorAll('#trials tbody tr').length === 3")
        assert page.is_visible("#exp-filter")
        assert page.eval_on_selector("#exp-filter", "s => s.value") == "newer"
        page.wait_for_function(
            "() => document.querySelector('#best-body').textContent.includes('score (min)')"
        )
        assert "5" in page.text_content("#best-body")  # x=5: 5 at the first iteration
        screenshot(page, "dashboard-results-root.png")
        page.select_option("#exp-filter", "older")
        page.wait_for_function("() => document.querySelectorAll('#trials tbody tr').length === 2")
        page.wait_for_function(
            "() => document.querySelector('#best-body').textContent.includes('score (max)')"
        )
        assert "6" in page.text_content("#best-body")  # x=2 after 3 iterations: 6
        # every experiment at once, on request, with a column saying which is which
        page.select_option("#exp-filter", "")
        page.wait_for_function("() => document.querySelectorAll('#trials tbody tr').length === 5")
        assert "Experiment" in page.text_content("#trials thead")
    finally:
        server.stop()
    assert not page.problems, page.problems
