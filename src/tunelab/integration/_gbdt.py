"""What the XGBoost and LightGBM callbacks share: the metrics they report, when they
checkpoint, how a checkpoint holds the booster, and how a booster is loaded back.

The framework modules (:mod:`tunelab.integration.xgboost`, :mod:`tunelab.integration.lightgbm`)
turn the framework's evaluation results into one flat dict per boosting round (``"<eval
name>-<metric>"`` -> value, e.g. ``"eval-logloss"``) and hand it to a :class:`RoundReporter`,
with the booster and whether the round is the last one. Their callback classes build that
reporter through the bases here (:class:`ReportCallback`, :class:`CheckpointCallback`), from
the :class:`Framework` their ``TuneCallback`` names. This module imports neither framework.

A checkpoint is a directory holding the booster as saved by its own ``save_model`` under the
callback's ``filename``; the name is also kept in the checkpoint's metadata, so that
:func:`load_booster` finds the file without being told the name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn, TypeVar

from tunelab import _session
from tunelab._checkpoint import Checkpoint, make_temp_checkpoint_dir

__all__ = [
    "MODEL_FILE_KEY",
    "CheckpointCallback",
    "Framework",
    "FrameworkCallback",
    "Metrics",
    "ReportCallback",
    "RoundReporter",
    "load_booster",
    "ray_train_only",
]

#: The checkpoint metadata key that names the booster's file inside the checkpoint.
MODEL_FILE_KEY = "gbdt_model_file"

Metrics = str | Sequence[str] | Mapping[str, str] | None
PostprocessingFn = Callable[[dict[str, Any]], Any]
_Booster = TypeVar("_Booster")


def _check_metrics(metrics: Any) -> list[str] | dict[str, str] | None:
    """``metrics`` as None (report everything), a list of names, or a dict report-name ->
    framework-name."""
    if metrics is None:
        return None
    if isinstance(metrics, str):
        return [metrics]
    if isinstance(metrics, Mapping):
        if all(isinstance(k, str) and isinstance(v, str) for k, v in metrics.items()):
            return dict(metrics)
    elif isinstance(metrics, Sequence) and all(isinstance(m, str) for m in metrics):
        return list(metrics)
    raise TypeError(
        "metrics must be None (report every evaluation result), a metric name, a list of "
        "names or a dict {name to report: framework's name}, all str, got "
        f"{type(metrics).__name__}: {metrics!r}"
    )


def _check_frequency(frequency: Any) -> int:
    if isinstance(frequency, bool) or not isinstance(frequency, int) or frequency < 0:
        raise ValueError(
            "frequency must be an int >= 0 (checkpoint every `frequency` boosting rounds; "
            f"0: never during training), got {frequency!r}"
        )
    return frequency


def _check_filename(filename: Any, default: str) -> str:
    if filename is None:
        return default
    if isinstance(filename, os.PathLike):
        filename = os.fspath(filename)
    if not isinstance(filename, str) or not filename or os.path.isabs(filename):
        raise ValueError(
            "filename must be a non-empty relative file name (the booster's file inside the "
            f"checkpoint directory), got {filename!r}"
        )
    return filename


class RoundReporter:
    """Reports one boosting round's metrics to the running trial, and checkpoints the booster.

    * ``metrics``: None reports every evaluation result under its framework name; a name or
      list of names reports those; a dict ``{name to report: framework name}`` renames. A
      name the framework did not produce raises ``KeyError`` naming the ones it did.
    * ``results_postprocessing_fn(report_dict) -> dict`` may change the dict before it is
      reported (e.g. average ``xgb.cv``'s per-fold results).
    * ``frequency``: the booster is checkpointed (saved with ``save(booster, path)`` into a
      new checkpoint directory reported with the round's metrics) after every
      ``frequency``-th round, counting from 1; 0 never checkpoints during training.
    * ``checkpoint_at_end``: the last round is checkpointed too (:meth:`round` with
      ``last=True``, or :meth:`end` when the framework only says so after the last round).

    Boosters that ``is_booster`` rejects (the fold containers of ``xgb.cv`` / ``lgb.cv``)
    are never checkpointed: their rounds only report metrics.
    """

    def __init__(
        self,
        *,
        framework: str,
        metrics: Any,
        results_postprocessing_fn: Any,
        frequency: Any = 0,
        checkpoint_at_end: Any = False,
        filename: Any = None,
        default_filename: str = "model",
        save: Callable[[Any, str], None] | None = None,
        is_booster: Callable[[Any], bool] | None = None,
    ) -> None:
        # 1.x's fourth positional argument was results_postprocessing_fn (2.x put
        # checkpoint_at_end there): a callable in that place is taken as the function.
        if callable(checkpoint_at_end) and results_postprocessing_fn is None:
            checkpoint_at_end, results_postprocessing_fn = True, checkpoint_at_end
        if not isinstance(checkpoint_at_end, bool):
            raise TypeError(f"checkpoint_at_end must be a bool, got {checkpoint_at_end!r}")
        if results_postprocessing_fn is not None and not callable(results_postprocessing_fn):
            raise TypeError(
                "results_postprocessing_fn must be None or a callable taking the dict to "
                "report and returning the dict to report instead, got "
                f"{results_postprocessing_fn!r}"
            )
        self.framework = framework
        self.metrics = _check_metrics(metrics)
        self.results_postprocessing_fn: PostprocessingFn | None = results_postprocessing_fn
        self.frequency = _check_frequency(frequency)
        self.checkpoint_at_end = checkpoint_at_end
        self.filename = _check_filename(filename, default_filename)
        self._save = save
        self._is_booster = is_booster
        self._last_results: Mapping[str, Any] | None = None
        self._last_checkpoint_round: int | None = None

    # -- what is reported -----------------------------------------------------------------

    def report_dict(self, results: Mapping[str, Any]) -> dict[str, Any]:
        """The dict reported for a round whose flat evaluation results are ``results``."""
        if self.metrics is None:
            report = dict(results)
        else:
            pairs = self.metrics.items() if isinstance(self.metrics, dict) else (
                (name, name) for name in self.metrics
            )  # fmt: skip
            report = {}
            for name, source in pairs:
                if source not in results:
                    raise KeyError(
                        f"metrics: {source!r} is not among {self.framework}'s evaluation "
                        f"results of this round, {sorted(results)!r}; they are named "
                        "'<evaluation set name>-<metric>' (e.g. 'eval-logloss')"
                    )
                report[name] = results[source]
        if self.results_postprocessing_fn is not None:
            processed = self.results_postprocessing_fn(report)
            if not isinstance(processed, Mapping):
                raise TypeError(
                    "results_postprocessing_fn must return a dict of metrics to report, got "
                    f"{type(processed).__name__}: {processed!r}"
                )
            report = dict(processed)
        return report

    # -- the rounds -----------------------------------------------------------------------

    def start(self) -> None:
        """A training begins (a callback instance may serve several in turn)."""
        self._last_results = None
        self._last_checkpoint_round = None

    def round(self, model: Any, iteration: int, results: Mapping[str, Any], *, last: bool) -> None:
        """Report round ``iteration`` (0-based, counting the rounds of a booster that training
        continued from), checkpointing ``model`` when it is due."""
        self._last_results = results
        report = self.report_dict(results)
        due = (self.frequency > 0 and (iteration + 1) % self.frequency == 0) or (
            last and self.checkpoint_at_end
        )
        if due and self._can_save(model):
            self._last_checkpoint_round = iteration
            self._report(report, model)
        else:
            self._report(report, None)

    def end(self, model: Any, last_round: int) -> None:
        """Training ended after round ``last_round``: with ``checkpoint_at_end``, report the
        last round's metrics again with a checkpoint, unless that round was checkpointed or
        no round ran since :meth:`start` (a booster restored with all its rounds done: its
        checkpoint exists, and a result without metrics would only confuse schedulers)."""
        results = self._last_results
        if not self.checkpoint_at_end or results is None or not self._can_save(model):
            return
        if self._last_checkpoint_round == last_round:
            return
        self._last_checkpoint_round = last_round
        self._report(self.report_dict(results), model)

    def _can_save(self, model: Any) -> bool:
        return self._save is not None and (self._is_booster is None or self._is_booster(model))

    def _report(self, report: dict[str, Any], model: Any) -> None:
        if model is None or not _session.is_session_enabled():
            _session.report(report)
            return
        assert self._save is not None
        directory = make_temp_checkpoint_dir()
        self._save(model, os.path.join(directory, self.filename))
        checkpoint = Checkpoint.from_directory(directory)
        checkpoint.set_metadata({MODEL_FILE_KEY: self.filename})
        _session.report(report, checkpoint=checkpoint)


@dataclass(frozen=True)
class Framework:
    """What the callbacks take from their framework's module: its ``name`` (in error
    messages), ``save(booster, path)``, and ``is_booster(model)``, false for the fold
    containers of ``xgb.cv`` / ``lgb.cv``, which are never checkpointed."""

    name: str
    save: Callable[[Any, str], None]
    is_booster: Callable[[Any], bool]


class FrameworkCallback:
    """Base of a framework module's ``TuneCallback``, which sets ``_framework``: the
    :class:`RoundReporter` its rounds are handed to is ``_reporter``."""

    _framework: ClassVar[Framework]
    _reporter: RoundReporter


class ReportCallback(FrameworkCallback):
    """The constructor of a framework module's ``TuneReportCallback`` (reports only); that
    class derives from this one and from the module's ``TuneCallback``."""

    def __init__(
        self,
        metrics: Metrics = None,
        results_postprocessing_fn: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        self._reporter = RoundReporter(
            framework=self._framework.name,
            metrics=metrics,
            results_postprocessing_fn=results_postprocessing_fn,
        )


class CheckpointCallback(FrameworkCallback):
    """What a framework module's ``TuneReportCheckpointCallback`` builds its reporter with
    (saving the booster with the framework's ``save``); that class derives from this one and
    from the module's ``TuneCallback``, and declares its own signature, since the default
    ``filename`` is the framework's :attr:`CHECKPOINT_NAME`."""

    CHECKPOINT_NAME: ClassVar[str]

    def __init__(
        self,
        metrics: Metrics,
        filename: str,
        frequency: int,
        checkpoint_at_end: bool,
        results_postprocessing_fn: Callable[[dict[str, Any]], dict[str, Any]] | None,
    ) -> None:
        super().__init__()
        self._reporter = RoundReporter(
            framework=self._framework.name,
            metrics=metrics,
            results_postprocessing_fn=results_postprocessing_fn,
            frequency=frequency,
            checkpoint_at_end=checkpoint_at_end,
            filename=filename,
            default_filename=self.CHECKPOINT_NAME,
            save=self._framework.save,
            is_booster=self._framework.is_booster,
        )


def load_booster(
    checkpoint: Any,
    filename: str | None,
    *,
    default_filename: str,
    load: Callable[[str], _Booster],
) -> _Booster:
    """Load the booster kept in ``checkpoint`` (a :class:`~tunelab.Checkpoint`, or a
    checkpoint directory's path as 0.x-1.x results hand out) with ``load(path)``.

    The file is ``filename`` when given, else the one the callback recorded in the
    checkpoint's metadata, else ``default_filename``.
    """
    if isinstance(checkpoint, (str, os.PathLike)):
        checkpoint = Checkpoint.from_directory(checkpoint)
    elif not isinstance(checkpoint, Checkpoint):
        raise TypeError(
            "checkpoint must be a tunelab Checkpoint (e.g. result.checkpoint) or a checkpoint "
            f"directory path, got {type(checkpoint).__name__}: {checkpoint!r}"
        )
    if filename is not None:
        name = _check_filename(filename, default_filename)
    else:
        recorded = checkpoint.get_metadata().get(MODEL_FILE_KEY)
        name = recorded if isinstance(recorded, str) and recorded else default_filename
    with checkpoint.as_directory() as directory:
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            present = sorted(n for n in os.listdir(directory) if not n.startswith("."))
            raise FileNotFoundError(
                f"the checkpoint directory {directory!r} has no booster file {name!r} (it holds "
                f"{present!r}); pass filename= as given to the callback that saved it"
            )
        return load(path)


def ray_train_only(module: str, name: str, names: Sequence[str]) -> NoReturn:
    """The ``__getattr__`` body of ``tunelab.train.<framework>``: Ray Train's distributed
    trainer names raise ``ImportError`` saying there is no counterpart; others are
    ``AttributeError``."""
    if name in names:
        raise ImportError(
            f"{module}.{name} has no counterpart: it belongs to Ray Train's distributed "
            "trainers, which tunelab does not re-create. Train inside a trainable with the "
            "framework's own train() and RayTrainReportCallback (a tunelab.Checkpoint holds "
            "the booster; RayTrainReportCallback.get_model(checkpoint) loads it).",
            name=module,
        )
    raise AttributeError(f"module {module!r} has no attribute {name!r}")
