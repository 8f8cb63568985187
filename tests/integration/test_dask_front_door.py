"""``dask_client=`` on tune.run and TuneConfig runs the same experiment on Dask workers."""

import os

import pytest

import tunelab as tune

pytest.importorskip("distributed")


def test_dask_client_argument_of_tune_run_and_tuneconfig(tmp_path):
    from distributed import Client, LocalCluster

    def train(config):
        tune.report(pid=os.getpid(), x=config["x"])

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        worker_pids = set(client.run(os.getpid).values())
        analysis = tune.run(
            train,
            config={"x": tune.grid_search([1, 2, 3])},
            dask_client=cluster.scheduler_address,
            storage_path=str(tmp_path),
            verbose=0,
        )
        assert {t.last_result["pid"] for t in analysis.trials} <= worker_pids
        grid = tune.Tuner(
            train,
            param_space={"x": 4},
            tune_config=tune.TuneConfig(dask_client=client),
            run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
        ).fit()
        assert grid[0].metrics["pid"] in worker_pids


def test_executor_and_dask_client_together_is_an_error():
    from tunelab.execution import LocalExecutor

    with pytest.raises(ValueError, match="dask_client"):
        tune.TuneConfig(executor=LocalExecutor(), dask_client="tcp://127.0.0.1:1")
