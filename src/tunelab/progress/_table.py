"""The trial table, the error table and the best-trial line of the progress report."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tunelab._trial import TrialStatus
from tunelab.result import AUTO_RESULT_KEYS

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = [
    "DEFAULT_COLUMNS",
    "best_trial_line",
    "format_params",
    "infer_metric_columns",
    "trial_errors_table",
    "trial_progress_table",
]

#: Metric columns shown when none are given, and the short names they are shown under.
DEFAULT_COLUMNS: dict[str, str] = {
    "mean_accuracy": "acc",
    "mean_loss": "loss",
    "training_iteration": "iter",
    "time_total_s": "total time (s)",
    "timesteps_total": "ts",
    "episode_reward_mean": "reward",
}
#: Default columns that go to the right end of the table.
TAIL_COLUMNS = ("training_iteration", "time_total_s")

# Keys never inferred as user metrics.
_NOT_USER_METRICS = frozenset(
    (
        *AUTO_RESULT_KEYS,
        *DEFAULT_COLUMNS,
        "timesteps_since_restore",
        "timesteps_this_iter",
        "episodes_this_iter",
        "episodes_total",
        "experiment_id",
        "should_checkpoint",
        "checkpoint_dir_name",
        "perf",
    )
)

# Which trials stay visible when rows are cut, in this order; also the table's row order.
_ROW_PRIORITY = (
    TrialStatus.RUNNING,
    TrialStatus.ERROR,
    TrialStatus.PAUSED,
    TrialStatus.PENDING,
    TrialStatus.TERMINATED,
)


def lookup(data: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """``data[key]``, or the nested value ``key`` names with "/" (``"info/lr"``); else
    ``default`` (pass a sentinel to tell a missing key from a None value)."""
    if key in data:
        return data[key]
    if "/" not in key:
        return default
    value: Any = data
    for part in key.split("/"):
        if not isinstance(value, Mapping) or part not in value:
            return default
        value = value[part]
    return value


def shorten(text: str, max_len: int) -> str:
    """``text`` cut to ``max_len`` characters, keeping its end (``"...ers/width"``)."""
    if len(text) <= max_len:
        return text
    return "..." + text[len(text) - max_len + 3 :]


def _cell(value: Any, max_len: int) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "shape", None) == ():
        try:
            return _cell(item(), max_len)
        except Exception:
            pass
    return shorten(str(value), max_len)


def format_params(params: Mapping[str, Any]) -> str:
    """``{'lr': 0.001, 'layers': 3}`` with floats shown to 5 significant digits."""
    parts = []
    for key, value in params.items():
        shown = f"{value:.5g}" if isinstance(value, float) else repr(value)
        parts.append(f"{key!r}: {shown}")
    return "{" + ", ".join(parts) + "}"


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def infer_metric_columns(trials: Sequence[Trial], limit: int) -> list[str]:
    """Up to ``limit`` numeric keys users reported (not auto-filled), in first-seen order."""
    found: dict[str, None] = {}
    if limit <= 0:
        return []
    for trial in trials:
        for key, value in trial.last_result.items():
            if key in found or key in _NOT_USER_METRICS or not isinstance(key, str):
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found[key] = None
                if len(found) >= limit:
                    return list(found)
    return list(found)


def _sort_key(metric: str, mode: str | None) -> Any:
    sign = -1.0 if mode == "max" else 1.0

    def key(trial: Trial) -> tuple[int, float]:
        value = _numeric(lookup(trial.last_result, metric))
        return (1, 0.0) if value is None else (0, sign * value)

    return key


def _select_rows(
    trials: Sequence[Trial], max_rows: int | None, order_key: Any
) -> tuple[list[Trial], dict[str, int]]:
    groups: dict[TrialStatus, list[Trial]] = {status: [] for status in _ROW_PRIORITY}
    for trial in trials:
        groups.setdefault(trial.status, []).append(trial)
    shown: list[Trial] = []
    hidden: dict[str, int] = {}
    room = len(trials) if max_rows is None else max_rows
    for status, members in groups.items():
        if order_key is not None:
            members = sorted(members, key=order_key)
        take = members[: max(room, 0)]
        shown.extend(take)
        room -= len(take)
        if len(members) > len(take):
            hidden[str(status)] = len(members) - len(take)
    return shown, hidden


def trial_progress_table(
    trials: Sequence[Trial],
    *,
    metric_columns: Mapping[str, str],
    parameter_columns: Mapping[str, str],
    max_rows: int | None = 20,
    max_column_length: int = 20,
    fmt: str = "psql",
    metric: str | None = None,
    mode: str | None = None,
    sort_by_metric: bool = False,
) -> list[str]:
    """The trial table (as text blocks): name, status, loc, parameters, metrics.

    Columns without a value in any trial are left out. Beyond ``max_rows`` rows (None: no
    limit) running, errored, paused and pending trials stay visible first, and a
    ``"... N more trials not shown (...)"`` line follows the table.
    """
    from tabulate import tabulate

    if not trials:
        return []
    order_key = _sort_key(metric, mode) if sort_by_metric and metric else None
    shown, hidden = _select_rows(trials, max_rows, order_key)
    params = [
        key for key in parameter_columns if any(_param_value(t, key) is not None for t in shown)
    ]
    metrics = [
        key for key in metric_columns if any(lookup(t.last_result, key) is not None for t in shown)
    ]
    headers = [
        "Trial name",
        "status",
        "loc",
        *(shorten(parameter_columns[k], max_column_length) for k in params),
        *(shorten(metric_columns[k], max_column_length) for k in metrics),
    ]
    rows = []
    for trial in shown:
        row: list[Any] = [str(trial), str(trial.status), trial.location or ""]
        row.extend(_cell(_param_value(trial, k), max_column_length) for k in params)
        row.extend(_cell(lookup(trial.last_result, k), max_column_length) for k in metrics)
        rows.append(row)
    blocks = [tabulate(rows, headers=headers, tablefmt=fmt, showindex=False)]
    if hidden:
        detail = ", ".join(f"{n} {status}" for status, n in hidden.items())
        blocks.append(f"... {sum(hidden.values())} more trials not shown ({detail})")
    return blocks


def _param_value(trial: Trial, key: str) -> Any:
    """A searched parameter's current value: from the trial's config, which PBT's exploits
    and a scheduler's Reconfigure change (the sampled value otherwise)."""
    value = lookup(trial.config, key)
    if value is not None:
        return value
    return trial.evaluated_params.get(key)


def trial_errors_table(
    trials: Sequence[Trial], *, max_rows: int | None = 20, fmt: str = "psql"
) -> list[str]:
    """Errored trials with their failure count and error file (as text blocks)."""
    from tabulate import tabulate

    failed = [t for t in trials if t.status is TrialStatus.ERROR or t.error_file]
    if not failed:
        return []
    shown = failed if max_rows is None else failed[:max_rows]
    rows = [[str(t), max(t.num_failures, 1), t.error_file or ""] for t in shown]
    blocks = [
        f"Number of errored trials: {len(failed)}",
        tabulate(rows, headers=["Trial name", "# failures", "error file"], tablefmt=fmt),
    ]
    if len(failed) > len(shown):
        blocks.append(f"... {len(failed) - len(shown)} more errored trials not shown")
    return blocks


def best_trial_line(trials: Sequence[Trial], metric: str | None, mode: str | None) -> str | None:
    """``"Current best trial: <id> with <metric>=<value> and parameters={...}"`` or None."""
    if not metric or mode not in ("min", "max"):
        return None
    best: Trial | None = None
    best_value = math.inf
    sign = -1.0 if mode == "max" else 1.0
    for trial in trials:
        value = _numeric(lookup(trial.last_result, metric))
        if value is not None and sign * value < best_value:
            best, best_value = trial, sign * value
    if best is None:
        return None
    params = (
        {key: _param_value(best, key) for key in best.evaluated_params}
        if best.evaluated_params
        else best.config
    )
    value = sign * best_value
    return f"Current best trial: {best.trial_id} with {metric}={value:.6g} and parameters={params}"
