"""Ray Tune's strict metric check: the metrics the run, its scheduler and its searcher
expect, and the check of each result the trainable filled against them (pure)."""

from __future__ import annotations

from typing import Any

from tunelab._errors import TuneValueError
from tunelab._trial import Trial
from tunelab.progress._table import lookup
from tunelab.result import AUTO_RESULT_KEYS, DEFAULT_METRIC
from tunelab.schedulers import TrialScheduler
from tunelab.search._search_algorithm import SearchAlgorithm
from tunelab.search._wrappers import searcher_chain

__all__ = ["check_result_metrics", "required_metrics"]


#: keys that every result has without the trainable reporting them: a result with nothing
#: else (a bare ``done``, a checkpoint-only report) is not held to the metric check
_FILLED_IN_KEYS = frozenset(
    (
        *AUTO_RESULT_KEYS,
        "timesteps_since_restore",
        "checkpoint_dir_name",
        "should_checkpoint",
        "experiment_id",
    )
)


def required_metrics(
    metric: Any, scheduler: TrialScheduler, search_alg: SearchAlgorithm
) -> list[tuple[str, str]]:
    """The metrics the run (``metric=``), the scheduler and the searcher expect in every
    result, each with who expects it (``"_metric"``, the placeholder of a mode without a
    metric, is not one)."""
    required: list[tuple[str, str]] = []

    def add(value: Any, who: str) -> None:
        names = value if isinstance(value, (list, tuple)) else [value]
        for name in names:
            known = any(name == m for m, _ in required)
            if isinstance(name, str) and name and name != DEFAULT_METRIC and not known:
                required.append((name, who))

    add(metric, "the run (metric=)")
    add(getattr(scheduler, "metric", None), type(scheduler).__name__)
    chain = searcher_chain(search_alg)  # SearchGenerator -> ConcurrencyLimiter -> ... -> searcher
    for member in reversed(chain):  # named after the innermost searcher that has it
        add(getattr(member, "metric", None), type(member).__name__)
    return required


def check_result_metrics(
    trial: Trial, result: dict[str, Any], required: list[tuple[str, str]]
) -> None:
    """Ray Tune's strict metric check: a result the trainable filled (it holds a key of its
    own) must hold every required metric (nested ones as ``"a/b"``). Raises
    :class:`~tunelab._errors.TuneValueError` naming the missing metric, who expects it and
    the metrics the trial reported."""
    missing = [(m, who) for m, who in required if not _present(result, m)]
    if not missing:
        return
    reported = sorted(str(k) for k in result if k not in _FILLED_IN_KEYS)
    if not reported:
        return
    names = ", ".join(repr(m) for m, _ in missing)
    who = ", ".join(sorted({w for _, w in missing}))
    raise TuneValueError(
        f"Trial {trial} reported a result without the metric(s) {names} that {who} "
        f"expects; the metrics it reported: {reported}. Make your tune.report() / "
        f"session.report() calls include it, or set the environment variable "
        f"TUNE_DISABLE_STRICT_METRIC_CHECKING=1 to turn this check off"
    )


_MISSING = object()


def _present(result: dict[str, Any], metric: str) -> bool:
    """Whether ``result`` holds ``metric``: a key, or ``"a/b"`` naming ``result["a"]["b"]``
    (a None value counts: the metric is there)."""
    return lookup(result, metric, _MISSING) is not _MISSING
