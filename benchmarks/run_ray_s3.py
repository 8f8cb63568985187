"""Ray Tune side of benchmarks/bench_s3_checkpoints.py (run with the anchor venv's python).

    PYTHONPATH=benchmarks AWS_ENDPOINT_URL=http://127.0.0.1:PORT ... \
        benchmarks/.venv-anchor/bin/python benchmarks/run_ray_s3.py s3://bucket/bench 20

Runs the shared checkpoint-heavy trainable of bench_s3_checkpoints.py with Ray Tune against
``storage_path`` (pyarrow's S3 filesystem, which follows ``AWS_ENDPOINT_URL``) and prints one
JSON line: the shared ``Recorder`` summary plus Ray's start-up time.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "0")

import ray
from bench_s3_checkpoints import (
    EXPERIMENT,
    KEEP,
    TRIALS,
    Recorder,
    trainable,
    workload_config,
)
from ray import tune


class RayRecorder(Recorder, tune.Callback):
    """The shared recorder as a Ray Tune callback."""


def main() -> None:
    storage_path, iterations = sys.argv[1], int(sys.argv[2])
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR)
    init_s = time.perf_counter() - started
    recorder = RayRecorder()
    start = time.perf_counter()
    results = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 0.5}),
        param_space=workload_config("ray", iterations),
        tune_config=tune.TuneConfig(num_samples=TRIALS, max_concurrent_trials=TRIALS),
        run_config=tune.RunConfig(
            name=EXPERIMENT,
            storage_path=storage_path,
            checkpoint_config=tune.CheckpointConfig(num_to_keep=KEEP),
            callbacks=[recorder],
            verbose=0,
        ),
    ).fit()
    wall = time.perf_counter() - start
    summary = recorder.summary(iterations, wall)
    summary["ray_init_s"] = init_s
    summary["errors"] = [str(r.error)[:200] for r in results if r.error]
    ray.shutdown()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
