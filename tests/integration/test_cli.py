"""The ``tunelab`` command line, run as a subprocess against real experiments."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import tunelab as tune
from tunelab.air import session
from tunelab.execution import InProcessExecutor

SCRIPT = Path(sys.executable).parent / "tunelab"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "tunelab._frontdoor.cli"]


def tunelab(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [*COMMAND, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "TUNELAB_VERBOSE": "1", **(env or {})},
        timeout=100,
    )


def assert_one_line_error(result: Any, command: str, *words: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"tunelab {command}: error: ")
    for word in words:
        assert word in lines[0]


def train(config: dict[str, Any]) -> None:
    for step in range(1, 4):
        session.report({"mean_accuracy": config["lr"] * step, "score": step * config["width"]})


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    tune.run(
        train,
        name="exp",
        config={"lr": tune.grid_search([0.01, 0.1, 0.2]), "width": tune.grid_search([1, 2])},
        metric="mean_accuracy",
        mode="max",
        storage_path=str(root),
        verbose=0,
        executor=InProcessExecutor(),
    )
    (root / "empty_exp").mkdir()
    return root


def table_rows(stdout: str) -> list[list[str]]:
    rows = [line for line in stdout.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


# -- --help everywhere ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        [],
        ["ls"],
        ["list-trials"],
        ["lsx"],
        ["list-experiments"],
        ["plot"],
        ["run"],
        ["dashboard"],
        ["add-note"],
        ["demo"],
    ],
)
def test_help_of_every_command(command: list[str]) -> None:
    result = tunelab(*command, "--help")
    assert result.returncode == 0, result.stderr
    aliases = {"list-trials": "ls", "list-experiments": "lsx"}
    shown = [aliases.get(c, c) for c in command]
    assert result.stdout.startswith(f"usage: tunelab {' '.join(shown)}".rstrip())
    assert "``" not in result.stdout and ":class:" not in result.stdout  # no reST markup


def test_version_and_no_command() -> None:
    assert tunelab("--version").stdout.strip() == tune.__version__
    result = tunelab()
    assert result.returncode == 0 and "COMMAND" in result.stdout


# -- ls -------------------------------------------------------------------------------------
def test_ls_default_columns(project: Path) -> None:
    result = tunelab("ls", str(project / "exp"))
    assert result.returncode == 0, result.stderr
    header, *rows = table_rows(result.stdout)
    assert header == [
        "trainable_name",
        "experiment_tag",
        "trial_id",
        "status",
        "training_iteration",
        "time_total_s",
        "mean_accuracy",
        "config/lr",
        "config/width",
    ]  # mean_loss is empty: left out
    assert len(rows) == 6
    assert {row[3] for row in rows} == {"TERMINATED"}
    assert {row[4] for row in rows} == {"3"}


def test_ls_sort_desc_limit_columns(project: Path) -> None:
    args = ["--sort", "mean_accuracy", "--limit", "2", "--columns", "config/lr,mean_accuracy"]
    result = tunelab("ls", str(project / "exp"), "--desc", *args)
    header, *rows = table_rows(result.stdout)
    assert header == ["config/lr", "mean_accuracy"]
    assert [row[0] for row in rows] == ["0.2", "0.2"]
    ascending = table_rows(tunelab("ls", str(project / "exp"), *args, "--desc", "false").stdout)
    assert [row[0] for row in ascending[1:]] == ["0.01", "0.01"]
    ray_style = table_rows(tunelab("ls", str(project / "exp"), *args, "--desc", "True").stdout)
    assert ray_style == [header, *rows]


def test_ls_filter(project: Path) -> None:
    exp = str(project / "exp")
    rows = table_rows(tunelab("ls", exp, "--filter", "config/lr >= 0.1").stdout)[1:]
    assert len(rows) == 4
    rows = table_rows(
        tunelab("ls", exp, "--filter", "config/lr>=0.1", "--filter", "score == 6").stdout
    )[1:]
    assert len(rows) == 2
    rows = table_rows(tunelab("ls", exp, "--filter", "status != TERMINATED").stdout)
    assert rows == []


def test_ls_takes_the_progress_tables_short_names(project: Path) -> None:
    """The live table shows mean_accuracy as "acc": the README's `--filter "acc > 0.9"`
    works on what the user saw."""
    exp = str(project / "exp")
    by_alias = tunelab("ls", exp, "--filter", "acc > 0.5", "--sort", "acc", "--columns", "acc")
    by_name = tunelab(
        "ls",
        exp,
        "--filter",
        "mean_accuracy > 0.5",
        "--sort",
        "mean_accuracy",
        "--columns",
        "mean_accuracy",
    )
    assert by_alias.returncode == 0, by_alias.stderr
    assert table_rows(by_alias.stdout) == table_rows(by_name.stdout)
    assert table_rows(by_alias.stdout)[0] == ["mean_accuracy"]
    assert len(table_rows(by_alias.stdout)) > 1
    unknown = tunelab("ls", exp, "--sort", "accuracy")
    assert unknown.returncode != 0 and "unknown column(s) ['accuracy']" in unknown.stderr


def test_ls_output_csv_and_pickle(project: Path, tmp_path: Path) -> None:
    exp = str(project / "exp")
    csv_path = tmp_path / "x.csv"
    result = tunelab("ls", exp, "--sort", "score", "--output", str(csv_path))
    assert result.returncode == 0
    assert f"Output saved at {csv_path}" in result.stdout
    frame = pd.read_csv(csv_path)
    assert len(frame) == 6 and "config/lr" in frame.columns
    assert list(frame["trial_id"]) == [row[2] for row in table_rows(result.stdout)[1:]]
    pkl_path = tmp_path / "x.pkl"
    assert tunelab("ls", exp, "-o", str(pkl_path), "--limit", "3").returncode == 0
    assert len(pd.read_pickle(pkl_path)) == 3


# -- lsx ------------------------------------------------------------------------------------
def test_lsx_lists_experiments(project: Path, tmp_path: Path) -> None:
    result = tunelab("lsx", str(project))
    assert result.returncode == 0, result.stderr
    header, *rows = table_rows(result.stdout)
    assert header == ["name", "total_trials", "last_updated"]
    assert [row[:2] for row in rows] == [["empty_exp", "0"], ["exp", "6"]]
    result = tunelab(
        "lsx",
        str(project),
        "--filter",
        "total_trials > 0",
        "--columns",
        "name",
        "--output",
        str(tmp_path / "p.csv"),
    )
    assert table_rows(result.stdout) == [["name"], ["exp"]]
    assert list(pd.read_csv(tmp_path / "p.csv")["name"]) == ["exp"]


# -- plot -----------------------------------------------------------------------------------
def test_plot_writes_three_pngs(project: Path, tmp_path: Path) -> None:
    result = tunelab("plot", str(project / "exp"), "--output-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for name in ("learning_curves.png", "parallel_coordinates.png", "best_so_far.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    result = tunelab(
        "plot", str(project / "exp"), "--metric", "score", "--kind", "curves", "--output-dir",
        str(tmp_path / "one"),
    )  # fmt: skip
    assert result.returncode == 0
    assert os.listdir(tmp_path / "one") == ["learning_curves.png"]


# -- run ------------------------------------------------------------------------------------
TRAINABLES = """
from tunelab.air import session

def train(config):
    for i in range(3):
        session.report({"mean_accuracy": config["lr"] * (i + 1)})

def broken(config):
    raise RuntimeError("this trainable fails")
"""


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "my_trainables.py").write_text(TRAINABLES)
    return tmp_path


def test_run_yaml_spec(spec_dir: Path) -> None:
    spec = textwrap.dedent(
        """\
        yaml_exp:
          run: my_trainables:train
          stop: {training_iteration: 2}
          config:
            lr: {grid_search: [0.1, 0.2]}
          storage_path: results
        """
    )
    (spec_dir / "specs" / "spec.yaml").write_text(spec)
    result = tunelab("run", "specs/spec.yaml", "--verbose", "1", cwd=spec_dir)
    assert result.returncode == 0, result.stderr
    assert "2 trials (2 TERMINATED); results in" in result.stdout
    assert "\x1b[" not in result.stdout  # not a terminal: no redrawing
    listed = tunelab("ls", str(spec_dir / "results" / "yaml_exp"))  # relative to the cwd
    rows = table_rows(listed.stdout)[1:]
    assert sorted(row[4] for row in rows) == ["2", "2"]


def test_run_json_spec_with_registered_style_dotted_name(spec_dir: Path) -> None:
    spec = {
        "json_exp": {
            "run": "my_trainables.train",
            "num_samples": 2,
            "config": {"lr": 0.5},
            "storage_path": str(spec_dir / "out"),
        }
    }
    (spec_dir / "specs" / "spec.json").write_text(json.dumps(spec))
    result = tunelab("run", str(spec_dir / "specs" / "spec.json"), "--verbose", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("2 trials (2 TERMINATED)")
    assert len(list((spec_dir / "out" / "json_exp").glob("train_*/result.json"))) == 2


def test_run_with_a_failing_trial_exits_1(spec_dir: Path) -> None:
    spec = {"bad": {"run": "my_trainables:broken", "storage_path": str(spec_dir / "out")}}
    (spec_dir / "specs" / "bad.json").write_text(json.dumps(spec))
    result = tunelab(
        "run", str(spec_dir / "specs" / "bad.json"), "--verbose", "0",
        env={"TUNELAB_PRINT_ALL_TRIAL_ERRORS": "0"},
    )  # fmt: skip
    assert result.returncode == 1
    assert_one_line_error(result, "run", "1 trial(s) failed", "error.txt")


def read_terminal(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> bytes:
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*COMMAND, *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        close_fds=True,
        env={**os.environ, **(env or {})},
    )
    os.close(slave)
    output = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                break
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            output += data
    finally:
        os.close(master)
        process.wait(timeout=60)
    assert process.returncode == 0, output.decode(errors="replace")
    return output


def test_run_on_a_terminal_redraws_with_a_progress_bar(spec_dir: Path) -> None:
    spec = {"tty_exp": {"run": "my_trainables:train", "config": {"lr": 0.1}, "num_samples": 2}}
    (spec_dir / "specs" / "tty.json").write_text(
        json.dumps({k: {**v, "storage_path": str(spec_dir / "tty")} for k, v in spec.items()})
    )
    output = read_terminal(["run", "specs/tty.json", "--verbose", "1"], spec_dir).decode()
    assert "0/2 trials finished" in output  # the first frame
    assert "\x1b[J" in output  # erased in place
    assert f"[{'#' * 30}] 2/2 trials finished" in output.split("\x1b[J")[-1]


def test_ls_on_a_narrow_terminal_leaves_columns_out(project: Path) -> None:
    output = read_terminal(["ls", str(project / "exp")], project, {"COLUMNS": "70"}).decode()
    lines = output.replace("\r\n", "\n").splitlines()
    table = [line for line in lines if line.startswith(("|", "+"))]
    assert table and all(len(line) <= 70 for line in table)
    assert lines[-1].startswith("Columns left out to fit the terminal: ")
    assert "config/width" in lines[-1]


# -- add-note and dashboard -----------------------------------------------------------------
def test_add_note_runs_the_editor(project: Path, tmp_path: Path) -> None:
    editor = f"{sys.executable} -c \"import sys; open(sys.argv[1], 'a').write('a note')\""
    result = tunelab("add-note", str(tmp_path), env={"EDITOR": editor})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "note.txt").read_text() == "a note"
    result = tunelab("add-note", str(tmp_path), "--filename", "n2.md", env={"EDITOR": editor})
    assert (tmp_path / "n2.md").read_text() == "a note"


def test_dashboard_serves_the_project(project: Path) -> None:
    import re
    import signal
    import urllib.request

    process = subprocess.Popen(
        [*COMMAND, "dashboard", str(project), "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/\S*)", line)
        assert match, line + (process.stderr.read() if process.stderr else "")
        with urllib.request.urlopen(match.group(1), timeout=30) as response:
            assert response.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors


# -- errors: one line, non-zero -------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "command", "words"),
    [
        (["ls", "{tmp}/missing"], "ls", ["missing", "does not exist"]),
        (["ls", "{exp}", "--sort", "nope"], "ls", ["--sort", "'nope'"]),
        (["ls", "{exp}", "--columns", "a,b"], "ls", ["--columns", "'a'"]),
        (["ls", "{exp}", "--filter", "score ~ 3"], "ls", ["--filter", "score ~ 3"]),
        (["ls", "{exp}", "--filter", "nope > 3"], "ls", ["'nope'"]),
        (["ls", "{exp}", "--output", "{tmp}/x.txt"], "ls", [".csv", "x.txt"]),
        (["ls", "{exp}", "--limit", "0"], "ls", ["--limit", ">= 1"]),
        (["ls"], "ls", ["EXPERIMENT_PATH"]),
        (["lsx", "{tmp}/missing"], "lsx", ["not a directory"]),
        (["plot", "{exp}", "--metric", "nope"], "plot", ["'nope'", "mean_accuracy"]),
        (["plot", "{tmp}/missing"], "plot", ["not an experiment directory"]),
        (["run", "{tmp}/missing.yaml"], "run", ["does not exist"]),
        (["run", "{tmp}/spec.txt"], "run", [".yaml", ".json"]),
        (["run", "{tmp}/bad.json"], "run", ["not valid JSON"]),
        (["run", "{tmp}/norun.json"], "run", ["'x'", "no 'run' key"]),
        (["run", "{tmp}/badmodule.json"], "run", ["cannot import", "no_such_module"]),
        (["run", "{tmp}/badkey.json"], "run", ["unknown key", "stopp"]),
        (["dashboard", "{tmp}/missing"], "dashboard", ["not a directory"]),
        (["dashboard", "--port", "99999"], "dashboard", ["port"]),
        (["add-note", "{tmp}/spec.txt"], "add-note", ["not a directory"]),
        (["nope"], "", ["invalid choice"]),
    ],
)
def test_errors_are_one_line(
    project: Path, tmp_path: Path, args: list[str], command: str, words: list[str]
) -> None:
    (tmp_path / "spec.txt").write_text("x")
    (tmp_path / "bad.json").write_text("{nope")
    (tmp_path / "norun.json").write_text(json.dumps({"x": {"config": {}}}))
    (tmp_path / "badmodule.json").write_text(json.dumps({"x": {"run": "no_such_module:f"}}))
    (tmp_path / "badkey.json").write_text(
        json.dumps({"x": {"run": "tunelab._frontdoor.demo:train_digits", "stopp": {}}})
    )
    filled = [a.format(tmp=tmp_path, exp=project / "exp") for a in args]
    result = tunelab(*filled)
    prefix = f"tunelab {command}".strip()
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{prefix}: error: ")
    for word in words:
        assert word in lines[0]


def test_demo_without_scikit_learn_names_the_extra(tmp_path: Path) -> None:
    """The demo's trials train scikit-learn models: without it, one line naming the extra
    and exit status 2 before any trial starts (it was a KeyError traceback)."""
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "sklearn.py").write_text("raise ImportError('scikit-learn is not installed')\n")
    result = subprocess.run(
        [sys.executable, "-m", "tunelab", "demo", "--storage-path", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(blocked)},
        timeout=100,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "tunelab demo: error: tunelab demo needs the optional package 'sklearn'; install it "
        'with: pip install "tunelab[demo]"'
    ]
    assert not (tmp_path / "out").exists()


def test_the_demo_runs_and_names_one_metric(tmp_path: Path) -> None:
    """The README's first command, small: it trains, and its summary names the metric as
    the status line does (mean_accuracy), saying what the table calls it."""
    pytest.importorskip("sklearn")
    args = ["demo", "--num-samples", "2", "--epochs", "2", "--verbose", "0"]
    result = tunelab(*args, "--storage-path", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("Best trial: train_digits_") for line in lines)
    assert any(
        re.fullmatch(r"  mean_accuracy: 0\.\d{4} \(validation accuracy; acc in the table\)", line)
        for line in lines
    ), result.stdout
    assert "Interrupted" not in result.stdout
    assert tunelab("ls", str(tmp_path / "digits_sgd"), "--filter", "acc > 0").returncode == 0
