"""Checkpoint bandwidth and experiment-state cost (issue: fault tolerance and resume).

    .venv/bin/python benchmarks/bench_checkpoints.py            # tunelab (+ Ray if installed)

1. A 100 MB numpy array checkpointed every iteration for 5 iterations with num_to_keep=2:
   end-to-end save bandwidth (500 MB / time from the first to the last report returning),
   then the kept checkpoint is restored and compared byte for byte.
2. 10,000 trivial trials: the share of the driver's time spent writing experiment state
   (journal lines and snapshots).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ANCHOR_PY = os.path.join(HERE, ".venv-anchor", "bin", "python")
MB = 2**20


def tunelab_checkpoint_bandwidth() -> dict[str, float]:
    import numpy as np

    import tunelab as tune
    from tunelab import Checkpoint

    def train(config):  # type: ignore[no-untyped-def]
        rng = np.random.default_rng(0)
        array = rng.random(100 * MB // 8)
        start = time.perf_counter()
        for i in range(5):
            array[0] = i
            tune.report({"i": i}, checkpoint=Checkpoint.from_dict({"array": array}))
        tune.report({"i": 5, "save_s": time.perf_counter() - start})

    storage = tempfile.mkdtemp()
    analysis = tune.run(
        train,
        storage_path=storage,
        keep_checkpoints_num=2,
        verbose=0,
        checkpoint_score_attr="i",
    )
    trial = analysis.trials[0]
    seconds = trial.last_result["save_s"]
    kept = sorted(d for d in os.listdir(trial.local_path) if d.startswith("checkpoint_"))
    restored = trial.checkpoint.to_dict()["array"]
    expected = np.random.default_rng(0).random(100 * MB // 8)
    expected[0] = 4
    assert restored.tobytes() == expected.tobytes(), "restore is not byte-identical"
    return {"save_MBps": round(500 / seconds, 1), "seconds": round(seconds, 3), "kept": len(kept)}


def tunelab_state_share(trials: int) -> dict[str, float]:
    import tunelab as tune
    from tunelab._persistence import experiment_state as state

    spent = [0.0]
    for name in ("record", "write"):
        original = getattr(state.ExperimentStateWriter, name)

        def timed(self, *args, _original=original, **kwargs):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            try:
                return _original(self, *args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - t0

        setattr(state.ExperimentStateWriter, name, timed)
    start = time.perf_counter()
    tune.run(
        lambda c: tune.report(a=1), num_samples=trials, storage_path=tempfile.mkdtemp(), verbose=0
    )
    wall = time.perf_counter() - start
    return {
        "trials": trials,
        "wall_s": round(wall, 2),
        "state_s": round(spent[0], 3),
        "state_share_pct": round(100 * spent[0] / wall, 2),
    }


RAY_SCRIPT = r"""
import json, os, tempfile, time
import numpy as np
from ray import tune, train
from ray.train import Checkpoint
MB = 2**20
def fn(config):
    array = np.random.default_rng(0).random(100 * MB // 8)
    start = time.perf_counter()
    for i in range(5):
        array[0] = i
        d = tempfile.mkdtemp()
        np.save(os.path.join(d, "a.npy"), array)
        tune.report({"i": i}, checkpoint=Checkpoint.from_directory(d))
    tune.report({"i": 5, "save_s": time.perf_counter() - start})
res = tune.Tuner(fn, run_config=tune.RunConfig(storage_path=tempfile.mkdtemp(), verbose=0,
    checkpoint_config=tune.CheckpointConfig(num_to_keep=2))).fit()
s = res[0].metrics["save_s"]
print(json.dumps({"save_MBps": round(500 / s, 1), "seconds": round(s, 3)}))
"""


def main() -> None:
    rows = {"tunelab checkpoint": tunelab_checkpoint_bandwidth()}
    for trials in (1000, 10000):
        rows[f"tunelab state, {trials} trials"] = tunelab_state_share(trials)
    if os.path.exists(ANCHOR_PY):
        proc = subprocess.run(
            [ANCHOR_PY, "-c", RAY_SCRIPT], capture_output=True, text=True, timeout=900
        )
        lines = proc.stdout.strip().splitlines()
        rows["ray checkpoint"] = (
            json.loads(lines[-1])
            if proc.returncode == 0 and lines
            else {"error": proc.stderr.strip().splitlines()[-1:]}
        )
    for name, row in rows.items():
        print(f"{name}: {json.dumps(row)}")


if __name__ == "__main__":
    main()
