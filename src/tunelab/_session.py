"""The in-trial API: what a trainable calls while tunelab runs it.

Every generation's spelling maps onto one :class:`TrialSession` held in a module global of
the worker process running the trial:

* ``session.report(metrics, checkpoint=None)`` / ``tune.report(metrics)`` /
  ``tune.report(**kw)`` / ``tune.report(0.5)`` (-> ``_metric``) / ``track.log(**kw)`` /
  ``reporter(**kw)``;
* ``get_checkpoint()``, ``checkpoint_dir(step)``;
* ``get_trial_name/id/dir/resources()``, ``get_context()``.

``report`` may raise :class:`tunelab._errors.StopTrial` when the controller decided that the
trial ends; trainables should let it propagate.

A process forked inside a trial (``os.fork``, ``multiprocessing`` with the fork start
method) still sees the trial's context (``get_trial_dir()``...), but its ``report`` raises
``RuntimeError``: only the trial's own process reports for it.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tunelab._resources import PlacementGroupFactory
from tunelab.trainable._progress import IterationState

if TYPE_CHECKING:
    from tunelab._checkpoint import Checkpoint

__all__ = [
    "TrialSession",
    "TuneContext",
    "checkpoint_dir",
    "get_checkpoint",
    "get_context",
    "get_trial_dir",
    "get_trial_id",
    "get_trial_name",
    "get_trial_resources",
    "is_session_enabled",
    "report",
]


class TuneContext:
    """Facts about the running trial (``tune.get_context()``)."""

    def __init__(
        self,
        *,
        experiment_name: str = "",
        trial_name: str = "default",
        trial_id: str = "default",
        trial_dir: str = "",
        trial_resources: PlacementGroupFactory | None = None,
        storage_path: str = "",
    ) -> None:
        self._experiment_name = experiment_name
        self._trial_name = trial_name
        self._trial_id = trial_id
        self._trial_dir = trial_dir
        self._trial_resources = trial_resources or PlacementGroupFactory([{"CPU": 1}])
        self._storage_path = storage_path

    def get_experiment_name(self) -> str:
        return self._experiment_name

    def get_trial_name(self) -> str:
        return self._trial_name

    def get_trial_id(self) -> str:
        return self._trial_id

    def get_trial_dir(self) -> str:
        return self._trial_dir

    def get_trial_resources(self) -> PlacementGroupFactory:
        return self._trial_resources

    def get_storage(self) -> str:
        return self._storage_path

    def get_checkpoint(self) -> Checkpoint | None:
        return get_checkpoint()

    def get_metadata(self) -> dict[str, Any]:
        return {}

    def get_world_size(self) -> int:
        return 1

    def get_world_rank(self) -> int:
        return 0

    def get_local_rank(self) -> int:
        return 0

    def get_local_world_size(self) -> int:
        return 1

    def get_node_rank(self) -> int:
        return 0


Sink = Callable[[dict[str, Any], "Checkpoint | None"], None]


class TrialSession:
    """The state behind the in-trial API for one trial in one worker.

    ``sink(result, checkpoint)`` receives every filled-in result (and the checkpoint reported
    with it); the worker provides it and may raise ``StopTrial`` from it.
    """

    def __init__(
        self,
        context: TuneContext,
        sink: Sink,
        *,
        checkpoint: Checkpoint | None = None,
        iteration_state: IterationState | None = None,
    ) -> None:
        self.context = context
        self.sink = sink
        self.checkpoint = checkpoint
        self.state = iteration_state or IterationState(context.get_trial_id())
        self.pending_checkpoint_dir: str | None = None
        self.forked = False  # True in a process forked while the trial ran
        self.end_hooks: list[Callable[[], None]] = []
        _live_sessions.add(self)

    def at_end(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` when this trial's session ends in its worker (the session is
        replaced or cleared), before tunelab ends the processes the trial started; hooks
        run last-added first, and one that raises is logged, not raised. Integrations
        close what a trial opened this way (a worker process outlives its trials)."""
        self.end_hooks.append(hook)

    def run_end_hooks(self) -> None:
        hooks, self.end_hooks = self.end_hooks, []
        for hook in reversed(hooks):
            try:
                hook()
            except Exception:
                import logging

                logging.getLogger("tunelab").warning(
                    "tunelab: a trial-end hook failed: %r", hook, exc_info=True
                )

    def report(self, metrics: dict[str, Any], checkpoint: Checkpoint | None = None) -> None:
        if self.forked:
            raise RuntimeError(
                "tunelab: report() was called in a process forked inside trial "
                f"{self.context.get_trial_id()}; only the trial's own process can report "
                "(nothing was sent). Report from the parent process."
            )
        if checkpoint is None and self.pending_checkpoint_dir is not None:
            from tunelab._checkpoint import Checkpoint

            checkpoint = Checkpoint.from_directory(self.pending_checkpoint_dir)
            self.pending_checkpoint_dir = None
        result = self.state.fill(metrics)
        self.sink(result, checkpoint)


_process_session: TrialSession | None = None
_thread_sessions = threading.local()
_warned_outside = False
_live_sessions: weakref.WeakSet[TrialSession] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for session in list(_live_sessions):
        session.forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _safe_repr(value: Any) -> str:
    """``repr(value)`` for messages; names the type when ``repr`` itself raises."""
    try:
        return repr(value)
    except BaseException:
        return f"<{type(value).__name__} object (repr() failed)>"


def _set_session(session: TrialSession | None, *, thread_local: bool = False) -> None:
    """Install the session of the trial this process (or, in-process, this thread) runs;
    the session it replaces runs its end hooks (:meth:`TrialSession.at_end`)."""
    global _process_session
    if thread_local:
        previous = getattr(_thread_sessions, "session", None)
        _thread_sessions.session = session
    else:
        previous = _process_session
        _process_session = session
    if previous is not None and previous is not session:
        run_end_hooks = getattr(previous, "run_end_hooks", None)
        if run_end_hooks is not None and not getattr(previous, "forked", False):
            run_end_hooks()


def _get_session() -> TrialSession | None:
    return getattr(_thread_sessions, "session", None) or _process_session


def _outside(name: str) -> None:
    global _warned_outside
    if not _warned_outside:
        _warned_outside = True
        warnings.warn(
            f"tunelab: {name}() was called outside a tunelab trial; it does nothing here. "
            "Run the function through tunelab.Tuner(...).fit() or tunelab.run(...).",
            stacklevel=3,
        )


def _normalise_metrics(metrics: Any, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    if metrics is None:
        out: dict[str, Any] = {}
    elif isinstance(metrics, Mapping):
        out = dict(metrics)
    elif isinstance(metrics, numbers.Number) and not isinstance(metrics, bool):
        out = {"_metric": metrics}
    else:
        raise TypeError(
            "report: metrics must be a dict of metric values (or a single number, reported "
            f"as '_metric'), got {type(metrics).__name__}: {_safe_repr(metrics)}"
        )
    if kwargs:
        out.update(kwargs)
    return out


def report(metrics: Any = None, *, checkpoint: Checkpoint | None = None, **kwargs: Any) -> None:
    """Report one iteration's metrics (and optionally a checkpoint) to tunelab.

    Accepts ``report({"loss": 0.1})``, ``report(loss=0.1)``, ``report(0.1)`` (``_metric``)
    and ``report(_metric=0.1)``. Each call is one ``training_iteration``.
    """
    session = _get_session()
    values = _normalise_metrics(metrics, kwargs)
    if session is None:
        _outside("report")
        return
    session.report(values, checkpoint)


def get_checkpoint() -> Checkpoint | None:
    """The latest checkpoint of this trial (to resume from), or None."""
    session = _get_session()
    if session is None:
        return None
    return session.checkpoint


@contextlib.contextmanager
def checkpoint_dir(step: int | None = None) -> Iterator[str]:
    """0.8-style checkpointing: write files into the yielded directory, then ``report``.

    The directory becomes the checkpoint attached to the next reported result.
    """
    session = _get_session()
    if session is None:
        import tempfile

        _outside("checkpoint_dir")
        with tempfile.TemporaryDirectory() as tmp:
            yield tmp
        return
    path = new_checkpoint_dir(session, step)
    yield path
    session.pending_checkpoint_dir = path


def new_checkpoint_dir(session: TrialSession, step: int | None = None) -> str:
    """Create (if needed) and return the directory for the checkpoint of ``step`` (default:
    the iteration reported last) inside the trial directory. A checkpoint made there is
    moved, not copied, when it is attached to a result."""
    number = step if step is not None else session.state.iteration
    path = os.path.join(session.context.get_trial_dir(), f"checkpoint_tmp_{int(number):06d}")
    os.makedirs(path, exist_ok=True)
    return path


def get_context() -> TuneContext:
    session = _get_session()
    return session.context if session is not None else TuneContext()


def get_trial_name() -> str:
    return get_context().get_trial_name()


def get_trial_id() -> str:
    return get_context().get_trial_id()


def get_trial_dir() -> str:
    return get_context().get_trial_dir()


def get_trial_resources() -> PlacementGroupFactory:
    return get_context().get_trial_resources()


def get_experiment_name() -> str:
    return get_context().get_experiment_name()


def is_session_enabled() -> bool:
    return _get_session() is not None


class StatusReporter:
    """The ``reporter`` handed to 0.x ``f(config, reporter)`` trainables."""

    def __call__(self, _metric: Any = None, **kwargs: Any) -> None:
        report(_metric, **kwargs)

    @property
    def logdir(self) -> str:
        return get_trial_dir()

    @property
    def trial_name(self) -> str:
        return get_trial_name()

    @property
    def trial_id(self) -> str:
        return get_trial_id()

    @property
    def trial_resources(self) -> PlacementGroupFactory:
        return get_trial_resources()
