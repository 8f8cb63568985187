"""Run trials on a Dask cluster

tunelab runs trials in local worker processes by default. With `pip install
"tunelab[dask]"` it can run them on the workers of a [Dask](https://distributed.dask.org)
cluster instead: the experiment loop (search, scheduler, logging, the status table) stays
in this process, the *driver*; each running trial is a Dask task pinned to one worker that
has room for the trial's resource request, and it streams its results back to the driver
over an authenticated TCP connection. Nothing else in the script changes: the trainable,
the search space and the results are the same as with local workers.

By default the script starts a `distributed.LocalCluster` on this machine with two worker
*processes* of one thread each, hands its `Client` to tunelab with
`TuneConfig(dask_client=client)`, runs a small random search and prints which Dask worker
ran each trial. The trainable finds that out itself with `distributed.get_worker()`
and reports it as a metric; tunelab also adds the worker's `hostname` and `pid` to every
result.

To use a cluster you already have, pass its scheduler's address:

```bash
dask scheduler                                    # prints tcp://<host>:8786
dask worker tcp://<host>:8786 --nthreads 1        # on each machine, as many as you like
python examples/dask_cluster.py --address tcp://<host>:8786
```

Points to know for a real cluster:

- give workers one thread each (`--nthreads 1`): a worker never runs more tunelab trials
  at once than it has threads, and with one thread a trial owns its process (its working
  directory, its log files, its `CUDA_VISIBLE_DEVICES`);
- a trial that asks for resources (`tune.with_resources(train, {"cpu": 1, "gpu": 1})`)
  lands only on a worker that declares them (`dask worker ... --resources "GPU=1"`);
- every worker needs tunelab and the trainable's imports installed, and must see
  `storage_path` at the same path (a shared file system), unless the storage path is a
  URI such as `s3://bucket/prefix` (see the S3 example);
- the workers connect back to the driver: if they cannot reach its default address, pass
  `executor=DaskExecutor(client, listen_host=..., listen_port=...)` from
  `tunelab.execution.dask` instead of `dask_client=`;
- `tunelab.init(address="tcp://<host>:8786")` makes Dask the default for the runs that
  follow, which is what `ray.init(address=...)` scripts become after porting.
"""

from __future__ import annotations

import argparse
import collections
import math
import time
from typing import Any

from distributed import Client, LocalCluster

import tunelab as tune
from tunelab import train


def dask_worker_address() -> str:
    """The address of the Dask worker running this code (or a note when there is none)."""
    from distributed import get_worker

    try:
        return str(get_worker().address)
    except ValueError:
        return "not on a Dask worker"


def noisy_descent(config: dict[str, Any]) -> None:
    """A toy trainable: the loss of a point that moves towards (1, -2) by ``lr`` per step."""
    x, y = config["x0"], config["y0"]
    worker = dask_worker_address()
    for step in range(1, config["steps"] + 1):
        time.sleep(config["seconds_per_step"])  # stands in for real work
        x -= config["lr"] * 2 * (x - 1)
        y -= config["lr"] * 2 * (y + 2)
        loss = (x - 1) ** 2 + (y + 2) ** 2 + math.sin(5 * step * config["lr"]) ** 2 / step
        train.report({"loss": loss, "dask_worker": worker, "step": step})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--smoke-test", action="store_true", help="a few short trials (for CI)")
    parser.add_argument(
        "--address",
        default=None,
        help="a Dask scheduler's address (tcp://host:8786); default: start a LocalCluster",
    )
    parser.add_argument("--num-samples", type=int, default=None, help="trials to run")
    parser.add_argument(
        "--storage-path",
        default=None,
        help="results root (default: TUNELAB_RESULTS_DIR, else ~/tunelab_results); on a "
        "multi-machine cluster, a path every worker sees, or an s3:// URI",
    )
    args = parser.parse_args(argv)
    num_samples = args.num_samples or (4 if args.smoke_test else 24)

    if args.address:
        client = Client(args.address)
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = Client(cluster)
    try:
        workers = client.scheduler_info()["workers"]
        print(f"Dask scheduler {client.scheduler.address} with {len(workers)} workers:")
        for address, info in workers.items():
            print(f"  {address} ({info['nthreads']} thread(s))")
        print(f"Dask's own dashboard: {client.dashboard_link}")

        tuner = tune.Tuner(
            noisy_descent,
            param_space={
                "lr": tune.loguniform(1e-3, 0.5),
                "x0": tune.uniform(-5, 5),
                "y0": tune.uniform(-5, 5),
                "steps": 5 if args.smoke_test else 30,
                "seconds_per_step": 0.1,
            },
            tune_config=tune.TuneConfig(
                metric="loss", mode="min", num_samples=num_samples, dask_client=client
            ),
            run_config=tune.RunConfig(
                name="dask_cluster", storage_path=args.storage_path, verbose=1
            ),
        )
        results = tuner.fit()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

    print()
    per_worker: collections.Counter[str] = collections.Counter()
    for result in sorted(results, key=lambda r: r.metrics["trial_id"]):
        worker = result.metrics["dask_worker"]
        per_worker[worker] += 1
        print(
            f"trial {result.metrics['trial_id']} ran on Dask worker {worker} "
            f"(pid {result.metrics['pid']}): loss {result.metrics['loss']:.4f}"
        )
    for worker, count in sorted(per_worker.items()):
        print(f"{worker}: {count} trial(s)")
    best = results.get_best_result()
    print("Best config:", {k: round(best.config[k], 4) for k in ("lr", "x0", "y0")})
    print(f"Best loss: {best.metrics['loss']:.4f}")
    print(f"Results are in {results.experiment_path}")


if __name__ == "__main__":
    main()
