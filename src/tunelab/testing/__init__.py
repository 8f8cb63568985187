"""Test doubles and conformance suites for tunelab's extension points.

* :class:`SimulatedExecutor`: runs trials on learning curves in simulated time (no workers),
  so that a whole experiment of scheduler decisions takes milliseconds;
  :func:`simulate` runs one through ``tune.run``; :func:`simulated_trainable` is the
  placeholder trainable such experiments name.
* :mod:`tunelab.testing.scheduler_conformance`: ``check_scheduler(factory)`` drives a
  :class:`~tunelab.schedulers.TrialScheduler` through the lifecycle every built-in passes;
  :mod:`tunelab.testing.searcher_conformance` does the same for searchers, and
  :mod:`tunelab.testing.executor_conformance` (``check_executor(factory, workdir)``) for
  executors.

Nothing here is imported by ``import tunelab``.
"""

from tunelab.execution._simulated import SimulatedExecutor
from tunelab.testing._simulate import simulate, simulated_trainable

__all__ = ["SimulatedExecutor", "simulate", "simulated_trainable"]
