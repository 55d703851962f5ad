"""Linear evidence: a ridge regression of each model's quality on the query's sentence embedding."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router_core.quality.neighbours import unit_rows

RIDGE_ALPHA = 1.0  # the linear baseline's


@dataclass(frozen=True)
class LinearEvidence:
    coef: np.ndarray  # (M, d)
    intercept: np.ndarray  # (M,)

    def __post_init__(self):
        object.__setattr__(self, "coef", np.asarray(self.coef, dtype=np.float32))
        object.__setattr__(self, "intercept", np.asarray(self.intercept, dtype=np.float32))
        if self.coef.ndim != 2 or self.intercept.shape != (self.coef.shape[0],):
            raise ValueError(f"linear evidence: coef {self.coef.shape} and intercept {self.intercept.shape} do not fit")

    @classmethod
    def fit(cls, memory: np.ndarray, quality: np.ndarray) -> "LinearEvidence":
        from sklearn.linear_model import (
            Ridge,  # scikit-learn only when fitting; routing needs numpy alone
        )

        model = Ridge(alpha=RIDGE_ALPHA).fit(memory, quality)
        return cls(np.atleast_2d(model.coef_), np.atleast_1d(model.intercept_))

    @classmethod
    def constant(cls, level: np.ndarray, dims: int) -> "LinearEvidence":
        """No slope: every query gets `level` (M,)."""
        return cls(np.zeros((len(level), dims), np.float32), np.asarray(level, dtype=np.float32))

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        """(Q, d) -> (Q, M), clipped to [0, 1]."""
        return np.clip(unit_rows(embeddings) @ self.coef.T + self.intercept, 0.0, 1.0).astype(float)

    def with_candidate(self, level: float) -> "LinearEvidence":
        """Too few labels for a regression over every embedding dimension: the newcomer's linear evidence is its level."""
        return LinearEvidence(np.vstack([self.coef, np.zeros((1, self.coef.shape[1]))]), np.r_[self.intercept, level])

    def to_tensors(self) -> dict[str, np.ndarray]:
        return {"coef": self.coef, "intercept": self.intercept}

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray]) -> "LinearEvidence":
        return cls(tensors["coef"], tensors["intercept"])
