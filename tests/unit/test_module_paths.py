"""Every public module path of every Ray Tune generation imports from tunelab.

The porting rule: ``ray.tune.X`` -> ``tunelab.X``, ``ray.air.X`` -> ``tunelab.air.X``,
``ray.train.X`` -> ``tunelab.train.X``. ``RAY_PATHS`` below is the explicit list (what CI
checks): for each Ray module path, the names Ray's scripts import from it. Integration paths
(``RETIRED``, ``RAY_CORE``) must import, and their names must raise an ``ImportError`` that
says why. Two more checks run where their sources are on this machine:

* the reference inventory (``../shared/reference/ray-tune-surface.md``, outside the repo) is
  parsed for every ``ray.tune``/``ray.air``/``ray.train`` path and the names listed under
  its sections; each must resolve (or be a known gap), and be covered by the explicit list;
* Ray's example scripts in the wheels under ``$TUNELAB_RAY_WHEELS`` (default
  ``/tmp/raywheels`` and the compatibility suite's wheel cache) are scanned for every
  ``from ray.tune... import a, b``; each mapped import must work, be an integration
  placeholder, or be a known gap.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tunelab
from tunelab.integration import IntegrationNotAvailableError

# -- the explicit list ----------------------------------------------------------------------

_SAMPLE = (
    "Categorical",
    "Domain",
    "Float",
    "Function",
    "Grid",
    "Integer",
    "LogUniform",
    "Normal",
    "Quantized",
    "Sampler",
    "Uniform",
    "choice",
    "function",
    "lograndint",
    "loguniform",
    "qlograndint",
    "qloguniform",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "sample_from",
    "uniform",
)
_SEARCH = (
    "BasicVariantGenerator",
    "ConcurrencyLimiter",
    "Repeater",
    "SearchAlgorithm",
    "SearchGenerator",
    "Searcher",
    "create_searcher",
    "grid_search",
)
_SESSION = (
    "checkpoint_dir",
    "get_trial_dir",
    "get_trial_id",
    "get_trial_name",
    "get_trial_resources",
    "is_session_enabled",
    "report",
)
_UTILS = (
    "UtilMonitor",
    "date_str",
    "deep_update",
    "diagnose_serialization",
    "flatten_dict",
    "get_pinned_object",
    "merge_dicts",
    "pin_in_object_store",
    "unflattened_lookup",
    "validate_save_restore",
    "wait_for_gpu",
    "warn_if_slow",
)

#: Ray module path -> names that must import from the mapped tunelab path.
RAY_PATHS: dict[str, tuple[str, ...]] = {
    # every generation's ``ray.tune`` (0.x ... newest), with its submodules as attributes
    "ray.tune": (
        "Analysis",
        "CLIReporter",
        "Callback",
        "Checkpoint",
        "CheckpointConfig",
        "EarlyStopping",
        "Experiment",
        "ExperimentAnalysis",
        "FailureConfig",
        "JupyterNotebookReporter",
        "PlacementGroupFactory",
        "ProgressReporter",
        "Result",
        "ResultGrid",
        "ResumeConfig",
        "RunConfig",
        "Stopper",
        "SyncConfig",
        "Trainable",
        "TuneConfig",
        "TuneContext",
        "TuneError",
        "Tuner",
        "create_scheduler",
        "create_searcher",
        "DurableTrainable",
        "durable",
        "get_checkpoint",
        "get_context",
        "get_pinned_object",
        "grid_search",
        "make_checkpoint_dir",
        "pin_in_object_store",
        "register_env",
        "register_trainable",
        "run",
        "run_experiments",
        "save_checkpoint",
        "with_parameters",
        "with_resources",
        *_SAMPLE[11:],
        *_SESSION,
        # submodules scripts reach as attributes (``tune.schedulers.X``, ``tune.logger.X``)
        "analysis",
        "callback",
        "error",
        "execution",
        "experiment",
        "integration",
        "logger",
        "progress_reporter",
        "registry",
        "result",
        "sample",
        "schedulers",
        "search",
        "session",
        "stopper",
        "suggest",
        "syncer",
        "track",
        "trainable",
        "trial",
        "trial_runner",
        "tune",
        "util",
        "utils",
    ),
    "ray.tune.tune": ("run", "run_experiments"),
    "ray.tune.analysis": ("Analysis", "ExperimentAnalysis"),
    "ray.tune.analysis.experiment_analysis": ("Analysis", "ExperimentAnalysis"),
    "ray.tune.automl": (
        "ContinuousSpace",
        "DiscreteSpace",
        "GeneticSearch",
        "GridSearch",
        "RandomSearch",
        "SearchSpace",
    ),
    "ray.tune.automl.genetic_searcher": ("GeneticSearch",),
    "ray.tune.automl.search_policy": (
        "AutoMLSearcher",
        "GridSearch",
        "RandomSearch",
        "deep_insert",
    ),
    "ray.tune.automl.search_space": ("ContinuousSpace", "DiscreteSpace", "SearchSpace"),
    "ray.tune.callback": ("Callback",),
    "ray.tune.error": ("TuneError",),
    "ray.tune.execution.placement_groups": ("PlacementGroupFactory",),
    "ray.tune.execution.tune_controller": ("TuneController",),
    "ray.tune.experiment": ("Experiment", "Trial", "convert_to_experiment_list"),
    "ray.tune.integration": (),
    # issue 13: the XGBoost and LightGBM callbacks (the test venv installs both)
    "ray.tune.integration.lightgbm": (
        "TuneCallback",
        "TuneReportCallback",
        "TuneReportCheckpointCallback",
    ),
    "ray.tune.integration.xgboost": (
        "TuneCallback",
        "TuneReportCallback",
        "TuneReportCheckpointCallback",
    ),
    # issue 13: the Keras and PyTorch Lightning callbacks (the test venv installs both)
    "ray.tune.integration.keras": (
        "TuneCallback",
        "TuneReportCallback",
        "TuneReportCheckpointCallback",
        "TuneReporterCallback",
    ),
    "ray.tune.integration.pytorch_lightning": (
        "TuneCallback",
        "TuneReportCallback",
        "TuneReportCheckpointCallback",
    ),
    "ray.tune.logger": (
        "CSVLogger",
        "CSVLoggerCallback",
        "DEFAULT_LOGGERS",
        "JsonLogger",
        "JsonLoggerCallback",
        "LegacyLoggerCallback",
        "Logger",
        "LoggerCallback",
        "NoopLogger",
        "TBXLogger",
        "TBXLoggerCallback",
        "MLFLowLogger",
        "TFLogger",
        "UnifiedLogger",
        "pretty_print",
    ),
    # experiment trackers (issue 13; the libraries are imported when a name is used)
    "ray.tune.logger.aim": ("AimLoggerCallback",),
    "ray.tune.logger.comet": ("CometLoggerCallback",),
    "ray.tune.logger.mlflow": ("MLflowLoggerCallback",),
    "ray.tune.logger.wandb": ("WandbLoggerCallback",),
    "ray.tune.integration.comet": ("CometLoggerCallback",),
    "ray.tune.integration.mlflow": (
        "MLflowLogger",
        "MLflowLoggerCallback",
        "MLflowTrainableMixin",
        "mlflow_mixin",
    ),
    "ray.tune.integration.wandb": (
        "WANDB_ENV_VAR",
        "WandbLogger",
        "WandbLoggerCallback",
        "WandbTrainableMixin",
        "wandb_mixin",
    ),
    "ray.air.integrations.comet": ("CometLoggerCallback",),
    "ray.air.integrations.mlflow": ("MLflowLoggerCallback", "setup_mlflow"),
    "ray.air.integrations.wandb": ("WandbLoggerCallback", "setup_wandb"),
    "ray.tune.logger.csv": ("CSVLogger", "CSVLoggerCallback"),
    "ray.tune.logger.json": ("JsonLogger", "JsonLoggerCallback"),
    "ray.tune.logger.logger": ("LegacyLoggerCallback", "Logger", "LoggerCallback", "pretty_print"),
    "ray.tune.logger.noop": ("NoopLogger",),
    "ray.tune.logger.tensorboardx": ("TBXLogger", "TBXLoggerCallback"),
    "ray.tune.logger.unified": ("UnifiedLogger",),
    "ray.tune.progress_reporter": ("CLIReporter", "JupyterNotebookReporter", "ProgressReporter"),
    "ray.tune.registry": ("register_env", "register_trainable"),
    "ray.tune.resources": ("Resources",),
    "ray.tune.result": (
        "DONE",
        "EPISODES_TOTAL",
        "SHOULD_CHECKPOINT",
        "TIMESTEPS_TOTAL",
        "TIME_TOTAL_S",
        "TRAINING_ITERATION",
    ),
    "ray.tune.result_grid": ("ResultGrid",),
    "ray.tune.sample": _SAMPLE,
    "ray.tune.schedulers": (
        "ASHAScheduler",
        "AsyncHyperBandScheduler",
        "DistributeResources",
        "DistributeResourcesToTopJob",
        "FIFOScheduler",
        "HyperBandForBOHB",
        "HyperBandScheduler",
        "MedianStoppingRule",
        "PB2",
        "PopulationBasedTraining",
        "PopulationBasedTrainingReplay",
        "ResourceChangingScheduler",
        "TrialScheduler",
        "create_scheduler",
        # the submodules, as attributes
        "async_hyperband",
        "hb_bohb",
        "hyperband",
        "median_stopping_rule",
        "pb2",
        "pbt",
        "resource_changing_scheduler",
        "trial_scheduler",
    ),
    "ray.tune.schedulers.async_hyperband": ("ASHAScheduler", "AsyncHyperBandScheduler"),
    "ray.tune.schedulers.hb_bohb": ("HyperBandForBOHB",),
    "ray.tune.schedulers.hyperband": ("HyperBandScheduler",),
    "ray.tune.schedulers.median_stopping_rule": ("MedianStoppingRule",),
    "ray.tune.schedulers.pb2": ("PB2",),
    "ray.tune.schedulers.pbt": ("PopulationBasedTraining", "PopulationBasedTrainingReplay"),
    "ray.tune.schedulers.resource_changing_scheduler": (
        "DistributeResources",
        "DistributeResourcesToTopJob",
        "ResourceChangingScheduler",
        "evenly_distribute_cpus_gpus",
        "evenly_distribute_cpus_gpus_distributed",
    ),
    "ray.tune.schedulers.trial_scheduler": ("FIFOScheduler", "TrialScheduler"),
    "ray.tune.search": _SEARCH,
    "ray.tune.search.ax": ("AxSearch",),
    "ray.tune.search.basic_variant": ("BasicVariantGenerator",),
    "ray.tune.search.bayesopt": ("BayesOptSearch",),
    "ray.tune.search.bohb": ("TuneBOHB",),
    "ray.tune.search.concurrency_limiter": ("ConcurrencyLimiter",),
    "ray.tune.search.flaml": ("BlendSearch", "CFO"),
    "ray.tune.search.hebo": ("HEBOSearch",),
    "ray.tune.search.hyperopt": ("HyperOptSearch",),
    "ray.tune.search.nevergrad": ("NevergradSearch",),
    "ray.tune.search.optuna": ("OptunaSearch",),
    "ray.tune.search.repeater": ("Repeater",),
    "ray.tune.search.sample": _SAMPLE,
    "ray.tune.search.search_algorithm": ("SearchAlgorithm",),
    "ray.tune.search.search_generator": ("SearchGenerator",),
    "ray.tune.search.searcher": ("Searcher",),
    "ray.tune.search.skopt": ("SkOptSearch",),
    "ray.tune.search.variant_generator": ("BasicVariantGenerator", "grid_search"),
    "ray.tune.search.zoopt": ("ZOOptSearch",),
    # 0.8-1.x: init/shutdown/get_session (the process's trial session), 0.8.6's helpers
    "ray.tune.session": (
        *_SESSION,
        "get_session",
        "init",
        "make_checkpoint_dir",
        "save_checkpoint",
        "shutdown",
    ),
    "ray.tune.stopper": (
        "CombinedStopper",
        "EarlyStopping",
        "ExperimentPlateauStopper",
        "FunctionStopper",
        "MaximumIterationStopper",
        "NoopStopper",
        "Stopper",
        "TimeoutStopper",
        "TrialPlateauStopper",
    ),
    # 0.6/0.7 exported the searcher classes from ray.tune.suggest itself
    "ray.tune.suggest": (
        *_SEARCH,
        "AxSearch",
        "BayesOptSearch",
        "BlendSearch",
        "CFO",
        "HEBOSearch",
        "HyperOptSearch",
        "NevergradSearch",
        "OptunaSearch",
        "SkOptSearch",
        "TuneBOHB",
        "ZOOptSearch",
        "ax",
        "bayesopt",
        "bohb",
        "flaml",
        "hebo",
        "hyperopt",
        "nevergrad",
        "optuna",
        "skopt",
        "zoopt",
    ),
    "ray.tune.suggest.ax": ("AxSearch",),
    "ray.tune.suggest.basic_variant": ("BasicVariantGenerator",),
    "ray.tune.suggest.bayesopt": ("BayesOptSearch",),
    "ray.tune.suggest.bohb": ("TuneBOHB",),
    "ray.tune.suggest.flaml": ("BlendSearch", "CFO"),
    "ray.tune.suggest.hebo": ("HEBOSearch",),
    "ray.tune.suggest.hyperopt": ("HyperOptSearch",),
    "ray.tune.suggest.nevergrad": ("NevergradSearch",),
    "ray.tune.suggest.optuna": ("OptunaSearch",),
    "ray.tune.suggest.repeater": ("Repeater",),
    "ray.tune.suggest.search": ("SearchAlgorithm",),
    "ray.tune.suggest.search_generator": ("SearchGenerator",),
    "ray.tune.suggest.skopt": ("SkOptSearch",),
    "ray.tune.suggest.suggestion": ("ConcurrencyLimiter", "SearchGenerator", "Searcher"),
    "ray.tune.suggest.variant_generator": ("grid_search",),
    "ray.tune.suggest.zoopt": ("ZOOptSearch",),
    "ray.tune.syncer": ("SyncConfig",),
    "ray.tune.track": ("init", "log", "shutdown", "trial_dir", "trial_id", "trial_name"),
    "ray.tune.trainable": ("Trainable", "with_parameters", "with_resources"),
    "ray.tune.trial": ("ExportFormat", "Trial"),
    "ray.tune.trial_runner": ("TrialRunner",),
    "ray.tune.tune_config": ("TuneConfig",),
    "ray.tune.tuner": ("Tuner",),
    "ray.tune.util": ("get_pinned_object", "pin_in_object_store"),
    "ray.tune.utils": _UTILS,
    "ray.tune.utils.mock_trainable": (
        "MOCK_TRAINABLE_NAME",
        "MyTrainableClass",
        "register_mock_trainable",
    ),
    "ray.tune.utils.placement_groups": ("PlacementGroupFactory",),
    "ray.tune.web_server": ("TuneClient", "TuneServer"),
    "ray.air": (
        "Checkpoint",
        "CheckpointConfig",
        "FailureConfig",
        "Result",
        "RunConfig",
        "ScalingConfig",
        "session",
    ),
    "ray.air.checkpoint": ("Checkpoint",),
    "ray.air.config": ("CheckpointConfig", "FailureConfig", "RunConfig"),
    "ray.air.integrations": (),
    "ray.air.integrations.keras": ("ReportCheckpointCallback",),
    "ray.air.result": ("Result",),
    "ray.air.session": (
        "get_checkpoint",
        "get_trial_dir",
        "get_trial_id",
        "get_trial_name",
        "get_trial_resources",
        "report",
    ),
    "ray.train": (
        "Checkpoint",
        "CheckpointConfig",
        "FailureConfig",
        "Result",
        "RunConfig",
        "ScalingConfig",
        "get_checkpoint",
        "get_context",
        "report",
    ),
    "ray.train.huggingface.transformers": ("RayTrainReportCallback", "prepare_trainer"),
    "ray.train.lightgbm": ("RayTrainReportCallback",),
    "ray.train.lightning": ("RayTrainReportCallback",),
    "ray.train.tensorflow.keras": ("ReportCheckpointCallback",),
    "ray.train.xgboost": ("RayTrainReportCallback",),
}

#: Integrations whose framework cannot run here: each name raises an ImportError saying why.
RETIRED: dict[str, tuple[str, ...]] = {
    "ray.tune.integration.mxnet": ("TuneCallback", "TuneCheckpointCallback", "TuneReportCallback"),
}

#: Searchers whose libraries cannot run here (Dragonfly: not on numpy 2; SigOpt: a hosted
#: service): import, and say why and what to use instead.
UNAVAILABLE: dict[str, tuple[str, ...]] = {
    "ray.tune.suggest": ("DragonflySearch", "SigOptSearch"),
    **{
        f"ray.tune.{package}.{library}": classes
        for package in ("search", "suggest")
        for library, classes in {
            "dragonfly": ("DragonflySearch",),
            "sigopt": ("SigOptSearch",),
        }.items()
    },
}

#: Ray Core paths (distributed trainables, cluster syncers): import, and say there is no
#: counterpart.
RAY_CORE: dict[str, tuple[str, ...]] = {
    "ray.tune.integration.docker": ("DockerSyncClient", "DockerSyncer"),
    "ray.tune.integration.horovod": (
        "DistributedTrainableCreator",
        "distributed_checkpoint_dir",
        "get_rank",
    ),
    "ray.tune.integration.kubernetes": (
        "KubernetesSyncClient",
        "KubernetesSyncer",
        "NamespacedKubernetesSyncer",
    ),
    "ray.tune.integration.ray_train": ("TuneReportCallback",),
    "ray.tune.integration.tensorflow": ("DistributedTrainableCreator", "get_num_workers"),
    "ray.tune.integration.torch": (
        "DistributedTrainableCreator",
        "distributed_checkpoint_dir",
        "enable_distributed_trainable",
        "is_distributed_trainable",
    ),
}

#: Ray names tunelab should have and does not yet, with who or what handles them. A test
#: checks they are still missing, so that this list stays true.
KNOWN_GAPS: dict[tuple[str, str], str] = {
    ("ray.tune.sync_client", "get_sync_client"): "0.8-1.x sync clients of DurableTrainable",
}

#: Ray names imported by Ray's examples that have no tunelab counterpart by design.
NO_COUNTERPART: dict[tuple[str, str], str] = {
    ("ray.tune.utils.release_test_util", "ProgressCallback"): (
        "Ray's release-test helper, imported only by the Horovod example (Ray Core)"
    ),
}


# -- helpers --------------------------------------------------------------------------------


def port(ray_module: str) -> str:
    """The porting rule: Ray's module path -> tunelab's."""
    for prefix, target in (("ray.tune", "tunelab"), ("ray.air", "tunelab.air")):
        if ray_module == prefix or ray_module.startswith(prefix + "."):
            return target + ray_module[len(prefix) :]
    if ray_module == "ray.train" or ray_module.startswith("ray.train."):
        return "tunelab." + ray_module[len("ray.") :]
    raise ValueError(f"not a Ray Tune path: {ray_module}")


def resolve(dotted: str) -> Any:
    """Import the longest module prefix of a tunelab dotted path, then get the attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)
        return obj
    raise ModuleNotFoundError(dotted)


def outcome(ray_module: str, name: str | None) -> str:
    """'ok', 'pending' (an integration placeholder) or 'missing: <error>'."""
    target = port(ray_module) + (f".{name}" if name else "")
    try:
        resolve(target)
    except IntegrationNotAvailableError:
        return "pending"
    except (ImportError, AttributeError) as exc:
        return f"missing: {type(exc).__name__}: {exc}"
    return "ok"


def accepted(ray_module: str, name: str | None) -> bool:
    if name is not None and (
        (ray_module, name) in KNOWN_GAPS or (ray_module, name) in NO_COUNTERPART
    ):
        return True
    return outcome(ray_module, name) in ("ok", "pending")


def _pairs(table: dict[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    return [(module, name) for module, names in table.items() for name in names]


# Facades whose objects the Ray-path modules must re-export, never copy.
_FACADES = (
    "tunelab",
    "tunelab.analysis",
    "tunelab.logger",
    "tunelab.progress",
    "tunelab.schedulers",
    "tunelab.search",
    "tunelab.search.sample",
    "tunelab.server",
    "tunelab.stopper",
    "tunelab.utils",
)


# -- the explicit list ----------------------------------------------------------------------


@pytest.mark.parametrize("ray_module", sorted(RAY_PATHS))
def test_every_ray_module_path_imports_with_its_names(ray_module: str) -> None:
    module = importlib.import_module(port(ray_module))
    for name in RAY_PATHS[ray_module]:
        assert getattr(module, name) is not None, f"{ray_module}.{name}"


# ``track`` and ``train`` have functions named as top-level ones on purpose (0.7's
# ``track.init`` is not ``ray.init``; ``train.report`` takes a dict only), and so has 1.x's
# ``session`` (``session.init``/``shutdown`` install and remove a trial session).
_OWN_API = ("ray.tune.track", "ray.train")
_OWN_NAMES = {("ray.tune.session", "init"), ("ray.tune.session", "shutdown")}


@pytest.mark.parametrize(
    ("ray_module", "name"),
    [p for p in _pairs(RAY_PATHS) if p[0] not in _OWN_API and p not in _OWN_NAMES],
)
def test_ray_paths_hold_the_facades_objects_not_copies(ray_module: str, name: str) -> None:
    obj = getattr(importlib.import_module(port(ray_module)), name)
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        return
    for facade in _FACADES:
        same = getattr(importlib.import_module(facade), name, None)
        if same is not None and not inspect.ismodule(same):
            assert same is obj, f"{port(ray_module)}.{name} is not {facade}.{name}"


@pytest.mark.parametrize(("ray_module", "name"), _pairs(RETIRED))
def test_retired_integrations_import_and_their_names_say_why(ray_module: str, name: str) -> None:
    module = importlib.import_module(port(ray_module))
    with pytest.raises(ImportError, match=r"MXNet was retired.*numpy < 2") as info:
        exec(f"from {port(ray_module)} import {name}", {})
    assert isinstance(info.value, IntegrationNotAvailableError)
    assert info.value.issue is None
    assert f"tunelab has no {name} ({ray_module}.{name})" in str(info.value)
    assert not hasattr(module, "NoSuchName")  # other names: a plain AttributeError


def test_integration_error_survives_pickling_from_a_worker() -> None:
    import pickle

    with pytest.raises(IntegrationNotAvailableError) as info:
        from tunelab.integration.mxnet import TuneCallback  # noqa: F401
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is IntegrationNotAvailableError and str(copy) == str(info.value)
    assert (copy.name, copy.attribute, copy.issue) == (
        "tunelab.integration.mxnet",
        "TuneCallback",
        None,
    )


@pytest.mark.parametrize(("ray_module", "name"), _pairs(UNAVAILABLE))
def test_unavailable_searchers_say_why(ray_module: str, name: str) -> None:
    from tunelab.search._unavailable import LibraryUnavailableError

    importlib.import_module(port(ray_module))
    with pytest.raises(ImportError, match=r"numpy 2|hosted service") as info:
        exec(f"from {port(ray_module)} import {name}", {})
    assert isinstance(info.value, LibraryUnavailableError) and info.value.issue is None
    assert f"tunelab has no {name} " in str(info.value) and "Use " in str(info.value)


@pytest.mark.parametrize(("ray_module", "name"), _pairs(RAY_CORE))
def test_ray_core_integrations_say_there_is_no_counterpart(ray_module: str, name: str) -> None:
    importlib.import_module(port(ray_module))
    with pytest.raises(ImportError, match=r"no tunelab counterpart: it runs on Ray Core") as info:
        exec(f"from {port(ray_module)} import {name}", {})
    assert isinstance(info.value, IntegrationNotAvailableError) and info.value.issue is None
    assert f"{ray_module}.{name}" in str(info.value)


@pytest.mark.parametrize(("ray_module", "name"), sorted(KNOWN_GAPS))
def test_known_gaps_are_still_gaps(ray_module: str, name: str) -> None:
    assert outcome(ray_module, name).startswith("missing"), (
        f"{ray_module}.{name} resolves now: remove it from KNOWN_GAPS and add it to RAY_PATHS"
    )


def test_tune_is_the_tunelab_module_itself() -> None:
    from tunelab.tune import run

    import tunelab as ray
    from tunelab import tune

    assert tune is tunelab and ray.tune is tunelab and ray.tune.tune is tunelab
    assert run is tunelab.run and ray.tune.schedulers is tunelab.schedulers
    assert "tune" not in tunelab.__all__  # ``from tunelab import *`` binds no ``tune``
    assert {"tune", "logger", "schedulers", "sample"} <= set(dir(tunelab))


def test_submodules_are_attributes_without_importing_them_first() -> None:
    code = (
        "import sys, tunelab\n"
        "assert 'tunelab.logger' not in sys.modules\n"
        "print(tunelab.logger.Logger.__name__, tunelab.tune.logger.JsonLogger.__name__,\n"
        "      tunelab.schedulers.pbt.PopulationBasedTraining.__name__,\n"
        "      tunelab.sample.Float.__name__, tunelab.suggest.hyperopt.HyperOptSearch.__name__,\n"
        "      tunelab.trial.ExportFormat.MODEL, tunelab.integration.__name__)\n"
        "print(sorted(m for m in ('pandas', 'numpy', 'hyperopt') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == [
        "Logger JsonLogger PopulationBasedTraining Float HyperOptSearch model tunelab.integration",
        "[]",
    ]


def test_unknown_attributes_are_attribute_errors() -> None:
    for module in (tunelab, tunelab.schedulers, tunelab.logger, tunelab.suggest):
        with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
            module.no_such_name  # noqa: B018


# -- the reference inventory (where ../shared is present) -----------------------------------

REFERENCE = Path(
    os.environ.get(
        "TUNELAB_RAY_REFERENCE",
        Path(__file__).resolve().parents[3] / "shared" / "reference" / "ray-tune-surface.md",
    )
)
needs_reference = pytest.mark.skipif(
    not REFERENCE.is_file(), reason=f"the Ray Tune reference is not on this machine: {REFERENCE}"
)

_PATH = re.compile(r"(?<![\w.])ray\.(?:tune|air|train)(?:\.(?:[A-Za-z_]\w*|<name>))*")
_SHORT = re.compile(r"(?<![\w.])tune(?:\.[A-Za-z_]\w*)+")
_NAME = re.compile(r"`([A-Za-z_]\w*)(?:\([^`]*\))?`")
# create_searcher keys of the integrations table whose module differs from the key
_SEARCH_MODULE = {"variant_generator": "basic_variant", "random": "basic_variant"}
_SEARCH_MODULE |= {"blendsearch": "flaml", "cfo": "flaml"}


def _section(text: str, title: str) -> str:
    """The body of the section whose heading contains ``title``, up to the next heading of
    the same or a higher level."""
    match = re.search(rf"^(#+) [^\n]*{re.escape(title)}[^\n]*$", text, re.M)
    assert match, f"the reference has no section {title!r}: update the parser"
    level = len(match.group(1))
    end = re.compile(rf"^#{{1,{level}}} ", re.M).search(text, match.end())
    return text[match.end() : end.start() if end else len(text)]


def _table_first_cells(section: str) -> Iterator[str]:
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith("|--") and not line.startswith("|---"):
            cell = line.split("|")[1].strip()
            if cell and not set(cell) <= set("-: "):
                yield cell


def reference_pairs(text: str) -> set[tuple[str, str | None]]:
    """(Ray module, name or None) for every path and listed name the reference holds."""
    pairs: set[tuple[str, str | None]] = set()

    def dotted(path: str) -> None:
        # the longest module prefix that ports to a tunelab module, the rest are attributes
        parts = path.split(".")
        for cut in range(len(parts), 1, -1):
            module = ".".join(parts[:cut])
            try:
                importlib.import_module(port(module))
            except ModuleNotFoundError:
                continue
            rest = parts[cut:]
            pairs.add((module, rest[0] if rest else None))
            return
        pairs.add((".".join(parts[:-1]), parts[-1]))

    for path in _PATH.findall(text):
        if "<name>" not in path:
            dotted(path)
    for span in re.findall(r"`([^`\n]+)`", text):
        for path in _SHORT.findall(span):
            if not path.endswith("_"):  # ``tune.get_trial_*``: a wildcard
                dotted("ray." + path)
    # section 1: the top-level names, newest and historical
    top = _section(text, "Top-level exports of `ray.tune`")
    for block in (_section(top, "Newest"), "\n".join(_table_first_cells(top))):
        for line in block.splitlines():
            if "Importing ray.tune fails" not in line:
                pairs.update(("ray.tune", name) for name in _NAME.findall(line))
    # section 6: the searcher integrations, at their 1.x and 2.x+ paths
    for cell, row in _table_rows(_section(text, "Integrations (class, module path")):
        keys = re.findall(r'"(\w+)"', row)
        module = _SEARCH_MODULE.get(keys[0], keys[0]) if keys else None
        for name in re.findall(r"[A-Za-z]\w*", cell.split("(")[0]):
            pairs.add(("ray.tune.search", None))
            if module:
                pairs.update(
                    {(f"ray.tune.search.{module}", name), (f"ray.tune.suggest.{module}", name)}
                )
    # section 7: schedulers; section 8: stoppers
    for title, module in (
        ("Constructors", "ray.tune.schedulers"),
        ("Stoppers", "ray.tune.stopper"),
    ):
        for cell in _table_first_cells(_section(text, title)):
            pairs.update((module, name) for name in _NAME.findall(cell) if name[0].isupper())
    # section 9: the loggers in ray.tune.logger (built-in callbacks, legacy classes)
    for line in _section(text, "`LoggerCallback`").splitlines():
        if line.startswith("- Built-ins") or line.startswith("- G0/G1 legacy"):
            names = _NAME.findall(line.split("Integrations:")[0])
            pairs.update(("ray.tune.logger", n) for n in names if n[0].isupper())
    # section 13: the other utilities of ray.tune.utils
    for line in _section(text, "Utilities").splitlines():
        if line.startswith("- Other utils"):
            pairs.update(("ray.tune.utils", name) for name in _NAME.findall(line))
    return pairs


def _table_rows(section: str) -> Iterator[tuple[str, str]]:
    for line in section.splitlines():
        if line.startswith("|") and not re.match(r"^\|[-: |]+$", line):
            cells = line.split("|")
            if cells[1].strip() and cells[1].strip() != "searcher":
                yield cells[1].strip(), line


@needs_reference
def test_reference_paths_and_names_all_import() -> None:
    pairs = reference_pairs(REFERENCE.read_text(encoding="utf-8"))
    assert len(pairs) > 100, "the reference parser found too little: update it"
    failures = sorted(
        f"{module}.{name or ''} -> {port(module)}: {outcome(module, name)}"
        for module, name in pairs
        if not accepted(module, name)
    )
    assert not failures, "\n".join(failures)


@needs_reference
def test_explicit_list_covers_the_reference() -> None:
    """CI has no ../shared: the explicit list must hold every path the reference names."""
    tables = (RAY_PATHS, RETIRED, UNAVAILABLE, RAY_CORE)
    explicit = {(m, n) for table in tables for m, n in _pairs(table)}
    explicit |= {(m, None) for table in tables for m in table}
    explicit |= set(KNOWN_GAPS)
    pairs = reference_pairs(REFERENCE.read_text(encoding="utf-8"))
    uncovered = sorted(f"{m}.{n or ''}" for m, n in pairs if (m, n) not in explicit)
    assert not uncovered, "add these to RAY_PATHS (or RETIRED / KNOWN_GAPS):\n" + "\n".join(
        uncovered
    )


# -- Ray's example scripts (where the wheels are present) -----------------------------------


def _wheel_dirs() -> list[Path]:
    """``$TUNELAB_RAY_WHEELS``, else ``/tmp/raywheels`` and the compatibility suite's cache."""
    if os.environ.get("TUNELAB_RAY_WHEELS"):
        return [Path(os.environ["TUNELAB_RAY_WHEELS"])]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "tunelab-compat"
    compat = os.environ.get("TUNELAB_COMPAT_WHEELS")
    return [Path("/tmp/raywheels"), Path(compat) if compat else cache]


WHEELS = ", ".join(str(d) for d in _wheel_dirs())
_WHEEL_FILES = sorted(
    {w.name: w for d in _wheel_dirs() if d.is_dir() for w in sorted(d.rglob("ray-*.whl"))}.values()
)


def _under_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
            if name == "TYPE_CHECKING":
                return True
    return False


def example_imports(wheel: Path) -> set[tuple[str, str | None, str]]:
    """(Ray module, name, example file) for every Ray Tune/AIR/Train import in the wheel's
    ``ray/tune/examples`` scripts, except imports of the examples' own sibling modules and
    imports that only run under ``TYPE_CHECKING``."""
    found = set()
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if "ray/tune/examples/" not in member or not member.endswith(".py"):
                continue
            try:
                tree = ast.parse(archive.read(member))
            except SyntaxError:
                continue
            parents = {
                child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)
            }
            example = member.split("ray/tune/examples/")[1]
            for node in ast.walk(tree):
                if _under_type_checking(node, parents):
                    continue
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    module = node.module
                    if module == "ray":
                        names = [a.name for a in node.names if a.name in ("tune", "air", "train")]
                        found.update((f"ray.{n}", None, example) for n in names)
                    elif _PATH.fullmatch(module) and not module.startswith("ray.tune.examples"):
                        found.update((module, a.name, example) for a in node.names)
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        if _PATH.fullmatch(alias.name):
                            found.add((alias.name, None, example))
    return found


_WHEEL_PARAMS = [pytest.param(w, id=w.name.split("-")[1]) for w in _WHEEL_FILES] or [
    pytest.param(None, marks=pytest.mark.skip(reason=f"no Ray wheels in {WHEELS} on this machine"))
]


@pytest.mark.parametrize("wheel", _WHEEL_PARAMS)
def test_every_import_of_rays_examples_ports(wheel: Path) -> None:
    imports = example_imports(wheel)
    assert imports, f"no Ray Tune imports found in {wheel.name}'s examples: update the scanner"
    failures = sorted(
        f"{example}: from {module} import {name} -> {outcome(module, name)}"
        for module, name, example in imports
        if not accepted(module, name)
    )
    assert not failures, "\n".join(failures)


def test_example_scanner_reads_imports_and_skips_type_checking(tmp_path: Path) -> None:
    wheel = tmp_path / "ray-0.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(
            "ray/tune/examples/demo.py",
            "from typing import TYPE_CHECKING\n"
            "import ray\n"
            "from ray import tune\n"
            "from ray.tune.schedulers import ASHAScheduler, PopulationBasedTraining\n"
            "from ray.tune.examples.helper import thing\n"
            "import ray.tune.logger\n"
            "if TYPE_CHECKING:\n"
            "    from ray.tune.execution.tune_controller import Hidden\n",
        )
    assert example_imports(wheel) == {
        ("ray.tune", None, "demo.py"),
        ("ray.tune.schedulers", "ASHAScheduler", "demo.py"),
        ("ray.tune.schedulers", "PopulationBasedTraining", "demo.py"),
        ("ray.tune.logger", None, "demo.py"),
    }


# -- behaviour of the modules this adds ------------------------------------------------------


def test_my_trainable_class_follows_rays_curve_and_checkpoints(tmp_path: Path) -> None:
    import math

    from tunelab.utils.mock_trainable import MyTrainableClass

    trainable = MyTrainableClass(config={"width": 2, "height": 3})
    rewards = [trainable.train()["episode_reward_mean"] for _ in range(3)]
    assert rewards == pytest.approx([3 * math.tanh(t / 2) for t in (1, 2, 3)])
    path = trainable.save(str(tmp_path / "ckpt"))
    restored = MyTrainableClass(config={"width": 2, "height": 3})
    restored.restore(path)
    assert restored.timestep == 3 and restored.restored
    assert restored.train()["episode_reward_mean"] == pytest.approx(3 * math.tanh(4 / 2))
    # Ray 1.x's save_checkpoint returned the file: load_checkpoint accepts it too
    other = MyTrainableClass(config={})
    other.load_checkpoint(os.path.join(path, "checkpoint"))
    assert other.timestep == 3


def test_my_trainable_class_mock_error_fails_until_restored(tmp_path: Path) -> None:
    from tunelab.utils.mock_trainable import MOCK_ERROR_KEY, MyTrainableClass

    failing = MyTrainableClass(config={MOCK_ERROR_KEY: True})
    failing.train()  # the first step succeeds, so that a checkpoint can be taken
    path = failing.save(str(tmp_path / "ckpt"))
    with pytest.raises(RuntimeError, match="Failing on purpose"):
        failing.train()
    recovered = MyTrainableClass(config={MOCK_ERROR_KEY: True})
    recovered.restore(path)
    assert recovered.train()["training_iteration"] == 2
    persistent = MyTrainableClass(config={MOCK_ERROR_KEY: True, "persistent_error": True})
    persistent.restore(path)
    with pytest.raises(RuntimeError, match="Failing on purpose"):
        persistent.train()


def test_my_trainable_class_runs_by_its_registered_name_under_asha() -> None:
    from tunelab.execution import InProcessExecutor
    from tunelab.schedulers import ASHAScheduler
    from tunelab.utils.mock_trainable import MOCK_TRAINABLE_NAME, register_mock_trainable

    register_mock_trainable()
    analysis = tunelab.run(
        MOCK_TRAINABLE_NAME,
        config={"width": tunelab.grid_search([1, 4]), "height": 2},
        stop={"training_iteration": 4},
        scheduler=ASHAScheduler(metric="episode_reward_mean", mode="max", max_t=4),
        verbose=0,
        executor=InProcessExecutor(),
    )
    best = analysis.get_best_config(metric="episode_reward_mean", mode="max")
    assert best == {"width": 1, "height": 2}


def test_export_format_validate_normalises_and_rejects() -> None:
    from tunelab.trial import ExportFormat

    formats = [" MODEL", "checkpoint"]
    ExportFormat.validate(formats)
    assert formats == [ExportFormat.MODEL, ExportFormat.CHECKPOINT]
    with pytest.raises(tunelab.TuneError, match="unsupported format 'pickle'"):
        ExportFormat.validate(["pickle"])
    with pytest.raises(ValueError):
        ExportFormat.validate(["onnx", "h6"])


def test_1x_allocation_functions_are_distribute_resources() -> None:
    from tunelab import PlacementGroupFactory
    from tunelab._trial import Trial, TrialStatus
    from tunelab.schedulers import (
        DistributeResources,
        Reconfigure,
        ResourceChangingScheduler,
        RunnerView,
    )
    from tunelab.schedulers.resource_changing_scheduler import (
        evenly_distribute_cpus_gpus,
        evenly_distribute_cpus_gpus_distributed,
    )

    def first_change(function: Any) -> Any:
        scheduler = ResourceChangingScheduler(
            resources_allocation_function=function, total_resources={"CPU": 8}
        )
        trials = [
            Trial("train", trial_id=f"t{i}", resources=PlacementGroupFactory([{"CPU": 1}]))
            for i in range(2)
        ]
        for trial in trials:
            trial.status = TrialStatus.RUNNING
        runner = RunnerView(lambda status: [t for t in trials if t.status == status], trials)
        scheduler.set_search_properties("score", "max")
        for trial in trials:
            scheduler.on_trial_add(runner, trial)
        result = {"score": 1.0, "training_iteration": 1}
        trials[0].update_last_result(result)
        decision = scheduler.on_trial_result(runner, trials[0], result)
        assert isinstance(decision, Reconfigure)
        return decision.resources

    assert first_change(evenly_distribute_cpus_gpus) == PlacementGroupFactory([{"CPU": 4}])
    in_bundles = first_change(evenly_distribute_cpus_gpus_distributed)
    assert in_bundles == first_change(DistributeResources(add_bundles=True))
    assert len(in_bundles.bundles) > 1 and in_bundles.required_resources == {"CPU": 4}


def test_trial_runner_and_tune_controller_name_what_schedulers_receive() -> None:
    from tunelab.execution.tune_controller import TuneController
    from tunelab.schedulers import RunnerView
    from tunelab.trial_runner import TrialRunner

    assert TrialRunner is RunnerView and TuneController is RunnerView
