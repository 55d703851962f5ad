"""Feedback evidence: how far the router's predicted quality was off on routed traffic, near this query.

Feedback labels one model per query (the one it was routed to), so it cannot retrain a blend chosen on full labels.
It can correct it: each feedback row keeps its query's embedding and, for the models it has labels for, the residual
(label − the router's prediction at the time). A query's correction for model j is the kernel-weighted mean residual of
the nearest rows labelled for j, weights exp(−(1 − cosine) / BANDWIDTH), shrunk by a pseudo-count: with no close
feedback the correction is ~0 and the router decides as before; with many close rows it moves the prediction by their
mean residual.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router_core.quality.neighbours import as_memory, unit_rows

NEAREST = 20  # feedback rows a correction reads per model
BANDWIDTH = 0.2  # cosine distance at which a row's weight falls to 1/e: wide enough to reach other queries of a new task type
PSEUDO_COUNT = 2.0  # weight of "no correction": two very close rows move a prediction by two thirds of their residual


@dataclass(frozen=True)
class FeedbackEvidence:
    memory: np.ndarray  # (F, d) unit embeddings of queries with feedback
    residual: np.ndarray  # (F, M) label − predicted quality, NaN where the row has no label for the model

    def __post_init__(self):
        object.__setattr__(self, "memory", np.asarray(self.memory, dtype=np.float32))
        object.__setattr__(self, "residual", np.asarray(self.residual, dtype=np.float32))
        if self.residual.ndim != 2 or self.memory.ndim != 2 or len(self.memory) != len(self.residual):
            raise ValueError(f"feedback evidence: memory {self.memory.shape} and residual {self.residual.shape} do not fit")

    @classmethod
    def empty(cls, dims: int, n_models: int) -> "FeedbackEvidence":
        return cls(np.zeros((0, dims), np.float32), np.zeros((0, n_models), np.float32))

    def __len__(self) -> int:
        return len(self.memory)

    def correction(self, embeddings: np.ndarray) -> np.ndarray:
        """(Q, d) -> (Q, M) the amount to add to each model's predicted quality (0 without feedback)."""
        q, m = len(embeddings), self.residual.shape[1]
        out = np.zeros((q, m))
        if not len(self) or not q:
            return out
        similarity = unit_rows(np.asarray(embeddings, dtype=np.float32)) @ self.memory.T  # (Q, F)
        kernel = np.exp(-(1.0 - similarity) / BANDWIDTH)
        for j in range(m):
            rows = np.flatnonzero(~np.isnan(self.residual[:, j]))
            if not len(rows):
                continue
            weights = kernel[:, rows]
            if len(rows) > NEAREST:
                keep = np.argpartition(-weights, NEAREST - 1, axis=1)[:, :NEAREST]
                weights = np.take_along_axis(weights, keep, axis=1)
                residuals = self.residual[rows][keep, j]
            else:
                residuals = np.broadcast_to(self.residual[rows, j], weights.shape)
            out[:, j] = (weights * residuals).sum(axis=1) / (weights.sum(axis=1) + PSEUDO_COUNT)
        return out

    def with_rows(self, embeddings: np.ndarray, residual: np.ndarray) -> "FeedbackEvidence":
        return FeedbackEvidence(np.vstack([self.memory, as_memory(embeddings)]), np.vstack([self.residual, residual]))

    def with_candidate(self) -> "FeedbackEvidence":
        return FeedbackEvidence(self.memory, np.hstack([self.residual, np.full((len(self), 1), np.nan, np.float32)]))

    def to_tensors(self) -> dict[str, np.ndarray]:
        return {"memory": self.memory, "residual": self.residual}
