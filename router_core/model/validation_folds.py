"""Cross-fitting folds that hold out whole task types as well as random rows.

A random split measures a router on the training mix of task types, which users' traffic never matches. Here half
of the groups (task types from the data's `category` column, else clusters of the query embeddings) are each held
out whole in one fold, and the other half's rows are dealt across all folds: every held-out fold mixes task types the
training rows never showed with familiar ones, so a choice made on these folds must pay on both.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

MIN_PER_FOLD = 5  # below this many rows a fold, the folds are random: too few rows to hold types out


def query_groups(categories, embed: Callable[[], np.ndarray], seed: int) -> np.ndarray:
    """(N,) group label per row: the category when at least two are known, else a cluster of the embeddings.

    Args:
        embed: returns the (N, d) sentence embeddings; called only when clusters are needed.
    """
    if categories is not None:
        labels = np.asarray(categories).astype(str)
        known = ~np.isin(np.char.lower(labels), ["", "nan", "none", "null"])
        if len(np.unique(labels[known])) >= 2:
            return np.where(known, labels, "(none)")
    from sklearn.cluster import (
        KMeans,  # imported when needed: most callers never cluster
    )

    embeddings = embed()
    n_clusters = int(np.clip(len(embeddings) // 50, 2, 16))
    if len(embeddings) < 2 * n_clusters:
        return np.zeros(len(embeddings), dtype=str)
    clusters = KMeans(n_clusters, n_init=3, random_state=seed).fit_predict(np.asarray(embeddings, dtype=np.float64))
    return np.array([f"cluster {c}" for c in clusters])


def cross_fit_folds(groups: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(training rows, held-out rows)] for `n_folds` folds; every row is held out exactly once."""
    n = len(groups)
    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(np.arange(n) % n_folds)
    names, counts = np.unique(groups, return_counts=True)
    if len(names) >= 4 and n >= MIN_PER_FOLD * n_folds:
        whole = rng.permutation(len(names))[: len(names) // 2]
        load = np.zeros(n_folds)
        for i in sorted(whole, key=lambda i: -counts[i]):  # largest first, each to the lightest fold
            f = int(np.argmin(load))
            fold_of[groups == names[i]] = f
            load[f] += counts[i]
    return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(n_folds)]
