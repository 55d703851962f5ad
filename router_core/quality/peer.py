"""Peer evidence for a model added later from a few labelled queries: its labels regressed on the other models'
predicted quality for the same queries. Hard queries are hard for every model, so the others' predictions (learned
from thousands of rows) carry most of what the newcomer's few labels can say."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PEER_ALPHAS = (0.1, 1.0, 10.0, 100.0)  # chosen per newcomer by leave-one-out on its own samples
# Newcomer's quality = a quarter its own blend, three quarters the peer regression (chosen on the add-model benchmark).
PEER_WEIGHT = 0.75


@dataclass(frozen=True)
class PeerEvidence:
    coef: np.ndarray  # (M, M) row j: model j's quality regressed on earlier models' (zero elsewhere)
    intercept: np.ndarray  # (M,)
    weight: np.ndarray  # (M,) 0 for models trained with the router, PEER_WEIGHT for added ones

    def __post_init__(self):
        m = len(np.atleast_1d(self.intercept))
        for name, shape in (("coef", (m, m)), ("intercept", (m,)), ("weight", (m,))):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float32).reshape(shape))

    @classmethod
    def none(cls, n_models: int) -> "PeerEvidence":
        return cls(np.zeros((n_models, n_models)), np.zeros(n_models), np.zeros(n_models))

    @property
    def columns(self) -> np.ndarray:
        """Models that lean on their peers (the added ones)."""
        return np.flatnonzero(self.weight > 0)

    def apply(self, blended: np.ndarray, columns) -> np.ndarray:
        """(Q, M) blended quality with the peer evidence of `columns` mixed in (a copy)."""
        blended = np.array(blended, dtype=float)
        # In column order, so a model added after another reads that one's final prediction, as when it was fitted.
        for j in sorted(columns):
            peer = np.clip(blended @ self.coef[j] + self.intercept[j], 0.0, 1.0)
            blended[:, j] = (1 - self.weight[j]) * blended[:, j] + self.weight[j] * peer
        return blended

    def with_candidate(self) -> "PeerEvidence":
        """Room for one more model, not yet leaning on its peers."""
        return PeerEvidence(np.pad(self.coef, ((0, 1), (0, 1))), np.r_[self.intercept, 0.0], np.r_[self.weight, 0.0])

    def fitted_last(self, others_quality: np.ndarray, quality: np.ndarray) -> "PeerEvidence":
        """The last model's peer regression, fitted on its samples.

        Args:
            others_quality: (n, M-1) predicted quality of every earlier model on the samples.
            quality: (n,) the last model's labels there.
        """
        from sklearn.linear_model import RidgeCV  # scikit-learn only when fitting

        others_quality = np.asarray(others_quality, dtype=float)
        average = others_quality.mean(axis=1)  # (n,)
        # Regress the offset from the others' average, so the penalty shrinks towards "like them, plus a constant"
        # rather than towards the sample's own mean; the average's weight 1/(M-1) per model is added back.
        fit = RidgeCV(alphas=PEER_ALPHAS).fit(others_quality, np.asarray(quality, dtype=float) - average)
        coef, intercept, weight = self.coef.copy(), self.intercept.copy(), self.weight.copy()
        coef[-1, :-1], intercept[-1], weight[-1] = fit.coef_ + 1.0 / others_quality.shape[1], fit.intercept_, PEER_WEIGHT
        return PeerEvidence(coef, intercept, weight)

    def to_tensors(self) -> dict[str, np.ndarray]:
        return {"coef": self.coef, "intercept": self.intercept, "weight": self.weight}

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray]) -> "PeerEvidence":
        return cls(tensors["coef"], tensors["intercept"], tensors["weight"])
