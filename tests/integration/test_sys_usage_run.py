"""``config={"log_sys_usage": True}`` in real experiments: every result of a function or
class trainable carries a ``perf`` dict of the machine's CPU and RAM utilisation."""

from __future__ import annotations

import time
from typing import Any

import tunelab as tune


def busy(config: dict[str, Any]) -> None:
    for step in range(3):
        time.sleep(0.2)  # the monitor samples every 0.7 s; the first sample is at once
        tune.report(step=step)


class Busy(tune.Trainable):
    def step(self) -> dict[str, Any]:
        time.sleep(0.2)
        return {"done": self.iteration >= 2}


def test_function_and_class_trainables_report_perf(tmp_path):
    for trainable in (busy, Busy):
        analysis = tune.run(
            trainable,
            config={"log_sys_usage": tune.grid_search([True, False])},
            storage_path=str(tmp_path),
            verbose=0,
        )
        on, off = sorted(analysis.trials, key=lambda t: not t.config["log_sys_usage"])
        assert on.status == off.status == "TERMINATED"
        rows = list(analysis.trial_dataframes[on.trial_id].to_dict("records"))
        assert len(rows) == 3
        cpu = [row["perf/cpu_util_percent"] for row in rows]
        ram = [row["perf/ram_util_percent"] for row in rows]
        assert all(0 <= value <= 100 for value in cpu) and all(0 < v <= 100 for v in ram)
        assert "perf" not in off.last_result


def test_in_process_trials_keep_their_own_setting(tmp_path):
    from tunelab.execution import InProcessExecutor

    analysis = tune.run(
        busy,
        config={"log_sys_usage": tune.grid_search([True, False])},
        storage_path=str(tmp_path),
        executor=InProcessExecutor(),
        verbose=0,
    )
    on, off = sorted(analysis.trials, key=lambda t: not t.config["log_sys_usage"])
    assert "cpu_util_percent" in on.last_result["perf"]
    assert "perf" not in off.last_result
