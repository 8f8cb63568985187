"""Progress reporting: the status header, the trial table, rate bounding and verbosity."""

from __future__ import annotations

import re
import sys
import types
from typing import Any

import pytest

import tunelab as tune
import tunelab.progress
from tunelab._trial import Trial, TrialStatus
from tunelab.progress import (
    CLIReporter,
    JupyterNotebookReporter,
    ProgressReporter,
    TrialProgressCallback,
    default_progress_reporter,
    experiment_status_lines,
    trial_count_line,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_trial(
    i: int,
    status: TrialStatus = TrialStatus.RUNNING,
    result: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> Trial:
    params = {"lr": 0.01 * (i + 1), "layers": i % 3 + 1} if params is None else params
    trial = Trial(
        "train", trial_id=f"id{i:03d}", config=dict(params), evaluated_params=dict(params)
    )
    trial.status = status
    if result is not None:
        trial.update_last_result(result)
        trial.location = f"10.0.0.1:{4000 + i}"
    return trial


def standard_trials() -> list[Trial]:
    res = {"mean_accuracy": 0.9, "training_iteration": 4, "time_total_s": 12.5, "my_score": 3.5}
    return [
        make_trial(0, TrialStatus.RUNNING, res),
        make_trial(1, TrialStatus.TERMINATED, {**res, "mean_accuracy": 0.95}),
        make_trial(2, TrialStatus.PENDING),
    ]


def report_text(reporter: CLIReporter, trials: list[Trial], done: bool, capsys: Any) -> str:
    reporter.report(trials, done, *[])
    return str(capsys.readouterr().out)


def header_row(text: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith("| Trial name"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_progress_package_public_names() -> None:
    assert set(tunelab.progress.__all__) == {
        "DEFAULT_COLUMNS",
        "CLIReporter",
        "JupyterNotebookReporter",
        "ProgressReporter",
        "TrialProgressCallback",
        "TuneReporterBase",
        "default_progress_reporter",
        "experiment_status_lines",
        "in_notebook",
        "memory_usage_line",
        "resource_usage_line",
        "trial_count_line",
    }


# -- the status header ----------------------------------------------------------------------
def test_experiment_status_lines() -> None:
    trials = [*standard_trials(), make_trial(3, TrialStatus.RUNNING)]
    lines = experiment_status_lines(
        trials,
        experiment_path="/results/exp",
        scheduler_description="FIFO",
        resources_used={"CPU": 2.0, "GPU": 0},
        resources_total={"CPU": 2, "GPU": 0, "memory": 1e9},
        total_samples=10,
    )
    assert re.fullmatch(r"Memory usage on this node: \d+\.\d/\d+\.\d GiB.*", lines[0])
    assert lines[1:] == [
        "Using FIFO scheduling algorithm.",
        "Logical resource usage: 2.0/2 CPUs, 0/0 GPUs",
        "Result logdir: /results/exp",
        "Number of trials: 4/10 (2 RUNNING, 1 PENDING, 1 TERMINATED)",
    ]


def test_status_lines_keep_full_scheduler_sentences_and_custom_resources() -> None:
    lines = experiment_status_lines(
        [],
        experiment_path="/x",
        scheduler_description="AsyncHyperBand: num_stopped=0.",
        resources_used={"CPU": 0.5, "GPU": 0.5, "tpu": 1},
        resources_total={"CPU": 4.0, "GPU": 1.0, "tpu": 2},
    )
    assert lines[1] == "AsyncHyperBand: num_stopped=0."
    assert lines[2] == "Logical resource usage: 0.5/4 CPUs, 0.5/1 GPUs (1.0/2.0 tpu)"
    assert lines[4] == "Number of trials: 0"


def test_status_lines_keep_a_schedulers_own_description() -> None:
    """ASHA describes itself in lines starting with "Using ", without a final period."""
    scheduler = tune.schedulers.ASHAScheduler(metric="loss", mode="min")
    lines = experiment_status_lines(
        [],
        experiment_path="/x",
        scheduler_description=scheduler.debug_string(),
        resources_used={"CPU": 0},
        resources_total={"CPU": 1},
    )
    assert lines[1] == scheduler.debug_string().strip()
    assert "Using Using" not in "\n".join(lines)


def test_status_lines_show_pbts_own_line_as_it_is() -> None:
    lines = experiment_status_lines(
        [],
        experiment_path="/x",
        scheduler_description="PopulationBasedTraining: 8 checkpoints, 1 perturbs",
        resources_used={"CPU": 0},
        resources_total={"CPU": 1},
    )
    assert lines[1] == "PopulationBasedTraining: 8 checkpoints, 1 perturbs"


def test_the_table_and_best_line_show_the_config_a_scheduler_changed(capsys: Any) -> None:
    from tunelab.progress._table import best_trial_line

    trial = make_trial(0, TrialStatus.RUNNING, {"mean_accuracy": 0.9, "training_iteration": 4})
    trial.config = {"lr": 0.5, "layers": 1}  # a PBT exploit: the sampled lr was 0.01
    text = report_text(CLIReporter(metric_columns=["mean_accuracy"]), [trial], False, capsys)
    assert "0.5" in text and "0.01" not in text
    line = best_trial_line([trial], "mean_accuracy", "max")
    assert line is not None and "'lr': 0.5" in line


# -- the trial table ------------------------------------------------------------------------
def test_table_has_name_status_loc_params_metrics_iter_time(capsys: Any) -> None:
    reporter = CLIReporter()
    text = report_text(reporter, standard_trials(), True, capsys)
    assert header_row(text) == [
        "Trial name",
        "status",
        "loc",
        "lr",
        "layers",
        "my_score",
        "acc",
        "iter",
        "total time (s)",
    ]
    assert re.search(r"\| train_id000 +\| RUNNING +\| 10\.0\.0\.1:4000 +\|", text)
    assert "Number of trials: 3 (1 RUNNING, 1 PENDING, 1 TERMINATED)" in text


def test_metric_and_parameter_columns_as_list_or_dict(capsys: Any) -> None:
    reporter = CLIReporter(
        metric_columns={"mean_accuracy": "Accuracy", "training_iteration": "it"},
        parameter_columns=["lr"],
    )
    assert header_row(report_text(reporter, standard_trials(), True, capsys)) == [
        "Trial name",
        "status",
        "loc",
        "lr",
        "Accuracy",
        "it",
    ]
    reporter.add_metric_column("my_score", "score")
    reporter.add_parameter_column("layers")
    assert header_row(report_text(reporter, standard_trials(), True, capsys))[-3:] == [
        "Accuracy",
        "it",
        "score",
    ]
    with pytest.raises(ValueError, match="my_score"):
        reporter.add_metric_column("my_score")


def test_metric_given_to_setup_comes_first_and_best_trial_is_shown(capsys: Any) -> None:
    reporter = CLIReporter()
    reporter.setup(metric="my_score", mode="max")
    trials = standard_trials()
    trials[1].update_last_result({"my_score": 7.0})
    text = report_text(reporter, trials, True, capsys)
    assert header_row(text)[5] == "my_score"
    assert (
        "Current best trial: id001 with my_score=7 and parameters={'lr': 0.02, 'layers': 2}" in text
    )


def test_long_column_names_and_values_are_shortened(capsys: Any) -> None:
    params = {"model/encoder/hidden_width": "a-very-long-string-value-indeed"}
    reporter = CLIReporter(max_column_length=12)
    text = report_text(reporter, [make_trial(0, params=params)], True, capsys)
    assert "...den_width" in header_row(text)
    assert "...ue-indeed" in text and "a-very-long" not in text


def test_rows_are_cut_keeping_running_and_errored_trials_visible(capsys: Any) -> None:
    res = {"mean_accuracy": 0.5}
    trials = [make_trial(i, TrialStatus.TERMINATED, res) for i in range(20)]
    trials += [make_trial(20, TrialStatus.ERROR, res), make_trial(21, TrialStatus.RUNNING, res)]
    trials += [make_trial(22 + i, TrialStatus.PENDING) for i in range(5)]
    reporter = CLIReporter(max_progress_rows=4, print_intermediate_tables=True)
    text = report_text(reporter, trials, False, capsys).split("Number of errored trials")[0]
    rows = [line for line in text.splitlines() if line.startswith("| train_")]
    statuses = [row.split("|")[2].strip() for row in rows]
    assert statuses == ["RUNNING", "ERROR", "PENDING", "PENDING"]
    assert "... 23 more trials not shown (3 PENDING, 20 TERMINATED)" in text
    final = report_text(reporter, trials, True, capsys).split("Number of errored trials")[0]
    assert len([line for line in final.splitlines() if line.startswith("| train_")]) == 27


def test_sort_by_metric_orders_rows_best_first(capsys: Any) -> None:
    trials = [
        make_trial(i, TrialStatus.TERMINATED, {"mean_loss": loss})
        for i, loss in enumerate([0.5, 0.1, 0.3])
    ]
    reporter = CLIReporter(metric="mean_loss", mode="min", sort_by_metric=True)
    text = report_text(reporter, trials, True, capsys)
    names = re.findall(r"\| (train_id\d+)", text)
    assert names == ["train_id001", "train_id002", "train_id000"]


def test_error_table_lists_error_files(capsys: Any) -> None:
    trials = standard_trials()
    broken = make_trial(9, TrialStatus.ERROR)
    broken.error_file, broken.num_failures = "/results/exp/train_id009/error.txt", 2
    text = report_text(CLIReporter(), [*trials, broken], True, capsys)
    assert "Number of errored trials: 1" in text
    assert re.search(r"\| train_id009 +\| +2 \| /results/exp/train_id009/error.txt", text)


# -- when and how much ----------------------------------------------------------------------
def test_should_report_at_most_once_per_max_report_frequency() -> None:
    clock = FakeClock()
    reporter = CLIReporter(max_report_frequency=5, clock=clock)
    trials = standard_trials()
    assert reporter.should_report(trials)
    clock.now += 4.9
    assert not reporter.should_report(trials)
    assert reporter.should_report(trials, done=True)
    clock.now += 4.9
    assert not reporter.should_report(trials)
    clock.now += 0.1
    assert reporter.should_report(trials)


def test_intermediate_tables_follow_verbosity_but_final_table_always_shows(capsys: Any) -> None:
    quiet = CLIReporter()
    quiet.setup(verbose=1)
    text = report_text(quiet, standard_trials(), False, capsys)  # not a terminal: one line
    assert re.fullmatch(r"== 1 done, 1 running, 1 pending, 0 errored \| [\d:.]+ ==\n", text)
    assert "Trial name" in report_text(quiet, standard_trials(), True, capsys)
    detailed = CLIReporter()
    detailed.setup(verbose=3)
    assert "Trial name" in report_text(detailed, standard_trials(), False, capsys)
    forced = CLIReporter(print_intermediate_tables=True)
    forced.setup(verbose=1)
    assert "Trial name" in report_text(forced, standard_trials(), False, capsys)


def test_verbose_zero_reporter_prints_nothing(capsys: Any) -> None:
    reporter = default_progress_reporter(0)
    reporter.report(standard_trials(), True)
    assert capsys.readouterr().out == ""


def test_sys_info_lines_are_printed_under_the_status_title(capsys: Any) -> None:
    reporter = CLIReporter()
    reporter.report(standard_trials(), True, "Line one", "Number of trials: 3/3")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "== Status =="
    assert lines[1].startswith("Current time: ")
    assert lines[2:4] == ["Line one", "Number of trials: 3/3"]
    assert sum(line.startswith("Number of trials") for line in lines) == 1


# -- validation -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"max_progress_rows": 0}, ValueError, "max_progress_rows.*>= 1.*0"),
        ({"max_error_rows": -1}, ValueError, "max_error_rows.*-1"),
        ({"max_column_length": "20"}, ValueError, "max_column_length.*'20'"),
        ({"max_report_frequency": -1}, ValueError, "max_report_frequency.*-1"),
        ({"infer_limit": 1.5}, ValueError, "infer_limit.*1.5"),
        ({"mode": "best"}, ValueError, "mode.*'best'"),
        ({"metric": 3}, TypeError, "metric.*3"),
        ({"metric_columns": 5}, TypeError, "metric_columns.*5"),
        ({"parameter_columns": [1]}, TypeError, "parameter_columns.*1"),
        ({"print_intermediate_tables": "yes"}, TypeError, "print_intermediate_tables.*'yes'"),
        ({"total_samples": -2}, ValueError, "total_samples.*-2"),
    ],
)
def test_reporter_arguments_are_validated(kwargs: Any, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        CLIReporter(**kwargs)


def test_conflicting_search_properties_are_rejected() -> None:
    reporter = CLIReporter(metric="loss", mode="min")
    assert reporter.set_search_properties("loss", "min")
    with pytest.raises(ValueError, match="'acc'"):
        reporter.set_search_properties("acc", "max")


def test_reporters_are_progress_reporters_and_take_keywords_only() -> None:
    assert isinstance(CLIReporter(), ProgressReporter)
    with pytest.raises(TypeError):
        CLIReporter(["loss"])  # type: ignore[misc]
    with pytest.raises(TypeError, match="overwrite"):
        JupyterNotebookReporter(overwrite="yes")  # type: ignore[arg-type]


# -- notebooks ------------------------------------------------------------------------------
def fake_ipython(monkeypatch: pytest.MonkeyPatch, shell_name: str) -> list[Any]:
    calls: list[Any] = []
    shell = type(shell_name, (), {})()
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell  # type: ignore[attr-defined]
    display = types.ModuleType("IPython.display")
    display.HTML = lambda text: ("HTML", text)  # type: ignore[attr-defined]

    class Handle:
        def update(self, obj: Any) -> None:
            calls.append(("update", obj))

    def show(obj: Any, display_id: bool = False) -> Any:
        calls.append(obj)
        return Handle() if display_id else None

    display.display = show  # type: ignore[attr-defined]
    display.clear_output = lambda wait=False: calls.append(("clear", wait))  # type: ignore[attr-defined]
    ipython.display = display  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    return calls


def test_default_reporter_picks_jupyter_inside_a_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    assert type(default_progress_reporter(1)) is CLIReporter
    fake_ipython(monkeypatch, "TerminalInteractiveShell")
    assert type(default_progress_reporter(1)) is CLIReporter
    monkeypatch.delitem(sys.modules, "IPython")
    fake_ipython(monkeypatch, "ZMQInteractiveShell")
    assert type(default_progress_reporter(1)) is JupyterNotebookReporter
    with pytest.raises(ValueError, match=r"verbose.*4"):
        default_progress_reporter(4)


def test_jupyter_reporter_updates_one_output(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_ipython(monkeypatch, "ZMQInteractiveShell")
    reporter = JupyterNotebookReporter(total_samples=4)
    reporter.report(standard_trials(), False, "a <b> line")
    reporter.report(standard_trials(), True, "a <b> line")
    assert [c[0] for c in calls] == ["HTML", "update"]  # no clear_output: other output stays
    kind, text = calls[0]
    assert kind == "HTML" and "a &lt;b&gt; line<br>" in text
    assert '<progress value="1" max="4"></progress> 1/4 trials finished' in text
    _, (kind, final) = calls[1]
    assert kind == "HTML" and "<table>" in final
    calls.clear()
    reporter.setup(verbose=3)  # a new experiment: a new output
    reporter.report(standard_trials(), True)
    JupyterNotebookReporter(overwrite=False).report(standard_trials(), True)
    JupyterNotebookReporter(overwrite=False).report(standard_trials(), True)
    assert [c[0] for c in calls] == ["HTML", "HTML", "HTML"]


# -- per-trial lines ------------------------------------------------------------------------
def run_trial_events(callback: TrialProgressCallback, clock: FakeClock) -> None:
    trial = make_trial(0, TrialStatus.RUNNING)
    other = make_trial(1, TrialStatus.RUNNING)
    trials = [trial, other]
    callback.on_trial_start(iteration=0, trials=trials, trial=trial)
    for i in range(1, 11):  # 10 results, 1 s apart
        res = {"acc": 0.5 + i / 100, "training_iteration": i, "time_total_s": float(i)}
        trial.update_last_result(res)
        callback.on_trial_result(iteration=i, trials=trials, trial=trial, result=res)
        clock.now += 1.0
    trial.status = TrialStatus.TERMINATED
    callback.on_trial_complete(iteration=11, trials=trials, trial=trial)
    other.error_file = "/x/error.txt"
    callback.on_trial_error(iteration=12, trials=trials, trial=other)


@pytest.mark.parametrize("verbose", [0, 1])
def test_trial_lines_silent_below_verbose_2(verbose: int, capsys: Any) -> None:
    run_trial_events(TrialProgressCallback(verbose, clock=FakeClock()), FakeClock())
    assert capsys.readouterr().out == ""


def test_trial_lines_at_verbose_2_one_per_start_and_end(capsys: Any) -> None:
    clock = FakeClock()
    run_trial_events(TrialProgressCallback(2, clock=clock), clock)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0] == "Trial train_id000 started with configuration: {'lr': 0.01, 'layers': 1}"
    assert re.fullmatch(
        r"Trial train_id000 completed after 10 iterations at \S+ \S+ with result: acc=0\.6",
        lines[1],
    )
    assert lines[2].startswith("Trial train_id001 errored after 0 iterations at ")
    assert lines[2].endswith("Error file: /x/error.txt")


def test_trial_result_lines_at_verbose_3_are_throttled_per_trial(capsys: Any) -> None:
    clock = FakeClock()
    run_trial_events(TrialProgressCallback(3, clock=clock), clock)
    reported = [line for line in capsys.readouterr().out.splitlines() if " reported " in line]
    # results at t=0..9 s: printed at 0 and 5 only
    assert reported == [
        "Trial train_id000 reported acc=0.51 at iteration 1.",
        "Trial train_id000 reported acc=0.56 at iteration 6.",
    ]


def test_trial_progress_callback_validates_verbose() -> None:
    with pytest.raises(ValueError, match=r"verbose.*'high'"):
        TrialProgressCallback("high")  # type: ignore[arg-type]


def test_trial_count_line_orders_states_by_lifecycle() -> None:
    trials = [
        make_trial(0, TrialStatus.ERROR),
        make_trial(1, TrialStatus.PENDING),
        make_trial(2, TrialStatus.RUNNING),
    ]
    assert trial_count_line(trials) == "Number of trials: 3 (1 RUNNING, 1 PENDING, 1 ERROR)"


def test_nothing_is_built_for_a_report_at_verbose_0() -> None:
    from tunelab.progress import default_progress_reporter

    quiet = default_progress_reporter(0)
    assert not quiet.should_report([], done=True) and not quiet.should_report([])
    assert default_progress_reporter(1).should_report([], done=True)
