"""Ray Tune's ``ray.tune.integration.mxnet`` (MXNet integration).

Not provided: Apache MXNet is retired and its last release needs numpy < 2. The module
imports, so that a ported script fails on the name it uses; each name raises
:class:`~tunelab.integration.IntegrationNotAvailableError` (an ``ImportError``) that says so.
"""

from __future__ import annotations

from typing import NoReturn

from tunelab.integration._pending import missing

_NAMES = ("TuneCallback", "TuneCheckpointCallback", "TuneReportCallback")


def __getattr__(name: str) -> NoReturn:
    missing(__name__, name, _NAMES)
