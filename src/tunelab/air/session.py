"""``from tunelab.air import session``: the 2.x in-trial API (``session.report`` ...)."""

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
    return 1


def get_world_rank() -> int:
    return 0


def get_local_rank() -> int:
    return 0


def get_local_world_size() -> int:
    return 1


def get_node_rank() -> int:
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
