"""Ray Tune's example scripts of three generations, ported with tunelab's porter, run to the
end with no errored trial (see ``compat_examples.py`` for how each is run and judged, and
``SKIPS`` there for the scripts not run, each with its reason)."""

from __future__ import annotations

from pathlib import Path

import compat_examples as compat
import pytest

_ALL = compat.selection_for()


@pytest.mark.timeout(int(compat.DEFAULT_TIMEOUT_S) * 4 + 600)
@pytest.mark.parametrize("example", _ALL, ids=[f"{v}/{s}" for v, s in _ALL])
def test_example_runs(example, example_runner, record_outcome):
    version, script = example
    skip = compat.SKIPS.get(version, {}).get(script)
    if skip is not None:
        record_outcome(compat.Outcome(version, script, "skipped", skip[1], skip[0]))
        pytest.skip(f"{skip[0]}: {skip[1]}")
    outcome = example_runner.outcome(version, script)
    record_outcome(outcome)
    if outcome.status == "failed":
        pytest.fail(f"{outcome.detail}\n(logs: {outcome.run_dir})", pytrace=False)


@pytest.mark.parametrize("version", sorted(compat.EXAMPLES))
def test_manifest_matches_wheel(version):
    """EXAMPLES lists exactly the wheel's example scripts, and every skip names one of them
    with a known category and a reason."""
    sources = compat.read_examples(compat.ensure_wheel(version))
    assert compat.scripts_in(sources) == sorted(compat.EXAMPLES[version])
    for script, (category, reason) in compat.SKIPS[version].items():
        assert script in compat.EXAMPLES[version], script
        assert category in compat.SKIP_CATEGORIES, (script, category)
        assert reason.strip(), script


def test_last_exception_takes_the_final_traceback():
    stderr = (
        "Traceback (most recent call last):\n"
        '  File "a.py", line 1, in <module>\n'
        "KeyError: 'x'\n\n"
        "During handling of the above exception, another exception occurred:\n\n"
        "Traceback (most recent call last):\n"
        '  File "a.py", line 3, in <module>\n'
        "    tune.run(f)\n"
        "tunelab.TuneError: ('Trials did not complete', [f_1])\n"
    )
    assert compat.last_exception(stderr) == "tunelab.TuneError: ('Trials did not complete', [f_1])"
    assert compat.last_exception("no traceback here\n") is None


def test_script_args_follow_what_the_script_defines():
    assert compat.script_args("1.13.0", "x.py", 'p.add_argument("--smoke-test")') == [
        "--smoke-test"
    ]
    assert compat.script_args("0.8.7", "x.py", "p.add_argument('--smoke_test')") == ["--smoke_test"]
    assert compat.script_args("2.60.0", "x.py", "parser.parse_args()") == []
    assert compat.script_args("1.13.0", "wandb_example.py", "") == ["--mock-api"]


def test_summary_counts_and_pass_rate():
    outcomes = [
        compat.Outcome("1.13.0", "a.py", "passed"),
        compat.Outcome("1.13.0", "b.py", "failed", "KeyError: 'x'"),
        compat.Outcome("1.13.0", "c.py", "skipped", "needs RLlib", "rllib"),
        compat.Outcome("1.13.0", "d.py", "passed"),
    ]
    totals = compat.summarize(outcomes)["1.13.0"]
    assert (totals["passed"], totals["failed"], totals["skipped"]) == (2, 1, 1)
    assert totals["skipped_by_category"] == {"rllib": 1}
    assert totals["pass_rate"] == pytest.approx(2 / 3)
    report = compat.format_report(outcomes)
    assert "| b.py | FAILED (0 s) | KeyError: 'x' |" in report
    assert "pass rate 67% (2/3)" in report


def _generation(tmp_path, scripts):
    source_dir = tmp_path / "ported"
    source_dir.mkdir()
    for name, text in scripts.items():
        (source_dir / name).write_text(text, encoding="utf-8")
    return compat.Generation("9.9.9", source_dir, tuple(scripts), {})


_TRAIN = """
import tunelab as tune

def train(config):
    if config["fail"]:
        raise ValueError("boom in the trial")
    tune.report(score=1)
"""


def test_run_example_judges_exit_status_and_errored_trials(tmp_path):
    """A script passes only when it exits 0 and no trial errored; a failure says why."""
    generation = _generation(
        tmp_path,
        {
            "ok.py": _TRAIN + 'tune.run(train, config={"fail": False})\n',
            "errored.py": _TRAIN
            + 'tune.run(train, config={"fail": True}, raise_on_failed_trial=False)\n',
            "crash.py": "import sys\nprint('about to fail', file=sys.stderr)\n{}['missing']\n",
            "hang.py": "import time\ntime.sleep(60)\n",
        },
    )
    work = tmp_path / "work"
    ok = compat.run_example(generation, "ok.py", work)
    assert (ok.status, ok.detail) == ("passed", "")
    errored = compat.run_example(generation, "errored.py", work)
    assert errored.status == "failed"
    assert errored.detail.startswith("errored trial in results/")
    assert "ValueError: boom in the trial" in errored.detail
    crash = compat.run_example(generation, "crash.py", work)
    assert (crash.status, crash.detail) == ("failed", "KeyError: 'missing'")
    hang = compat.run_example(generation, "hang.py", work, timeout_s=1)
    assert (hang.status, hang.detail) == ("failed", "timed out after 1 s")


def test_run_example_isolates_home_and_results(tmp_path):
    """Scripts see their own HOME and results directory, and their directory on sys.path."""
    script = (
        "import os, sys\n"
        "import helper\n"
        "print(os.environ['HOME'], os.environ['TUNELAB_RESULTS_DIR'], helper.NAME)\n"
    )
    generation = _generation(tmp_path, {"main.py": script, "helper.py": "NAME = 'sibling'\n"})
    outcome = compat.run_example(generation, "main.py", tmp_path / "work")
    assert outcome.status == "passed", outcome.detail
    assert outcome.run_dir is not None
    home, results, name = (Path(outcome.run_dir) / "stdout.txt").read_text().split()
    assert home == f"{outcome.run_dir}/home"
    assert results == f"{outcome.run_dir}/results"
    assert name == "sibling"
