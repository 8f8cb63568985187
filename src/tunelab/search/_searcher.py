"""The user-facing searcher API (:class:`Searcher`), its adapter to the controller
(:class:`SearchGenerator`) and :func:`create_searcher`."""

from __future__ import annotations

import glob
import importlib
import inspect
import json
import logging
import math
import os
import random
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from tunelab import _trust
from tunelab._trial import TrialStatus
from tunelab.search._common import is_grid_spec, is_unresolved
from tunelab.search._resolve import (
    Path,
    SpacePlan,
    copy_tree,
    find_unresolved,
    flatten_resolved_vars,
    format_vars,
    iter_sample,
)
from tunelab.search._search_algorithm import (
    SearchAlgorithm,
    TrialSuggestion,
    as_experiment_list,
    experiment_fields,
)

__all__ = [
    "SearchGenerator",
    "Searcher",
    "create_searcher",
    "pack_searcher_state",
    "pack_value",
    "unpack_searcher_state",
    "unpack_value",
]

logger = logging.getLogger("tunelab.search")

_MODES = ("min", "max")


class Searcher(ABC):
    """Base class of model-based searchers (Ray Tune's user-facing search API).

    Subclass it to write a searcher of your own; the library adapters
    (:class:`~tunelab.search.optuna.OptunaSearch`, ...) derive from it too. Pass an instance
    as ``search_alg=`` to :func:`tunelab.run` or :class:`tunelab.TuneConfig`: the controller
    wraps it in a :class:`SearchGenerator` and calls it from its single thread:

    - :meth:`set_search_properties` once before the first suggestion, with the run's
      metric, mode and config; return ``True`` when the searcher took ``config`` as its
      search space, ``False`` when it already has one (the base class only fills in a
      missing metric/mode).
    - :meth:`suggest` each time a trial could start: a config dict (partial is fine: the
      experiment's config fills the rest), ``None`` for "nothing now, ask again later", or
      :attr:`FINISHED` to end the search. The only abstract method.
    - :meth:`on_trial_result` for intermediate results (optional),
      :meth:`on_trial_complete` once per suggested trial (the place to learn from the final
      result).
    - :meth:`get_state`/:meth:`set_state` (or :meth:`save`/:meth:`restore` of a file) to
      resume; the default :meth:`save`/:meth:`restore` pickle what :meth:`get_state` returns.

    A searcher decides configurations only: it never starts, stops or inspects trials beyond
    the ids and results it is given. :mod:`tunelab.testing.searcher_conformance` checks a
    searcher against this contract.

    Args:
        metric: The result key to optimize, or a list of keys for a multi-objective
            searcher. ``None`` (default): the run's ``metric``, given later through
            :meth:`set_search_properties`.
        mode: ``"min"`` or ``"max"`` (a list of them with a list of metrics). ``None``
            (default): the run's ``mode``.

    Raises:
        TypeError: ``metric`` is not ``None``, a str or a list of str.
        ValueError: ``mode`` is not ``None``, ``"min"``, ``"max"`` or a list of them.
    """

    #: What :meth:`suggest` returns to end the search (no trial will be suggested again).
    FINISHED = "FINISHED"
    #: The file name :meth:`save_to_dir` writes (``{}`` is the session string).
    CKPT_FILE_TMPL = "searcher-state-{}.pkl"
    #: True when :meth:`get_state` returns plain JSON values only (str keys, lists, no
    #: tuples or objects): the state is then journaled as it is, without the round trip
    #: through JSON that otherwise checks it on every new trial.
    state_is_json = False

    def __init__(self, metric: str | list[str] | None = None, mode: Any = None) -> None:
        self._metric = _check_metric(metric)
        self._mode = _check_mode(mode)

    @property
    def metric(self) -> Any:
        """The metric to optimize (a str, a list of str, or ``None`` while unknown)."""
        return getattr(self, "_metric", None)

    @property
    def mode(self) -> Any:
        """``"min"``, ``"max"``, a list of them, or ``None`` while unknown."""
        return getattr(self, "_mode", None)

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        """Receive the experiment's metric, mode and search space, once, before
        :meth:`suggest` is first called.

        The base class fills in ``metric`` and ``mode`` when the searcher was created
        without them and returns ``False``. A subclass that takes ``config`` as its search
        space calls ``super()`` and returns ``True``.

        Args:
            metric: The run's ``metric`` (``None`` when the run names none).
            mode: The run's ``mode`` (``None`` when the run names none).
            config: The experiment's config, the search space (domains, grids, constants,
                ``sample_from`` values).
            **spec: Further properties of the experiment; ``num_samples`` may be among them.

        Returns:
            ``True`` when the searcher took ``config`` as its search space, ``False`` when
            it keeps a space of its own (or needs none).
        """
        if self.metric is None and metric is not None:
            self._metric = _check_metric(metric)
        if self.mode is None and mode is not None:
            self._mode = _check_mode(mode)
        return False

    @abstractmethod
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        """The configuration for a new trial.

        Args:
            trial_id: The id the trial will have; later calls of :meth:`on_trial_result`
                and :meth:`on_trial_complete` name the trial by it.

        Returns:
            A config dict (it may be partial and nested, as it is laid over the experiment's
            config, whose other domains are then sampled at random), ``None`` for "nothing
            now, ask again later" (e.g. while waiting for results), or :attr:`FINISHED` to
            end the search.
        """

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:  # noqa: B027
        """An intermediate result of a suggested trial (optional; does nothing by default).

        The controller calls it only when a subclass overrides it
        (:meth:`uses_intermediate_results`).

        Args:
            trial_id: The id :meth:`suggest` was given for the trial.
            result: The result dict as the trial reported it, with tunelab's keys
                (``training_iteration``, ...).
        """

    def on_trial_complete(  # noqa: B027
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        """A suggested trial ended (called exactly once per suggested trial).

        Args:
            trial_id: The id :meth:`suggest` was given for the trial. Ids the searcher
                never suggested must be ignored.
            result: The trial's last result; ``None`` when it failed before reporting.
            error: ``True`` when the trial failed.
        """

    def add_evaluated_point(
        self,
        parameters: dict[str, Any],
        value: float,
        error: bool = False,
        pruned: bool = False,
        intermediate_values: list[float] | None = None,
    ) -> None:
        """Tell the searcher about a configuration evaluated elsewhere.

        The base class does not support it; the adapters that do (Optuna, HyperOpt,
        Nevergrad, BOHB, BayesOpt, SkOpt, HEBO) override it.

        Args:
            parameters: The configuration (nested like a config, or with flat ``"a/b"``
                keys where the adapter says so).
            value: Its value of the searcher's metric.
            error: ``True`` when the evaluation failed.
            pruned: ``True`` when it was stopped early.
            intermediate_values: Its intermediate values of the metric, in order, for
                searchers that use them.

        Raises:
            NotImplementedError: The searcher does not support it.
        """
        raise NotImplementedError(f"{type(self).__name__} does not support add_evaluated_point")

    def add_evaluated_trials(self, trials_or_analysis: Any, metric: str) -> None:
        """Tell the searcher about the finished trials of another experiment.

        Each ``TERMINATED`` trial whose last result holds ``metric`` and each ``ERROR``
        trial is passed to :meth:`add_evaluated_point` (a terminated trial whose last result
        is not marked ``done`` counts as pruned). Logs a warning when no trial reported the
        metric.

        Args:
            trials_or_analysis: A trial, a list of trials, or an object with ``.trials``
                (an :class:`~tunelab.ExperimentAnalysis`).
            metric: The result key whose last value each trial is recorded with.

        Raises:
            NotImplementedError: The searcher does not support :meth:`add_evaluated_point`.
        """
        trials = getattr(trials_or_analysis, "trials", trials_or_analysis)
        if not isinstance(trials, list | tuple):
            trials = [trials]
        seen_metric = False
        for trial in trials:
            status = str(getattr(trial, "status", ""))
            if status not in (TrialStatus.TERMINATED, TrialStatus.ERROR):
                continue
            last = getattr(trial, "last_result", {}) or {}
            if status == TrialStatus.TERMINATED and metric not in last:
                continue
            seen_metric = seen_metric or metric in last
            self.add_evaluated_point(
                dict(trial.config),
                last.get(metric, math.nan),
                error=status == TrialStatus.ERROR,
                pruned=status == TrialStatus.TERMINATED and not last.get("done", False),
            )
        if not seen_metric:
            logger.warning("no finished trial reported the metric %r", metric)

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        """Called by a :class:`~tunelab.search.ConcurrencyLimiter` around this searcher.

        Args:
            max_concurrent: The limiter's ``max_concurrent``.

        Returns:
            ``True`` when the searcher limits its concurrency itself (the limiter then
            steps aside), ``False`` (the default) when the limiter should do it.
        """
        return False

    def get_state(self) -> dict[str, Any]:
        """What the searcher needs to continue after a restart (for resume).

        JSON values are stored as they are; anything else is pickled and signed with the
        user's tunelab key. Set the class attribute :attr:`state_is_json` when the state is
        always plain JSON.

        Raises:
            NotImplementedError: The base class's answer: a searcher that does not
                implement it cannot be saved and starts afresh on resume, with a warning.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement get_state")

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from a state :meth:`get_state` returned.

        Called after :meth:`set_search_properties` when an experiment resumes.

        Args:
            state: What :meth:`get_state` returned (JSON values may come back as their JSON
                round trip: tuples as lists).

        Raises:
            NotImplementedError: The base class's answer (a searcher that does not
                implement it cannot be restored).
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement set_state")

    def save(self, checkpoint_path: str) -> None:
        """Write the searcher's state to a file (default: a pickle of :meth:`get_state`).

        Args:
            checkpoint_path: The file to write (replaced when it exists).

        Raises:
            NotImplementedError: The searcher does not implement :meth:`get_state`.
        """
        import cloudpickle

        state = self.get_state()
        with open(checkpoint_path, "wb") as handle:
            cloudpickle.dump(state, handle)

    def restore(self, checkpoint_path: str) -> None:
        """Read a file written by :meth:`save` (default: :meth:`set_state` of the pickle).

        The file is unpickled, so restore only files you trust. On resume tunelab calls it
        only with bytes whose signature it checked.

        Args:
            checkpoint_path: The file :meth:`save` wrote.

        Raises:
            NotImplementedError: The searcher does not implement :meth:`set_state`.
        """
        import pickle

        with open(checkpoint_path, "rb") as handle:
            self.set_state(pickle.load(handle))

    def save_to_dir(self, checkpoint_dir: str, session_str: str = "default") -> None:
        """:meth:`save` to ``checkpoint_dir``/searcher-state-<session>.pkl (atomically).

        A searcher that cannot save its state logs a warning and writes nothing.

        Args:
            checkpoint_dir: An existing directory.
            session_str: The part of the file name that tells sessions apart.
        """
        final = os.path.join(checkpoint_dir, self.CKPT_FILE_TMPL.format(session_str))
        tmp = final + ".tmp"
        try:
            self.save(tmp)
        except NotImplementedError:
            logger.warning("%s cannot save its state; it starts afresh on resume", self)
            return
        os.replace(tmp, final)

    def restore_from_dir(self, checkpoint_dir: str) -> None:
        """:meth:`restore` from the newest state file :meth:`save_to_dir` wrote.

        Args:
            checkpoint_dir: The directory given to :meth:`save_to_dir`.

        Raises:
            FileNotFoundError: The directory holds no searcher state file.
        """
        pattern = os.path.join(glob.escape(checkpoint_dir), self.CKPT_FILE_TMPL.format("*"))
        files = sorted(glob.glob(pattern), key=os.path.getmtime)
        if not files:
            raise FileNotFoundError(f"no searcher state file in {checkpoint_dir!r}")
        self.restore(files[-1])

    def uses_intermediate_results(self) -> bool:
        """Whether :meth:`on_trial_result` does anything (lets the controller skip calls)."""
        return type(self).on_trial_result is not Searcher.on_trial_result


class SearchGenerator(SearchAlgorithm):
    """Adapts a :class:`Searcher` to the controller's :class:`SearchAlgorithm` contract.

    :func:`tunelab.run` and :class:`tunelab.Tuner` wrap a searcher in one for you; create
    one yourself only to drive a searcher outside a run (as
    :mod:`tunelab.testing.searcher_conformance` does).

    One experiment at a time. Each :meth:`next_trial` asks ``searcher.suggest`` for a new
    8-hex-char trial id; the suggestion is written over the experiment's config, and whatever
    the searcher left unresolved (``sample_from`` values that depend on suggested ones, domains
    it ignores) is resolved like :class:`BasicVariantGenerator` would. ``num_samples`` bounds
    the number of suggestions (``-1``: until the searcher returns ``FINISHED``).
    ``grid_search`` values the searcher left unresolved raise ``ValueError``.

    Args:
        searcher: The searcher to drive.

    Raises:
        TypeError: ``searcher`` is not a :class:`Searcher`.
    """

    def __init__(self, searcher: Searcher) -> None:
        super().__init__()
        if not isinstance(searcher, Searcher):
            raise TypeError(f"`searcher` must be a Searcher instance, got {searcher!r}")
        self.searcher = searcher
        self.wants_results = searcher.uses_intermediate_results()
        self._experiment: Any = None
        self._space: dict[str, Any] = {}
        self._num_samples = 0
        self._counter = 0
        self._issued: set[str] = set()
        self._rng = random.Random()
        self._key: bytes | None = None
        self._key_failed = False

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        return self.searcher.set_search_properties(metric, mode, config, **spec)

    def add_configurations(self, experiments: Any) -> None:
        listed = as_experiment_list(experiments)
        if len(listed) != 1 or self._experiment is not None:
            raise ValueError(
                f"SearchGenerator runs exactly one experiment, got {len(listed)} "
                f"(and {int(self._experiment is not None)} already added)"
            )
        _, self._space, self._num_samples = experiment_fields(listed[0])
        self._experiment = listed[0]

    def is_finished(self) -> bool:
        if self._finished:
            return True
        return self._experiment is not None and 0 <= self._num_samples <= self._counter

    def next_trial(self) -> TrialSuggestion | None:
        if self._experiment is None or self.is_finished():
            return None
        trial_id = uuid.uuid4().hex[:8]
        while trial_id in self._issued:
            trial_id = uuid.uuid4().hex[:8]
        suggestion = self.searcher.suggest(trial_id)
        if isinstance(suggestion, str) and suggestion == Searcher.FINISHED:
            self._finished = True
            return None
        if suggestion is None:
            return None
        if not isinstance(suggestion, dict):
            raise TypeError(
                f"{type(self.searcher).__name__}.suggest() must return a dict, None or "
                f"Searcher.FINISHED, got {suggestion!r}"
            )
        self._issued.add(trial_id)
        self._counter += 1
        resolved, config = self._complete(suggestion)
        tag = f"{self._counter}_{format_vars(resolved)}" if resolved else str(self._counter)
        return TrialSuggestion(
            config, tag, flatten_resolved_vars(resolved), self._experiment, trial_id
        )

    def _complete(self, suggestion: dict[str, Any]) -> tuple[dict[Path, Any], Any]:
        resolved: dict[Path, Any] = {}
        _flatten(suggestion, (), resolved)
        config = _merge(copy_tree(self._space), copy_tree(suggestion))
        leftovers = find_unresolved(config)
        if not leftovers:
            return resolved, config
        grids = [path for path, leaf in leftovers if is_grid_spec(leaf)]
        if grids:
            raise ValueError(
                f"grid_search values at {['/'.join(map(str, p)) for p in grids]} cannot be "
                f"searched by {type(self.searcher).__name__}; use BasicVariantGenerator or "
                f"let the searcher suggest these keys"
            )
        extra, config = next(iter_sample(SpacePlan(config), self._rng))
        resolved.update(extra)
        return resolved, config

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        self.searcher.on_trial_result(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        self.searcher.on_trial_complete(trial_id, result=result, error=error)

    @property
    def total_samples(self) -> int:
        return max(self._num_samples, 0)

    def get_state(self) -> dict[str, Any]:
        """The counter and the searcher's state; what the searcher's state holds as a pickle
        is signed with the user's tunelab key (:mod:`tunelab._trust`, created on first use),
        so that resume can tell it from a pickle someone else put there."""
        if self._experiment_dir() is None:
            packed = pack_searcher_state(self.searcher)
        else:
            with _trust.signing(self._signing_key):
                packed = pack_searcher_state(self.searcher)
        return {
            "version": 1,
            "counter": self._counter,
            "finished": self._finished,
            "searcher": packed,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`get_state`. With an experiment directory (the resume path),
        a pickle in the searcher's state is unpickled only when its signature matches the
        user's tunelab key; otherwise nothing of it is unpickled, a warning names the file
        and the reason, and the searcher starts afresh (the trials and the counter, which
        are JSON, are restored all the same).

        Args:
            state: What :meth:`get_state` returned.

        Raises:
            ValueError: ``state`` is not a SearchGenerator state of version 1.
        """
        if not isinstance(state, dict) or state.get("version") != 1:
            raise ValueError(f"`state` must be a SearchGenerator state of version 1, got {state!r}")
        self._counter = int(state["counter"])
        self._finished = bool(state["finished"])
        directory = self._experiment_dir()
        if directory is None:
            unpack_searcher_state(self.searcher, state["searcher"])
            return
        source = os.path.join(directory, "experiment_state.json")
        try:
            key: bytes | None = _trust.load_key()
            reason = ""
        except _trust.KeyFileError as exc:
            key, reason = None, str(exc)
        try:
            with _trust.verifying(key, source, reason):
                unpack_searcher_state(self.searcher, state["searcher"])
        except _trust.TrustError as exc:
            logger.warning(
                "%s: %s; the searcher starts afresh (the restored trials are kept)",
                type(self.searcher).__name__,
                exc,
            )

    def _experiment_dir(self) -> str | None:
        path = getattr(self._experiment, "experiment_path", None)
        if not isinstance(path, str) or "://" in path:
            return None
        return path

    def _signing_key(self) -> bytes | None:
        if self._key is None and not self._key_failed:
            try:
                self._key = _trust.ensure_key()
            except (OSError, _trust.KeyFileError) as exc:
                self._key_failed = True
                logger.warning(
                    "cannot create the tunelab key file %s (%s): the searcher's pickled "
                    "state is saved unsigned and will not be restored on resume",
                    _trust.key_path(),
                    exc,
                )
        return self._key


def _flatten(value: Any, path: Path, out: dict[Path, Any]) -> None:
    if isinstance(value, dict) and value and not is_unresolved(value):
        for key, item in value.items():
            _flatten(item, (*path, key), out)
    else:
        out[path] = value


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict) and not is_unresolved(base):
        for key, value in override.items():
            base[key] = _merge(base[key], value) if key in base else value
        return base
    return override


# -- state packing -------------------------------------------------------------------------
def pack_value(value: Any) -> dict[str, Any]:
    """A JSON-safe envelope: the value itself when JSON keeps it intact, else a pickle
    (signed with the experiment's key inside a :func:`tunelab._trust.signing` scope)."""
    try:
        if json.loads(json.dumps(value, allow_nan=True)) == value:
            return {"format": "json", "value": value}
    except (TypeError, ValueError, RecursionError):
        pass
    return _trust.dumps_signed(value)


def unpack_value(packed: Mapping[str, Any]) -> Any:
    """The value of :func:`pack_value`'s envelope. A pickle is unpickled only after its
    signature checks out inside a :func:`tunelab._trust.verifying` scope (the resume path);
    outside one the caller vouches for it."""
    if packed.get("format") == "json":
        return packed["value"]
    if packed.get("format") == "pickle":
        return _trust.loads_signed(packed, "pickled searcher state")
    raise ValueError(f"unknown packed value format in {dict(packed)!r}")


def pack_searcher_state(searcher: Searcher) -> dict[str, Any]:
    """The searcher's state via ``get_state`` or, failing that, the bytes ``save`` writes."""
    try:
        state = searcher.get_state()
        if searcher.state_is_json:
            return {"kind": "state", "format": "json", "value": state}
        return {"kind": "state", **pack_value(state)}
    except NotImplementedError:
        pass
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "searcher.pkl")
        try:
            searcher.save(path)
        except NotImplementedError:
            return {"kind": "none"}
        with open(path, "rb") as handle:
            return {"kind": "file", **_trust.seal(handle.read(), "bytes")}


def unpack_searcher_state(searcher: Searcher, packed: Mapping[str, Any]) -> None:
    kind = packed.get("kind")
    if kind == "state":
        searcher.set_state(unpack_value(packed))
    elif kind == "file":
        data = _trust.unseal(packed, "searcher state file")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "searcher.pkl")
            with open(path, "wb") as handle:
                handle.write(data)
            searcher.restore(path)
    elif kind == "none":
        logger.warning("%s saved no state; it starts afresh", type(searcher).__name__)
    else:
        raise ValueError(f"unknown searcher state kind in {dict(packed)!r}")


# -- validation ----------------------------------------------------------------------------
def _check_metric(metric: Any) -> Any:
    if metric is None or isinstance(metric, str):
        return metric
    if isinstance(metric, list | tuple) and all(isinstance(m, str) for m in metric):
        return list(metric)
    raise TypeError(f"`metric` must be None, a str or a list of str, got {metric!r}")


def _check_mode(mode: Any) -> Any:
    if mode is None or mode in _MODES:
        return mode
    if isinstance(mode, list | tuple) and mode and all(m in _MODES for m in mode):
        return list(mode)
    raise ValueError(f"`mode` must be None, 'min', 'max' or a list of them, got {mode!r}")


# -- factory -------------------------------------------------------------------------------
_ADAPTERS = {
    "hyperopt": "tunelab.search.hyperopt:HyperOptSearch",
    "optuna": "tunelab.search.optuna:OptunaSearch",
    "nevergrad": "tunelab.search.nevergrad:NevergradSearch",
    "bohb": "tunelab.search.bohb:TuneBOHB",
    # the adapters of the other search libraries (Dragonfly and SigOpt raise an ImportError
    # saying why they cannot run here)
    "ax": "tunelab.search.ax:AxSearch",
    "bayesopt": "tunelab.search.bayesopt:BayesOptSearch",
    "blendsearch": "tunelab.search.flaml:BlendSearch",
    "cfo": "tunelab.search.flaml:CFO",
    "dragonfly": "tunelab.search.dragonfly:DragonflySearch",
    "hebo": "tunelab.search.hebo:HEBOSearch",
    "sigopt": "tunelab.search.sigopt:SigOptSearch",
    "skopt": "tunelab.search.skopt:SkOptSearch",
    "zoopt": "tunelab.search.zoopt:ZOOptSearch",
}
_BUILTIN = ("random", "variant_generator")


def create_searcher(name: str, **kwargs: Any) -> Any:
    """Build a search algorithm by its Ray Tune name.

    ``search_alg="<name>"`` in :func:`tunelab.run` or :class:`tunelab.TuneConfig` calls it
    with no keyword arguments.

    Args:
        name: Case-insensitive, as in Ray Tune. ``"variant_generator"`` and ``"random"``
            give a :class:`BasicVariantGenerator`; ``"hyperopt"``, ``"optuna"``,
            ``"nevergrad"``, ``"bohb"``, ``"ax"``, ``"bayesopt"``, ``"blendsearch"``,
            ``"cfo"``, ``"hebo"``, ``"skopt"`` and ``"zoopt"`` give their adapters
            (:class:`~tunelab.search.optuna.OptunaSearch`, ...). ``"dragonfly"`` and
            ``"sigopt"`` raise (their libraries cannot run here).
        **kwargs: Arguments of the class's constructor. Those it does not accept are
            dropped with a logged warning (Ray Tune drops them silently).

    Returns:
        The search algorithm, a :class:`BasicVariantGenerator` or a :class:`Searcher`.

    Raises:
        TypeError: ``name`` is not a str.
        ValueError: ``name`` is not one of the names above.
        ImportError: The adapter's library is missing (the message names the extra to
            install), or the library cannot run here (Dragonfly, SigOpt).
    """
    known = sorted((*_BUILTIN, *_ADAPTERS))
    if not isinstance(name, str):
        raise TypeError(f"`name` of create_searcher() must be a str, got {name!r}")
    name = name.lower()
    if name in _BUILTIN:
        from tunelab.search._variant_generator import BasicVariantGenerator

        target: Any = BasicVariantGenerator
    elif name in _ADAPTERS:
        module_name, _, class_name = _ADAPTERS[name].partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            raise NotImplementedError(
                f"the {name!r} searcher adapter is not available in tunelab yet; "
                f"available now: {list(_BUILTIN)}"
            ) from exc
        target = getattr(module, class_name)
    else:
        raise ValueError(f"`name` of create_searcher() must be one of {known}, got {name!r}")
    parameters = inspect.signature(target).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return target(**kwargs)
    dropped = sorted(set(kwargs) - set(parameters))
    if dropped:
        logger.warning("create_searcher(%r) ignores arguments it does not take: %s", name, dropped)
    return target(**{k: v for k, v in kwargs.items() if k in parameters})
