"""Round-based AutoML search (Ray Tune 0.x-1.x's ``ray.tune.automl.search_policy``):
:class:`AutoMLSearcher` and the one-round :class:`GridSearch` and :class:`RandomSearch`.

An :class:`AutoMLSearcher` is a :class:`~tunelab.search.SearchAlgorithm` (not a
``Searcher``), passed as ``tune.run(search_alg=...)``. It works in rounds: ``_select()``
chooses a batch of parameter configs; each becomes one trial per experiment; when every
trial of the round has completed, ``_feedback(trials)`` sees them all and answers
:attr:`~AutoMLSearcher.CONTINUE` (start the next round) or
:attr:`~AutoMLSearcher.TERMINATE` (the search is over). While a round runs, the searcher
suggests nothing more.

The reward is ``result[reward_attr]``, always maximised. A trial's best reward is the
largest it reported (values that are not numbers, or NaN, are skipped). A round in which
trials reported results but none reported ``reward_attr`` raises ``ValueError`` naming the
metrics they did report (Ray Tune raised a ``KeyError``).
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from tunelab._json import safely_equal
from tunelab.automl._space import ParameterSpace, SearchSpace, hot_index, one_hot
from tunelab.search._common import is_grid_spec, seed_from_random_state
from tunelab.search._resolve import (
    Path,
    SpacePlan,
    copy_tree,
    find_unresolved,
    flatten_resolved_vars,
    format_vars,
    iter_sample,
)
from tunelab.search._search_algorithm import (
    SearchAlgorithm,
    TrialSuggestion,
    as_experiment_list,
    experiment_fields,
)
from tunelab.search._variant_generator import generate_variants

__all__ = ["AutoMLSearcher", "AutoMLTrial", "GridSearch", "RandomSearch", "deep_insert"]

logger = logging.getLogger("tunelab.automl")

_STATE_VERSION = 1


def deep_insert(path_list: Sequence[str], value: Any, config: dict[str, Any]) -> None:
    """Set ``config[p0][p1]...[pn] = value``, creating the dicts on the way.

    ``TypeError`` when a key on the way holds something that is not a dict.
    """
    node = config
    for depth, key in enumerate(path_list[:-1]):
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            where = ".".join(path_list[: depth + 1])
            raise TypeError(
                f"cannot set {'.'.join(path_list)!r} in the config: {where!r} holds "
                f"{child!r}, not a dict"
            )
        node = child
    node[path_list[-1]] = value


class AutoMLTrial:
    """What an :class:`AutoMLSearcher` knows of one trial it suggested (Ray Tune set these
    fields on its ``Trial``): ``trial_id``, ``param_config`` (``{name: value}``),
    ``extra_arg`` (what ``_select`` paired with the config, e.g. a gene), ``config_index``
    (the config's position in the round, the same for its trial in every experiment),
    ``best_result``
    (the result with the largest reward, or None), ``last_result``, ``done`` and ``error``."""

    def __init__(
        self,
        trial_id: str,
        param_config: dict[str, Any],
        extra_arg: Any = None,
        experiment_index: int = 0,
        number: int = 0,
        config_index: int = 0,
    ) -> None:
        self.trial_id = trial_id
        self.param_config = param_config
        self.extra_arg = extra_arg
        self.experiment_index = experiment_index
        self.number = number
        self.config_index = config_index
        self.best_result: dict[str, Any] | None = None
        self.last_result: dict[str, Any] | None = None
        self.issued = False
        self.done = False
        self.error = False

    def __repr__(self) -> str:
        return f"AutoMLTrial({self.trial_id!r}, {self.param_config!r})"


class AutoMLSearcher(SearchAlgorithm):
    """Base of round-based AutoML search algorithms; see the module docstring.

    Subclasses implement :meth:`_select` and :meth:`_feedback`, and draw their random
    numbers from ``self._rng`` (a :class:`random.Random` seeded from ``seed``; ``None``:
    a random seed), which the saved state keeps. ``num_samples`` of the experiment is not
    used: the policy decides how many trials each round has.
    """

    CONTINUE = "CONTINUE"
    TERMINATE = "TERMINATE"
    CKPT_FILE_TMPL = "automl-state-{}.json"

    def __init__(self, search_space: SearchSpace, reward_attr: str, *, seed: object = None):
        super().__init__()
        if not isinstance(search_space, SearchSpace):
            raise TypeError(
                "`search_space` must be a tunelab.automl.SearchSpace (a list of "
                f"ContinuousSpace/DiscreteSpace), got {search_space!r}"
            )
        if not isinstance(reward_attr, str) or not reward_attr:
            raise TypeError(
                f"`reward_attr` must be the name of a reported metric (maximised), "
                f"got {reward_attr!r}"
            )
        self.search_space = search_space
        self.reward_attr = reward_attr
        self._rng = random.Random(seed_from_random_state(seed))
        self.experiment_list: list[Any] = []
        self._spaces: list[dict[str, Any]] = []
        self.best_trial: AutoMLTrial | None = None
        self._round: dict[str, AutoMLTrial] = {}
        self._queue: list[str] = []
        self._unfinished = 0
        self._iteration = 0
        self._total_trial_num = 0
        self._counter = 0
        self._prefix = uuid.uuid4().hex[:5]
        self._start_ts = 0.0

    # -- what subclasses implement -----------------------------------------------------------
    def _select(self) -> tuple[list[dict[str, Any]], list[Any] | None]:
        """The next round: a list of ``{name: value}`` configs (a name may be a
        ``.``-separated config path) and a list of the same length with one extra
        argument per config (or ``None``)."""
        raise NotImplementedError

    def _feedback(self, trials: list[AutoMLTrial]) -> str:
        """Learn from the completed round; return :attr:`CONTINUE` or :attr:`TERMINATE`."""
        raise NotImplementedError

    # -- the SearchAlgorithm contract --------------------------------------------------------
    def add_configurations(self, experiments: Any) -> None:
        for experiment in as_experiment_list(experiments):
            _, space, _ = experiment_fields(experiment)
            grids = [
                "/".join(map(str, path))
                for path, leaf in find_unresolved(space)
                if is_grid_spec(leaf)
            ]
            if grids:
                raise ValueError(
                    f"{type(self).__name__} chooses the trials itself: the experiment's config "
                    f"must not hold grid_search values (found at {grids}); put the values in a "
                    "DiscreteSpace of the SearchSpace instead"
                )
            self.experiment_list.append(experiment)
            self._spaces.append(space)

    def next_trial(self) -> TrialSuggestion | None:
        if self._finished:
            return None
        if not self._queue:
            if self._unfinished > 0 or not self.experiment_list:
                return None  # the round still runs: wait for its results
            self._start_round()
            if not self._queue:
                self._finished = True
                return None
        record = self._round[self._queue.pop(0)]
        record.issued = True
        return self._suggestion(record)

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        record = self._round.get(trial_id)
        if record is None or not result:
            return
        record.last_result = result
        reward = _reward(result, self.reward_attr)
        if reward is None:
            return
        best = None if record.best_result is None else record.best_result[self.reward_attr]
        if best is None or reward > best:
            record.best_result = result
        leader = self.best_trial
        if (
            leader is None
            or leader.best_result is None
            or (reward > leader.best_result[self.reward_attr])
        ):
            self.best_trial = record

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        record = self._round.get(trial_id)
        if record is None or record.done:
            return
        if result:
            self.on_trial_result(trial_id, result)
        record.done = True
        record.error = bool(error)
        self._unfinished -= 1
        if self._unfinished <= 0:
            self._end_round()

    def get_best_trial(self) -> AutoMLTrial | None:
        """The trial with the largest reward so far (None before any reward)."""
        return self.best_trial

    # -- rounds ----------------------------------------------------------------------------
    def _start_round(self) -> None:
        configs, extras = self._select()
        if extras is None:
            extras = [None] * len(configs)
        if len(extras) != len(configs):
            raise ValueError(
                f"{type(self).__name__}._select() returned {len(configs)} configs but "
                f"{len(extras)} extra arguments"
            )
        self._round = {}
        for index in range(len(self.experiment_list)):
            for position, (param_config, extra) in enumerate(zip(configs, extras, strict=True)):
                self._counter += 1
                trial_id = f"{self._prefix}_{self._counter:05d}"
                record = AutoMLTrial(
                    trial_id, dict(param_config), extra, index, self._counter, position
                )
                self._round[trial_id] = record
                self._queue.append(trial_id)
        self._iteration += 1
        self._unfinished = len(self._round)
        self._total_trial_num += len(self._round)
        self._start_ts = time.time()
        logger.info(
            "=========== BEGIN Experiment-Round: %s [%s NEW | %s TOTAL] ===========",
            self._iteration,
            len(self._round),
            self._total_trial_num,
        )

    def _end_round(self) -> None:
        trials = list(self._round.values())
        reported = [t for t in trials if t.last_result is not None]
        if reported and all(t.best_result is None for t in reported):
            names = sorted({str(key) for t in reported for key in t.last_result or {}})
            raise ValueError(
                f"{type(self).__name__}: reward_attr={self.reward_attr!r} was never reported "
                f"as a number by the {len(reported)} trial(s) of round {self._iteration} that "
                f"reported results; they reported: {names}"
            )
        failed = sum(t.error for t in trials)
        best = self.best_trial.best_result if self.best_trial is not None else None
        logger.info(
            "=========== END Experiment-Round: %s [%s SUCC | %s FAIL] this round, "
            "elapsed=%.2f, BEST %s=%s ===========",
            self._iteration,
            len(trials) - failed,
            failed,
            time.time() - self._start_ts,
            self.reward_attr,
            None if best is None else best[self.reward_attr],
        )
        action = self._feedback(trials)
        if action == self.TERMINATE:
            self._finished = True
        elif action != self.CONTINUE:
            raise ValueError(
                f"{type(self).__name__}._feedback() must return {self.CONTINUE!r} or "
                f"{self.TERMINATE!r}, got {action!r}"
            )
        self._round = {}
        self._queue = []
        self._unfinished = 0

    def _suggestion(self, record: AutoMLTrial) -> TrialSuggestion:
        config = copy_tree(self._spaces[record.experiment_index])
        resolved: dict[Path, Any] = {}
        for name, value in record.param_config.items():
            path = name.split(".")
            deep_insert(path, value, config)
            resolved[tuple(path)] = value
        if find_unresolved(config):  # the rest of the config: drawn as tune.run would
            extra, config = next(iter_sample(SpacePlan(config), self._rng))
            resolved.update(extra)
        tag = f"{record.number}_{format_vars(resolved)}"
        return TrialSuggestion(
            config,
            tag,
            flatten_resolved_vars(resolved),
            self.experiment_list[record.experiment_index],
            record.trial_id,
        )

    # -- state -----------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """JSON: the round in progress (each trial's config as choice indices where a value
        is not JSON), the counters, the random state and the policy's own state."""
        version, internal, gauss = self._rng.getstate()
        return {
            "version": _STATE_VERSION,
            "kind": type(self).__name__,
            "prefix": self._prefix,
            "counter": self._counter,
            "iteration": self._iteration,
            "total": self._total_trial_num,
            "finished": self._finished,
            "unfinished": self._unfinished,
            "queue": list(self._queue),
            "round": [self._record_state(record) for record in self._round.values()],
            "best": None if self.best_trial is None else self._record_state(self.best_trial),
            "rng": [version, list(internal), gauss],
            "policy": self._policy_state(),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        if (
            not isinstance(state, Mapping)
            or state.get("version") != _STATE_VERSION
            or state.get("kind") != type(self).__name__
        ):
            raise ValueError(
                f"`state` must be a {type(self).__name__} state of version {_STATE_VERSION}, "
                f"got {state!r}"
            )
        self._prefix = str(state["prefix"])
        self._counter = int(state["counter"])
        self._iteration = int(state["iteration"])
        self._total_trial_num = int(state["total"])
        self._finished = bool(state["finished"])
        self._unfinished = int(state["unfinished"])
        self._queue = [str(trial_id) for trial_id in state["queue"]]
        records = [self._record_from_state(item) for item in state["round"]]
        self._round = {record.trial_id: record for record in records}
        best = state.get("best")
        self.best_trial = None
        if best is not None:
            self.best_trial = self._round.get(best["trial_id"]) or self._record_from_state(best)
        version, internal, gauss = state["rng"]
        self._rng.setstate((int(version), tuple(int(x) for x in internal), gauss))
        self._set_policy_state(state.get("policy") or {})
        self._start_ts = time.time()

    def _policy_state(self) -> dict[str, Any]:
        """The subclass's own JSON state (default: none)."""
        return {}

    def _set_policy_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`_policy_state`."""

    def _record_state(self, record: AutoMLTrial) -> dict[str, Any]:
        best = record.best_result
        return {
            "trial_id": record.trial_id,
            "params": {k: self._pack(k, v) for k, v in record.param_config.items()},
            "extra": self._pack_extra(record.extra_arg),
            "experiment": record.experiment_index,
            "number": record.number,
            "config_index": record.config_index,
            "best": None if best is None else best[self.reward_attr],
            "issued": record.issued,
            "done": record.done,
            "error": record.error,
        }

    def _record_from_state(self, item: Mapping[str, Any]) -> AutoMLTrial:
        params = {k: self._unpack(k, v) for k, v in item["params"].items()}
        record = AutoMLTrial(
            str(item["trial_id"]),
            params,
            self._unpack_extra(item["extra"]),
            int(item["experiment"]),
            int(item["number"]),
            int(item["config_index"]),
        )
        if item["best"] is not None:
            record.best_result = {self.reward_attr: item["best"]}
            record.last_result = record.best_result
        record.issued = bool(item["issued"])
        record.done = bool(item["done"])
        record.error = bool(item["error"])
        return record

    def _space_named(self, name: str) -> ParameterSpace | None:
        return next((s for s in self.search_space.param_list if s.name == name), None)

    def _pack(self, name: str, value: Any) -> dict[str, Any]:
        if _json_keeps(value):
            return {"value": value}
        space = self._space_named(name)
        if space is not None:
            for index, candidate in enumerate(space.choices):
                if candidate is value or safely_equal(candidate, value):
                    return {"choice": index}
        raise TypeError(
            f"{type(self).__name__} cannot save the value {value!r} of {name!r}: it is not "
            "JSON and not one of the parameter's choices"
        )

    def _unpack(self, name: str, packed: Mapping[str, Any]) -> Any:
        if "value" in packed:
            return packed["value"]
        space = self._space_named(name)
        if space is None:
            raise ValueError(f"the saved state names a parameter {name!r} the space lacks")
        return space.choices[int(packed["choice"])]

    def _pack_extra(self, extra: Any) -> dict[str, Any]:
        if extra is None:
            return {"none": True}
        gene = self._gene_indices(extra)
        if gene is not None:
            return {"gene": gene}
        if _json_keeps(extra):
            return {"value": extra}
        raise TypeError(f"{type(self).__name__} cannot save the extra argument {extra!r}")

    def _unpack_extra(self, packed: Mapping[str, Any]) -> Any:
        if "gene" in packed:
            return self._gene_from_indices(packed["gene"])
        return packed.get("value")

    def _gene_indices(self, gene: Any) -> list[int] | None:
        """The choice index of each vector of a one-hot gene; None when ``gene`` is not one."""
        params = self.search_space.param_list
        if isinstance(gene, str | bytes | Mapping) or not isinstance(gene, Sequence):
            return None
        if len(gene) != len(params):
            return None
        try:
            return [hot_index(vector, space) for vector, space in zip(gene, params, strict=True)]
        except (TypeError, ValueError):
            return None

    def _gene_from_indices(self, indices: Sequence[int]) -> list[Any]:
        params = self.search_space.param_list
        return [
            one_hot(space.choices_count(), int(i)) for space, i in zip(params, indices, strict=True)
        ]


def _reward(result: Mapping[str, Any], attr: str) -> float | None:
    value = result.get(attr)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _json_keeps(value: Any) -> bool:
    try:
        return bool(json.loads(json.dumps(value)) == value)
    except (TypeError, ValueError, RecursionError):
        return False


class GridSearch(AutoMLSearcher):
    """One round with every combination of the parameters' choices (a
    :class:`ContinuousSpace` contributes its ``num`` sampled values)."""

    def _select(self) -> tuple[list[dict[str, Any]], list[Any] | None]:
        grid = self.search_space.to_grid_search()
        return [config for _, config in generate_variants(grid, random_state=self._rng)], None

    def _feedback(self, trials: list[AutoMLTrial]) -> str:
        return self.TERMINATE


class RandomSearch(AutoMLSearcher):
    """One round of ``repeat`` random configs: a :class:`DiscreteSpace` draws one of its
    choices, a :class:`ContinuousSpace` a uniform value from ``[start, end]``."""

    def __init__(
        self, search_space: SearchSpace, reward_attr: str, repeat: int, *, seed: object = None
    ) -> None:
        super().__init__(search_space, reward_attr, seed=seed)
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
            raise ValueError(f"`repeat` must be an int >= 1 (configs to try), got {repeat!r}")
        self.repeat = repeat

    def _select(self) -> tuple[list[dict[str, Any]], list[Any] | None]:
        choices = self.search_space.to_random_choice()
        configs: list[dict[str, Any]] = []
        for _ in range(self.repeat):
            configs.extend(
                config for _, config in generate_variants(choices, random_state=self._rng)
            )
        return configs, None

    def _feedback(self, trials: list[AutoMLTrial]) -> str:
        return self.TERMINATE
