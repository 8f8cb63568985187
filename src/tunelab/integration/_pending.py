"""Placeholders for Ray Tune names tunelab does not provide.

Ray Tune's integration modules (``ray.tune.integration.<framework>``,
``ray.air.integrations.<tracker>``, ``ray.tune.logger.<tracker>``, the search adapters
``ray.tune.search.<library>``) exist in tunelab as importable modules, so that a ported
script fails on the one name it uses, with a message that says what is missing and why,
instead of a bare ``ModuleNotFoundError`` on its first import line.

A placeholder module lists the names it stands for and defines::

    def __getattr__(name: str) -> NoReturn:
        missing(__name__, name, _NAMES)

``missing`` raises :class:`IntegrationNotAvailableError` (an ``ImportError``, so a
``from ... import`` statement raises it as is) for a listed name, and ``AttributeError``
for any other name, so that ``hasattr``, ``dir`` and introspection keep working.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NoReturn

from tunelab._errors import TuneError

__all__ = ["IntegrationNotAvailableError", "missing", "ray_path"]

#: Integrations whose framework cannot run here, with the reason.
_RETIRED = {
    "tunelab.integration.mxnet": (
        "Apache MXNet was retired (moved to the Apache Attic in 2023); its last release, "
        "1.9.1 (2022), needs numpy < 2. Port the model to PyTorch or Keras, whose callbacks "
        "tunelab has (tunelab.integration.pytorch_lightning, tunelab.integration.keras)"
    ),
}
_RAY_CORE = (
    "it runs on Ray Core (actors spread over a cluster for distributed training, or cluster "
    "file syncing), which tunelab does not re-create; run the trainable as a plain function "
    "or Trainable (a trial runs in one worker process)"
)

# Modules whose names will never be ported (their text is _RAY_CORE, not _PENDING).
_RAY_CORE_MODULES = frozenset(
    {
        "tunelab.integration.docker",
        "tunelab.integration.horovod",
        "tunelab.integration.kubernetes",
        "tunelab.integration.ray_train",
        "tunelab.integration.tensorflow",
        "tunelab.integration.torch",
    }
)


class IntegrationNotAvailableError(TuneError, ImportError):
    """A Ray Tune name that has no tunelab counterpart.

    Attributes: ``name`` (the tunelab module, as for any ``ImportError``), ``attribute``
    (the name asked for), ``ray_path`` (Ray Tune's spelling of it) and ``issue`` (always
    None: no counterpart is planned; kept for code that read it).
    """

    def __init__(self, module: str, attribute: str) -> None:
        self.attribute = attribute
        self.ray_path = f"{ray_path(module)}.{attribute}"
        self.issue: int | None = None
        if module in _RAY_CORE_MODULES:
            message = f"{self.ray_path} has no tunelab counterpart: {_RAY_CORE}"
        else:
            reason = _RETIRED.get(module, "it is not part of tunelab")
            message = f"tunelab has no {attribute} ({self.ray_path}): {reason}"
        super().__init__(message)
        self.name = module

    def __reduce__(self) -> tuple[type[IntegrationNotAvailableError], tuple[str, str]]:
        # Rebuilt from its arguments when a worker's error travels to the driver.
        return type(self), (str(self.name), self.attribute)


IntegrationNotAvailableError.__module__ = "tunelab.integration"  # its public home


def ray_path(module: str) -> str:
    """Ray's module path for a tunelab module: ``tunelab.X`` -> ``ray.tune.X``,
    ``tunelab.air.X`` -> ``ray.air.X`` (the porting rule, read backwards)."""
    if module == "tunelab.air" or module.startswith("tunelab.air."):
        return "ray." + module[len("tunelab.") :]
    if module == "tunelab":
        return "ray.tune"
    return "ray.tune." + module[len("tunelab.") :]


def missing(module: str, name: str, names: Collection[str]) -> NoReturn:
    """The body of a placeholder module's ``__getattr__`` (see the module docstring)."""
    if name in names:
        raise IntegrationNotAvailableError(module, name)
    raise AttributeError(f"module {module!r} has no attribute {name!r}")
