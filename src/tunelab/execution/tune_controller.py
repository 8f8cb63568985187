"""Ray Tune 2.x's ``ray.tune.execution.tune_controller`` path: :data:`TuneController`.

In Ray Tune, schedulers and a resource-changing scheduler's allocation function receive the
``TuneController`` and call ``get_trials()``/``get_live_trials()`` on it. In tunelab they
receive a :class:`~tunelab.schedulers.RunnerView` (the controller itself stays private), so
``TuneController`` names that class, for the annotations of ported code.
"""

from __future__ import annotations

from tunelab.schedulers import RunnerView

TuneController = RunnerView

__all__ = ["TuneController"]
