"""Run trials on a Dask cluster (``pip install "tunelab[dask]"``).

How it works
------------
* **Placement.** tunelab keeps the books per Dask worker (see ``_dask_nodes``: totals come
  from the workers' declared resources, refreshed from ``Client.scheduler_info()`` every
  ``refresh_interval_s``, so workers that join or leave are picked up). A trial starts only
  when one worker has room for its whole request; it then runs in a Dask task pinned to that
  worker (``workers=[address]``, ``allow_other_workers=False``, ``pure=False``) with
  ``resources=`` mapped from the request. Pinning keeps tunelab's books and Dask's in step:
  a trial the controller shows as running is not waiting in a Dask queue, and it knows which
  of that worker's GPUs the trial got (``CUDA_VISIBLE_DEVICES`` is set in the task).
  A request that no worker can ever host is reported by :meth:`DaskExecutor.why_never_fits`
  (Dask itself would leave such a task pending without a word).
* **One task, several trials.** The Dask task runs the ordinary worker loop and stays for the
  next trial with the same resource request (it holds its resources meanwhile, as an idle
  local worker process does); it is retired when another request needs the room, and at the
  end. This keeps the per-trial cost near the local executor's.
* **Transport.** Each task connects back to a TCP listener of the controller
  (``listen_host``) and authenticates with a random 32-byte key (HMAC challenge in both
  directions) before any message is unpickled; results stream over that connection in
  batches exactly as with local workers. The key reaches the task as a task argument, so
  it is as private as Dask's own communication (use Dask's TLS on untrusted networks).
* **Code and large objects.** A trainable's blob (with its ``with_parameters`` and
  ``pin_in_object_store`` objects) goes to each Dask worker process once: the process
  caches loaded trainables, and its hello tells the controller which it has.
* **Failures.** A Dask worker that dies drops its connection: the trial is reported lost
  at once and retried from its latest checkpoint under ``max_failures``; its Dask future
  is cancelled, so nothing stays pending. A task that fails before connecting (for example
  ``KilledWorker``, or a controller address the worker cannot reach) is noticed through its
  future; a worker that leaves the cluster is noticed at the next refresh. tunelab does not
  rely on ``distributed.scheduler.allowed-failures``: pinned tasks are never re-run on
  another worker, whatever its value.
* **Trials that do not answer a stop.** A trial whose trainable never reports again (blocked
  in C code, sleeping) is force-ended by :meth:`DaskExecutor.kill_trial` after the grace
  period: its connection is closed and its Dask future cancelled; when its Dask worker has
  one thread (the task owns the process) and a nanny, that worker is restarted
  (``Client.restart_workers``, in the background) so the thread really ends. On a worker
  with several threads, or without a nanny, a Python thread cannot be killed: it is
  abandoned (it ends at its next report, if ever) and Dask counts its resources as used
  until then, so a trial placed there may wait in Dask's queue.
* **Process-wide settings.** Dask runs tasks in threads. On a worker with one thread the task
  owns the process, so ``chdir_to_trial_dir`` and ``log_to_file`` work as with local
  workers; on workers with several threads they are left out (they would affect the other
  threads). ``CUDA_VISIBLE_DEVICES`` is managed only on workers that declare GPUs (give GPU
  workers one thread: with several, concurrent trials share one process environment).
* **Shared clusters.** tunelab only sees its own tasks: a trial placed on a worker that is
  busy with other clients' tasks waits in Dask's queue (shown as running, location
  "starting") until that worker has room.
* **Storage.** Workers write trial directories themselves: on a multi-machine cluster, put
  ``storage_path`` on a file system every worker mounts at the same path.
"""

from __future__ import annotations

import functools
from typing import Any

from tunelab._errors import require
from tunelab.execution._dask_cluster import DaskCluster, DaskPlacement
from tunelab.execution._dask_launcher import DaskLauncher
from tunelab.execution._dask_options import check_listen, check_number, check_target
from tunelab.execution._executor import ConnectionExecutor

__all__ = ["DaskExecutor"]


class DaskExecutor(ConnectionExecutor):
    """Run trials on the workers of a Dask cluster (``pip install "tunelab[dask]"``).

    The experiment loop stays in this process (the driver); each running trial is a Dask
    task pinned to one worker that has room for the trial's whole resource request. The
    task runs the same worker loop as a local worker process and streams results back over
    a TCP connection to this process, authenticated with a random key per experiment. A
    task stays for the next trial with the same request, so a trial costs about what it
    costs locally.

    Resources: a worker offers what it declares (``dask worker --resources "GPU=1"``,
    ``LocalCluster(resources=...)``); where it declares no ``CPU``, its thread count stands
    in, and a worker never runs more tunelab trials at once than it has threads. Workers
    that join or leave are picked up every ``refresh_interval_s``. A request that no worker
    can ever host fails before the run starts.

    Failures: a worker that dies (or leaves the cluster) loses its trial, which is retried
    from its latest checkpoint under ``max_failures`` like any failed trial; its Dask task
    is cancelled, never re-run elsewhere by Dask.

    Give Dask workers one thread each (``--nthreads 1``) when trials set process-wide
    state: on such a worker a task owns the process, so ``chdir_to_trial_dir``,
    ``log_to_file`` and per-trial ``CUDA_VISIBLE_DEVICES`` work, and a trial that never
    answers a stop can be ended by restarting the worker (with a nanny). Workers must have
    tunelab and the trainable's imports installed, and see ``storage_path`` at the same path
    (shared file system) unless it is a URI such as ``s3://bucket/prefix``.

    The same executor is what ``tune.run(..., dask_client=...)``,
    ``TuneConfig(dask_client=...)`` and ``tunelab.init(address=...)`` build.

    Example::

        from distributed import Client
        from tunelab.execution.dask import DaskExecutor

        client = Client("tcp://scheduler:8786")
        tune.run(train, config=..., executor=DaskExecutor(client))

    Args:
        client_or_address: A synchronous ``distributed.Client`` (left open at the end), a
            Dask cluster object (``LocalCluster``, ``SpecCluster``...) or a scheduler
            address such as ``"tcp://host:8786"``; for the last two the executor opens a
            client of its own and closes it at the end of the run.
        listen_host: The address Dask workers use to reach this process (default: the
            address of this host on the route to the scheduler; ``127.0.0.1`` when the
            scheduler is on this machine). Set it when workers cannot reach the default
            (a host with several networks, NAT).
        listen_port: The TCP port to listen on; 0 (default) picks a free one. Set it to a
            port your firewall opens.
        refresh_interval_s: Seconds between refreshes of the worker list and the workers'
            resources (> 0).
        connect_timeout_s: Seconds a task may take to connect back to this process before
            its trial fails (> 0).
        worker_wait_s: Seconds to wait for a first worker when the cluster has none yet
            (>= 0; 0 does not wait).

    Raises:
        ImportError: ``distributed`` is not installed (names ``tunelab[dask]``).
        ValueError: An empty address, an asynchronous client, or a number out of range.
        TypeError: ``client_or_address`` or a number has the wrong type.
    """

    capacity_may_grow = True  # workers join and leave the cluster

    def __init__(
        self,
        client_or_address: Any,
        *,
        listen_host: str | None = None,
        listen_port: int = 0,
        refresh_interval_s: float = 1.0,
        connect_timeout_s: float = 30.0,
        worker_wait_s: float = 10.0,
    ) -> None:
        check_target(
            require("distributed", extra="dask", feature="DaskExecutor"), client_or_address
        )
        check_listen(listen_host, listen_port)
        self.client_or_address = client_or_address
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.refresh_interval_s = check_number(
            "refresh_interval_s", refresh_interval_s, low=0, strict=True
        )
        self.connect_timeout_s = check_number(
            "connect_timeout_s", connect_timeout_s, low=0, strict=True
        )
        self.worker_wait_s = check_number("worker_wait_s", worker_wait_s, low=0)
        self._cluster = DaskCluster(client_or_address, self.refresh_interval_s, self.worker_wait_s)
        # idle tasks hold their room and give it up when another request needs it: no cap
        super().__init__(
            DaskPlacement(self._cluster),
            DaskLauncher(self._cluster, listen_host, listen_port, self.connect_timeout_s),
        )

    def __repr__(self) -> str:
        return (
            f"DaskExecutor({self.client_or_address!r}, listen_host={self.listen_host!r}, "
            f"listen_port={self.listen_port!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # pickles as its configuration: a client becomes its scheduler address
        target = self.client_or_address
        if not isinstance(target, str):
            target = str(getattr(target, "scheduler_address", "") or target.scheduler.address)
        return (
            functools.partial(
                DaskExecutor,
                listen_host=self.listen_host,
                listen_port=self.listen_port,
                refresh_interval_s=self.refresh_interval_s,
                connect_timeout_s=self.connect_timeout_s,
                worker_wait_s=self.worker_wait_s,
            ),
            (target,),
        )
