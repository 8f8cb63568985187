"""AxSearch: Meta's Ax (``AxClient``: Sobol, then BoTorch's Bayesian optimization)."""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tunelab import _trust
from tunelab._errors import ExtraNotInstalledError, require
from tunelab._legacy_args import check_max_concurrent, check_use_early_stopped_trials
from tunelab.search._convert import (
    LibrarySearcher,
    OwnConcurrencyLimit,
    check_points,
    finite_objective,
    has_searchable,
    merge_suggestion,
)
from tunelab.search._native import fresh_random_states
from tunelab.search._searcher import Searcher
from tunelab.search.ax._space import NativeParameters, TunelabParameters, is_parameter_list

__all__ = ["AxSearch"]

logger = logging.getLogger("tunelab.search")

_STATE_VERSION = 1
_Space = TunelabParameters | NativeParameters


def _import_ax() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit deprecations inside BoTorch's modules
        require("torch", extra="ax", feature="AxSearch")
        ax = require("ax", extra="ax", feature="AxSearch")
        try:
            importlib.import_module("ax.service.ax_client")
            importlib.import_module("ax.exceptions.core")
            importlib.import_module("ax.exceptions.generation_strategy")
        except ImportError as exc:
            raise ExtraNotInstalledError("AxSearch", "ax", exc.name or "ax") from exc
    return ax


class AxSearch(OwnConcurrencyLimit, LibrarySearcher):
    """Suggests configurations with Ax (``pip install "tunelab[ax]"``; Ax runs on PyTorch).

    Ax's ``AxClient``: Sobol initialisation, then BoTorch's Gaussian processes. Results with
    the metric (and the outcome constraints' metrics) complete the Ax trial; a NaN or
    infinite value abandons it, and so does a result without those metrics; a failed trial
    is marked failed (Ray Tune left it running, where it kept counting against Ax's
    parallelism limit). While Ax waits for data, ``suggest`` returns ``None``; when it waits
    with no trial running (every earlier trial failed), the search ends.

    Ax and BoTorch draw from numpy's and torch's global random generators; this searcher
    swaps generators of its own in around each of their calls (seeded with ``random_seed``),
    so the search can be resumed exactly and leaves other random draws alone. Ax's warnings
    are silenced.

    Args:
        space: Ax's own list of parameter dicts (``{"name": "x", "type": "range",
            "bounds": [0.0, 1.0]}``, ...; ``"a/b"`` names become nested keys) or a tunelab
            space (also accepted through ``param_space``/``config``, not both). An
            ``AxClient`` in this position is Ray Tune 0.8's ``AxSearch(ax_client, mode,
            ...)`` (then a ``metric`` of ``"min"``/``"max"`` is read as the mode). ``None``
            (default): the run's config.
        metric: The result key to optimize. ``None``: the run's ``metric`` (or the Ax
            experiment's objective).
        mode: ``"min"`` or ``"max"``. ``None``: the run's ``mode`` (or the experiment's).
        points_to_evaluate: Complete configurations, attached to the Ax experiment and run
            first. ``None`` (default): none.
        parameter_constraints: Ax's constraint strings on parameters
            (``"x1 + x2 <= 2.0"``). ``None`` (default): none.
        outcome_constraints: Ax's constraint strings on reported metrics
            (``"l2norm <= 1.25"``). ``None`` (default): none.
        ax_client: An ``AxClient`` to use, with or without its experiment; with one, the
            space, metric and mode are the experiment's. ``None`` (default): a new one,
            built with ``ax_kwargs``.
        max_concurrent: Older spelling: caps how many suggested trials run at once.
            ``None``/``0``: no limit.
        use_early_stopped_trials: 0.8 spelling, accepted as ``None`` or ``True``.
        **ax_kwargs: Further arguments of ``AxClient`` (e.g. ``random_seed``, which also
            seeds this searcher's numpy and torch generators, or
            ``enforce_sequential_optimization``); ``verbose_logging`` defaults to ``False``.

    Raises:
        ImportError: Ax is not installed.
        TypeError: ``ax_client`` is not an ``AxClient``, a constraint list is not a list of
            str, ``space`` is of another kind, or ``points_to_evaluate`` is not a list of
            dicts.
        ValueError: Two AxClients, an AxClient with an experiment together with ``space`` or
            constraints, or a ``metric``/``mode`` that differs from the experiment's.
    """

    where = "AxSearch()"

    def __init__(
        self,
        space: Any = None,
        metric: str | None = None,
        mode: str | None = None,
        points_to_evaluate: list[dict[str, Any]] | None = None,
        parameter_constraints: list[str] | None = None,
        outcome_constraints: list[str] | None = None,
        ax_client: Any = None,
        *,
        max_concurrent: int | None = None,
        use_early_stopped_trials: bool | None = None,
        **ax_kwargs: Any,
    ) -> None:
        self._ax_module = _import_ax()
        self._AxClient = self._ax_module.service.ax_client.AxClient
        check_use_early_stopped_trials(self.where, use_early_stopped_trials)
        if isinstance(space, self._AxClient):  # Ray Tune 0.8: AxSearch(ax_client, mode, ...)
            if ax_client is not None:
                raise ValueError(f"{self.where} got two AxClients (`space` and `ax_client`)")
            space, ax_client = None, space
            if isinstance(metric, str) and metric in ("min", "max") and mode is None:
                metric, mode = None, metric
        if ax_client is not None and not isinstance(ax_client, self._AxClient):
            raise TypeError(
                f"`ax_client` of {self.where} must be an ax.service.ax_client.AxClient, got "
                f"{ax_client!r}"
            )
        super().__init__(metric=metric, mode=mode)
        self.max_concurrent = check_max_concurrent(self.where, max_concurrent)
        for name, value in (
            ("parameter_constraints", parameter_constraints),
            ("outcome_constraints", outcome_constraints),
        ):
            if value is not None and (
                not isinstance(value, list | tuple) or not all(isinstance(c, str) for c in value)
            ):
                raise TypeError(f"`{name}` of {self.where} must be a list of str, got {value!r}")
        self.parameter_constraints = list(parameter_constraints or [])
        self.outcome_constraints = list(outcome_constraints or [])
        ax_kwargs.setdefault("verbose_logging", False)
        self.ax_kwargs = ax_kwargs
        seed = ax_kwargs.get("random_seed")
        self._np_state, self._torch_state = fresh_random_states(
            seed if isinstance(seed, int) else None
        )
        self._points = check_points(points_to_evaluate, self.where)
        self._client: Any = ax_client
        self._space: _Space | None = None
        if self._client is not None and _has_experiment(self._client):
            if space is not None or self.parameter_constraints or self.outcome_constraints:
                raise ValueError(
                    f"{self.where} got an AxClient with an experiment: its space and "
                    f"constraints are the experiment's; do not pass `space`, "
                    f"`parameter_constraints` or `outcome_constraints` too"
                )
            self._adopt_experiment()
        elif space is not None:
            self._space = self._make_space(space)
        self._live: dict[str, int] = {}  # trial id -> Ax trial index

    # -- space ----------------------------------------------------------------------------
    def _make_space(self, space: Any) -> _Space:
        if isinstance(space, dict) and space and has_searchable(space):
            return TunelabParameters(space)
        if is_parameter_list(space):
            return NativeParameters(list(space), [p["name"] for p in space])
        raise TypeError(
            f"`space` of {self.where} must be a list of Ax parameter dicts or a dict of tunelab "
            f"domains, got {space!r}"
        )

    def _adopt_experiment(self) -> None:
        """Metric, mode and parameter names from the client's experiment."""
        experiment = self._client.experiment
        objective = experiment.optimization_config.objective
        objective = getattr(objective, "objectives", [objective])[0]
        metric, mode = _metric_names(objective)[0], "min" if objective.minimize else "max"
        for what, given, found in (("metric", self.metric, metric), ("mode", self.mode, mode)):
            if given is not None and given != found:
                raise ValueError(
                    f"{self.where}: `{what}`={given!r} differs from the Ax experiment's "
                    f"objective ({found!r})"
                )
        self._metric, self._mode = metric, mode
        self._space = NativeParameters(None, list(experiment.parameters))

    def _has_space(self) -> bool:
        return self._space is not None

    def _use_config(self, config: dict[str, Any]) -> None:
        self._space = TunelabParameters(config)

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        if self._client is not None and _has_experiment(self._client):
            if has_searchable(config):
                raise ValueError(
                    f"{self.where}'s AxClient already has an experiment (its search space), and "
                    f"the experiment's config/param_space holds domains to search as well; "
                    f"give the space in one place"
                )
            return False
        return super().set_search_properties(metric, mode, config, **spec)

    # -- Ax's global random state -----------------------------------------------------------
    @contextmanager
    def _own_random_state(self) -> Iterator[None]:
        import numpy as np
        import torch

        outer_np, outer_torch = np.random.get_state(), torch.get_rng_state()
        np.random.set_state(self._np_state)
        torch.set_rng_state(self._torch_state)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
        finally:
            self._np_state, self._torch_state = np.random.get_state(), torch.get_rng_state()
            np.random.set_state(outer_np)
            torch.set_rng_state(outer_torch)

    def _get_client(self) -> Any:
        if self._client is None:
            with self._own_random_state():
                self._client = self._AxClient(**self.ax_kwargs)
        if not _has_experiment(self._client):
            assert self._space is not None and self._space.parameters is not None
            objective = self._ax_module.service.ax_client.ObjectiveProperties
            with self._own_random_state():
                self._client.create_experiment(
                    parameters=self._space.parameters,
                    objectives={self.metric: objective(minimize=self.mode != "max")},
                    parameter_constraints=self.parameter_constraints or None,
                    outcome_constraints=self.outcome_constraints or None,
                )
        return self._client

    # -- searching ------------------------------------------------------------------------
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        self._check_ready()
        assert self._space is not None
        if self._at_own_limit():
            return None
        client = self._get_client()
        exceptions = self._ax_module.exceptions
        if self._points:
            given, fixed = self._space.split_point(self._points.pop(0))
            missing = sorted(set(self._space.names) - set(given))
            if missing:
                raise ValueError(
                    f"`points_to_evaluate` of {self.where}: a point must set every searched "
                    f"parameter (Ax attaches it as a trial); missing {missing}"
                )
            with self._own_random_state():
                _, index = client.attach_trial(self._space.parameterization(given))
            config = merge_suggestion(self._space.suggestion(given), fixed)
        else:
            waiting = (
                exceptions.generation_strategy.MaxParallelismReachedException,
                exceptions.core.DataRequiredError,
            )
            try:
                with self._own_random_state():
                    parameters, index = client.get_next_trial()
            except waiting:
                if self._live:
                    return None
                logger.warning(
                    "%s: Ax needs data to go on but no trial is running (the earlier ones "
                    "failed); the search ends",
                    self.where,
                )
                return Searcher.FINISHED
            except exceptions.core.OptimizationComplete as exc:
                logger.info("%s: Ax ends the search: %s", self.where, exc)
                return Searcher.FINISHED
            config = self._space.suggestion(self._space.values(parameters))
        self._live[trial_id] = int(index)
        return config

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        index = self._live.pop(trial_id, None)
        if index is None or self._client is None:
            return
        client = self._client
        with self._own_random_state():
            if error:
                client.log_trial_failure(trial_index=index)
                return
            names = [self.metric] + [
                name
                for constraint in client.experiment.optimization_config.outcome_constraints
                for name in _metric_names(constraint)
            ]
            data = {}
            for name in names:
                value = finite_objective(result, name)
                if value is None:
                    client.abandon_trial(
                        trial_index=index,
                        reason=f"trial {trial_id} reported no finite value of {name!r}",
                    )
                    return
                data[name] = (float(value), None)
            client.complete_trial(trial_index=index, raw_data=data)

    # -- state ----------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The AxClient (experiment, data, generation strategy and its fitted model, which
        Ax's JSON snapshot leaves out and the next fit starts from), the random states, the
        live trials and the points still to run, pickled together (signed with the
        experiment's key when saved for resume, see :mod:`tunelab._trust`)."""
        payload = {
            "client": self._client,
            "np_state": self._np_state,
            "torch_state": self._torch_state,
            "live": dict(self._live),
            "points": list(self._points),
        }
        with self._own_random_state():
            blob = _trust.dumps_signed(payload)
        return {"version": _STATE_VERSION, "pickle": blob}

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`get_state`. On resume the pickle is unpickled only when its
        signature checks out (:class:`tunelab._trust.TrustError` otherwise, before anything
        changes).

        Args:
            state: What :meth:`get_state` returned.

        Raises:
            ValueError: ``state`` is not a state of this version.
        """
        self._check_state_version(state, _STATE_VERSION)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            payload = _trust.loads_signed(state["pickle"], "pickled AxClient")
        if payload["client"] is not None:
            self._client = payload["client"]
        self._np_state, self._torch_state = payload["np_state"], payload["torch_state"]
        self._live = dict(payload["live"])
        self._points = list(payload["points"])

    def __repr__(self) -> str:
        return f"AxSearch(metric={self.metric!r}, mode={self.mode!r})"


def _metric_names(objective_or_constraint: Any) -> list[str]:
    """The metric names of an Ax objective or outcome constraint (Ax 1.x: ``metric_names``;
    earlier: ``metric.name``)."""
    names = getattr(objective_or_constraint, "metric_names", None)
    if names:
        return [str(name) for name in names]
    return [str(objective_or_constraint.metric.name)]


def _has_experiment(client: Any) -> bool:
    try:
        client.experiment  # noqa: B018 - raises when the client has no experiment yet
    except (AssertionError, ValueError):
        return False
    except Exception as exc:  # Ax 1.x: UserInputError and friends
        return "experiment" not in str(exc).lower()
    return True
