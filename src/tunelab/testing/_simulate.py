"""Run a whole experiment on simulated learning curves through ``tune.run``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tunelab.execution._simulated import SimulatedExecutor

__all__ = ["simulate", "simulated_trainable"]


def simulated_trainable(config: dict[str, Any]) -> None:
    """Placeholder trainable for experiments run by :class:`SimulatedExecutor`.

    The simulated executor produces the results itself and never calls it; any other
    executor gets a clear error."""
    raise RuntimeError(
        "simulated_trainable only stands for trials run by tunelab.testing.SimulatedExecutor; "
        "pass executor=SimulatedExecutor(...) (or use tunelab.testing.simulate)"
    )


def simulate(
    curves: Any,
    config: Mapping[str, Any] | None = None,
    *,
    num_samples: int = 1,
    scheduler: Any = None,
    search_alg: Any = None,
    metric: str | None = None,
    mode: str | None = None,
    stop: Any = None,
    num_cpus: float = 2,
    time_per_iteration: float | Callable[[dict[str, Any], int], float] = 1.0,
    max_iterations: int = 100,
    executor: SimulatedExecutor | None = None,
    **run_kwargs: Any,
) -> Any:
    """``tune.run`` of :func:`simulated_trainable` on a :class:`SimulatedExecutor` built from
    ``curves`` (or the given ``executor``), quietly (``verbose=0`` unless given).

    Returns the :class:`~tunelab.ExperimentAnalysis`; the executor (``executor``) holds the
    simulated time (``executor.now``) and the iterations computed (``iterations_run``).
    Other keyword arguments go to ``tune.run``.
    """
    from tunelab._run import run

    if executor is None:
        executor = SimulatedExecutor(
            curves,
            num_cpus=num_cpus,
            time_per_iteration=time_per_iteration,
            max_iterations=max_iterations,
        )
    run_kwargs.setdefault("verbose", 0)
    return run(
        simulated_trainable,
        config=config,
        num_samples=num_samples,
        scheduler=scheduler,
        search_alg=search_alg,
        metric=metric,
        mode=mode,
        stop=stop,
        executor=executor,
        **run_kwargs,
    )
