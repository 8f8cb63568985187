"""XGBoost callbacks that report to the running trial (Ray Tune's
``ray.tune.integration.xgboost``).

Pass one to ``xgb.train(..., callbacks=[...])`` (or ``xgb.cv``) inside a trainable::

    from tunelab.integration.xgboost import TuneReportCheckpointCallback

    def train_fn(config):
        xgb.train(config, dtrain, evals=[(dtest, "eval")], verbose_eval=False,
                  callbacks=[TuneReportCheckpointCallback({"loss": "eval-logloss"})])

    # later: booster = TuneReportCheckpointCallback.get_model(result.checkpoint)

Every boosting round is one reported result (one ``training_iteration``) holding XGBoost's
evaluation results, named ``"<evaluation set name>-<metric>"`` (``"eval-logloss"``); under
``xgb.cv`` each value is XGBoost's ``(mean, std)`` pair.

* :class:`TuneReportCallback` (1.x; deprecated in Ray 2.x) reports only.
* :class:`TuneReportCheckpointCallback` also checkpoints the booster: after every
  ``frequency``-th round and, with ``checkpoint_at_end``, when training ends (if the last
  round was not checkpointed already, the last round's metrics are reported once more
  with the checkpoint, as in Ray 2.x; not when no round ran). The checkpoint directory
  holds the booster saved under ``filename``;
  :meth:`TuneReportCheckpointCallback.get_model` loads it back, and a restored trial
  continues with ``xgb.train(..., xgb_model=booster)``.

One class serves every Ray generation, whose defaults differed: ``filename`` is Ray 2.10+'s
``"model.ubj"`` (before: ``"checkpoint"``, a name XGBoost 2.1+ saves with a format
warning); ``frequency`` is 5 as in Ray 1.x (2.9: 1; 2.10+: 0, only at the end), so that
checkpoints exist for schedulers that pause, stop or exploit trials, counted as in 2.x
(rounds 5, 10, ...; 1.x saved rounds 1, 6, ...). Under ``xgb.cv`` nothing is checkpointed
(there is no single booster). ``ray.train.xgboost.RayTrainReportCallback`` is
:mod:`tunelab.train.xgboost`.

Importing this module imports ``xgboost`` (``pip install "tunelab[xgboost]"``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tunelab._errors import ExtraNotInstalledError
from tunelab.integration._gbdt import (
    CheckpointCallback,
    Framework,
    FrameworkCallback,
    Metrics,
    ReportCallback,
    load_booster,
)

try:
    import xgboost
    from xgboost.callback import TrainingCallback
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ExtraNotInstalledError("tunelab.integration.xgboost", "xgboost", "xgboost") from exc

__all__ = ["TuneCallback", "TuneReportCallback", "TuneReportCheckpointCallback"]

_CHECKPOINT_NAME = "model.ubj"


def flat_results(evals_log: Any) -> dict[str, Any]:
    """XGBoost's evaluation log as ``{"<set>-<metric>": latest value}``: the
    ``TrainingCallback`` form (``{"eval": {"logloss": [...]}}``) or, from an old-style
    callback's ``env.evaluation_result_list``, ``[("eval-logloss", value), ...]``."""
    if isinstance(evals_log, Mapping):
        return {
            f"{data}-{metric}": values[-1]
            for data, by_metric in evals_log.items()
            for metric, values in by_metric.items()
            if len(values)
        }
    return dict(evals_log or ())


def _is_booster(model: Any) -> bool:
    return isinstance(model, xgboost.Booster)


def _save(model: xgboost.Booster, path: str) -> None:
    model.save_model(path)


def _load(path: str) -> xgboost.Booster:
    booster = xgboost.Booster()
    booster.load_model(path)
    return booster


class TuneCallback(TrainingCallback, FrameworkCallback):
    """Base class of tunelab's XGBoost callbacks.

    An XGBoost ``TrainingCallback`` that also answers the call of XGBoost < 1.3's old-style
    callbacks (``callback(env)``). Use :class:`TuneReportCallback` or
    :class:`TuneReportCheckpointCallback`.
    """

    _framework = Framework("XGBoost", save=_save, is_booster=_is_booster)

    def __call__(self, env: Any) -> None:
        """XGBoost < 1.3: ``env`` has ``model``, ``iteration``, ``end_iteration`` and
        ``evaluation_result_list`` (``[("eval-logloss", value), ...]``)."""
        if env.iteration == getattr(env, "begin_iteration", 0):
            self._reporter.start()
        end = getattr(env, "end_iteration", None)
        last = end is not None and env.iteration == end - 1
        self._reporter.round(
            env.model, env.iteration, flat_results(env.evaluation_result_list), last=last
        )

    def before_training(self, model: Any) -> Any:
        """A training begins: forget the rounds of an earlier one.

        Args:
            model: The booster XGBoost trains.

        Returns:
            ``model``, unchanged.
        """
        self._reporter.start()
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        """Report round ``epoch``.

        Never asks XGBoost to stop: tunelab stops a trial by raising out of the report.

        Args:
            model: The booster (or the ``xgb.cv`` fold container).
            epoch: The 0-based round, counting the rounds of a booster training continued
                from.
            evals_log: XGBoost's evaluation log (``{"eval": {"logloss": [...]}}``).

        Returns:
            False (go on training).
        """
        self._reporter.round(model, epoch, flat_results(evals_log), last=False)
        return False


class TuneReportCallback(ReportCallback, TuneCallback):
    """Reports XGBoost's evaluation results after every boosting round (no checkpoint).

    Ray 1.x's class (deprecated in Ray 2.x, kept here without a warning). Each round is one
    result (one ``training_iteration``).

    Args:
        metrics: What to report: None (default) reports every evaluation result under
            XGBoost's name (``"<set>-<metric>"``); a name or a list of names reports those; a
            dict ``{name to report: XGBoost's name}`` renames them. A name XGBoost did not
            produce raises ``KeyError`` listing the ones it did.
        results_postprocessing_fn: Called with the dict to report, returns the dict to
            report instead (e.g. to average cross-validation results); default None.

    Raises:
        TypeError: ``metrics`` or ``results_postprocessing_fn`` has the wrong type.
    """


class TuneReportCheckpointCallback(CheckpointCallback, TuneCallback):
    """Reports XGBoost's evaluation results after every boosting round and checkpoints the
    booster (see the module docstring for the defaults across Ray generations).

    The checkpoint is a directory holding the booster saved under ``filename``;
    :meth:`get_model` loads it back. Under ``xgb.cv`` nothing is checkpointed.

    Args:
        metrics: What to report: None (default) reports every evaluation result under
            XGBoost's name (``"<set>-<metric>"``); a name or a list of names reports those; a
            dict ``{name to report: XGBoost's name}`` renames them. A name XGBoost did not
            produce raises ``KeyError`` listing the ones it did.
        filename: The booster's file in the checkpoint directory (default
            ``"model.ubj"``); its extension picks XGBoost's format (``.ubj``, ``.json``).
        frequency: Checkpoint after every ``frequency``-th round, counting from 1 (default
            5; 0: none during training).
        checkpoint_at_end: Also checkpoint the final booster (default True); when the last
            round was not checkpointed already, its metrics are reported once more with the
            checkpoint. A callable here (1.x's fourth positional argument) is taken as
            ``results_postprocessing_fn``.
        results_postprocessing_fn: Called with the dict to report, returns the dict to
            report instead (e.g. to average cross-validation results); default None.

    Raises:
        TypeError: ``metrics``, ``checkpoint_at_end`` or ``results_postprocessing_fn`` has
            the wrong type.
        ValueError: ``frequency`` is not an int >= 0, or ``filename`` is not a relative
            file name.
    """

    CHECKPOINT_NAME = _CHECKPOINT_NAME

    def __init__(
        self,
        metrics: Metrics = None,
        filename: str = _CHECKPOINT_NAME,
        frequency: int = 5,
        checkpoint_at_end: bool = True,
        results_postprocessing_fn: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(metrics, filename, frequency, checkpoint_at_end, results_postprocessing_fn)

    def after_training(self, model: Any) -> Any:
        """With ``checkpoint_at_end``: checkpoint the final booster (see the class).

        Args:
            model: The trained booster.

        Returns:
            ``model``, unchanged.
        """
        if _is_booster(model):
            self._reporter.end(model, model.num_boosted_rounds() - 1)
        return model

    @classmethod
    def get_model(cls, checkpoint: Any, filename: str | None = None) -> xgboost.Booster:
        """Load the booster this callback saved in ``checkpoint``.

        Args:
            checkpoint: A :class:`~tunelab.Checkpoint` (``result.checkpoint``), or a
                checkpoint directory path (as ``analysis.best_checkpoint`` gives in 1.x).
            filename: The booster's file in the checkpoint; default the name the callback
                recorded in the checkpoint, else :attr:`CHECKPOINT_NAME`.

        Returns:
            The ``xgboost.Booster``.

        Raises:
            TypeError: ``checkpoint`` is neither a checkpoint nor a path.
            FileNotFoundError: The checkpoint holds no such file.
        """
        return load_booster(checkpoint, filename, default_filename=cls.CHECKPOINT_NAME, load=_load)
