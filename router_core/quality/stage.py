"""The quality stage: the network's predicted quality shrunk towards steadier evidence on the same query.

    quality = a · network + b · neighbours + c · linear + d · task type + (1 − a − b − c − d) · prior,

then, for a model added later, mixed with its peer evidence. Weights are chosen on the router's validation split
(fit.py); with little or noisy data the choice moves towards the prior, i.e. towards the best fixed model.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from router_core.quality.feedback import FeedbackEvidence
from router_core.quality.linear import LinearEvidence
from router_core.quality.neighbours import NeighbourEvidence
from router_core.quality.peer import PeerEvidence
from router_core.quality.task_type import TaskTypeEvidence

WEIGHT_NAMES = ("network", "neighbours", "linear", "task_type")


@dataclass(frozen=True)
class QualityStage:
    prior: np.ndarray  # (M,) each model's mean training quality
    neighbours: NeighbourEvidence
    linear: LinearEvidence
    task_type: TaskTypeEvidence
    peer: PeerEvidence
    network_weight: float = 0.0  # a
    neighbour_weight: float = 0.0  # b
    linear_weight: float = 0.0  # c
    task_type_weight: float = 0.0  # d
    feedback: FeedbackEvidence | None = None  # corrections learned from routed traffic (feedback.py); None: none yet

    def __post_init__(self):
        object.__setattr__(self, "prior", np.asarray(self.prior, dtype=np.float32).astype(float))
        m = len(self.prior)
        widths = {"neighbours": self.neighbours.memory_quality.shape[1], "linear": self.linear.coef.shape[0],
                  "task_type": self.task_type.type_quality.shape[1], "peer": len(self.peer.weight)}
        if self.feedback is not None:
            widths["feedback"] = self.feedback.residual.shape[1]
        wrong = {name: width for name, width in widths.items() if width != m}
        if wrong:
            raise ValueError(f"quality stage: {m} models in the prior but {wrong}")
        weights = [self.network_weight, self.neighbour_weight, self.linear_weight, self.task_type_weight]
        if not all(np.isfinite(w) and 0.0 <= w <= 1.0 for w in weights) or sum(weights) > 1.0 + 1e-6:
            raise ValueError(f"quality stage: weights must be in [0, 1] and sum to at most 1, got {weights}")
        if self.task_type_weight > 0 and not self.task_type:
            raise ValueError("quality stage: a task-type weight needs task types")

    @property
    def prior_weight(self) -> float:
        return round(max(0.0, 1.0 - self.network_weight - self.neighbour_weight - self.linear_weight - self.task_type_weight), 6)

    def predict(self, network_quality: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
        """(Q, M) network quality and (Q, d) sentence embeddings -> (Q, M) quality in [0, 1]."""
        blended = self.network_weight * np.asarray(network_quality, dtype=float) + self.prior_weight * self.prior
        if self.neighbour_weight > 0:
            blended = blended + self.neighbour_weight * self.neighbours.predict(embeddings, self.prior)
        if self.linear_weight > 0:
            blended = blended + self.linear_weight * self.linear.predict(embeddings)
        if self.task_type_weight > 0:
            blended = blended + self.task_type_weight * self.task_type.predict(embeddings)
        quality = self.peer.apply(np.clip(blended, 0.0, 1.0), self.peer.columns)
        if self.feedback is not None and len(self.feedback):
            quality = np.clip(quality + self.feedback.correction(embeddings), 0.0, 1.0)
        return quality

    def with_candidate(self, embeddings: np.ndarray, quality: np.ndarray, others_quality: np.ndarray | None = None) -> "QualityStage":
        """One more model, labelled on `embeddings` (its sample queries) only: (n, d) and (n,).

        Its levels (prior, per-type means) are estimated as offsets from the other models' average prediction on the
        same queries, not from its raw sample mean: a sample that happens to hold easy task types would otherwise
        make the newcomer look better everywhere.
        Args:
            others_quality: (n, M) this stage's predicted quality of the existing models on the same queries; without
                it, the newcomer's raw sample means are used.
        """
        quality = np.asarray(quality, dtype=float)
        relative = others_quality is not None
        sample_level = np.asarray(others_quality, dtype=float).mean(axis=1) if relative else np.zeros(len(quality))
        population_level = float(self.prior.mean()) if relative else 0.0
        prior = float(np.clip(population_level + np.mean(quality - sample_level), 0.0, 1.0))
        return replace(self, prior=np.r_[self.prior, prior], neighbours=self.neighbours.with_candidate(embeddings, quality),
                       linear=self.linear.with_candidate(prior),
                       task_type=self.task_type.with_candidate(embeddings, quality, relative),
                       peer=self.peer.with_candidate(),
                       feedback=None if self.feedback is None else self.feedback.with_candidate())

    def with_peer(self, others_quality: np.ndarray, quality: np.ndarray) -> "QualityStage":
        """The last model's peer evidence, fitted on its labelled samples (see peer.py)."""
        return replace(self, peer=self.peer.fitted_last(others_quality, quality))

    def weights(self) -> dict:
        """The blend weights and settings, as router.json records them."""
        return {"network_weight": self.network_weight, "neighbour_weight": self.neighbour_weight,
                "linear_weight": self.linear_weight, "task_type_weight": self.task_type_weight,
                "prior_weight": self.prior_weight, "n_neighbours": int(self.neighbours.n_neighbours),
                "task_types": list(self.task_type.types)}

    def to_tensors(self) -> dict[str, np.ndarray]:
        """Every array of the stage, named `<source>.<array>`; all are always present (some may be empty)."""
        tensors = {"prior": self.prior.astype(np.float32)}
        sources = [("neighbours", self.neighbours), ("linear", self.linear), ("task_type", self.task_type), ("peer", self.peer)]
        if self.feedback is not None and len(self.feedback):  # absent until the router learns from feedback
            sources.append(("feedback", self.feedback))
        for name, source in sources:
            tensors.update({f"{name}.{key}": np.ascontiguousarray(value) for key, value in source.to_tensors().items()})
        return tensors

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], weights: dict) -> "QualityStage":
        """Rebuild from `to_tensors` output and `weights()`; raises KeyError/ValueError/TypeError when incomplete."""
        def part(name):
            return {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")}

        feedback = part("feedback")
        return cls(tensors["prior"], NeighbourEvidence.from_tensors(part("neighbours"), weights["n_neighbours"]),
                   LinearEvidence.from_tensors(part("linear")),
                   TaskTypeEvidence.from_tensors(part("task_type"), weights["task_types"]),
                   PeerEvidence.from_tensors(part("peer")),
                   float(weights["network_weight"]), float(weights["neighbour_weight"]), float(weights["linear_weight"]),
                   float(weights["task_type_weight"]), FeedbackEvidence(feedback["memory"], feedback["residual"]) if feedback else None)
