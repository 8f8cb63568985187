"""The ``Trainable`` class API (every generation's method names).

Subclass it and implement ``setup(config)``, ``step() -> dict`` and, to support
checkpointing, ``save_checkpoint(checkpoint_dir)`` / ``load_checkpoint(checkpoint)``.
The 0.x names ``_setup/_train/_save/_restore/_stop/_log_result/_export_model`` are honoured
when a subclass defines them instead, and so is the 0.5 ``_setup(self)`` without a config
argument (the config is on ``self.config``).

tunelab calls, in a worker process: the constructor (which calls ``setup``), then ``train()``
repeatedly, ``save()`` when a checkpoint is due, ``restore()`` when resuming, ``reset()``
when the object is reused for another trial (``reuse_actors=True``), and ``stop()`` at the end.
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import tempfile
import time
from typing import Any

from tunelab import result as R
from tunelab._checkpoint import TRAINABLE_STATE_FILE, checkpoint_directory_of
from tunelab._resources import PlacementGroupFactory
from tunelab.trainable._progress import IterationState

__all__ = ["Trainable"]

_STATE_FILE = TRAINABLE_STATE_FILE
_DICT_FILE = "_dict_checkpoint.pkl"


def _overrides(obj: object, name: str) -> bool:
    """True when ``type(obj)`` (or a base other than Trainable) defines ``name``."""
    for klass in type(obj).__mro__:
        if klass is Trainable:
            return False
        if name in klass.__dict__:
            return True
    return False


def _takes_config(method: Any) -> bool:
    """Whether a bound ``setup``/``_setup`` accepts the config as a positional argument."""
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        for p in signature.parameters.values()
    )


class Trainable:
    """Base class for class trainables: one object per trial, trained one step at a time.

    Subclass it and implement :meth:`setup` (read the config, build the model),
    :meth:`step` (one iteration; return a dict of metrics) and, for checkpoints, pauses,
    retries and resume, :meth:`save_checkpoint` and :meth:`load_checkpoint`. Pass the class
    (not an instance) to :class:`tunelab.Tuner` or :func:`tunelab.run`.

    In a worker process tunelab constructs the object (which calls :meth:`setup`), calls
    :meth:`restore` when the trial resumes from a checkpoint, then :meth:`train`
    repeatedly (which calls :meth:`step` and fills in ``training_iteration``,
    ``time_total_s`` and the other automatic result fields), :meth:`save` when a checkpoint
    is due (``CheckpointConfig(checkpoint_frequency=N)``/``checkpoint_freq``,
    ``checkpoint_at_end``, a scheduler's pause, Ctrl+C, or a result holding
    ``should_checkpoint: True``), :meth:`reset` when ``reuse_actors=True`` hands the object
    to another trial, and :meth:`stop` at the end. A result with ``done: True`` ends the
    trial.

    The 0.x method names ``_setup``/``_train``/``_save``/``_restore``/``_stop``/
    ``_log_result``/``_export_model`` are honoured when a subclass defines them instead,
    and so is the 0.5 ``_setup(self)`` without a config argument (the config is then on
    ``self.config``).

    Attributes:
        config: The trial's config (a copy).

    Args:
        config: The trial's resolved config; tunelab passes it. ``None`` means ``{}`` (for
            using the class outside tunelab, e.g. in a test).
        logger_creator: Accepted for Ray Tune compatibility and ignored: tunelab's loggers
            are callbacks of the experiment, not of the trainable.
    """

    _name: str | None = None

    def __init__(
        self, config: dict[str, Any] | None = None, logger_creator: Any = None, **kwargs: Any
    ) -> None:
        from tunelab import _session

        session = _session._get_session()
        self.config: dict[str, Any] = dict(config or {})
        context = session.context if session is not None else None
        self._trial_id = context.get_trial_id() if context else "default"
        self._trial_name = context.get_trial_name() if context else "default"
        self._trial_resources = context.get_trial_resources() if context else None
        logdir = context.get_trial_dir() if context else ""
        if not logdir:
            logdir = tempfile.mkdtemp(prefix=f"{type(self).__name__}_")
        self._logdir = logdir
        self._state = IterationState(self._trial_id)
        self._restored = False
        self._setup_kwargs = kwargs
        self._call_setup(copy.deepcopy(self.config), kwargs)
        self._state.restart_clock()

    # -- dispatch between new and legacy names ------------------------------------------------
    def _call_setup(self, config: dict[str, Any], kwargs: dict[str, Any]) -> None:
        """``setup(config)``, else the 0.6-0.8 ``_setup(config)``, else the 0.5 ``_setup()``
        (which reads ``self.config``): a method that takes no positional argument besides
        ``self`` is called without the config."""
        if _overrides(self, "setup"):
            method = self.setup
        elif _overrides(self, "_setup"):
            method = self._setup
        else:
            return
        if _takes_config(method):
            method(config, **kwargs)
        else:
            method(**kwargs)

    # -- methods users implement -------------------------------------------------------------
    def setup(self, config: dict[str, Any], **kwargs: Any) -> None:
        """Initialise the trial's state from its config; override this.

        Called once by the constructor (not again after a restore: :meth:`load_checkpoint`
        then overwrites what should come from the checkpoint).

        Args:
            config: A deep copy of the trial's config.
            **kwargs: The objects given to :func:`tunelab.with_parameters`, by name.
        """

    def step(self) -> dict[str, Any]:
        """Run one iteration and return its metrics; override this.

        Returns:
            A dict of metrics. Include ``done: True`` to end the trial, or
            ``should_checkpoint: True`` to have a checkpoint saved with this result.

        Raises:
            NotImplementedError: Neither ``step`` nor the 0.x ``_train`` is implemented.
        """
        if _overrides(self, "_train"):
            return self._train()
        raise NotImplementedError(f"{type(self).__name__} must implement step()")

    def save_checkpoint(self, checkpoint_dir: str) -> Any:
        """Save the trial's state; override this to support checkpoints.

        Write files into ``checkpoint_dir`` and return ``None`` (or the directory, or a
        file inside it: 1.x code that returns a file path gets that path back in
        :meth:`load_checkpoint`), or return a dict, which tunelab pickles into the
        directory.

        Args:
            checkpoint_dir: An empty directory to write into
                (``<trial dir>/checkpoint_<iteration:06d>``).

        Returns:
            ``None``, a path inside ``checkpoint_dir``, or a dict.

        Raises:
            NotImplementedError: Neither ``save_checkpoint`` nor the 0.x ``_save`` is
                implemented (the trial then fails when a checkpoint is due).
        """
        if _overrides(self, "_save"):
            return self._save(checkpoint_dir)
        raise NotImplementedError(f"{type(self).__name__} does not implement save_checkpoint()")

    def load_checkpoint(self, checkpoint: Any) -> None:
        """Restore the trial's state from a checkpoint; override this with
        :meth:`save_checkpoint`.

        Args:
            checkpoint: What :meth:`save_checkpoint` produced: the checkpoint directory's
                path (a ``str``), the file path it returned, or the dict it returned.

        Raises:
            NotImplementedError: Neither ``load_checkpoint`` nor the 0.x ``_restore`` is
                implemented.
        """
        if _overrides(self, "_restore"):
            self._restore(checkpoint)
            return
        raise NotImplementedError(f"{type(self).__name__} does not implement load_checkpoint()")

    def cleanup(self) -> None:
        """Release what the trial holds (files, connections); called once at its end."""
        if _overrides(self, "_stop"):
            self._stop()

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        """Take a new trial's config without building a new object (``reuse_actors=True``).

        Override it to make reuse possible; the default refuses, and tunelab then builds a
        new object.

        Args:
            new_config: The next trial's config.

        Returns:
            True when the object now serves ``new_config``, False to refuse.
        """
        return False

    def log_result(self, result: dict[str, Any]) -> None:
        """Hook called in the worker with every result (the 0.x ``_log_result``).

        Args:
            result: The result as returned by :meth:`train`, automatic fields included.
        """
        if _overrides(self, "_log_result"):
            self._log_result(result)

    def _export_model(self, export_formats: list[str], export_dir: str) -> dict[str, str]:
        return {}

    @classmethod
    def default_resource_request(cls, config: dict[str, Any]) -> PlacementGroupFactory | None:
        """The resources a trial of this class needs; override to ask for more.

        :func:`tunelab.with_resources` and ``resources_per_trial`` take precedence over it.

        Args:
            config: The trial's config.

        Returns:
            A :class:`~tunelab.PlacementGroupFactory`, a resource dict such as
            ``{"cpu": 2, "gpu": 1}``, or None for the default (1 CPU).
        """
        return None

    @classmethod
    def resource_help(cls, config: dict[str, Any]) -> str:
        """Text explaining the resource request (Ray Tune's hook; not shown by tunelab).

        Args:
            config: The trial's config.

        Returns:
            The help text; empty by default.
        """
        return ""

    # legacy placeholders (overridden by 0.x subclasses)
    def _setup(self, config: dict[str, Any], **kwargs: Any) -> None:
        pass

    def _train(self) -> dict[str, Any]:
        raise NotImplementedError

    def _save(self, checkpoint_dir: str) -> Any:
        raise NotImplementedError

    def _restore(self, checkpoint: Any) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        pass

    def _log_result(self, result: dict[str, Any]) -> None:
        pass

    # -- methods tunelab calls ----------------------------------------------------------------
    def train(self) -> dict[str, Any]:
        """Run :meth:`step` once and return its result with the automatic fields.

        tunelab calls this; do not override it.

        Returns:
            The metrics of :meth:`step` plus ``training_iteration``, ``time_this_iter_s``,
            ``time_total_s``, ``timestamp``, ``trial_id`` and the other automatic fields.

        Raises:
            TypeError: :meth:`step` did not return a dict.
        """
        start = time.time()
        metrics = self.step()
        if not isinstance(metrics, dict):
            raise TypeError(
                f"{type(self).__name__}.step() must return a dict of metrics, "
                f"got {type(metrics).__name__}: {metrics!r}"
            )
        if R.TIME_THIS_ITER_S not in metrics:
            metrics = dict(metrics)
            metrics[R.TIME_THIS_ITER_S] = time.time() - start
        result = self._state.fill(metrics)
        self.log_result(result)
        return result

    def save(self, checkpoint_dir: str | None = None) -> str:
        """Save a checkpoint through :meth:`save_checkpoint`; tunelab calls this.

        Also writes the iteration counters into the directory, so that a restore continues
        ``training_iteration`` where the checkpoint was taken.

        Args:
            checkpoint_dir: Where to save; default ``<logdir>/checkpoint_<iteration:06d>``.

        Returns:
            The checkpoint directory.

        Raises:
            ValueError: :meth:`save_checkpoint` returned a path outside the directory.
            TypeError: :meth:`save_checkpoint` returned something other than None, a path
                or a dict.
        """
        path = checkpoint_dir or os.path.join(
            self._logdir, f"checkpoint_{self._state.iteration:06d}"
        )
        os.makedirs(path, exist_ok=True)
        returned = self.save_checkpoint(path)
        saved_as = "dir"
        file_rel = None
        if isinstance(returned, dict):
            import cloudpickle

            with open(os.path.join(path, _DICT_FILE), "wb") as fh:
                cloudpickle.dump(returned, fh)
            saved_as = "dict"
        elif isinstance(returned, (str, os.PathLike)):
            returned = os.path.abspath(os.fspath(returned))
            root = os.path.abspath(path)
            if returned != root:
                if not returned.startswith(root + os.sep):
                    raise ValueError(
                        f"{type(self).__name__}.save_checkpoint returned {returned!r}, which is "
                        f"outside the checkpoint directory {root!r}; return None, the directory, "
                        "a path inside it, or a dict"
                    )
                saved_as = "file"
                file_rel = os.path.relpath(returned, root)
        elif returned is not None:
            raise TypeError(
                f"{type(self).__name__}.save_checkpoint must return None, a path or a dict, "
                f"got {type(returned).__name__}"
            )
        state = dict(self._state.state(), saved_as=saved_as, file=file_rel)
        with open(os.path.join(path, _STATE_FILE), "w") as fh:
            json.dump(state, fh)
        return path

    def restore(self, checkpoint: Any) -> None:
        """Restore from a checkpoint through :meth:`load_checkpoint`; tunelab calls this.

        Args:
            checkpoint: A checkpoint directory path, a :class:`~tunelab.Checkpoint`, a dict,
                or the file :meth:`save_checkpoint` returned inside a checkpoint directory
                (Ray 1.x's path of such a checkpoint).
        """
        if isinstance(checkpoint, dict):
            self.load_checkpoint(checkpoint)
            self._restored = True
            self._state.restored({})
            return
        path = getattr(checkpoint, "path", checkpoint)
        if path is None and hasattr(checkpoint, "to_dict"):
            self.load_checkpoint(checkpoint.to_dict())
            self._state.restored({})
            return
        # the file save_checkpoint returned (1.x's checkpoint path) means its directory
        path = checkpoint_directory_of(os.fspath(path))
        state_file = os.path.join(path, _STATE_FILE)
        state: dict[str, Any] = {}
        if os.path.exists(state_file):
            with open(state_file) as fh:
                state = json.load(fh)
        saved_as = state.get("saved_as", "dir")
        if saved_as == "dict" or os.path.exists(os.path.join(path, _DICT_FILE)):
            from tunelab._checkpoint import Checkpoint

            self.load_checkpoint(Checkpoint.from_directory(path).to_dict())
        elif saved_as == "file" and state.get("file"):
            self.load_checkpoint(os.path.join(path, state["file"]))
        else:
            self.load_checkpoint(path)
        self._state.restored(state)
        self._restored = True

    def reset(self, new_config: dict[str, Any], **context: Any) -> bool:
        """Hand this object to a new trial through :meth:`reset_config`; tunelab calls this.

        Args:
            new_config: The new trial's config.
            **context: The new trial's ``trial_id``, ``trial_name``, ``logdir`` and
                ``trial_resources``.

        Returns:
            True when :meth:`reset_config` accepted the new config (the counters restart).
        """
        ok = bool(self.reset_config(new_config))
        if ok:
            self.config = dict(new_config)
            self._trial_id = context.get("trial_id", self._trial_id)
            self._trial_name = context.get("trial_name", self._trial_name)
            self._logdir = context.get("logdir", self._logdir)
            self._trial_resources = context.get("trial_resources", self._trial_resources)
            self._state = IterationState(self._trial_id)
        return ok

    def stop(self) -> None:
        """End the trial: calls :meth:`cleanup`. tunelab calls this; override
        :meth:`cleanup` instead."""
        self.cleanup()

    def export_model(
        self, export_formats: str | list[str], export_dir: str | None = None
    ) -> dict[str, str]:
        """Export the model (Ray Tune 0.x-1.x ``export_formats``) through ``_export_model``.

        Args:
            export_formats: One format name or a list of them, e.g. ``"h5"``.
            export_dir: Where to write; default the trial directory.

        Returns:
            Format name -> path of what was written (``{}`` unless ``_export_model`` is
            implemented).
        """
        formats = [export_formats] if isinstance(export_formats, str) else list(export_formats)
        return self._export_model(formats, export_dir or self._logdir)

    def get_config(self) -> dict[str, Any]:
        """The trial's config (the same dict as :attr:`config`)."""
        return self.config

    def get_state(self) -> dict[str, Any]:
        """The iteration counters (``iteration``, ``time_total``, ...) saved with each
        checkpoint."""
        return self._state.state()

    # -- properties ---------------------------------------------------------------------------
    @property
    def logdir(self) -> str:
        """The trial directory (a temporary directory outside tunelab)."""
        return self._logdir

    @property
    def trial_name(self) -> str:
        """The trial's name (``"default"`` outside tunelab)."""
        return self._trial_name

    @property
    def trial_id(self) -> str:
        """The trial's id (``"default"`` outside tunelab)."""
        return self._trial_id

    @property
    def trial_resources(self) -> PlacementGroupFactory | None:
        """The resources the trial was given (None outside tunelab)."""
        return self._trial_resources

    @property
    def iteration(self) -> int:
        """The number of iterations run so far (counting those before a restore)."""
        return self._state.iteration

    @property
    def training_iteration(self) -> int:
        """The same as :attr:`iteration`."""
        return self._state.iteration

    @property
    def iteration_state(self) -> IterationState:
        """The counters behind the automatic result fields."""
        return self._state


def resource_request_of(trainable: Any, config: dict[str, Any]) -> PlacementGroupFactory | None:
    """What a trainable asks for by itself (``with_resources`` or class defaults)."""
    from tunelab._resources import resources_from_request

    explicit = getattr(trainable, "_tunelab_resources", None)
    if explicit is not None:
        value = explicit(config) if callable(explicit) else explicit
        return resources_from_request(value, argument="with_resources")
    if isinstance(trainable, type) and issubclass(trainable, Trainable):
        legacy = trainable.__dict__.get("default_resource_requests")
        method = getattr(trainable, "default_resource_requests", None) if legacy else None
        request = (method or trainable.default_resource_request)(config)
        if request is None:
            return None
        return resources_from_request(request, argument="default_resource_request")
    return None
