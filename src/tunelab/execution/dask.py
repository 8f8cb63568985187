"""Run trials on a Dask cluster: ``from tunelab.execution.dask import DaskExecutor``.

Importing this module needs no Dask; constructing a :class:`DaskExecutor` without the
extra raises an ImportError that names ``pip install "tunelab[dask]"``.
"""

from __future__ import annotations

from tunelab.execution._dask import DaskExecutor

__all__ = ["DaskExecutor"]
