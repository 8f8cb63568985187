"""Driver SIGKILL loops shared by the chaos tests and ``benchmarks/soak_chaos.py``.

:func:`kill_and_resume` runs ``scripts/resumable_search.py`` in a subprocess, kills it with
SIGKILL at random moments, resumes it, and finally lets it finish; :func:`check_experiment`
then checks what a user would: exactly ``num_samples`` trials with unique ids and tag
numbers, no configuration suggested twice, every iteration logged exactly once, and every
restart taken from the newest checkpoint the driver had registered.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tunelab._persistence.experiment_state import load_state

SCRIPT = os.path.join(os.path.dirname(__file__), "scripts", "resumable_search.py")


@dataclass
class KillReport:
    kills: int = 0
    finished_early: bool = False
    stdout: str = ""
    stderr: str = ""
    # per resumed run: (the driver's pid, {trial_id: iterations logged when it started})
    resumes: list[tuple[int, dict[str, int]]] = field(default_factory=list)


def _logged(exp_dir: Path) -> dict[str, int]:
    """Iterations in each trial's result.json, by trial id."""
    logged = {}
    if exp_dir.exists():
        for trial_dir in exp_dir.iterdir():
            path = trial_dir / "result.json"
            if not path.exists():
                continue
            with open(path, "rb") as fh:
                lines = [line for line in fh if line.endswith(b"\n")]
            if lines:
                logged[json.loads(lines[0])["trial_id"]] = len(lines)
    return logged


def _driver(storage: Path, name: str, searcher: str, scheduler: str, n: int, resume: bool):
    args = [sys.executable, SCRIPT, str(storage), name, searcher, scheduler, str(n)]
    if resume:
        args.append("resume")
    env = {**os.environ, "TUNELAB_STATE_PERIOD_S": "3600", "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _lines(path: Path) -> int:
    try:
        with open(path, "rb") as fh:
            return sum(1 for _ in fh)
    except OSError:
        return 0


def kill_and_resume(
    storage: Path,
    *,
    name: str = "chaos",
    searcher: str = "random",
    scheduler: str = "fifo",
    num_samples: int = 8,
    kills: int = 3,
    seed: int = 0,
    max_new_steps: int = 6,
    max_wait_s: float = 0.05,
    timeout_s: float = 90.0,
) -> KillReport:
    """Kill the driver ``kills`` times, each at a random moment after it logged 1 to
    ``max_new_steps`` new results, resuming each time; then run it to the end."""
    rng = random.Random(seed)
    report = KillReport()
    resume = False
    while report.kills < kills:
        logged = _logged(storage / name)
        # killed once the driver has logged 1 to max_new_steps new results (so that the
        # restarts have checkpoints to resume from), a random moment later
        target = sum(logged.values()) + rng.randint(1, max_new_steps)
        driver = _driver(storage, name, searcher, scheduler, num_samples, resume)
        if resume:
            report.resumes.append((driver.pid, logged))
        deadline = time.monotonic() + 60
        while sum(_logged(storage / name).values()) < target and driver.poll() is None:
            if time.monotonic() > deadline:
                driver.kill()
                raise AssertionError("the driver made no progress within 60 s")
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, max_wait_s))
        if driver.poll() is not None:
            _out, err = driver.communicate()
            if driver.returncode != 0:
                raise AssertionError(f"driver failed:\n{err}")
            report.finished_early = True
            break
        driver.kill()
        driver.communicate()
        report.kills += 1
        resume = True
    logged = _logged(storage / name)
    final = _driver(storage, name, searcher, scheduler, num_samples, True)
    report.resumes.append((final.pid, logged))
    try:
        report.stdout, report.stderr = final.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        final.kill()  # a hung resume: never leave it running after the test
        final.communicate()
        raise AssertionError(f"the final resume did not finish within {timeout_s} s") from None
    if final.returncode != 0:
        raise AssertionError(f"the final resume failed:\n{report.stderr}")
    return report


def _results(trial_dir: Path) -> list[dict]:
    path = trial_dir / "result.json"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def check_experiment(
    storage: Path,
    report: KillReport,
    *,
    name: str = "chaos",
    num_samples: int,
    unique_configs: bool = True,
    contiguous: bool = True,
) -> dict[str, int]:
    """Assert what a user expects of the killed-and-resumed experiment; returns counts."""
    exp = storage / name
    state = load_state(str(exp))  # the snapshot and its journal, as a resume reads them
    assert state is not None, f"no experiment state in {exp}"
    trials = state["trials"]
    ids = [t["trial_id"] for t in trials]
    assert len(ids) == num_samples, f"{len(ids)} trials for num_samples={num_samples}"
    assert len(set(ids)) == len(ids), f"repeated trial ids: {Counter(ids).most_common(3)}"
    numbers = [int(t["experiment_tag"].split("_")[0]) for t in trials]
    # the variant generator numbers from 0 and searchers from 1 (as in Ray Tune)
    first = min(numbers)
    assert sorted(numbers) == list(range(first, first + num_samples)), sorted(numbers)
    statuses = Counter(t["status"] for t in trials)
    assert set(statuses) <= {"TERMINATED"}, statuses
    if unique_configs:
        configs = [(t["config"]["x"], t["config"]["y"]) for t in trials]
        repeated = [c for c, k in Counter(configs).items() if k > 1]
        assert not repeated, f"configurations suggested twice: {repeated}"
    dirs = {t["trial_id"]: exp / t["dirname"] for t in trials}
    assert len([p for p in exp.iterdir() if p.is_dir()]) == num_samples, sorted(
        p.name for p in exp.iterdir() if p.is_dir()
    )
    logged = 0
    for trial_id, path in dirs.items():
        results = _results(path)
        iterations = [r["training_iteration"] for r in results]
        if contiguous:
            assert iterations == list(range(1, len(iterations) + 1)), (trial_id, iterations)
        else:  # PBT: after an exploit a trial goes on from its donor's iteration, under a
            # new tag; the same iteration under the same tag twice is a repeat
            keys = [(r["training_iteration"], r["experiment_tag"]) for r in results]
            repeated = [k for k, n in Counter(keys).items() if n > 1]
            assert not repeated, (trial_id, repeated)
        logged += len(iterations)
    # where each resumed run restarted each trial: every step is checkpointed, so a trial
    # with k iterations logged when the driver was killed restarts from step k (its newest
    # registered checkpoint), never from an older one or from scratch
    starts: dict[tuple[str, str], int] = {}
    ran = 0
    for line in (storage / "steps.log").read_text().splitlines():
        trial_id, _step, start, run = line.split()
        key = (run, trial_id)
        starts[key] = min(starts.get(key, int(start)), int(start))
        ran += 1
    restarts = 0
    for pid, before in report.resumes:
        for trial_id, count in before.items():
            start = starts.get((str(pid), trial_id))
            if start is None or not contiguous:
                continue
            restarts += 1
            assert start >= count, (
                f"trial {trial_id} had {count} iterations (each with a checkpoint) logged "
                f"when its driver was killed, but the resumed driver restarted it from {start}"
            )
    return {"trials": len(ids), "iterations": logged, "restarts": restarts, "steps_run": ran}
