"""Workers started before the first trial (``Executor.prestart``): how many, when not, and
that none outlives a run that fails before its first trial."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tunelab as tune
from tunelab.execution import LocalExecutor
from tunelab.execution._local import ProcessLauncher


class Recording(LocalExecutor):
    """Records the hints it gets and the worker processes its launcher starts."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hints: list[int] = []
        self.processes: list[Any] = []
        launcher = self._launcher
        assert isinstance(launcher, ProcessLauncher)
        launch = launcher.launch

        def recording_launch(worker: Any) -> None:
            launch(worker)
            self.processes.append(launcher.process(worker))

        launcher.launch = recording_launch  # type: ignore[method-assign]

    def prestart(self, count: int) -> None:
        self.hints.append(count)
        super().prestart(count)


def train(config: dict[str, Any]) -> None:
    tune.report({"score": config["x"]})


def run(tmp_path: Path, executor: Recording, **kwargs: Any) -> Any:
    return tune.run(
        train,
        config={"x": tune.uniform(0, 1)},
        storage_path=str(tmp_path),
        verbose=0,
        executor=executor,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("cpus", "kwargs", "hint", "spawned"),
    [
        (2, {"num_samples": 5}, 2, 2),  # as many as run at once; the prestarted ones are used
        (4, {"num_samples": 3}, 3, 3),  # never more than there are trials
        (4, {"num_samples": 6, "max_concurrent_trials": 1}, 1, 1),
        (4, {"num_samples": 4, "resources_per_trial": {"cpu": 2}}, 2, 2),
    ],
)
def test_the_first_trials_run_on_the_workers_started_before_them(
    tmp_path: Path, cpus: int, kwargs: dict[str, Any], hint: int, spawned: int
) -> None:
    executor = Recording(num_cpus=cpus, num_gpus=0)
    analysis = run(tmp_path, executor, **kwargs)
    assert executor.hints == [hint]
    assert len(executor.processes) == spawned
    assert all(t.status == "TERMINATED" for t in analysis.trials)
    assert all(p.poll() is not None for p in executor.processes)


def test_no_hint_when_trials_ask_for_gpus(tmp_path: Path) -> None:
    executor = Recording(num_cpus=2, gpu_ids=["0"])
    run(tmp_path, executor, num_samples=1, resources_per_trial={"cpu": 1, "gpu": 1})
    assert executor.hints == []


def test_workers_started_for_a_run_that_fails_before_its_first_trial_are_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the callbacks named by TUNELAB_CALLBACKS are built after the hint
    monkeypatch.setenv("TUNELAB_CALLBACKS", "no_such_module_here.Callback")
    executor = Recording(num_cpus=2, num_gpus=0)
    with pytest.raises(Exception, match="no_such_module_here"):
        run(tmp_path, executor, num_samples=2)
    assert executor.hints == [2]
    assert len(executor.processes) == 2
    assert all(p.poll() is not None for p in executor.processes)


def test_what_the_run_exports_after_the_workers_started_reaches_the_trials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a callback's setup (a tracker exporting its API key) runs after the hint, and the
    # front door sets TUNE_ORIG_WORKING_DIR just before the first trial
    monkeypatch.delenv("TL_PRESTART_PROBE", raising=False)
    monkeypatch.setenv("TUNE_ORIG_WORKING_DIR", "/stale")

    class Exports(tune.Callback):
        def setup(self, **info: Any) -> None:
            monkeypatch.setenv("TL_PRESTART_PROBE", "from setup")

    def probe(config: dict[str, Any]) -> None:
        import os

        tune.report(
            {
                "probe": os.environ.get("TL_PRESTART_PROBE"),
                "orig": os.environ.get("TUNE_ORIG_WORKING_DIR"),
            }
        )

    executor = Recording(num_cpus=2, num_gpus=0)
    analysis = tune.run(
        probe,
        num_samples=2,
        storage_path=str(tmp_path),
        verbose=0,
        executor=executor,
        callbacks=[Exports()],
    )
    assert executor.hints == [2]
    import os

    for trial in analysis.trials:
        assert trial.last_result["probe"] == "from setup"
        assert trial.last_result["orig"] == os.getcwd()


def test_workers_started_for_a_run_whose_server_cannot_start_are_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tunelab.server

    def busy(*args: Any, **kwargs: Any) -> Any:
        raise OSError("address already in use")

    monkeypatch.setattr(tunelab.server, "start_server_for", busy)
    executor = Recording(num_cpus=2, num_gpus=0)
    with pytest.raises(OSError, match="already in use"):
        run(tmp_path, executor, num_samples=2, with_server=True)
    assert executor.hints == [2]
    assert len(executor.processes) == 2
    assert all(p.poll() is not None for p in executor.processes)
