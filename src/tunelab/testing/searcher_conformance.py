"""A conformance suite for searchers (:class:`~tunelab.search.Searcher`) and search algorithms
(:class:`~tunelab.search.SearchAlgorithm`).

``check_searcher(factory)`` builds search objects with ``factory()``; a ``Searcher`` is wrapped
in :class:`~tunelab.search.SearchGenerator` exactly as the controller wraps it, so every object
is driven through the :class:`~tunelab.search.SearchAlgorithm` protocol:

* ``set_search_properties(metric, mode, space)`` then ``add_configurations`` with one
  experiment of ``num_samples`` trials; ``next_trial`` while up to ``concurrency`` trials
  run, one intermediate result (when ``wants_results``) and ``on_trial_complete`` for each;
  the search must suggest exactly ``num_samples`` trials and never stall (``None`` with
  nothing running and the search not finished);
* every suggested config lies inside the space (each domain's ``is_valid``), keeps the
  space's constants and resolves its ``sample_from`` values;
* FINISHED: once finished, ``next_trial`` stays ``None``, ``is_finished`` stays ``True``,
  and completing the trials still running is accepted; completing an unknown trial id is
  ignored (no exception), and so is a trial that failed (``error=True``, no result);
* ``get_state()`` survives ``json.dumps``/``json.loads``; a fresh object given that state
  (after ``set_search_properties``/``add_configurations``, as a resumed experiment does)
  accepts the completions of trials suggested before the save and then suggests the same
  configurations as the original, given the same results.

Use it from pytest::

    from tunelab.testing.searcher_conformance import check_searcher

    def test_my_searcher_conforms():
        check_searcher(lambda: MySearcher(seed=0))
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tunelab.search._common import is_grid_spec, is_unresolved
from tunelab.search._domain import Domain, Function
from tunelab.search._resolve import find_unresolved
from tunelab.search._sample import choice, qrandint, randint, sample_from, uniform
from tunelab.search._search_algorithm import SearchAlgorithm, TrialSuggestion
from tunelab.search._searcher import Searcher, SearchGenerator

__all__ = ["ConformanceError", "check_searcher", "default_objective", "default_space"]

SearcherFactory = Callable[[], Searcher | SearchAlgorithm]


class ConformanceError(AssertionError):
    """A searcher broke the contract (the message says how)."""


@dataclass
class _Experiment:
    config: dict[str, Any]
    num_samples: int
    name: str = "conformance"


@dataclass
class _Trial:
    trial_id: str
    config: dict[str, Any]


@dataclass
class _Run:
    alg: SearchAlgorithm
    live: list[_Trial] = field(default_factory=list)
    configs: list[dict[str, Any]] = field(default_factory=list)


def default_space() -> dict[str, Any]:
    """A small space with a float, an int, a stepped int, a category, a constant and a
    ``sample_from`` that reads a searched value."""
    return {
        "x": uniform(-2.0, 2.0),
        "n": randint(0, 5),
        "step": qrandint(0, 20, 5),
        "kind": choice(["a", "b", "c"]),
        "nested": {"y": uniform(0.0, 1.0), "const": 7},
        "double_x": sample_from(lambda config: config["x"] * 2),
    }


def default_objective(config: Mapping[str, Any]) -> float:
    """A smooth function of the default space (lower is better)."""
    return float(
        (config["x"] - 0.5) ** 2
        + (config["nested"]["y"] - 0.25) ** 2
        + 0.1 * config["n"]
        + (0.0 if config["kind"] == "b" else 0.5)
    )


def check_searcher(
    factory: SearcherFactory,
    *,
    space: dict[str, Any] | None = None,
    objective: Callable[[Mapping[str, Any]], float] = default_objective,
    metric: str = "loss",
    mode: str = "min",
    num_samples: int = 12,
    concurrency: int = 2,
    check_restore: bool = True,
) -> None:
    """Run every check of the module docstring; raise :class:`ConformanceError` on a breach.

    Args:
        factory: Returns a new, identically configured and seeded ``Searcher`` or
            ``SearchAlgorithm`` each call (the restore check compares two of them).
        space: The search space, handed over through ``set_search_properties`` and the
            experiment's config; None: :func:`default_space`.
        objective: Computes each trial's metric from its config (lower is better for
            ``mode="min"``); defaults to :func:`default_objective`.
        metric: The metric's name.
        mode: ``"min"`` or ``"max"``.
        num_samples: Trials to suggest (>= 4).
        concurrency: Trials running at once (>= 1).
        check_restore: Also check that ``get_state``/``set_state`` resume the search.

    Raises:
        ValueError: ``num_samples`` is below 4 or ``concurrency`` below 1.
        ConformanceError: An ``AssertionError`` at the first breach, saying what the
            searcher did wrong.
    """
    space = space if space is not None else default_space()
    if num_samples < 4:
        raise ValueError(f"`num_samples` of check_searcher() must be >= 4, got {num_samples}")
    if concurrency < 1:
        raise ValueError(f"`concurrency` of check_searcher() must be >= 1, got {concurrency}")
    first = _start(factory, space, metric, mode, num_samples)
    _run(first, space, objective, metric, mode, num_samples, concurrency, stop_after=None)
    _check_finished(first, num_samples)
    _check_tolerates_unknown(factory, space, metric, mode, num_samples)
    if check_restore:
        _check_restore(factory, space, objective, metric, mode, num_samples, concurrency)


def _start(
    factory: SearcherFactory, space: dict[str, Any], metric: str, mode: str, num_samples: int
) -> _Run:
    made = factory()
    if isinstance(made, Searcher):
        alg: SearchAlgorithm = SearchGenerator(made)
    elif isinstance(made, SearchAlgorithm):
        alg = made
    else:
        raise ConformanceError(f"factory() must return a Searcher or SearchAlgorithm, got {made!r}")
    alg.set_search_properties(metric, mode, space)
    alg.add_configurations([_Experiment(config=space, num_samples=num_samples)])
    return _Run(alg)


def _result(
    config: Mapping[str, Any], objective: Callable[[Mapping[str, Any]], float], metric: str
) -> dict[str, Any]:
    return {metric: objective(config), "training_iteration": 1, "done": True}


def _complete_one(run: _Run, objective: Callable[[Mapping[str, Any]], float], metric: str) -> None:
    trial = run.live.pop(0)
    result = _result(trial.config, objective, metric)
    if run.alg.wants_results:
        run.alg.on_trial_result(trial.trial_id, {**result, "done": False})
    run.alg.on_trial_complete(trial.trial_id, result, error=False)


def _run(
    run: _Run,
    space: dict[str, Any],
    objective: Callable[[Mapping[str, Any]], float],
    metric: str,
    mode: str,
    num_samples: int,
    concurrency: int,
    stop_after: int | None,
) -> None:
    """Suggest and complete trials until the search finishes (or ``stop_after`` suggestions)."""
    name = type(run.alg).__name__
    guard = 0
    while True:
        guard += 1
        if guard > 20 * num_samples + 100:
            raise ConformanceError(f"{name}: the search loops without finishing")
        if stop_after is not None and len(run.configs) >= stop_after:
            return
        if run.alg.is_finished():
            break
        if len(run.live) >= concurrency:
            _complete_one(run, objective, metric)
            continue
        suggestion = run.alg.next_trial()
        if suggestion is None:
            if run.alg.is_finished():
                break
            if not run.live:
                raise ConformanceError(
                    f"{name}: next_trial() returned None with no trial running and the search "
                    f"not finished (it would stall the experiment)"
                )
            _complete_one(run, objective, metric)
            continue
        _check_suggestion(name, suggestion, space)
        trial_id = suggestion.trial_id or f"trial_{len(run.configs):05d}"
        run.live.append(_Trial(trial_id, suggestion.config))
        run.configs.append(suggestion.config)
    while run.live:
        _complete_one(run, objective, metric)
    if len(run.configs) != num_samples:
        raise ConformanceError(
            f"{name}: suggested {len(run.configs)} trials for num_samples={num_samples}"
        )


def _check_suggestion(name: str, suggestion: Any, space: dict[str, Any]) -> None:
    if not isinstance(suggestion, TrialSuggestion):
        raise ConformanceError(f"{name}: next_trial() must return a TrialSuggestion or None")
    config = suggestion.config
    if not isinstance(config, dict):
        raise ConformanceError(f"{name}: a suggestion's config must be a dict, got {config!r}")
    for path, leaf in find_unresolved(space):
        where = "/".join(map(str, path))
        try:
            value = _get(config, path)
        except (KeyError, IndexError, TypeError) as exc:
            raise ConformanceError(f"{name}: the config {config!r} lacks {where!r}") from exc
        if isinstance(leaf, Function):
            continue
        if is_grid_spec(leaf):
            if not any(value == v for v in leaf["grid_search"]):
                raise ConformanceError(f"{name}: {where}={value!r} is not a grid value")
        elif isinstance(leaf, Domain) and not leaf.is_valid(value):
            raise ConformanceError(f"{name}: {where}={value!r} is outside its domain {leaf!r}")
    if (
        isinstance(space.get("double_x"), Function)
        and "x" in space
        and not math.isclose(config["double_x"], config["x"] * 2)
    ):
        raise ConformanceError(f"{name}: sample_from was not resolved from the suggestion")
    _check_constants(name, space, config, ())
    if find_unresolved(config):
        raise ConformanceError(f"{name}: the config {config!r} still holds unresolved values")


def _check_constants(
    name: str, space: Mapping[str, Any], config: Any, path: tuple[Any, ...]
) -> None:
    """Every constant of the space (outside lists) reaches the config unchanged."""
    for key, value in space.items():
        here = (*path, key)
        if is_unresolved(value) or isinstance(value, list | tuple):
            continue
        inner = config.get(key) if isinstance(config, dict) else None
        if isinstance(value, dict):
            _check_constants(name, value, inner if isinstance(inner, dict) else {}, here)
        elif not isinstance(config, dict) or key not in config or inner != value:
            where = "/".join(map(str, here))
            raise ConformanceError(f"{name}: the constant {where}={value!r} became {inner!r}")


def _get(config: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        config = config[key]
    return config


def _check_finished(run: _Run, num_samples: int) -> None:
    name = type(run.alg).__name__
    if not run.alg.is_finished():
        raise ConformanceError(f"{name}: is_finished() is False after {num_samples} trials")
    for _ in range(3):
        if run.alg.next_trial() is not None:
            raise ConformanceError(f"{name}: next_trial() suggested a trial after finishing")
    if not run.alg.is_finished():
        raise ConformanceError(f"{name}: is_finished() went back to False")


def _check_tolerates_unknown(
    factory: SearcherFactory, space: dict[str, Any], metric: str, mode: str, num_samples: int
) -> None:
    run = _start(factory, space, metric, mode, num_samples)
    name = type(run.alg).__name__
    try:
        run.alg.on_trial_complete("never-suggested", {metric: 1.0}, error=False)
    except Exception as exc:
        raise ConformanceError(
            f"{name}: on_trial_complete() of an unknown trial id raised {exc!r}"
        ) from exc
    suggestion = run.alg.next_trial()
    if suggestion is None:
        raise ConformanceError(f"{name}: no first suggestion")
    trial_id = suggestion.trial_id or "trial_00000"
    try:
        run.alg.on_trial_complete(trial_id, None, error=True)
    except Exception as exc:
        raise ConformanceError(f"{name}: a failed trial (error=True) raised {exc!r}") from exc
    if run.alg.next_trial() is None and not run.alg.is_finished():
        raise ConformanceError(f"{name}: no suggestion after a failed trial")


def _check_restore(
    factory: SearcherFactory,
    space: dict[str, Any],
    objective: Callable[[Mapping[str, Any]], float],
    metric: str,
    mode: str,
    num_samples: int,
    concurrency: int,
) -> None:
    original = _start(factory, space, metric, mode, num_samples)
    half = num_samples // 2
    _run(original, space, objective, metric, mode, num_samples, concurrency, stop_after=half)
    name = type(original.alg).__name__
    try:
        text = json.dumps(original.alg.get_state())
    except (TypeError, ValueError) as exc:
        raise ConformanceError(f"{name}: get_state() is not JSON-serializable: {exc}") from exc
    restored = _start(factory, space, metric, mode, num_samples)
    restored.alg.set_state(json.loads(text))
    restored.live = [_Trial(t.trial_id, t.config) for t in original.live]
    restored.configs = list(original.configs)
    for run in (original, restored):
        _run(run, space, objective, metric, mode, num_samples, concurrency, stop_after=None)
    if original.configs != restored.configs:
        after_save = [
            (a, b) for a, b in zip(original.configs[half:], restored.configs[half:]) if a != b
        ]
        raise ConformanceError(
            f"{name}: after set_state() the suggestions differ from the original's; first "
            f"difference: {after_save[:1]!r}"
        )
