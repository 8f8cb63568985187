"""``from tunelab.air import session``: Ray AIR's in-trial API (Ray 2.0-2.6).

``session.report(metrics, checkpoint=...)``, ``session.get_checkpoint()`` and the getters
below are the functions of :mod:`tunelab` itself (:func:`tunelab.report`,
:func:`tunelab.get_checkpoint`...), under the names Ray AIR gave them; Ray 2.7+ code uses
:mod:`tunelab.train` instead. The rank and world-size functions exist for code written for
Ray Train: a tunelab trial is one process, so they return 0 and 1.
"""

from tunelab._session import (
    get_checkpoint,
    get_context,
    get_experiment_name,
    get_trial_dir,
    get_trial_id,
    get_trial_name,
    get_trial_resources,
    is_session_enabled,
    report,
)


def get_world_size() -> int:
    """Ray Train's number of workers: always 1 (a tunelab trial is one process)."""
    return 1


def get_world_rank() -> int:
    """Ray Train's rank of this worker: always 0."""
    return 0


def get_local_rank() -> int:
    """Ray Train's rank of this worker on its node: always 0."""
    return 0


def get_local_world_size() -> int:
    """Ray Train's number of workers on this node: always 1."""
    return 1


def get_node_rank() -> int:
    """Ray Train's rank of this node: always 0."""
    return 0


__all__ = [
    "get_checkpoint",
    "get_context",
    "get_experiment_name",
    "get_local_rank",
    "get_local_world_size",
    "get_node_rank",
    "get_trial_dir",
    "get_trial_id",
    "get_trial_name",
    "get_trial_resources",
    "get_world_rank",
    "get_world_size",
    "is_session_enabled",
    "report",
]
