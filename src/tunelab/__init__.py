"""tunelab: hyperparameter tuning in local worker processes.

``import tunelab as tune`` gives the names of every Ray Tune API generation:
``tune.run``/``run_experiments``/``Experiment``, ``Tuner``/``TuneConfig``/``RunConfig``,
the search-space functions, ``report``/``session``/``track``, ``Trainable`` and more.
"""

from tunelab import air, session, track, train
from tunelab._callback import Callback
from tunelab._checkpoint import Checkpoint
from tunelab._config import (
    CheckpointConfig,
    FailureConfig,
    ResumeConfig,
    RunConfig,
    SyncConfig,
    TuneConfig,
)
from tunelab._errors import (
    CorruptFileError,
    ResultNotSerializable,
    StorageError,
    TuneError,
)
from tunelab._experiment import Experiment
from tunelab._registry import register_env, register_trainable
from tunelab._resources import PlacementGroupFactory
from tunelab._run import run, run_experiments
from tunelab._session import (
    TuneContext,
    checkpoint_dir,
    get_checkpoint,
    get_context,
    get_trial_dir,
    get_trial_id,
    get_trial_name,
    get_trial_resources,
    is_session_enabled,
    report,
)
from tunelab._trial import Trial, TrialStatus
from tunelab._tuner import Tuner
from tunelab.schedulers import create_scheduler
from tunelab.search import create_searcher
from tunelab.search.sample import (
    choice,
    function,
    grid_search,
    lograndint,
    loguniform,
    qlograndint,
    qloguniform,
    qrandint,
    qrandn,
    quniform,
    randint,
    randn,
    sample_from,
    uniform,
)
from tunelab.stopper import Stopper
from tunelab.trainable import Trainable, with_parameters, with_resources
from tunelab.utils import get_pinned_object, pin_in_object_store

__version__ = "0.1.0"

# Imported on first use, to keep ``import tunelab`` fast.
_LAZY = {
    "Analysis": "tunelab.analysis",
    "ExperimentAnalysis": "tunelab.analysis",
    "Result": "tunelab.analysis",
    "ResultGrid": "tunelab.analysis",
    "CLIReporter": "tunelab.progress",
    "JupyterNotebookReporter": "tunelab.progress",
    "ProgressReporter": "tunelab.progress",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tunelab' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Analysis",
    "CLIReporter",
    "Callback",
    "Checkpoint",
    "CheckpointConfig",
    "CorruptFileError",
    "Experiment",
    "ExperimentAnalysis",
    "FailureConfig",
    "JupyterNotebookReporter",
    "PlacementGroupFactory",
    "ProgressReporter",
    "Result",
    "ResultGrid",
    "ResultNotSerializable",
    "ResumeConfig",
    "RunConfig",
    "Stopper",
    "StorageError",
    "SyncConfig",
    "Trainable",
    "Trial",
    "TrialStatus",
    "TuneConfig",
    "TuneContext",
    "TuneError",
    "Tuner",
    "__version__",
    "air",
    "checkpoint_dir",
    "choice",
    "create_scheduler",
    "create_searcher",
    "function",
    "get_checkpoint",
    "get_context",
    "get_pinned_object",
    "get_trial_dir",
    "get_trial_id",
    "get_trial_name",
    "get_trial_resources",
    "grid_search",
    "is_session_enabled",
    "lograndint",
    "loguniform",
    "pin_in_object_store",
    "qlograndint",
    "qloguniform",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "register_env",
    "register_trainable",
    "report",
    "run",
    "run_experiments",
    "sample_from",
    "session",
    "track",
    "train",
    "uniform",
    "with_parameters",
    "with_resources",
]
