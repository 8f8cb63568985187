"""``PopulationBasedTrainingReplay``: replay the config schedule of one PBT trial.

The schedule comes from a policy file (see :mod:`._pbt_policy`); the replayed trial starts
with the lineage's initial config and, at each recorded ``training_iteration``, continues
from its own checkpoint with the next config (a :class:`Reconfigure` without checkpoint).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from tunelab.schedulers._pbt_explore import format_changes
from tunelab.schedulers._pbt_policy import read_policy
from tunelab.schedulers._trial_scheduler import (
    Decision,
    DecisionPoints,
    FIFOScheduler,
    Reconfigure,
    RunnerView,
)

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = ["PopulationBasedTrainingReplay"]

logger = logging.getLogger("tunelab")
_STATE_VERSION = 1


class PopulationBasedTrainingReplay(FIFOScheduler):
    """Replays the config schedule of one PBT trial from its policy file.

    PBT finds a *schedule* of hyperparameters (the configs a trial's model was trained with,
    and from which iteration each applied). This scheduler trains one new trial along that
    schedule, e.g. to reproduce the best model of a PBT run, or to train it longer. The
    trial starts with the initial config of the lineage (the config the experiment gives
    is replaced, with a warning) and, at each recorded ``training_iteration``, continues
    from its own checkpoint with the next config (a :class:`Reconfigure` without a
    checkpoint; its tag gets ``@perturbed[...]``). After the last step it trains on as
    FIFO would, until the run's ``stop`` criteria or its own end.

    The experiment must run one trial (``num_samples=1``, no grid), and the trainable must
    checkpoint: class trainables save when the config changes; function trainables must
    report a checkpoint at least at the iterations of the schedule.

    Args:
        policy_file: The path of a ``pbt_policy_<trial_id>.txt`` written by
            :class:`PopulationBasedTraining` (or by Ray Tune). Read at once.

    Raises:
        TypeError: ``policy_file`` is not a path.
        ValueError: The file cannot be read, holds no policy lines (the trial was never
            exploited) or a malformed line; later, when a second trial is added.
    """

    def __init__(self, policy_file: str | os.PathLike[str]) -> None:
        super().__init__()
        if not isinstance(policy_file, str | os.PathLike):
            raise TypeError(
                f"PopulationBasedTrainingReplay: policy_file must be a path, got {policy_file!r}"
            )
        self.policy_file = os.fspath(policy_file)
        self.config, self._schedule = read_policy(self.policy_file)
        self._next = 0
        self._trial_id: str | None = None

    def decision_points(self) -> DecisionPoints | None:
        return DecisionPoints("training_iteration", tuple(float(s) for s, _ in self._schedule))

    def debug_string(self) -> str:
        return (
            f"PopulationBasedTraining replay: step {self._next}/{len(self._schedule)} "
            f"of {os.path.basename(self.policy_file)}"
        )

    def on_trial_add(self, runner: RunnerView, trial: Trial) -> None:
        if self._trial_id is not None and trial.trial_id != self._trial_id:
            raise ValueError(
                "PopulationBasedTrainingReplay replays one trial; a second trial "
                f"({trial}) was added: run it with num_samples=1"
            )
        if self._trial_id == trial.trial_id:  # resumed
            return
        self._trial_id = trial.trial_id
        if trial.last_result:
            return
        if trial.config and trial.config != self.config:
            logger.warning(
                "PopulationBasedTrainingReplay: the trial's config %s is replaced by the "
                "initial config of the policy file %s",
                trial.config,
                self.config,
            )
        runner.reconfigure_trial(trial, Reconfigure(config=dict(self.config)))

    def on_trial_result(
        self, runner: RunnerView, trial: Trial, result: dict[str, Any]
    ) -> Decision | Reconfigure:
        step = result.get("training_iteration")
        if not isinstance(step, int | float) or self._next >= len(self._schedule):
            return Decision.CONTINUE
        config: dict[str, Any] | None = None
        while self._next < len(self._schedule) and step >= self._schedule[self._next][0]:
            config = self._schedule[self._next][1]
            self._next += 1
        if config is None:
            return Decision.CONTINUE
        changes = {key: value for key, value in config.items() if trial.config.get(key) != value}
        return Reconfigure(config=dict(config), tag_suffix=format_changes(changes))

    def get_state(self) -> dict[str, Any]:
        return {"version": _STATE_VERSION, "next": self._next, "trial_id": self._trial_id}

    def set_state(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self._next = int(state.get("next", 0))
        self._trial_id = state.get("trial_id")
