"""Keras callbacks that report to the running trial (Ray Tune's
``ray.tune.integration.keras``; the 2.x ``ray.air.integrations.keras`` is
:mod:`tunelab.air.integrations.keras`).

Pass one to ``model.fit(..., callbacks=[...])`` inside a trainable::

    from tunelab.integration.keras import TuneReportCheckpointCallback

    def train_fn(config):
        model = build_model(config)
        model.fit(x, y, validation_data=(xv, yv), epochs=10, verbose=0,
                  callbacks=[TuneReportCheckpointCallback({"loss": "val_loss"})])

    # later: model = TuneReportCheckpointCallback.get_model(result.checkpoint)

Each time a chosen hook fires (``on``: Keras's hook names without ``on_``, e.g.
``"epoch_end"`` (the default), ``"train_batch_end"``, a list of them; ``"batch_end"`` is
Keras's alias of ``"train_batch_end"``) one result is reported (one ``training_iteration``)
holding Keras's ``logs`` of that hook: every logged value (``metrics=None``), the names
listed, or a dict ``{name to report: Keras's name}`` that renames. A name Keras did not log
at that hook raises ``KeyError`` naming the logged ones.

* :class:`TuneReportCallback` (1.x) reports only.
* :class:`TuneReportCheckpointCallback` also checkpoints the model with ``model.save``: a
  checkpoint directory holding the model under ``filename``. It takes both generations'
  arguments: 1.x's ``metrics, filename="checkpoint", frequency=1, on="epoch_end"`` (report
  at every ``on`` hook, checkpoint every ``frequency``-th time each hook fires; a list of
  frequencies gives one per hook of ``on``), or, by keyword, 2.x's ``checkpoint_on=`` and
  ``report_metrics_on=`` (report at the one, checkpoint at the other, the metrics always
  reported with a checkpoint; ``checkpoint_on=[]`` never checkpoints). A ``filename``
  ending in ``.keras`` (2.x's default ``"model.keras"``) or ``.h5`` is a file in that
  format; any other name (1.x's default ``"checkpoint"``) is an unzipped Keras model
  directory, which ``keras.models.load_model(path)`` reads like the TensorFlow SavedModel
  directory Ray 1.x wrote. :meth:`~TuneReportCheckpointCallback.get_model` loads a
  checkpoint's model; a restored trial continues with ``model.fit`` on it.
* :class:`TuneReporterCallback` (0.8) reports the logs as ``keras_info`` with
  ``mean_accuracy`` (and ``neg_<loss>`` for every loss), per batch or per epoch.

Keras 3 runs on TensorFlow, PyTorch or JAX. ``pip install "tunelab[keras]"`` installs
Keras with PyTorch; Keras picks its backend from ``KERAS_BACKEND`` (else
``~/.keras/keras.json``, whose default is TensorFlow). When the backend so configured is not
installed and ``KERAS_BACKEND`` is unset, importing this module sets ``KERAS_BACKEND`` to
``torch`` (or ``jax``), whichever is installed, before Keras is first imported.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import os
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Container, Mapping, MutableMapping
from typing import Any

from tunelab import _session
from tunelab._errors import ExtraNotInstalledError
from tunelab.integration import _framework
from tunelab.integration._framework import Metrics

__all__ = [
    "TuneCallback",
    "TuneReportCallback",
    "TuneReportCheckpointCallback",
    "TuneReporterCallback",
]

logger = logging.getLogger("tunelab.integration")


def _configured_backend(environ: Mapping[str, str]) -> str:
    """The backend Keras would load when ``KERAS_BACKEND`` is unset: ``keras.json``'s (in
    ``KERAS_HOME``, else ``~/.keras``), else TensorFlow."""
    home = environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as fh:
            backend = json.load(fh).get("backend")
    except (OSError, ValueError, AttributeError):
        backend = None
    return backend if isinstance(backend, str) and backend else "tensorflow"


def _choose_backend(
    environ: MutableMapping[str, str] = os.environ,
    loaded: Container[str] = sys.modules,
    installed: Callable[[str], bool] = lambda name: importlib.util.find_spec(name) is not None,
) -> str | None:
    """Set ``KERAS_BACKEND`` in ``environ`` to an installed backend (``torch``, else
    ``jax``) when Keras is not ``loaded`` yet, ``KERAS_BACKEND`` is unset and the configured
    backend (TensorFlow, jax or torch) is not ``installed``, so that importing Keras works.
    Returns the backend set, or None."""
    if "keras" in loaded or environ.get("KERAS_BACKEND"):
        return None
    configured = _configured_backend(environ)
    if configured not in ("tensorflow", "torch", "jax") or installed(configured):
        return None
    for backend in ("torch", "jax"):
        if installed(backend):
            environ["KERAS_BACKEND"] = backend
            logger.info(
                "Keras's configured backend %r is not installed: KERAS_BACKEND=%s set",
                configured,
                backend,
            )
            return backend
    return None


_choose_backend()
try:
    import keras
except ImportError as exc:  # pragma: no cover - depends on the environment
    if importlib.util.find_spec("keras") is None:
        raise ExtraNotInstalledError("tunelab.integration.keras", "keras", "keras") from exc
    raise ImportError(
        f"keras is installed but failed to import ({exc}); Keras 3 needs a backend: install "
        'one (pip install "tunelab[keras]" brings PyTorch) and set KERAS_BACKEND=torch (or '
        "jax, tensorflow)",
        name="keras",
    ) from exc

#: Keras's callback hooks, without ``on_``; ``batch_begin``/``batch_end`` are Keras's aliases
#: of ``train_batch_begin``/``train_batch_end``.
HOOKS = (
    "batch_begin",
    "batch_end",
    "epoch_begin",
    "epoch_end",
    "train_batch_begin",
    "train_batch_end",
    "test_batch_begin",
    "test_batch_end",
    "predict_batch_begin",
    "predict_batch_end",
    "train_begin",
    "train_end",
    "test_begin",
    "test_end",
    "predict_begin",
    "predict_end",
)
_FRAMEWORK = "Keras"
_LEGACY_FILENAME = "checkpoint"  # Ray 1.x's default
_FILENAME = "model.keras"  # Ray 2.x's (TensorflowCheckpoint.from_model)
_UNSET: Any = object()


def save_model(model: Any, path: str) -> None:
    """``model.save(path)``: a ``.keras``/``.h5`` file by its suffix, else an unzipped Keras
    model directory (``keras.models.load_model(path)`` reads both).

    Args:
        model: The Keras model.
        path: Where to save it.
    """
    if path.endswith((".keras", ".h5", ".hdf5")):
        model.save(path)
    elif "zipped" in inspect.signature(model.save).parameters:
        model.save(path, zipped=False)
    else:  # Keras 2 writes a TensorFlow SavedModel directory
        model.save(path)


class TuneCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """Base class of the callbacks: calls ``_handle(logs, when)`` at each hook named in
    ``on``.

    Args:
        on: The Keras hook(s) to act on, by name without ``on_``: ``"epoch_end"``
            (default), ``"train_batch_end"`` (``"batch_end"`` is Keras's alias),
            ``"test_end"``, ... or a list of them.

    Raises:
        ValueError: ``on`` names an unknown hook.
        TypeError: ``on`` is neither a string nor a list of strings.
    """

    def __init__(self, on: str | list[str] = "epoch_end") -> None:
        super().__init__()
        self._on = _framework.check_hooks(on, HOOKS)

    def _handle(self, logs: dict[str, Any], when: str) -> None:
        raise NotImplementedError

    def _fire(self, logs: Any, *whens: str) -> None:
        for when in whens:
            if when in self._on:
                self._handle(dict(logs or {}), when)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._fire(logs, "epoch_begin")

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self._fire(logs, "epoch_end")

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._fire(logs, "train_batch_begin", "batch_begin")

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self._fire(logs, "train_batch_end", "batch_end")

    def on_test_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._fire(logs, "test_batch_begin")

    def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
        self._fire(logs, "test_batch_end")

    def on_predict_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._fire(logs, "predict_batch_begin")

    def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
        self._fire(logs, "predict_batch_end")

    def on_train_begin(self, logs: Any = None) -> None:
        self._fire(logs, "train_begin")

    def on_train_end(self, logs: Any = None) -> None:
        self._fire(logs, "train_end")

    def on_test_begin(self, logs: Any = None) -> None:
        self._fire(logs, "test_begin")

    def on_test_end(self, logs: Any = None) -> None:
        self._fire(logs, "test_end")

    def on_predict_begin(self, logs: Any = None) -> None:
        self._fire(logs, "predict_begin")

    def on_predict_end(self, logs: Any = None) -> None:
        self._fire(logs, "predict_end")


class TuneReportCallback(TuneCallback):
    """Reports Keras's logs to the trial at each ``on`` hook (no checkpoint).

    Each call of a chosen hook is one result (one ``training_iteration``).

    Args:
        metrics: What to report from Keras's ``logs``: None (default) reports every
            logged value; a name or a list of names reports those; a dict ``{name to
            report: Keras's name}`` renames them. A name Keras did not log at that hook
            raises ``KeyError`` naming the logged ones.
        on: The Keras hook(s) to act on, by name without ``on_``: ``"epoch_end"``
            (default), ``"train_batch_end"`` (``"batch_end"`` is Keras's alias),
            ``"test_end"``, ... or a list of them.

    Raises:
        ValueError: ``on`` names an unknown hook.
        TypeError: ``metrics`` or ``on`` has the wrong type.
    """

    def __init__(self, metrics: Metrics = None, on: str | list[str] = "epoch_end") -> None:
        super().__init__(on)
        self._metrics = _framework.check_metrics(metrics)

    def _handle(self, logs: dict[str, Any], when: str) -> None:
        _session.report(
            _framework.select_metrics(self._metrics, logs, framework=_FRAMEWORK),
        )


def _check_frequency(frequency: Any, on: list[str]) -> list[int]:
    """``frequency`` as one int >= 1 per hook of ``on``."""
    values = frequency if isinstance(frequency, list) else [frequency]
    if not all(isinstance(f, int) and not isinstance(f, bool) and f >= 1 for f in values):
        raise ValueError(
            "frequency must be an int >= 1 (checkpoint every `frequency`-th time a hook "
            f"fires) or a list of them, one per hook of `on`, got {frequency!r}"
        )
    if isinstance(frequency, list):
        if len(frequency) != len(on):
            raise ValueError(
                f"frequency: a list needs one value per hook of `on` ({on!r}), got {frequency!r}"
            )
        return list(frequency)
    return [frequency] * len(on)


class _ReportCheckpoint(TuneCallback):
    """Reports at ``report_on`` hooks; checkpoints (with the metrics) at ``checkpoint_on``
    hooks, every ``frequency[i]``-th time hook ``checkpoint_on[i]`` fires."""

    def _configure(
        self,
        *,
        metrics: Any,
        report_on: list[str],
        checkpoint_on: list[str],
        frequency: list[int],
        filename: Any,
    ) -> None:
        super().__init__(list(dict.fromkeys(report_on + checkpoint_on)))
        self._metrics = _framework.check_metrics(metrics)
        self._report_on = report_on
        self._checkpoint_on = checkpoint_on
        self._frequency = dict(zip(checkpoint_on, frequency, strict=True))
        self._filename = _framework.check_filename(filename)
        self._counter: Counter[str] = Counter()

    def _handle(self, logs: dict[str, Any], when: str) -> None:
        metrics = _framework.select_metrics(self._metrics, logs, framework=_FRAMEWORK)
        if when in self._checkpoint_on:
            self._counter[when] += 1
            if self._counter[when] % self._frequency[when] == 0:
                model = self.model
                _framework.report(metrics, lambda path: save_model(model, path), self._filename)
                return
        if when in self._report_on:
            _session.report(metrics)

    @staticmethod
    def get_model(checkpoint: Any, filename: str | None = None, **load_kwargs: Any) -> Any:
        """Load the Keras model kept in ``checkpoint``.

        Args:
            checkpoint: A :class:`~tunelab.Checkpoint` (``result.checkpoint``) or a
                checkpoint directory path.
            filename: The model's name in the checkpoint; default the one the callback
                recorded.
            **load_kwargs: Passed to ``keras.models.load_model``.

        Returns:
            The model, as ``keras.models.load_model(path, **load_kwargs)`` returns it.

        Raises:
            TypeError: ``checkpoint`` is neither a checkpoint nor a path.
            FileNotFoundError: The checkpoint holds no such model.
        """
        ckpt = _framework.checkpoint_dir_of(checkpoint)
        with ckpt.as_directory() as directory:
            path = _framework.model_path(directory, ckpt, filename, _FILENAME)
            return keras.models.load_model(path, **load_kwargs)


class TuneReportCheckpointCallback(_ReportCheckpoint):
    """Reports Keras's logs to the trial and checkpoints the model (see the module
    docstring for both generations' arguments).

    Ray 1.x: ``TuneReportCheckpointCallback(metrics=None, filename="checkpoint",
    frequency=1, on="epoch_end")``. Ray 2.x (by keyword): ``TuneReportCheckpointCallback(
    checkpoint_on="epoch_end", report_metrics_on="epoch_end", metrics=None)``, the model
    saved as ``"model.keras"`` unless ``filename`` says otherwise. ``on``
    and ``checkpoint_on``/``report_metrics_on`` do not mix. The class method
    ``get_model(checkpoint, filename=None, **load_kwargs)`` loads a checkpoint's model with
    ``keras.models.load_model``.

    Args:
        metrics: What to report from Keras's ``logs``: None (default) reports every
            logged value; a name or a list of names reports those; a dict ``{name to
            report: Keras's name}`` renames them. A name Keras did not log at that hook
            raises ``KeyError`` naming the logged ones.
        filename: The model's name in the checkpoint directory: ending in ``.keras`` or
            ``.h5``, a file in that format; any other name, an unzipped Keras model
            directory. Default ``"checkpoint"`` (1.x arguments) or ``"model.keras"`` (2.x
            keywords).
        frequency: Checkpoint every ``frequency``-th time a checkpoint hook fires (default
            1); a list gives one value per hook.
        on: Ray 1.x: the hook(s) that report and checkpoint (default ``"epoch_end"``).
        checkpoint_on: Ray 2.x (keyword only): the hook(s) that checkpoint, with the
            metrics (default ``"epoch_end"``; ``[]``: never).
        report_metrics_on: Ray 2.x (keyword only): the hook(s) that report (default
            ``"epoch_end"``).

    Raises:
        ValueError: ``on`` is mixed with the 2.x keywords, a hook is unknown, ``frequency``
            is invalid or ``filename`` is not a relative name.
        TypeError: ``metrics`` or a hook argument has the wrong type.
    """

    def __init__(
        self,
        metrics: Metrics = None,
        filename: str | None = None,
        frequency: int | list[int] = 1,
        on: str | list[str] = _UNSET,
        *,
        checkpoint_on: str | list[str] = _UNSET,
        report_metrics_on: str | list[str] = _UNSET,
    ) -> None:
        if checkpoint_on is _UNSET and report_metrics_on is _UNSET:
            hooks = _framework.check_hooks("epoch_end" if on is _UNSET else on, HOOKS)
            self._configure(
                metrics=metrics,
                report_on=hooks,
                checkpoint_on=hooks,
                frequency=_check_frequency(frequency, hooks),
                filename=_LEGACY_FILENAME if filename is None else filename,
            )
            return
        if on is not _UNSET:
            raise ValueError(
                "pass either on= (Ray 1.x: report and checkpoint at the same hooks) or "
                "checkpoint_on=/report_metrics_on= (Ray 2.x), not both; got on="
                f"{on!r} with checkpoint_on/report_metrics_on"
            )
        checkpoint_hooks = _framework.check_hooks(
            "epoch_end" if checkpoint_on is _UNSET else checkpoint_on,
            HOOKS,
            argument="checkpoint_on",
        )
        self._configure(
            metrics=metrics,
            report_on=_framework.check_hooks(
                "epoch_end" if report_metrics_on is _UNSET else report_metrics_on,
                HOOKS,
                argument="report_metrics_on",
            ),
            checkpoint_on=checkpoint_hooks,
            frequency=_check_frequency(frequency, checkpoint_hooks),
            filename=_FILENAME if filename is None else filename,
        )


class TuneReporterCallback(TuneCallback):
    """Ray 0.8's Keras callback.

    At every batch end or epoch end it reports ``keras_info`` (the logs, plus
    ``neg_<name>`` = minus the value for every loss) and ``mean_accuracy`` (the ``acc`` or
    ``accuracy`` log, else None).

    Args:
        reporter: The trainable's ``reporter(**metrics)`` (0.x function trainables);
            None (default): report to the running trial.
        freq: ``"batch"`` (default: every training batch) or ``"epoch"``.
        logs: No effect (as in Ray); passing one warns.

    Raises:
        ValueError: ``freq`` is neither ``"batch"`` nor ``"epoch"``.
        TypeError: ``reporter`` is not callable.
    """

    def __init__(self, reporter: Any = None, freq: str = "batch", logs: Any = None) -> None:
        if freq not in ("batch", "epoch"):
            raise ValueError(f"freq must be 'batch' or 'epoch', got {freq!r}")
        if reporter is not None and not callable(reporter):
            raise TypeError(
                "reporter must be None or the trainable's reporter(**metrics), got "
                f"{type(reporter).__name__}: {reporter!r}"
            )
        if logs is not None:
            warnings.warn(
                "TuneReporterCallback: logs has no effect (Keras hands every hook its logs); "
                "it is ignored",
                stacklevel=2,
            )
        super().__init__("train_batch_end" if freq == "batch" else "epoch_end")
        self.freq = freq
        self.iteration = 0
        self._reporter = reporter

    def _handle(self, logs: dict[str, Any], when: str) -> None:
        self.iteration += 1
        info = {str(k): _framework.scalar(v) for k, v in logs.items()}
        for name in list(info):
            if "loss" in name and "neg_" not in name and isinstance(info[name], (int, float)):
                info["neg_" + name] = -info[name]
        accuracy = info["acc"] if "acc" in info else info.get("accuracy")
        if self._reporter is not None:
            self._reporter(keras_info=info, mean_accuracy=accuracy)
        else:
            _session.report(keras_info=info, mean_accuracy=accuracy)
