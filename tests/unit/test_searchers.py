"""Searcher base, SearchGenerator, ConcurrencyLimiter, Repeater and create_searcher."""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from typing import Any

import pytest

from tunelab._trial import Trial, TrialStatus
from tunelab.search import (
    BasicVariantGenerator,
    ConcurrencyLimiter,
    Repeater,
    SearchAlgorithm,
    Searcher,
    SearchGenerator,
    TrialSuggestion,
    create_searcher,
    grid_search,
    sample_from,
    uniform,
)


@dataclass
class Exp:
    config: dict[str, Any]
    num_samples: int = 1
    name: str = "exp"


class ListSearcher(Searcher):
    """Suggests lr = 0.1, 0.2, ...; records what it is told; FINISHED after ``limit``."""

    def __init__(self, limit: int = 1000, metric: str | None = "loss", mode: str | None = "min"):
        super().__init__(metric=metric, mode=mode)
        self.limit = limit
        self.suggested: list[str] = []
        self.completed: list[tuple[str, Any, bool]] = []
        self.paused = False

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if self.paused:
            return None
        if len(self.suggested) >= self.limit:
            return Searcher.FINISHED
        self.suggested.append(trial_id)
        return {"lr": round(0.1 * len(self.suggested), 1)}

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        self.completed.append((trial_id, result, error))

    def get_state(self) -> dict[str, Any]:
        return {"suggested": list(self.suggested), "completed": self.completed}

    def set_state(self, state: dict[str, Any]) -> None:
        self.suggested = list(state["suggested"])
        self.completed = [tuple(c) for c in state["completed"]]  # type: ignore[misc]


class ResultSearcher(ListSearcher):
    def __init__(self) -> None:
        super().__init__()
        self.results: list[tuple[str, dict[str, Any]]] = []

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        self.results.append((trial_id, result))


def drain(alg: SearchAlgorithm, limit: int = 100) -> list[TrialSuggestion]:
    out = []
    for _ in range(limit):
        suggestion = alg.next_trial()
        if suggestion is None:
            break
        out.append(suggestion)
    return out


# -- Searcher base -------------------------------------------------------------------------
def test_searcher_is_abstract_and_validates_metric_and_mode() -> None:
    with pytest.raises(TypeError):
        Searcher()  # type: ignore[abstract]
    with pytest.raises(ValueError, match=r"`mode`.*'best'"):
        ListSearcher(mode="best")
    with pytest.raises(TypeError, match="`metric`"):
        ListSearcher(metric=3)  # type: ignore[arg-type]
    multi = ListSearcher(metric=["a", "b"], mode=["min", "max"])  # type: ignore[arg-type]
    assert multi.metric == ["a", "b"] and multi.mode == ["min", "max"]


def test_set_search_properties_fills_missing_metric_and_mode_only() -> None:
    searcher = ListSearcher(metric=None, mode=None)
    assert searcher.set_search_properties("acc", "max", {}) is False
    assert (searcher.metric, searcher.mode) == ("acc", "max")
    searcher.set_search_properties("loss", "min", {})
    assert (searcher.metric, searcher.mode) == ("acc", "max")


def test_optional_hooks_have_defaults() -> None:
    searcher = ListSearcher()
    assert searcher.set_max_concurrency(4) is False
    with pytest.raises(NotImplementedError):
        searcher.add_evaluated_point({"lr": 0.1}, 1.0)
    assert searcher.FINISHED == "FINISHED"


def test_save_restore_round_trip(tmp_path: Any) -> None:
    searcher = ListSearcher()
    searcher.suggest("t1")
    searcher.on_trial_complete("t1", {"loss": 1.0})
    path = str(tmp_path / "ckpt.pkl")
    searcher.save(path)
    fresh = ListSearcher()
    fresh.restore(path)
    assert fresh.suggested == ["t1"] and fresh.completed == [("t1", {"loss": 1.0}, False)]
    searcher.save_to_dir(str(tmp_path), "sess")
    assert (tmp_path / "searcher-state-sess.pkl").exists()
    other = ListSearcher()
    other.restore_from_dir(str(tmp_path))
    assert other.suggested == ["t1"]


def test_add_evaluated_trials_feeds_finished_trials() -> None:
    class Recording(ListSearcher):
        def __init__(self) -> None:
            super().__init__()
            self.points: list[tuple[Any, ...]] = []

        def add_evaluated_point(
            self,
            parameters: Any,
            value: Any,
            error: Any = False,
            pruned: Any = False,
            intermediate_values: Any = None,
        ) -> None:
            self.points.append((parameters, value, error, pruned))

    done = Trial("f", trial_id="a", config={"lr": 0.1})
    done.status, done.last_result = TrialStatus.TERMINATED, {"loss": 0.5, "done": True}
    failed = Trial("f", trial_id="b", config={"lr": 0.2})
    failed.status = TrialStatus.ERROR
    running = Trial("f", trial_id="c", config={"lr": 0.3})
    searcher = Recording()
    searcher.add_evaluated_trials([done, failed, running], "loss")
    assert searcher.points[0] == ({"lr": 0.1}, 0.5, False, False)
    assert searcher.points[1][0] == {"lr": 0.2} and searcher.points[1][2] is True
    assert len(searcher.points) == 2


# -- SearchGenerator -----------------------------------------------------------------------
def test_search_generator_lifecycle() -> None:
    searcher = ListSearcher()
    gen = SearchGenerator(searcher)
    assert gen.set_search_properties("loss", "min", {}) is False
    space = {"lr": uniform(0, 1), "twice": sample_from(lambda c: c["lr"] * 2), "const": 7}
    gen.add_configurations([Exp(space, 3)])
    assert gen.total_samples == 3 and not gen.wants_results
    out = drain(gen)
    assert len(out) == 3 and gen.is_finished()
    assert all(re.fullmatch(r"[0-9a-f]{8}", s.trial_id or "") for s in out)
    assert [s.trial_id for s in out] == searcher.suggested
    assert out[0].config == {"lr": 0.1, "twice": 0.2, "const": 7}
    assert out[0].experiment_tag == "1_lr=0.1000,twice=0.2000"
    assert out[0].evaluated_params == {"lr": 0.1, "twice": 0.2}
    gen.on_trial_complete(out[0].trial_id or "", {"loss": 3.0})
    assert searcher.completed == [(out[0].trial_id, {"loss": 3.0}, False)]


def test_tags_keep_the_digits_of_small_floats() -> None:
    from tunelab.search._resolve import clean_value

    # Ray Tune's four decimals where they say something, significant digits where not
    assert [clean_value(v) for v in (0.1, 0.0123, 0.0005, 1.0, 0.0)] == [
        "0.1000",
        "0.0123",
        "0.0005",
        "1.0000",
        "0.0000",
    ]
    assert [clean_value(v) for v in (8.1534e-05, 1e-06, -2.5e-07)] == [
        "8.153e-05",
        "1e-06",
        "-2.5e-07",
    ]


def test_search_generator_waits_on_none_and_stops_on_finished() -> None:
    searcher = ListSearcher(limit=2)
    gen = SearchGenerator(searcher)
    gen.add_configurations(Exp({}, -1))
    searcher.paused = True
    assert gen.next_trial() is None and not gen.is_finished()
    searcher.paused = False
    assert len(drain(gen)) == 2
    assert gen.is_finished() and gen.total_samples == 0


def test_search_generator_forwards_results_when_searcher_uses_them() -> None:
    searcher = ResultSearcher()
    gen = SearchGenerator(searcher)
    gen.add_configurations(Exp({}, 1))
    assert gen.wants_results
    [suggestion] = drain(gen)
    gen.on_trial_result(suggestion.trial_id or "", {"loss": 1.0})
    assert searcher.results == [(suggestion.trial_id, {"loss": 1.0})]


def test_search_generator_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="`searcher`"):
        SearchGenerator(object())  # type: ignore[arg-type]
    gen = SearchGenerator(ListSearcher())
    with pytest.raises(ValueError, match="exactly one experiment"):
        gen.add_configurations([Exp({}), Exp({})])

    class Bad(ListSearcher):
        def suggest(self, trial_id: str) -> Any:
            return [1, 2]

    bad = SearchGenerator(Bad())
    bad.add_configurations(Exp({}))
    with pytest.raises(TypeError, match="must return a dict"):
        bad.next_trial()
    grid = SearchGenerator(ListSearcher())
    grid.add_configurations(Exp({"g": grid_search([1, 2])}))
    with pytest.raises(ValueError, match="grid_search values at"):
        grid.next_trial()


def test_search_generator_state_round_trip() -> None:
    gen = SearchGenerator(ListSearcher(limit=5))
    gen.add_configurations(Exp({}, 4))
    first = drain(gen, 2)
    gen.on_trial_complete(first[0].trial_id or "", {"loss": 1.0})
    state = json.loads(json.dumps(gen.get_state()))
    resumed = SearchGenerator(ListSearcher(limit=5))
    resumed.add_configurations(Exp({}, 4))
    resumed.set_state(state)
    rest = drain(resumed)
    assert [s.config["lr"] for s in rest] == [0.3, 0.4]
    assert [s.experiment_tag.split("_")[0] for s in rest] == ["3", "4"]
    assert resumed.is_finished()


def test_searcher_state_that_json_cannot_hold_is_pickled() -> None:
    class TupleState(ListSearcher):
        def get_state(self) -> dict[str, Any]:
            return {"pairs": {(1, 2): math.inf}}

        def set_state(self, state: dict[str, Any]) -> None:
            self.restored = state

    gen = SearchGenerator(TupleState())
    state = json.loads(json.dumps(gen.get_state()))
    target = TupleState()
    SearchGenerator(target).set_state(state)
    assert target.restored == {"pairs": {(1, 2): math.inf}}


def test_searcher_with_only_save_and_restore_resumes(tmp_path: Any) -> None:
    class FileOnly(Searcher):
        def __init__(self) -> None:
            super().__init__()
            self.value = 0

        def suggest(self, trial_id: str) -> dict[str, Any]:
            self.value += 1
            return {"v": self.value}

        def save(self, checkpoint_path: str) -> None:
            with open(checkpoint_path, "w") as handle:
                handle.write(str(self.value))

        def restore(self, checkpoint_path: str) -> None:
            with open(checkpoint_path) as handle:
                self.value = int(handle.read())

    gen = SearchGenerator(FileOnly())
    gen.add_configurations(Exp({}, 5))
    drain(gen, 3)
    resumed_searcher = FileOnly()
    resumed = SearchGenerator(resumed_searcher)
    resumed.add_configurations(Exp({}, 5))
    resumed.set_state(json.loads(json.dumps(gen.get_state())))
    assert [s.config["v"] for s in drain(resumed)] == [4, 5]


def test_searcher_without_state_warns_on_restore(caplog: pytest.LogCaptureFixture) -> None:
    class Stateless(Searcher):
        def suggest(self, trial_id: str) -> dict[str, Any]:
            return {}

    state = SearchGenerator(Stateless()).get_state()
    with caplog.at_level(logging.WARNING, logger="tunelab.search"):
        SearchGenerator(Stateless()).set_state(state)
    assert "saved no state" in caplog.text


# -- ConcurrencyLimiter --------------------------------------------------------------------
def test_concurrency_limiter_caps_live_trials() -> None:
    inner = ListSearcher()
    limiter = ConcurrencyLimiter(inner, max_concurrent=2)
    assert limiter.suggest("a") is not None and limiter.suggest("b") is not None
    assert limiter.suggest("c") is None and inner.suggested == ["a", "b"]
    limiter.on_trial_complete("zzz", {"loss": 0})  # not ours: ignored
    assert limiter.suggest("c") is None
    limiter.on_trial_complete("a", {"loss": 1.0})
    assert inner.completed == [("a", {"loss": 1.0}, False)]
    assert limiter.suggest("c") == {"lr": 0.3}
    assert (limiter.metric, limiter.mode) == ("loss", "min")


def test_concurrency_limiter_batch_waits_for_the_whole_batch() -> None:
    inner = ListSearcher()
    limiter = ConcurrencyLimiter(inner, max_concurrent=2, batch=True)
    limiter.suggest("a"), limiter.suggest("b")
    limiter.on_trial_complete("a", {"loss": 1.0})
    assert inner.completed == [] and limiter.suggest("c") is None
    limiter.on_trial_complete("b", {"loss": 2.0}, error=True)
    assert [c[0] for c in inner.completed] == ["a", "b"] and inner.completed[1][2] is True
    assert limiter.suggest("c") is not None


def test_concurrency_limiter_passes_finished_through_and_tells_inner_its_limit() -> None:
    class Told(ListSearcher):
        def set_max_concurrency(self, max_concurrent: int) -> bool:
            self.told = max_concurrent
            return True

    inner = Told(limit=1)
    limiter = ConcurrencyLimiter(inner, 3)
    assert inner.told == 3
    limiter.suggest("a")
    assert limiter.suggest("b") == Searcher.FINISHED and limiter.live_trials == {"a"}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"max_concurrent": 0}, ValueError, "`max_concurrent`"),
        ({"max_concurrent": "2"}, TypeError, "`max_concurrent`"),
        ({"max_concurrent": 2, "batch": 1}, TypeError, "`batch`"),
    ],
)
def test_concurrency_limiter_validates(kwargs: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        ConcurrencyLimiter(ListSearcher(), **kwargs)
    with pytest.raises(TypeError, match="`searcher`"):
        ConcurrencyLimiter(BasicVariantGenerator(), 2)  # type: ignore[arg-type]


def test_concurrency_limiter_state_round_trip() -> None:
    limiter = ConcurrencyLimiter(ListSearcher(), 2, batch=True)
    limiter.suggest("a"), limiter.suggest("b")
    limiter.on_trial_complete("a", {"loss": 1.0})
    state = json.loads(json.dumps(limiter.get_state()))
    restored = ConcurrencyLimiter(ListSearcher(), 2, batch=True)
    restored.set_state(state)
    assert restored.live_trials == {"a", "b"}
    restored.on_trial_complete("b", {"loss": 2.0})
    inner = restored.searcher
    assert isinstance(inner, ListSearcher) and [c[0] for c in inner.completed] == ["a", "b"]


# -- Repeater ------------------------------------------------------------------------------
def test_repeater_repeats_configs_and_reports_the_mean() -> None:
    inner = ListSearcher()
    repeater = Repeater(inner, repeat=3)
    configs = [repeater.suggest(t) for t in ("a", "b", "c", "d")]
    assert configs[:3] == [{"lr": 0.1, "__trial_index__": i} for i in range(3)]
    assert configs[3] == {"lr": 0.2, "__trial_index__": 0}
    assert inner.suggested == ["a", "d"]
    repeater.on_trial_complete("a", {"loss": 1.0, "it": 5})
    repeater.on_trial_complete("b", {"loss": math.nan})
    assert inner.completed == []
    repeater.on_trial_complete("c", {"loss": 3.0, "it": 7})
    [(group_id, result, error)] = inner.completed
    assert group_id == "a" and result["loss"] == 2.0 and error is False


def test_repeater_failed_group_and_set_index_false() -> None:
    inner = ListSearcher()
    repeater = Repeater(inner, repeat=2, set_index=False)
    assert repeater.suggest("a") == {"lr": 0.1}
    repeater.suggest("b")
    repeater.on_trial_complete("a", None, error=True)
    repeater.on_trial_complete("b", None, error=True)
    assert inner.completed == [("a", None, True)]


def test_repeater_through_search_generator_and_state() -> None:
    gen = SearchGenerator(Repeater(ListSearcher(), repeat=2))
    gen.add_configurations(Exp({"x": 1}, 4))
    first = drain(gen, 3)
    assert [s.config for s in first] == [
        {"x": 1, "lr": 0.1, "__trial_index__": 0},
        {"x": 1, "lr": 0.1, "__trial_index__": 1},
        {"x": 1, "lr": 0.2, "__trial_index__": 0},
    ]
    state = json.loads(json.dumps(gen.get_state()))
    resumed = SearchGenerator(Repeater(ListSearcher(), repeat=2))
    resumed.add_configurations(Exp({"x": 1}, 4))
    resumed.set_state(state)
    [last] = drain(resumed)
    assert last.config == {"x": 1, "lr": 0.2, "__trial_index__": 1}


def test_repeater_validates_and_warns_on_num_samples(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ValueError, match="`repeat`"):
        Repeater(ListSearcher(), repeat=0)
    with pytest.raises(TypeError, match="`set_index`"):
        Repeater(ListSearcher(), set_index="yes")  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="tunelab.search"):
        Repeater(ListSearcher(), repeat=3).set_search_properties("loss", "min", {}, num_samples=4)
    assert "not a multiple" in caplog.text


# -- create_searcher -----------------------------------------------------------------------
def test_create_searcher_builds_the_variant_generator(caplog: pytest.LogCaptureFixture) -> None:
    for name in ("random", "variant_generator"):
        assert isinstance(create_searcher(name), BasicVariantGenerator)
    with caplog.at_level(logging.WARNING, logger="tunelab.search"):
        gen = create_searcher("random", max_concurrent=3, metric="loss")
    assert gen.max_concurrent == 3 and "metric" in caplog.text


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("hyperopt", "HyperOptSearch"),
        ("optuna", "OptunaSearch"),
        ("nevergrad", "NevergradSearch"),
        ("bohb", "TuneBOHB"),
    ],
)
def test_create_searcher_builds_the_adapters(name: str, cls: str) -> None:
    kwargs: dict[str, object] = {}
    if name == "nevergrad":
        nevergrad = pytest.importorskip("nevergrad")
        kwargs["optimizer"] = nevergrad.optimizers.OnePlusOne
    try:
        searcher = create_searcher(name, metric="loss", mode="min", **kwargs)
    except ImportError as exc:  # the extra is not installed: the error names it
        assert f"tunelab[{name}]" in str(exc) or "pip install" in str(exc)
        return
    assert type(searcher).__name__ == cls


def test_create_searcher_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match=r"one of \[.*'random'.*\], got 'grid'"):
        create_searcher("grid")
    with pytest.raises(TypeError, match="`name`"):
        create_searcher(3)  # type: ignore[arg-type]
