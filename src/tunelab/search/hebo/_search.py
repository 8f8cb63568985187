"""HEBOSearch: Huawei's HEBO (heteroscedastic evolutionary Bayesian optimization)."""

from __future__ import annotations

import importlib
import inspect
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tunelab import _trust
from tunelab._errors import ExtraNotInstalledError, require
from tunelab.search._convert import (
    LibrarySearcher,
    check_points,
    check_seed,
    finite_objective,
    has_searchable,
    merge_suggestion,
)
from tunelab.search._native import check_rewards, fresh_random_states, is_finite_number
from tunelab.search._resolve import copy_tree
from tunelab.search.hebo._space import NativeDesign, TunelabDesign

__all__ = ["HEBOSearch"]

logger = logging.getLogger("tunelab.search")

_STATE_VERSION = 1
_INSTALL = (
    "HEBOSearch needs the optional package 'hebo': install its dependencies with pip install "
    '"tunelab[hebo]", then HEBO itself with pip install --no-deps "HEBO>=0.3.5" (HEBO\'s '
    "metadata pins numpy<1.25, which no Python 3.11 stack with numpy 2 satisfies, and HEBO "
    "0.3.2, the version pip would pick instead, needs pymoo<0.6; HEBO 0.3.6 runs on numpy 2 and "
    "pymoo 0.6)"
)
_Space = TunelabDesign | NativeDesign


def _import_hebo() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit deprecations inside HEBO's modules
            require("pandas", extra="hebo", feature="HEBOSearch")
            require("torch", extra="hebo", feature="HEBOSearch")
            hebo = require("hebo", extra="hebo", feature="HEBOSearch")
            importlib.import_module("hebo.optimizers.hebo")
            importlib.import_module("hebo.design_space.design_space")
    except ExtraNotInstalledError as exc:
        if exc.module == "hebo":
            _reword(exc, _INSTALL)
        raise
    except ImportError as exc:  # a dependency of HEBO itself
        error = ExtraNotInstalledError("HEBOSearch", "hebo", getattr(exc, "name", None) or "hebo")
        _reword(error, f"{_INSTALL}; importing it failed: {exc}")
        raise error from exc
    return hebo


def _reword(error: ImportError, message: str) -> None:
    error.args = (message,)
    error.msg = message  # what ImportError.__str__ shows


class HEBOSearch(LibrarySearcher):
    """Suggests configurations with HEBO (install with ``pip install "tunelab[hebo]"``, then
    ``pip install --no-deps "HEBO>=0.3.5"``: HEBO's own metadata pins an old numpy).

    Quantized values are rounded, categories may be any values, normal distributions cannot
    be searched. Failed trials, NaN and infinite results are not observed. HEBO minimizes:
    ``mode="max"`` observes the negated metric.

    HEBO draws from numpy's and torch's global random generators; this searcher keeps
    generators of its own (seeded with ``random_state_seed``) and swaps them in around each
    of HEBO's calls, so the search is reproducible and leaves other random draws alone (Ray
    Tune seeded the global generators once). pymoo 0.6.1+ (HEBO's evolutionary acquisition
    optimizer) draws fresh-entropy generators; during HEBO's calls they are seeded from this
    searcher's generator, as pymoo 0.6.0 did from numpy's global one. HEBO's own warnings are
    silenced.

    Args:
        space: A HEBO ``DesignSpace`` (``"a/b"`` names become nested keys) or a tunelab
            space (also accepted through ``param_space``/``config``, not both). ``None``
            (default): the run's config.
        metric: The result key to optimize. ``None``: the run's ``metric``.
        mode: ``"min"`` or ``"max"``. ``None``: the run's ``mode``.
        points_to_evaluate: Configs to run first (missing values drawn at random).
            ``None`` (default): none.
        evaluated_rewards: One metric value per point of ``points_to_evaluate``: the points
            are then observed instead of run. ``None`` (default): run them.
        random_state_seed: Seed of the searcher's own numpy and torch generators; ``None``
            (default): unseeded.
        max_concurrent: HEBO's batch size (an int >= 1; default 8, as in Ray Tune): it
            suggests that many configurations at once and the next batch once all of them
            have finished. ``set_max_concurrency`` of a
            :class:`~tunelab.search.ConcurrencyLimiter` sets it.
        **kwargs: Further arguments of ``hebo.optimizers.hebo.HEBO`` (``rand_sample``,
            ``model_name``, ``acq_cls``, ``es``, ``model_config``, ``scramble_seed``).

    Raises:
        ImportError: HEBO or one of its dependencies is not installed (the message says
            how to install them).
        TypeError: ``max_concurrent`` is not an int, ``space`` is of another kind,
            ``points_to_evaluate`` is not a list of dicts, or ``evaluated_rewards`` does not
            hold numbers.
        ValueError: ``max_concurrent < 1``, ``kwargs`` that HEBO does not take, a negative
            seed, or ``evaluated_rewards`` without one reward per point.
    """

    where = "HEBOSearch()"

    def __init__(
        self,
        space: Any = None,
        metric: str | None = None,
        mode: str | None = None,
        points_to_evaluate: list[dict[str, Any]] | None = None,
        evaluated_rewards: list[Any] | None = None,
        random_state_seed: int | None = None,
        max_concurrent: int = 8,
        **kwargs: Any,
    ) -> None:
        self._hebo = _import_hebo()
        super().__init__(metric=metric, mode=mode)
        if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int):
            raise TypeError(
                f"`max_concurrent` of {self.where} must be an int >= 1, got {max_concurrent!r}"
            )
        if max_concurrent < 1:
            raise ValueError(f"`max_concurrent` of {self.where} must be >= 1, got {max_concurrent}")
        self.max_concurrent = max_concurrent
        self.random_state_seed = check_seed(random_state_seed, "random_state_seed", self.where)
        accepted = set(inspect.signature(self._hebo.optimizers.hebo.HEBO).parameters) - {"space"}
        unknown = sorted(set(kwargs) - accepted)
        if unknown:
            raise ValueError(
                f"{self.where} got keyword arguments {unknown} that HEBO does not take; HEBO "
                f"takes {sorted(accepted)}"
            )
        self.hebo_config = dict(kwargs)
        self._points = check_points(points_to_evaluate, self.where)
        self._rewards = check_rewards(evaluated_rewards, self._points, self.where)
        self._space: _Space | None = self._make_space(space) if space is not None else None
        self._np_state, self._torch_state = fresh_random_states(self.random_state_seed)
        self._opt: Any = None
        self._live: dict[str, dict[str, Any]] = {}  # trial id -> the row to observe
        self._cache: list[dict[str, Any]] = []  # the rest of HEBO's current batch
        self._batch_filled = False

    # -- space ----------------------------------------------------------------------------
    def _make_space(self, space: Any) -> _Space:
        design_space = self._hebo.design_space.design_space.DesignSpace
        if isinstance(space, design_space):
            if space.num_paras <= 0:
                raise ValueError(f"`space` of {self.where} has no parameter")
            return NativeDesign(space)
        if isinstance(space, dict) and space and has_searchable(space):
            return TunelabDesign(space)
        raise TypeError(
            f"`space` of {self.where} must be a hebo DesignSpace or a dict of tunelab domains, "
            f"got {space!r}"
        )

    def _has_space(self) -> bool:
        return self._space is not None

    def _use_config(self, config: dict[str, Any]) -> None:
        self._space = TunelabDesign(config)
        self._opt = None

    # -- HEBO's global random state ---------------------------------------------------------
    @contextmanager
    def _own_random_state(self) -> Iterator[None]:
        import numpy as np
        import torch

        outer_np, outer_torch = np.random.get_state(), torch.get_rng_state()
        default_rng = np.random.default_rng

        def seeded_default_rng(seed: Any = None) -> Any:
            # pymoo >= 0.6.1 draws a fresh-entropy generator per optimization; 0.6.0 (HEBO's
            # pin) seeded from numpy's global generator: so do we, from this searcher's
            return default_rng(np.random.randint(0, 2**31 - 1) if seed is None else seed)

        np.random.set_state(self._np_state)
        torch.set_rng_state(self._torch_state)
        np.random.default_rng = seeded_default_rng
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
        finally:
            np.random.default_rng = default_rng
            self._np_state, self._torch_state = np.random.get_state(), torch.get_rng_state()
            np.random.set_state(outer_np)
            torch.set_rng_state(outer_torch)

    def _design(self) -> Any:
        assert self._space is not None
        if isinstance(self._space, NativeDesign):
            return self._space.design
        design = self._hebo.design_space.design_space.DesignSpace()
        return design.parse(self._space.records)

    def _get_opt(self) -> Any:
        if self._opt is None:
            with self._own_random_state():
                self._opt = self._hebo.optimizers.hebo.HEBO(self._design(), **self.hebo_config)
            if self._rewards is not None:
                points, rewards = self._points, self._rewards
                self._points, self._rewards = [], None
                for point, reward in zip(points, rewards):
                    row, _ = self._point_row(point, fill=False)
                    self._observe(row, reward)
        return self._opt

    def _point_row(
        self, point: dict[str, Any], fill: bool
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """HEBO's row for a point and the suggestion that runs it."""
        assert self._space is not None
        given, fixed = self._space.split_point(point)
        names = self._space.names
        missing = [n for n in names if n not in given]
        if missing and not fill:
            raise ValueError(
                f"{self.where}: the point {point!r} lacks {missing} (a point observed by HEBO "
                f"must set every parameter)"
            )
        row = self._space.row(given)
        if missing:
            with self._own_random_state():
                drawn = self._opt.space.sample(1).to_dict("records")[0]
            row = {n: row[n] if n in row else drawn[n] for n in names}
            given = {**self._space.values(row), **given}
        return row, merge_suggestion(self._space.suggestion(given), fixed)

    def _observe(self, row: dict[str, Any], value: float) -> None:
        import numpy as np
        import pandas as pd

        frame = pd.DataFrame([row], columns=list(row))
        with self._own_random_state():
            self._opt.observe(frame, np.array([[self._sign() * float(value)]]))

    # -- searching ------------------------------------------------------------------------
    def set_max_concurrency(self, max_concurrent: int) -> bool:
        """HEBO suggests batches of ``max_concurrent`` configurations: a
        ``ConcurrencyLimiter`` sets the batch size and leaves the limiting to HEBOSearch
        (returns True, as in Ray Tune).

        Args:
            max_concurrent: The limiter's ``max_concurrent``, the new batch size.
        """
        self.max_concurrent = max_concurrent
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        self._check_ready()
        assert self._space is not None
        opt = self._get_opt()
        if not self._live:
            self._batch_filled = False
        if self._points:
            row, config = self._point_row(self._points.pop(0), fill=True)
        else:
            if self._batch_filled or len(self._live) >= self.max_concurrent:
                return None
            if not self._cache:
                with self._own_random_state():
                    batch = opt.suggest(n_suggestions=self.max_concurrent)
                self._cache = batch.to_dict("records")
            values = self._space.values(self._cache.pop(0))
            row = self._space.row(values)
            config = self._space.suggestion(values)
        self._live[trial_id] = row
        if len(self._live) >= self.max_concurrent:
            self._batch_filled = True
        return config

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        row = self._live.pop(trial_id, None)
        value = finite_objective(result, self.metric, error)
        if row is None or value is None:
            return
        self._get_opt()
        self._observe(row, value)

    def add_evaluated_point(
        self,
        parameters: dict[str, Any],
        value: float,
        error: bool = False,
        pruned: bool = False,
        intermediate_values: list[float] | None = None,
    ) -> None:
        """Observe a configuration evaluated elsewhere (failed and pruned ones, NaN and
        infinite values are skipped with a warning, as in Ray Tune).

        Args:
            parameters: A value for every parameter.
            value: Its metric value.
            error: ``True``: skipped.
            pruned: ``True``: skipped.
            intermediate_values: Not used (a warning says so).

        Raises:
            ValueError: ``parameters`` lacks a parameter or holds a value outside the space.
            RuntimeError: The searcher has no space, metric or mode yet.
        """
        self._check_ready()
        assert self._space is not None
        if intermediate_values:
            logger.warning("%s does not use intermediate_values; they are ignored", self.where)
        if error or pruned or not is_finite_number(value):
            logger.warning("%s observes only points that finished with a value", self.where)
            return
        self._get_opt()
        if isinstance(self._space, NativeDesign):
            from tunelab.search._native import flatten_point

            flat = flatten_point(parameters)
            parameters = {k: v for k, v in flat.items() if k in self._space.names}
        row, _ = self._point_row(parameters, fill=False)
        self._observe(row, float(value))

    # -- state ----------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """HEBO's optimizer (its observations), the random states, the live trials and the
        current batch, pickled together (signed with the experiment's key when saved for
        resume, see :mod:`tunelab._trust`)."""
        payload = {
            "opt": self._opt,
            "np_state": self._np_state,
            "torch_state": self._torch_state,
            "live": copy_tree(self._live),
            "cache": copy_tree(self._cache),
            "batch_filled": self._batch_filled,
            "points": copy_tree(self._points),
            "rewards": self._rewards,
            "max_concurrent": self.max_concurrent,
        }
        return {"version": _STATE_VERSION, "pickle": _trust.dumps_signed(payload)}

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
        payload = _trust.loads_signed(state["pickle"], "pickled HEBO optimizer")
        if payload["opt"] is not None:
            self._opt = payload["opt"]
        self._np_state, self._torch_state = payload["np_state"], payload["torch_state"]
        self._live = dict(payload["live"])
        self._cache = list(payload["cache"])
        self._batch_filled = bool(payload["batch_filled"])
        self._points = list(payload["points"])
        self._rewards = payload["rewards"]
        self.max_concurrent = int(payload["max_concurrent"])

    def __repr__(self) -> str:
        return (
            f"HEBOSearch(metric={self.metric!r}, mode={self.mode!r}, max_concurrent="
            f"{self.max_concurrent}, random_state_seed={self.random_state_seed!r})"
        )
