"""The :class:`Callback` extension point and :class:`CallbackList`, the dispatcher the
controller holds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunelab._trial import Trial

__all__ = ["HOOKS", "Callback", "CallbackList"]

#: The hook names of :class:`Callback`, in the order of an experiment's life.
HOOKS: tuple[str, ...] = (
    "setup",
    "on_step_begin",
    "on_trial_rollback",
    "on_trial_start",
    "on_trial_restore",
    "on_trial_result",
    "on_checkpoint",
    "on_trial_save",
    "on_trial_recover",
    "on_trial_error",
    "on_trial_complete",
    "on_step_end",
    "on_experiment_end",
)


class Callback:
    """Hooks into the experiment loop: subclass it and override the hooks you need.

    Who calls what, and when:

    * The controller calls every hook from its single event-loop thread, in the order the
      events happened. Hooks are never called concurrently; a callback needs no locks.
    * ``setup(stop, num_samples, total_num_samples)`` once, before the first trial starts.
    * ``on_step_begin(iteration, trials)`` before the loop handles a batch of events and
      ``on_step_end(iteration, trials)`` after it, *before* any decision (stop, pause, new
      config) is sent to a worker. File loggers flush there, so a result is on disk before
      the controller acts on it.
    * ``on_trial_start``, ``on_trial_restore`` (resumed from a checkpoint), ``on_trial_save``
      (checkpoint written), ``on_checkpoint`` (checkpoint registered, with ``checkpoint``),
      ``on_trial_result`` (once per result, in order, with ``result``), ``on_trial_recover``
      (failed, will be retried), ``on_trial_error`` (failed for good), ``on_trial_complete``
      (finished normally), each with ``iteration``, ``trials`` and ``trial``.
    * ``on_trial_rollback(iteration, trials, trial, to_iteration)`` when ``trial`` is about
      to run again from the checkpoint of training iteration ``to_iteration`` (0: from the
      start) after a failure, a resume of the experiment or a PBT exploit, *before* its
      ``on_trial_start``/``on_trial_restore``: it will report the iterations after
      ``to_iteration`` again. An output that keeps per-trial records drops what it wrote for
      those iterations (or marks it superseded), so that each iteration is logged once. The
      built-in loggers do: JSON and CSV cut ``result.json``/``progress.csv``, TensorBoard
      writes the restart marker its reader purges later steps by.
    * ``on_experiment_end(trials)`` once, when the loop ends (also after an interrupt).

    Arguments are always passed by keyword; every hook also takes ``**info`` so new keyword
    arguments can be added without breaking subclasses. ``iteration`` is the loop's step
    count; ``trials`` is the controller's list of all trials: read it, never mutate it or a
    :class:`~tunelab._trial.Trial`. A hook must return quickly (``on_trial_result`` runs once
    per result: keep it in microseconds); it must not block on I/O beyond appending to
    buffered files. An exception raised by a hook ends the experiment.

    ``get_state``/``set_state`` let a callback survive a resume: the controller stores what
    ``get_state`` returns (``None``: nothing to store) with the experiment state and hands it
    back to ``set_state`` of the same callback on restore (:class:`CallbackList` matches
    states to callbacks by class name). Override hooks in the class, not on an instance:
    :class:`CallbackList` looks up once which classes override which hook.
    """

    def setup(
        self,
        stop: Any = None,
        num_samples: int | None = None,
        total_num_samples: int | None = None,
        **info: Any,
    ) -> None:
        """Called once, before the first trial starts.

        Args:
            stop: The experiment's stop criterion as given (a dict, a
                :class:`~tunelab.Stopper`, a function or ``None``).
            num_samples: The ``num_samples`` of the experiment (of the first one, when
                several run together), or ``None``.
            total_num_samples: How many trials the run will create in all, when known
                (``None``: unknown, e.g. a searcher decides).
            **info: Keyword arguments later versions may add; accept and ignore them.
        """

    def on_step_begin(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        """Called at the start of each loop step, before its batch of events is handled.

        Args:
            iteration: The experiment loop's step counter (not the trial's
                ``training_iteration``).
            trials: Every trial of the experiment, in creation order (read only).
            **info: Keyword arguments later versions may add; accept and ignore them.
        """

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        """Called after each loop step, before its decisions are sent to the workers.

        File loggers flush here, so that a result is on disk before the controller acts
        on it.

        Args:
            iteration: The experiment loop's step counter (not the trial's
                ``training_iteration``).
            trials: Every trial of the experiment, in creation order (read only).
            **info: Keyword arguments later versions may add; accept and ignore them.
        """

    def on_trial_rollback(
        self, iteration: int, trials: list[Trial], trial: Trial, to_iteration: int, **info: Any
    ) -> None:
        """Called before ``trial`` reruns the iterations after ``to_iteration``.

        The trial is about to run again from the checkpoint of training iteration
        ``to_iteration`` (after a failure, a resume of the experiment or a PBT exploit),
        before its ``on_trial_start``/``on_trial_restore``. An output that keeps per-trial
        records drops what it wrote for the later iterations, so that each iteration is
        logged once.

        Args:
            iteration: The experiment loop's step counter (not the trial's
                ``training_iteration``).
            trials: Every trial of the experiment, in creation order (read only).
            trial: The trial the event is about (read only).
            to_iteration: The training iteration of the checkpoint the trial restarts
                from; 0 when it starts from scratch.
            **info: Keyword arguments later versions may add; accept and ignore them.
        """

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        """Called when ``trial`` starts running, or runs again after a pause or a retry.

        Args:
            iteration: The experiment loop's step counter (not the trial's
                ``training_iteration``).
            trials: Every trial of the experiment, in creation order (read only).
            trial: The trial the event is about (read only).
            **info: Keyword arguments later versions may add; accept and ignore them.
        """

    def on_trial_restore(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        """Called when ``trial`` was restored from a checkpoint.

        Args:
            iteration: The experiment loop's step counter (not the trial's
                ``training_iteration``).
            trials: Every trial of the experiment, in creation order (read only).
            trial: The trial the event is about (read only).
            **info: Keyword arguments later versions may add; accept and ignore them.
        """

    def on_trial_save(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        """Called when ``trial`` wrote a checkpoint (then ``on_checkpoint`` follows).

        Args:
            iteration: The experiment loop's step counter (not the trial's
                ``training_iteration``).
            trials: Every trial of the experiment, in creation order (read only).
            trial: The trial the event is about (read only).
            **info: Keyword arguments later versions may add; accept and ignore them.
        """

    def on_trial_result(
        self,
        iteration: int,
        trials: list[Trial],
        trial: Trial,
        result: dict[str, Any],
        **info: Any,
    ) -> None:
        """Called once per result of ``trial``, in the order they were reported.

        Keep it fast: it runs once per result, in the loop that serves every trial.

        Args:
            iteration: The experiment loop's step counter (not the trial's
                ``training_iteration``).
            trials: Every trial of the experiment, in creation order (read only).
            trial: The trial the event is about (read only).
            result: The reported result, with the keys tunelab fills in
                (``training_iteration``, ``time_total_s``, ``config``...). Do not mutate it.
            **info: Keyword arguments later versions may add; accept and ignore them.
        """

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        """Called when ``trial`` finished without error.

        Args:
            iteration: The experiment loop's step counter (not the trial's
                ``training_iteration``).
            trials: Every trial of the experiment, in creation order (read only).
            trial: The trial the event is about (read only).
            **info: Keyword arguments later versions may add; accept and ignore them.
        """

    def on_trial_recover(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        """Called when ``trial`` failed and will be retried (``FailureConfig.max_failures``).

        Args:
            iteration: The experiment loop's step counter (not the trial's
                ``training_iteration``).
            trials: Every trial of the experiment, in creation order (read only).
            trial: The trial the event is about (read only).
            **info: Keyword arguments later versions may add; accept and ignore them.
        """

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        """Called when ``trial`` failed for good (no retries left).

        Args:
            iteration: The experiment loop's step counter (not the trial's
                ``training_iteration``).
            trials: Every trial of the experiment, in creation order (read only).
            trial: The trial the event is about (read only).
            **info: Keyword arguments later versions may add; accept and ignore them.
        """

    def on_checkpoint(
        self,
        iteration: int,
        trials: list[Trial],
        trial: Trial,
        checkpoint: Any,
        **info: Any,
    ) -> None:
        """Called when a checkpoint of ``trial`` was registered.

        Args:
            iteration: The experiment loop's step counter (not the trial's
                ``training_iteration``).
            trials: Every trial of the experiment, in creation order (read only).
            trial: The trial the event is about (read only).
            checkpoint: The registered checkpoint (a :class:`~tunelab.Checkpoint`; its
                ``path`` is the checkpoint directory).
            **info: Keyword arguments later versions may add; accept and ignore them.
        """

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        """Called once when the experiment loop ends, also after an interrupt or an error.

        Args:
            trials: Every trial of the experiment, in creation order (read only).
            **info: Keyword arguments later versions may add; accept and ignore them.
        """

    def get_state(self) -> dict[str, Any] | None:
        """State to keep with the experiment state, for a resume.

        Returns:
            A JSON-safe dict handed back to :meth:`set_state` when the experiment is
            resumed, or ``None`` (the default) to keep nothing.
        """
        return None

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_state` returned in an earlier session.

        Args:
            state: The dict :meth:`get_state` returned before the experiment was
                interrupted.
        """


def _overrides(callback: Callback, hook: str) -> bool:
    return getattr(type(callback), hook) is not getattr(Callback, hook)


def _state_keys(callbacks: Iterable[Callback]) -> list[str]:
    seen: dict[str, int] = {}
    keys = []
    for callback in callbacks:
        cls = type(callback)
        name = f"{cls.__module__}.{cls.__qualname__}"
        count = seen.get(name, 0)
        seen[name] = count + 1
        keys.append(name if count == 0 else f"{name}#{count}")
    return keys


class CallbackList(Callback):
    """Dispatches every hook to many callbacks, in the order they were given.

    Which callbacks override which hook is computed once (when the list is built or
    changed), so a hook no callback overrides costs one empty loop; :meth:`wants` tells the
    controller whether any callback listens to a hook at all (e.g. to skip building
    arguments per result). A callback whose ``results_in_workers`` is true (a default
    logger whose files the workers write, see ``logger/_in_worker.py``) is left out of
    ``on_trial_result``.
    """

    def __init__(self, callbacks: Iterable[Callback] | None = None) -> None:
        self._callbacks: list[Callback] = []
        self._dispatch: dict[str, tuple[Callable[..., Any], ...]] = {}
        for callback in callbacks or ():
            self._check(callback)
            self._callbacks.append(callback)
        self._rebuild()

    @staticmethod
    def _check(callback: Any) -> None:
        if not isinstance(callback, Callback):
            raise TypeError(
                f"callbacks: every callback must be a tunelab Callback instance, got "
                f"{callback!r} ({type(callback).__name__})"
            )

    def rebuild(self) -> None:
        """Work out again which callbacks listen to which hook (after a callback changed
        what it listens to: a logger whose results the workers write)."""
        self._rebuild()

    def _rebuild(self) -> None:
        self._dispatch = {
            hook: tuple(
                getattr(cb, hook)
                for cb in self._callbacks
                if _overrides(cb, hook)
                and not (hook == "on_trial_result" and getattr(cb, "results_in_workers", False))
            )
            for hook in HOOKS
        }
        d = self._dispatch
        self._setup = d["setup"]
        self._step_begin = d["on_step_begin"]
        self._step_end = d["on_step_end"]
        self._rollback = d["on_trial_rollback"]
        self._start = d["on_trial_start"]
        self._restore = d["on_trial_restore"]
        self._save = d["on_trial_save"]
        self._result = d["on_trial_result"]
        self._complete = d["on_trial_complete"]
        self._recover = d["on_trial_recover"]
        self._error = d["on_trial_error"]
        self._checkpoint = d["on_checkpoint"]
        self._end = d["on_experiment_end"]

    # -- the list ------------------------------------------------------------------------
    def append(self, callback: Callback) -> None:
        """Add ``callback`` at the end (the controller adds default loggers this way)."""
        self._check(callback)
        self._callbacks.append(callback)
        self._rebuild()

    @property
    def callbacks(self) -> list[Callback]:
        return list(self._callbacks)

    def __len__(self) -> int:
        return len(self._callbacks)

    def __iter__(self) -> Iterator[Callback]:
        return iter(list(self._callbacks))

    def __repr__(self) -> str:
        return f"CallbackList({self._callbacks!r})"

    # -- hooks ---------------------------------------------------------------------------
    def setup(
        self,
        stop: Any = None,
        num_samples: int | None = None,
        total_num_samples: int | None = None,
        **info: Any,
    ) -> None:
        for hook in self._setup:
            hook(stop=stop, num_samples=num_samples, total_num_samples=total_num_samples, **info)

    def on_step_begin(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        for hook in self._step_begin:
            hook(iteration=iteration, trials=trials, **info)

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        for hook in self._step_end:
            hook(iteration=iteration, trials=trials, **info)

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        for hook in self._start:
            hook(iteration=iteration, trials=trials, trial=trial, **info)

    def on_trial_restore(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        for hook in self._restore:
            hook(iteration=iteration, trials=trials, trial=trial, **info)

    def on_trial_save(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        for hook in self._save:
            hook(iteration=iteration, trials=trials, trial=trial, **info)

    def on_trial_result(
        self,
        iteration: int,
        trials: list[Trial],
        trial: Trial,
        result: dict[str, Any],
        **info: Any,
    ) -> None:
        for hook in self._result:
            hook(iteration=iteration, trials=trials, trial=trial, result=result, **info)

    def on_trial_rollback(
        self, iteration: int, trials: list[Trial], trial: Trial, to_iteration: int, **info: Any
    ) -> None:
        for hook in self._rollback:
            hook(iteration=iteration, trials=trials, trial=trial, to_iteration=to_iteration, **info)

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        for hook in self._complete:
            hook(iteration=iteration, trials=trials, trial=trial, **info)

    def on_trial_recover(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        for hook in self._recover:
            hook(iteration=iteration, trials=trials, trial=trial, **info)

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        for hook in self._error:
            hook(iteration=iteration, trials=trials, trial=trial, **info)

    def on_checkpoint(
        self,
        iteration: int,
        trials: list[Trial],
        trial: Trial,
        checkpoint: Any,
        **info: Any,
    ) -> None:
        for hook in self._checkpoint:
            hook(iteration=iteration, trials=trials, trial=trial, checkpoint=checkpoint, **info)

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        for hook in self._end:
            hook(trials=trials, **info)

    # -- state ---------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any] | None:
        """``{callback key: state}`` for every callback whose ``get_state`` is not None.

        Keys are the callbacks' qualified class names (``#n`` for the n-th repeat of a class),
        so states still find their owner when callbacks are added later.
        """
        states = {}
        for key, callback in zip(_state_keys(self._callbacks), self._callbacks):
            state = callback.get_state()
            if state is not None:
                states[key] = state
        return states or None

    def set_state(self, state: dict[str, Any]) -> None:
        for key, callback in zip(_state_keys(self._callbacks), self._callbacks):
            if key in state:
                callback.set_state(state[key])
