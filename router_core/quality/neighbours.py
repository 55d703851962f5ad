"""Neighbour evidence: each model's mean measured quality over the query's nearest labelled training queries."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MEMORY_DTYPE = np.float16  # stored in the artifact at half precision; fitting sees the same rounding


def unit_rows(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def as_memory(embeddings: np.ndarray) -> np.ndarray:
    """Unit sentence embeddings rounded as the artifact stores them."""
    return unit_rows(embeddings).astype(MEMORY_DTYPE).astype(np.float32)


@dataclass(frozen=True)
class NeighbourEvidence:
    """A model's column may be labelled on only some memory rows (NaN elsewhere), e.g. a model added later from a few
    queries: its neighbours are then sought among those rows only."""

    memory: np.ndarray  # (N, d) unit sentence embeddings of training queries
    memory_quality: np.ndarray  # (N, M) their measured quality, NaN where a model has no label
    n_neighbours: int

    def __post_init__(self):
        # Round as router.safetensors stores them, so a saved and re-loaded router predicts exactly the same.
        object.__setattr__(self, "memory", as_memory(self.memory))
        object.__setattr__(self, "memory_quality", np.asarray(self.memory_quality, dtype=MEMORY_DTYPE).astype(float))
        if self.memory_quality.shape[0] != self.memory.shape[0]:
            raise ValueError(f"neighbour memory has {self.memory.shape[0]} rows but {self.memory_quality.shape[0]} label rows")
        if not (isinstance(self.n_neighbours, (int, np.integer)) and self.n_neighbours >= 1):
            raise ValueError(f"n_neighbours must be a whole number >= 1, got {self.n_neighbours!r}")

    def predict(self, embeddings: np.ndarray, fallback: np.ndarray, batch: int = 512) -> np.ndarray:
        """(Q, d) sentence embeddings -> (Q, M); a model with no labelled row gets `fallback` (its prior)."""
        embeddings = unit_rows(embeddings)
        labelled = ~np.isnan(self.memory_quality)  # (N, M)
        out = np.empty((len(embeddings), self.memory_quality.shape[1]))
        # Models labelled on the same rows share one neighbour search.
        patterns, group = np.unique(labelled.T, axis=0, return_inverse=True)
        for g, rows_mask in enumerate(patterns):
            columns = np.flatnonzero(group.ravel() == g)
            rows = np.flatnonzero(rows_mask)
            if rows.size == 0:
                out[:, columns] = fallback[columns]
                continue
            k = min(self.n_neighbours, rows.size)
            bank, labels = self.memory[rows], self.memory_quality[np.ix_(rows, columns)]
            for start in range(0, len(embeddings), batch):
                sims = embeddings[start:start + batch] @ bank.T  # (B, R) cosine similarity
                nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < rows.size else np.broadcast_to(np.arange(rows.size), (len(sims), rows.size))
                out[start:start + batch][:, columns] = labels[nearest].mean(axis=1)
        return out

    def with_candidate(self, embeddings: np.ndarray, quality: np.ndarray) -> "NeighbourEvidence":
        """One more model, labelled only on its own sample queries (appended to the memory)."""
        n, m = len(embeddings), self.memory_quality.shape[1]
        old = np.hstack([self.memory_quality, np.full((len(self.memory), 1), np.nan)])
        new = np.hstack([np.full((n, m), np.nan), np.asarray(quality, dtype=float).reshape(n, 1)])
        return NeighbourEvidence(np.vstack([self.memory, embeddings]), np.vstack([old, new]), self.n_neighbours)

    def to_tensors(self) -> dict[str, np.ndarray]:
        return {"memory": self.memory.astype(MEMORY_DTYPE), "memory_quality": self.memory_quality.astype(MEMORY_DTYPE)}

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], n_neighbours: int) -> "NeighbourEvidence":
        return cls(tensors["memory"].astype(np.float32), tensors["memory_quality"].astype(float), int(n_neighbours))
