"""Ray Tune 1.x's ``ray.tune.trial_runner`` path: :data:`TrialRunner`.

In Ray Tune, schedulers and a resource-changing scheduler's allocation function receive the
``TrialRunner`` and call ``get_trials()``/``get_live_trials()`` on it. In tunelab they receive
a :class:`~tunelab.schedulers.RunnerView` (the controller itself stays private), so
``TrialRunner`` names that class, for the annotations of ported code.
"""

from __future__ import annotations

from tunelab.schedulers import RunnerView

TrialRunner = RunnerView

__all__ = ["TrialRunner"]
