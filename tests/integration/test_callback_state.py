"""A callback's state survives a resume (``Callback.get_state``/``set_state``, as in Ray
Tune 2.x): the controller stores it with every experiment-state snapshot and hands it back
to the same callback of the resumed run."""

from __future__ import annotations

from typing import Any

import tunelab as tune
from tunelab._persistence.experiment_state import load_state


class CountingCallback(tune.Callback):
    """Counts the results it saw, across resumes."""

    def __init__(self) -> None:
        self.seen = 0
        self.restored: dict[str, Any] | None = None

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:  # type: ignore[override]
        self.seen += 1

    def get_state(self) -> dict[str, Any] | None:
        return {"seen": self.seen}

    def set_state(self, state: dict[str, Any]) -> None:
        self.restored = dict(state)
        self.seen = state["seen"]


def train(config: dict[str, Any]) -> None:
    for step in range(3):
        tune.report({"loss": config["x"] / (step + 1)})


def test_a_callbacks_state_is_saved_and_handed_back_on_resume(tmp_path: Any) -> None:
    first = CountingCallback()
    tune.run(
        train,
        config={"x": tune.grid_search([1.0, 2.0])},
        name="cb",
        storage_path=str(tmp_path),
        callbacks=[first],
        verbose=0,
    )
    assert first.seen == 6
    state = load_state(str(tmp_path / "cb"))  # the snapshot and its journal
    assert state is not None
    assert list(state["callbacks"].values()) == [{"seen": 6}]
    resumed = CountingCallback()
    tune.run(
        train,
        config={"x": tune.grid_search([1.0, 2.0])},
        name="cb",
        storage_path=str(tmp_path),
        callbacks=[resumed],
        resume=True,
        verbose=0,
    )
    assert resumed.restored == {"seen": 6}
