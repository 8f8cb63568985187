"""Names of the result keys tunelab fills in or reacts to (``from tunelab.result import DONE``)."""

from __future__ import annotations

TRAINING_ITERATION = "training_iteration"
TIME_THIS_ITER_S = "time_this_iter_s"
TIME_TOTAL_S = "time_total_s"
TIMESTAMP = "timestamp"
DATE = "date"
DONE = "done"
TRIAL_ID = "trial_id"
EXPERIMENT_TAG = "experiment_tag"
PID = "pid"
HOSTNAME = "hostname"
NODE_IP = "node_ip"
CONFIG = "config"
ITERATIONS_SINCE_RESTORE = "iterations_since_restore"
TIME_SINCE_RESTORE = "time_since_restore"
TIMESTEPS_SINCE_RESTORE = "timesteps_since_restore"
TIMESTEPS_THIS_ITER = "timesteps_this_iter"
TIMESTEPS_TOTAL = "timesteps_total"
EPISODES_THIS_ITER = "episodes_this_iter"
EPISODES_TOTAL = "episodes_total"
SHOULD_CHECKPOINT = "should_checkpoint"
CHECKPOINT_DIR_NAME = "checkpoint_dir_name"
DEFAULT_METRIC = "_metric"
TRIAL_INFO = "__trial_info__"

#: Keys filled in automatically for every result.
AUTO_RESULT_KEYS = (
    TRAINING_ITERATION,
    TIME_THIS_ITER_S,
    TIME_TOTAL_S,
    TIMESTAMP,
    DATE,
    DONE,
    TRIAL_ID,
    EXPERIMENT_TAG,
    PID,
    HOSTNAME,
    NODE_IP,
    CONFIG,
    ITERATIONS_SINCE_RESTORE,
    TIME_SINCE_RESTORE,
)

__all__ = [name for name in list(globals()) if name.isupper()]
