"""Callbacks and the file loggers: what lands on disk, and when."""

from __future__ import annotations

import csv
import json
import math
import pickle
from pathlib import Path
from typing import Any

import pytest

import tunelab.logger
from tunelab._callback import Callback, CallbackList
from tunelab._trial import Trial
from tunelab.logger import (
    DEFAULT_LOGGERS,
    CSVLogger,
    CSVLoggerCallback,
    JsonLogger,
    JsonLoggerCallback,
    LegacyLoggerCallback,
    Logger,
    LoggerCallback,
    NoopLogger,
    UnifiedLogger,
    pretty_print,
    tbx_available,
)


def make_trial(root: Path, name: str = "t1", config: dict[str, Any] | None = None) -> Trial:
    return Trial(
        "train",
        trial_id=name,
        config={"lr": 0.1, "model": {"layers": 2}} if config is None else config,
        experiment_path=str(root),
        dirname=f"train_{name}",
    )


def result(trial: Trial, i: int, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"loss": 1.0 / i, "training_iteration": i, "trial_id": trial.trial_id}
    out.update(extra)
    out["config"] = dict(trial.config)  # a fresh dict, as results from a worker have
    return out


def drive(cb: Callback, trial: Trial, results: list[dict[str, Any]], end: bool = True) -> None:
    trials = [trial]
    cb.on_trial_start(iteration=0, trials=trials, trial=trial)
    for i, res in enumerate(results):
        cb.on_trial_result(iteration=i, trials=trials, trial=trial, result=res)
    cb.on_step_end(iteration=len(results), trials=trials)
    if end:
        cb.on_trial_complete(iteration=len(results), trials=trials, trial=trial)


def read_lines(path: str) -> list[str]:
    return Path(path).read_text().splitlines()


def read_csv(path: str) -> list[list[str]]:
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


# -- public names ---------------------------------------------------------------------------
def test_logger_package_public_names() -> None:
    assert set(tunelab.logger.__all__) == {
        "DEFAULT_LOGGERS",
        "CSVLogger",
        "CSVLoggerCallback",
        "JsonLogger",
        "JsonLoggerCallback",
        "LegacyLoggerCallback",
        "Logger",
        "LoggerCallback",
        "NoopLogger",
        "TBXLogger",
        "TBXLoggerCallback",
        "UnifiedLogger",
        "pretty_print",
        "tbx_available",
    }


# -- Callback / CallbackList ----------------------------------------------------------------
class Recorder(Callback):
    def __init__(self, tag: str, log: list[tuple[str, str, dict[str, Any]]]) -> None:
        self.tag, self.log = tag, log

    def on_trial_result(self, iteration: int, trials: Any, trial: Any, result: Any, **info: Any):
        self.log.append((self.tag, "result", {"iteration": iteration, "result": result, **info}))

    def on_step_end(self, iteration: int, trials: Any, **info: Any) -> None:
        self.log.append((self.tag, "step_end", {"iteration": iteration}))

    def get_state(self) -> dict[str, Any]:
        return {"tag": self.tag}

    def set_state(self, state: dict[str, Any]) -> None:
        self.tag = "restored-" + state["tag"]


class OnlyStart(Callback):
    def __init__(self) -> None:
        self.started: list[str] = []

    def on_trial_start(self, iteration: int, trials: Any, trial: Any, **info: Any) -> None:
        self.started.append(str(trial))


def test_callback_list_calls_callbacks_in_order_with_keywords(tmp_path: Path) -> None:
    log: list[tuple[str, str, dict[str, Any]]] = []
    callbacks = CallbackList([Recorder("a", log), OnlyStart(), Recorder("b", log)])
    trial = make_trial(tmp_path)
    callbacks.on_trial_result(iteration=3, trials=[trial], trial=trial, result={"x": 1}, extra=7)
    callbacks.on_step_end(iteration=3, trials=[trial])
    assert [(tag, hook) for tag, hook, _ in log] == [
        ("a", "result"),
        ("b", "result"),
        ("a", "step_end"),
        ("b", "step_end"),
    ]
    assert log[0][2] == {"iteration": 3, "result": {"x": 1}, "extra": 7}


def test_callback_list_rejects_non_callbacks() -> None:
    with pytest.raises(TypeError, match=r"callbacks.*'not a callback'"):
        CallbackList(["not a callback"])  # type: ignore[list-item]


def test_callback_list_state_round_trip_keeps_owners_apart() -> None:
    first = CallbackList([Recorder("a", []), OnlyStart(), Recorder("b", [])])
    state = first.get_state()
    assert state is not None and len(state) == 2
    second = CallbackList([Recorder("x", []), OnlyStart(), Recorder("y", [])])
    second.set_state(state)
    tags = [cb.tag for cb in second if isinstance(cb, Recorder)]
    assert tags == ["restored-a", "restored-b"]
    assert CallbackList([OnlyStart()]).get_state() is None


def test_logger_callback_maps_hooks_to_log_methods(tmp_path: Path) -> None:
    calls: list[Any] = []

    class Rec(LoggerCallback):
        def log_trial_start(self, trial: Trial) -> None:
            calls.append(("start", str(trial)))

        def log_trial_result(self, iteration: int, trial: Trial, result: dict[str, Any]) -> None:
            calls.append(("result", iteration, result["loss"]))

        def log_trial_save(self, trial: Trial) -> None:
            calls.append(("save",))

        def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
            calls.append(("end", failed))

    trial = make_trial(tmp_path)
    rec = Rec()
    rec.on_trial_start(iteration=0, trials=[trial], trial=trial)
    rec.on_trial_result(iteration=1, trials=[trial], trial=trial, result={"loss": 0.5})
    rec.on_trial_save(iteration=1, trials=[trial], trial=trial)
    rec.on_trial_complete(iteration=2, trials=[trial], trial=trial)
    rec.on_trial_error(iteration=3, trials=[trial], trial=trial)
    assert calls == [
        ("start", "train_t1"),
        ("result", 1, 0.5),
        ("save",),
        ("end", False),
        ("end", True),
    ]


# -- JSON -----------------------------------------------------------------------------------
def test_json_lines_are_exactly_json_dumps_of_each_result(tmp_path: Path) -> None:
    trial = make_trial(tmp_path)
    results = [result(trial, i, acc=i / 10, tag='a,b"c', flag=i % 2 == 0) for i in range(1, 6)]
    drive(JsonLoggerCallback(), trial, results)
    lines = read_lines(f"{trial.local_path}/result.json")
    assert lines == [json.dumps(r) for r in results]


def test_json_result_dict_is_left_as_it_was(tmp_path: Path) -> None:
    trial = make_trial(tmp_path)
    res = result(trial, 1)
    config = res["config"]
    before = list(res.items())
    drive(JsonLoggerCallback(), trial, [res])
    assert list(res.items()) == before and res["config"] is config


def test_json_follows_config_changes_within_a_trial(tmp_path: Path) -> None:
    trial = make_trial(tmp_path, config={"lr": 0.1})
    shared = {"lr": 0.1}
    first = {"loss": 1.0, "config": shared}
    logger = JsonLoggerCallback()
    logger.on_trial_start(iteration=0, trials=[trial], trial=trial)
    logger.on_trial_result(iteration=0, trials=[trial], trial=trial, result=first)
    shared["lr"] = 0.5  # mutated in place, as a PBT exploit might
    logger.on_trial_result(iteration=1, trials=[trial], trial=trial, result=dict(first))
    logger.on_trial_result(
        iteration=2, trials=[trial], trial=trial, result={"loss": 0.2, "config": {"lr": 0.7}}
    )
    logger.on_step_end(iteration=2, trials=[trial])
    logger.on_experiment_end(trials=[trial])
    configs = [json.loads(line)["config"] for line in read_lines(f"{trial.local_path}/result.json")]
    assert configs == [{"lr": 0.1}, {"lr": 0.5}, {"lr": 0.7}]


def test_json_writes_nan_and_infinity_as_json_module_does(tmp_path: Path) -> None:
    trial = make_trial(tmp_path)
    drive(JsonLoggerCallback(), trial, [{"a": math.nan, "b": math.inf, "c": -math.inf}])
    (line,) = read_lines(f"{trial.local_path}/result.json")
    assert line == '{"a": NaN, "b": Infinity, "c": -Infinity}'
    assert math.isnan(json.loads(line)["a"])


class Opaque:
    def __str__(self) -> str:
        return "<opaque>"


def test_json_does_not_crash_on_values_json_cannot_hold(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    trial = make_trial(tmp_path, config={"obj": Opaque(), "lr": np.float32(0.5)})
    res = {
        "loss": np.float64(0.25),
        "step": np.int64(3),
        "vec": np.arange(3),
        "obj": Opaque(),
        (1, 2): "tuple key",
        "config": trial.config,
    }
    drive(JsonLoggerCallback(), trial, [res])
    (line,) = read_lines(f"{trial.local_path}/result.json")
    data = json.loads(line)
    assert data["loss"] == 0.25 and data["step"] == 3 and data["vec"] == [0, 1, 2]
    assert data["obj"] == "<opaque>" and data["(1, 2)"] == "tuple key"
    assert data["config"] == {"obj": "<opaque>", "lr": 0.5}
    params = json.loads(Path(trial.local_path, "params.json").read_text())
    assert params == {"lr": 0.5, "obj": "<opaque>"}


def test_json_configs_that_never_compare_equal_are_still_written_right(tmp_path: Path) -> None:
    trial = make_trial(tmp_path, config={"obj": Opaque()})
    results = [{"i": i, "config": {"obj": Opaque(), "i": i}} for i in range(6)]
    drive(JsonLoggerCallback(), trial, results)
    lines = read_lines(f"{trial.local_path}/result.json")
    assert [json.loads(line)["config"] for line in lines] == [
        {"obj": "<opaque>", "i": i} for i in range(6)
    ]


def test_json_writes_params_files_on_trial_start(tmp_path: Path) -> None:
    trial = make_trial(tmp_path, config={"lr": 0.1, "model": {"layers": 2}, "fn": len})
    JsonLoggerCallback().on_trial_start(iteration=0, trials=[trial], trial=trial)
    text = Path(trial.local_path, "params.json").read_text()
    assert text.startswith('{\n  "fn"')  # indent 2, sorted keys
    assert json.loads(text) == {"fn": "<function len>", "lr": 0.1, "model": {"layers": 2}}
    with open(Path(trial.local_path, "params.pkl"), "rb") as fh:
        assert pickle.load(fh) == trial.config


def test_json_lines_reach_disk_at_step_end_not_per_result(tmp_path: Path) -> None:
    trial = make_trial(tmp_path)
    logger = JsonLoggerCallback()
    logger.on_trial_start(iteration=0, trials=[trial], trial=trial)
    path = Path(trial.local_path, "result.json")
    for i in range(1, 4):
        logger.on_trial_result(iteration=i, trials=[trial], trial=trial, result=result(trial, i))
    assert not path.exists() or path.read_text() == ""
    logger.on_step_end(iteration=3, trials=[trial])
    assert len(read_lines(str(path))) == 3
    logger.on_trial_result(iteration=4, trials=[trial], trial=trial, result=result(trial, 4))
    logger.on_trial_save(iteration=4, trials=[trial], trial=trial)
    assert len(read_lines(str(path))) == 4
    logger.on_experiment_end(trials=[trial])


def test_json_appends_on_resume_and_drops_a_torn_last_line(tmp_path: Path) -> None:
    trial = make_trial(tmp_path)
    drive(JsonLoggerCallback(), trial, [result(trial, 1), result(trial, 2)])
    path = Path(trial.local_path, "result.json")
    with open(path, "a") as fh:
        fh.write('{"loss": 0.3, "traini')  # killed mid-write
    drive(JsonLoggerCallback(), trial, [result(trial, 3)])
    iterations = [json.loads(line)["training_iteration"] for line in read_lines(str(path))]
    assert iterations == [1, 2, 3]


def test_json_without_trial_dir_writes_nothing(tmp_path: Path) -> None:
    trial = Trial("train", trial_id="nodir", config={})
    drive(JsonLoggerCallback(), trial, [{"loss": 1.0}])
    assert list(tmp_path.iterdir()) == []


def test_many_trials_beyond_the_open_file_cap_lose_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tunelab.logger._logger_callback._MAX_OPEN_FILES", 2)
    trials = [make_trial(tmp_path, f"t{i}") for i in range(5)]
    loggers = [JsonLoggerCallback(), CSVLoggerCallback()]
    for logger in loggers:
        for trial in trials:
            logger.on_trial_start(iteration=0, trials=trials, trial=trial)
        for step in range(1, 4):
            for trial in trials:
                res = result(trial, step)
                logger.on_trial_result(iteration=step, trials=trials, trial=trial, result=res)
            logger.on_step_end(iteration=step, trials=trials)
        logger.on_experiment_end(trials=trials)
    for trial in trials:
        assert len(read_lines(f"{trial.local_path}/result.json")) == 3
        assert len(read_csv(f"{trial.local_path}/progress.csv")) == 4


# -- CSV ------------------------------------------------------------------------------------
def test_csv_header_from_first_row_config_dropped_nested_flattened(tmp_path: Path) -> None:
    trial = make_trial(tmp_path)
    results = [
        result(trial, 1, info={"lr": 0.1, "deep": {"x": 1}}, note="a,b"),
        result(trial, 2, info={"lr": 0.2, "deep": {"x": 2}}, note="c", extra=5),
        {"loss": 0.25, "config": {}},
    ]
    drive(CSVLoggerCallback(), trial, results)
    rows = read_csv(f"{trial.local_path}/progress.csv")
    assert rows[0] == ["loss", "training_iteration", "trial_id", "info/lr", "info/deep/x", "note"]
    assert rows[1] == ["1.0", "1", "t1", "0.1", "1", "a,b"]
    assert rows[2] == ["0.5", "2", "t1", "0.2", "2", "c"]  # "extra" came later: dropped
    assert rows[3] == ["0.25", "", "", "", "", ""]  # missing keys: empty


def test_csv_resume_appends_under_the_existing_header(tmp_path: Path) -> None:
    trial = make_trial(tmp_path)
    drive(CSVLoggerCallback(), trial, [result(trial, 1, acc=0.5)])
    # a new session whose results have their keys in another order
    drive(CSVLoggerCallback(), trial, [{"acc": 0.75, "training_iteration": 2, "loss": 0.5}])
    rows = read_csv(f"{trial.local_path}/progress.csv")
    assert rows[0] == ["loss", "training_iteration", "trial_id", "acc"]
    assert rows[1:] == [["1.0", "1", "t1", "0.5"], ["0.5", "2", "", "0.75"]]


def test_csv_rows_of_a_paused_and_restarted_trial_share_one_header(tmp_path: Path) -> None:
    trial = make_trial(tmp_path)
    logger = CSVLoggerCallback()
    drive(logger, trial, [result(trial, 1)], end=False)
    drive(logger, trial, [result(trial, 2)])
    rows = read_csv(f"{trial.local_path}/progress.csv")
    assert [row[1] for row in rows] == ["training_iteration", "1", "2"]


# -- legacy loggers -------------------------------------------------------------------------
def test_legacy_json_and_csv_loggers_write_on_each_result(tmp_path: Path) -> None:
    config = {"lr": 0.1}
    json_logger = JsonLogger(config, str(tmp_path / "j"))
    csv_logger = CSVLogger(config, str(tmp_path / "c"))
    for logger in (json_logger, csv_logger):
        logger.on_result({"loss": 0.5, "config": config})
    assert json.loads(read_lines(str(tmp_path / "j" / "result.json"))[0])["loss"] == 0.5
    assert json.loads((tmp_path / "j" / "params.json").read_text()) == config
    assert read_csv(str(tmp_path / "c" / "progress.csv")) == [["loss"], ["0.5"]]
    json_logger.update_config({"lr": 0.2})
    assert json.loads((tmp_path / "j" / "params.json").read_text()) == {"lr": 0.2}
    json_logger.close()
    csv_logger.close()


def test_unified_logger_uses_default_loggers_and_skips_broken_ones(tmp_path: Path) -> None:
    assert DEFAULT_LOGGERS[:2] == (JsonLogger, CSVLogger)
    assert DEFAULT_LOGGERS[2:] == ((tunelab.logger.TBXLogger,) if tbx_available() else ())

    class Broken(Logger):
        def _init(self) -> None:
            raise RuntimeError("no")

    unified = UnifiedLogger({"a": 1}, str(tmp_path), loggers=[JsonLogger, Broken, NoopLogger])
    unified.on_result({"loss": 1.0})
    unified.close()
    assert (tmp_path / "result.json").exists() and not (tmp_path / "progress.csv").exists()
    default = UnifiedLogger({"a": 1}, str(tmp_path / "d"))
    default.on_result({"loss": 1.0})
    default.close()
    assert (tmp_path / "d" / "progress.csv").exists() and (tmp_path / "d" / "result.json").exists()


def test_legacy_logger_callback_drives_logger_classes(tmp_path: Path) -> None:
    events: list[Any] = []

    class Rec(Logger):
        def _init(self) -> None:
            events.append(("init", self.logdir, self.trial is not None))

        def on_result(self, result: dict[str, Any]) -> None:
            events.append(("result", result["loss"]))

        def update_config(self, config: dict[str, Any]) -> None:
            events.append(("config", config))

        def flush(self) -> None:
            events.append(("flush",))

        def close(self) -> None:
            events.append(("close",))

    trial = make_trial(tmp_path, config={"lr": 1})
    callback = LegacyLoggerCallback([Rec])
    drive(callback, trial, [{"loss": 0.5}], end=False)
    trial.config = {"lr": 2}
    callback.on_trial_start(iteration=1, trials=[trial], trial=trial)
    callback.on_trial_complete(iteration=1, trials=[trial], trial=trial)
    assert events == [
        ("init", trial.local_path, True),
        ("result", 0.5),
        ("flush",),
        ("config", {"lr": 2}),
        ("close",),
    ]


def _iterations_on_disk(trial: Trial) -> tuple[list[int], list[int]]:
    lines = read_lines(f"{trial.local_path}/result.json")
    with open(f"{trial.local_path}/progress.csv") as fh:
        rows = list(csv.DictReader(fh))
    return (
        [json.loads(line)["training_iteration"] for line in lines],
        [int(row["training_iteration"]) for row in rows],
    )


@pytest.mark.parametrize(
    "make_callbacks",
    [
        lambda: [JsonLoggerCallback(), CSVLoggerCallback()],
        lambda: [LegacyLoggerCallback([JsonLogger, CSVLogger])],
        lambda: [LegacyLoggerCallback([UnifiedLogger])],
    ],
    ids=["callbacks", "legacy-loggers", "unified-logger"],
)
def test_the_file_loggers_roll_their_own_files_back(tmp_path: Path, make_callbacks: Any) -> None:
    trial = make_trial(tmp_path)
    trials = [trial]
    callbacks = CallbackList(make_callbacks())
    callbacks.on_trial_start(iteration=0, trials=trials, trial=trial)
    for i in (1, 2, 3, 4):
        callbacks.on_trial_result(iteration=i, trials=trials, trial=trial, result=result(trial, i))
    # results 3 and 4 still buffered: the rollback flushes them before the cut
    callbacks.on_trial_recover(iteration=5, trials=trials, trial=trial)
    callbacks.on_trial_rollback(iteration=5, trials=trials, trial=trial, to_iteration=2)
    assert _iterations_on_disk(trial) == ([1, 2], [1, 2])
    callbacks.on_trial_restore(iteration=6, trials=trials, trial=trial)
    for i in (3, 4, 5):
        callbacks.on_trial_result(iteration=6, trials=trials, trial=trial, result=result(trial, i))
    callbacks.on_step_end(iteration=6, trials=trials)
    callbacks.on_trial_complete(iteration=7, trials=trials, trial=trial)
    assert _iterations_on_disk(trial) == ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])


def test_a_rollback_reaches_loggers_that_hold_no_state_for_the_trial(tmp_path: Path) -> None:
    """After a resume the loggers have not seen the trial yet: they cut its files by path."""
    trial = make_trial(tmp_path)
    drive(
        CallbackList([JsonLoggerCallback(), CSVLoggerCallback()]),
        trial,
        [result(trial, i) for i in (1, 2, 3)],
    )
    fresh = CallbackList([JsonLoggerCallback(), CSVLoggerCallback()])
    fresh.on_trial_rollback(iteration=0, trials=[trial], trial=trial, to_iteration=1)
    assert _iterations_on_disk(trial) == ([1], [1])


def test_for_experiments_forwards_a_rollback_only_for_its_trials(tmp_path: Path) -> None:
    from tunelab.logger._logger_callback import ForExperiments

    seen: list[tuple[str, int]] = []

    class Rollbacks(Callback):
        def on_trial_rollback(
            self, iteration: int, trials: list[Trial], trial: Trial, to_iteration: int, **info: Any
        ) -> None:
            seen.append((trial.trial_id, to_iteration))

    mine, other = make_trial(tmp_path / "a", "m"), make_trial(tmp_path / "b", "o")
    wrapped = CallbackList([ForExperiments(Rollbacks(), {mine.experiment_path}, include=True)])
    for trial in (mine, other):
        wrapped.on_trial_rollback(iteration=1, trials=[mine, other], trial=trial, to_iteration=3)
    assert seen == [("m", 3)]


def test_legacy_logger_callback_rejects_non_logger_classes() -> None:
    with pytest.raises(TypeError, match=r"logger_classes.*JsonLoggerCallback"):
        LegacyLoggerCallback([JsonLoggerCallback])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="logger_classes"):
        LegacyLoggerCallback(JsonLogger)  # type: ignore[arg-type]


def test_logger_base_requires_on_result(tmp_path: Path) -> None:
    with pytest.raises(NotImplementedError, match="on_result"):
        Logger({}, str(tmp_path)).on_result({})


def test_pretty_print_is_yaml_like_without_config() -> None:
    text = pretty_print(
        {"loss": 0.5, "config": {"lr": 1}, "info": {"b": [1, 2], "a": "x y"}, "none": None},
        exclude=["hidden"],
    )
    assert text == "info:\n  a: x y\n  b:\n  - 1\n  - 2\nloss: 0.5\n"
    assert pretty_print({"s": "true", "e": {}}) == "e: {}\ns: 'true'\n"


def test_default_loggers_make_a_missing_trial_directory_on_first_write(tmp_path: Path) -> None:
    # fit() makes the directory before the loggers hear of a trial; used on their own, the
    # loggers make it when they first write (no directory check per trial otherwise)
    trial = make_trial(tmp_path / "deep" / "experiment")
    callbacks = CallbackList([JsonLoggerCallback(), CSVLoggerCallback()])
    drive(callbacks, trial, [result(trial, 1), result(trial, 2)])
    names = {p.name for p in Path(trial.local_path).iterdir()}
    assert {"params.json", "params.pkl", "result.json", "progress.csv"} <= names
    assert len(read_lines(str(Path(trial.local_path) / "result.json"))) == 2


def test_params_pkl_is_the_config_by_value_whether_plain_or_not(tmp_path: Path) -> None:
    import cloudpickle

    class Local:  # not importable by reference: needs cloudpickle's pickling by value
        scale = 3

    plain = {"lr": 0.1, "layers": [1, (2, 3)], "name": "x", "flag": None, "raw": b"\x00"}
    special = {"lr": 0.1, "fn": lambda x: x * 2, "cls": Local}
    for config in (plain, special):
        trial = make_trial(tmp_path, name=f"t{len(config)}", config=config)
        drive(JsonLoggerCallback(), trial, [result(trial, 1)])
        loaded = pickle.loads((Path(trial.local_path) / "params.pkl").read_bytes())
        if config is plain:
            assert loaded == plain == pickle.loads(cloudpickle.dumps(plain))
            assert type(loaded["layers"][1]) is tuple
        else:
            assert loaded["fn"](4) == 8 and loaded["cls"].scale == 3
