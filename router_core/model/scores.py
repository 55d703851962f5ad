"""What a router predicts, as plain arrays: one query's raw scores before pricing, and the priced Scores of many."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from router_core.errors import RouterInputError


class RawScore(NamedTuple):
    """One query's scores before pricing. A tuple, so `raw[0]` … `raw[4]` index it as the score cache always did."""

    weights: np.ndarray  # (M,) routing weights, attention averaged over tokens
    quality: np.ndarray  # (M,) predicted quality in [0, 1]
    cost: np.ndarray  # (M,) standardised predicted raw cost (log USD or log answer tokens)
    attention: np.ndarray  # (L, M) token × candidate attention, real tokens only
    mean_state: np.ndarray  # (d,) mean of the encoder's token states over real tokens (not normalised)


@dataclass(frozen=True)
class Scores:
    """What the router predicts for each query, computed once and re-used for every λ and policy.

    Columns follow `candidates`. Costs are USD per request, priced by the catalog they were computed with.
    """

    queries: list[str]
    candidates: list[str]
    weights: np.ndarray  # (Q, M) routing weights (attention averaged over tokens)
    quality: np.ndarray  # (Q, M) predicted quality in [0, 1]
    cost: np.ndarray  # (Q, M) predicted USD
    input_tokens: np.ndarray  # (Q,) estimated prompt tokens
    answer_tokens: np.ndarray  # (Q, M) predicted (or typical) answer tokens
    attention: list[np.ndarray] = field(repr=False)  # per query (L_i, M): token × candidate attention

    def rows(self, index) -> "Scores":
        """These scores for the queries at `index` (a list of positions), in that order."""
        index = list(index)
        return Scores([self.queries[i] for i in index], list(self.candidates), self.weights[index], self.quality[index],
                      self.cost[index], self.input_tokens[index], self.answer_tokens[index],
                      [self.attention[i] for i in index])

    def only(self, names: list[str]) -> "Scores":
        """These scores for `names` alone, in that order (a labelled set that lacks some of the router's models)."""
        missing = [n for n in names if n not in self.candidates]
        if missing:
            raise RouterInputError(f"the router has no model {missing[0]!r}; its models are {', '.join(self.candidates)}")
        columns = [self.candidates.index(n) for n in names]

        def pick(array):
            return np.ascontiguousarray(array[:, columns])  # column indexing can leave Fortran order behind
        return Scores(self.queries, list(names), pick(self.weights), pick(self.quality), pick(self.cost),
                      self.input_tokens, pick(self.answer_tokens), [pick(a) for a in self.attention])
