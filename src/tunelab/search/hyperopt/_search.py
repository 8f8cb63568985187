"""HyperOptSearch: Tree-structured Parzen Estimators through the hyperopt library."""

from __future__ import annotations

import logging
from typing import Any

from tunelab._errors import require
from tunelab._legacy_args import (
    check_max_concurrent,
    check_use_early_stopped_trials,
    resolve_reward_attr,
)
from tunelab.search._convert import (
    LibrarySearcher,
    OwnConcurrencyLimit,
    check_points,
    check_seed,
    has_searchable,
    merge_suggestion,
    objective_value,
)
from tunelab.search._searcher import pack_value, unpack_value
from tunelab.search.hyperopt._space import (
    NativeCodec,
    TunelabCodec,
    is_hyperopt_expression,
    to_hyperopt_space,
)

__all__ = ["HyperOptSearch"]

logger = logging.getLogger("tunelab.search")

_STATE_VERSION = 1


class HyperOptSearch(OwnConcurrencyLimit, LibrarySearcher):
    """Suggests configurations with hyperopt's TPE (``pip install "tunelab[hyperopt]"``).

    The first ``n_initial_points`` completed trials are random, then the Tree-structured
    Parzen Estimator takes over. hyperopt minimizes: with ``mode="max"`` it is given the
    negated metric. ``grid_search`` cannot be searched. A failed trial, or one whose last
    result lacks the metric (or holds NaN), is recorded as failed and not learned from.

    Args:
        space: A hyperopt space (a dict of ``hp.*`` expressions, nested and conditional
            spaces included) or a tunelab space (``tune.uniform`` ...), converted
            automatically; a tunelab space may also come through ``param_space``/``config``
            (not both). A space that mixes both is searched as a hyperopt space, its tunelab
            domains converted by :meth:`convert_search_space` (as Ray Tune does). ``None``
            (default): the run's config.
        metric: The result key to optimize. ``None``: the run's ``metric``.
        mode: ``"min"`` or ``"max"``. ``None``: the run's ``mode``.
        points_to_evaluate: Configs to run first, full or partial (missing values are
            drawn at random; Ray Tune raised). In a space of ``hp.*`` expressions a value
            for an ``hp.choice`` is its category; an int that is none of the categories but
            a valid position is read as the category's index (the 0.x-1.1 spelling, e.g.
            ``{"activation": 0}`` for the first). ``None`` (default): none.
        n_initial_points: How many completed trials are random before TPE starts (>= 0;
            default 20).
        random_state_seed: Seed of the search; ``None`` (default): unseeded.
        gamma: TPE's fraction of results it models as good, in (0, 1) (default 0.25).
        max_concurrent: Older spelling (0.x-1.x): caps how many suggested trials run at
            once, like a :class:`~tunelab.search.ConcurrencyLimiter`. ``None``/``0``: no
            limit.
        use_early_stopped_trials: 0.8 spelling, accepted as ``None`` or ``True`` (with a
            ``FutureWarning``): early-stopped trials always count.
        reward_attr: 0.5-0.7 spelling: ``metric=reward_attr, mode="max"``.

    Raises:
        ImportError: hyperopt is not installed.
        TypeError: ``space`` is not a dict, ``n_initial_points`` is not an int, or
            ``points_to_evaluate`` is not a list of dicts.
        ValueError: ``n_initial_points < 0``, ``gamma`` outside (0, 1), a negative seed, or
            ``use_early_stopped_trials=False``.
    """

    where = "HyperOptSearch()"
    state_is_json = True  # documents as plain numbers and strings (see get_state)

    def __init__(
        self,
        space: dict[str, Any] | None = None,
        metric: str | None = None,
        mode: str | None = None,
        points_to_evaluate: list[dict[str, Any]] | None = None,
        n_initial_points: int = 20,
        random_state_seed: int | None = None,
        gamma: float = 0.25,
        max_concurrent: int | None = None,
        use_early_stopped_trials: bool | None = None,
        *,
        reward_attr: str | None = None,
    ) -> None:
        self._hyperopt = require("hyperopt", extra="hyperopt", feature="HyperOptSearch")
        metric, mode = resolve_reward_attr(self.where, reward_attr, metric, mode)
        check_use_early_stopped_trials(self.where, use_early_stopped_trials)
        super().__init__(metric=metric, mode=mode)
        self.max_concurrent = check_max_concurrent(self.where, max_concurrent)
        if isinstance(n_initial_points, bool) or not isinstance(n_initial_points, int):
            raise TypeError(
                f"`n_initial_points` of {self.where} must be an int >= 0, got {n_initial_points!r}"
            )
        if n_initial_points < 0:
            raise ValueError(
                f"`n_initial_points` of {self.where} must be >= 0, got {n_initial_points}"
            )
        if isinstance(gamma, bool) or not isinstance(gamma, int | float) or not 0 < gamma < 1:
            raise ValueError(f"`gamma` of {self.where} must be a number in (0, 1), got {gamma!r}")
        self.n_initial_points = n_initial_points
        self.random_state_seed = check_seed(random_state_seed, "random_state_seed", self.where)
        self.gamma = float(gamma)
        self._points = check_points(points_to_evaluate, self.where)
        self._codec: TunelabCodec | NativeCodec | None = None
        if space is not None:
            if not isinstance(space, dict):
                raise TypeError(
                    f"`space` of {self.where} must be a dict (hyperopt expressions or tunelab "
                    f"domains), got {space!r}"
                )
            self._codec = self._make_codec(space)
        import numpy as np

        self._rng = np.random.default_rng(self.random_state_seed)
        self._trials = self._hyperopt.Trials()
        self._domain: Any = None
        self._docs: dict[int, dict[str, Any]] = {}
        self._live: dict[str, int] = {}

    # -- space ----------------------------------------------------------------------------
    @staticmethod
    def convert_search_space(spec: dict[str, Any]) -> dict[str, Any]:
        """A tunelab search space as a hyperopt space, as Ray Tune's method of the same name.

        Args:
            spec: A tunelab search space.

        Returns:
            ``spec`` with each domain replaced by the ``hp.*`` expression of the same law,
            labelled with its path (``"a/b"``); constants are kept. Pass it as ``space=``.

        Raises:
            ImportError: hyperopt is not installed.
            TypeError: ``spec`` is not a dict.
            ValueError: ``spec`` holds a ``grid_search``.
        """
        hyperopt = require("hyperopt", extra="hyperopt", feature="HyperOptSearch")
        if not isinstance(spec, dict):
            raise TypeError(
                f"`spec` of HyperOptSearch.convert_search_space() must be a dict search space, "
                f"got {spec!r}"
            )
        converted: dict[str, Any] = to_hyperopt_space(spec, hyperopt)
        return converted

    def _make_codec(self, space: dict[str, Any]) -> TunelabCodec | NativeCodec:
        if has_searchable(space):
            if any(is_hyperopt_expression(v) for v in _leaves(space)):
                return NativeCodec(self.convert_search_space(space), self._hyperopt)
            return TunelabCodec(space, self._hyperopt.hp)
        return NativeCodec(space, self._hyperopt)

    _space_attributes = ("_codec",)

    def _space_restored(self) -> None:
        self._domain = None

    def _has_space(self) -> bool:
        return self._codec is not None

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        """As every library searcher; and, as Ray Tune's HyperOptSearch, a searcher without a
        space of its own that is given a config with nothing to search (only constants)
        raises ``RuntimeError`` here, not at the first suggestion (hyperopt cannot search an
        empty space).

        Args:
            metric: The run's ``metric``.
            mode: The run's ``mode``.
            config: The experiment's config.
            **spec: Further properties of the experiment.

        Returns:
            ``True`` when the searcher took ``config`` as its space.

        Raises:
            RuntimeError: Neither the searcher nor ``config`` has anything to search.
        """
        if not self._has_space() and not has_searchable(config):
            raise RuntimeError(
                f"{self.where} has no search space: none was given to it, and the "
                f"experiment's config/param_space holds nothing to search ({config!r}). This "
                f"issue can also come up with HyperOpt if your search space only contains "
                f"constant variables, which HyperOpt cannot search; in that case pass no "
                f"searcher, or add domains to search (tune.uniform, tune.choice, ...)"
            )
        return super().set_search_properties(metric, mode, config, **spec)

    def _use_config(self, config: dict[str, Any]) -> None:
        self._codec = TunelabCodec(config, self._hyperopt.hp)
        self._domain = None

    def _get_domain(self) -> Any:
        if self._domain is None:
            assert self._codec is not None  # _check_ready ran
            self._domain = self._hyperopt.base.Domain(_no_objective, self._codec.space)
        return self._domain

    # -- searching ------------------------------------------------------------------------
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        self._check_ready()
        assert self._codec is not None
        if self._at_own_limit():
            return None
        fixed: dict[Any, Any] = {}
        if self._points:
            point = self._points.pop(0)
            vals, fixed = self._codec.encode(point)
            doc = self._insert(self._point_vals(vals))
        else:
            doc = self._suggest_tpe()
        self._live[trial_id] = int(doc["tid"])
        suggestion = self._codec.decode(_flat_vals(doc))
        if fixed:
            suggestion = merge_suggestion(suggestion, self._codec.fixed_suggestion(fixed))
        return suggestion

    def _seed(self) -> int:
        return int(self._rng.integers(2**31 - 1))

    def _suggest_tpe(self) -> dict[str, Any]:
        hyperopt = self._hyperopt
        trials = self._trials
        new_ids = trials.new_trial_ids(1)
        trials.refresh()
        docs = hyperopt.tpe.suggest(
            new_ids,
            self._get_domain(),
            trials,
            self._seed(),
            n_startup_jobs=self.n_initial_points,
            gamma=self.gamma,
            verbose=False,
        )
        return self._insert_docs(docs)

    def _point_vals(self, given: dict[str, Any]) -> dict[str, Any]:
        """Label values of a point: the given ones, the others drawn at random."""
        assert self._codec is not None
        missing = set(self._codec.labels) - set(given)
        vals = dict(given)
        if missing:
            probe = self._hyperopt.rand.suggest(
                [-1], self._get_domain(), self._hyperopt.Trials(), self._seed()
            )[0]
            for label, value in _flat_vals(probe).items():
                vals.setdefault(label, value)
        active = self._codec.active_labels(vals)
        absent = sorted(label for label in active if label not in vals)
        if absent:
            raise ValueError(
                f"`points_to_evaluate` of {self.where}: give values for {absent} as well (the "
                f"branch the point chooses needs them)"
            )
        return {label: vals[label] for label in active}

    def _insert(self, vals: dict[str, Any], result: dict[str, Any] | None = None) -> Any:
        assert self._codec is not None
        trials = self._trials
        tid = trials.new_trial_ids(1)[0]
        misc = {
            "tid": tid,
            "cmd": self._get_domain().cmd,
            "workdir": None,
            "idxs": {label: ([tid] if label in vals else []) for label in self._codec.labels},
            "vals": {
                label: ([vals[label]] if label in vals else []) for label in self._codec.labels
            },
        }
        docs = trials.new_trial_docs([tid], [None], [result or {"status": "new"}], [misc])
        return self._insert_docs(docs)

    def _insert_docs(self, docs: list[dict[str, Any]]) -> dict[str, Any]:
        trials = self._trials
        trials.insert_trial_docs(docs)
        trials.refresh()
        doc: dict[str, Any] = trials.trials[-1]
        self._docs[int(doc["tid"])] = doc
        return doc

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        tid = self._live.pop(trial_id, None)
        if tid is None:
            return
        value = None if error else objective_value(result, self.metric)
        self._finish(self._docs[tid], value)

    def _finish(self, doc: dict[str, Any], value: float | None) -> None:
        base = self._hyperopt.base
        if value is None:
            doc["result"] = {"status": base.STATUS_FAIL}
            doc["state"] = base.JOB_STATE_ERROR
        else:
            doc["result"] = {"loss": self._sign() * value, "status": base.STATUS_OK}
            doc["state"] = base.JOB_STATE_DONE
        self._trials.refresh()

    def add_evaluated_point(
        self,
        parameters: dict[str, Any],
        value: float,
        error: bool = False,
        pruned: bool = False,
        intermediate_values: list[float] | None = None,
    ) -> None:
        """Record a configuration evaluated elsewhere (it counts like a completed trial).

        Args:
            parameters: The configuration; values it leaves out are drawn at random.
            value: Its metric value (NaN: recorded as failed).
            error: ``True``: recorded as failed.
            pruned: Not used by hyperopt.
            intermediate_values: Not used by hyperopt.

        Raises:
            RuntimeError: The searcher has no space, metric or mode yet.
        """
        self._check_ready()
        assert self._codec is not None
        vals, _ = self._codec.encode(parameters)
        doc = self._insert(self._point_vals(vals))
        number = objective_value({"v": value}, "v")
        self._finish(doc, None if error else number)

    # -- state ----------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """hyperopt's trial documents, the random generator, the live trials and the points
        still to run, as JSON."""
        docs = [
            {
                "tid": int(doc["tid"]),
                "state": int(doc["state"]),
                "result": {k: _python(v) for k, v in doc["result"].items()},
                "vals": {k: [_python(x) for x in v] for k, v in doc["misc"]["vals"].items()},
            }
            for doc in self._trials.trials
        ]
        return {
            "version": _STATE_VERSION,
            "metric": self.metric,
            "mode": self.mode,
            "rng": self._rng.bit_generator.state,
            "points": pack_value(self._points),
            "docs": docs,
            "live": dict(self._live),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`get_state` (a metric or mode this searcher lacks is taken
        from the state).

        Args:
            state: What :meth:`get_state` returned.

        Raises:
            ValueError: ``state`` is not a state of this version.
        """
        self._check_state_version(state, _STATE_VERSION)
        self._metric = self._metric if self._metric is not None else state["metric"]
        self._mode = self._mode if self._mode is not None else state["mode"]
        self._rng.bit_generator.state = state["rng"]
        self._points = list(unpack_value(state["points"]))
        self._live = {str(k): int(v) for k, v in state["live"].items()}
        self._trials = self._hyperopt.Trials()
        self._docs = {}
        cmd = ("domain_attachment", "FMinIter_Domain")
        for saved in state["docs"]:
            tid = int(saved["tid"])
            vals = {k: list(v) for k, v in saved["vals"].items()}
            misc = {
                "tid": tid,
                "cmd": cmd,
                "workdir": None,
                "idxs": {k: ([tid] if v else []) for k, v in vals.items()},
                "vals": vals,
            }
            docs = self._trials.new_trial_docs([tid], [None], [saved["result"]], [misc])
            docs[0]["state"] = int(saved["state"])
            self._insert_docs(docs)

    def __repr__(self) -> str:
        return (
            f"HyperOptSearch(metric={self.metric!r}, mode={self.mode!r}, "
            f"n_initial_points={self.n_initial_points}, random_state_seed="
            f"{self.random_state_seed!r}, gamma={self.gamma})"
        )


def _no_objective(config: Any) -> Any:  # pragma: no cover - hyperopt never calls it here
    raise RuntimeError("HyperOptSearch evaluates trials through tunelab, not hyperopt")


def _flat_vals(doc: dict[str, Any]) -> dict[str, Any]:
    return {label: values[0] for label, values in doc["misc"]["vals"].items() if values}


def _python(value: Any) -> Any:
    """A numpy scalar as the Python number it holds (for JSON state)."""
    item = getattr(value, "item", None)
    return item() if callable(item) and getattr(value, "shape", None) == () else value


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in _leaves(value)]
    if isinstance(node, list | tuple):
        return [leaf for value in node for leaf in _leaves(value)]
    return [node]
