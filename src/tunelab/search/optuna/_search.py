"""OptunaSearch: any Optuna sampler behind tunelab's Searcher interface."""

from __future__ import annotations

import logging
from typing import Any

from tunelab import _trust
from tunelab._errors import require
from tunelab._legacy_args import check_max_concurrent, resolve_reward_attr
from tunelab.search._convert import (
    LibrarySearcher,
    OwnConcurrencyLimit,
    check_points,
    check_seed,
    merge_suggestion,
    objective_value,
)
from tunelab.search._searcher import pack_value, unpack_value
from tunelab.search.optuna._space import (
    DefineByRunSpace,
    DistributionSpace,
    TunelabSpace,
    check_define_by_run,
    flatten_point,
    list_space_function,
)

__all__ = ["OptunaSearch"]

logger = logging.getLogger("tunelab.search")

_STATE_VERSION = 1
_Space = TunelabSpace | DistributionSpace | DefineByRunSpace


class OptunaSearch(OwnConcurrencyLimit, LibrarySearcher):
    """Suggests configurations with an Optuna study (``pip install "tunelab[optuna]"``).

    Optuna's TPE sampler by default, or any Optuna sampler; single- or multi-objective.
    Intermediate results are reported to the Optuna trial (``trial.report(value, step)`` with
    ``training_iteration`` as the step); Optuna's pruners are not used (the study's pruner
    is ``NopPruner``: stop trials with a tunelab scheduler). A trial whose last result
    lacks the metric is recorded as PRUNED (FAIL in a multi-objective study), a failed
    trial as FAIL. Categories that Optuna cannot store (other than distinct ``None``,
    bool, int, float and str values) are searched by their index and mapped back.

    Args:
        space: The search space: a tunelab space (also accepted through
            ``param_space``/``config`` of the run, not both); a dict of Optuna
            distributions, nested like the config or with flat ``"a/b"`` names for nested
            keys (:meth:`convert_search_space` makes one); a define-by-run function
            ``fn(trial)`` that calls ``trial.suggest_*`` and may return a dict of constants
            for the config; or a list of ``param.suggest_*(...)`` calls (Ray Tune 1.x,
            ``from tunelab.search.optuna import param``). ``None`` (default): the run's
            config.
        metric: The result key to optimize, or a list of keys for a multi-objective study.
            ``None``: the run's ``metric``.
        mode: ``"min"`` or ``"max"``, or a list of them as long as ``metric``. ``None``:
            the run's ``mode``.
        points_to_evaluate: Configs to run first, full or partial (Optuna samples the
            missing values). ``None`` (default): none.
        sampler: An Optuna sampler (``optuna.samplers.BaseSampler``). ``None`` (default):
            ``TPESampler(seed=seed)``.
        study_name: The Optuna study's name (default: one Optuna makes up).
        storage: An Optuna storage (or its URL) to persist the study in; with
            ``study_name`` an existing study is loaded and continued. ``None`` (default):
            in memory (saved with the experiment's state for resume).
        seed: The seed of the default TPE sampler; ``None`` (default): unseeded.
        evaluated_rewards: One reward per point of ``points_to_evaluate`` (a list of
            values for a multi-objective study): the points are then recorded as finished
            trials instead of being run. Needs a dict space. ``None`` (default): run them.
        max_concurrent: Older spelling: caps how many suggested trials run at once, like a
            :class:`~tunelab.search.ConcurrencyLimiter`. ``None``/``0``: no limit.
        reward_attr: 0.5-0.7 spelling: ``metric=reward_attr, mode="max"`` (with a
            ``FutureWarning``).

    Raises:
        ImportError: Optuna is not installed.
        TypeError: ``sampler`` is not an Optuna sampler, ``study_name`` not a str, ``space``
            of another kind, ``points_to_evaluate`` not a list of dicts,
            ``evaluated_rewards`` not a list (or given with a define-by-run space), or
            ``seed`` not an int.
        ValueError: Both ``sampler`` and ``seed`` were given, ``evaluated_rewards`` does not
            have one reward per point, ``seed`` is negative, or ``metric`` and ``mode`` do
            not match (one a list and the other not, or lists of different lengths).
    """

    where = "OptunaSearch()"
    multi_objective = True
    # trials as JSON (attrs are JSON by Optuna's contract; tuples come back as lists, as
    # from Optuna's own database storages), the sampler as a signed envelope
    state_is_json = True

    def __init__(
        self,
        space: Any = None,
        metric: str | list[str] | None = None,
        mode: str | list[str] | None = None,
        points_to_evaluate: list[dict[str, Any]] | None = None,
        sampler: Any = None,
        study_name: str | None = None,
        storage: Any = None,
        seed: int | None = None,
        evaluated_rewards: list[Any] | None = None,
        *,
        max_concurrent: int | None = None,
        reward_attr: str | None = None,
    ) -> None:
        self._optuna = require("optuna", extra="optuna", feature="OptunaSearch")
        metric, mode = resolve_reward_attr(self.where, reward_attr, metric, mode)
        super().__init__(metric=metric, mode=mode)
        self.max_concurrent = check_max_concurrent(self.where, max_concurrent)
        self.seed = check_seed(seed, "seed", self.where)
        if sampler is not None:
            if not isinstance(sampler, self._optuna.samplers.BaseSampler):
                raise TypeError(
                    f"`sampler` of {self.where} must be an optuna sampler "
                    f"(optuna.samplers.BaseSampler), got {sampler!r}"
                )
            if seed is not None:
                raise ValueError(
                    f"{self.where} got both `sampler` and `seed`={seed!r}; pass the seed to the "
                    f"sampler itself (e.g. TPESampler(seed={seed}))"
                )
        if study_name is not None and not isinstance(study_name, str):
            raise TypeError(f"`study_name` of {self.where} must be a str, got {study_name!r}")
        self._sampler = sampler
        self.study_name = study_name
        self.storage = storage
        self._points = check_points(points_to_evaluate, self.where)
        self._rewards = self._check_rewards(evaluated_rewards)
        self._space: _Space | None = self._make_space(space)
        if self._rewards is not None and isinstance(self._space, DefineByRunSpace):
            raise TypeError(
                f"`evaluated_rewards` of {self.where} needs a dict space (tunelab domains or "
                f"Optuna distributions), not a define-by-run function"
            )
        self._study: Any = None
        self._live: dict[str, Any] = {}  # tunelab trial id -> optuna Trial
        self._numbers: dict[str, int] = {}  # tunelab trial id -> optuna trial number
        self._steps: dict[str, int] = {}  # last reported step per live trial
        self._restored: list[dict[str, Any]] = []  # saved trials waiting for the study
        self._restored_dists: list[str] = []  # their distributions (JSON), by index
        # get_state's JSON of finished trials (they never change again), by trial number,
        # and the distribution table their indices refer to: the state is journaled with
        # every new trial, so it costs what changed, not the whole study
        self._saved_trials: dict[int, dict[str, Any]] = {}
        self._dist_table: dict[Any, int] = {}

    @staticmethod
    def convert_search_space(spec: dict[str, Any]) -> dict[str, Any]:
        """The Optuna distributions of a tunelab search space, as Ray Tune's method of the
        same name.

        Args:
            spec: A tunelab search space.

        Returns:
            ``{"a/b": distribution}`` for every searched domain of ``spec`` (nested keys
            joined with ``/``), ready to pass as ``space=``. Constants and ``sample_from``
            values are left out (the experiment's config keeps them).

        Raises:
            ImportError: Optuna is not installed.
            TypeError: ``spec`` is not a dict.
            ValueError: ``spec`` holds what Optuna has no distribution of: ``grid_search``,
                normal laws, log-scaled integers with ``q > 1``, and categories other than
                distinct ``None``/bool/int/float/str values (pass the tunelab space itself
                for those: OptunaSearch then searches them by index).
        """
        optuna = require("optuna", extra="optuna", feature="OptunaSearch.convert_search_space")
        if not isinstance(spec, dict):
            raise TypeError(
                f"`spec` of OptunaSearch.convert_search_space() must be a dict search space, "
                f"got {spec!r}"
            )
        space = TunelabSpace(spec, optuna.distributions)
        for param in space.specs:
            if param.name in space.indexed:
                raise ValueError(
                    f"OptunaSearch.convert_search_space(): the categories of {param.name!r} "
                    f"({param.categories!r}) cannot be stored by Optuna (only distinct None, "
                    f"bool, int, float and str values); pass the tunelab space as `space` instead"
                )
            if param.kind == "int" and param.law == "loguniform" and (param.q or 1) > 1:
                raise ValueError(
                    f"OptunaSearch.convert_search_space(): Optuna has no log-scaled integer "
                    f"distribution with a step (q={param.q!r} at {param.name!r}); pass the "
                    f"tunelab space as `space` instead"
                )
        return dict(space.distributions)

    # -- construction helpers -------------------------------------------------------------
    def _check_rewards(self, rewards: Any) -> list[Any] | None:
        if rewards is None:
            return None
        if not isinstance(rewards, list | tuple):
            raise TypeError(f"`evaluated_rewards` of {self.where} must be a list, got {rewards!r}")
        if len(rewards) != len(self._points):
            raise ValueError(
                f"`evaluated_rewards` of {self.where} needs one reward per point of "
                f"`points_to_evaluate` ({len(self._points)}), got {len(rewards)}"
            )
        return list(rewards)

    def _make_space(self, space: Any) -> _Space | None:
        from tunelab.search._convert import has_searchable

        if space is None:
            return None
        distributions = self._optuna.distributions
        if isinstance(space, dict):
            if has_searchable(space):
                return TunelabSpace(space, distributions)
            flat = flatten_point(space)  # {"b": {"x": dist}} -> {"b/x": dist}
            bad = {
                k: v for k, v in flat.items() if not isinstance(v, distributions.BaseDistribution)
            }
            if bad or not flat:
                raise TypeError(
                    f"`space` of {self.where} as a dict must hold tunelab domains or Optuna "
                    f"distributions, got {bad or space!r}"
                )
            return DistributionSpace(flat)
        if isinstance(space, list | tuple):
            return DefineByRunSpace(list_space_function(list(space)))
        if callable(space):
            check_define_by_run(space)
            return DefineByRunSpace(space)
        raise TypeError(
            f"`space` of {self.where} must be None, a dict, a define-by-run function or a "
            f"list of param.suggest_*() calls, got {space!r}"
        )

    _space_attributes = ("_space",)

    def _has_space(self) -> bool:
        return self._space is not None

    def _use_config(self, config: dict[str, Any]) -> None:
        self._space = TunelabSpace(config, self._optuna.distributions)

    # -- the study ------------------------------------------------------------------------
    def _directions(self) -> list[str]:
        modes = self.mode if isinstance(self.mode, list) else [self.mode]
        return ["maximize" if m == "max" else "minimize" for m in modes]

    def _get_study(self) -> Any:
        if self._study is None:
            optuna = self._optuna
            if self._sampler is None:
                self._sampler = optuna.samplers.TPESampler(seed=self.seed)
            self._study = optuna.create_study(
                storage=self.storage,
                sampler=self._sampler,
                pruner=optuna.pruners.NopPruner(),
                study_name=self.study_name,
                directions=self._directions(),
                load_if_exists=True,
            )
            restored, self._restored = self._restored, []
            dists = [optuna.distributions.json_to_distribution(t) for t in self._restored_dists]
            for saved in restored:
                self._study.add_trial(_trial_from_json(saved, dists, optuna))
            if self._rewards is not None:
                self._record_points()
        return self._study

    def _record_points(self) -> None:
        points, rewards = self._points, self._rewards or []
        self._points, self._rewards = [], None
        for point, reward in zip(points, rewards):
            values = list(reward) if isinstance(reward, list | tuple) else [reward]
            self.add_evaluated_point(point, values if len(values) > 1 else values[0])

    # -- searching ------------------------------------------------------------------------
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        self._check_ready()
        assert self._space is not None
        if self._at_own_limit():
            return None
        study = self._get_study()
        fixed: dict[str, Any] = {}
        if self._points:
            params, fixed = self._space.encode_point(self._points.pop(0))
            study.enqueue_trial(params)
        trial, config = self._space.ask(study)
        if fixed:
            config = merge_suggestion(config, fixed)
        self._live[trial_id] = trial
        self._numbers[trial_id] = trial.number
        return config

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if isinstance(self.metric, list) or trial_id not in self._numbers:
            return
        value = objective_value(result, self.metric)
        step = result.get("training_iteration")
        if value is None or not isinstance(step, int) or step <= self._steps.get(trial_id, -1):
            return
        trial = self._live.get(trial_id)
        if trial is None:  # restored mid-flight: Optuna gives no public handle to report to
            return
        trial.report(value, step)
        self._steps[trial_id] = step

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        number = self._numbers.pop(trial_id, None)
        self._live.pop(trial_id, None)
        self._steps.pop(trial_id, None)
        if number is None:
            return
        state = self._optuna.trial.TrialState
        study = self._get_study()
        values = self._values(result)
        if error:
            study.tell(number, state=state.FAIL)
        elif values is None:
            study.tell(number, state=state.FAIL if isinstance(self.metric, list) else state.PRUNED)
        else:
            study.tell(number, values if len(values) > 1 else values[0])

    def _values(self, result: dict[str, Any] | None) -> list[float] | None:
        metrics = self.metric if isinstance(self.metric, list) else [self.metric]
        values = [objective_value(result, m) for m in metrics]
        if any(v is None for v in values):
            return None
        return [float(v) for v in values if v is not None]

    def add_evaluated_point(
        self,
        parameters: dict[str, Any],
        value: Any,
        error: bool = False,
        pruned: bool = False,
        intermediate_values: list[float] | None = None,
    ) -> None:
        """Record a configuration evaluated elsewhere as a finished Optuna trial.

        Args:
            parameters: A value for every searched parameter (nested or flat ``"a/b"``
                keys).
            value: Its metric value (a list of values for a multi-objective study).
            error: ``True``: recorded as FAIL.
            pruned: ``True``: recorded as PRUNED.
            intermediate_values: Its intermediate values, recorded at steps 0, 1, ...

        Raises:
            TypeError: The space is a define-by-run function.
            ValueError: ``parameters`` lacks a searched parameter.
            RuntimeError: The searcher has no space, metric or mode yet.
        """
        self._check_ready()
        assert self._space is not None
        if isinstance(self._space, DefineByRunSpace):
            raise TypeError(
                f"{self.where}.add_evaluated_point() needs a dict space, not a define-by-run "
                f"function (Optuna needs the distribution of every parameter)"
            )
        optuna = self._optuna
        study = self._get_study()
        params, _ = self._space.encode_point(parameters)
        distributions = self._space.distributions
        missing = sorted(set(distributions) - set(params))
        if missing:
            raise ValueError(
                f"{self.where}.add_evaluated_point(): `parameters` lacks {missing} (a recorded "
                f"point must set every searched parameter)"
            )
        state = optuna.trial.TrialState
        trial_state = state.FAIL if error else state.PRUNED if pruned else state.COMPLETE
        values = None
        if trial_state == state.COMPLETE:
            values = list(value) if isinstance(value, list | tuple) else [float(value)]
        study.add_trial(
            optuna.trial.create_trial(
                state=trial_state,
                values=values,
                params=params,
                distributions={name: distributions[name] for name in params},
                intermediate_values=dict(enumerate(intermediate_values or [])),
            )
        )

    # -- state ----------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The study's trials and distributions as JSON (unless the study lives in
        ``storage``), the sampler pickled and signed, the live trials and the points still
        to run."""
        study = self._study
        trials, dists = list(self._restored), list(self._restored_dists)
        if study is not None and self.storage is None:
            table = self._dist_table
            saved = self._saved_trials
            trials = []
            for trial in study.get_trials(deepcopy=False, states=None):
                entry = saved.get(trial.number)
                if entry is None:
                    entry = _trial_to_json(trial, table)
                    if trial.state.is_finished():
                        saved[trial.number] = entry
                trials.append(entry)
            to_json = self._optuna.distributions.distribution_to_json
            dists = [to_json(d) for d in sorted(table, key=table.__getitem__)]
        sampler = self._sampler
        return {
            "version": _STATE_VERSION,
            "sampler": _trust.dumps_signed(sampler) if sampler is not None else None,
            "study_name": study.study_name if study is not None else self.study_name,
            "trials": trials,
            "distributions": dists,
            "numbers": dict(self._numbers),
            "steps": dict(self._steps),
            "points": pack_value(self._points),
            "rewards": pack_value(self._rewards),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`get_state`: the same trials (in-memory studies are rebuilt;
        a study in ``storage`` is loaded from it) and the sampler in its saved state.

        On resume the pickled sampler is unpickled only when its signature checks out
        (:mod:`tunelab._trust`); when it does not, a warning says so and the trials (JSON)
        are restored with the sampler given to the constructor.

        Args:
            state: What :meth:`get_state` returned.

        Raises:
            ValueError: ``state`` is not a state of this version.
        """
        self._check_state_version(state, _STATE_VERSION)
        points = list(unpack_value(state["points"]))
        rewards = unpack_value(state["rewards"])
        if state["sampler"] is not None:
            try:
                self._sampler = _trust.loads_signed(state["sampler"], "pickled Optuna sampler")
            except _trust.TrustError as exc:
                logger.warning(
                    "%s: %s; the restored trials continue with the sampler given to OptunaSearch",
                    self.where,
                    exc,
                )
        if state["study_name"] is not None:
            self.study_name = state["study_name"]
        self._points = points
        self._rewards = rewards
        self._numbers = {str(k): int(v) for k, v in state["numbers"].items()}
        self._steps = {str(k): int(v) for k, v in state["steps"].items()}
        self._live = {}
        self._study = None
        self._saved_trials, self._dist_table = {}, {}
        self._restored = list(state["trials"]) if self.storage is None else []
        self._restored_dists = list(state["distributions"]) if self.storage is None else []

    def __repr__(self) -> str:
        return (
            f"OptunaSearch(metric={self.metric!r}, mode={self.mode!r}, sampler="
            f"{self._sampler!r}, seed={self.seed!r})"
        )


def _trial_to_json(trial: Any, table: dict[Any, int]) -> dict[str, Any]:
    """A finished or running trial as JSON; its distributions go to ``table`` (shared)."""
    return {
        "state": trial.state.name,
        "params": {
            name: trial.distributions[name].to_internal_repr(value)
            for name, value in trial.params.items()
        },
        "dists": {name: table.setdefault(d, len(table)) for name, d in trial.distributions.items()},
        "values": trial.values,
        "intermediate": {str(k): v for k, v in trial.intermediate_values.items()},
        "user_attrs": trial.user_attrs,
        "system_attrs": trial.system_attrs,
    }


def _trial_from_json(saved: dict[str, Any], dists: list[Any], optuna: Any) -> Any:
    distributions = {name: dists[index] for name, index in saved["dists"].items()}
    return optuna.trial.create_trial(
        state=optuna.trial.TrialState[saved["state"]],
        values=saved["values"],
        params={
            name: distributions[name].to_external_repr(value)
            for name, value in saved["params"].items()
        },
        distributions=distributions,
        user_attrs=saved["user_attrs"],
        system_attrs=saved["system_attrs"],
        intermediate_values={int(k): v for k, v in saved["intermediate"].items()},
    )
