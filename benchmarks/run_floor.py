"""The floor of benchmarks/compare.py: what a bare process pool costs for the same work,
with none of a tuner's bookkeeping (issue 14).

* ``trivial_trials N``: a pool of 2 pre-forked worker processes (started inside the timed
  span, as ``fit()`` starts its workers); each trial is one task and one message back; the
  driver writes the files tunelab's default loggers write for a trial: its directory,
  ``params.json`` and ``params.pkl``, one line of ``result.json`` and ``progress.csv``
  (header and row) and, when crc32c is installed (the ``tensorboard`` extra, with which
  tunelab writes them too), a TensorBoard event file of one scalar event.
* ``throughput T R C``: T trials of R tiny results, C at once; one pickled message per
  result over a pipe; the driver appends each result to the trial's ``result.json`` and
  ``progress.csv``.

Prints one JSON line like the other ``run_*.py`` scripts.
"""

from __future__ import annotations

import csv
import json
import multiprocessing as mp
import multiprocessing.connection
import os
import pickle
import struct
import sys
import tempfile
import time
from typing import Any

T0 = time.perf_counter()
IMPORT_S = time.perf_counter() - T0


def _trivial(index: int) -> dict[str, Any]:
    return {"score": 1.0, "training_iteration": 1, "trial_id": f"t{index:05d}", "done": True}


try:
    from crc32c import crc32c
except ImportError:  # no tensorboard extra: tunelab writes no event files either
    crc32c = None


def _masked(data: bytes) -> bytes:
    x = crc32c(data) & 0xFFFFFFFF
    return struct.pack("<I", (((x >> 15) | (x << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def _record(data: bytes) -> bytes:
    header = struct.pack("<Q", len(data))
    return header + _masked(header) + data + _masked(data)


def _write_events(trial_dir: str, value: float) -> None:
    """A TensorBoard event file: the version record and one event of one scalar."""
    version = b"\x09" + struct.pack("<d", time.time()) + b"\x1a\x0dbrain.Event:2"
    tag = b"ray/tune/score"
    entry = b"\x0a" + bytes([len(tag)]) + tag + b"\x15" + struct.pack("<f", value)
    summary = b"\x0a" + bytes([len(entry)]) + entry
    event = b"\x09" + struct.pack("<d", time.time()) + b"\x10\x01\x2a"
    event += bytes([len(summary)]) + summary
    with open(os.path.join(trial_dir, f"events.out.tfevents.{int(time.time())}.x"), "ab") as fh:
        fh.write(_record(version) + _record(event))


def _write_trial(root: str, trial_id: str, config: dict[str, Any]) -> tuple[Any, Any, Any]:
    trial_dir = os.path.join(root, trial_id)
    os.makedirs(trial_dir, exist_ok=True)
    with open(os.path.join(trial_dir, "params.json"), "w") as fh:
        json.dump(config, fh)
    with open(os.path.join(trial_dir, "params.pkl"), "wb") as fh:
        pickle.dump(config, fh)
    result_file = open(os.path.join(trial_dir, "result.json"), "a")  # noqa: SIM115
    progress_file = open(os.path.join(trial_dir, "progress.csv"), "a", newline="")  # noqa: SIM115
    return result_file, progress_file, None


def _log(files: list[Any], result: dict[str, Any]) -> None:
    result_file, progress_file, writer = files
    result_file.write(json.dumps(result) + "\n")
    if writer is None:
        writer = csv.DictWriter(progress_file, fieldnames=list(result))
        writer.writeheader()
        files[2] = writer
    writer.writerow(result)


def trivial_trials(n: int, root: str) -> dict[str, Any]:
    start = time.perf_counter()
    with mp.get_context("fork").Pool(2) as pool:
        for result in pool.imap_unordered(_trivial, range(n), chunksize=1):
            files = list(_write_trial(root, result["trial_id"], {"index": result["trial_id"]}))
            _log(files, result)
            if crc32c is not None:
                _write_events(os.path.join(root, result["trial_id"]), result["score"])
            files[0].close()
            files[1].close()
    return {"wall_s": round(time.perf_counter() - start, 3), "trials": n}


def _reporter(trial_id: str, results: int, conn: Any) -> None:
    send = conn.send
    for i in range(results):
        send((trial_id, {"score": float(i), "training_iteration": i + 1}))
    send((trial_id, None))
    conn.close()


def throughput(trials: int, results: int, concurrency: int, root: str) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    start = time.perf_counter()
    waiting = [f"t{i:05d}" for i in range(trials)]
    running: dict[Any, tuple[Any, list[Any]]] = {}
    count = 0
    while waiting or running:
        while waiting and len(running) < concurrency:
            trial_id = waiting.pop(0)
            reader, writer = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_reporter, args=(trial_id, results, writer))
            proc.start()
            writer.close()
            running[reader] = (proc, list(_write_trial(root, trial_id, {"n": results})))
        for conn in mp.connection.wait(list(running)):
            proc, files = running[conn]
            while True:
                try:
                    trial_id, result = conn.recv()
                except EOFError:
                    result = None
                if result is None:
                    files[0].close()
                    files[1].close()
                    proc.join()
                    del running[conn]
                    break
                _log(files, result)
                count += 1
                if not conn.poll():
                    break
    wall = time.perf_counter() - start
    return {"results": count, "wall_s": round(wall, 3), "results_per_s_wall": round(count / wall)}


def main() -> None:
    workload = sys.argv[1]
    out: dict[str, object] = {"workload": workload, "import_s": round(IMPORT_S, 4)}
    root = tempfile.mkdtemp(prefix="floor-bench-")
    if workload == "trivial_trials":
        out.update(trivial_trials(int(sys.argv[2]), root))
    elif workload == "throughput":
        trials, results, concurrency = (int(x) for x in sys.argv[2:5])
        out.update(throughput(trials, results, concurrency, root))
    else:
        out["skipped"] = "no floor for this workload"
    print(json.dumps(out))


if __name__ == "__main__":
    main()
