"""Commands from HTTP requests to a running experiment.

The server never touches controller state from its threads. A :class:`ControllerCommands`
wraps each command in a function handed to ``controller.enqueue``; the controller's loop
runs it on its own thread at its next step (at least every 0.1 s) and the request thread
waits for the outcome through a :class:`concurrent.futures.Future`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from tunelab.server._state import ServerCallback

__all__ = [
    "MAX_TRIALS_PER_REQUEST",
    "CommandError",
    "Commands",
    "ControllerCommands",
    "ControllerLike",
    "check_trial_spec",
]

logger = logging.getLogger("tunelab.server")

T = TypeVar("T")


#: The most trials one ``POST /trials`` may add (``num_samples`` x grid combinations).
MAX_TRIALS_PER_REQUEST = 1000


class CommandError(Exception):
    """A command from the REST API could not be applied.

    The server answers ``{"error": message, "key": key}`` with ``status``.

    Args:
        status: The HTTP status to answer with (400, 404, 409, 503, ...).
        message: What went wrong, for the answer's ``error``.
        key: The key path of the offending value in the request's spec (``"config/lr"``),
            when known; None otherwise.
    """

    def __init__(self, status: int, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.key = key


def check_trial_spec(spec: Any) -> None:
    """Refuse (:class:`CommandError` 400, naming the key) a trial spec from the network that
    holds code (``{"eval": ...}``), nests deeper than
    :data:`~tunelab.search._resolve.MAX_UNTRUSTED_DEPTH` levels, or would add more than
    :data:`MAX_TRIALS_PER_REQUEST` trials. The controller checks the code part again where
    the spec is resolved (``add_trials_from_spec(..., trusted=False)``); this check answers
    before the request reaches the controller's loop."""
    from tunelab.search._common import is_unresolved
    from tunelab.search._resolve import UntrustedSpecError, check_data_only, count_grid_variants

    if not isinstance(spec, dict):
        raise CommandError(400, f"the spec must be a JSON object, got {type(spec).__name__}")
    try:
        check_data_only(spec, source="a trial spec from the REST API")
    except UntrustedSpecError as exc:
        raise CommandError(400, f"cannot add trials: {exc}", exc.path) from None
    problem = _unusable_value(spec)
    if problem is not None:
        raise CommandError(400, f"cannot add trials: {problem[0]}: {problem[1]}", problem[0])
    config = spec.get("config", {})
    if not isinstance(config, dict) or is_unresolved(config):
        raise CommandError(
            400,
            f"cannot add trials: config must be a JSON object of values, got {config!r:.200}",
            "config",
        )
    num_samples = spec.get("num_samples", 1)
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise CommandError(
            400,
            f"cannot add trials: num_samples must be an int >= 1, got {num_samples!r:.100}",
            "num_samples",
        )
    try:
        variants = count_grid_variants(config)
    except (ValueError, TypeError) as exc:
        raise CommandError(400, f"cannot add trials: {exc}", "config") from None
    if variants * num_samples > MAX_TRIALS_PER_REQUEST:
        raise CommandError(
            400,
            f"cannot add trials: the spec expands to {variants} grid combination(s) x "
            f"num_samples={num_samples}, over the {MAX_TRIALS_PER_REQUEST} trials one request "
            "may add",
            "num_samples" if variants == 1 else "config",
        )


class Commands(Protocol):
    """What the server may ask of a running experiment (called from request threads).

    :class:`ControllerCommands` implements it for tunelab's controller; a
    :class:`TuneServer` built with ``commands=None`` is read-only.
    """

    def stop_trial(self, trial_id: str) -> None:
        """Stop one trial.

        Args:
            trial_id: The trial's id.

        Raises:
            CommandError: Status 404 for an unknown id (or another status when the command
                cannot be applied).
        """

    def stop_experiment(self) -> None:
        """Stop the experiment: no new trials start, running ones are stopped.

        Raises:
            CommandError: When the command cannot be applied (409, 503).
        """

    def add_trials(self, name: str, spec: dict[str, Any]) -> list[str]:
        """Add trials expanded from ``spec``.

        Args:
            name: The experiment's name.
            spec: ``{"config": {...}, "num_samples": n, "run": name}``, data only.

        Returns:
            The new trial ids.

        Raises:
            CommandError: Status 400 for a refused spec (or another status when the command
                cannot be applied).
        """


class ControllerLike(Protocol):
    """The controller methods the commands use. ``enqueue`` is the only one called from a
    request thread; the others run inside enqueued functions, on the loop's thread."""

    def enqueue(self, command: Callable[[], None]) -> None: ...

    def stop_trial(self, trial_id: str) -> None: ...

    def request_stop_experiment(self) -> None: ...

    def add_trials_from_spec(self, name: str, spec: dict[str, Any]) -> list[str]:
        """Expand ``spec`` as *untrusted* (it came from the network): the controller's
        ``TrialFactory.expand_spec`` does so by default (``trusted=False``) and refuses code
        in it with ``UntrustedSpecError``."""
        ...


#: Integers a spec may hold: what a 64-bit signed integer holds (JSON readers, loggers and
#: TensorBoard convert numbers to doubles or int64; bigger ones break them).
_INT_RANGE = (-(2**63), 2**63 - 1)


def _unusable_value(spec: dict[str, Any]) -> tuple[str, str] | None:
    """The key path and reason of the first value of ``spec`` that parses as JSON but that
    the rest of tunelab cannot handle as data: text that is not valid Unicode (lone
    surrogates from ``"\\ud800"`` escapes) and integers beyond 64 bits."""
    stack: list[tuple[str, Any]] = [("", spec)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                here = f"{path}/{key}" if path else str(key)
                if isinstance(key, str) and not _is_unicode(key):
                    return here, "a key that is not valid Unicode text (a lone surrogate)"
                stack.append((here, value))
        elif isinstance(node, list):
            stack.extend((f"{path}/{index}", value) for index, value in enumerate(node))
        elif isinstance(node, str) and not _is_unicode(node):
            return path, "text that is not valid Unicode (a lone surrogate)"
        elif (
            isinstance(node, int)
            and not isinstance(node, bool)
            and not _INT_RANGE[0] <= node <= _INT_RANGE[1]
        ):
            return path, "an integer beyond 64 bits"
    return None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class ControllerCommands:
    """:class:`Commands` applied by a controller's loop.

    Args:
        controller: The controller; its ``enqueue`` is the only method called from a
            request thread, the others run on the loop's thread.
        callback: The experiment's :class:`ServerCallback`: it tells when the experiment
            has ended (commands then fail with 409 instead of waiting) and lets new trials
            appear in the server's store before the request returns. None: neither.
        timeout_s: Seconds a command waits for the loop (> 0); after that the request gets
            503 and the command is cancelled (it never runs).

    Raises:
        TypeError: ``controller`` has no ``enqueue`` method or ``timeout_s`` is not a
            number.
        ValueError: ``timeout_s`` is not positive.
    """

    def __init__(
        self,
        controller: ControllerLike,
        callback: ServerCallback | None = None,
        *,
        timeout_s: float = 10.0,
    ) -> None:
        if not callable(getattr(controller, "enqueue", None)):
            raise TypeError(f"controller must have an enqueue(fn) method, got {controller!r}")
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)):
            raise TypeError(f"timeout_s must be a number of seconds, got {timeout_s!r}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        self._controller = controller
        self._callback = callback
        self._timeout = float(timeout_s)

    def _finished(self) -> bool:
        return self._callback is not None and self._callback.store.finished.is_set()

    def _call(self, fn: Callable[[], T]) -> T:
        if self._finished():
            raise CommandError(409, "the experiment has finished; it takes no more commands")
        future: Future[T] = Future()

        def command() -> None:
            if not future.set_running_or_notify_cancel():
                return  # the request gave up waiting: do nothing
            try:
                future.set_result(fn())
            except Exception as exc:
                future.set_exception(exc)

        self._controller.enqueue(command)
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                return future.result(timeout=0.05)
            except FutureTimeout:
                pass
            except CancelledError:
                break
            if self._finished() and future.cancel():
                raise CommandError(409, "the experiment finished before the command ran")
            if time.monotonic() >= deadline and future.cancel():
                raise CommandError(
                    503, f"the experiment's loop did not run the command within {self._timeout} s"
                )
        raise CommandError(503, "the command was cancelled")

    def stop_trial(self, trial_id: str) -> None:
        controller = self._controller
        try:
            self._call(lambda: controller.stop_trial(trial_id))
        except KeyError:
            raise CommandError(404, f"no trial with id {trial_id!r}") from None

    def stop_experiment(self) -> None:
        controller = self._controller
        callback = self._callback

        def stop() -> None:
            controller.request_stop_experiment()
            if callback is None:
                return
            # on the loop's thread the store's RUNNING set is exact: on_trial_start ran
            for trial_id in callback.store.trial_ids("RUNNING"):
                try:
                    controller.stop_trial(trial_id)
                except KeyError:
                    logger.debug("stop_experiment: trial %s vanished", trial_id)

        self._call(stop)

    def add_trials(self, name: str, spec: dict[str, Any]) -> list[str]:
        controller = self._controller
        callback = self._callback

        def add() -> list[str]:
            ids = list(controller.add_trials_from_spec(name, spec))
            trials = getattr(controller, "trials", None)
            if callback is not None and isinstance(trials, list):
                callback.sync_all(trials)
            return ids

        from tunelab.search._resolve import UntrustedSpecError

        try:
            return self._call(add)
        except UntrustedSpecError as exc:
            raise CommandError(400, f"cannot add trials: {exc}", exc.path or None) from None
        except (ValueError, TypeError, RecursionError) as exc:
            raise CommandError(400, f"cannot add trials: {exc}") from None
