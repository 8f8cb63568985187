"""Store results and checkpoints in S3

Give `storage_path` an `s3://bucket/prefix` URI (any fsspec URI works; S3 needs
`pip install "tunelab[s3]"`, which brings `s3fs`) and the experiment lives in the bucket:
results, checkpoints, the experiment state that resume needs, and `tuner.pkl`. tunelab
runs the experiment in a local *staging* directory under the results root
(`TUNELAB_RESULTS_DIR`, else `~/tunelab_results`) and a background thread mirrors it to
the URI, so the experiment loop never waits on the network; a last upload runs when the
experiment ends. Checkpoints that a trial deletes locally (`num_to_keep`) are deleted in
the bucket too.

So that it runs anywhere, by default the script starts a local S3-compatible server
(moto's `ThreadedMotoServer`, from `pip install "moto[server]"`) on a free port, points
the AWS SDK at it with the environment variables `AWS_ENDPOINT_URL`,
`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_DEFAULT_REGION`, and creates a
bucket. Then it:

1. runs a small experiment with `RunConfig(storage_path="s3://<bucket>/<prefix>")`,
   whose trials report a checkpoint every other iteration and keep the best two;
2. lists what was uploaded to the bucket;
3. reads the experiment back from the URI with
   `tune.ExperimentAnalysis("s3://<bucket>/<prefix>/<name>")`, as another machine would
   (an empty temporary results root stands in for that machine's disk): it downloads a
   copy under the results root, and the script prints the trials, the best config and
   the state saved in the best checkpoint of the best trial;
4. checks that `tune.Tuner.can_restore(uri)` is True: `tune.Tuner.restore(uri,
   trainable=...)` would resume the experiment on any machine that can reach the bucket
   (see the "Resume after Ctrl+C" example).

To use a real bucket, pass `--bucket` (and `--prefix`); credentials come from the usual
AWS places (environment, `~/.aws/credentials`, an instance role). For another
S3-compatible store (MinIO, Ceph...), add `--endpoint-url`.

When trials run on other machines (see the Dask example), a worker that cannot see the
driver's staging directory uploads its checkpoints to the bucket itself; the environment
variable `TUNELAB_CHECKPOINT_UPLOAD` (`auto`, `direct`, `staging`) chooses how.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

import tunelab as tune
from tunelab import Checkpoint, train


def start_local_s3() -> Any:
    """Start moto's S3 server on a free local port and point the AWS SDK at it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # Set before tunelab starts its workers, so that they inherit them too.
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    print(f"Started a local S3 server at {os.environ['AWS_ENDPOINT_URL']}")
    return server


def climb(config: dict[str, Any]) -> None:
    """A toy trainable: a checkpoint (a directory with one JSON file) every other step."""
    position = 0.0
    checkpoint = train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            position = json.loads(Path(directory, "state.json").read_text())["position"]
    for step in range(1, config["steps"] + 1):
        position += config["speed"] * (1 - position)
        metrics = {"score": position, "step": step}
        if step % 2 == 0:
            with tempfile.TemporaryDirectory() as directory:
                Path(directory, "state.json").write_text(json.dumps({"position": position}))
                train.report(metrics, checkpoint=Checkpoint.from_directory(directory))
        else:
            train.report(metrics)


def read_back(uri: str) -> None:
    """Read the experiment at ``uri`` and load its best checkpoint."""
    analysis = tune.ExperimentAnalysis(uri, default_metric="score", default_mode="max")
    print()
    print(f"Experiment read back from {uri} into {analysis.experiment_path}:")
    print(analysis.dataframe()[["trial_id", "config/speed", "score", "training_iteration"]])
    best_trial = analysis.get_best_trial()
    best_checkpoint = analysis.get_best_checkpoint(best_trial)
    print(f"Best config: {analysis.get_best_config()}")
    print(f"Best checkpoint: {best_checkpoint.path}")
    with best_checkpoint.as_directory() as directory:
        state = json.loads(Path(directory, "state.json").read_text())
    print(f"  its state.json, as the trial saved it: {state}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--smoke-test", action="store_true", help="a few short trials (for CI)")
    parser.add_argument(
        "--bucket", default=None, help="an existing bucket (default: a local moto S3 server)"
    )
    parser.add_argument("--prefix", default="tunelab-examples", help="key prefix in the bucket")
    parser.add_argument(
        "--endpoint-url", default=None, help="an S3-compatible endpoint (MinIO, Ceph...)"
    )
    args = parser.parse_args(argv)

    import s3fs

    server = None
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    elif args.bucket is None:
        server = start_local_s3()
    bucket = args.bucket or "tunelab-example-bucket"
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    if args.bucket is None:
        fs.mkdir(bucket)
    storage = f"s3://{bucket}/{args.prefix}"
    name = "s3_storage"
    uri = f"{storage}/{name}"

    try:
        speeds = [0.05, 0.1, 0.2] if args.smoke_test else [0.01, 0.02, 0.05, 0.1, 0.2, 0.4]
        tuner = tune.Tuner(
            climb,
            param_space={"speed": tune.grid_search(speeds), "steps": 6 if args.smoke_test else 20},
            tune_config=tune.TuneConfig(metric="score", mode="max"),
            run_config=tune.RunConfig(
                name=name,
                storage_path=storage,
                checkpoint_config=tune.CheckpointConfig(
                    num_to_keep=2, checkpoint_score_attribute="score"
                ),
                verbose=1,
            ),
        )
        results = tuner.fit()
        print()
        print(f"The local staging copy: {results.experiment_path}")

        # 2. what is in the bucket now
        fs.invalidate_cache()
        keys = sorted(fs.find(f"{bucket}/{args.prefix}/{name}"))
        relative = [key[len(f"{bucket}/{args.prefix}/{name}/") :] for key in keys]
        print(f"{len(keys)} files uploaded to {uri}:")
        for path in relative:
            if "/" not in path:
                print(f"  {path}")
        trial_dirs = sorted({path.split("/")[0] for path in relative if "/" in path})
        for trial_dir in trial_dirs:
            files = [p[len(trial_dir) + 1 :] for p in relative if p.startswith(trial_dir + "/")]
            print(f"  {trial_dir}/")
            print(f"    {', '.join(sorted(files))}")

        # 3. read it back from the bucket, as another machine would: an empty results
        # root stands in for that machine's disk, so everything comes from the bucket
        with tempfile.TemporaryDirectory(prefix="another_machine_") as other_disk:
            own_root = os.environ.get("TUNELAB_RESULTS_DIR")
            os.environ["TUNELAB_RESULTS_DIR"] = other_disk
            try:
                read_back(uri)
            finally:
                if own_root is None:
                    del os.environ["TUNELAB_RESULTS_DIR"]
                else:
                    os.environ["TUNELAB_RESULTS_DIR"] = own_root

        # 4. the experiment can be resumed from the bucket
        print(f"Tuner.can_restore({uri!r}): {tune.Tuner.can_restore(uri)}")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
