"""Searchers that wrap another searcher: :class:`ConcurrencyLimiter` and :class:`Repeater`."""

from __future__ import annotations

import logging
import math
from typing import Any

from tunelab.search._resolve import copy_tree
from tunelab.search._searcher import (
    Searcher,
    SearchGenerator,
    pack_searcher_state,
    pack_value,
    unpack_searcher_state,
    unpack_value,
)

__all__ = ["ConcurrencyLimiter", "Repeater", "searcher_chain"]

logger = logging.getLogger("tunelab.search")


class _Wrapper(Searcher):
    """Delegates metric, mode and search properties to the wrapped searcher."""

    def __init__(self, searcher: Searcher, where: str) -> None:
        if not isinstance(searcher, Searcher):
            raise TypeError(f"`searcher` of {where} must be a Searcher instance, got {searcher!r}")
        super().__init__()
        self.searcher = searcher

    @property
    def metric(self) -> Any:
        return self.searcher.metric

    @property
    def mode(self) -> Any:
        return self.searcher.mode

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        return self.searcher.set_search_properties(metric, mode, config, **spec)

    def add_evaluated_point(
        self,
        parameters: dict[str, Any],
        value: float,
        error: bool = False,
        pruned: bool = False,
        intermediate_values: list[float] | None = None,
    ) -> None:
        self.searcher.add_evaluated_point(parameters, value, error, pruned, intermediate_values)

    def _own_state(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _set_own_state(self, state: dict[str, Any]) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def get_state(self) -> dict[str, Any]:
        return {"own": pack_value(self._own_state()), "inner": pack_searcher_state(self.searcher)}

    def set_state(self, state: dict[str, Any]) -> None:
        self._set_own_state(unpack_value(state["own"]))
        unpack_searcher_state(self.searcher, state["inner"])


class ConcurrencyLimiter(_Wrapper):
    """Caps how many trials of ``searcher`` run at once.

    ``suggest`` returns ``None`` while ``max_concurrent`` suggested trials are unfinished.
    Results of trials the limiter did not suggest are ignored. A searcher that limits its
    concurrency itself (its ``set_max_concurrency`` returns ``True``, as
    :class:`~tunelab.search.bohb.TuneBOHB` and :class:`~tunelab.search.hebo.HEBOSearch` do)
    takes the limit and the limiter steps aside. ``max_concurrent_trials`` of the run wraps a
    searcher in one.

    Args:
        searcher: The searcher to wrap; metric, mode and search space are its own.
        max_concurrent: The most suggested trials that may be unfinished at once (>= 1).
        batch: ``True``: the wrapped searcher learns of completed trials only once the whole
            batch of live trials has completed, and no new trial starts before that (for
            searchers that propose batches). ``False`` (default): each completion is passed
            on at once and frees a slot.

    Raises:
        TypeError: ``searcher`` is not a :class:`Searcher`, ``max_concurrent`` is not an
            int or ``batch`` is not a bool.
        ValueError: ``max_concurrent`` is below 1.
    """

    def __init__(self, searcher: Searcher, max_concurrent: int, batch: bool = False) -> None:
        super().__init__(searcher, "ConcurrencyLimiter()")
        if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int):
            raise TypeError(
                f"`max_concurrent` of ConcurrencyLimiter() must be an int > 0, "
                f"got {max_concurrent!r}"
            )
        if max_concurrent < 1:
            raise ValueError(
                f"`max_concurrent` of ConcurrencyLimiter() must be > 0, got {max_concurrent}"
            )
        if not isinstance(batch, bool):
            raise TypeError(f"`batch` of ConcurrencyLimiter() must be a bool, got {batch!r}")
        self.max_concurrent = max_concurrent
        self.batch = batch
        self.live_trials: set[str] = set()
        self._cached: dict[str, tuple[dict[str, Any] | None, bool]] = {}
        # a searcher that limits concurrency itself (e.g. TuneBOHB) makes this one step aside
        self._limit = not searcher.set_max_concurrency(max_concurrent)

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if self._limit and (
            len(self.live_trials) >= self.max_concurrent or (self.batch and self._cached)
        ):
            return None
        suggestion = self.searcher.suggest(trial_id)
        if suggestion is not None and suggestion != Searcher.FINISHED:
            self.live_trials.add(trial_id)
        return suggestion

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if trial_id in self.live_trials:
            self.searcher.on_trial_result(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        if trial_id not in self.live_trials:
            return
        if not self.batch:
            self.live_trials.discard(trial_id)
            self.searcher.on_trial_complete(trial_id, result=result, error=error)
            return
        self._cached[trial_id] = (result, error)
        if len(self._cached) < len(self.live_trials):
            return
        cached, self._cached = self._cached, {}
        self.live_trials.clear()
        for done_id, (done_result, done_error) in cached.items():
            self.searcher.on_trial_complete(done_id, result=done_result, error=done_error)

    def uses_intermediate_results(self) -> bool:
        return self.searcher.uses_intermediate_results()

    def _own_state(self) -> dict[str, Any]:
        return {
            "max_concurrent": self.max_concurrent,
            "batch": self.batch,
            "live_trials": sorted(self.live_trials),
            "cached": [[k, r, e] for k, (r, e) in self._cached.items()],
        }

    def _set_own_state(self, state: dict[str, Any]) -> None:
        # as Ray: a restored limiter takes the saved limit and batching (states written
        # before they were saved keep this limiter's own)
        self.max_concurrent = int(state.get("max_concurrent", self.max_concurrent))
        self.batch = bool(state.get("batch", self.batch))
        self.live_trials = set(state["live_trials"])
        self._cached = {k: (r, bool(e)) for k, r, e in state["cached"]}


class Repeater(_Wrapper):
    """Runs each configuration of ``searcher`` ``repeat`` times and reports their mean.

    For noisy objectives. The wrapped searcher sees one trial per group (the id of the
    group's first trial) and, once all ``repeat`` trials of the group completed, one result
    whose metric is the mean over the trials that reported it (failed trials and NaN values
    left out); when every trial of the group failed, it is told of a failure.
    ``num_samples`` should be a multiple of ``repeat`` (otherwise the last group is never
    complete).

    Args:
        searcher: The searcher to wrap; metric, mode and search space are its own.
        repeat: How many trials run each configuration (>= 1; default 1).
        set_index: ``True`` (default): every config gets ``config["__trial_index__"]``, the
            trial's position in its group (0 .. repeat-1), e.g. to seed the trainable.

    Raises:
        TypeError: ``searcher`` is not a :class:`Searcher` or ``set_index`` is not a bool.
        ValueError: ``repeat`` is not an int >= 1.
    """

    def __init__(self, searcher: Searcher, repeat: int = 1, set_index: bool = True) -> None:
        super().__init__(searcher, "Repeater()")
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
            raise ValueError(f"`repeat` of Repeater() must be an int >= 1, got {repeat!r}")
        if not isinstance(set_index, bool):
            raise TypeError(f"`set_index` of Repeater() must be a bool, got {set_index!r}")
        self.repeat = repeat
        self.set_index = set_index
        # group id -> {"config", "trials": [ids], "results": [[result, error], ...]}
        self._groups: dict[str, dict[str, Any]] = {}
        self._group_of: dict[str, str] = {}
        self._open: str | None = None

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        num_samples = spec.get("num_samples")
        if isinstance(num_samples, int) and num_samples > 0 and num_samples % self.repeat:
            logger.warning(
                "num_samples=%d is not a multiple of Repeater(repeat=%d); the last group "
                "will not be complete",
                num_samples,
                self.repeat,
            )
        return super().set_search_properties(metric, mode, config, **spec)

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        group = self._groups.get(self._open) if self._open is not None else None
        if group is None or len(group["trials"]) >= self.repeat:
            suggestion = self.searcher.suggest(trial_id)
            if suggestion is None or not isinstance(suggestion, dict):
                return suggestion
            group = {"config": suggestion, "trials": [], "results": []}
            self._groups[trial_id] = group
            self._open = trial_id
        index = len(group["trials"])
        group["trials"].append(trial_id)
        self._group_of[trial_id] = group["trials"][0]
        config: dict[str, Any] = copy_tree(group["config"])
        if self.set_index:
            config["__trial_index__"] = index
        return config

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        group_id = self._group_of.pop(trial_id, None)
        if group_id is None:
            return
        group = self._groups[group_id]
        group["results"].append([result, error])
        if len(group["results"]) < self.repeat:
            return
        del self._groups[group_id]
        if self._open == group_id:
            self._open = None
        averaged = self._average(group["results"])
        failed = all(err for _, err in group["results"]) or averaged is None
        self.searcher.on_trial_complete(group_id, result=averaged, error=failed)

    def _average(self, results: list[list[Any]]) -> dict[str, Any] | None:
        good = [r for r, err in results if r is not None and not err]
        if not good:
            return None
        merged = dict(good[-1])
        metric = self.metric
        if isinstance(metric, str):
            values = [float(r[metric]) for r in good if _is_number(r.get(metric))]
            values = [v for v in values if not math.isnan(v)]
            merged[metric] = sum(values) / len(values) if values else math.nan
        return merged

    def _own_state(self) -> dict[str, Any]:
        return {
            "repeat": self.repeat,
            "set_index": self.set_index,
            "groups": self._groups,
            "group_of": self._group_of,
            "open": self._open,
        }

    def _set_own_state(self, state: dict[str, Any]) -> None:
        # as Ray: a restored Repeater takes the saved repeat and set_index (states written
        # before they were saved keep this Repeater's own)
        self.repeat = int(state.get("repeat", self.repeat))
        self.set_index = bool(state.get("set_index", self.set_index))
        self._groups = state["groups"]
        self._group_of = state["group_of"]
        self._open = state["open"]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def searcher_chain(search: Any) -> list[Any]:
    """``search`` and every searcher inside it, outermost first.

    A :class:`~tunelab.search.SearchGenerator` holds a searcher; a
    :class:`ConcurrencyLimiter` or a :class:`Repeater` holds another. The last entry is the
    searcher that suggests (e.g. the ``TuneBOHB`` that ``HyperBandForBOHB`` attaches to).

    Args:
        search: A search algorithm or a searcher, wrapped or not.

    Returns:
        The chain, ``[search, ..., innermost]``.
    """
    chain = [search]
    while isinstance(chain[-1], (SearchGenerator, _Wrapper)):
        chain.append(chain[-1].searcher)
    return chain
