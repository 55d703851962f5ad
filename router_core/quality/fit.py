"""Choosing the quality stage's weights on cross-fitted, out-of-fold predictions (never on test data).

Every source is fitted on each fold's training rows and predicts its held-out rows, so the weights are chosen on
predictions for every row, none of which saw its own label. The folds (router_core/validation_folds.py) hold out
whole task types as well as random rows: evidence that only pays on the training mix of task types loses weight.

Weights are chosen for what routing needs, the ranking of the models at each λ, not the squared error of the
quality: given a routing score (AIQ on a fold's rows), each blend on a quarter grid (and the blend of least squared
error) is scored on every fold, and the best mean wins. Whether it beats the prior alone (the best fixed model per λ)
is judged without that choice's optimism: each fold's gain is the gain of the blend chosen on the other folds.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from router_core.quality.linear import LinearEvidence
from router_core.quality.neighbours import NeighbourEvidence, as_memory
from router_core.quality.peer import PeerEvidence
from router_core.quality.stage import QualityStage
from router_core.quality.task_type import TaskTypeEvidence

NEIGHBOUR_COUNTS = (10, 20, 50, 100)
WEIGHT_STEP = 0.1  # the least-squares search
ROUTING_STEP = 0.25  # the routing search: every blend is scored on every fold, so its grid is coarse


def build_stage(memory: np.ndarray, quality: np.ndarray, n_neighbours: int, weights=(0.0, 0.0, 0.0, 0.0), linear=None,
                task_type=None) -> QualityStage:
    """A stage over these rows; linear and task-type evidence are fitted here unless given."""
    a, b, c, d = weights
    linear = linear if linear is not None else LinearEvidence.fit(memory, quality)
    task_type = task_type if task_type is not None else TaskTypeEvidence.empty(memory.shape[1], quality.shape[1])
    return QualityStage(quality.mean(axis=0), NeighbourEvidence(memory, quality, n_neighbours), linear, task_type,
                        PeerEvidence.none(quality.shape[1]), a, b, c, d)


def _out_of_fold(memories: list[np.ndarray], quality: np.ndarray, folds, categories) -> dict[str, np.ndarray]:
    """(N, M) out-of-fold predictions of each non-network source: prior, linear, task type, neighbours at each count."""
    n, m = quality.shape
    out = {name: np.zeros((n, m)) for name in ("prior", "linear", "task_type", *(f"neighbours{k}" for k in NEIGHBOUR_COUNTS))}
    has_types = True
    for memory, (train, test) in zip(memories, folds):
        prior = quality[train].mean(axis=0)
        out["prior"][test] = prior
        out["linear"][test] = LinearEvidence.fit(memory[train], quality[train]).predict(memory[test])
        types = TaskTypeEvidence.fit(memory[train], None if categories is None else np.asarray(categories)[train], quality[train])
        has_types = has_types and bool(types)
        if types:
            out["task_type"][test] = types.predict(memory[test])
        for k in NEIGHBOUR_COUNTS:
            out[f"neighbours{k}"][test] = NeighbourEvidence(memory[train], quality[train], k).predict(memory[test], prior)
    if not has_types:
        del out["task_type"]
    return out


def _best_weights(network: np.ndarray, sources: dict[str, np.ndarray], target: np.ndarray) -> tuple:
    """(mean squared error, a, b, c, d, k) of the best blend on a 0.1 grid."""
    steps = np.round(np.arange(0, 1 + 1e-9, WEIGHT_STEP), 2)
    task_type, linear, prior = sources.get("task_type"), sources["linear"], sources["prior"]
    tried = []
    for k in NEIGHBOUR_COUNTS:
        neighbours = sources[f"neighbours{k}"]
        for a in steps:
            for b in steps[steps <= 1 - a + 1e-9]:
                for c in steps[steps <= 1 - a - b + 1e-9]:
                    for d in (steps[steps <= 1 - a - b - c + 1e-9] if task_type is not None else [0.0]):
                        predicted = a * network + b * neighbours + c * linear + (1 - a - b - c - d) * prior
                        if d > 0:
                            predicted = predicted + d * task_type
                        tried.append((float(((predicted - target) ** 2).mean()), float(a), float(b), float(c), float(d), k))
    return min(tried, key=lambda t: t[0])


def _routing_grid(has_types: bool) -> list[tuple[float, float, float, float, int]]:
    """(a, b, c, d, k) blends on the routing grid; k matters only where the neighbours carry weight."""
    steps = np.round(np.arange(0, 1 + 1e-9, ROUTING_STEP), 2)
    grid = []
    for a in steps:
        for b in steps[steps <= 1 - a + 1e-9]:
            for c in steps[steps <= 1 - a - b + 1e-9]:
                for d in (steps[steps <= 1 - a - b - c + 1e-9] if has_types else [0.0]):
                    for k in (NEIGHBOUR_COUNTS if b > 0 else NEIGHBOUR_COUNTS[1:2]):
                        grid.append((float(a), float(b), float(c), float(d), k))
    return grid


def _choose_for_routing(blend, candidates: list[tuple], folds, score) -> tuple[tuple, np.ndarray, np.ndarray]:
    """The candidate with the best mean routing score over the folds, every candidate's per-fold scores (C, F), and
    each fold's gain over the prior (candidates[0]) of the candidate chosen on the other folds."""
    scores = np.array([[score(blend(c)[test], test) for _, test in folds] for c in candidates])
    scores = np.where(np.isfinite(scores), scores, -np.inf)
    best = int(np.argmax(scores.mean(axis=1)))
    gains = []
    for f in range(len(folds)):
        others = np.delete(scores, f, axis=1).mean(axis=1) if len(folds) > 1 else scores[:, f]
        gains.append(scores[int(np.argmax(others)), f] - scores[0, f])
    return candidates[best], scores, np.array(gains)


def fit_quality_stage(network_quality: np.ndarray, embeddings: np.ndarray, quality: np.ndarray, folds,
                      fallback_check: Callable[[np.ndarray, np.ndarray], float] | None = None, categories=None,
                      fold_embeddings: list[np.ndarray] | None = None) -> tuple[QualityStage, np.ndarray, dict]:
    """Choose the weights on out-of-fold predictions; the returned stage remembers every row.

    Args:
        network_quality: (N, M) the network's out-of-fold predictions (fold k's network never trained on fold k).
        embeddings: (N, d) sentence embeddings of every row, as the final router computes them; quality: (N, M) labels.
        folds: [(train rows, held-out rows)], the held-out rows covering every row once.
        fallback_check: optional callable(stage quality (n, M), rows (n,)) -> score of routing those rows, higher
            better (AIQ). With it, the weights are the blend that routes best on the folds, and unless that choice
            beats the prior alone by more than the spread of its per-fold gains (each judged on a fold the choice did
            not see), the prior alone is used: with little evidence, the best fixed model per λ. Without it, the
            blend of least squared error.
        categories: (N,) task type of each row (the data's `category` column), or None.
        fold_embeddings: fold k's embeddings of every row, when each fold's network has an encoder of its own.
    Returns:
        the stage over every row, the chosen weights' out-of-fold quality (N, M) for honest validation figures, and a
        record of the choice (weights, cross-fitted errors).
    """
    quality = np.asarray(quality, dtype=float)
    memories = [as_memory(e) for e in (fold_embeddings or [embeddings] * len(folds))]
    sources = _out_of_fold(memories, quality, folds, categories)
    error, a, b, c, d, k = _best_weights(network_quality, sources, quality)

    def blended(weights, neighbours):
        a, b, c, d = weights
        out = a * network_quality + b * sources[f"neighbours{neighbours}"] + c * sources["linear"] + (1 - a - b - c - d) * sources["prior"]
        return np.clip(out + (d * sources["task_type"] if d > 0 else 0.0), 0.0, 1.0)

    record = {"chosen_by": "squared error", "network_weight": a, "neighbour_weight": b, "linear_weight": c,
              "task_type_weight": d, "prior_weight": round(max(0.0, 1 - a - b - c - d), 2) + 0.0, "n_neighbours": k,
              "folds": len(folds), "cross_fitted_mse": error,
              "cross_fitted_mse_network_alone": float(np.mean((network_quality - quality) ** 2)),
              "cross_fitted_mse_linear_alone": float(np.mean((sources["linear"] - quality) ** 2)),
              "cross_fitted_mse_prior_alone": float(np.mean((sources["prior"] - quality) ** 2))}
    if fallback_check is not None:
        prior_only, network_only = (0.0, 0.0, 0.0, 0.0, k), (1.0, 0.0, 0.0, 0.0, k)
        candidates = [prior_only, network_only, (a, b, c, d, k)] + [g for g in _routing_grid("task_type" in sources)
                                                                      if g not in (prior_only, network_only, (a, b, c, d, k))]
        (a, b, c, d, k), scores, gains = _choose_for_routing(lambda g: blended(g[:4], g[4]), candidates, folds, fallback_check)
        spread = gains.std(ddof=1) / np.sqrt(len(gains)) if len(gains) > 1 else 0.0
        record.update(chosen_by="routing score (AIQ) on the folds", network_weight=a, neighbour_weight=b,
                      linear_weight=c, task_type_weight=d, prior_weight=round(max(0.0, 1 - a - b - c - d), 2) + 0.0,
                      n_neighbours=k, blends_tried=len(candidates),
                      cross_fitted_aiq=round(float(scores[candidates.index((a, b, c, d, k))].mean()), 5),
                      cross_fitted_aiq_prior_alone=round(float(scores[0].mean()), 5),
                      cross_fitted_aiq_network_alone=round(float(scores[1].mean()), 5),
                      cross_fitted_aiq_least_squares=round(float(scores[2].mean()), 5),
                      fold_aiq_gain_over_prior=[round(float(g), 5) for g in gains])
        if (a, b, c, d) == (0.0, 0.0, 0.0, 0.0) or not gains.mean() - spread > 0:
            a = b = c = d = 0.0  # no blend routes better than the best fixed model per λ, beyond fold noise
            record.update(network_weight=0.0, neighbour_weight=0.0, linear_weight=0.0, task_type_weight=0.0,
                          prior_weight=1.0, fell_back_to_prior=True)
    chosen = blended((a, b, c, d), k) if (a, b, c, d) != (0.0, 0.0, 0.0, 0.0) else sources["prior"]
    memory = as_memory(embeddings)
    # Task types only where they carry weight, so a router without them does not pay for the classifier.
    full_types = TaskTypeEvidence.fit(memory, categories, quality) if d > 0 else None
    record["n_task_types"] = len(full_types.types) if full_types is not None else 0
    return build_stage(memory, quality, k, (a, b, c, d), task_type=full_types), chosen, record
