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
    """Facts about the running trial, as :func:`tunelab.get_context` returns them.

    Ray 2.x's ``TuneContext`` (and ``TrainContext``: ``tunelab.train.TrainContext`` is this
    class). Inside a trial every getter describes that trial; outside one,
    :func:`~tunelab.get_context` returns a context with the defaults below. The rank and
    world-size getters exist for code written for Ray Train: a tunelab trial is always one
    process, so they return 0 and 1.

    Example::

        def train(config):
            context = tune.get_context()
            print(context.get_trial_name(), context.get_trial_dir())
            tune.report({"loss": 0.0})

    Args:
        experiment_name: The experiment's name. Default ``""``.
        trial_name: The trial's name. Default ``"default"``.
        trial_id: The trial's id. Default ``"default"``.
        trial_dir: The trial's directory. Default ``""``.
        trial_resources: The trial's resources. None: 1 CPU.
        storage_path: The experiment's results root. Default ``""``.

    The constructor is called by tunelab; trainables only read a context.
    """

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
        """The experiment's name (the name of its directory under the results root)."""
        return self._experiment_name

    def get_trial_name(self) -> str:
        """The trial's name (``str(trial)``: ``<trainable>_<trial_id>`` unless a
        ``trial_name_creator`` named it); ``"default"`` outside a trial."""
        return self._trial_name

    def get_trial_id(self) -> str:
        """The trial's id, unique in its experiment (such as ``"a1b2c_00003"``);
        ``"default"`` outside a trial."""
        return self._trial_id

    def get_trial_dir(self) -> str:
        """The trial's local directory, where its results and checkpoints are written (and
        the working directory of the trial unless ``chdir_to_trial_dir=False``); ``""``
        outside a trial."""
        return self._trial_dir

    def get_trial_resources(self) -> PlacementGroupFactory:
        """What the trial reserved from the executor, as a
        :class:`~tunelab.PlacementGroupFactory` (1 CPU outside a trial)."""
        return self._trial_resources

    def get_storage(self) -> str:
        """The experiment's results root as a string (the local staging root when the
        experiment is stored at a URI). Ray returns a ``StorageContext`` object here."""
        return self._storage_path

    def get_checkpoint(self) -> Checkpoint | None:
        """The trial's latest checkpoint, as :func:`tunelab.get_checkpoint`."""
        return get_checkpoint()

    def get_metadata(self) -> dict[str, Any]:
        """Ray Train's user metadata: always an empty dict here."""
        return {}

    def get_world_size(self) -> int:
        """Ray Train's number of workers: always 1 (a trial is one process)."""
        return 1

    def get_world_rank(self) -> int:
        """Ray Train's rank of this worker: always 0."""
        return 0

    def get_local_rank(self) -> int:
        """Ray Train's rank of this worker on its node: always 0."""
        return 0

    def get_local_world_size(self) -> int:
        """Ray Train's number of workers on this node: always 1."""
        return 1

    def get_node_rank(self) -> int:
        """Ray Train's rank of this node: always 0."""
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
    """Report one iteration's metrics, and optionally a checkpoint, from inside a trial.

    The one reporting call of every generation: ``tune.report(loss=0.1)`` (1.x keyword
    form), ``tune.report({"loss": 0.1})`` and ``session.report({"loss": 0.1},
    checkpoint=...)`` (2.x), ``tune.report(0.1)`` (reported as ``_metric``), 0.x's
    ``reporter(loss=0.1)`` and ``track.log(loss=0.1)`` all end here;
    ``tunelab.train.report`` checks its arguments more strictly and then does the same.

    Each call is one result, one ``training_iteration``. tunelab adds the keys it fills
    in (unless the metrics hold them already): ``training_iteration``,
    ``time_this_iter_s``, ``time_total_s``, ``timestamp``, ``date``, ``done``,
    ``trial_id``, ``pid``, ``hostname``, ``node_ip``, ``iterations_since_restore`` and
    ``time_since_restore``. The result then goes to the stop criteria, the scheduler, the
    searcher, the loggers and the progress table.

    A checkpoint given with the result is stored in the trial directory as
    ``checkpoint_<iteration>`` before this call returns (a directory made by
    :func:`tunelab.checkpoint_dir` or by tunelab is moved there, any other directory is
    copied, so it may be deleted afterwards), and becomes the one :func:`get_checkpoint`
    returns and the trial restarts from. ``CheckpointConfig`` decides how many are kept.

    When tunelab has decided that the trial ends (a stop criterion, the scheduler, the end
    of the experiment), this call raises a control-flow exception that derives from
    ``BaseException``: let it propagate (``except Exception`` does not catch it). Outside a
    trial, the call only warns once (a ``UserWarning``) and does nothing.

    Example::

        def train(config):
            start = 0
            checkpoint = tune.get_checkpoint()
            if checkpoint is not None:
                start = checkpoint.to_dict()["step"] + 1
            for step in range(start, 10):
                loss = config["lr"] / (step + 1)
                tune.report({"loss": loss}, checkpoint=tune.Checkpoint.from_dict({"step": step}))

    Args:
        metrics: The metrics: a dict of result key to value (values may be nested dicts;
            they must be picklable), or a single number, reported as ``_metric``. None:
            only the keyword metrics.
        checkpoint: A :class:`~tunelab.Checkpoint` to store with this result (2.x). None:
            no checkpoint, unless files were written into a
            :func:`tunelab.checkpoint_dir` directory since the last report, which is then
            attached.
        **kwargs: Metrics given as keyword arguments (0.x-1.x), merged over ``metrics``.

    Raises:
        TypeError: ``metrics`` is neither a dict, a number nor None.
        RuntimeError: The call comes from a process forked inside the trial; only the
            trial's own process can report.
        ResultNotSerializable: An earlier result held a value that could not be sent to
            the driver; the trial ends with this error.
    """
    session = _get_session()
    values = _normalise_metrics(metrics, kwargs)
    if session is None:
        _outside("report")
        return
    session.report(values, checkpoint)


def get_checkpoint() -> Checkpoint | None:
    """The trial's latest checkpoint: the one to resume from, or None.

    When a trial starts, this is the checkpoint it should resume from: the one it saved
    before it failed, was paused or was interrupted (or the ``restore=`` checkpoint of
    ``tune.run``), or None for a fresh start. After each :func:`report` with a checkpoint,
    it is that checkpoint. Outside a trial: None.

    Returns:
        A :class:`~tunelab.Checkpoint` (a directory in the trial's storage; read it with
        ``to_directory()``, ``as_directory()`` or ``to_dict()``), or None.

    :rtype: ~tunelab.Checkpoint | None
    """
    session = _get_session()
    if session is None:
        return None
    return session.checkpoint


@contextlib.contextmanager
def checkpoint_dir(step: int | None = None) -> Iterator[str]:
    """Ray 1.x's function-API checkpointing: a directory to write a checkpoint into.

    Use it as ``with tune.checkpoint_dir(step=step) as directory:``, write the checkpoint's
    files into ``directory``, then call :func:`report`: the directory becomes the checkpoint
    attached to that result (moved to ``checkpoint_<iteration>`` in the trial directory). A
    trainable written for 1.x takes a ``checkpoint_dir`` argument, which holds the directory
    to restore from when the trial resumes. Outside a trial, the block gets a temporary
    directory that is deleted afterwards (with a one-time warning).

    Example::

        def train(config, checkpoint_dir=None):
            start = 0
            if checkpoint_dir:
                with open(os.path.join(checkpoint_dir, "step")) as f:
                    start = int(f.read()) + 1
            for step in range(start, 10):
                with tune.checkpoint_dir(step=step) as directory:
                    with open(os.path.join(directory, "step"), "w") as f:
                        f.write(str(step))
                tune.report(loss=1 / (step + 1))

    Args:
        step: Names the directory (``checkpoint_tmp_<step>`` until it is attached). None:
            the iteration reported last.

    Yields:
        The path of the directory to write into.
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
    """The running trial's :class:`TuneContext` (2.x: name, id, directory, resources...).

    Outside a trial, a context holding the defaults (``"default"`` name and id, empty
    directory, 1 CPU).
    """
    session = _get_session()
    return session.context if session is not None else TuneContext()


def get_trial_name() -> str:
    """The running trial's name (1.x; 2.x: ``get_context().get_trial_name()``);
    ``"default"`` outside a trial."""
    return get_context().get_trial_name()


def get_trial_id() -> str:
    """The running trial's id (1.x; 2.x: ``get_context().get_trial_id()``); ``"default"``
    outside a trial."""
    return get_context().get_trial_id()


def get_trial_dir() -> str:
    """The running trial's directory (1.x; 2.x: ``get_context().get_trial_dir()``): write
    the files the trial produces there. ``""`` outside a trial."""
    return get_context().get_trial_dir()


def get_trial_resources() -> PlacementGroupFactory:
    """What the running trial reserved, as a :class:`~tunelab.PlacementGroupFactory` (1.x;
    2.x: ``get_context().get_trial_resources()``); 1 CPU outside a trial. The GPUs it was
    given are the ones in ``CUDA_VISIBLE_DEVICES`` (see :func:`tunelab.get_gpu_ids`)."""
    return get_context().get_trial_resources()


def get_experiment_name() -> str:
    """The running trial's experiment name (``session.get_experiment_name()``, 2.0-2.6);
    ``""`` outside a trial."""
    return get_context().get_experiment_name()


def is_session_enabled() -> bool:
    """Whether this code runs inside a tunelab trial (1.x), so that :func:`report` and the
    getters mean something. Also True after Ray 1.x's ``session.init(reporter)``."""
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
