"""Choosing the quality stage's weights on the router's validation split (never on test data)."""
from __future__ import annotations

import numpy as np

from .linear import LinearEvidence
from .neighbours import NeighbourEvidence, as_memory
from .peer import PeerEvidence
from .stage import QualityStage
from .task_type import TaskTypeEvidence

NEIGHBOUR_COUNTS = (10, 20, 50, 100)
WEIGHT_STEP = 0.1


def build_stage(memory: np.ndarray, quality: np.ndarray, n_neighbours: int, weights=(0.0, 0.0, 0.0, 0.0), linear=None,
                task_type=None) -> QualityStage:
    """A stage over these rows; linear and task-type evidence are fitted here unless given."""
    a, b, c, d = weights
    linear = linear if linear is not None else LinearEvidence.fit(memory, quality)
    task_type = task_type if task_type is not None else TaskTypeEvidence.empty(memory.shape[1], quality.shape[1])
    return QualityStage(quality.mean(axis=0), NeighbourEvidence(memory, quality, n_neighbours), linear, task_type,
                        PeerEvidence.none(quality.shape[1]), a, b, c, d)


def fit_quality_stage(network_quality: np.ndarray, embeddings: np.ndarray, quality: np.ndarray, validation: np.ndarray,
                      fallback_check=None, categories=None) -> tuple[QualityStage, QualityStage, dict]:
    """Choose the weights on the validation rows; the returned stage remembers every row.

    Args:
        network_quality: (V, M) the network's predictions for the validation rows (it never trained on them).
        embeddings: (N, d) sentence embeddings of all training rows; quality: (N, M) their labels.
        validation: (V,) indices of the validation rows within those N.
        categories: (N,) task type of each training row (the data's `category` column), or None.
        fallback_check: optional callable(stage quality (V, M)) -> score, higher better (validation AIQ). If the
            chosen stage scores below the prior alone, the prior alone is used: never worse than the best fixed model
            on the data we can check.
    Returns:
        the stage (remembering every row), the same stage fitted without the validation rows (for honest validation
        figures), and a record of the choice (weights, validation errors).
    """
    quality = np.asarray(quality, dtype=float)
    memory = as_memory(embeddings)
    inner = np.setdiff1d(np.arange(len(quality)), validation)
    target = quality[validation]
    prior_inner = quality[inner].mean(axis=0)
    inner_linear = LinearEvidence.fit(memory[inner], quality[inner])
    inner_types = TaskTypeEvidence.fit(memory[inner], None if categories is None else np.asarray(categories)[inner], quality[inner])

    def inner_stage(weights=(0.0, 0.0, 0.0, 0.0), k=NEIGHBOUR_COUNTS[0]):
        return build_stage(memory[inner], quality[inner], k, weights, inner_linear, inner_types)

    linear = inner_linear.predict(memory[validation])
    task_type = inner_types.predict(memory[validation]) if inner_types else None
    steps = np.round(np.arange(0, 1 + 1e-9, WEIGHT_STEP), 2)
    tried = []  # (mean squared error, a, b, c, d, k)
    for k in NEIGHBOUR_COUNTS:
        stage = inner_stage(k=k)
        neighbours = stage.neighbours.predict(memory[validation], stage.prior)
        for a in steps:
            for b in steps[steps <= 1 - a + 1e-9]:
                for c in steps[steps <= 1 - a - b + 1e-9]:
                    for d in (steps[steps <= 1 - a - b - c + 1e-9] if task_type is not None else [0.0]):
                        predicted = a * network_quality + b * neighbours + c * linear + (1 - a - b - c - d) * prior_inner
                        if d > 0:
                            predicted = predicted + d * task_type
                        tried.append((float(((predicted - target) ** 2).mean()), float(a), float(b), float(c), float(d), k))
    error, a, b, c, d, k = min(tried, key=lambda t: t[0])
    record = {"network_weight": a, "neighbour_weight": b, "linear_weight": c, "task_type_weight": d,
              "prior_weight": round(max(0.0, 1 - a - b - c - d), 2) + 0.0,
              "n_task_types": len(inner_types.types), "n_neighbours": k, "validation_mse": error,
              "validation_mse_network_alone": float(np.mean((network_quality - target) ** 2)),
              "validation_mse_prior_alone": float(np.mean((prior_inner - target) ** 2))}
    if fallback_check is not None and (a, b, c, d) != (0.0, 0.0, 0.0, 0.0):
        chosen = fallback_check(inner_stage((a, b, c, d), k).predict(network_quality, memory[validation]))
        prior_only = fallback_check(np.tile(prior_inner, (len(validation), 1)))
        record.update(validation_aiq=chosen, validation_aiq_prior_alone=prior_only)
        if chosen < prior_only:
            a = b = c = d = 0.0
            record.update(network_weight=0.0, neighbour_weight=0.0, linear_weight=0.0, task_type_weight=0.0, prior_weight=1.0,
                          fell_back_to_prior=True)
    # Task types only where they carry weight, so a router without them does not pay for the classifier.
    full_types = TaskTypeEvidence.fit(memory, categories, quality) if d > 0 else None
    final = build_stage(memory, quality, k, (a, b, c, d), task_type=full_types)
    return final, inner_stage((a, b, c, d), k), record
