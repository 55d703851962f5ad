"""The quality stage: neighbour evidence, per-model priors and the validation-chosen weights."""
import json

import numpy as np
from safetensors.numpy import load_file, save_file

from router_core.model.validation_folds import cross_fit_folds
from router_core.quality import (
    QualityStage,
    TaskTypeEvidence,
    as_memory,
    fit_quality_stage,
)
from router_core.quality.fit import build_stage
from router_core.quality.linear import LinearEvidence
from router_core.quality.neighbours import NeighbourEvidence
from router_core.quality.peer import PeerEvidence


def _folds(n: int, k: int = 3):
    """Random folds (one group): every row held out once."""
    return cross_fit_folds(np.zeros(n, dtype=str), k, 0)


def _stage(memory, quality, prior, weights, n_neighbours):
    """A stage whose prior is given rather than the labels' mean; constant linear evidence, no task types."""
    prior = np.asarray(prior, dtype=float)
    return QualityStage(prior, NeighbourEvidence(memory, quality, n_neighbours), LinearEvidence.constant(prior, memory.shape[1]),
                        TaskTypeEvidence.empty(memory.shape[1], len(prior)), PeerEvidence.none(len(prior)), *weights)


def _clusters(n_per: int, rng):
    """Two tight clusters of unit vectors in 4-d, far apart."""
    a = np.array([1.0, 0, 0, 0]) + 0.01 * rng.standard_normal((n_per, 4))
    b = np.array([0, 1.0, 0, 0]) + 0.01 * rng.standard_normal((n_per, 4))
    return np.vstack([a, b])


def test_neighbour_evidence_is_the_mean_label_of_the_nearest_rows():
    memory = np.array([[1.0, 0], [0.9, 0.1], [0, 1.0], [0.1, 0.9]])
    quality = np.array([[1.0, 0.0], [0.5, 0.0], [0.0, 1.0], [0.0, 0.5]])
    neighbours = NeighbourEvidence(memory, quality, 2)
    got = neighbours.predict(np.array([[1.0, 0.05], [0.05, 1.0]]), quality.mean(axis=0))
    np.testing.assert_allclose(got, [[0.75, 0.0], [0.0, 0.75]])


def test_predict_mixes_network_neighbours_and_prior_with_the_chosen_weights():
    memory = np.eye(2)
    quality = np.array([[1.0, 0.0], [0.0, 1.0]])
    stage = build_stage(memory, quality, 1, (0.2, 0.5, 0.0, 0.0))  # prior: the labels' mean, [0.5, 0.5]
    assert stage.prior.tolist() == [0.5, 0.5] and stage.prior_weight == 0.3
    got = stage.predict(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]]))
    # 0.2·network + 0.5·nearest row's labels + 0.3·prior
    np.testing.assert_allclose(got, [[0.2 * 0 + 0.5 * 1 + 0.3 * 0.5, 0.2 * 1 + 0.5 * 0 + 0.3 * 0.5]])


def test_a_model_added_later_finds_neighbours_among_its_own_samples_only():
    memory = np.array([[1.0, 0], [0, 1.0]])
    stage = build_stage(memory, np.array([[1.0], [0.0]]), 1, (0.0, 1.0, 0.0, 0.0))
    extended = stage.with_candidate(np.array([[0.0, 1.0]]), np.array([0.25]))
    got = extended.neighbours.predict(np.array([[1.0, 0.0]]), extended.prior)
    # first model: nearest of the two original rows; the newcomer: its one sample, however far away
    np.testing.assert_allclose(got, [[1.0, 0.25]])
    assert extended.prior.tolist() == [0.5, 0.25]


def test_an_added_model_leans_on_the_models_its_labels_follow():
    rng = np.random.default_rng(2)
    memory = np.eye(3)
    stage = _stage(memory, rng.uniform(size=(3, 2)), [0.5, 0.5], (1.0, 0.0, 0.0, 0.0), 1)  # network alone
    extended = stage.with_candidate(memory[:1], np.array([0.5]))
    others = rng.uniform(size=(60, 2))
    with_peer = extended.with_peer(others, others[:, 0])  # the newcomer succeeds exactly where model 0 is predicted to
    assert with_peer.peer.coef[2, 0] > 0.9 and abs(with_peer.peer.coef[2, 1]) < 0.1 and with_peer.peer.weight.tolist() == [0, 0, 0.75]
    net = np.array([[0.9, 0.5, 0.5], [0.1, 0.5, 0.5]])  # the newcomer's own prediction says 0.5 for both
    got = with_peer.predict(net, np.zeros((2, 3)))
    np.testing.assert_allclose(got[:, :2], net[:, :2])  # the original models are untouched
    np.testing.assert_allclose(got[:, 2], [0.25 * 0.5 + 0.75 * 0.9, 0.25 * 0.5 + 0.75 * 0.1], atol=0.03)
    assert extended.peer.columns.tolist() == [] and with_peer.peer.columns.tolist() == [2]


def test_labels_that_follow_the_query_get_neighbour_weight_and_a_noisy_network_gets_none():
    rng = np.random.default_rng(0)
    embeddings = _clusters(100, rng)
    follows = np.column_stack([np.r_[np.ones(100), np.zeros(100)], np.r_[np.zeros(100), np.ones(100)]])
    noise_net = rng.uniform(size=(200, 2))
    chosen, _, record = fit_quality_stage(noise_net, embeddings, follows, _folds(200))
    assert chosen.neighbour_weight + chosen.linear_weight >= 0.9 and chosen.network_weight == 0.0
    assert record["network_weight"] == chosen.network_weight and record["cross_fitted_mse"] < 0.01

    coin = rng.integers(0, 2, size=(200, 2)).astype(float)  # labels unrelated to the query
    chosen, _, record = fit_quality_stage(noise_net, embeddings, coin, _folds(200))
    assert chosen.network_weight <= 0.2  # a network that predicts noise gets (almost) no say
    assert record["cross_fitted_mse"] < record["cross_fitted_mse_network_alone"] - 0.05


def test_fallback_to_the_prior_when_the_stage_routes_worse_out_of_fold():
    rng = np.random.default_rng(1)
    embeddings = _clusters(50, rng)
    follows = np.column_stack([np.r_[np.ones(50), np.zeros(50)], np.r_[np.zeros(50), np.ones(50)]])
    folds = _folds(100)
    # A check that prefers flat predictions: the prior alone wins on every fold, so the stage must give way.
    flat_is_better = lambda q, rows: -float(np.ptp(q))  # noqa: E731
    chosen, out_of_fold, record = fit_quality_stage(rng.uniform(size=(100, 2)), embeddings, follows, folds, flat_is_better)
    assert record["fell_back_to_prior"] and chosen.prior_weight == 1.0 and len(chosen.neighbours.memory) == 100
    assert all(g <= 0 for g in record["fold_aiq_gain_over_prior"])
    for train, test in folds:  # each held-out row gets its fold's training mean, never its own label
        np.testing.assert_allclose(out_of_fold[test], np.tile(follows[train].mean(axis=0), (len(test), 1)))


def test_a_stage_that_wins_on_some_folds_only_falls_back():
    rng = np.random.default_rng(2)
    embeddings = _clusters(50, rng)
    follows = np.column_stack([np.r_[np.ones(50), np.zeros(50)], np.r_[np.zeros(50), np.ones(50)]])
    folds = _folds(100)
    first = set(folds[0][1].tolist())
    # The blend is better on the first fold only, by a little, and worse on the others: too thin to trust.
    mixed = lambda q, rows: (float(np.ptp(q)) * (0.01 if rows[0] in first else -0.01))  # noqa: E731
    chosen, _, record = fit_quality_stage(rng.uniform(size=(100, 2)), embeddings, follows, folds, mixed)
    assert record["fell_back_to_prior"] and chosen.prior_weight == 1.0
    steady = lambda q, rows: float(np.ptp(q))  # noqa: E731  better on every fold: the blend stays
    chosen, _, record = fit_quality_stage(rng.uniform(size=(100, 2)), embeddings, follows, folds, steady)
    assert "fell_back_to_prior" not in record and chosen.prior_weight < 1.0


def _task_type_set(rng, n_types=8, per_type=40, noise_dims=0):
    """Task types on a circle in the first 2 dimensions: each type's labels are 0/1 draws around its own per-model rate,
    so one query's label says little and its type's mean much, and no linear fit follows eight rates around a circle.
    With `noise_dims` more dimensions of noise the nearest queries (by cosine) are mostly of other types."""
    angles = np.repeat(np.arange(n_types) * 2 * np.pi / n_types, per_type)
    embeddings = np.column_stack([np.cos(angles), np.sin(angles)]) + 0.05 * rng.standard_normal((len(angles), 2))
    embeddings = np.hstack([embeddings, 0.3 * rng.standard_normal((len(angles), noise_dims))])
    rates = rng.uniform(0.05, 0.95, size=(n_types, 2))
    types = np.repeat([f"type {i}" for i in range(n_types)], per_type)
    labels = (rng.uniform(size=(len(angles), 2)) < np.repeat(rates, per_type, axis=0)).astype(float)
    return embeddings, labels, types, rates


def test_the_task_type_mean_is_used_when_labels_follow_the_type_and_absent_without_types():
    rng = np.random.default_rng(4)
    embeddings, labels, types, rates = _task_type_set(rng, noise_dims=30)
    folds = _folds(len(labels))
    noise_net = rng.uniform(size=labels.shape)
    with_types, with_oof, record = fit_quality_stage(noise_net, embeddings, labels, folds, categories=types)
    without, without_oof, record_without = fit_quality_stage(noise_net, embeddings, labels, folds)
    assert with_types.task_type_weight >= 0.3 and record["n_task_types"] == 8 and len(with_types.task_type.types) == 8
    # Out of fold, closer to the rates that drew the labels than the best stage without types.
    truth = rates[np.searchsorted(np.unique(types), types)]
    assert np.mean((with_oof - truth) ** 2) < 0.9 * np.mean((without_oof - truth) ** 2)
    assert without.task_type_weight == 0.0 and without.task_type.types == () and record_without["n_task_types"] == 0
    # The classifier recognises each type from the embedding alone, and its mean is close to the type's rate.
    centres = np.column_stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4), np.zeros((8, 30))])
    probabilities = with_types.task_type.probabilities(centres)
    assert (probabilities.argmax(axis=1) == np.arange(8)).all() and probabilities.max(axis=1).min() > 0.8
    assert np.abs(with_types.task_type.predict(centres) - rates).max() < 0.2
    assert record["task_type_weight"] == with_types.task_type_weight and len(with_types.neighbours.memory) == len(labels)


def test_one_task_type_or_unlabelled_types_give_no_task_evidence():
    rng = np.random.default_rng(5)
    embeddings, labels, _, _ = _task_type_set(rng, n_types=4)
    for types in (np.full(len(labels), "all"), np.full(len(labels), "nan"), np.r_[np.full(len(labels) - 1, ""), ["one"]]):
        chosen, _, record = fit_quality_stage(rng.uniform(size=labels.shape), embeddings, labels, _folds(len(labels)), categories=types)
        assert chosen.task_type.types == () and record["n_task_types"] == 0


def test_two_task_types_use_the_same_softmax_as_many():
    rng = np.random.default_rng(6)
    embeddings, labels, types, _ = _task_type_set(rng, n_types=2, per_type=60)
    evidence = TaskTypeEvidence.fit(as_memory(embeddings), types, labels)
    assert evidence.types == ("type 0", "type 1") and evidence.coef.shape == (2, 2)
    probabilities = evidence.probabilities(np.array([[1.0, 0.0], [-1.0, 0.0]]))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert probabilities[0, 0] > 0.9 and probabilities[1, 1] > 0.9


def test_an_added_model_gets_a_shrunk_task_type_mean_from_its_samples():
    memory = np.array([[1.0, 0.0], [0.0, 1.0]])
    task_type = TaskTypeEvidence(("a", "b"), np.array([[20.0, 0.0], [0.0, 20.0]]), np.zeros(2), np.array([[0.9], [0.1]]))
    stage = build_stage(memory, np.array([[1.0], [0.0]]), 1, (0.0, 0.0, 0.0, 1.0), task_type=task_type)
    samples = np.array([[1.0, 0.0]] * 10 + [[0.0, 1.0]] * 10)
    extended = stage.with_candidate(samples, np.r_[np.ones(10), np.zeros(10)])  # right on type a, wrong on type b
    # Each type: its 10 samples plus 10 pseudo-samples at the newcomer's mean (0.5).
    np.testing.assert_allclose(extended.task_type.type_quality[:, 1], [(10 + 5) / 20, (0 + 5) / 20], atol=1e-4)
    got = extended.predict(np.zeros((2, 2)), np.array([[1.0, 0.0], [0.0, 1.0]]))
    np.testing.assert_allclose(got, [[0.9, 0.75], [0.1, 0.25]], atol=1e-4)


def _two_type_stage():
    """Two existing models over task types a (easy) and b (hard), half the training queries each."""
    task_type = TaskTypeEvidence(("a", "b"), np.array([[20.0, 0.0], [0.0, 20.0]]), np.zeros(2),
                                 np.array([[0.9, 0.8], [0.3, 0.2]]))
    stage = build_stage(np.eye(2), np.array([[0.9, 0.8], [0.3, 0.2]]), 1, (0.0, 0.0, 0.0, 1.0), task_type=task_type)
    np.testing.assert_allclose(stage.prior, [0.6, 0.5])
    return stage


def test_a_newcomer_sampled_only_on_easy_queries_is_levelled_against_the_other_models():
    stage = _two_type_stage()
    samples = np.array([[1.0, 0.0]] * 20)  # every sample is of the easy type
    others = np.tile([0.9, 0.8], (20, 1))  # what the existing models are predicted to score there (average 0.85)
    labels = np.full(20, 0.75)  # the newcomer: 0.1 under their average
    levelled = stage.with_candidate(samples, labels, others)
    # Population: half easy, half hard, so 0.55 for the others' average and 0.45 for the newcomer; its hard-type mean
    # comes from the others' (0.25) less its offset, though none of its samples is hard.
    np.testing.assert_allclose(levelled.prior[-1], 0.45, atol=1e-6)
    np.testing.assert_allclose(levelled.task_type.type_quality[:, 2], [0.75, 0.15], atol=1e-4)
    raw = stage.with_candidate(samples, labels)  # without the others' level: its sample mean everywhere
    np.testing.assert_allclose(raw.prior[-1], 0.75, atol=1e-6)
    np.testing.assert_allclose(raw.task_type.type_quality[1, 2], 0.75, atol=1e-4)


def test_peer_evidence_fitted_on_easy_queries_carries_the_offset_to_hard_ones():
    rng = np.random.default_rng(3)
    stage = _stage(np.eye(3), rng.uniform(size=(3, 2)), [0.5, 0.5], (1.0, 0.0, 0.0, 0.0), 1)
    others = rng.uniform(0.7, 1.0, size=(60, 2))  # sampled where both existing models do well
    extended = stage.with_candidate(np.eye(3)[:1], np.array([0.5])).with_peer(others, others.mean(axis=1) - 0.1)
    hard = np.array([[0.2, 0.3]]) @ extended.peer.coef[2, :2] + extended.peer.intercept[2]
    np.testing.assert_allclose(hard, [0.15], atol=0.01)


def test_a_stage_with_task_types_and_peers_round_trips_through_its_tensors_exactly(tmp_path):
    rng = np.random.default_rng(7)
    embeddings, labels, types, _ = _task_type_set(rng, n_types=3, per_type=20, noise_dims=2)
    task_type = TaskTypeEvidence.fit(as_memory(embeddings), types, labels)
    stage = build_stage(embeddings, labels, 5, (0.2, 0.2, 0.2, 0.3), task_type=task_type)
    samples = embeddings[::6] + 0.01 * rng.standard_normal((10, 4))
    others = rng.uniform(size=(10, 2))
    newcomer = (rng.uniform(size=10) < others.mean(axis=1)).astype(float)
    stage = stage.with_candidate(samples, newcomer, others).with_peer(others, newcomer)
    assert len(stage.task_type.types) == 3 and stage.peer.columns.tolist() == [2]
    assert np.isnan(stage.neighbours.memory_quality).any()  # the newcomer is labelled on its samples only

    # As the artifact keeps it: arrays in a safetensors file, weights in JSON.
    save_file(stage.to_tensors(), str(tmp_path / "quality.safetensors"))
    again = QualityStage.from_tensors(load_file(str(tmp_path / "quality.safetensors")), json.loads(json.dumps(stage.weights())))
    assert again.weights() == stage.weights()
    assert again.to_tensors().keys() == stage.to_tensors().keys()
    for name, array in stage.to_tensors().items():
        np.testing.assert_array_equal(again.to_tensors()[name], array, err_msg=name)
        assert again.to_tensors()[name].dtype == array.dtype, name
    queries = rng.standard_normal((25, 4))
    network = rng.uniform(size=(25, 3))
    want = stage.predict(network, queries)
    assert np.ptp(want, axis=0).min() > 0  # every column varies by query, so a lost source would show
    np.testing.assert_array_equal(again.predict(network, queries), want)
