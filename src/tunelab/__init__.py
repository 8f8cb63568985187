"""tunelab: hyperparameter tuning in local worker processes.

``import tunelab as tune`` gives the names of every Ray Tune API generation:
``tune.run``/``run_experiments``/``Experiment``, ``Tuner``/``TuneConfig``/``RunConfig``,
the search-space functions, ``report``/``session``/``track``, ``Trainable`` and more.

Every public module of Ray Tune is a submodule here by the porting rule ``ray.tune.X`` ->
``tunelab.X`` (``tunelab.schedulers.pbt``, ``tunelab.suggest.hyperopt``, ``tunelab.sample``,
``tunelab.logger``, ...), reachable as an attribute without importing it first
(``tune.logger.Logger``). ``tunelab.tune`` is this module itself, so that
``import tunelab as ray; ray.tune.run(...)`` and ``from tunelab import tune`` work.
"""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names, for type checkers; imported on first use at run time
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
    from tunelab._frontdoor.run import run, run_experiments
    from tunelab._frontdoor.tuner import Tuner
    from tunelab._registry import register_env, register_trainable
    from tunelab._resources import PlacementGroupFactory
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

__version__ = "0.2.0"

# Every name is imported on first use: ``import tunelab`` costs a few milliseconds, and a
# worker process, which needs only the in-trial API (``tunelab.report``, ...), never imports
# the front doors, the controller or the analysis layer.
_LAZY = {
    "Callback": "tunelab._callback",
    "Checkpoint": "tunelab._checkpoint",
    "CheckpointConfig": "tunelab._config",
    "FailureConfig": "tunelab._config",
    "ResumeConfig": "tunelab._config",
    "RunConfig": "tunelab._config",
    "SyncConfig": "tunelab._config",
    "TuneConfig": "tunelab._config",
    "CorruptFileError": "tunelab._errors",
    "ResultNotSerializable": "tunelab._errors",
    "StorageError": "tunelab._errors",
    "TuneError": "tunelab._errors",
    "Experiment": "tunelab._experiment",
    "run": "tunelab._frontdoor.run",
    "run_experiments": "tunelab._frontdoor.run",
    "Tuner": "tunelab._frontdoor.tuner",
    "register_env": "tunelab._registry",
    "register_trainable": "tunelab._registry",
    "PlacementGroupFactory": "tunelab._resources",
    "TuneContext": "tunelab._session",
    "checkpoint_dir": "tunelab._session",
    "get_checkpoint": "tunelab._session",
    "get_context": "tunelab._session",
    "get_trial_dir": "tunelab._session",
    "get_trial_id": "tunelab._session",
    "get_trial_name": "tunelab._session",
    "get_trial_resources": "tunelab._session",
    "is_session_enabled": "tunelab._session",
    "report": "tunelab._session",
    "Trial": "tunelab._trial",
    "TrialStatus": "tunelab._trial",
    "create_scheduler": "tunelab.schedulers",
    "create_searcher": "tunelab.search",
    "choice": "tunelab.search.sample",
    "function": "tunelab.search.sample",
    "grid_search": "tunelab.search.sample",
    "lograndint": "tunelab.search.sample",
    "loguniform": "tunelab.search.sample",
    "qlograndint": "tunelab.search.sample",
    "qloguniform": "tunelab.search.sample",
    "qrandint": "tunelab.search.sample",
    "qrandn": "tunelab.search.sample",
    "quniform": "tunelab.search.sample",
    "randint": "tunelab.search.sample",
    "randn": "tunelab.search.sample",
    "sample_from": "tunelab.search.sample",
    "uniform": "tunelab.search.sample",
    "Stopper": "tunelab.stopper",
    "Trainable": "tunelab.trainable",
    "with_parameters": "tunelab.trainable",
    "with_resources": "tunelab.trainable",
    "get_pinned_object": "tunelab.utils",
    "pin_in_object_store": "tunelab.utils",
    "Analysis": "tunelab.analysis",
    "ExperimentAnalysis": "tunelab.analysis",
    "Result": "tunelab.analysis",
    "ResultGrid": "tunelab.analysis",
    "CLIReporter": "tunelab.progress",
    "JupyterNotebookReporter": "tunelab.progress",
    "ProgressReporter": "tunelab.progress",
    # ``import tunelab as ray``: ray.init(...), ray.get_gpu_ids(), ray.put/get ...
    "ObjectRef": "tunelab._frontdoor.runtime",
    "available_resources": "tunelab._frontdoor.runtime",
    "cluster_resources": "tunelab._frontdoor.runtime",
    "get": "tunelab._frontdoor.runtime",
    "get_gpu_ids": "tunelab._frontdoor.runtime",
    "init": "tunelab._frontdoor.runtime",
    "is_initialized": "tunelab._frontdoor.runtime",
    "nodes": "tunelab._frontdoor.runtime",
    "put": "tunelab._frontdoor.runtime",
    "shutdown": "tunelab._frontdoor.runtime",
    # 0.8-1.x names, reachable but not in ``__all__``: ``tune.EarlyStopping`` (now
    # ``tunelab.stopper.EarlyStopping``), 0.8.6's function-API checkpointing
    "EarlyStopping": "tunelab.stopper",
    "DurableTrainable": "tunelab.trainable",
    "durable": "tunelab.trainable",
    "make_checkpoint_dir": "tunelab._session_legacy",
    "save_checkpoint": "tunelab._session_legacy",
}

# Ray Core names an ``import tunelab as ray`` script may reach, with no tunelab counterpart
_RAY_CORE = frozenset(
    {
        "actor",
        "cancel",
        "data",
        "get_actor",
        "get_runtime_context",
        "kill",
        "method",
        "remote",
        "rllib",
        "serve",
        "timeline",
        "wait",
        "workflow",
    }
)

# Public submodules, imported on first attribute access (``tunelab.logger.Logger`` works
# without ``import tunelab.logger``).
_SUBMODULES = frozenset(
    {
        "air",
        "analysis",
        "automl",
        "callback",
        "error",
        "execution",
        "experiment",
        "integration",
        "logger",
        "plot",
        "progress",
        "progress_reporter",
        "registry",
        "resources",
        "result",
        "result_grid",
        "sample",
        "schedulers",
        "search",
        "server",
        "session",
        "sklearn",
        "stopper",
        "suggest",
        "syncer",
        "testing",
        "track",
        "train",
        "trainable",
        "trial",
        "trial_runner",
        "tune_config",
        "tuner",
        "util",
        "utils",
        "web_server",
    }
)

# ``ray.tune`` after ``import tunelab as ray``, and Ray's ``ray.tune.tune`` module path.
tune = sys.modules[__name__]
sys.modules.setdefault(f"{__name__}.tune", tune)


def __getattr__(name: str) -> object:
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    module = _LAZY.get(name)
    if module is None:
        if name in _RAY_CORE:
            raise AttributeError(
                f"module 'tunelab' has no attribute {name!r}: tunelab has no counterpart of "
                f"Ray Core's ray.{name} (it runs Tune trials, not Ray tasks, actors or Ray's "
                "other libraries)"
            )
        raise AttributeError(f"module 'tunelab' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *_SUBMODULES, "tune"})


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
    "ObjectRef",
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
    "available_resources",
    "checkpoint_dir",
    "choice",
    "cluster_resources",
    "create_scheduler",
    "create_searcher",
    "function",
    "get",
    "get_checkpoint",
    "get_context",
    "get_gpu_ids",
    "get_pinned_object",
    "get_trial_dir",
    "get_trial_id",
    "get_trial_name",
    "get_trial_resources",
    "grid_search",
    "init",
    "is_initialized",
    "is_session_enabled",
    "lograndint",
    "loguniform",
    "nodes",
    "pin_in_object_store",
    "put",
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
    "shutdown",
    "track",
    "train",
    "uniform",
    "with_parameters",
    "with_resources",
]
