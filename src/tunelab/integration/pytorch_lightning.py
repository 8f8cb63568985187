"""PyTorch Lightning callbacks that report to the running trial (Ray Tune's
``ray.tune.integration.pytorch_lightning``, every generation).

Pass one to ``Trainer(callbacks=[...])`` inside a trainable::

    import lightning.pytorch as pl
    from tunelab.integration.pytorch_lightning import TuneReportCheckpointCallback

    def train_fn(config):
        trainer = pl.Trainer(max_epochs=10, enable_progress_bar=False, callbacks=[
            TuneReportCheckpointCallback({"loss": "val_loss"}, on="validation_end")])
        ckpt = tunelab.get_checkpoint()  # set when the trial is restored
        if ckpt:
            with ckpt.as_directory() as d:
                trainer.fit(model, dm, ckpt_path=os.path.join(d, "checkpoint"))
        else:
            trainer.fit(model, dm)

Each time a chosen hook fires (``on``: Lightning's ``Callback`` hook names without ``on_``,
default ``"validation_end"``, or a list of them) one result is reported (one
``training_iteration``) holding ``trainer.callback_metrics`` (what the module logged with
``self.log``) as numbers: every one (``metrics=None``), the names listed, or a dict ``{name
to report: Lightning's name}`` that renames. A selected name that was not logged is left
out with a warning in the log, as in Ray; nothing is reported during the sanity check nor
when no selected metric was logged.

* :class:`TuneReportCheckpointCallback` also checkpoints: ``trainer.save_checkpoint`` writes
  a checkpoint directory holding Lightning's checkpoint file under ``filename`` (default
  ``"checkpoint"``), which ``trainer.fit(model, ckpt_path=...)`` or
  ``Module.load_from_checkpoint(...)`` resume from. ``save_checkpoints=False`` (2.x) only
  reports.
* :class:`TuneReportCallback` reports only (Ray 2.x deprecated it for the former with
  ``save_checkpoints=False``; here it stays, without a warning).

Ray 1.x's hook names of Lightning 1.x that Lightning 2 renamed are accepted under their
new names: ``epoch_start``/``epoch_end`` (``train_epoch_start``/``train_epoch_end``),
``batch_start``/``batch_end`` (``train_batch_start``/``train_batch_end``) and
``keyboard_interrupt`` (``exception``). The positional order is Ray 1.x's ``(metrics,
filename, on)``; Ray 2.x's ``(metrics, filename, save_checkpoints, on)`` is recognised by
the bool in third place.

The callbacks derive from ``lightning.pytorch.Callback`` (else ``pytorch_lightning``'s,
when only that is installed); both packages' ``Trainer`` accept them. Importing this module
imports Lightning (``pip install "tunelab[lightning]"``).
"""

from __future__ import annotations

import inspect
from typing import Any

from tunelab.integration import _framework
from tunelab.integration._framework import Metrics

try:
    from lightning.pytorch import Callback as _Callback
except ImportError:  # pragma: no cover - depends on the environment
    try:
        from pytorch_lightning import Callback as _Callback
    except ImportError as exc:
        from tunelab._errors import ExtraNotInstalledError

        raise ExtraNotInstalledError(
            "tunelab.integration.pytorch_lightning", "lightning", "lightning"
        ) from exc

__all__ = ["TuneCallback", "TuneReportCallback", "TuneReportCheckpointCallback"]

_FRAMEWORK = "PyTorch Lightning"

#: Lightning's callback hooks (without ``on_``) a callback may act on: every ``on_*``
#: method of this Lightning's ``Callback`` except checkpoint saving and loading (saving a
#: checkpoint there would call the hook again).
HOOKS = tuple(
    sorted(
        name[len("on_") :]
        for name, _ in inspect.getmembers(_Callback, predicate=inspect.isfunction)
        if name.startswith("on_") and name not in ("on_save_checkpoint", "on_load_checkpoint")
    )
)

#: Ray 1.x's names of Lightning 1.x hooks that Lightning 2 renamed -> the hook now.
RENAMED_HOOKS = {
    "batch_end": "train_batch_end",
    "batch_start": "train_batch_start",
    "epoch_end": "train_epoch_end",
    "epoch_start": "train_epoch_start",
    "keyboard_interrupt": "exception",
}


def _check_on(on: Any) -> list[str]:
    """``on`` as a list of this Lightning's hook names (Ray 1.x's renamed ones mapped)."""
    names = [on] if isinstance(on, str) else on
    if isinstance(names, (list, tuple)):
        names = [
            RENAMED_HOOKS[n] if isinstance(n, str) and n not in HOOKS and n in RENAMED_HOOKS else n
            for n in names
        ]
    return _framework.check_hooks(names, HOOKS)


class TuneCallback(_Callback):  # type: ignore[misc, valid-type]
    """Base class of the callbacks: calls ``_handle(trainer, pl_module)`` at each hook named
    in ``on``.

    Its ``on_*`` methods are Lightning's hooks; each acts only when named in ``on``.

    Args:
        on: The Lightning hook(s) to act on, by name without ``on_``:
            ``"validation_end"`` (default), ``"train_epoch_end"``, ... or a list of them.
            Ray 1.x's names of hooks that Lightning 2 renamed (``"epoch_end"``,
            ``"batch_end"``...) are mapped to the new ones.

    Raises:
        ValueError: ``on`` names an unknown hook.
        TypeError: ``on`` is neither a string nor a list of strings.
    """

    def __init__(self, on: str | list[str] = "validation_end") -> None:
        super().__init__()
        self._on = _check_on(on)

    def _handle(self, trainer: Any, pl_module: Any) -> None:
        raise NotImplementedError


def _make_hook(hook: str) -> Any:
    def method(self: TuneCallback, trainer: Any, *args: Any, **kwargs: Any) -> None:
        if hook in self._on:
            self._handle(trainer, args[0] if args else kwargs.get("pl_module"))

    method.__name__ = method.__qualname__ = f"on_{hook}"
    method.__doc__ = f"""Lightning's ``on_{hook}`` hook: acts when ``"{hook}"`` is in ``on``.

    Args:
        trainer: The Lightning ``Trainer``.
        *args: The hook's other arguments, as Lightning passes them (the first is the
            ``LightningModule``).
        **kwargs: The hook's keyword arguments.
    """
    return method


for _hook in HOOKS:
    setattr(TuneCallback, f"on_{_hook}", _make_hook(_hook))


class TuneReportCheckpointCallback(TuneCallback):
    """Reports ``trainer.callback_metrics`` to the trial at each ``on`` hook and, unless
    ``save_checkpoints=False``, checkpoints the trainer with them (see the module
    docstring).

    Each call of a chosen hook is one result (one ``training_iteration``); nothing is
    reported during the sanity check nor when no selected metric was logged. The
    positional order is Ray 1.x's ``(metrics, filename, on)``; Ray 2.x's ``(metrics,
    filename, save_checkpoints, on)`` is recognised by the bool in third place.

    Args:
        metrics: What to report from ``trainer.callback_metrics``: None (default) reports
            every logged value; a name or a list of names reports those; a dict ``{name
            to report: Lightning's name}`` renames them. A name that was not logged is left
            out with a warning.
        filename: The name of Lightning's checkpoint file in the checkpoint directory
            (default ``"checkpoint"``), written by ``trainer.save_checkpoint``.
        on: The Lightning hook(s) to act on, by name without ``on_``:
            ``"validation_end"`` (default), ``"train_epoch_end"``, ... or a list of them.
            Ray 1.x's names of hooks that Lightning 2 renamed (``"epoch_end"``,
            ``"batch_end"``...) are mapped to the new ones.
        save_checkpoints: False: only report (default True).

    Raises:
        ValueError: ``on`` names an unknown hook, or ``filename`` is not a relative name.
        TypeError: ``metrics``, ``on`` or ``save_checkpoints`` has the wrong type.
    """

    def __init__(
        self,
        metrics: Metrics = None,
        filename: str = "checkpoint",
        on: str | list[str] | bool = "validation_end",
        save_checkpoints: bool | str | list[str] = True,
    ) -> None:
        if isinstance(on, bool):  # Ray 2.x's positional order: (..., save_checkpoints, on)
            on, save_checkpoints = (
                save_checkpoints if not isinstance(save_checkpoints, bool) else "validation_end",
                on,
            )
        if not isinstance(save_checkpoints, bool):
            raise TypeError(f"save_checkpoints must be a bool, got {save_checkpoints!r}")
        super().__init__(on)
        self._metrics = _framework.check_metrics(metrics)
        self._filename = _framework.check_filename(filename)
        self._save_checkpoints = save_checkpoints

    def _report_dict(self, trainer: Any) -> dict[str, Any]:
        return _framework.select_metrics(
            self._metrics, trainer.callback_metrics, framework=_FRAMEWORK, missing="warn"
        )

    def _handle(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        report = self._report_dict(trainer)
        if not report:
            return
        save = trainer.save_checkpoint if self._save_checkpoints else None
        _framework.report(report, save, self._filename)


class TuneReportCallback(TuneReportCheckpointCallback):
    """Reports ``trainer.callback_metrics`` to the trial at each ``on`` hook (no
    checkpoint).

    Args:
        metrics: What to report from ``trainer.callback_metrics``: None (default) reports
            every logged value; a name or a list of names reports those; a dict ``{name
            to report: Lightning's name}`` renames them. A name that was not logged is left
            out with a warning.
        on: The Lightning hook(s) to act on, by name without ``on_``:
            ``"validation_end"`` (default), ``"train_epoch_end"``, ... or a list of them.
            Ray 1.x's names of hooks that Lightning 2 renamed (``"epoch_end"``,
            ``"batch_end"``...) are mapped to the new ones.

    Raises:
        ValueError: ``on`` names an unknown hook.
        TypeError: ``metrics`` or ``on`` has the wrong type.
    """

    def __init__(self, metrics: Metrics = None, on: str | list[str] = "validation_end") -> None:
        super().__init__(metrics, on=on, save_checkpoints=False)
