"""Result loggers (``from tunelab.logger import ...``, as ``ray.tune.logger``).

Callbacks (current API): :class:`LoggerCallback` (the base to subclass),
:class:`JsonLoggerCallback` (``params.json``, ``params.pkl``, ``result.json``),
:class:`CSVLoggerCallback` (``progress.csv``) and :class:`TBXLoggerCallback` (TensorBoard
``events.out.tfevents.*``, with the ``tensorboard`` extra; :func:`tbx_available` says whether
it can be used).

Legacy API (Ray Tune 0.x/1.x): :class:`Logger` and its built-ins :class:`JsonLogger`,
:class:`CSVLogger`, :class:`TBXLogger`, :class:`NoopLogger`, :class:`UnifiedLogger`,
:data:`DEFAULT_LOGGERS` (JSON, CSV, and TBX when tensorboardX is installed), run as a
callback by :class:`LegacyLoggerCallback`. :func:`pretty_print` formats a result. Ray Tune
0.6's ``TFLogger`` is :class:`TBXLogger`.

Ray Tune 2.x's submodules ``tunelab.logger.<csv|json|logger|tensorboardx|noop|unified>`` hold
the same classes; the tracker modules ``tunelab.logger.<aim|comet|mlflow|wandb>`` hold the
experiment-tracker callbacks and 0.8's ``MLFLowLogger`` is the legacy MLflow logger (each
needs its extra; see :mod:`tunelab.integration`), imported on first use.
"""

from __future__ import annotations

from typing import Any

from tunelab.logger import _legacy
from tunelab.logger._csv import CSVLoggerCallback
from tunelab.logger._json import JsonLoggerCallback
from tunelab.logger._legacy import (
    CSVLogger,
    JsonLogger,
    LegacyLoggerCallback,
    Logger,
    NoopLogger,
    UnifiedLogger,
    pretty_print,
)
from tunelab.logger._logger_callback import LoggerCallback
from tunelab.logger._tbx import TBXLogger, TBXLoggerCallback, tbx_available

# As in Ray Tune, the legacy defaults include TensorBoard when tensorboardX is installed
# (checked without importing it). Set here because _tbx builds on _legacy.
if tbx_available() and TBXLogger not in _legacy.DEFAULT_LOGGERS:
    _legacy.DEFAULT_LOGGERS = (*_legacy.DEFAULT_LOGGERS, TBXLogger)
DEFAULT_LOGGERS = _legacy.DEFAULT_LOGGERS

__all__ = [
    "DEFAULT_LOGGERS",
    "CSVLogger",
    "CSVLoggerCallback",
    "JsonLogger",
    "JsonLoggerCallback",
    "LegacyLoggerCallback",
    "Logger",
    "LoggerCallback",
    "NoopLogger",
    "TBXLogger",
    "TBXLoggerCallback",
    "UnifiedLogger",
    "pretty_print",
    "tbx_available",
]

# Ray Tune 2.x's submodules (``tunelab.logger.csv``, ...), imported on first attribute use.
_SUBMODULES = frozenset(
    {"aim", "comet", "csv", "json", "logger", "mlflow", "noop", "tensorboardx", "unified", "wandb"}
)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    if name == "TFLogger":  # Ray Tune 0.6's name of the TensorBoard logger
        return TBXLogger
    if name == "MLFLowLogger":  # Ray Tune 0.8's ``from ray.tune.logger import MLFLowLogger``
        from tunelab.integration._mlflow import MLFLowLogger

        return MLFLowLogger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
