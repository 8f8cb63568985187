"""HyperBand for BOHB: synchronous HyperBand that tells a BOHB searcher about budgets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunelab._legacy_args import resolve_reward_attr
from tunelab.schedulers._hyperband import HyperBandScheduler
from tunelab.schedulers._trial_scheduler import Decision

if TYPE_CHECKING:
    from tunelab._trial import Trial
    from tunelab.schedulers._trial_scheduler import RunnerView

__all__ = ["HyperBandForBOHB"]


class HyperBandForBOHB(HyperBandScheduler):
    """HyperBand for BOHB: :class:`HyperBandScheduler` that tells ``TuneBOHB`` the budgets.

    BOHB (Falkner et al., 2018) is HyperBand's brackets with a model-based search: pass
    this scheduler together with :class:`tunelab.search.bohb.TuneBOHB` (``pip install
    "tunelab[bohb]"``). Same constructor and the same brackets as
    :class:`HyperBandScheduler`, and in addition:

    * every result that reaches a milestone is annotated with
      ``result["hyperband_info"] = {"budget": <milestone>}``, the fidelity (in units of
      ``time_attr``) that result was measured at; the searcher reads it from the results it
      receives (``on_trial_result`` and ``on_trial_complete``), so that it models each
      budget separately;
    * with a searcher attached (:meth:`attach_searcher`; ``tune.run``/``Tuner`` do it when
      the search algorithm wraps a searcher, through a ``ConcurrencyLimiter`` too), the
      scheduler calls ``searcher.on_pause(trial_id)`` when it pauses a trial at a milestone
      and ``searcher.on_unpause(trial_id)`` when it resumes one, for searchers that have
      those methods (so that a searcher limiting its concurrency does not count paused
      trials as running).

    Like HyperBand it pauses trials, so trainables need checkpoints. The searcher is not
    part of the saved state: it is attached again when the experiment resumes.

    Args:
        time_attr: The result key that measures training progress (default
            ``"training_iteration"``); the budgets are in its units.
        metric: The result key to compare trials by. None: the run's ``metric``.
        mode: ``"min"`` or ``"max"``. None: the run's ``mode``.
        max_t: The most ``time_attr`` a trial may reach (> 0), the largest budget.
        reduction_factor: The ratio between budgets (>= 2).
        stop_last_trials: True: a trial that reaches ``max_t`` is stopped. False: it goes
            on, no longer managed by the scheduler.
        reward_attr: 0.5-0.7 spelling: ``reward_attr=name`` means ``metric=name,
            mode="max"`` (with a ``FutureWarning``).

    Raises:
        TypeError: As :class:`HyperBandScheduler`.
        ValueError: As :class:`HyperBandScheduler`.
    """

    def __init__(
        self,
        time_attr: str = "training_iteration",
        metric: str | None = None,
        mode: str | None = None,
        max_t: float = 81,
        reduction_factor: float = 3,
        stop_last_trials: bool = True,
        *,
        reward_attr: str | None = None,
    ) -> None:
        metric, mode = resolve_reward_attr(
            f"{type(self).__name__}()", reward_attr, metric, mode, stacklevel=3
        )
        super().__init__(
            time_attr=time_attr,
            metric=metric,
            mode=mode,
            max_t=max_t,
            reduction_factor=reduction_factor,
            stop_last_trials=stop_last_trials,
        )
        self._searcher: Any = None

    def attach_searcher(self, searcher: Any) -> None:
        """Let ``searcher`` hear pauses and resumes (``on_pause``/``on_unpause``).

        ``tune.run`` and ``Tuner`` call it; call it yourself only when driving the
        scheduler without them.

        Args:
            searcher: The searcher (e.g. a ``TuneBOHB``); its ``on_pause(trial_id)`` and
                ``on_unpause(trial_id)`` are called when it has them. None: detach.
        """
        self._searcher = searcher

    @property
    def searcher(self) -> Any:
        """The searcher attached with :meth:`attach_searcher` (None: none)."""
        return self._searcher

    def on_trial_result(self, runner: RunnerView, trial: Trial, result: dict[str, Any]) -> Decision:
        budget = self.current_milestone(trial.trial_id)
        value = result.get(self._time_attr)
        if budget is not None and value is not None and value >= budget:
            result["hyperband_info"] = {"budget": budget}
        return super().on_trial_result(runner, trial, result)

    def _paused(self, trial_id: str) -> None:
        hook = getattr(self._searcher, "on_pause", None)
        if hook is not None:
            hook(trial_id)

    def _resumed(self, trial_id: str) -> None:
        hook = getattr(self._searcher, "on_unpause", None)
        if hook is not None:
            hook(trial_id)

    def debug_string(self) -> str:
        return super().debug_string().replace("Using HyperBand", "Using HyperBandForBOHB", 1)
