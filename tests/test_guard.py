"""The hull guard: λ ranges sent to one model where, on rows the router never trained on, that model alone beat
routing at its own cost; how the decision rule applies them, and how a saved router keeps them."""
import json

import numpy as np
import pytest

from router_core import Router
from router_core.artifact.schema import check_meta
from router_core.errors import RouterInputError
from router_core.policy.guard import SWEEP, GuardRange, as_indices, fit_guard
from router_core.policy.metrics import aiq, upper_hull
from router_core.policy.rule import CostScale, Policy

# Three models: cheap (0.5 quality, $1), mid (0.75, $2), dear (0.8, $4), on 200 rows with the same labels each.
QUALITY = np.tile([0.5, 0.75, 0.8], (200, 1))
COST = np.tile([1.0, 2.0, 4.0], (200, 1))
NAMES = ["cheap", "mid", "dear"]


def hull_at(cost, quality, at):
    hull_cost, hull_quality = upper_hull(cost, quality)
    return float(np.interp(at, hull_cost, hull_quality))


def curve(choices):
    rows = np.arange(choices.shape[1])
    return (np.array([COST[rows, c].mean() for c in choices]), np.array([QUALITY[rows, c].mean() for c in choices]))


def test_a_router_that_passes_under_a_model_gets_a_range_for_it_and_its_curve_clears_the_model():
    # A router that never uses "mid": half its queries to cheap and half to dear near the middle of λ, which costs
    # $2.5 for 0.65 quality, under mid's ($2, 0.75).
    choices = np.zeros((len(SWEEP), 200), dtype=int)
    choices[SWEEP < 0.3] = 2
    choices[(SWEEP >= 0.3) & (SWEEP < 0.7), :100] = 2
    cost, quality = curve(choices)
    assert hull_at(cost, quality, 2.0) < 0.75
    guard, record = fit_guard(choices, QUALITY, COST, NAMES)
    assert [g.model for g in guard] == ["mid"] and list(record["models_the_curve_passed_under"]) == ["mid"]
    (lo, hi, index), = as_indices(guard, NAMES)
    assert 0.025 - 1e-9 <= hi - lo <= 0.05 + 1e-9 and index == 1  # one step of 0.05 (half of it at either end)
    guarded = np.array([np.full(200, 1) if lo - 1e-9 <= lam <= hi + 1e-9 else row for lam, row in zip(SWEEP, choices)])
    cost, quality = curve(guarded)
    assert hull_at(cost, quality, 2.0) >= 0.75 - 1e-12
    assert record["cross_fitted_aiq_guarded"] > record["cross_fitted_aiq_unguarded"]
    assert record["cross_fitted_aiq_guarded"] == pytest.approx(aiq(cost, quality, 1.0, 4.0), abs=1e-5)


def test_a_range_goes_where_routing_spends_what_its_model_costs_never_to_lambda_zero():
    # dear up to λ 0.3, then a mix costing $2.5 for 0.65 quality: under mid; the range belongs in the mixed stretch
    choices = np.zeros((len(SWEEP), 200), dtype=int)
    choices[SWEEP < 0.3] = 2
    choices[(SWEEP >= 0.3) & (SWEEP < 0.7), :100] = 2
    guard, _ = fit_guard(choices, QUALITY, COST, NAMES)
    (only,) = guard
    assert only.model == "mid" and 0.3 - 0.025 <= only.low and only.high <= 0.7 + 0.025


def test_a_router_already_above_every_model_gets_no_range():
    choices = np.zeros((len(SWEEP), 200), dtype=int)
    choices[SWEEP < 0.6] = 1
    choices[SWEEP < 0.2] = 2
    guard, record = fit_guard(choices, QUALITY, COST, NAMES)
    assert guard == () and record["models_the_curve_passed_under"] == {}


def test_the_rule_sends_a_guarded_lambda_to_its_model_where_a_query_may_use_it():
    quality = np.array([[0.9, 0.1, 0.2], [0.1, 0.9, 0.2]])
    cost = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    policy = Policy(CostScale(0.0, 1.0), guard=((0.45, 0.55, 2),))
    assert policy.choose(quality, cost, 0.5).tolist() == [2, 2]
    assert policy.choose(quality, cost, 0.3).tolist() == [0, 1]  # outside the range: the utilities decide
    allowed = np.array([[True, True, False], [True, True, True]])
    assert policy.utilities_and_choice(quality, cost, 0.5, allowed=allowed)[1].tolist() == [0, 2]
    assert policy.choose_each(quality, cost, [0.3, 0.5]).tolist() == [[0, 1], [2, 2]]
    indices, _ = policy.top_k(quality, cost, 0.5, 2)  # soft routing is not guarded
    assert indices[:, 0].tolist() == [0, 1]
    assert Policy(CostScale(0.0, 1.0), "exponential", guard=((0.45, 0.55, 2),)).choose(quality, cost, 0.5).tolist() == [0, 1]


def test_a_saved_router_keeps_its_guard_and_says_when_it_applied(tiny_router_dir):
    import dataclasses

    router = Router.load(tiny_router_dir)
    cheapest = router.route("hello how are you", 1.0)[0].candidate
    guarded = dataclasses.replace(router.parts, guard=(GuardRange(0.0, 0.05, cheapest),))
    Router.from_parts(router.config, guarded).save(tiny_router_dir)
    again = Router.load(tiny_router_dir)
    decision = again.route("write a python function that sorts list with unit tests", 0.0)[0]
    assert decision.candidate == cheapest and decision.guarded and decision.to_dict()["guarded"] is True
    assert not again.route("write a python function that sorts list with unit tests", 0.5)[0].guarded
    assert again.policy("exponential").guard == ()
    meta = json.loads((tiny_router_dir / "router.json").read_text())
    assert meta["guard"] == [{"low": 0.0, "high": 0.05, "model": cheapest}]
    meta["guard"][0]["model"] = "gpt-9"
    with pytest.raises(RouterInputError, match=r"guard\[0\]\.model must be one of the router's models"):
        check_meta(meta, "router.json")
