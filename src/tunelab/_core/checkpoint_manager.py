"""Which checkpoints of a trial stay on disk (``CheckpointConfig`` retention).

Pure bookkeeping plus the deletion of the checkpoints the policy drops, through the
``delete`` callable (default: remove the local directory). The controller's callable only
queues them: it deletes them once the journal that records the newer checkpoint is on disk,
so that a run killed (or stopped by a full disk) in between still resumes from a checkpoint
that exists. The latest checkpoint is never deleted (a failed trial restarts from it), even
when its score is not among the best ``num_to_keep``.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from collections.abc import Callable, Sequence
from typing import Any

logger = logging.getLogger("tunelab")


def _lookup(result: dict[str, Any], key: str) -> Any:
    if key in result:
        return result[key]
    node: Any = result
    for part in key.split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def delete_local(path: str) -> None:
    """Remove the local checkpoint directory ``path`` (if it is there)."""
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)


class CheckpointManager:
    """Keeps ``(path, metrics)`` of one trial's checkpoints and deletes those not retained.

    ``num_to_keep=None`` keeps all; otherwise the best ``num_to_keep`` by
    ``score_attribute`` (``score_order`` "max"/"min"), or the most recent ones when no
    attribute is given. Checkpoints whose metrics lack the attribute (or hold NaN) rank
    lowest.
    """

    def __init__(
        self,
        num_to_keep: int | None = None,
        score_attribute: str | None = None,
        score_order: str = "max",
        delete: Callable[[str], None] | None = None,
    ) -> None:
        self._delete = delete or delete_local
        self.num_to_keep = num_to_keep
        self.score_attribute = score_attribute
        self.score_order = score_order
        self.entries: list[tuple[str, dict[str, Any]]] = []

    def _score(self, index: int) -> tuple[float, int]:
        _path, metrics = self.entries[index]
        if self.score_attribute is None:
            return (float(index), index)
        value = _lookup(metrics, self.score_attribute)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            return (-math.inf, index)
        return ((value if self.score_order == "max" else -value), index)

    def register(self, path: str, metrics: dict[str, Any]) -> list[str]:
        """Record a new (latest) checkpoint; hand the paths no longer kept to ``delete`` and
        return them."""
        self.entries = [(p, m) for p, m in self.entries if p != path]
        self.entries.append((path, dict(metrics)))
        if self.num_to_keep is None or len(self.entries) <= self.num_to_keep:
            return []
        latest = len(self.entries) - 1
        ranked = sorted(range(len(self.entries)), key=self._score, reverse=True)
        keep = set(ranked[: self.num_to_keep]) | {latest}
        dropped = [self.entries[i][0] for i in range(len(self.entries)) if i not in keep]
        self.entries = [self.entries[i] for i in range(len(self.entries)) if i in keep]
        for old in dropped:
            self._delete(old)
            logger.debug("deleted checkpoint %s (not among the ones kept)", old)
        return dropped

    def best(self) -> list[tuple[str, dict[str, Any]]]:
        """Retained checkpoints, best first."""
        order = sorted(range(len(self.entries)), key=self._score, reverse=True)
        return [self.entries[i] for i in order]

    def to_state(self) -> list[list[Any]]:
        return [[p, m] for p, m in self.entries]

    def load_state(self, state: Sequence[Sequence[Any]]) -> None:
        self.entries = [(str(p), dict(m)) for p, m in state]
