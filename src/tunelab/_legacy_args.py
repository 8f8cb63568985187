"""Older argument spellings that schedulers and searchers share.

* ``reward_attr`` (Ray Tune 0.5-0.7, deprecated in 0.8): the name of the metric to
  *maximise*; it means ``metric=reward_attr, mode="max"``. Given together with ``metric`` it
  is a ``ValueError`` (the two would disagree); with ``mode="min"`` too.
* ``max_concurrent`` on a searcher (0.x-1.x): how many of its trials may run at once; ``None``
  or ``0`` means no limit.
* ``use_early_stopped_trials`` on a searcher (0.8, deprecated there): early-stopped trials
  always inform the search; ``True`` is accepted with a warning that it changes nothing,
  ``False`` is a ``ValueError`` (as Ray Tune raised).

Nothing here reads the environment or touches files.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["check_max_concurrent", "check_use_early_stopped_trials", "resolve_reward_attr"]


def resolve_reward_attr(
    where: str, reward_attr: Any, metric: Any, mode: Any, *, stacklevel: int = 3
) -> tuple[Any, Any]:
    """``(metric, mode)`` once the 0.5-0.7 ``reward_attr`` is folded in.

    Without ``reward_attr`` the pair comes back unchanged. With it, a ``FutureWarning`` says
    it is deprecated (as Ray Tune logged) and the result is ``(reward_attr, "max")``.
    ``where`` names the constructor in messages (``"AsyncHyperBandScheduler()"``);
    ``stacklevel`` points the warning at the user's call (3: the caller's caller).
    """
    if reward_attr is None:
        return metric, mode
    if not isinstance(reward_attr, str) or not reward_attr:
        raise TypeError(
            f"`reward_attr` of {where} must be a metric name (a non-empty str), got {reward_attr!r}"
        )
    if metric is not None:
        raise ValueError(
            f"{where} got both `metric` ({metric!r}) and the deprecated `reward_attr` "
            f"({reward_attr!r}); pass only metric= (with mode=)"
        )
    if mode not in (None, "max"):
        raise ValueError(
            f"{where}: `reward_attr` ({reward_attr!r}) names a metric to maximise, so `mode` "
            f"must be 'max' or left out, got mode={mode!r}; pass metric= and mode= instead"
        )
    warnings.warn(
        f"{where}: `reward_attr` is deprecated (Ray Tune 0.5-0.7); it is read as "
        f"metric={reward_attr!r}, mode='max'. Pass those instead.",
        FutureWarning,
        stacklevel=stacklevel,
    )
    return reward_attr, "max"


def check_max_concurrent(where: str, max_concurrent: Any) -> int:
    """The 0.x-1.x searcher ``max_concurrent`` as an int (``0``: no limit).

    ``None`` and ``0`` mean no limit; anything else must be an int >= 1.
    """
    if max_concurrent is None:
        return 0
    if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int):
        raise TypeError(
            f"`max_concurrent` of {where} must be None or an int >= 0 (0: no limit), got "
            f"{max_concurrent!r}"
        )
    if max_concurrent < 0:
        raise ValueError(
            f"`max_concurrent` of {where} must be >= 0 (0: no limit), got {max_concurrent}"
        )
    return max_concurrent


def check_use_early_stopped_trials(where: str, value: Any, *, stacklevel: int = 3) -> None:
    """Accept the 0.8 ``use_early_stopped_trials`` (see the module docstring)."""
    if value is None:
        return
    if value is False:
        raise ValueError(
            f"`use_early_stopped_trials=False` of {where} is not supported: early-stopped "
            f"trials always inform the search (as in Ray Tune 0.8+); drop the argument"
        )
    if value is True:
        warnings.warn(
            f"{where}: `use_early_stopped_trials` is deprecated and has no effect (early-stopped "
            f"trials always inform the search)",
            FutureWarning,
            stacklevel=stacklevel,
        )
        return
    raise TypeError(f"`use_early_stopped_trials` of {where} must be None or True, got {value!r}")
