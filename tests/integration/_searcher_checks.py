"""What the integration tests of the search-library adapters (``test_search_*.py``: Ax, HEBO,
scikit-optimize, ZOOpt, FLAML, BayesOpt) share: the quadratic objective and its space, a
driver that suggests and completes trials one at a time, a real experiment on the quadratic,
the space of every domain kind with its checks, a state round trip and a resumed experiment.

Imported as ``from _searcher_checks import ...`` (pytest puts ``tests/integration`` on
``sys.path``, as for ``s3_helpers``); it imports no search library itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import tunelab as tune
from tunelab.search import Searcher, SearchGenerator


def quadratic(config: dict[str, Any]) -> None:
    tune.report({"loss": (config["x"] - 1) ** 2 + (config["y"] + 2) ** 2})


def space() -> dict[str, Any]:
    """Two floats for :func:`quadratic` (best at ``x=1, y=-2``) and a constant."""
    return {"x": tune.uniform(-5, 5), "y": tune.uniform(-5, 5), "tag": "fixed"}


def drive(
    searcher: Searcher,
    config: dict[str, Any],
    num: int,
    objective: Any,
    extra: Mapping[str, Any] | None = None,
) -> list[Any]:
    """Suggest and complete ``num`` trials one at a time (``objective(config)`` as ``loss``,
    plus the ``extra`` results); the suggested configs."""
    gen = SearchGenerator(searcher)
    gen.set_search_properties("loss", "min", config)
    gen.add_configurations([{"name": "t", "config": config, "num_samples": num}])
    configs = []
    while (trial := gen.next_trial()) is not None:
        configs.append(trial.config)
        gen.on_trial_complete(trial.trial_id, {"loss": objective(trial.config), **(extra or {})})
    return configs


def learn_quadratic(
    searcher: Searcher, tmp_path: Path, num_samples: int, **run_kwargs: Any
) -> list[float]:
    """Run :func:`quadratic` on :func:`space` with ``searcher`` (minimizing ``loss``) and check
    that all ``num_samples`` trials ran to the end with the constant; the losses in trial
    order."""
    analysis = tune.run(
        quadratic,
        config=space(),
        search_alg=searcher,
        metric="loss",
        mode="min",
        num_samples=num_samples,
        storage_path=str(tmp_path),
        verbose=0,
        **run_kwargs,
    )
    assert len(analysis.trials) == num_samples
    assert all(t.status == "TERMINATED" and t.config["tag"] == "fixed" for t in analysis.trials)
    return [t.last_result["loss"] for t in analysis.trials]


def every_kind_space() -> dict[str, Any]:
    """A log-uniform float, a log-uniform int, a stepped int, categories that are no plain
    values and a quantized float (see :func:`check_every_kind`)."""
    return {
        "lr": tune.loguniform(1e-5, 1e-1),
        "units": tune.lograndint(8, 512),
        "width": tune.qrandint(16, 128, 16),
        "act": tune.choice([None, {"name": "relu"}, "tanh"]),
        "drop": tune.quniform(0.0, 0.5, 0.1),
    }


def check_every_kind(configs: list[Any]) -> None:
    """Every config of :func:`every_kind_space` is within its domains."""
    for c in configs:
        assert 1e-5 <= c["lr"] < 1e-1 and 8 <= c["units"] <= 512
        assert c["width"] % 16 == 0 and 16 <= c["width"] <= 128
        assert c["act"] in (None, {"name": "relu"}, "tanh") and round(c["drop"], 1) == c["drop"]


def round_trip(
    make_searcher: Callable[[], Searcher],
    num_samples: int,
    told: int,
    config: Callable[[], dict[str, Any]] = space,
) -> tuple[Searcher, Searcher, dict[str, Any]]:
    """A searcher for ``config()`` (``num_samples`` trials, minimizing ``loss``) told ``told``
    results of ``x ** 2``, a fresh one restored from its state through JSON, and that state:
    ``(original, restored, state)``."""

    def fresh() -> tuple[Searcher, SearchGenerator]:
        searcher = make_searcher()
        gen = SearchGenerator(searcher)
        gen.set_search_properties("loss", "min", config())
        gen.add_configurations([{"name": "t", "config": config(), "num_samples": num_samples}])
        return searcher, gen

    original, gen = fresh()
    for _ in range(told):
        trial = gen.next_trial()
        assert trial is not None
        gen.on_trial_complete(trial.trial_id, {"loss": trial.config["x"] ** 2})
    state = json.loads(json.dumps(original.get_state()))
    restored, _ = fresh()
    restored.set_state(state)
    return original, restored, state


def run_and_resume(
    make_searcher: Callable[[], Searcher],
    tmp_path: Path,
    first_samples: int,
    total_samples: int,
    **run_kwargs: Any,
) -> tuple[Any, Any, Searcher]:
    """Run :func:`quadratic` on :func:`space` (experiment ``resumable``) for ``first_samples``
    trials, then resume it with a fresh searcher for ``total_samples``: ``(first analysis,
    second analysis, the second searcher)``."""
    kwargs: dict[str, Any] = {
        "config": space(),
        "metric": "loss",
        "mode": "min",
        "storage_path": str(tmp_path),
        "name": "resumable",
        "verbose": 0,
        **run_kwargs,
    }
    first = tune.run(quadratic, search_alg=make_searcher(), num_samples=first_samples, **kwargs)
    searcher = make_searcher()
    second = tune.run(
        quadratic, search_alg=searcher, num_samples=total_samples, resume=True, **kwargs
    )
    return first, second, searcher
