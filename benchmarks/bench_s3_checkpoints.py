"""Checkpoint-heavy workload against a real S3-compatible server: tunelab vs Ray Tune.

    .venv/bin/python benchmarks/bench_s3_checkpoints.py            # 20 iterations
    .venv/bin/python benchmarks/bench_s3_checkpoints.py --quick    # 5 iterations
    .venv/bin/python benchmarks/bench_s3_checkpoints.py --only tunelab-s3 --iterations 8

A small version of Ray Tune's durable-trainable release test. 4 trials run at once (0.5 CPU
each); every trial runs ``--iterations`` iterations of 1 s. Within an iteration it reports a
small result every 0.1 s (carrying ``sent=time.time()``) and, at the end of the iteration,
writes a 10 MB checkpoint of fresh random bytes into a directory and reports it with
``Checkpoint.from_directory``. Retention keeps 4 checkpoints per trial. The trainable is the
same function for both libraries; only its import differs.

Runs (columns of the table):

* ``tunelab local``: ``storage_path`` is a local directory (the baseline);
* ``tunelab s3``: ``storage_path="s3://<bucket>/bench"``; tunelab runs in a local staging
  directory that a background ``Syncer`` thread mirrors to the bucket;
* ``tunelab s3 direct``: the same with ``TUNELAB_CHECKPOINT_UPLOAD=direct``: each worker
  uploads its checkpoints to the bucket itself inside ``tune.report`` (what Dask workers on
  machines without the driver's disk do), the driver's syncer only the small files;
* ``ray s3``: Ray Tune 2.60 from ``benchmarks/.venv-anchor`` (``benchmarks/run_ray_s3.py``),
  where each trial uploads its checkpoint itself (pyarrow's S3 filesystem) inside
  ``tune.report``.

moto's S3 server runs in a subprocess of this script, wrapped in a WSGI middleware that logs
every PUT/POST/DELETE (path, bytes, start and end time). Both libraries reach it over HTTP
through ``AWS_ENDPOINT_URL``. Measured per run:

* checkpoints produced (count, MB) and the wall time of ``tune.run`` / ``Tuner.fit``;
* checkpoint bandwidth from the server's log: MB of checkpoint files PUT into the bucket
  divided by the span from the first checkpoint PUT starting to the last one ending, and the
  median rate of a single PUT; the upload tail (last checkpoint PUT ending minus the last
  result reaching the driver);
* how long ``tune.report(..., checkpoint=...)`` blocks the trainable;
* result latency (``on_trial_result`` time minus ``result["sent"]``), all results and the
  checkpoint results alone;
* controller loop latency: gaps between consecutive ``on_step_begin`` and ``on_step_end``
  calls while the trials run, and the ``on_step_end`` gaps that overlap a checkpoint PUT;
* after the run, from a listing of the bucket: checkpoint directories per trial (must equal
  the retention, 4) and whether every reported step is in each trial's ``result.json``
  exactly once.

Timings on a shared 2-core machine are noisy; nothing is asserted. The table is printed and
written to ``benchmarks/out/s3_checkpoints.txt``.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ANCHOR_PY = os.path.join(HERE, ".venv-anchor", "bin", "python")
RAY_RUNNER = os.path.join(HERE, "run_ray_s3.py")
OUT_FILE = os.path.join(HERE, "out", "s3_checkpoints.txt")

MB = 2**20
TRIALS = 4
KEEP = 4
CHECKPOINT_MB = 10
ITERATION_S = 1.0
REPORTS_PER_ITERATION = 10  # one every 0.1 s; the last one of an iteration has a checkpoint
EXPERIMENT = "s3ckpt"
RUNS = ("tunelab-local", "tunelab-s3", "tunelab-s3-direct", "ray-s3")


# -- the workload (shared by both libraries) --------------------------------------------------


def trainable(config: dict[str, Any]) -> None:
    """Report every 0.1 s; every 1 s a 10 MB checkpoint directory of fresh random bytes."""
    if config["lib"] == "ray":
        from ray import tune
        from ray.tune import Checkpoint
    else:
        import tunelab as tune
        from tunelab import Checkpoint

    interval = ITERATION_S / REPORTS_PER_ITERATION
    start = time.time()
    last_report_s = None
    step = 0
    for _ in range(config["iterations"]):
        for k in range(REPORTS_PER_ITERATION):
            time.sleep(max(0.0, start + (step + 1) * interval - time.time()))
            metrics: dict[str, Any] = {"step": step, "has_ckpt": False}
            if last_report_s is not None:  # how long the previous checkpoint report blocked
                metrics["ckpt_report_s"], last_report_s = last_report_s, None
            checkpoint, directory = None, None
            if k == REPORTS_PER_ITERATION - 1:
                directory = tempfile.mkdtemp(prefix="s3bench-ckpt-")
                with open(os.path.join(directory, "data.bin"), "wb") as f:
                    f.write(os.urandom(config["checkpoint_mb"] * MB))
                checkpoint = Checkpoint.from_directory(directory)
                metrics["has_ckpt"] = True
            metrics["sent"] = time.time()
            tune.report(metrics, checkpoint=checkpoint)
            if directory is not None:
                last_report_s = time.time() - metrics["sent"]
                shutil.rmtree(directory, ignore_errors=True)
            step += 1


def workload_config(lib: str, iterations: int) -> dict[str, Any]:
    return {"lib": lib, "iterations": iterations, "checkpoint_mb": CHECKPOINT_MB}


class Recorder:
    """Callback body shared by both libraries (mixed into their ``Callback`` classes)."""

    def __init__(self) -> None:
        self.step_begin: list[float] = []
        self.step_end: list[float] = []
        self.max_running = 0
        self.latency: list[float] = []
        self.ckpt_latency: list[float] = []
        self.ckpt_report_s: list[float] = []
        self.ckpt_sent: list[tuple[str, str, float]] = []  # trial id, checkpoint dir, sent
        self.steps: dict[str, list[int]] = {}
        self.first_result: float | None = None
        self.last_result: float | None = None
        self.experiment_end: float | None = None

    def on_step_begin(self, iteration: int, trials: list[Any], **info: Any) -> None:
        self.step_begin.append(time.time())

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        self.step_end.append(time.time())
        running = sum("RUNNING" in str(t.status) for t in trials)
        self.max_running = max(self.max_running, running)

    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any], **info: Any
    ) -> None:
        now = time.time()
        if self.first_result is None:
            self.first_result = now
        self.last_result = now
        (self.ckpt_latency if result.get("has_ckpt") else self.latency).append(now - result["sent"])
        if result.get("has_ckpt"):
            name = str(result.get("checkpoint_dir_name"))
            self.ckpt_sent.append((str(trial.trial_id), name, result["sent"]))
        if "ckpt_report_s" in result:
            self.ckpt_report_s.append(result["ckpt_report_s"])
        self.steps.setdefault(str(trial.trial_id), []).append(result["step"])

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        self.experiment_end = time.time()

    def summary(self, iterations: int, wall_s: float) -> dict[str, Any]:
        """JSON-able measurements (times as epoch seconds so other processes can compare)."""
        expected = iterations * REPORTS_PER_ITERATION
        start, end = self.first_result or 0.0, self.last_result or 0.0
        return {
            "wall_s": wall_s,
            "max_running": self.max_running,
            "results": sum(len(s) for s in self.steps.values()),
            "results_expected": TRIALS * expected,
            "results_in_order": all(s == list(range(expected)) for s in self.steps.values())
            and len(self.steps) == TRIALS,
            "checkpoints": len(self.ckpt_latency),
            "latency": self.latency,
            "ckpt_latency": self.ckpt_latency,
            "ckpt_report_s": self.ckpt_report_s,
            "ckpt_sent": self.ckpt_sent,
            "step_begin": [t for t in self.step_begin if start <= t <= end],
            "step_end": [t for t in self.step_end if start <= t <= end],
            "first_result": self.first_result,
            "last_result": self.last_result,
            "experiment_end": self.experiment_end,
        }


# -- the tunelab side ----------------------------------------------------------------------


def run_tunelab(storage_path: str, iterations: int) -> dict[str, Any]:
    import tunelab as tune

    recorder_cls = type("TunelabRecorder", (Recorder, tune.Callback), {})
    recorder = recorder_cls()
    start = time.perf_counter()
    analysis = tune.run(
        trainable,
        name=EXPERIMENT,
        config=workload_config("tunelab", iterations),
        num_samples=TRIALS,
        resources_per_trial={"cpu": 0.5},
        max_concurrent_trials=TRIALS,
        storage_path=storage_path,
        keep_checkpoints_num=KEEP,
        callbacks=[recorder],
        verbose=0,
    )
    row = recorder.summary(iterations, time.perf_counter() - start)
    row["local_dir"] = os.path.dirname(analysis.trials[0].local_path)
    return row


def warm_up_tunelab() -> None:
    """One short local run first, so that the first measured run is not also the cold one
    (imports, worker start-up); its tail latencies were several times worse without it."""
    storage = tempfile.mkdtemp(prefix="s3bench-warmup-")
    try:
        run_tunelab(storage, 1)
    finally:
        shutil.rmtree(storage, ignore_errors=True)


def run_ray(storage_path: str, iterations: int) -> dict[str, Any]:
    if not os.path.exists(ANCHOR_PY):
        return {"error": f"no anchor venv at {ANCHOR_PY}"}
    env = {**os.environ, "PYTHONPATH": HERE}
    proc = subprocess.run(
        [ANCHOR_PY, RAY_RUNNER, storage_path, str(iterations)],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-3:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    return json.loads(lines[-1])


# -- the S3 server (a subprocess of this script) ---------------------------------------------


class _CountingInput:
    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.count = 0

    def read(self, *args: Any) -> bytes:
        data = self.stream.read(*args)
        self.count += len(data)
        return data

    def readline(self, *args: Any) -> bytes:
        data = self.stream.readline(*args)
        self.count += len(data)
        return data

    def __iter__(self) -> Iterable[bytes]:
        for data in self.stream:
            self.count += len(data)
            yield data


def _logging_app(app: Callable[..., Any], log_path: str) -> Callable[..., Any]:
    """Wrap a WSGI app: one JSON line per PUT/POST/DELETE with bytes received and timing."""
    lock = threading.Lock()
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - open for the server's lifetime

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = environ.get("REQUEST_METHOD", "")
        if method not in ("PUT", "POST", "DELETE"):
            return app(environ, start_response)
        t0 = time.time()
        counting = _CountingInput(environ["wsgi.input"])
        environ["wsgi.input"] = counting
        response = app(environ, start_response)
        line = {
            "m": method,
            "p": environ.get("PATH_INFO", ""),
            "n": counting.count,
            "t0": t0,
            "t1": time.time(),
        }
        with lock:
            log.write(json.dumps(line) + "\n")
        return response

    return wrapped


def serve_moto(log_path: str) -> None:
    """Run moto's S3 server on a free loopback port until stdin closes; print the port."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = _logging_app(DomainDispatcherApplication(create_backend_app), log_path)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(server.server_port, flush=True)
    sys.stdin.read()
    server.shutdown()


class MotoServer:
    """The moto server subprocess and its request log."""

    def __init__(self) -> None:
        fd, self.log_path = tempfile.mkstemp(prefix="s3bench-moto-", suffix=".jsonl")
        os.close(fd)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve-moto", self.log_path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        port = self.proc.stdout.readline().strip()
        if not port:
            raise RuntimeError("the moto server did not start")
        self.endpoint = f"http://127.0.0.1:{port}"

    def requests(self, bucket: str) -> list[dict[str, Any]]:
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        return [r for r in rows if r["p"].startswith(f"/{bucket}/")]

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if os.path.exists(self.log_path):
            os.remove(self.log_path)


def use_endpoint(endpoint: str) -> None:
    """Point s3fs, boto3 and pyarrow (here and in subprocesses) at ``endpoint``."""
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "FSSPEC_S3_ENDPOINT_URL"):
        os.environ.pop(name, None)


def s3() -> Any:
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True)


# -- inspecting what was stored ------------------------------------------------------------------


def inspect_storage(fs: Any, root: str, iterations: int) -> dict[str, Any]:
    """Checkpoint dirs per trial and result.json completeness under ``root`` (one experiment)."""
    files = fs.find(root, detail=True)
    trial_dirs = sorted(
        {os.path.dirname(p) for p in files if p.endswith("/result.json")}
        | {p.split("/checkpoint_")[0] for p in files if "/checkpoint_" in p}
    )
    expected = list(range(iterations * REPORTS_PER_ITERATION))
    kept, complete = [], []
    for trial_dir in trial_dirs:
        names = {
            p[len(trial_dir) + 1 :].split("/")[0]
            for p in files
            if p.startswith(trial_dir + "/checkpoint_")
        }
        kept.append(len(names))
        steps: list[int] = []
        result_file = f"{trial_dir}/result.json"
        if result_file in files:
            for line in fs.cat_file(result_file).decode().splitlines():
                if line.strip():
                    steps.append(json.loads(line).get("step", -1))
        complete.append(sorted(steps) == expected)
    return {
        "trial_dirs": len(trial_dirs),
        "kept_per_trial": kept,
        "results_complete": len(trial_dirs) == TRIALS and all(complete),
        "incomplete": sum(not c for c in complete),
    }


def upload_stats(requests: list[dict[str, Any]], summary: dict[str, Any]) -> dict[str, Any]:
    """Checkpoint PUTs seen by the server, their bandwidth, and the loop gaps during them."""
    puts = [r for r in requests if r["m"] == "PUT" and "/checkpoint_" in r["p"] and r["n"]]
    if not puts:
        return {"ckpt_puts": 0}
    total = sum(r["n"] for r in puts)
    span = max(r["t1"] for r in puts) - min(r["t0"] for r in puts)
    rates = sorted(r["n"] / MB / max(r["t1"] - r["t0"], 1e-6) for r in puts)
    keys = {r["p"] for r in puts}
    stats: dict[str, Any] = {
        "ckpt_puts": len(puts),
        "ckpt_keys": len(keys),
        "ckpt_put_mb": total / MB,
        "ckpt_mbps": total / MB / span if span > 0 else None,
        "ckpt_mbps_busy": total / MB / busy_time([(r["t0"], r["t1"]) for r in puts]),
        "ckpt_mbps_per_put": rates[len(rates) // 2],
        "upload_tail_s": max(r["t1"] for r in puts) - (summary.get("last_result") or 0.0),
    }
    stats.update(checkpoint_lag(puts, summary.get("ckpt_sent", [])))
    intervals = sorted((r["t0"], r["t1"]) for r in puts)
    stats["gaps_during_put"] = gaps_overlapping(summary.get("step_end", []), intervals)
    return stats


def checkpoint_lag(
    puts: list[dict[str, Any]], sent: list[tuple[str, str, float]]
) -> dict[str, Any]:
    """Per reported checkpoint: from ``tune.report`` to its file being in the bucket."""
    stored: dict[tuple[str, str], float] = {}
    for r in puts:  # /<bucket>/bench/<experiment>/<trial dir>/<checkpoint dir>/<file>
        trial_dir, checkpoint_dir = r["p"].split("/")[-3:-1]
        stored[(trial_dir, checkpoint_dir)] = max(
            r["t1"], stored.get((trial_dir, checkpoint_dir), 0)
        )
    lags, missing = [], 0
    for trial_id, name, t_sent in sent:
        ends = [t for (d, c), t in stored.items() if c == name and trial_id in d]
        if ends:
            lags.append(ends[0] - t_sent)
        else:
            missing += 1
    return {"ckpt_lag": lags, "ckpt_never_uploaded": missing}


def busy_time(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of ``intervals`` (time with at least one request in flight)."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return max(total, 1e-6)


def gaps_overlapping(times: list[float], intervals: list[tuple[float, float]]) -> list[float]:
    """Gaps between consecutive ``times`` that overlap one of ``intervals`` (sorted by start)."""
    starts = [a for a, _ in intervals]
    out = []
    for a, b in itertools.pairwise(times):
        # an interval overlaps [a, b] when it starts before b and ends after a
        for _start, end in intervals[: bisect.bisect_right(starts, b)]:
            if end >= a:
                out.append(b - a)
                break
    return out


# -- the table -------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms3(values: list[float]) -> str:
    """p50/p99/max in milliseconds."""
    if not values:
        return "n/a"
    return "/".join(f"{1000 * (pct(values, q) or 0):.0f}" for q in (0.5, 0.99, 1.0))


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def num(value: Any, fmt: str = "{:.1f}") -> str:
    return "n/a" if value is None else fmt.format(value)


def rows_for(row: dict[str, Any]) -> dict[str, str]:
    if "error" in row:
        return {"error": str(row["error"])[:60]}
    kept = row.get("kept_per_trial")
    n_ckpt = row["checkpoints"]
    return {
        "trials at once (max)": str(row["max_running"]),
        "results received / expected": f"{row['results']} / {row['results_expected']}",
        "results in order per trial": "yes" if row["results_in_order"] else "NO",
        "checkpoints produced (MB)": f"{n_ckpt} ({n_ckpt * CHECKPOINT_MB} MB)",
        "wall time s": num(row["wall_s"]),
        "ray.init s (not in wall time)": num(row["ray_init_s"]) if "ray_init_s" in row else "-",
        "trial errors": str(len(row.get("errors", []))),
        "ckpt files PUT to bucket": (
            f"{row['ckpt_keys']} in {row['ckpt_puts']} PUTs ({row['ckpt_put_mb']:.0f} MB)"
            if row.get("ckpt_puts")
            else "-"
        ),
        "ckpt bandwidth MB/s (PUT span)": num(row.get("ckpt_mbps")),
        "ckpt MB/s while a PUT runs": num(row.get("ckpt_mbps_busy")),
        "ckpt MB/s of one PUT (median)": num(row.get("ckpt_mbps_per_put")),
        "report -> ckpt in bucket ms p50/p99/max": ms3(row.get("ckpt_lag", [])),
        "ckpts never in bucket (retention first)": str(row.get("ckpt_never_uploaded", "n/a")),
        "upload tail after training s": num(row.get("upload_tail_s"), "{:.2f}"),
        "report(ckpt) blocks ms p50/p99/max": ms3(row["ckpt_report_s"]),
        "result latency ms p50/p99/max": ms3(row["latency"]),
        "ckpt result latency ms p50/p99/max": ms3(row["ckpt_latency"]),
        "on_step_begin gap ms p50/p99/max": (
            ms3(gaps(row["step_begin"])) if row["step_begin"] else "never called"
        ),
        "on_step_end gap ms p50/p99/max": ms3(gaps(row["step_end"])),
        "  ... overlapping a ckpt PUT": ms3(row.get("gaps_during_put", [])),
        "ckpt dirs per trial at end": ",".join(map(str, kept)) if kept else "n/a",
        "result.json: every step once": "yes" if row.get("results_complete") else "NO",
    }


NOTES = """\
Notes: checkpoint MB/s from moto's request log (both libraries send a 10 MB file in one PUT).
"PUT span": MB over first PUT start to last PUT end; "while a PUT runs": MB over the time at
least one checkpoint PUT was in flight. "report -> ckpt in bucket": from the trainable's
report (result["sent"]) to the end of that checkpoint's PUT. "never in bucket": deleted by
retention before it was uploaded. Upload tail: last checkpoint PUT end minus the last result
reaching the driver (negative: uploads finished before, as Ray uploads inside tune.report).
Loop gaps are taken between the first and the last result. tunelab is warmed up by one short
local run first; Ray runs in a fresh process after ray.init."""


def table(results: dict[str, dict[str, Any]]) -> str:
    columns = {name: rows_for(row) for name, row in results.items()}
    labels: list[str] = []
    for col in columns.values():
        labels += [label for label in col if label not in labels]
    width = max(len(label) for label in labels) + 2
    col_w = max(16, *(len(v) + 2 for col in columns.values() for v in col.values()))
    lines = ["".ljust(width) + "".join(name.rjust(col_w) for name in columns)]
    for label in labels:
        cells = "".join(columns[name].get(label, "").rjust(col_w) for name in columns)
        lines.append(label.ljust(width) + cells)
    return "\n".join(lines)


# -- driver -------------------------------------------------------------------------------------


def run_one(name: str, server: MotoServer, iterations: int) -> dict[str, Any]:
    if name == "tunelab-local":
        import fsspec

        storage = tempfile.mkdtemp(prefix="s3bench-local-")
        try:
            row = run_tunelab(storage, iterations)
            row.update(
                inspect_storage(
                    fsspec.filesystem("file"), os.path.join(storage, EXPERIMENT), iterations
                )
            )
        finally:
            shutil.rmtree(storage, ignore_errors=True)
        return row
    bucket = f"bench-{name}-{uuid.uuid4().hex[:6]}"
    s3().mkdir(bucket)
    storage = f"s3://{bucket}/bench"
    if name == "ray-s3":
        row = run_ray(storage, iterations)
    else:
        direct = name == "tunelab-s3-direct"
        if direct:  # the worker processes inherit it
            os.environ["TUNELAB_CHECKPOINT_UPLOAD"] = "direct"
        try:
            row = run_tunelab(storage, iterations)
        finally:
            os.environ.pop("TUNELAB_CHECKPOINT_UPLOAD", None)
    if "error" in row:
        return row
    row.update(upload_stats(server.requests(bucket), row))
    row.update(inspect_storage(s3(), f"{bucket}/bench/{EXPERIMENT}", iterations))
    staging = row.get("local_dir", "")
    if f"{os.sep}.staging{os.sep}" in staging:  # tunelab keeps its local copy of the run
        shutil.rmtree(staging, ignore_errors=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="5 iterations instead of 20")
    parser.add_argument("--iterations", type=int, default=None)
    parser.add_argument("--only", choices=RUNS, action="append", help="run only these")
    parser.add_argument("--serve-moto", metavar="LOG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_moto:
        serve_moto(args.serve_moto)
        return
    iterations = args.iterations or (5 if args.quick else 20)
    server = MotoServer()
    use_endpoint(server.endpoint)
    results: dict[str, dict[str, Any]] = {}
    try:
        if any(name.startswith("tunelab") for name in args.only or RUNS):
            warm_up_tunelab()
        for name in args.only or RUNS:
            print(f"running {name} ({iterations} iterations)...", file=sys.stderr, flush=True)
            results[name] = run_one(name, server, iterations)
    finally:
        server.stop()
    text = (
        f"S3 checkpoint-heavy workload: {TRIALS} trials x {iterations} iterations of "
        f"{ITERATION_S:g} s, a {CHECKPOINT_MB} MB checkpoint per iteration, keep {KEEP}, "
        f"{REPORTS_PER_ITERATION} results per iteration; moto S3 server over loopback\n"
        + table(results)
        + "\n"
        + NOTES
    )
    print(text)
    os.makedirs(os.path.dirname(OUT_FILE), exist_ok=True)
    with open(OUT_FILE, "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
