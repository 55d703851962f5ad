"""λ semantics (0 = best predicted quality, 1 = cheapest, monotone in between), checked on random scores."""
import numpy as np
import pytest

from router_core.errors import RouterInputError
from router_core.policy.rule import (
    CostScale,
    hard_choice,
    soft_cost,
    soft_quality_band,
    soft_top_k,
    utilities,
)


@pytest.fixture
def scores():
    rng = np.random.default_rng(1)
    quality = rng.uniform(0, 1, (500, 4))
    cost = np.exp(rng.normal(np.log([5e-3, 1e-3, 3e-4, 1e-4]), 0.3, (500, 4)))
    return quality, cost, CostScale.from_costs(cost)


def test_cost_scale_maps_cheapest_and_dearest_mean_to_zero_and_one(scores):
    _, cost, scale = scores
    means = cost.mean(axis=0)
    assert scale.normalise(means.min()) == pytest.approx(0.0)
    assert scale.normalise(means.max()) == pytest.approx(1.0)


def test_lam_zero_picks_highest_quality_and_lam_one_cheapest(scores):
    quality, cost, scale = scores
    norm = scale.normalise(cost)
    assert (hard_choice(utilities(quality, norm, 0.0), norm) == quality.argmax(axis=1)).all()
    assert (hard_choice(utilities(quality, norm, 1.0), norm) == cost.argmin(axis=1)).all()


def test_linear_policy_predicted_cost_never_rises_with_lam(scores):
    quality, cost, scale = scores
    norm = scale.normalise(cost)
    rows = np.arange(len(cost))
    chosen = np.stack([cost[rows, hard_choice(utilities(quality, norm, lam), norm)] for lam in np.linspace(0, 1, 101)])
    assert (np.diff(chosen, axis=0) <= 1e-15).all()
    assert chosen[0].mean() > 3 * chosen[-1].mean()


def test_exact_ties_go_to_the_cheaper_candidate():
    quality = np.array([[0.5, 0.5]])
    norm = np.array([[0.9, 0.1]])
    assert hard_choice(utilities(quality, norm, 0.0), norm)[0] == 1


def test_exponential_and_paper_policies_differ_from_linear_but_agree_at_lam_zero(scores):
    quality, cost, scale = scores
    norm = scale.normalise(cost)
    weights = np.full_like(quality, 0.25)
    exp0 = hard_choice(utilities(quality, norm, 0.0, "exponential"), norm)
    assert (exp0 == quality.argmax(axis=1)).all()
    paper = utilities(quality, norm, 0.5, "paper", weights)
    np.testing.assert_allclose(paper.sum(axis=1), 1.0)
    with pytest.raises(RouterInputError, match="needs routing weights"):
        utilities(quality, norm, 0.5, "paper")
    with pytest.raises(RouterInputError, match="unknown policy 'greedy'"):
        utilities(quality, norm, 0.5, "greedy")


def test_lam_outside_unit_interval_is_refused(scores):
    quality, cost, scale = scores
    with pytest.raises(RouterInputError, match=r"must be in \[0, 1\]"):
        utilities(quality, scale.normalise(cost), 1.5)


def test_soft_routing_costs_k_calls_plus_the_aggregator():
    cost = np.array([[3.0e-3, 1.0e-3, 1.0e-4]])
    indices, merge = soft_top_k(np.array([[0.9, 0.8, 0.1]]), k=2, tau=0.1)
    assert indices.tolist() == [[0, 1]]
    assert merge.sum() == pytest.approx(1.0) and merge[0, 0] > merge[0, 1]
    # aggregator reads 100 prompt tokens + 300 + 200 answer tokens at $5/1M, writes 250 tokens at $15/1M
    total = soft_cost(cost, indices, np.array([100.0]), np.array([[300.0, 200.0, 100.0]]), 5.0, 15.0, 250)
    assert total[0] == pytest.approx(4.0e-3 + (600 * 5 + 250 * 15) / 1e6)
    low, high = soft_quality_band(np.array([[0.9, 0.6, 0.2]]), indices, np.array([[0.75, 0.25]]))
    assert low[0] == pytest.approx(0.825) and high[0] == pytest.approx(0.9)
    single = soft_cost(cost, indices[:, :1], np.array([100.0]), np.array([[300.0, 200.0, 100.0]]), 5.0, 15.0, 250)
    assert single[0] == pytest.approx(3.0e-3)  # k = 1: nothing to merge, no aggregator call


def test_policy_chooses_as_the_kernels_do_and_undoes_kappa_for_comparison_policies(scores):
    from dataclasses import replace

    from router_core.policy.rule import Policy

    quality, cost, scale = scores
    spread = replace(scale, weight=0.2)  # κ as training fits it
    linear = Policy(spread)
    norm = spread.normalise(cost)
    for lam in (0.0, 0.3, 1.0):
        assert (linear.choose(quality, cost, lam) == hard_choice(utilities(quality, norm, lam), norm)).all()
    np.testing.assert_array_equal(linear.choose_each(quality, cost, [0.0, 0.3, 1.0]),
                                  np.stack([linear.choose(quality, cost, lam) for lam in (0.0, 0.3, 1.0)]))
    # exponential and paper were written for cost on [0, 1]: κ does not change their decisions
    unit = scale.normalise(cost)
    exponential = Policy(spread, "exponential", alpha=5.0)
    expected = hard_choice(utilities(quality, unit, 0.5, "exponential", alpha=5.0), unit)
    assert (exponential.choose(quality, cost, 0.5) == expected).all()
    assert not (exponential.choose(quality, cost, 0.5) == linear.choose(quality, cost, 0.5)).all()


def test_policy_top_k_uses_its_own_temperature_and_refuses_bad_settings(scores):
    from router_core.policy.rule import Policy

    quality, cost, scale = scores
    sharp, flat = Policy(scale, tau=0.01), Policy(scale, tau=10.0)
    i_sharp, w_sharp = sharp.top_k(quality, cost, 0.2, k=2)
    i_flat, w_flat = flat.top_k(quality, cost, 0.2, k=2)
    assert (i_sharp == i_flat).all()  # the same two candidates, merged with different weights
    assert w_sharp[:, 0].mean() > w_flat[:, 0].mean() > 0.5
    with pytest.raises(RouterInputError, match="unknown policy 'greedy'"):
        Policy(scale, "greedy")
    with pytest.raises(RouterInputError, match="tau must be > 0"):
        Policy(scale, tau=0.0)
    with pytest.raises(RouterInputError, match=r"must be in \[0, 1\]"):
        Policy(scale).choose(quality, cost, -0.1)
