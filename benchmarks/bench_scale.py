"""Scale targets: many trials, checkpoint bandwidth, experiment-state share, simulated ASHA.

Four measurements, each in this one process, one after the other:

``trials``
    N trivial trials (``tune.report({"score": 1.0})``) in one experiment, with
    ``reuse_actors=True`` and the default loggers. A callback times every
    ``on_trial_complete`` and samples the driver's RSS after every block of N/10 finished
    trials. Reported: the wall time, the seconds per trial in the first and in the last
    block and their ratio (goal: the last block at most 10% slower), the driver's peak RSS
    (goal: < 200 MB; sampled every 50 ms), the RSS growth per finished trial (least-squares
    slope over the block samples), and then, each in a fresh interpreter, the wall time of
    ``tunelab ls <experiment>`` and of ``ExperimentAnalysis(<experiment>).dataframe()``.
``checkpoints``
    One trial checkpoints a 100 MB numpy array (``Checkpoint.from_dict``) at each of 5
    iterations, keeping 2: the end-to-end save rate measured in the trial (500 MB / time
    from before the first report to after the fifth returned). The same bytes are also
    written with plain ``open(path, "wb").write(memoryview(array))`` (5 files, the older ones
    removed to keep 2) in a directory on the storage path's filesystem, before and after the
    experiment; the ratio of tunelab's rate to the mean plain rate is the goal (>= 0.8). The
    kept checkpoint is restored and compared byte for byte.
``state``
    10,000 trivial trials: the share of the driver's wall time spent in
    ``ExperimentStateWriter`` (journal records, journal flushes with the search
    algorithm's and scheduler's states they carry, and snapshots, timed as
    ``bench_checkpoints.py`` does). Goal <= 3%.
``simulated``
    ASHA (``max_t=100, grace_period=1``) on the ``SimulatedExecutor`` (no workers, simulated
    time) with 100, 1,000 and 10,000 trials at once (``max_concurrent_trials``, and as many
    simulated CPUs). Every run is sized for the same total of results (``--results``): the
    number of trials is the total divided by the results an ASHA trial is expected to
    report (so every run has the same trials, and about the same results). Reported per
    result: the run's wall time, the time spent in ``Events._on_results`` (as
    ``run_tunelab.py per_result_cost`` measures it), and the experiment-state time as in
    ``state`` (of which the snapshots, with their number). Goal: flat across concurrency
    (largest / smallest controller cost <= 1.25, a tolerance of this script).

Each measurement prints one JSON line as soon as it is done; a Markdown table of the goals
follows at the end. Run from the repository's root, on an otherwise idle machine::

    .venv/bin/python benchmarks/bench_scale.py                  # full sizes (many minutes)
    .venv/bin/python benchmarks/bench_scale.py --quick          # small sizes, about a minute
    .venv/bin/python benchmarks/bench_scale.py --only trials --trials 20000
    .venv/bin/python benchmarks/bench_scale.py --only simulated --results 200000 \
        --concurrency 100 1000
    .venv/bin/python benchmarks/bench_scale.py --only checkpoints --only state

Experiment directories go to fresh temporary directories, removed after each measurement
unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import psutil  # noqa: E402
from _workloads import RssSampler, mb  # noqa: E402

import tunelab as tune  # noqa: E402

MB = 2**20
TARGETS = ("trials", "checkpoints", "state", "simulated")
CONCURRENCIES = (100, 1000, 10000)
FLAT_TOLERANCE = 1.25  # largest / smallest controller cost per result counted as "flat"

Row = tuple[str, str, str, bool | None]  # target, measured, goal, met (None: no goal)


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def _storage(prefix: str) -> str:
    return tempfile.mkdtemp(prefix=f"tunelab-scale-{prefix}-")


def _cleanup(path: str, keep: bool) -> None:
    if keep:
        print(f"# kept {path}", file=sys.stderr, flush=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


# -- 1. trials ---------------------------------------------------------------------------------
def one(config: dict[str, Any]) -> None:
    tune.report({"score": 1.0})


class CompletionClock(tune.Callback):
    """Times each finished trial; samples the driver's RSS after every ``block`` of them."""

    def __init__(self, block: int) -> None:
        self.block = max(1, block)
        self.times: list[float] = []
        self.rss: list[tuple[int, int]] = []  # (trials finished, driver RSS in bytes)
        self._proc = psutil.Process()

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.times.append(time.perf_counter())
        if len(self.times) % self.block == 0:
            self.rss.append((len(self.times), self._proc.memory_info().rss))


def _slope(points: list[tuple[int, int]]) -> float:
    """Least-squares slope of y over x (0.0 with fewer than two points)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    sxy = sum((x - mx) * (y - my) for x, y in points)
    return sxy / sxx if sxx else 0.0


def _blocks_ms_per_trial(times: list[float], block: int) -> list[float]:
    """Milliseconds per trial in each block of ``block`` completions (the first one timed
    from the first completion): the trend between the first and the last block, next to
    the machine's noise in between."""
    edges = [0, *range(block - 1, len(times), block)]
    return [
        round((times[b] - times[a]) / max(b - a, 1) * 1e3, 3)
        for a, b in itertools.pairwise(edges)
        if b > a
    ]


def _block_seconds_per_trial(times: list[float], block: int) -> tuple[float, float]:
    """Seconds per trial in the first and in the last block of ``block`` completions (the
    first block is timed from the first completion, so the workers' start is left out)."""
    first = (times[block - 1] - times[0]) / max(block - 1, 1)
    blocks = len(times) // block
    end = blocks * block - 1
    last = (times[end] - times[end - block]) / block
    return first, last


ANALYSIS_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
import tunelab
t1 = time.perf_counter()
analysis = tunelab.ExperimentAnalysis(sys.argv[1])
t2 = time.perf_counter()
frame = analysis.dataframe()
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "open_s": t2 - t1, "dataframe_s": t3 - t2,
                  "rows": len(frame)}))
"""


def _timed_subprocess(argv: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - start, proc


def bench_trials(n: int, keep: bool) -> dict[str, Any]:
    if n < 20:
        raise SystemExit("--trials must be at least 20 (10 blocks of 2 or more)")
    block = n // 10
    clock = CompletionClock(block)
    storage = _storage("trials")
    rss_before = psutil.Process().memory_info().rss
    with RssSampler() as rss:
        start = time.perf_counter()
        analysis = tune.run(
            one,
            num_samples=n,
            reuse_actors=True,
            verbose=0,
            storage_path=storage,
            callbacks=[clock],
        )
        wall = time.perf_counter() - start
    path = analysis.experiment_path
    first, last = _block_seconds_per_trial(clock.times, block)
    out: dict[str, Any] = {
        "target": "trials",
        "trials": n,
        "finished": len(clock.times),
        "wall_s": round(wall, 2),
        "trials_per_s": round(n / wall, 1),
        "first_block_ms_per_trial": round(first * 1e3, 3),
        "last_block_ms_per_trial": round(last * 1e3, 3),
        "last_over_first": round(last / first, 3),
        "block_ms_per_trial": _blocks_ms_per_trial(clock.times, block),
        "driver_rss_before_mb": mb(rss_before),
        "driver_peak_rss_mb": mb(rss.driver_peak),
        "total_peak_rss_mb": mb(rss.total_peak),
        "rss_mb_at_blocks": [mb(r) for _, r in clock.rss],
        "rss_growth_bytes_per_trial": round(_slope(clock.rss), 1),
    }
    del analysis

    # a fresh interpreter's baseline: python start-up and the command-line entry point
    base_s, _ = _timed_subprocess([sys.executable, "-m", "tunelab", "--version"])
    ls_s, proc = _timed_subprocess([sys.executable, "-m", "tunelab", "ls", path])
    out["cli_startup_s"] = round(base_s, 3)
    out["ls_s"] = round(ls_s, 3)
    out["ls_rc"] = proc.returncode
    out["ls_output_lines"] = proc.stdout.count("\n")
    if proc.returncode != 0:
        out["ls_error"] = proc.stderr.strip().splitlines()[-1:]

    ea_s, proc = _timed_subprocess([sys.executable, "-c", ANALYSIS_SCRIPT, path])
    out["analysis_s"] = round(ea_s, 3)
    if proc.returncode == 0:
        inner = json.loads(proc.stdout.strip().splitlines()[-1])
        out.update({f"analysis_{k}": round(v, 3) for k, v in inner.items() if k != "rows"})
        out["analysis_rows"] = inner["rows"]
    else:
        out["analysis_error"] = proc.stderr.strip().splitlines()[-1:]
    _cleanup(storage, keep)
    return out


def rows_trials(r: dict[str, Any]) -> list[Row]:
    n = r["trials"]
    return [
        (
            f"trials: {n:,} trials, last / first block time per trial",
            f"{r['last_over_first']:.3f} ({r['first_block_ms_per_trial']:.2f} -> "
            f"{r['last_block_ms_per_trial']:.2f} ms)",
            "<= 1.10",
            r["last_over_first"] <= 1.10,
        ),
        (
            f"trials: {n:,} trials, driver peak RSS",
            f"{r['driver_peak_rss_mb']:.1f} MB",
            "< 200 MB",
            r["driver_peak_rss_mb"] < 200,
        ),
        (
            "trials: driver RSS growth per finished trial",
            f"{r['rss_growth_bytes_per_trial']:.0f} B",
            "-",
            None,
        ),
        (f"trials: wall time of {n:,} trials", f"{r['wall_s']:.1f} s", "-", None),
        (
            f"trials: `tunelab ls` of {n:,} trials",
            f"{r['ls_s']:.2f} s (start-up {r['cli_startup_s']:.2f} s)",
            "-",
            None if r["ls_rc"] == 0 else False,
        ),
        (
            "trials: `ExperimentAnalysis(path).dataframe()`",
            f"{r['analysis_s']:.2f} s"
            + (
                f" (open {r['analysis_open_s']:.2f} s, dataframe {r['analysis_dataframe_s']:.2f} s)"
                if "analysis_open_s" in r
                else " (failed)"
            ),
            "-",
            None if "analysis_open_s" in r else False,
        ),
    ]


# -- 2. checkpoints ----------------------------------------------------------------------------
ITERATIONS = 5
KEEP = 2


def _array(size_mb: int) -> Any:
    import numpy as np

    return np.random.default_rng(0).random(size_mb * MB // 8)


def _plain_write_MBps(size_mb: int, parent: str) -> float:
    """Write the checkpoints' bytes with plain file writes, keeping ``KEEP`` files."""
    array = _array(size_mb)
    folder = tempfile.mkdtemp(prefix="plain-", dir=parent)
    seconds = 0.0
    paths: list[str] = []
    for i in range(ITERATIONS):
        array[0] = i
        path = os.path.join(folder, f"array_{i}.bin")
        start = time.perf_counter()
        with open(path, "wb") as f:
            f.write(memoryview(array).cast("B"))  # the array's own buffer, no copy
        seconds += time.perf_counter() - start
        paths.append(path)
        while len(paths) > KEEP:  # not timed: the bare write rate, the strictest baseline
            os.remove(paths.pop(0))
    shutil.rmtree(folder, ignore_errors=True)
    return size_mb * ITERATIONS / seconds


def bench_checkpoints(size_mb: int, keep: bool) -> dict[str, Any]:
    from tunelab import Checkpoint

    def train(config: dict[str, Any]) -> None:
        array = _array(config["size_mb"])
        start = time.perf_counter()
        for i in range(ITERATIONS):
            array[0] = i
            tune.report({"i": i}, checkpoint=Checkpoint.from_dict({"array": array}))
        tune.report({"i": ITERATIONS, "save_s": time.perf_counter() - start})

    storage = _storage("checkpoints")
    plain_before = _plain_write_MBps(size_mb, storage)
    analysis = tune.run(
        train,
        config={"size_mb": size_mb},
        storage_path=storage,
        keep_checkpoints_num=KEEP,
        checkpoint_score_attr="i",
        verbose=0,
    )
    plain_after = _plain_write_MBps(size_mb, storage)
    trial = analysis.trials[0]
    if trial.last_result.get("save_s") is None:
        raise RuntimeError(f"the checkpointing trial did not finish: {trial.status}")
    seconds = trial.last_result["save_s"]
    kept = sorted(d for d in os.listdir(trial.local_path) if d.startswith("checkpoint_"))
    restored = trial.checkpoint.to_dict()["array"]
    expected = _array(size_mb)
    expected[0] = ITERATIONS - 1
    identical = restored.tobytes() == expected.tobytes()
    total = size_mb * ITERATIONS
    tunelab_rate = total / seconds
    plain_rate = (plain_before + plain_after) / 2
    _cleanup(storage, keep)
    return {
        "target": "checkpoints",
        "array_mb": size_mb,
        "iterations": ITERATIONS,
        "keep": KEEP,
        "kept": len(kept),
        "tunelab_save_s": round(seconds, 3),
        "tunelab_MBps": round(tunelab_rate, 1),
        "plain_MBps_before": round(plain_before, 1),
        "plain_MBps_after": round(plain_after, 1),
        "plain_MBps": round(plain_rate, 1),
        "ratio": round(tunelab_rate / plain_rate, 3),
        "restore_identical": identical,
    }


def rows_checkpoints(r: dict[str, Any]) -> list[Row]:
    return [
        (
            f"checkpoints: {r['array_mb']} MB x {r['iterations']}, tunelab / plain write rate",
            f"{r['ratio']:.2f} ({r['tunelab_MBps']:.0f} / {r['plain_MBps']:.0f} MB/s)",
            ">= 0.8",
            r["ratio"] >= 0.8,
        ),
        (
            "checkpoints: restore byte-identical",
            "yes" if r["restore_identical"] else "no",
            "yes",
            r["restore_identical"],
        ),
        (
            f"checkpoints: checkpoints kept (num_to_keep={r['keep']})",
            str(r["kept"]),
            str(r["keep"]),
            r["kept"] == r["keep"],
        ),
    ]


# -- 3. state ----------------------------------------------------------------------------------
#: the ExperimentStateWriter methods timed (journal records, journal flushes, snapshots)
WRITER_METHODS = ("record_trial", "record", "record_checkpoint", "flush", "write")


class StateTimer:
    """Times the driver's experiment-state work while active (a context manager): the
    outermost calls of the :class:`ExperimentStateWriter` methods (``record_trial`` ->
    ``record`` counts once; a flush includes taking the policies' states it journals; a
    snapshot includes building its document), as ``bench_checkpoints.py`` measures it."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = dict.fromkeys(WRITER_METHODS, 0.0)
        self.calls: dict[str, int] = dict.fromkeys(self.spent, 0)
        self._depth = 0
        self._patched: list[tuple[type, str, Any]] = []

    def _wrap(self, cls: type, name: str) -> None:
        original = getattr(cls, name)
        timer = self

        def timed(obj: Any, *args: Any, **kwargs: Any) -> Any:
            if timer._depth:  # nested writer call: the outer one counts
                return original(obj, *args, **kwargs)
            timer._depth += 1
            t0 = time.perf_counter()
            try:
                return original(obj, *args, **kwargs)
            finally:
                timer.spent[name] += time.perf_counter() - t0
                timer.calls[name] += 1
                timer._depth -= 1

        self._patched.append((cls, name, original))
        setattr(cls, name, timed)

    def __enter__(self) -> StateTimer:
        from tunelab._persistence.experiment_state import ExperimentStateWriter

        for name in WRITER_METHODS:
            self._wrap(ExperimentStateWriter, name)
        return self

    def __exit__(self, *exc: Any) -> None:
        for cls, name, original in reversed(self._patched):
            setattr(cls, name, original)
        self._patched.clear()

    @property
    def writer_s(self) -> float:
        return sum(self.spent.values())

    def summary(self, wall: float) -> dict[str, Any]:
        return {
            "writer_s": round(self.writer_s, 3),
            "writer_share_pct": round(100 * self.writer_s / wall, 2),
            "by_method_s": {k: round(v, 3) for k, v in self.spent.items()},
            "calls": self.calls,
        }


def bench_state(n: int, keep: bool) -> dict[str, Any]:
    storage = _storage("state")
    with StateTimer() as timer:
        start = time.perf_counter()
        tune.run(one, num_samples=n, storage_path=storage, verbose=0, reuse_actors=True)
        wall = time.perf_counter() - start
    _cleanup(storage, keep)
    return {"target": "state", "trials": n, "wall_s": round(wall, 2), **timer.summary(wall)}


def rows_state(r: dict[str, Any]) -> list[Row]:
    n = r["trials"]
    return [
        (
            f"state: {n:,} trials, share of driver wall time in the state writer",
            f"{r['writer_share_pct']:.2f}% ({r['writer_s']:.2f} of {r['wall_s']:.1f} s)",
            "<= 3%",
            r["writer_share_pct"] <= 3,
        ),
    ]


# -- 4. simulated ------------------------------------------------------------------------------
MAX_T = 100
GRACE = 1
RF = 4


def curves(config: dict[str, Any], i: int) -> dict[str, float]:
    return {"score": config["scale"] * (1.0 - 1.0 / (i + 1))}


def asha_results_per_trial(max_t: int = MAX_T, grace: int = GRACE, rf: int = RF) -> float:
    """Expected results of one ASHA trial: a fraction 1/rf**k of the trials passes rung k."""
    rungs = []
    milestone = grace
    while milestone < max_t:
        rungs.append(milestone)
        milestone *= rf
    expected, done = 0.0, 0
    for k, milestone in enumerate([*rungs, max_t]):
        expected += (milestone - done) * rf**-k
        done = milestone
    return expected


def bench_simulated(results: int, concurrencies: list[int], keep: bool) -> list[dict[str, Any]]:
    from tunelab._core.events import Events
    from tunelab.schedulers import ASHAScheduler
    from tunelab.testing import SimulatedExecutor, simulated_trainable

    class PeakExecutor(SimulatedExecutor):
        """Records the most trials running at once."""

        peak = 0

        def try_start(self, trial_id: str, request: Any, task: Any) -> bool:
            started = super().try_start(trial_id, request, task)
            if started and len(self._runs) > self.peak:
                self.peak = len(self._runs)
            return started

    spent = [0.0]
    original = Events._on_results

    def timed(self: Any, *args: Any) -> None:
        t0 = time.perf_counter()
        original(self, *args)
        spent[0] += time.perf_counter() - t0

    per_trial = asha_results_per_trial()
    num_samples = max(1, math.ceil(results / per_trial))
    out = []
    Events._on_results = timed  # type: ignore[method-assign, assignment]
    try:
        for concurrency in concurrencies:
            spent[0] = 0.0
            executor = PeakExecutor(curves, num_cpus=concurrency, max_iterations=MAX_T)
            storage = _storage(f"simulated{concurrency}")
            with StateTimer() as state:
                start = time.perf_counter()
                analysis = tune.run(
                    simulated_trainable,
                    config={"scale": tune.uniform(0.5, 1.5)},
                    num_samples=num_samples,
                    scheduler=ASHAScheduler(
                        metric="score",
                        mode="max",
                        max_t=MAX_T,
                        grace_period=GRACE,
                        reduction_factor=RF,
                    ),
                    max_concurrent_trials=concurrency,
                    executor=executor,
                    storage_path=storage,
                    verbose=0,
                )
                wall = time.perf_counter() - start
            count = sum(t.last_result.get("training_iteration", 0) for t in analysis.trials)
            del analysis
            _cleanup(storage, keep)
            record = {
                "target": "simulated",
                "concurrency": concurrency,
                "peak_running": executor.peak,
                "trials": num_samples,
                "results": count,
                "iterations_run": executor.iterations_run,
                "wall_s": round(wall, 2),
                "wall_us_per_result": round(wall / max(count, 1) * 1e6, 2),
                "controller_us_per_result": round(spent[0] / max(count, 1) * 1e6, 2),
                "state_us_per_result": round(state.writer_s / max(count, 1) * 1e6, 2),
                # of which snapshots (O(trials) each, spaced in time) and their number
                "snapshot_us_per_result": round(state.spent["write"] / max(count, 1) * 1e6, 2),
                "snapshots": state.calls["write"],
            }
            emit(record)
            out.append(record)
    finally:
        Events._on_results = original  # type: ignore[method-assign]
    return out


def rows_simulated(records: list[dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    for r in records:
        rows.append(
            (
                f"simulated: ASHA, {r['concurrency']:,} at once ({r['results']:,} results, "
                f"peak {r['peak_running']:,} running)",
                f"{r['controller_us_per_result']:.1f} µs in _on_results, "
                f"{r['wall_us_per_result']:.1f} µs wall (state writer "
                f"{r['state_us_per_result']:.1f} µs with the policies' states) per result",
                "-",
                None,
            )
        )
    for key, what in (("controller_us_per_result", "controller"), ("wall_us_per_result", "wall")):
        values = [r[key] for r in records]
        spread = max(values) / min(values) if min(values) > 0 else math.inf
        rows.append(
            (
                f"simulated: {what} cost per result, largest / smallest across concurrency",
                f"{spread:.2f}",
                f"<= {FLAT_TOLERANCE} (flat)",
                spread <= FLAT_TOLERANCE,
            )
        )
    return rows


# -- main --------------------------------------------------------------------------------------
def table(rows: list[Row]) -> str:
    lines = ["| target | measured | goal | met? |", "|---|---|---|---|"]
    for target, measured, goal, met in rows:
        mark = "-" if met is None else ("yes" if met else "**no**")
        lines.append(f"| {target} | {measured} | {goal} | {mark} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=TARGETS,
        help="run only this target (repeatable; default: all four)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes: 2,000 trials, 10 MB arrays, 1,000 state trials, 20,000 results",
    )
    parser.add_argument("--trials", type=int, help="trials of `trials` (default 100,000)")
    parser.add_argument("--array-mb", type=int, help="checkpointed array size (default 100)")
    parser.add_argument("--state-trials", type=int, help="trials of `state` (default 10,000)")
    parser.add_argument(
        "--results", type=int, help="results per `simulated` run, about (default 1,000,000)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=list(CONCURRENCIES),
        help="trials at once of the `simulated` runs (default: 100 1000 10000)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the experiment directories")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "trials": 2000 if quick else 100_000,
        "array_mb": 10 if quick else 100,
        "state_trials": 1000 if quick else 10_000,
        "results": 20_000 if quick else 1_000_000,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    only = args.only or list(TARGETS)
    # find_spec, not import: tensorboardX imports torch (about 280 MB of driver RSS)
    tbx = importlib.util.find_spec("tensorboardX") is not None
    emit(
        {
            "target": "environment",
            "python": platform.python_version(),
            "tunelab": getattr(tune, "__version__", "?"),
            "cpus": os.cpu_count(),
            "tensorboardX": tbx,
            "quick": args.quick,
        }
    )
    rows: list[Row] = []
    if "trials" in only:
        r = bench_trials(args.trials, args.keep)
        emit(r)
        rows += rows_trials(r)
    if "checkpoints" in only:
        r = bench_checkpoints(args.array_mb, args.keep)
        emit(r)
        rows += rows_checkpoints(r)
    if "state" in only:
        r = bench_state(args.state_trials, args.keep)
        emit(r)
        rows += rows_state(r)
    if "simulated" in only:
        rows += rows_simulated(bench_simulated(args.results, args.concurrency, args.keep))
    print()
    print(table(rows), flush=True)


if __name__ == "__main__":
    main()
