"""Task-type evidence: each model's mean quality over the query's task type, the type predicted from the text.

Needs a `category` column in the training data, and only there: at routing time a logistic regression on the sentence
embedding predicts the type, so a query needs no label. A model's mean over a few hundred queries of one type is far
steadier than any per-query estimate from 0/1 labels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router_core.quality.neighbours import unit_rows

TASK_TYPE_C = 10.0  # inverse L2 penalty of the task-type classifier (scikit-learn's C)
# A task type's mean quality counts this many pseudo-queries at the model's overall mean: rare types, and the types of
# a model added from a few samples, lean on the overall mean (for an added model: its offset from the others' type mean).
TASK_TYPE_PSEUDO_COUNT = 10.0
_NO_TASK_TYPE = {"", "nan", "none", "null"}


@dataclass(frozen=True)
class TaskTypeEvidence:
    types: tuple[str, ...]  # (T,) the training data's categories; empty: no task-type evidence
    coef: np.ndarray  # (T, d) multinomial logistic regression of the type on the sentence embedding
    intercept: np.ndarray  # (T,)
    type_quality: np.ndarray  # (T, M) each model's mean quality per type, shrunk towards its prior

    def __post_init__(self):
        object.__setattr__(self, "types", tuple(str(x) for x in self.types))
        for name in ("coef", "intercept", "type_quality"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float32))
        t = len(self.types)
        if self.coef.shape[0] != t or self.intercept.shape != (t,) or self.type_quality.shape[0] != t:
            raise ValueError(f"task-type evidence: {t} types but coef {self.coef.shape}, intercept {self.intercept.shape}, "
                             f"type quality {self.type_quality.shape}")

    @classmethod
    def empty(cls, dims: int, n_models: int) -> "TaskTypeEvidence":
        return cls((), np.zeros((0, dims)), np.zeros(0), np.zeros((0, n_models)))

    @classmethod
    def fit(cls, memory: np.ndarray, categories, quality: np.ndarray) -> "TaskTypeEvidence":
        """Classifier and per-type means; empty when there are fewer than two known types."""
        fitted = fit_task_types(memory, categories, quality)
        return cls(**fitted) if fitted else cls.empty(memory.shape[1], quality.shape[1])

    def __bool__(self) -> bool:
        return len(self.types) > 0

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """(Q, d) -> (Q, T) predicted probability of each task type."""
        return task_type_probabilities(self.coef, self.intercept, embeddings)

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        """(Q, d) -> (Q, M) each model's mean quality over the query's task type, weighted by the type's probability."""
        return self.probabilities(embeddings) @ self.type_quality.astype(float)

    def with_candidate(self, embeddings: np.ndarray, quality: np.ndarray, relative: bool) -> "TaskTypeEvidence":
        """One more model: its per-type means as offsets from the existing models' average type level.

        Its samples carry no task type of their own: each counts towards the types it is predicted to be, softly.
        Args:
            relative: offsets from the existing models' per-type average; False: from zero (raw sample means).
        """
        share = self.probabilities(embeddings) if self else np.zeros((len(embeddings), 0))  # (n, T)
        type_level = self.type_quality.astype(float).mean(axis=1) if relative else np.zeros(len(self.types))
        residual = np.asarray(quality, dtype=float) - share @ type_level  # (n,) each label against its types' level
        column = np.clip(type_level + (share.T @ residual + TASK_TYPE_PSEUDO_COUNT * residual.mean())
                         / (share.sum(axis=0) + TASK_TYPE_PSEUDO_COUNT), 0.0, 1.0)
        return TaskTypeEvidence(self.types, self.coef, self.intercept, np.hstack([self.type_quality, column.reshape(-1, 1)]))

    def to_tensors(self) -> dict[str, np.ndarray]:
        return {"coef": self.coef, "intercept": self.intercept, "type_quality": self.type_quality}

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], types) -> "TaskTypeEvidence":
        return cls(tuple(types), tensors["coef"], tensors["intercept"], tensors["type_quality"])


def task_type_probabilities(coef: np.ndarray, intercept: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
    """The task-type classifier's softmax: (T, d), (T,) and (Q, d) sentence embeddings -> (Q, T)."""
    logits = unit_rows(embeddings) @ np.asarray(coef).T + np.asarray(intercept)
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (weights / weights.sum(axis=1, keepdims=True)).astype(float)


def fit_task_types(memory: np.ndarray, categories, quality: np.ndarray) -> dict:
    """Task-type classifier and per-type mean quality at full precision (types, coef, intercept, type_quality);
    {} when there are fewer than two known types."""
    from sklearn.linear_model import (
        LogisticRegression,  # scikit-learn only when fitting
    )

    if categories is None:
        return {}
    categories = np.asarray(categories).astype(str)
    known = ~np.isin(np.char.lower(np.char.strip(categories)), list(_NO_TASK_TYPE))
    names, codes = np.unique(categories[known], return_inverse=True)
    if len(names) < 2:
        return {}
    fit = LogisticRegression(C=TASK_TYPE_C, max_iter=2000).fit(memory[known], codes)
    coef, intercept = fit.coef_, fit.intercept_
    if len(names) == 2:  # scikit-learn fits one logit for two classes: softmax over (0, z) is the same sigmoid
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.r_[0.0, intercept]
    labelled, prior = quality[known], quality.mean(axis=0)
    counts = np.bincount(codes, minlength=len(names)).astype(float)[:, None]  # (T, 1)
    sums = np.stack([labelled[codes == i].sum(axis=0) for i in range(len(names))])  # (T, M)
    return {"types": tuple(names), "coef": coef, "intercept": intercept,
            "type_quality": (sums + TASK_TYPE_PSEUDO_COUNT * prior) / (counts + TASK_TYPE_PSEUDO_COUNT)}
