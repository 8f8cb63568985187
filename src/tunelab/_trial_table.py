"""The controller's trial table: every trial by id and by status, in creation order."""

from __future__ import annotations

from collections.abc import Iterator

from tunelab._trial import Trial, TrialStatus

__all__ = ["TrialTable"]


class TrialTable:
    """All trials in creation order, by id, and by status (insertion-ordered dicts)."""

    def __init__(self) -> None:
        self.trials: list[Trial] = []
        self.by_id: dict[str, Trial] = {}
        self._by_status: dict[TrialStatus, dict[str, Trial]] = {s: {} for s in TrialStatus}

    def add(self, trial: Trial) -> None:
        self.trials.append(trial)
        self.by_id[trial.trial_id] = trial
        self._by_status[trial.status][trial.trial_id] = trial

    def set_status(self, trial: Trial, status: TrialStatus) -> None:
        self._by_status[trial.status].pop(trial.trial_id, None)
        trial.status = status
        self._by_status[status][trial.trial_id] = trial

    def with_status(self, status: TrialStatus | str) -> Iterator[Trial]:
        return iter(list(self._by_status[TrialStatus(status)].values()))

    def count(self, status: TrialStatus) -> int:
        return len(self._by_status[status])

    def counts(self) -> dict[str, int]:
        return {s.value: len(d) for s, d in self._by_status.items() if d}
