"""LightGBM callbacks that report to the running trial (Ray Tune's
``ray.tune.integration.lightgbm``).

Pass one to ``lgb.train(..., callbacks=[...])`` (or ``lgb.cv``) inside a trainable::

    from tunelab.integration.lightgbm import TuneReportCheckpointCallback

    def train_fn(config):
        lgb.train(config, train_set, valid_sets=[test_set], valid_names=["eval"],
                  callbacks=[TuneReportCheckpointCallback({"loss": "eval-binary_logloss"})])

    # later: booster = TuneReportCheckpointCallback.get_model(result.checkpoint)

Every boosting round is one reported result (one ``training_iteration``) holding LightGBM's
evaluation results, named ``"<validation set name>-<metric>"`` (``"eval-binary_logloss"``);
under ``lgb.cv`` each metric gives ``"<name>-<metric>-mean"`` and ``"<name>-<metric>-stdv"``
(the set is ``"cv_agg"`` in LightGBM 3, ``"valid"``/``"train"`` in LightGBM 4).

* :class:`TuneReportCallback` (1.x; deprecated in Ray 2.x) reports only.
* :class:`TuneReportCheckpointCallback` also checkpoints the booster, with the result of
  every ``frequency``-th round and, with ``checkpoint_at_end``, of the last round (LightGBM
  tells the callback which round is the last, so no extra result is reported; training
  ended early by LightGBM's early stopping has no end checkpoint, as in Ray). The
  checkpoint directory holds the booster saved under ``filename`` (LightGBM's text format);
  :meth:`TuneReportCheckpointCallback.get_model` loads it back, and a restored trial
  continues with ``lgb.train(..., init_model=booster)``.

One class serves every Ray generation: ``filename`` is Ray 2.10+'s ``"model.txt"`` (before:
``"checkpoint"``); ``frequency`` is 5 as in Ray 1.x (2.9: 1; 2.10+: 0, only at the end),
counted as in 2.x (rounds 5, 10, ...). Under ``lgb.cv`` nothing is checkpointed (there is no single
booster). ``ray.train.lightgbm.RayTrainReportCallback`` is :mod:`tunelab.train.lightgbm`.
The callbacks run with LightGBM callback ``order`` 20: after ``log_evaluation`` (10),
before ``early_stopping`` (30).

Importing this module imports ``lightgbm`` (``pip install "tunelab[lightgbm]"``); LightGBM
3.3 and 4.x both work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
    import lightgbm
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ExtraNotInstalledError("tunelab.integration.lightgbm", "lightgbm", "lightgbm") from exc

__all__ = ["TuneCallback", "TuneReportCallback", "TuneReportCheckpointCallback"]

_CHECKPOINT_NAME = "model.txt"


def flat_results(evaluation_result_list: Iterable[Any]) -> dict[str, Any]:
    """LightGBM's ``env.evaluation_result_list`` as ``{"<set>-<metric>": value}``; a cv
    entry ``(set, metric, mean, is_higher_better, stdv)`` gives ``"<set>-<metric>-mean"``
    and ``"<set>-<metric>-stdv"``."""
    flat: dict[str, Any] = {}
    for entry in evaluation_result_list or ():
        data_name, eval_name, value = entry[0], entry[1], entry[2]
        if len(entry) > 4:
            flat[f"{data_name}-{eval_name}-mean"] = value
            flat[f"{data_name}-{eval_name}-stdv"] = entry[4]
        else:
            flat[f"{data_name}-{eval_name}"] = value
    return flat


def _is_booster(model: Any) -> bool:
    return isinstance(model, lightgbm.Booster)


def _save(model: Any, path: str) -> None:
    model.save_model(path)


def _load(path: str) -> Any:
    return lightgbm.Booster(model_file=path)


class TuneCallback(FrameworkCallback):
    """Base class of tunelab's LightGBM callbacks.

    LightGBM calls ``callback(env)`` after every boosting round, ``env`` being its
    ``CallbackEnv``. Use :class:`TuneReportCallback` or :class:`TuneReportCheckpointCallback`.
    """

    _framework = Framework("LightGBM", save=_save, is_booster=_is_booster)

    def __init__(self) -> None:
        # An instance attribute: LightGBM gives every callback without one a position-based
        # order, overriding a class attribute.
        self.order = 20

    def __call__(self, env: Any) -> None:
        if env.iteration == env.begin_iteration:
            self._reporter.start()
        last = env.iteration == env.end_iteration - 1
        self._reporter.round(
            env.model, env.iteration, flat_results(env.evaluation_result_list), last=last
        )


class TuneReportCallback(ReportCallback, TuneCallback):
    """Reports LightGBM's evaluation results after every boosting round (no checkpoint).

    Ray 1.x's class (deprecated in Ray 2.x, kept here without a warning). Each round is one
    result (one ``training_iteration``).

    Args:
        metrics: What to report: None (default) reports every evaluation result under
            LightGBM's name (``"<set>-<metric>"``); a name or a list of names reports those; a
            dict ``{name to report: LightGBM's name}`` renames them. A name LightGBM did not
            produce raises ``KeyError`` listing the ones it did.
        results_postprocessing_fn: Called with the dict to report, returns the dict to
            report instead (e.g. to average cross-validation results); default None.

    Raises:
        TypeError: ``metrics`` or ``results_postprocessing_fn`` has the wrong type.
    """


class TuneReportCheckpointCallback(CheckpointCallback, TuneCallback):
    """Reports LightGBM's evaluation results after every boosting round and checkpoints the
    booster (see the module docstring for the defaults across Ray generations).

    The checkpoint is a directory holding the booster saved (LightGBM's text format) under
    ``filename``; :meth:`get_model` loads it back. Under ``lgb.cv`` nothing is
    checkpointed.

    Args:
        metrics: What to report: None (default) reports every evaluation result under
            LightGBM's name (``"<set>-<metric>"``); a name or a list of names reports those; a
            dict ``{name to report: LightGBM's name}`` renames them. A name LightGBM did not
            produce raises ``KeyError`` listing the ones it did.
        filename: The booster's file in the checkpoint directory (default
            ``"model.txt"``).
        frequency: Checkpoint after every ``frequency``-th round, counting from 1 (default
            5; 0: none during training).
        checkpoint_at_end: Also checkpoint the last round (default True; not when
            LightGBM's early stopping ended training). A callable here (1.x's fourth
            positional argument) is taken as ``results_postprocessing_fn``.
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

    @classmethod
    def get_model(cls, checkpoint: Any, filename: str | None = None) -> Any:
        """Load the booster this callback saved in ``checkpoint``.

        Args:
            checkpoint: A :class:`~tunelab.Checkpoint` (``result.checkpoint``), or a
                checkpoint directory path (as ``analysis.best_checkpoint`` gives in 1.x).
            filename: The booster's file in the checkpoint; default the name the callback
                recorded in the checkpoint, else :attr:`CHECKPOINT_NAME`.

        Returns:
            The ``lightgbm.Booster``.

        Raises:
            TypeError: ``checkpoint`` is neither a checkpoint nor a path.
            FileNotFoundError: The checkpoint holds no such file.
        """
        return load_booster(checkpoint, filename, default_filename=cls.CHECKPOINT_NAME, load=_load)
