"""Resume an experiment after Ctrl+C

Pressing Ctrl+C during `Tuner.fit()` (or `tune.run`) does not throw the experiment away.
The first Ctrl+C asks tunelab to stop *gracefully*: running trials are paused (a function
trainable keeps its latest reported checkpoint, a class trainable saves one), the
experiment state is written, a line says how to resume, and `fit()` returns a `ResultGrid`
whose `interrupted` attribute is True. A second Ctrl+C stops at once.

This script plays both parts. It starts an experiment of four trials; each trial reports
one result per step, with a small checkpoint (a JSON file in a directory, reported with
`Checkpoint.from_directory`), and continues from `train.get_checkpoint()` when there is
one. A helper thread plays the user: once `--interrupt-after` results are on disk, it
sends SIGINT to this process, which is what Ctrl+C in a terminal does (tunelab's worker
processes run in their own process group and leave Ctrl+C to the driver). Then:

1. it prints what the interrupted run returned: `results.interrupted`, and how far each
   trial got;
2. it checks `Tuner.can_restore(path)` and resumes with
   `Tuner.restore(path, trainable=train_steps).fit()`: finished trials are kept, paused and
   pending ones continue from their latest checkpoint;
3. it reads every trial's `result.json` back and shows that each iteration was reported
   exactly once: the results a trial reported after its last checkpoint, before the
   interrupt, are rolled back on resume (from `result.json`, `progress.csv`, TensorBoard
   and your callbacks' `on_trial_rollback`), so the logs read as if nothing had happened.

`Tuner.restore` needs the trainable again (`trainable=`) because code is not stored with
the experiment. Resuming works the same way after the driver was killed outright
(`kill -9`, a lost SSH session, a reboot): `Tuner.restore` the experiment directory from a
new process. With `tune.run`, pass the same `name` and `storage_path` with `resume=True`
(or `"AUTO"`), as the line printed at the interrupt says.

To try a real Ctrl+C, run `python examples/resume_after_interrupt.py --interrupt-after 0`
and press Ctrl+C while the status table is printed; the script then resumes the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import tunelab as tune
from tunelab import Checkpoint, train


def train_steps(config: dict[str, Any]) -> None:
    """A function trainable that checkpoints every step and resumes from its checkpoint."""
    state = {"step": 0, "total": 0.0}
    checkpoint = train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            state = json.loads(Path(directory, "state.json").read_text())
    for step in range(state["step"] + 1, config["steps"] + 1):
        time.sleep(config["seconds_per_step"])  # the work of one step
        state = {"step": step, "total": state["total"] + config["rate"]}
        with tempfile.TemporaryDirectory() as directory:
            Path(directory, "state.json").write_text(json.dumps(state))
            train.report(
                {"step": step, "total": state["total"]},
                checkpoint=Checkpoint.from_directory(directory),
            )


def count_results(experiment_path: Path) -> int:
    """The results written so far (lines of every trial's result.json)."""
    total = 0
    for result_file in experiment_path.glob("*/result.json"):
        try:
            total += len(result_file.read_text().splitlines())
        except OSError:
            pass
    return total


def press_ctrl_c_after(experiment_path: Path, results: int, timeout_s: float = 120.0) -> None:
    """Send SIGINT to this process once ``results`` results are on disk."""
    deadline = time.monotonic() + timeout_s
    while count_results(experiment_path) < results and time.monotonic() < deadline:
        time.sleep(0.05)
    print(f"\n>>> {count_results(experiment_path)} results on disk: pressing Ctrl+C", flush=True)
    os.kill(os.getpid(), signal.SIGINT)


def logged_iterations(trial_dir: str) -> list[int]:
    with open(os.path.join(trial_dir, "result.json")) as fh:
        return [json.loads(line)["training_iteration"] for line in fh if line.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--smoke-test", action="store_true", help="short trials (for CI)")
    parser.add_argument(
        "--interrupt-after",
        type=int,
        default=6,
        help="press Ctrl+C for you after this many results (0: press it yourself)",
    )
    parser.add_argument(
        "--storage-path",
        default=None,
        help="results root (default: TUNELAB_RESULTS_DIR, else ~/tunelab_results)",
    )
    args = parser.parse_args(argv)
    steps = 8 if args.smoke_test else 20
    # where the experiment goes: the storage path given, else the default results root
    storage = args.storage_path or os.environ.get(
        "TUNELAB_RESULTS_DIR", os.path.expanduser("~/tunelab_results")
    )
    name = f"resume_after_interrupt_{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    experiment_path = os.path.join(os.path.abspath(storage), name)

    tuner = tune.Tuner(
        train_steps,
        param_space={
            "rate": tune.grid_search([1.0, 2.0, 3.0, 4.0]),
            "steps": steps,
            "seconds_per_step": 0.2 if args.smoke_test else 0.5,
        },
        tune_config=tune.TuneConfig(metric="total", mode="max"),
        run_config=tune.RunConfig(name=name, storage_path=storage, verbose=1),
    )
    if args.interrupt_after > 0:
        threading.Thread(
            target=press_ctrl_c_after,
            args=(Path(experiment_path), args.interrupt_after),
            daemon=True,
        ).start()
    else:
        print(">>> Press Ctrl+C while the trials run.", flush=True)
    results = tuner.fit()

    print()
    print(f"First run returned; results.interrupted: {results.interrupted}")
    for result in results:
        done = result.metrics.get("training_iteration", 0) if result.metrics else 0
        print(f"  rate={result.config['rate']}: {done} of {steps} steps")
    if not results.interrupted:
        print("The run finished before any Ctrl+C: there is nothing to resume.")
        return

    print()
    print(f"Tuner.can_restore({experiment_path!r}): {tune.Tuner.can_restore(experiment_path)}")
    print("Resuming with Tuner.restore(...).fit() ...")
    results = tune.Tuner.restore(experiment_path, trainable=train_steps).fit()

    print()
    print(f"Second run returned; results.interrupted: {results.interrupted}")
    exactly_once = True
    for result in results:
        iterations = logged_iterations(str(result.path))
        ok = iterations == list(range(1, steps + 1))
        exactly_once = exactly_once and ok
        print(
            f"  rate={result.config['rate']}: total={result.metrics['total']:g} after "
            f"{result.metrics['training_iteration']} steps; result.json iterations "
            f"{iterations[0]}..{iterations[-1]} ({len(iterations)} lines) "
            f"{'OK' if ok else 'NOT EXACTLY ONCE'}"
        )
    best = results.get_best_result()
    print(f"Best config: rate={best.config['rate']} (total {best.metrics['total']:g})")
    if exactly_once:
        print("Every trial finished, with every iteration exactly once in its log.")
    else:
        raise SystemExit("some iterations are missing or repeated")
    print(f"Results are in {experiment_path}")


if __name__ == "__main__":
    main()
