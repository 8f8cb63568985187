"""Genetic search (Ray Tune 0.x-1.x's ``ray.tune.automl.GeneticSearch``)."""

from __future__ import annotations

import logging
import numbers
from collections.abc import Sequence
from typing import Any

from tunelab.automl._policy import AutoMLSearcher, AutoMLTrial
from tunelab.automl._space import SearchSpace, hot_index, one_hot

__all__ = ["GeneticSearch"]

logger = logging.getLogger("tunelab.automl")
LOGGING_PREFIX = "[GENETIC SEARCH] "

Gene = list[Any]  # one one-hot numpy vector per parameter of the SearchSpace


class GeneticSearch(AutoMLSearcher):
    """Evolve a population of configs, generation by generation.

    Each config is a *gene*: one one-hot vector per parameter of ``search_space`` (see
    :class:`~tunelab.automl.SearchSpace`). The first generation is ``population_size``
    random genes; each generation is one round of trials (one trial per gene and
    experiment). When a generation has completed, its genes are ranked by their trials'
    best ``reward_attr`` (maximised; trials that never reported it rank last) and the next
    generation is bred from the best of them:

    - its size is ``int(max(previous size * population_decay, 3))``;
    - the top ``int(max(size * keep_top_ratio, 2))`` genes (the *candidates*) pass unchanged;
    - every other gene comes from the candidates by *selection* (with probability
      ``selection_bound``: a candidate with one parameter taken from another), *crossover*
      (with probability ``crossover_bound``: the first parameters of one candidate, the rest
      of another, cut between 30% and 70% of the parameters) or else *mutation* (a candidate
      with ``max(10% of the parameters, 1)`` of them changed to another choice).

    The search ends after ``max_generation`` generations. ``seed`` (keyword-only, not in
    Ray Tune) fixes the random draws. All arguments are checked at construction.
    """

    def __init__(
        self,
        search_space: SearchSpace,
        reward_attr: str,
        max_generation: int = 2,
        population_size: int = 10,
        population_decay: float = 0.95,
        keep_top_ratio: float = 0.2,
        selection_bound: float = 0.4,
        crossover_bound: float = 0.4,
        *,
        seed: object = None,
    ) -> None:
        super().__init__(search_space, reward_attr, seed=seed)
        for argument, value in (
            ("max_generation", max_generation),
            ("population_size", population_size),
        ):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"`{argument}` must be an int >= 1, got {value!r}")
        if not _is_real(population_decay) or population_decay <= 0:
            raise ValueError(
                f"`population_decay` must be a number > 0 (the next generation's size over the "
                f"last one's), got {population_decay!r}"
            )
        for argument, ratio in (
            ("keep_top_ratio", keep_top_ratio),
            ("selection_bound", selection_bound),
            ("crossover_bound", crossover_bound),
        ):
            if not _is_real(ratio) or not 0 <= ratio <= 1:
                raise ValueError(f"`{argument}` must be a number in [0, 1], got {ratio!r}")
        self._cur_generation = 1
        self._max_generation = int(max_generation)
        self._population_size = int(population_size)
        self._population_decay = float(population_decay)
        self._keep_top_ratio = float(keep_top_ratio)
        self._selection_bound = float(selection_bound)
        self._crossover_bound = float(crossover_bound)
        self._cur_encoding_list: list[Gene] = [
            self.search_space.generate_random_one_hot_encoding(self._rng)
            for _ in range(self._population_size)
        ]
        self._cur_config_list = [
            self.search_space.apply_one_hot_encoding(gene) for gene in self._cur_encoding_list
        ]

    @property
    def total_samples(self) -> int:
        """Trials the whole search runs: the sizes of its ``max_generation`` generations, for
        each experiment."""
        size, total = self._population_size, 0
        for _ in range(self._max_generation):
            total += size
            size = self._next_population_size(size)
        return total * max(len(self.experiment_list), 1)

    # -- the round policy ------------------------------------------------------------------
    def _select(self) -> tuple[list[dict[str, Any]], list[Any] | None]:
        logger.info(
            LOGGING_PREFIX + "Generate the %sth generation, population=%s",
            self._cur_generation,
            len(self._cur_config_list),
        )
        return list(self._cur_config_list), [_copy_gene(g) for g in self._cur_encoding_list]

    def _feedback(self, trials: list[AutoMLTrial]) -> str:
        self._cur_generation += 1
        if self._cur_generation > self._max_generation:
            return self.TERMINATE
        self._cur_encoding_list = self._next_generation(self._rank(trials))
        self._cur_config_list = [
            self.search_space.apply_one_hot_encoding(gene) for gene in self._cur_encoding_list
        ]
        return self.CONTINUE

    def _rank(self, trials: list[AutoMLTrial]) -> list[Gene]:
        """The round's genes, best reward first (a gene's reward: the best of its trials, one
        per experiment; never reported: last; ties keep the round's order)."""
        scores: dict[int, tuple[float, Gene]] = {}
        for trial in trials:
            reward = float("-inf")
            if trial.best_result is not None:
                reward = float(trial.best_result[self.reward_attr])
            known = scores.get(trial.config_index)
            if known is None or reward > known[0]:
                scores[trial.config_index] = (reward, trial.extra_arg)
        ranked = sorted(scores.values(), key=lambda item: item[0], reverse=True)
        return [gene for _, gene in ranked]

    def _next_generation(self, sorted_genes: Sequence[Gene]) -> list[Gene]:
        """The next generation bred from ``sorted_genes`` (best first); see the class
        docstring. Ray Tune passed the sorted trials; this takes their genes."""
        if not sorted_genes:  # nothing ran: start again from random genes
            return [
                self.search_space.generate_random_one_hot_encoding(self._rng)
                for _ in range(self._next_population_size(len(self._cur_encoding_list)))
            ]
        num_population = self._next_population_size(len(self._cur_encoding_list))
        top_num = int(max(num_population * self._keep_top_ratio, 2))
        candidate = [_copy_gene(gene) for gene in sorted_genes[:top_num]]
        next_generation = [_copy_gene(gene) for gene in candidate]
        for _ in range(len(candidate), num_population):
            flip_coin = self._rng.random()
            if flip_coin < self._selection_bound:
                next_generation.append(self._selection(candidate))
            elif flip_coin < self._selection_bound + self._crossover_bound:
                next_generation.append(self._crossover(candidate))
            else:
                next_generation.append(self._mutation(candidate))
        return next_generation

    def _next_population_size(self, last_population_size: int) -> int:
        """``int(max(last_population_size * population_decay, 3))``."""
        return int(max(last_population_size * self._population_decay, 3))

    # -- the genetic operators (each returns a new gene; the candidates are never changed) --
    def _selection(self, candidate: Sequence[Gene]) -> Gene:
        """A copy of one candidate with the vector of one parameter taken from another."""
        first = self._rng.randrange(len(candidate))
        second = self._rng.randrange(len(candidate))
        index = self._rng.randrange(len(candidate[first]))
        logger.debug(
            LOGGING_PREFIX + "Perform selection from %sth to %sth at index=%s",
            second,
            first,
            index,
        )
        gene = _copy_gene(candidate[first])
        gene[index] = candidate[second][index].copy()
        return gene

    def _crossover(self, candidate: Sequence[Gene]) -> Gene:
        """The vectors of one candidate up to a cut, those of another after it; the cut is
        at ``int(len * uniform(0.3, 0.7))``."""
        first = self._rng.randrange(len(candidate))
        second = self._rng.randrange(len(candidate))
        size = len(candidate[first])
        cut = int(size * self._rng.uniform(0.3, 0.7))
        logger.debug(
            LOGGING_PREFIX + "Perform crossover between %sth and %sth at index=%s",
            first,
            second,
            cut,
        )
        return [
            (candidate[second][i] if i > cut else candidate[first][i]).copy() for i in range(size)
        ]

    def _mutation(self, candidate: Sequence[Gene], rate: float = 0.1) -> Gene:
        """A copy of one candidate with ``int(max(len * rate, 1))`` parameters (drawn with
        replacement) moved to another of their choices (kept when it has only one)."""
        chosen = self._rng.randrange(len(candidate))
        gene = _copy_gene(candidate[chosen])
        changed = []
        for _ in range(int(max(len(gene) * rate, 1))):
            index = self._rng.randrange(len(gene))
            changed.append(index)
            space = self.search_space.param_list[index]
            size = space.choices_count()
            current = hot_index(gene[index], space)
            if size > 1:
                new = self._rng.randrange(size - 1)
                gene[index] = one_hot(size, new if new < current else new + 1)
        logger.debug(LOGGING_PREFIX + "Perform mutation on %sth at index=%s", chosen, changed)
        return gene

    # -- state -----------------------------------------------------------------------------
    def _policy_state(self) -> dict[str, Any]:
        return {
            "generation": self._cur_generation,
            "population": [self._gene_indices(gene) for gene in self._cur_encoding_list],
        }

    def _set_policy_state(self, state: dict[str, Any]) -> None:
        self._cur_generation = int(state["generation"])
        self._cur_encoding_list = [self._gene_from_indices(g) for g in state["population"]]
        self._cur_config_list = [
            self.search_space.apply_one_hot_encoding(gene) for gene in self._cur_encoding_list
        ]


def _copy_gene(gene: Sequence[Any]) -> Gene:
    return [vector.copy() for vector in gene]


def _is_real(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Real)
