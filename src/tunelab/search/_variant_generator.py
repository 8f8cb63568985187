"""Grid and random search: :class:`BasicVariantGenerator` and :func:`generate_variants`."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tunelab.search._common import seed_from_random_state
from tunelab.search._domain import default_seed
from tunelab.search._resolve import (
    Path,
    RecursiveDependencyError,
    SpacePlan,
    apply_point,
    count_grid_variants,
    flatten_resolved_vars,
    format_vars,
    iter_sample,
)
from tunelab.search._search_algorithm import (
    SearchAlgorithm,
    TrialSuggestion,
    as_experiment_list,
    experiment_fields,
)

__all__ = [
    "BasicVariantGenerator",
    "RecursiveDependencyError",
    "count_grid_variants",
    "flatten_resolved_vars",
    "format_vars",
    "generate_variants",
]

_STATE_VERSION = 1


def generate_variants(
    unresolved_spec: Any,
    constant_grid_search: bool = False,
    random_state: object = None,
) -> Iterator[tuple[dict[Path, Any], Any]]:
    """Yield ``(resolved_vars, config)`` for every grid combination of ``unresolved_spec``.

    One sample of the space, as :class:`BasicVariantGenerator` draws it: each grid
    combination once, random domains drawn, ``sample_from`` values computed.
    ``unresolved_spec`` itself is never modified.

    Args:
        unresolved_spec: The search space (a config that may hold domains, grids and
            ``sample_from`` values at any depth).
        constant_grid_search: ``True``: draw the random domains once and keep them for
            every grid combination. ``False`` (default): draw them again for each.
        random_state: An int seed, a :class:`random.Random` (used directly), a numpy
            ``Generator``/``RandomState`` or ``None``. The same seed gives the same configs
            in the same order. ``None`` draws the seed from numpy's global generator when
            numpy is loaded (``np.random.seed(n)`` repeats the variants, as in Ray Tune),
            else from the ``random`` module.

    Yields:
        Pairs ``(resolved_vars, config)``. ``resolved_vars`` maps the path of each drawn
        or enumerated value (a tuple of keys) to the value; ``config`` is the resolved
        config.

    Raises:
        TypeError: ``random_state`` is of another type.
        RecursiveDependencyError: ``sample_from`` values depend on each other in a cycle.
    """
    rng = random_state if isinstance(random_state, random.Random) else None
    if rng is None:
        rng = random.Random(seed_from_random_state(default_seed(random_state)))
    yield from iter_sample(SpacePlan(unresolved_spec), rng, bool(constant_grid_search))


_BLOCK = 256


class _Stream:
    """The lazily generated variants of one experiment.

    Samples (one pass over the grid each) draw from a ``random.Random`` seeded from
    ``(seed, experiment index, k // 256)`` and shared by the 256 samples of that block, so a
    position ``(k, offset)`` is enough to continue after a restart: at most 255 samples are
    regenerated to get there. The first samples are the ``points_to_evaluate``.
    """

    def __init__(
        self,
        experiment: Any,
        index: int,
        seed: int,
        points: list[dict[str, Any]],
        constant_grid_search: bool,
    ) -> None:
        _, config, num_samples = experiment_fields(experiment)
        self.experiment = experiment
        self._seed_base = ((seed % 2**64) << 64) + (index << 40)
        self._constant = constant_grid_search
        self._plan = SpacePlan(config)
        self._point_plans = [SpacePlan(apply_point(config, point)) for point in points]
        self._per_sample = count_grid_variants(config)
        self._point_counts = [count_grid_variants(plan.template) for plan in self._point_plans]
        self.unbounded = num_samples == -1
        remaining = 0 if self.unbounded else max(num_samples - len(points), 0)
        self.num_samples = len(points) + remaining
        self.sample_index = 0
        self.offset = 0
        self._iterator: Iterator[tuple[dict[Path, Any], Any]] | None = None
        self._rng = random.Random()

    @property
    def total(self) -> int:
        remaining = self.num_samples - len(self._point_plans)
        return sum(self._point_counts) + remaining * self._per_sample

    @property
    def exhausted(self) -> bool:
        return not self.unbounded and self.sample_index >= self.num_samples

    def _count(self, k: int) -> int:
        return self._point_counts[k] if k < len(self._point_counts) else self._per_sample

    def _open(self, k: int) -> Iterator[tuple[dict[Path, Any], Any]]:
        """Iterate sample ``k``; samples must be opened in order (they share the block rng)."""
        if k % _BLOCK == 0:
            self._rng.seed(self._seed_base + k // _BLOCK)
        plan = self._point_plans[k] if k < len(self._point_plans) else self._plan
        return iter_sample(plan, self._rng, self._constant)

    def next(self) -> tuple[dict[Path, Any], Any] | None:
        while not self.exhausted:
            if self._iterator is None:
                self._iterator = self._open(self.sample_index)
            item = next(self._iterator, None)
            if item is not None:
                self.offset += 1
                if self.offset >= self._count(self.sample_index):
                    self._advance()
                return item
            self._advance()
        return None

    def _advance(self) -> None:
        self._iterator = None
        self.sample_index += 1
        self.offset = 0

    def seek(self, sample_index: int, offset: int) -> None:
        """Continue at variant ``offset`` of sample ``sample_index`` (regenerating up to it)."""
        self._iterator = None
        start = sample_index - sample_index % _BLOCK
        for k in range(start, sample_index):
            for _ in self._open(k):
                pass
        self.sample_index, self.offset = sample_index, 0
        if self.exhausted:
            return
        self._iterator = self._open(sample_index)
        for _ in range(offset):
            if next(self._iterator, None) is None:
                break
            self.offset += 1
        if self.offset and self.offset >= self._count(sample_index):
            self._advance()


class BasicVariantGenerator(SearchAlgorithm):
    """Grid search and random search over a config (the default search algorithm).

    Each experiment yields ``num_samples`` samples of its search space (``-1``: until the
    experiment is stopped); a sample is every grid combination, with random domains drawn again
    for each combination unless ``constant_grid_search=True`` holds them over the grid.

    Variants are generated lazily, one per :meth:`next_trial`. Trial ids are
    ``<5 hex chars>_<5-digit counter>``, experiment tags ``<counter>_<k=v,...>``. The state is
    the seed and the position in each experiment, so a restored generator continues exactly
    where it stopped without regenerating what came before.

    Args:
        points_to_evaluate: Configs, possibly partial and nested, to run first, each using
            one of the ``num_samples``; what a point leaves out is sampled from the space
            and grids it does not set are enumerated for it. A value outside its domain only
            logs a warning. ``None`` (default): none.
        max_concurrent: At most this many trials suggested but not yet completed. ``0``
            (default): no limit of its own (the resources and ``max_concurrent_trials``
            still apply).
        constant_grid_search: ``True``: draw the random domains once per sample and keep
            them for all of that sample's grid combinations. ``False`` (default): draw them
            for each combination.
        random_state: An int seed, a :class:`random.Random`, a numpy
            ``Generator``/``RandomState`` or ``None`` (default). A seed fixes the configs
            and their order. With ``None`` the seed is drawn when the generator is built,
            from numpy's global generator if numpy is loaded (so ``np.random.seed(n)``
            before ``tune.run`` repeats the configs, as in Ray Tune), else from the
            ``random`` module.

    Raises:
        TypeError: ``points_to_evaluate`` is not a list of dicts, ``max_concurrent`` is not
            an int, ``constant_grid_search`` is not a bool, or ``random_state`` is of
            another type.
        ValueError: ``max_concurrent`` is negative.
    """

    wants_results = False
    #: The file name :meth:`save_to_dir` writes (``{}`` is the session string).
    CKPT_FILE_TMPL = "basic-variant-state-{}.json"

    def __init__(
        self,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
        max_concurrent: int = 0,
        constant_grid_search: bool = False,
        random_state: object = None,
    ) -> None:
        super().__init__()
        self.points_to_evaluate = _check_points(points_to_evaluate)
        if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int):
            raise TypeError(f"`max_concurrent` must be an int >= 0, got {max_concurrent!r}")
        if max_concurrent < 0:
            raise ValueError(f"`max_concurrent` must be >= 0 (0: no limit), got {max_concurrent}")
        if not isinstance(constant_grid_search, bool):
            raise TypeError(f"`constant_grid_search` must be a bool, got {constant_grid_search!r}")
        self.max_concurrent = max_concurrent
        self.constant_grid_search = constant_grid_search
        self.random_state = random_state
        self._seed = seed_from_random_state(default_seed(random_state))
        self._uuid_prefix = uuid.uuid4().hex[:5]
        self._streams: list[_Stream] = []
        self._current = 0
        self._counter = 0
        self._live: set[str] = set()
        self._pending_positions: list[list[int]] = []

    def add_configurations(self, experiments: Any) -> None:
        for experiment in as_experiment_list(experiments):
            stream = _Stream(
                experiment,
                len(self._streams),
                self._seed,
                self.points_to_evaluate,
                self.constant_grid_search,
            )
            if len(self._streams) < len(self._pending_positions):
                stream.seek(*self._pending_positions[len(self._streams)])
            self._streams.append(stream)

    def next_trial(self) -> TrialSuggestion | None:
        if self._finished or (self.max_concurrent and len(self._live) >= self.max_concurrent):
            return None
        streams = self._streams
        while self._current < len(streams):
            stream = streams[self._current]
            item = stream.next()
            if item is None:
                self._current += 1
                continue
            resolved_vars, config = item
            counter = self._counter
            self._counter = counter + 1
            trial_id = f"{self._uuid_prefix}_{counter:05d}"
            tag = f"{counter}_{format_vars(resolved_vars)}" if resolved_vars else str(counter)
            if self.max_concurrent:
                self._live.add(trial_id)
            return TrialSuggestion(
                config, tag, flatten_resolved_vars(resolved_vars), stream.experiment, trial_id
            )
        return None

    def is_finished(self) -> bool:
        if self._finished:
            return True
        while self._current < len(self._streams) and self._streams[self._current].exhausted:
            self._current += 1
        return bool(self._streams) and self._current >= len(self._streams)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        self._live.discard(trial_id)

    @property
    def total_samples(self) -> int:
        if any(stream.unbounded for stream in self._streams):
            return 0
        return sum(stream.total for stream in self._streams)

    def get_state(self) -> dict[str, Any]:
        return {
            "version": _STATE_VERSION,
            "uuid_prefix": self._uuid_prefix,
            "seed": self._seed,
            "counter": self._counter,
            "finished": self._finished,
            "positions": [[s.sample_index, s.offset] for s in self._streams],
            "live": sorted(self._live),
        }

    def get_state_changes(self, since: Any = None) -> tuple[Any, list[list[Any]] | None] | None:
        """Whether :meth:`get_state` changed since the mark ``since`` (for the
        experiment-state journal, which asks after every loop step that may have changed
        it: a comparison of a few numbers instead of taking and encoding the state).

        Args:
            since: A mark an earlier call returned, or None (no mark yet).

        Returns:
            ``(mark, ops)``: ``ops`` is ``[]`` when nothing changed since ``since``, None
            when something did or ``since`` is not such a mark (take the state whole). None
            instead of a pair when a subclass has its own ``get_state`` or ``set_state``.
        """
        cls = type(self)
        if (
            cls.get_state is not BasicVariantGenerator.get_state
            or cls.set_state is not BasicVariantGenerator.set_state
        ):
            return None
        # everything get_state holds, as values that compare at C speed
        mark = (
            self._uuid_prefix,
            self._seed,
            self._counter,
            self._finished,
            tuple([(s.sample_index, s.offset) for s in self._streams]),
            frozenset(self._live),
        )
        return mark, ([] if since == mark else None)

    def set_state(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict) or state.get("version") != _STATE_VERSION:
            raise ValueError(
                f"`state` must be a BasicVariantGenerator state of version {_STATE_VERSION}, "
                f"got {state!r}"
            )
        self._uuid_prefix = str(state["uuid_prefix"])
        self._seed = int(state["seed"])
        self._counter = int(state["counter"])
        self._finished = bool(state["finished"])
        self._live = set(state["live"])
        self._pending_positions = [[int(k), int(offset)] for k, offset in state["positions"]]
        # streams added before the restore are rebuilt with the restored seed
        experiments = [stream.experiment for stream in self._streams]
        self._streams, self._current = [], 0
        self.add_configurations(experiments)

    def __getstate__(self) -> dict[str, Any]:
        # the lazy iterators cannot be pickled: keep the experiments and the position instead
        state = self.__dict__.copy()
        state["_streams"] = []
        state["_experiments"] = [stream.experiment for stream in self._streams]
        state["_saved"] = self.get_state()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        experiments = state.pop("_experiments")
        saved = state.pop("_saved")
        self.__dict__.update(state)
        self.set_state(saved)
        self.add_configurations(experiments)


def _check_points(points: Any) -> list[dict[str, Any]]:
    if points is None:
        return []
    if isinstance(points, Mapping) or not isinstance(points, Sequence) or isinstance(points, str):
        raise TypeError(f"`points_to_evaluate` must be a list of config dicts, got {points!r}")
    checked = []
    for index, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise TypeError(
                f"`points_to_evaluate[{index}]` must be a dict (a partial config), got {point!r}"
            )
        checked.append(dict(point))
    return checked
