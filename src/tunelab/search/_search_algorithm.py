"""The controller-facing search contract: :class:`SearchAlgorithm` and :class:`TrialSuggestion`."""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SearchAlgorithm", "TrialSuggestion", "as_experiment_list", "experiment_fields"]


@dataclass(frozen=True)
class TrialSuggestion:
    """One trial to create, as chosen by a :class:`SearchAlgorithm`.

    What :meth:`SearchAlgorithm.next_trial` returns; a search algorithm of your own builds
    these.

    Args:
        config: The fully resolved config (the trial owns it: do not change it afterwards).
        experiment_tag: Goes into the trial's directory name, e.g. ``"3_lr=0.0100"``.
        evaluated_params: The chosen values keyed by ``/``-joined path
            (``{"model/lr": 0.01}``); default: none.
        experiment: The experiment object it was generated for (``None``: the only one).
        trial_id: The id the trial must use (``None``, the default: the controller picks
            one).
    """

    config: dict[str, Any]
    experiment_tag: str
    evaluated_params: dict[str, Any] = field(default_factory=dict)
    experiment: Any = None
    trial_id: str | None = None


class SearchAlgorithm(ABC):
    """What the controller drives to get new trials (one abstract base per extension point).

    :class:`BasicVariantGenerator` and :class:`SearchGenerator` (which adapts a
    :class:`Searcher`) implement it. Write a :class:`Searcher` for a search of your own;
    implement this class directly only when you need more control (several experiments,
    your own trial ids).

    Call protocol, all from the controller's single thread:

    1. ``set_search_properties(metric, mode, config, **spec)`` once before anything else;
       returns ``False`` when the algorithm already had a search space and ignored ``config``.
    2. ``add_configurations(experiments)`` with the experiments to run (objects with
       ``.name``, ``.config`` (the search space) and ``.num_samples`` (``-1`` = unbounded)).
    3. ``next_trial()`` whenever the controller could start a trial: a
       :class:`TrialSuggestion`, or ``None`` for "nothing now, ask again later" (a concurrency
       limit, a searcher waiting for results). ``is_finished()`` turns ``True`` once nothing
       will ever come again; the experiment ends when it is and every trial is done.
    4. ``on_trial_result(trial_id, result)`` for each result of a trial it suggested (skipped
       when ``wants_results`` is ``False``), then ``on_trial_complete(trial_id, result, error)``
       exactly once per suggested trial.
    5. ``get_state()`` whenever the controller persists the experiment, ``set_state(state)``
       when it resumes one (before or after ``add_configurations``); the state is JSON-safe and
       a restored algorithm continues where the saved one stopped.

    A search algorithm never touches trials, processes or the controller; it only returns
    suggestions. ``total_samples`` is the known number of trials it will suggest (``0`` when
    unknown or unbounded), shown in progress output.
    """

    #: Whether :meth:`on_trial_result` wants intermediate results (the controller skips
    #: the calls when ``False``).
    wants_results: bool = True
    #: The file name :meth:`save_to_dir` writes (``{}`` is the session string).
    CKPT_FILE_TMPL = "search-alg-state-{}.json"

    def __init__(self) -> None:
        self._finished = False

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        """Receive the experiment's metric, mode and search space, before anything else.

        Args:
            metric: The run's ``metric`` (``None`` when it names none).
            mode: The run's ``mode`` (``None`` when it names none).
            config: The experiment's config (the search space).
            **spec: Further properties of the experiment.

        Returns:
            ``False`` when the algorithm already had a search space and ignored ``config``;
            ``True`` (the default) otherwise.
        """
        return True

    @abstractmethod
    def add_configurations(self, experiments: Any) -> None:
        """Queue experiments whose trials this algorithm generates.

        Args:
            experiments: One experiment (an object with ``.name``, ``.config`` and
                ``.num_samples``, or a spec dict), a list of them, or Ray's
                ``{name: spec dict}`` mapping.
        """

    @abstractmethod
    def next_trial(self) -> TrialSuggestion | None:
        """The next trial to run, or ``None`` when there is nothing to run now."""

    def is_finished(self) -> bool:
        """True when no trial will ever be suggested again."""
        return self._finished

    def set_finished(self) -> None:
        """Declare the search over (the controller calls this when a stop condition hits)."""
        self._finished = True

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:  # noqa: B027
        """A result of a trial this algorithm suggested (intermediate, not the last).

        Args:
            trial_id: The trial's id.
            result: The result dict.
        """

    def on_trial_complete(  # noqa: B027
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        """A suggested trial ended; called once per trial.

        Args:
            trial_id: The trial's id.
            result: Its last result (``None`` when it failed before reporting).
            error: ``True`` when it failed.
        """

    @property
    def total_samples(self) -> int:
        """The number of trials this algorithm will suggest (``0``: unknown or unbounded)."""
        return 0

    @abstractmethod
    def get_state(self) -> dict[str, Any]:
        """A JSON-safe snapshot from which :meth:`set_state` continues the search."""

    @abstractmethod
    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from a snapshot taken by :meth:`get_state`.

        Args:
            state: What :meth:`get_state` returned, after a JSON round trip.
        """

    # file helpers (Ray Tune's names) ----------------------------------------------------
    def has_checkpoint(self, dirpath: str) -> bool:
        """Whether ``dirpath`` holds a state file :meth:`save_to_dir` wrote.

        Args:
            dirpath: The directory to look in (a missing one holds none).
        """
        return bool(_state_files(dirpath, self.CKPT_FILE_TMPL))

    def save_to_dir(self, dirpath: str, session_str: str = "default") -> None:
        """Write :meth:`get_state` atomically to ``dirpath``/search-alg-state-<session>.json.

        Args:
            dirpath: An existing directory.
            session_str: The part of the file name that tells sessions apart.
        """
        path = os.path.join(dirpath, self.CKPT_FILE_TMPL.format(session_str))
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.get_state(), handle)
        os.replace(tmp, path)

    def restore_from_dir(self, dirpath: str) -> None:
        """Restore from the newest state file :meth:`save_to_dir` wrote in ``dirpath``.

        Args:
            dirpath: The directory given to :meth:`save_to_dir`.

        Raises:
            FileNotFoundError: The directory holds no such file.
        """
        files = _state_files(dirpath, self.CKPT_FILE_TMPL)
        if not files:
            raise FileNotFoundError(f"no search algorithm state file in {dirpath!r}")
        with open(files[-1], encoding="utf-8") as handle:
            self.set_state(json.load(handle))


def _state_files(dirpath: str, template: str) -> list[str]:
    prefix, _, suffix = template.partition("{}")
    try:
        names = os.listdir(dirpath)
    except OSError:
        return []
    paths = [
        os.path.join(dirpath, name)
        for name in names
        if name.startswith(prefix) and name.endswith(suffix)
    ]
    return sorted(paths, key=os.path.getmtime)


def experiment_fields(experiment: Any) -> tuple[str, dict[str, Any], int]:
    """``(name, config, num_samples)`` of an experiment object or an experiment spec dict."""
    if isinstance(experiment, Mapping):
        name = experiment.get("name", "")
        config = experiment.get("config")
        num_samples = experiment.get("num_samples", 1)
    elif hasattr(experiment, "config"):
        name = getattr(experiment, "name", "")
        config = experiment.config
        num_samples = getattr(experiment, "num_samples", 1)
    else:
        raise TypeError(
            f"experiments must have .config and .num_samples (an Experiment), got {experiment!r}"
        )
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise TypeError(f"`config` of experiment {name!r} must be a dict, got {config!r}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < -1:
        raise ValueError(
            f"`num_samples` of experiment {name!r} must be an int >= 0 or -1 (unbounded), "
            f"got {num_samples!r}"
        )
    return str(name), config, num_samples


def as_experiment_list(experiments: Any) -> list[Any]:
    """``add_configurations``'s argument as a list of experiments.

    Accepts one experiment (an object with ``.config`` or one spec dict), a list of them, or
    Ray's ``{name: spec dict}`` mapping (every value a dict with a ``"run"`` key), which
    becomes one :class:`~tunelab.Experiment` per key, built by ``Experiment.from_json`` (so
    each spec's ``num_samples``, ``repeat`` and ``config`` count, as in Ray).
    """
    if isinstance(experiments, Sequence) and not isinstance(experiments, str | bytes):
        return list(experiments)
    if _is_named_specs(experiments):
        from tunelab._experiment import Experiment

        return [Experiment.from_json(str(name), spec) for name, spec in experiments.items()]
    return [experiments]


def _is_named_specs(experiments: Any) -> bool:
    """True for a non-empty ``{name: {"run": ..., ...}}`` mapping (not one spec dict)."""
    return (
        isinstance(experiments, Mapping)
        and bool(experiments)
        and "run" not in experiments
        and all(isinstance(spec, Mapping) and "run" in spec for spec in experiments.values())
    )
