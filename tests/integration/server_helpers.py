"""Helpers shared by the server tests: a live experiment with its server, run by the real
controller in a background thread, and small trainables that run until stopped."""

from __future__ import annotations

import contextlib
import os
import threading
import time

import tunelab as tune
from tunelab._core import controller as _controller_module
from tunelab._core.controller import Controller
from tunelab.air import session
from tunelab.server import TuneClient, server_callback, start_server_for


def wait_for(predicate, timeout=30.0, interval=0.02, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


def endless(config):
    """Reports every ``config["sleep"]`` seconds until stopped (at most 5,000 times)."""
    for i in range(5000):
        session.report({"loss": config["x"] / (i + 1), "score": config["x"] * (i + 1)})
        time.sleep(config.get("sleep", 0.02))


class ServedController(Controller):
    """The real controller with a server attached, as ``with_server=True`` will wire it."""

    last: ServedController | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.server_cb = server_callback(metric=kwargs.get("metric"), mode=kwargs.get("mode"))
        kwargs["callbacks"].append(self.server_cb)
        self.server = None
        self.ready = threading.Event()
        ServedController.last = self

    def run(self):
        path = self._runtimes[0].experiment.experiment_path
        self.server = start_server_for(self, path, 0, callback=self.server_cb)
        self.ready.set()
        try:
            return super().run()
        finally:
            self.server.stop()


class LiveExperiment:
    """``tune.run`` in a background thread; ``client`` talks to its server."""

    def __init__(self, thread, outcome, client, server, experiment_path):
        self.thread = thread
        self.outcome = outcome
        self.client = client
        self.server = server
        self.experiment_path = experiment_path

    @property
    def running(self):
        return self.thread.is_alive()

    def trials(self):
        return {t["id"]: t for t in self.client.get_all_trials()["trials"]}

    def finish(self, timeout=60):
        with contextlib.suppress(Exception):
            self.client.stop_experiment()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the experiment did not end"
        if "error" in self.outcome:
            raise self.outcome["error"]
        return self.outcome.get("analysis")


@contextlib.contextmanager
def live_experiment(tmp_path, monkeypatch, *, wiring="patched", executor=None, **run_kwargs):
    """Start ``tune.run(endless, ...)`` with a server and yield a :class:`LiveExperiment`.

    ``wiring="patched"`` attaches the server to the real controller through
    :class:`ServedController`; ``wiring="with_server"`` uses ``tune.run(with_server=True,
    server_port=0)`` and finds the server through the files it writes.
    """
    name = run_kwargs.pop("name", "live")
    kwargs = dict(
        config={"x": tune.grid_search([1.0, 2.0]), "sleep": 0.02},
        name=name,
        storage_path=str(tmp_path),
        verbose=0,
        raise_on_failed_trial=False,
        metric="loss",
        mode="min",
    )
    if executor is not None:
        kwargs["executor"] = executor
    kwargs.update(run_kwargs)
    trainable = kwargs.pop("trainable", endless)
    experiment_path = os.path.join(str(tmp_path), name)
    if wiring == "patched":
        # the front door imports the class from its module when the run starts
        monkeypatch.setattr(_controller_module, "Controller", ServedController)
        ServedController.last = None
    else:
        kwargs.update(with_server=True, server_port=0)
    outcome: dict = {}

    def target():
        try:
            outcome["analysis"] = tune.run(trainable, **kwargs)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="live-experiment", daemon=True)
    thread.start()
    if wiring == "patched":
        controller = wait_for(lambda: ServedController.last, message="the controller")
        wait_for(lambda: controller.ready.is_set() or not thread.is_alive(), message="server")
        if not thread.is_alive():
            raise outcome.get("error") or AssertionError("the experiment ended at once")
        server = controller.server
        client = TuneClient("127.0.0.1", server.port, token=server.token)
    else:
        address_file = os.path.join(experiment_path, ".tunelab_server_address")
        wait_for(lambda: os.path.exists(address_file) or not thread.is_alive(), message="address")
        if not thread.is_alive():
            raise outcome.get("error") or AssertionError("the experiment ended at once")
        server = None
        client = wait_for(lambda: _client_for(experiment_path), message="the server files")
    live = LiveExperiment(thread, outcome, client, server, experiment_path)
    try:
        yield live
    finally:
        if thread.is_alive():
            with contextlib.suppress(Exception):
                live.client.stop_experiment()
            thread.join(60)


def _client_for(experiment_path):
    try:
        return TuneClient.for_experiment(experiment_path)
    except ValueError:
        return None
