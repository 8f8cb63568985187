"""Ray Tune's example scripts of three generations, ported with tunelab's porter, run to the
end with no errored trial (see ``compat_examples.py`` for how each is run and judged, and
``SKIPS`` there for the scripts not run, each with its reason)."""

from __future__ import annotations

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
