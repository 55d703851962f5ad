"""Cross-fitting folds: whole task types held out beside random rows, every row held out exactly once."""
import numpy as np

from router_core.model.validation_folds import cross_fit_folds, query_groups


def test_half_the_task_types_are_held_out_whole_and_every_row_once():
    groups = np.repeat([f"type {i}" for i in range(8)], [40, 40, 30, 30, 20, 20, 10, 10])
    folds = cross_fit_folds(groups, 3, seed=0)
    held = np.concatenate([test for _, test in folds])
    assert sorted(held.tolist()) == list(range(len(groups)))
    for train, test in folds:
        assert set(train.tolist()).isdisjoint(test.tolist())
    # A type is "whole" when all its rows sit in one fold's held-out part, so that fold's training never saw it.
    whole = [g for g in np.unique(groups) if sum(bool(np.isin(np.flatnonzero(groups == g), t).any()) for _, t in folds) == 1]
    assert len(whole) == 4
    for g in whole:
        fold = next(f for f, (_, t) in enumerate(folds) if np.isin(np.flatnonzero(groups == g), t).all())
        assert not np.isin(np.flatnonzero(groups == g), folds[fold][0]).any()
    assert cross_fit_folds(groups, 3, seed=0)[1][1].tolist() == folds[1][1].tolist()  # seeded


def test_few_groups_or_rows_give_random_folds():
    for groups in (np.repeat(["a", "b", "c"], 20), np.repeat([str(i) for i in range(6)], 2)):
        folds = cross_fit_folds(groups, 3, seed=1)
        sizes = [len(t) for _, t in folds]
        assert max(sizes) - min(sizes) <= 1 and sum(sizes) == len(groups)


def test_groups_are_categories_when_known_else_clusters_of_the_embeddings():
    rng = np.random.default_rng(0)
    embeddings = np.vstack([rng.normal(c, 0.05, size=(60, 4)) for c in (-1.0, 0.0, 1.0)])
    categories = np.repeat(["maths", "code", "chat"], 60)
    called = []

    def embed():
        called.append(1)
        return embeddings

    assert query_groups(categories, embed, 0).tolist() == categories.tolist() and not called
    clusters = query_groups(None, embed, 0)
    assert len(set(clusters)) == 3 and all(len(set(clusters[i * 60:(i + 1) * 60])) == 1 for i in range(3))
    assert len(set(query_groups(np.full(180, "nan"), embed, 0))) == 3  # unknown categories: clusters too
