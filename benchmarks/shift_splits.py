"""Train/test splits whose test traffic differs from the training traffic, built from a set's `category` column.

    leave_type_out: folds grouped by category; a test fold's task types never appear in its training data.
    mix_shift: training drops half of the rows of half the categories; the test over-weights those categories.
    hardest: the test takes the hardest items of every category (by the best single model's labels), training the rest.

Each function returns [(train, test)] pairs of LabelledSets; all are seeded and deterministic.
"""
from __future__ import annotations

import numpy as np

from router_core.data.labelled import LabelledSet

SCHEMES = ("leave_type_out", "mix_shift", "hardest")


def _categories(data: LabelledSet) -> np.ndarray:
    if data.categories is None:
        raise ValueError(f"{data.source}: shift splits need a category column")
    return np.asarray(data.categories).astype(str)


def leave_type_out(data: LabelledSet, n_folds: int = 5, seed: int = 0) -> list[tuple[LabelledSet, LabelledSet]]:
    """Categories dealt into `n_folds` groups of similar query counts (largest first, each to the lightest group)."""
    categories = _categories(data)
    names, counts = np.unique(categories, return_counts=True)
    n_folds = min(n_folds, len(names))
    rng = np.random.default_rng(seed)
    order = sorted(range(len(names)), key=lambda i: (-counts[i], rng.random()))
    load, groups = np.zeros(n_folds), [[] for _ in range(n_folds)]
    for i in order:
        g = int(np.argmin(load))
        groups[g].append(names[i])
        load[g] += counts[i]
    splits = []
    for group in groups:
        test = np.isin(categories, group)
        splits.append((data.subset(~test), data.subset(test)))
    return splits


def mix_shift(data: LabelledSet, n_folds: int = 3, seed: int = 0, test_fraction: float = 0.25,
              kept_elsewhere: float = 1 / 3) -> list[tuple[LabelledSet, LabelledSet]]:
    """Per fold: a random half S of the categories; training keeps half of its S rows, the test keeps all of its S rows
    and `kept_elsewhere` of the rest, so S is rare in training and common in the test."""
    categories = _categories(data)
    names = np.unique(categories)
    splits = []
    for fold in range(n_folds):
        rng = np.random.default_rng([seed, fold])
        shifted = np.isin(categories, rng.choice(names, size=len(names) // 2, replace=False))
        in_test = rng.random(len(data)) < test_fraction
        train = ~in_test & ~(shifted & (rng.random(len(data)) < 0.5))
        test = in_test & (shifted | (rng.random(len(data)) < kept_elsewhere))
        splits.append((data.subset(train), data.subset(test)))
    return splits


def hardest(data: LabelledSet, test_fraction: float = 0.25, seed: int = 0) -> list[tuple[LabelledSet, LabelledSet]]:
    """One split: in each category, the `test_fraction` of items the best single model does worst on (ties broken by
    the mean over all models, then at random) form the test."""
    categories = _categories(data)
    best = int(np.argmax(data.quality.mean(axis=0)))
    rng = np.random.default_rng(seed)
    test = np.zeros(len(data), dtype=bool)
    for name in np.unique(categories):
        rows = np.flatnonzero(categories == name)
        keys = np.lexsort((rng.random(len(rows)), data.quality[rows].mean(axis=1), data.quality[rows, best]))
        test[rows[keys[:max(1, int(round(test_fraction * len(rows))))]]] = True
    return [(data.subset(~test), data.subset(test))]


def splits(scheme: str, data: LabelledSet, seed: int = 0) -> list[tuple[LabelledSet, LabelledSet]]:
    return {"leave_type_out": leave_type_out, "mix_shift": mix_shift, "hardest": hardest}[scheme](data, seed=seed)
