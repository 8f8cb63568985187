"""Run Ray Tune's own example scripts, ported to tunelab, and tell what happened.

The compatibility suite's engine, shared by the pytest suite (``test_ray_examples.py``,
``conftest.py``) and the standalone runner (``run_examples.py``):

* :func:`ensure_wheel` finds Ray's wheel for a generation in the wheel cache
  (``TUNELAB_COMPAT_WHEELS``, else ``$XDG_CACHE_HOME/tunelab-compat``, else
  ``~/.cache/tunelab-compat``) or downloads it there with ``pip download`` (PyPI only; the
  wheels never enter the repository);
* :func:`prepare_generation` reads ``ray/tune/examples/**.py`` out of the wheel (a zip) into
  a temporary directory and ports every file with ``tunelab._port.port_source``;
* :func:`run_example` runs one ported script as ``python SCRIPT [--smoke-test]`` in its own
  copy of that directory (``cwd``, ``HOME``, ``TMPDIR`` and the results directory all
  inside the run directory, the directory on ``PYTHONPATH`` for sibling imports) with a
  timeout, and decides: it *passed* when it exited 0 and no trial errored (no ``error.txt``
  anywhere under the run's directories); otherwise it *failed*, with the cause (the last
  exception line of the script's stderr, of the errored trial's ``error.txt``, or the
  timeout);
* :data:`SKIPS` names every script that is not run, each with a category and the reason;
  nothing is skipped because it fails;
* :func:`format_report` prints the table per generation and the totals.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

#: The generations the suite runs: Ray version -> (``--python-version``, ``--platform``) for
#: ``pip download`` (the interpreter and platform the wheel was built for; the wheel is only
#: read as a zip, never installed).
GENERATIONS: dict[str, tuple[str, str]] = {
    "0.8.7": ("3.7", "manylinux1_x86_64"),
    "1.13.0": ("3.9", "manylinux2014_x86_64"),
    "2.60.0": ("3.11", "manylinux2014_x86_64"),
}

#: Seconds one script may run before it is killed and counted as failed.
DEFAULT_TIMEOUT_S = 180.0

#: Every example script of each wheel: the files under ``ray/tune/examples/`` with an
#: ``if __name__ == "__main__":`` block (helper modules such as ``utils.py`` are not
#: scripts). ``test_manifest_matches_wheel`` keeps this list equal to the wheels' content.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "0.8.7": (
        "async_hyperband_example.py",
        "ax_example.py",
        "bayesopt_example.py",
        "bohb_example.py",
        "cifar10_pytorch.py",
        "ddp_mnist_torch.py",
        "dragonfly_example.py",
        "durable_trainable_example.py",
        "genetic_example.py",
        "hyperband_example.py",
        "hyperband_function_example.py",
        "hyperopt_example.py",
        "lightgbm_example.py",
        "logging_example.py",
        "mlflow_example.py",
        "mnist_pytorch.py",
        "mnist_pytorch_lightning.py",
        "mnist_pytorch_trainable.py",
        "nevergrad_example.py",
        "pbt_convnet_example.py",
        "pbt_example.py",
        "pbt_function.py",
        "pbt_memnn_example.py",
        "pbt_ppo_example.py",
        "pbt_transformers/pbt_transformers.py",
        "pbt_tune_cifar10_with_keras.py",
        "sigopt_example.py",
        "skopt_example.py",
        "tf_mnist_example.py",
        "tune_cifar10_gluon.py",
        "tune_mnist_keras.py",
        "wandb_example.py",
        "xgboost_example.py",
        "zoopt_example.py",
    ),
    "1.13.0": (
        "async_hyperband_example.py",
        "ax_example.py",
        "bayesopt_example.py",
        "blendsearch_example.py",
        "bohb_example.py",
        "cfo_example.py",
        "cifar10_pytorch.py",
        "custom_func_checkpointing.py",
        "ddp_mnist_torch.py",
        "dragonfly_example.py",
        "durable_trainable_example.py",
        "genetic_example.py",
        "hebo_example.py",
        "horovod_cifar_pbt_example.py",
        "horovod_simple.py",
        "hyperband_example.py",
        "hyperband_function_example.py",
        "hyperopt_conditional_search_space_example.py",
        "lightgbm_example.py",
        "logging_example.py",
        "mlflow_example.py",
        "mlflow_ptl.py",
        "mnist_ptl_mini.py",
        "mnist_pytorch.py",
        "mnist_pytorch_lightning.py",
        "mnist_pytorch_trainable.py",
        "mxnet_example.py",
        "nevergrad_example.py",
        "optuna_define_by_run_example.py",
        "optuna_example.py",
        "optuna_multiobjective_example.py",
        "pb2_example.py",
        "pb2_ppo_example.py",
        "pbt_convnet_example.py",
        "pbt_convnet_function_example.py",
        "pbt_example.py",
        "pbt_function.py",
        "pbt_memnn_example.py",
        "pbt_ppo_example.py",
        "pbt_transformers/pbt_transformers.py",
        "pbt_tune_cifar10_with_keras.py",
        "sigopt_example.py",
        "sigopt_multi_objective_example.py",
        "sigopt_prior_beliefs_example.py",
        "skopt_example.py",
        "tf_distributed_keras_example.py",
        "tf_mnist_example.py",
        "tune_basic_example.py",
        "tune_cifar10_gluon.py",
        "tune_mnist_keras.py",
        "wandb_example.py",
        "xgboost_dynamic_resources_example.py",
        "xgboost_example.py",
        "zoopt_example.py",
    ),
    "2.60.0": (
        "async_hyperband_example.py",
        "ax_example.py",
        "bayesopt_example.py",
        "bohb_example.py",
        "cifar10_pytorch.py",
        "custom_checkpointing_with_callback.py",
        "custom_func_checkpointing.py",
        "hyperband_example.py",
        "hyperband_function_example.py",
        "hyperopt_conditional_search_space_example.py",
        "lightgbm_example.py",
        "logging_example.py",
        "mlflow_example.py",
        "mlflow_ptl.py",
        "mnist_ptl_mini.py",
        "mnist_pytorch.py",
        "mnist_pytorch_trainable.py",
        "nevergrad_example.py",
        "optuna_define_by_run_example.py",
        "optuna_example.py",
        "optuna_multiobjective_example.py",
        "pb2_example.py",
        "pb2_ppo_example.py",
        "pbt_convnet_example.py",
        "pbt_convnet_function_example.py",
        "pbt_dcgan_mnist/pbt_dcgan_mnist_func.py",
        "pbt_dcgan_mnist/pbt_dcgan_mnist_trainable.py",
        "pbt_example.py",
        "pbt_function.py",
        "pbt_memnn_example.py",
        "pbt_ppo_example.py",
        "pbt_transformers/pbt_transformers.py",
        "pbt_tune_cifar10_with_keras.py",
        "tf_mnist_example.py",
        "tune_basic_example.py",
        "tune_mnist_keras.py",
        "xgboost_dynamic_resources_example.py",
        "xgboost_example.py",
    ),
}

#: Skip categories, each with what it means. A skip names one of them and says why.
SKIP_CATEGORIES: dict[str, str] = {
    "dataset": "needs a dataset (or pretrained weights) downloaded at run time, also when "
    "smoke-testing",
    "rllib": "needs RLlib",
    "ray-core": "needs Ray Core itself (ray.remote, actors, placement groups, Ray's "
    "private utilities)",
    "framework-version": "needs a framework version that does not install or run on "
    "Python 3.11 with the test venv's numpy 2",
    "hosted-service": "needs a hosted service over the network and its API key",
    "heavy-framework": "needs torchvision, whose PyPI wheels do not work beside the CPU-only "
    "PyTorch the test venv installs (the pair that does is a multi-GB CUDA build); outside "
    "the issue's list of reasons, see the report",
}

_MNIST_TV = "MNIST through torchvision (download=True)"
_MNIST_KERAS = "MNIST through keras.datasets.mnist.load_data()"

#: The scripts that are not run: generation -> script -> (category, reason). Every entry was
#: decided by reading the script; a script that downloads data only when it is *not*
#: smoke-testing is run.
SKIPS: dict[str, dict[str, tuple[str, str]]] = {
    "0.8.7": {
        "ax_example.py": (
            "framework-version",
            "creates its experiment with AxClient.create_experiment(objective_name=..., "
            "minimize=...), which the Ax that installs on numpy 2 (1.x) no longer takes "
            "(objectives={name: ObjectiveProperties(...)})",
        ),
        "cifar10_pytorch.py": ("dataset", "CIFAR-10 through torchvision (download=True)"),
        "ddp_mnist_torch.py": ("dataset", _MNIST_TV + " via mnist_pytorch"),
        "dragonfly_example.py": (
            "framework-version",
            "Dragonfly (dragonfly-opt 0.1.7, 2022) calls np.math, gone in numpy 2",
        ),
        "durable_trainable_example.py": (
            "ray-core",
            "runs offline only with --local --mock-storage, which calls Ray Core's "
            "ray.utils.get_user_temp_dir(); otherwise it needs a Ray cluster and the "
            "s3://ray-tune-test bucket (Ray's own CI disabled it too)",
        ),
        "mnist_pytorch.py": ("dataset", _MNIST_TV),
        "mnist_pytorch_lightning.py": ("dataset", "MNIST through torchvision, PyTorch Lightning"),
        "mnist_pytorch_trainable.py": ("dataset", _MNIST_TV + " via mnist_pytorch"),
        "pbt_convnet_example.py": ("dataset", _MNIST_TV),
        "pbt_memnn_example.py": ("dataset", "the bAbI tasks through keras get_file()"),
        "pbt_ppo_example.py": ("rllib", 'trains RLlib\'s "PPO" on Humanoid'),
        "pbt_transformers/pbt_transformers.py": (
            "dataset",
            "GLUE RTE data and a pretrained transformers model",
        ),
        "pbt_tune_cifar10_with_keras.py": ("dataset", "CIFAR-10 through keras (and 1 GPU)"),
        "sigopt_example.py": ("hosted-service", "SigOpt's API (SIGOPT_KEY)"),
        "tf_mnist_example.py": ("dataset", _MNIST_KERAS),
        "tune_cifar10_gluon.py": ("dataset", "CIFAR-10 through MXNet Gluon (and gluoncv)"),
        "tune_mnist_keras.py": ("dataset", _MNIST_KERAS),
        "xgboost_example.py": (
            "framework-version",
            "reports from an old-style function callback, which XGBoost removed in 1.6; "
            "xgboost 1.5.2 fails under numpy 2 (np.array(copy=False))",
        ),
    },
    "1.13.0": {
        "cifar10_pytorch.py": ("dataset", "CIFAR-10 through torchvision (download=True)"),
        "ddp_mnist_torch.py": ("dataset", _MNIST_TV + " via mnist_pytorch"),
        "dragonfly_example.py": (
            "framework-version",
            "Dragonfly (dragonfly-opt 0.1.7, 2022) calls np.math, gone in numpy 2",
        ),
        "durable_trainable_example.py": (
            "ray-core",
            "runs offline only with --local --mock-storage, which calls Ray Core's "
            "ray._private.utils.get_user_temp_dir(); otherwise it needs a Ray cluster and "
            "the s3://ray-tune-test bucket (Ray's own CI disabled it too)",
        ),
        "horovod_cifar_pbt_example.py": ("dataset", "CIFAR-10 through torchvision (and Horovod)"),
        "horovod_simple.py": (
            "ray-core",
            "Ray's Horovod integration (DistributedTrainableCreator) runs a distributed training "
            "job on Ray actors (Ray Train's domain, see docs/porting.md); horovod itself has no "
            "wheels",
        ),
        "mlflow_ptl.py": ("dataset", "MNIST through pl_bolts' MNISTDataModule (and MLflow)"),
        "mnist_ptl_mini.py": ("dataset", "MNIST through pl_bolts' MNISTDataModule"),
        "mnist_pytorch.py": ("dataset", _MNIST_TV),
        "mnist_pytorch_lightning.py": ("dataset", "MNIST through torchvision, PyTorch Lightning"),
        "mnist_pytorch_trainable.py": ("dataset", _MNIST_TV + " via mnist_pytorch"),
        "mxnet_example.py": ("dataset", "MNIST through mx.test_utils.get_mnist() (MXNet)"),
        "pb2_ppo_example.py": ("rllib", 'trains RLlib\'s "PPO" on BipedalWalker'),
        "pbt_convnet_example.py": ("dataset", _MNIST_TV),
        "pbt_convnet_function_example.py": ("dataset", _MNIST_TV + " via mnist_pytorch"),
        "pbt_memnn_example.py": ("dataset", "the bAbI tasks through keras get_file()"),
        "pbt_ppo_example.py": ("rllib", 'trains RLlib\'s "PPO" on Humanoid'),
        "pbt_transformers/pbt_transformers.py": (
            "dataset",
            "GLUE RTE data and a pretrained transformers model",
        ),
        "pbt_tune_cifar10_with_keras.py": ("dataset", "CIFAR-10 through keras (and 1 GPU)"),
        "sigopt_example.py": ("hosted-service", "SigOpt's API (SIGOPT_KEY)"),
        "sigopt_multi_objective_example.py": ("hosted-service", "SigOpt's API (SIGOPT_KEY)"),
        "sigopt_prior_beliefs_example.py": ("hosted-service", "SigOpt's API (SIGOPT_KEY)"),
        "tf_distributed_keras_example.py": ("dataset", _MNIST_KERAS),
        "tf_mnist_example.py": ("dataset", _MNIST_KERAS),
        "tune_cifar10_gluon.py": ("dataset", "CIFAR-10 through MXNet Gluon (and gluoncv)"),
        "tune_mnist_keras.py": ("dataset", _MNIST_KERAS),
        "xgboost_dynamic_resources_example.py": (
            "ray-core",
            "its allocation function reads Ray's private scheduler._base_trial_resources and "
            "trial_runner.trial_executor._resource_updater.get_num_cpus(), and --test loads "
            "the class trainable's best checkpoint as the file save_checkpoint returned (Ray "
            "1.x's best_checkpoint; tunelab's is the directory); its 8 trials of 2000 "
            "parallel trees also take far over the timeout on 2 cores",
        ),
    },
    "2.60.0": {
        "cifar10_pytorch.py": (
            "heavy-framework",
            "its smoke test trains on torchvision FakeData (no download), so it needs "
            "torchvision: 0.28.0, the release for the test venv's torch 2.13.0 (CPU build), "
            "fails to import beside it ('operator torchvision::nms does not exist'); the "
            "torch 2.14.1 + torchvision 0.29.1 pair that imports is a 5.5 GB CUDA build",
        ),
        "mlflow_ptl.py": ("dataset", "MNIST from the Hugging Face hub (and MLflow)"),
        "mnist_ptl_mini.py": ("dataset", "MNIST from the Hugging Face hub (load_dataset)"),
        "mnist_pytorch.py": ("dataset", _MNIST_TV),
        "mnist_pytorch_trainable.py": ("dataset", _MNIST_TV + " via mnist_pytorch"),
        "pb2_ppo_example.py": ("rllib", 'trains RLlib\'s "PPO" on BipedalWalker'),
        "pbt_convnet_example.py": ("dataset", _MNIST_TV),
        "pbt_convnet_function_example.py": ("dataset", _MNIST_TV + " via mnist_pytorch"),
        "pbt_dcgan_mnist/pbt_dcgan_mnist_func.py": (
            "dataset",
            "MNIST through torchvision and a pretrained MNIST classifier",
        ),
        "pbt_dcgan_mnist/pbt_dcgan_mnist_trainable.py": (
            "dataset",
            "MNIST through torchvision and a pretrained MNIST classifier",
        ),
        "pbt_memnn_example.py": ("dataset", "the bAbI tasks through keras get_file()"),
        "pbt_ppo_example.py": ("rllib", "imports ray.rllib.algorithms.ppo"),
        "pbt_transformers/pbt_transformers.py": (
            "dataset",
            "GLUE RTE data and a model from the Hugging Face hub",
        ),
        "pbt_tune_cifar10_with_keras.py": ("dataset", "CIFAR-10 through keras (and 1 GPU)"),
        "tf_mnist_example.py": ("dataset", _MNIST_KERAS),
        "tune_mnist_keras.py": ("dataset", _MNIST_KERAS),
        "xgboost_dynamic_resources_example.py": (
            "ray-core",
            "its allocation function reads Ray's private scheduler._base_trial_resources and "
            "tune_controller._resource_updater.get_num_cpus() (with the public "
            "base_trial_resources and total_resources() it runs on tunelab, restoring each "
            "trial from TuneReportCheckpointCallback's checkpoint); its 8 trials of 2000 "
            "parallel trees also take far over the timeout on 2 cores",
        ),
    },
}

#: Command-line arguments for scripts that have no ``--smoke-test`` flag, the smallest ones
#: Ray's own test targets used. Scripts not named here get ``--smoke-test`` when they define
#: it (``--smoke_test`` for the one that spells it so) and nothing otherwise.
SCRIPT_ARGS: dict[str, dict[str, tuple[str, ...]]] = {
    "0.8.7": {
        "durable_trainable_example.py": ("--local", "--mock-storage"),
        "wandb_example.py": ("--mock-api",),
    },
    "1.13.0": {
        "durable_trainable_example.py": ("--local", "--mock-storage"),
        "wandb_example.py": ("--mock-api",),
        "xgboost_dynamic_resources_example.py": ("--test",),
    },
    "2.60.0": {},
}

Status = Literal["passed", "failed", "skipped"]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What happened to one script: ``passed``; ``failed`` with ``detail`` the cause; or
    ``skipped`` with ``category`` (a key of :data:`SKIP_CATEGORIES`) and ``detail`` the
    reason. ``seconds`` is the script's run time, ``run_dir`` where its files and logs are
    (``None`` for a skip)."""

    generation: str
    script: str
    status: Status
    detail: str = ""
    category: str = ""
    seconds: float = 0.0
    run_dir: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The outcome as a JSON-ready dict."""
        return dataclasses.asdict(self)


# -- wheels ---------------------------------------------------------------------------------
def wheel_cache_dir() -> Path:
    """Where Ray's wheels are kept: ``TUNELAB_COMPAT_WHEELS``, else
    ``$XDG_CACHE_HOME/tunelab-compat``, else ``~/.cache/tunelab-compat``."""
    configured = os.environ.get("TUNELAB_COMPAT_WHEELS")
    if configured:
        return Path(configured).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(cache).expanduser() / "tunelab-compat"


def find_wheel(version: str, directory: Path | None = None) -> Path | None:
    """Ray ``version``'s wheel in ``directory`` (default: the cache), or ``None``."""
    directory = wheel_cache_dir() if directory is None else directory
    matches = sorted(directory.glob(f"ray-{version}-*.whl"))
    return matches[0] if matches else None


_download_lock = threading.Lock()


def ensure_wheel(version: str) -> Path:
    """Ray ``version``'s wheel, downloaded into the cache with ``pip download`` unless it is
    there already. Raises ``RuntimeError`` with pip's output when the download fails and
    ``ValueError`` for a version not in :data:`GENERATIONS`."""
    if version not in GENERATIONS:
        raise ValueError(
            f"generation must be one of {sorted(GENERATIONS)}, got {version!r}",
        )
    with _download_lock:
        found = find_wheel(version)
        if found is not None:
            return found
        directory = wheel_cache_dir()
        directory.mkdir(parents=True, exist_ok=True)
        python_version, platform = GENERATIONS[version]
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            f"ray=={version}",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            python_version,
            "--platform",
            platform,
            "--disable-pip-version-check",
            "-d",
            str(directory),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        found = find_wheel(version)
        if done.returncode != 0 or found is None:
            raise RuntimeError(
                f"could not download Ray {version}'s wheel into {directory} "
                f"(`{' '.join(command)}` exited {done.returncode}; set TUNELAB_COMPAT_WHEELS "
                f"to a directory that holds ray-{version}-*.whl):\n"
                f"{done.stdout[-2000:]}{done.stderr[-2000:]}",
            )
        return found


_EXAMPLE_MEMBER = re.compile(r"^(?:ray-[^/]+\.data/purelib/)?ray/tune/examples/(.+\.py)$")


def read_examples(wheel: Path) -> dict[str, str]:
    """Every ``.py`` file under ``ray/tune/examples/`` in ``wheel``: path relative to that
    directory -> source text."""
    sources: dict[str, str] = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            match = _EXAMPLE_MEMBER.match(name)
            if match:
                sources[match.group(1)] = archive.read(name).decode("utf-8")
    return sources


def scripts_in(sources: Mapping[str, str]) -> list[str]:
    """The example *scripts* among ``sources``: files with an ``if __name__ ==
    "__main__":`` block, except ``__init__.py``."""
    return sorted(
        path
        for path, text in sources.items()
        if not path.endswith("__init__.py") and re.search(r"__name__\s*==\s*['\"]__main__", text)
    )


# -- porting --------------------------------------------------------------------------------
PortFunction = Callable[..., Any]


def load_porter() -> PortFunction:
    """``tunelab._port.port_source`` of the tunelab that this process imports; when that
    tunelab has none (an older checkout measured with ``PYTHONPATH``), the one of the
    checkout this file belongs to. Raises ``ImportError`` when neither exists."""
    try:
        from tunelab._port import port_source
    except ImportError:
        own = Path(__file__).resolve().parents[2] / "src" / "tunelab" / "_port.py"
        if not own.is_file():
            raise
        spec = importlib.util.spec_from_file_location("_tunelab_compat_port", own)
        if spec is None or spec.loader is None:
            raise
        module: ModuleType = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        port_source = module.port_source
    return port_source


def sibling_names(paths: Iterable[str]) -> set[str]:
    """Module names an example can import as a sibling: top-level file stems and package
    directories of the examples directory."""
    names: set[str] = set()
    for path in paths:
        first = path.split("/", 1)[0]
        names.add(first[: -len(".py")] if first.endswith(".py") else first)
    names.discard("__init__")
    return names


@dataclasses.dataclass(frozen=True)
class Generation:
    """A generation's ported examples: ``source_dir`` holds every file, ported; ``scripts``
    the scripts found; ``port_errors`` a message per file the porter could not port."""

    version: str
    source_dir: Path
    scripts: tuple[str, ...]
    port_errors: Mapping[str, str]


def prepare_generation(version: str, base: Path, port: PortFunction | None = None) -> Generation:
    """Read Ray ``version``'s examples out of its wheel (downloading it when needed) into
    ``base/<version>/ported`` and port each file there."""
    port = load_porter() if port is None else port
    sources = read_examples(ensure_wheel(version))
    siblings = sibling_names(sources)
    target = base / version / "ported"
    errors: dict[str, str] = {}
    for relative, text in sources.items():
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            ported = port(text, siblings=siblings).source
        except Exception as error:  # the porter's failure is the script's failure
            errors[relative] = f"tunelab port failed: {type(error).__name__}: {error}"
            ported = text
        destination.write_text(ported, encoding="utf-8")
    return Generation(version, target, tuple(scripts_in(sources)), errors)


# -- running --------------------------------------------------------------------------------
def script_args(version: str, script: str, source: str) -> list[str]:
    """The arguments ``script`` runs with (see :data:`SCRIPT_ARGS`)."""
    special = SCRIPT_ARGS.get(version, {}).get(script)
    if special is not None:
        return list(special)
    if re.search(r"['\"]--smoke-test['\"]", source):
        return ["--smoke-test"]
    if re.search(r"['\"]--smoke_test['\"]", source):
        return ["--smoke_test"]
    return []


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b")


def last_exception(text: str) -> str | None:
    """The exception line (``Type: message``) of the last traceback in ``text``, or
    ``None`` when ``text`` has no traceback."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent")]
    if not starts:
        return None
    block = lines[starts[-1] + 1 :]
    for index, line in enumerate(block):
        if line and not line[0].isspace():
            message = [line.strip()]
            # Multi-line messages: keep the next lines until a blank or indented one.
            for extra in block[index + 1 : index + 4]:
                if not extra.strip() or extra[0].isspace():
                    break
                message.append(extra.strip())
            return " ".join(message)[:500]
    return None


def _fallback_cause(stderr: str, returncode: int) -> str:
    for line in reversed(stderr.splitlines()):
        if _EXCEPTION_LINE.match(line.strip()) or line.strip().startswith("ERROR"):
            return f"exit status {returncode}: {line.strip()[:400]}"
    tail = [line.strip() for line in stderr.splitlines() if line.strip()]
    return f"exit status {returncode}" + (f": {tail[-1][:400]}" if tail else " (no stderr)")


def errored_trials(*directories: Path) -> list[Path]:
    """The ``error.txt`` files under ``directories`` (an errored trial writes one)."""
    found: list[Path] = []
    for directory in directories:
        if directory.is_dir():
            found.extend(sorted(directory.rglob("error.txt")))
    return found


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the process group the script leads (its trial workers included)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def script_env(run_dir: Path, tmp_dir: Path) -> dict[str, str]:
    """The environment a script runs in: this one, with ``HOME``, ``TMPDIR``, the XDG
    directories and tunelab's (and Ray's) results directory inside ``run_dir``/``tmp_dir``,
    and ``run_dir`` first on ``PYTHONPATH``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    home = run_dir / "home"
    results = run_dir / "results"
    for directory in (home / ".cache", home / ".config", results):
        directory.mkdir(parents=True, exist_ok=True)
    python_path = [str(run_dir)]
    if env.get("PYTHONPATH"):
        python_path.append(env["PYTHONPATH"])
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        TMPDIR=str(tmp_dir),
        TUNELAB_RESULTS_DIR=str(results),
        TUNE_RESULT_DIR=str(results),
        PYTHONPATH=os.pathsep.join(python_path),
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
        MPLBACKEND="Agg",
        # Ray's tracker examples: MLflow 3.x refuses the file store they log to unless this
        # is set; W&B logs offline (no network, no API key).
        MLFLOW_ALLOW_FILE_STORE="true",
        WANDB_MODE="offline",
        WANDB_SILENT="true",
    )
    return env


def run_example(
    generation: Generation,
    script: str,
    work_dir: Path,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Outcome:
    """Run one ported ``script`` of ``generation`` in a fresh copy of the ported directory
    under ``work_dir`` and decide whether it passed (see the module docstring). Logs are
    ``stdout.txt``/``stderr.txt`` in the run directory."""
    version = generation.version
    skip = SKIPS.get(version, {}).get(script)
    if skip is not None:
        return Outcome(version, script, "skipped", skip[1], skip[0])
    run_dir = work_dir / version / script.replace("/", "__").removesuffix(".py")
    if run_dir.exists():
        shutil.rmtree(run_dir)
    shutil.copytree(generation.source_dir, run_dir)
    if script in generation.port_errors:
        detail = generation.port_errors[script]
        return Outcome(version, script, "failed", detail, "", 0.0, str(run_dir))
    source = (run_dir / script).read_text(encoding="utf-8")
    command = [sys.executable, script, *script_args(version, script, source)]
    # A short TMPDIR: Unix socket paths made under it must stay under 108 bytes.
    tmp_dir = Path(tempfile.mkdtemp(prefix="tlc-"))
    env = script_env(run_dir, tmp_dir)
    stdout_path, stderr_path = run_dir / "stdout.txt", run_dir / "stderr.txt"
    started = time.monotonic()
    timed_out = False
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen(
            command,
            cwd=run_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(process)
            returncode = process.wait()
        _kill_group(process)  # trial workers the script left behind
    seconds = time.monotonic() - started
    try:
        errors = errored_trials(run_dir, tmp_dir)
        stderr = stderr_path.read_text(encoding="utf-8", errors="replace")
        cause = _decide(returncode, timed_out, timeout_s, stderr, errors, run_dir)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    if cause is None:
        return Outcome(version, script, "passed", "", "", seconds, str(run_dir))
    return Outcome(version, script, "failed", cause, "", seconds, str(run_dir))


def _decide(
    returncode: int,
    timed_out: bool,
    timeout_s: float,
    stderr: str,
    errors: Sequence[Path],
    run_dir: Path,
) -> str | None:
    """The cause of a failure, or ``None`` when the script passed."""
    if timed_out:
        return f"timed out after {timeout_s:.0f} s" + (
            f" (last error: {last_exception(stderr)})" if last_exception(stderr) else ""
        )
    if returncode != 0:
        return last_exception(stderr) or _fallback_cause(stderr, returncode)
    if errors:
        text = errors[0].read_text(encoding="utf-8", errors="replace")
        where = os.path.relpath(errors[0].parent, run_dir)
        reason = last_exception(text) or (text.strip().splitlines() or ["(empty error.txt)"])[-1]
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"errored trial{more} in {where}: {reason[:400]}"
    return None


def run_examples(
    selection: Sequence[tuple[str, str]],
    work_dir: Path,
    *,
    jobs: int = 2,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    generations: Mapping[str, Generation] | None = None,
) -> Iterator[Outcome]:
    """Run ``selection`` (``(generation, script)`` pairs) ``jobs`` at a time, preparing each
    generation once; yields the outcomes in the order of ``selection``."""
    prepared: dict[str, Generation] = dict(generations or {})
    for version in dict.fromkeys(version for version, _ in selection):
        if version not in prepared:
            prepared[version] = prepare_generation(version, work_dir)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [
            pool.submit(run_example, prepared[version], script, work_dir, timeout_s=timeout_s)
            for version, script in selection
        ]
        for future in futures:
            yield future.result()


# -- report ---------------------------------------------------------------------------------
def summarize(outcomes: Iterable[Outcome]) -> dict[str, dict[str, Any]]:
    """Per generation: counts of passed/failed/skipped, skips by category, the pass rate
    over the scripts that ran (``None`` when none ran)."""
    totals: dict[str, dict[str, Any]] = {}
    for outcome in outcomes:
        entry = totals.setdefault(
            outcome.generation,
            {"passed": 0, "failed": 0, "skipped": 0, "skipped_by_category": {}},
        )
        entry[outcome.status] += 1
        if outcome.status == "skipped":
            by_category = entry["skipped_by_category"]
            by_category[outcome.category] = by_category.get(outcome.category, 0) + 1
    for entry in totals.values():
        ran = entry["passed"] + entry["failed"]
        entry["pass_rate"] = entry["passed"] / ran if ran else None
    return totals


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_report(outcomes: Sequence[Outcome]) -> str:
    """A markdown table per generation (script, result, cause or reason) and its totals."""
    lines: list[str] = []
    totals = summarize(outcomes)
    for version in sorted(totals, key=lambda v: tuple(int(p) for p in v.split("."))):
        rows = [o for o in outcomes if o.generation == version]
        lines += [f"### Ray {version}", "", "| script | result | cause / reason |", "|---|---|---|"]
        for outcome in sorted(rows, key=lambda o: o.script):
            if outcome.status == "skipped":
                result, why = f"skipped ({outcome.category})", outcome.detail
            elif outcome.status == "failed":
                result, why = f"FAILED ({outcome.seconds:.0f} s)", outcome.detail
            else:
                result, why = f"passed ({outcome.seconds:.0f} s)", ""
            lines.append(f"| {outcome.script} | {result} | {_cell(why)} |")
        entry = totals[version]
        rate = entry["pass_rate"]
        categories = ", ".join(
            f"{name} {count}" for name, count in sorted(entry["skipped_by_category"].items())
        )
        lines += [
            "",
            f"Ray {version}: {entry['passed']} passed, {entry['failed']} failed, "
            f"{entry['skipped']} skipped ({categories or 'none'}); pass rate "
            + (
                f"{rate:.0%} ({entry['passed']}/{entry['passed'] + entry['failed']})"
                if rate is not None
                else "n/a (nothing ran)"
            ),
            "",
        ]
    return "\n".join(lines)


def write_report(outcomes: Sequence[Outcome], path: Path) -> tuple[Path, Path]:
    """Write the markdown report to ``path`` and the outcomes and totals as JSON next to it
    (same name, ``.json``); returns both paths."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_report(outcomes) + "\n", encoding="utf-8")
    json_path = path.with_suffix(".json")
    json_path.write_text(
        json.dumps(
            {
                "totals": summarize(outcomes),
                "outcomes": [o.as_dict() for o in outcomes],
                "skip_categories": SKIP_CATEGORIES,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return path, json_path


def selection_for(
    generations: Iterable[str] | None = None,
    only: Iterable[str] | None = None,
) -> list[tuple[str, str]]:
    """``(generation, script)`` pairs of :data:`EXAMPLES`, limited to ``generations`` and to
    scripts named in ``only`` (a file name, with or without ``.py``, or a relative path).
    Raises ``ValueError`` for an unknown generation or a name that matches nothing."""
    versions = list(generations) if generations else list(EXAMPLES)
    for version in versions:
        if version not in EXAMPLES:
            raise ValueError(f"generation must be one of {sorted(EXAMPLES)}, got {version!r}")
    wanted = {name if name.endswith(".py") else f"{name}.py" for name in only or ()}
    pairs = [
        (version, script)
        for version in versions
        for script in EXAMPLES[version]
        if not wanted or script in wanted or script.rsplit("/", 1)[-1] in wanted
    ]
    if wanted and not pairs:
        raise ValueError(f"only: no example script is named {sorted(wanted)}")
    return pairs
