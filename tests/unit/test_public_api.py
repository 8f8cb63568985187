"""Pins the public names: a name that appears or disappears by accident fails here."""

import importlib
import subprocess
import sys

import pytest

import tunelab

EXPECTED_TOP_LEVEL = {
    "Analysis",
    "CLIReporter",
    "Callback",
    "Checkpoint",
    "CorruptFileError",
    "CheckpointConfig",
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
    "StorageError",
    "Stopper",
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
}


def test_top_level_names_are_pinned():
    assert set(tunelab.__all__) == EXPECTED_TOP_LEVEL
    for name in tunelab.__all__:
        assert getattr(tunelab, name) is not None, name


# Every import path of DESIGN.md section 6 (the porting table).
PORTING_PATHS = [
    ("tunelab", "run"),
    ("tunelab.air", "RunConfig"),
    ("tunelab.air", "CheckpointConfig"),
    ("tunelab.air", "FailureConfig"),
    ("tunelab.air", "session"),
    ("tunelab.air.session", "report"),
    ("tunelab.session", "report"),
    ("tunelab.air.checkpoint", "Checkpoint"),
    ("tunelab", "Checkpoint"),
    ("tunelab", "RunConfig"),
    ("tunelab.schedulers", "FIFOScheduler"),
    ("tunelab.schedulers", "TrialScheduler"),
    ("tunelab.search", "BasicVariantGenerator"),
    ("tunelab.search", "Searcher"),
    ("tunelab.search", "ConcurrencyLimiter"),
    ("tunelab.suggest", "BasicVariantGenerator"),
    ("tunelab.search.sample", "Float"),
    ("tunelab.stopper", "MaximumIterationStopper"),
    ("tunelab.logger", "JsonLoggerCallback"),
    ("tunelab.logger", "CSVLoggerCallback"),
    ("tunelab.utils", "diagnose_serialization"),
    ("tunelab.utils", "wait_for_gpu"),
    ("tunelab.utils", "validate_save_restore"),
    ("tunelab.utils", "pin_in_object_store"),
    ("tunelab.util", "get_pinned_object"),
    ("tunelab.result", "SHOULD_CHECKPOINT"),
    ("tunelab.result", "DONE"),
    ("tunelab", "ExperimentAnalysis"),
    ("tunelab.track", "log"),
    ("tunelab.train", "report"),
    ("tunelab.train", "Checkpoint"),
    ("tunelab.train", "ScalingConfig"),
    ("tunelab.execution", "LocalExecutor"),
    ("tunelab.execution", "InProcessExecutor"),
    ("tunelab", "init"),
    ("tunelab", "shutdown"),
    ("tunelab", "get_gpu_ids"),
]


@pytest.mark.parametrize(("module", "name"), PORTING_PATHS)
def test_porting_import_paths(module, name):
    assert hasattr(importlib.import_module(module), name)


def test_import_is_light():
    code = (
        "import sys, tunelab\n"
        "heavy = [m for m in ('pandas', 'numpy', 'sklearn', 'tunelab._core.controller') "
        "if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
