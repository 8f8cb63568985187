"""Run a whole experiment on simulated learning curves through ``tune.run``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tunelab.execution._simulated import SimulatedExecutor

__all__ = ["simulate", "simulated_trainable"]


def simulated_trainable(config: dict[str, Any]) -> None:
    """Placeholder trainable for experiments run by :class:`SimulatedExecutor`.

    The simulated executor produces the results itself and never calls it; pass it as the
    trainable of ``tune.run(simulated_trainable, executor=SimulatedExecutor(...))`` (or use
    :func:`simulate`). Run by any other executor, it fails the trial with a clear error.

    Args:
        config: The trial's config (unused).

    Raises:
        RuntimeError: Always: it was run by an executor that is not simulated.
    """
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
    """Run a whole experiment on simulated learning curves, in simulated time.

    ``tune.run`` of :func:`simulated_trainable` on a :class:`SimulatedExecutor` built from
    ``curves`` (or the given ``executor``), quietly (``verbose=0`` unless given). No worker
    runs and no wall-clock time passes between results, so an experiment of hundreds of
    trials and scheduler decisions takes milliseconds to seconds, and the same curves, seeds
    and settings give the same decisions. Use it to try or test schedulers, searchers and
    stoppers.

    Args:
        curves: The learning curves: a function ``(config, iteration) -> dict of metrics``
            (``iteration`` starts at 1; a ``"done": True`` entry ends the trial), or a table
            of recorded curves (a dict or a list of lists of metric dicts) whose entry is
            picked by each trial's ``config["curve"]``. Ignored when ``executor`` is given.
        config: The search space, as for ``tune.run``.
        num_samples: Samples of the search space, as for ``tune.run``.
        scheduler: A trial scheduler (default FIFO).
        search_alg: A search algorithm (default: random and grid search).
        metric: The metric the scheduler and searcher optimize.
        mode: ``"min"`` or ``"max"``.
        stop: Stop criteria, as for ``tune.run`` (a dict, a Stopper or a function).
        num_cpus: The simulated CPUs the trials share (each trial asks for 1 by default).
            Ignored when ``executor`` is given.
        time_per_iteration: Simulated seconds per iteration: a number, or a function
            ``(config, iteration) -> seconds``. Ignored when ``executor`` is given.
        max_iterations: A trial ends after this many iterations. Ignored when ``executor``
            is given.
        executor: A :class:`SimulatedExecutor` to use instead of building one (to set its
            other options, or to read its clock afterwards).
        **run_kwargs: Other keyword arguments of ``tune.run`` (``name``, ``storage_path``,
            ``resources_per_trial``, ``verbose``...).

    Returns:
        The :class:`~tunelab.ExperimentAnalysis` of the run. The executor holds the
        simulated time reached (``executor.now``) and the iterations computed
        (``executor.iterations_run``).

    Raises:
        TypeError: ``curves`` is neither a function nor a table.
        ValueError: A bad executor option (``num_cpus`` <= 0, ...) or a bad ``tune.run``
            argument.

    Example::

        from tunelab import grid_search
        from tunelab.schedulers import ASHAScheduler
        from tunelab.testing import simulate

        analysis = simulate(
            lambda config, i: {"loss": config["x"] + 1 / i},
            {"x": grid_search([0.1, 0.5, 0.9])},
            scheduler=ASHAScheduler(max_t=30),
            metric="loss",
            mode="min",
            max_iterations=30,
        )
        print(analysis.best_config)  # {'x': 0.1}
    """
    from tunelab._frontdoor.run import run

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
