"""Watch and steer a running experiment: the dashboard and TuneClient

An experiment started with `RunConfig(server_port=...)` (or `tune.run(...,
with_server=True, server_port=...)`) serves a small REST API and a live dashboard from
the driver, on 127.0.0.1. Every request needs the experiment's random token: the server
writes it to `<experiment dir>/.tunelab_server_token` (readable by you only) and its
address to `<experiment dir>/.tunelab_server_address`; with `verbose` >= 1 tunelab also
prints the dashboard's URL with the token in it. Port 0 picks a free port; Ray Tune's
default is 4321.

The driver here runs the experiment in the main thread, as any script would. A second
thread plays the part of you (or of another program) talking to it with
{class}`tunelab.server.TuneClient`:

1. `TuneClient.for_experiment(path)` reads the address and token from the experiment
   directory (`TuneClient("127.0.0.1", port, token=...)` works too);
2. `get_experiment()` and `get_all_trials()` show the experiment, then each trial's
   status, iteration and latest loss, while the trials run;
3. `stop_trial(trial_id)` stops the trial with the worst loss; it ends as `TERMINATED`
   with the results it had, and its CPU goes to the next trial;
4. `add_trial(name, {"config": {...}})` adds a trial with a config chosen from what the
   API showed (the spec is data: values, lists, dicts and `grid_search`, never code);
5. with `--smoke-test`, `stop_experiment()` ends the run early; without it, the thread
   keeps printing a progress line until the trials finish, which leaves you a few minutes
   to open the dashboard.

To watch it in a browser, open the URL the script prints (`http://127.0.0.1:<port>/?token=
...`): the page shows the best trial so far, the learning curves, the parameters against
the metric and the trials table, updated live, with buttons to stop a trial or the whole
experiment. On a remote machine, forward the port first (`ssh -L 4321:127.0.0.1:4321
host`, then run the script with `--port 4321`). `tunelab dashboard <experiment dir>`
serves the same page, read-only, for an experiment on disk, finished or not.
"""

from __future__ import annotations

import argparse
import math
import os
import threading
import time
from typing import Any

import tunelab as tune
from tunelab import train
from tunelab.server import TuneClient, TuneClientError, read_token


def learning_curve(config: dict[str, Any]) -> None:
    """A toy trainable: a loss that falls at a rate set by ``lr`` towards a floor."""
    for step in range(1, config["steps"] + 1):
        time.sleep(config["seconds_per_step"])  # stands in for real work
        floor = 0.1 + abs(math.log10(config["lr"]) + 1.5) / 4
        loss = floor + (1 - floor) * math.exp(-config["lr"] * 20 * step / config["steps"])
        train.report({"loss": loss})


def wait_for(what: str, check: Any, timeout_s: float = 60.0) -> Any:
    """Poll ``check()`` until it returns something true; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


def show(trials: list[dict[str, Any]]) -> None:
    for info in sorted(trials, key=lambda t: t["id"]):
        loss = info["metrics"].get("loss")
        shown = "-" if loss is None else f"{loss:.4f}"
        print(
            f"    {info['id']}  {info['status']:<10} lr={info['config']['lr']:<8.4g} "
            f"iteration {info['iterations']:<4} loss {shown}"
        )


def operate(experiment_path: str, smoke_test: bool, log: list[str]) -> None:
    """What a user (or another program) does with the API while the experiment runs."""
    address_file = os.path.join(experiment_path, ".tunelab_server_address")
    wait_for("the server to start", lambda: os.path.exists(address_file))
    client = TuneClient.for_experiment(experiment_path)
    token = read_token(experiment_path)
    print(f"[client] dashboard: {client.base_url}/?token={token}", flush=True)
    experiment = client.get_experiment()
    print(
        f"[client] get_experiment(): name={experiment['name']!r}, "
        f"metric={experiment['metric']!r}, mode={experiment['mode']!r}",
        flush=True,
    )

    def running_with_results() -> list[dict[str, Any]] | None:
        trials = client.get_all_trials()["trials"]
        running = [t for t in trials if t["status"] == "RUNNING" and t["iterations"] >= 3]
        return trials if len(running) >= min(2, os.cpu_count() or 1) else None

    trials = wait_for("running trials with results", running_with_results)
    print("[client] get_all_trials():", flush=True)
    show(trials)

    reporting = [t for t in trials if "loss" in t["metrics"] and t["status"] == "RUNNING"]
    worst = max(reporting, key=lambda t: t["metrics"]["loss"])
    best = min(reporting, key=lambda t: t["metrics"]["loss"])
    client.stop_trial(worst["id"])
    print(f"[client] stop_trial({worst['id']!r}): its loss was the worst", flush=True)
    wait_for(
        "the stopped trial to end",
        lambda: client.get_trial(worst["id"])["trial"]["status"] == "TERMINATED",
    )
    log.append(f"stop_trial: {worst['id']} (lr={worst['config']['lr']:.4g}) was stopped")

    config = dict(best["config"], lr=round(best["config"]["lr"] * 1.3, 5))
    added = client.add_trial(experiment["name"], {"config": config})["trials"][0]
    print(f"[client] add_trial(): new trial {added['id']} with lr={config['lr']}", flush=True)
    log.append(f"add_trial: {added['id']} (lr={config['lr']:.4g}) was added")
    wait_for(
        "the added trial to report",
        lambda: client.get_trial(added["id"])["trial"]["iterations"] >= 2,
        timeout_s=120,
    )
    print("[client] get_all_trials():", flush=True)
    show(client.get_all_trials()["trials"])

    if smoke_test:
        client.stop_experiment()
        print("[client] stop_experiment(): the run ends now", flush=True)
        return
    try:  # until the experiment ends (its server stops with it)
        while True:
            time.sleep(5)
            trials = client.get_all_trials()["trials"]
            counts: dict[str, int] = {}
            for info in trials:
                counts[info["status"]] = counts.get(info["status"], 0) + 1
            print(f"[client] {counts}", flush=True)
    except TuneClientError:
        print("[client] the server has stopped: the experiment is over", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--smoke-test", action="store_true", help="exercise the API, then stop (for CI)"
    )
    parser.add_argument("--port", type=int, default=0, help="the server's port (0: any free)")
    parser.add_argument(
        "--storage-path",
        default=None,
        help="results root (default: TUNELAB_RESULTS_DIR, else ~/tunelab_results)",
    )
    args = parser.parse_args(argv)
    # where the experiment goes: the storage path given, else the default results root
    storage = args.storage_path or os.environ.get(
        "TUNELAB_RESULTS_DIR", os.path.expanduser("~/tunelab_results")
    )
    name = f"dashboard_{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    experiment_path = os.path.join(os.path.abspath(storage), name)

    log: list[str] = []
    errors: list[BaseException] = []

    def client_thread() -> None:
        try:
            operate(experiment_path, args.smoke_test, log)
        except BaseException as exc:  # report it in the main thread
            errors.append(exc)

    threading.Thread(target=client_thread, name="client", daemon=True).start()
    tuner = tune.Tuner(
        learning_curve,
        param_space={
            "lr": tune.grid_search([0.01, 0.1] if args.smoke_test else [0.01, 0.03, 0.1, 0.3]),
            "steps": 60 if args.smoke_test else 600,
            "seconds_per_step": 0.1 if args.smoke_test else 0.25,
        },
        tune_config=tune.TuneConfig(metric="loss", mode="min"),
        run_config=tune.RunConfig(
            name=name,
            storage_path=storage,
            server_port=args.port,  # serve the REST API and the dashboard
            verbose=0,  # keep the output to what the client prints
        ),
    )
    results = tuner.fit()
    if errors:
        raise errors[0]

    print()
    print("What the client did:")
    for line in log:
        print(f"  {line}")
    print("Trials at the end:")
    for result in sorted(results, key=lambda r: r.metrics["trial_id"]):
        print(
            f"  {result.metrics['trial_id']}: lr={result.config['lr']:.4g}, "
            f"{result.metrics['training_iteration']} iterations, loss {result.metrics['loss']:.4f}"
        )
    best = results.get_best_result()
    print(f"Best config: {best.config} (loss {best.metrics['loss']:.4f})")
    print(f"Results are in {experiment_path}")


if __name__ == "__main__":
    main()
