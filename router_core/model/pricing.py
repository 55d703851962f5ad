"""From the network's standardised cost output to USD per call, at the router's prices or edited ones."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from router_core.data.catalog import Candidate, Catalog
from router_core.errors import RouterInputError

COST_MODES = ("tokens", "usd")


@dataclass(frozen=True)
class Pricing:
    """How a router turns its cost head into USD.

    "tokens": the head predicts log answer length and the catalog prices it (a price change needs no retraining);
    "usd": the head predicts log USD directly (no catalog, or no token counts in the training data).
    """

    candidates: tuple[str, ...]
    catalog: Catalog | None
    cost_mode: str
    cost_standardise: tuple[float, float]  # (mean, sd) of the raw cost target

    def __post_init__(self):
        object.__setattr__(self, "candidates", tuple(str(c) for c in self.candidates))
        if len(set(self.candidates)) != len(self.candidates) or not self.candidates:
            raise RouterInputError(f"pricing: candidate names must be unique and non-empty, got {list(self.candidates)}")
        if self.cost_mode not in COST_MODES:
            raise RouterInputError(f"pricing: cost_mode must be one of {', '.join(COST_MODES)}, got {self.cost_mode!r}")
        if self.cost_mode == "tokens" and self.catalog is None:
            raise RouterInputError("pricing: cost_mode 'tokens' needs a catalog to price answer lengths")
        if self.catalog is not None and list(self.catalog.names) != list(self.candidates):
            raise RouterInputError(f"pricing: catalog models {', '.join(self.catalog.names)} differ from the candidates "
                                   f"{', '.join(self.candidates)}")
        mean, sd = (float(x) for x in self.cost_standardise)
        if not (math.isfinite(mean) and math.isfinite(sd) and sd > 0):
            raise RouterInputError(f"pricing: cost_standardise must be a finite mean and a positive sd, got {self.cost_standardise}")
        object.__setattr__(self, "cost_standardise", (mean, sd))

    @classmethod
    def fit(cls, candidates, catalog: Catalog | None, cost: np.ndarray, output_tokens: np.ndarray | None) -> tuple["Pricing", np.ndarray]:
        """The pricing for a training set, and its standardised (Q, M) cost target for the network."""
        mode = "tokens" if (catalog is not None and output_tokens is not None) else "usd"
        raw = np.log1p(output_tokens) if mode == "tokens" else np.log(np.maximum(cost, 1e-12))
        pricing = cls(tuple(candidates), catalog, mode, (float(raw.mean()), float(raw.std() + 1e-6)))
        return pricing, pricing.standardise(cost, output_tokens)

    def standardise(self, cost: np.ndarray, output_tokens: np.ndarray | None) -> np.ndarray:
        """Measured USD (or answer tokens, in "tokens" mode) -> the network's cost target."""
        if self.cost_mode == "tokens" and output_tokens is None:
            raise RouterInputError("this router predicts answer length, so the labelled rows need output_tokens")
        raw = np.log1p(output_tokens) if self.cost_mode == "tokens" else np.log(np.maximum(cost, 1e-12))
        return (raw - self.cost_standardise[0]) / self.cost_standardise[1]

    def catalog_for(self, catalog: Catalog | None) -> Catalog | None:
        """The prices to use: the router's own, or `catalog`'s for its candidates."""
        if catalog is None:
            return self.catalog
        missing = [c for c in self.candidates if c not in catalog.names]
        if missing:
            raise RouterInputError(f"catalog: has no price for {', '.join(missing)}")
        return catalog.subset(list(self.candidates))

    def price(self, standardised: np.ndarray, input_tokens: np.ndarray, catalog: Catalog | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(Q, M) cost-head output -> (Q, M) USD and (Q, M) answer tokens (typical lengths, or NaN, in "usd" mode)."""
        predicted = np.asarray(standardised, dtype=np.float64) * self.cost_standardise[1] + self.cost_standardise[0]
        catalog = self.catalog_for(catalog)
        if self.cost_mode == "tokens":
            answer_tokens = np.maximum(np.expm1(predicted), 0.0)
            return catalog.cost_matrix(input_tokens, answer_tokens), answer_tokens
        cost = np.exp(predicted)
        if catalog is None:
            return cost, np.full_like(cost, np.nan)
        answer_tokens = np.tile([c.typical_output_tokens for c in catalog.candidates], (len(cost), 1)).astype(float)
        if self.catalog is not None and catalog is not self.catalog:  # scale by the change in the typical call's price
            cost = cost * (catalog.cost_matrix([1000.0]) / np.maximum(self.catalog.cost_matrix([1000.0]), 1e-15))
        return cost, answer_tokens

    def repriced(self, cost: np.ndarray, input_tokens: np.ndarray, answer_tokens: np.ndarray, priced_at: Catalog,
                 catalog: Catalog) -> np.ndarray:
        """(Q, M) USD that `price` gave at `priced_at`'s prices -> the same predictions at `catalog`'s, as `price`
        would give them: stored scores follow a price edit without encoding anything again."""
        catalog, before = self.catalog_for(catalog), priced_at.subset(list(self.candidates))
        if catalog.to_dict() == before.to_dict():
            return cost
        if self.cost_mode == "tokens":
            return catalog.cost_matrix(input_tokens, answer_tokens)
        return cost * (catalog.cost_matrix([1000.0]) / np.maximum(before.cost_matrix([1000.0]), 1e-15))

    def with_candidate(self, name: str, candidate: Candidate | None) -> "Pricing":
        if self.catalog is not None and candidate is None:
            raise RouterInputError(f"adding {name!r}: this router prices costs from its catalog, so give the new model's prices")
        catalog = (Catalog(tuple(self.catalog.candidates) + (candidate,), self.catalog.aggregator)
                   if self.catalog is not None else None)
        return Pricing(self.candidates + (name,), catalog, self.cost_mode, self.cost_standardise)

    def to_dict(self) -> dict:
        return {"candidates": list(self.candidates), "catalog": self.catalog.to_dict() if self.catalog is not None else None,
                "cost_mode": self.cost_mode, "cost_standardise": list(self.cost_standardise)}
