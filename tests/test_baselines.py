"""Baselines and evaluation on a synthetic set where the best candidate depends on the query's feature cluster."""
import math

import numpy as np
import pandas as pd
import pytest

from router_core.data.labelled import LabelledSet
from router_core.errors import RouterInputError
from router_core.evaluation.baselines import (
    BASELINES,
    Baseline,
    CallEveryBaseline,
    ClusterBaseline,
    KnnBaseline,
    MatrixFactorisationBaseline,
    PredictiveBaseline,
    baseline_names,
    make_baseline,
    run_baselines,
)
from router_core.policy.curves import (
    category_breakdown,
    compare,
    curve_from_scores,
    default_lams,
)
from router_core.policy.rule import CostScale, Policy

CANDIDATES = ["budget", "mid", "premium"]
PRICE_IN = np.array([0.1, 0.5, 2.5])  # USD per 1M tokens
PRICE_OUT = np.array([0.4, 1.5, 10.0])
# Mean quality per (cluster, candidate): all good on chit-chat, budget fails on maths, only premium codes.
SKILL = np.array([[0.85, 0.87, 0.88],
                  [0.30, 0.85, 0.88],
                  [0.10, 0.30, 0.90]])
PREDICTIVE = ["knn", "mlp", "linear", "mf", "cluster", "classifier", "task-type"]


def make_data(n_queries: int, seed: int, candidates=CANDIDATES, skill=SKILL) -> LabelledSet:
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(123).normal(size=(len(skill), 12)) * 3  # shared by train and test
    cluster = rng.integers(0, len(skill), n_queries)  # (Q,)
    features = centres[cluster] + rng.normal(size=(n_queries, 12))  # (Q, d)
    quality = np.clip(skill[cluster] + rng.normal(0, 0.05, (n_queries, len(candidates))), 0, 1)  # (Q, M)
    input_tokens = rng.integers(50, 500, n_queries).astype(float)  # (Q,)
    output_tokens = rng.integers(100, 400, (n_queries, len(candidates))).astype(float)  # (Q, M)
    m = len(candidates)
    cost = (input_tokens[:, None] * PRICE_IN[:m] + output_tokens * PRICE_OUT[:m]) / 1e6  # (Q, M) USD
    categories = np.array(["chit-chat", "maths", "coding"])[cluster]
    return LabelledSet.from_arrays(features, quality, cost, candidates, categories, input_tokens, output_tokens)


@pytest.fixture(scope="module")
def split():
    train, test = make_data(600, seed=1), make_data(300, seed=2)
    return train, test, Policy(CostScale.from_costs(train.cost))


@pytest.fixture(scope="module")
def curves(split):
    train, test, cost_scale = split
    return run_baselines(train, test, default_lams(), cost_scale, seed=0)


@pytest.fixture(scope="module")
def table(split, curves):
    return compare(curves, split[1])


def test_registry_contains_every_baseline():
    assert set(BASELINES) == {"single", "random", "oracle", "knn", "mlp", "linear", "mf", "classifier", "cluster",
                              "task-type", "call-every"}
    assert all(issubclass(cls, Baseline) for cls in BASELINES.values())
    assert all(issubclass(BASELINES[name], PredictiveBaseline) for name in PREDICTIVE)
    assert baseline_names(["a", "b"])[:2] == ["single:a", "single:b"]
    with pytest.raises(RouterInputError, match="unknown baseline"):
        make_baseline("nope")


def test_run_baselines_returns_every_curve_with_fit_time(curves):
    assert set(curves) == set(baseline_names(CANDIDATES))
    for name, curve in curves.items():
        assert {"lam", "cost", "quality", *(f"share_{c}" for c in CANDIDATES)} <= set(curve.columns), name
        assert curve.attrs["fit_seconds"] >= 0


def test_single_model_curves_are_one_point_at_the_measured_means(split, curves):
    test = split[1]
    for j, candidate in enumerate(CANDIDATES):
        curve = curves[f"single:{candidate}"]
        assert len(curve) == 1
        assert curve["cost"].iloc[0] == pytest.approx(test.cost[:, j].mean())
        assert curve["quality"].iloc[0] == pytest.approx(test.quality[:, j].mean())
        assert curve[f"share_{candidate}"].iloc[0] == 1.0


def test_random_is_the_line_between_the_cheapest_and_the_best(split, curves):
    test = split[1]
    curve = curves["random"]
    assert curve["quality"].iloc[0] == pytest.approx(test.quality[:, 2].mean())  # λ=0: premium
    assert curve["cost"].iloc[-1] == pytest.approx(test.cost[:, 0].mean())  # λ=1: budget
    middle = curve[np.isclose(curve["lam"], 0.5)].iloc[0]
    assert middle["quality"] == pytest.approx((test.quality[:, 0].mean() + test.quality[:, 2].mean()) / 2)
    assert middle["share_budget"] == pytest.approx(0.5) and middle["share_mid"] == 0.0


def test_oracle_dominates_every_baseline(table):
    others = table.drop(index="oracle")
    assert (table.loc["oracle", "aiq"] > others["aiq"]).all()


@pytest.mark.parametrize("name", PREDICTIVE)
def test_learned_baselines_beat_random_mixing(table, name):
    assert table.loc[name, "aiq"] > table.loc["random", "aiq"] + 0.05


@pytest.mark.parametrize("name", PREDICTIVE)
def test_lam_one_routes_every_query_to_the_cheapest_candidate(curves, name):
    at_one = curves[name][np.isclose(curves[name]["lam"], 1.0)].iloc[0]
    assert at_one["share_budget"] == 1.0


def test_call_every_is_one_estimated_point_priced_with_the_merge_call(split, curves, table):
    train, test, _ = split
    curve = curves["call-every"]
    assert len(curve) == 1 and bool(curve["estimate"].iloc[0])
    assert curve["quality"].iloc[0] == pytest.approx(test.quality.max(axis=1).mean())
    assert curve["quality_low"].iloc[0] == pytest.approx(test.quality.mean(axis=1).mean())
    # premium (dearest) merges: it reads the prompt and all three answers, writes its mean train answer length
    merge = ((test.input_tokens + test.output_tokens.sum(axis=1)) * PRICE_IN[2]
             + train.output_tokens[:, 2].mean() * PRICE_OUT[2]) / 1e6
    assert curve["cost"].iloc[0] == pytest.approx((test.cost.sum(axis=1) + merge).mean(), rel=1e-6)
    assert bool(table.loc["call-every", "estimate"]) and not table.drop(index="call-every")["estimate"].any()


def test_call_every_without_token_counts_charges_one_typical_merge_call(split):
    train, test, cost_scale = split
    bare_train = LabelledSet.from_arrays(train.features, train.quality, train.cost, CANDIDATES)
    bare_test = LabelledSet.from_arrays(test.features, test.quality, test.cost, CANDIDATES)
    curve = CallEveryBaseline().fit(bare_train).curve(bare_test, default_lams(), cost_scale)
    assert curve["cost"].iloc[0] == pytest.approx(test.cost.sum(axis=1).mean() + train.cost[:, 2].mean())


def test_fitting_is_seeded_and_refit_starts_over(split):
    train, test, cost_scale = split
    for baseline in (MatrixFactorisationBaseline(epochs=60), ClusterBaseline(), KnnBaseline()):
        first = baseline.fit(train, seed=3).curve(test, default_lams(11), cost_scale)
        baseline.fit(train, seed=5)
        again = baseline.fit(train, seed=3).curve(test, default_lams(11), cost_scale)
        pd.testing.assert_frame_equal(first, again)


def test_task_type_predicts_each_types_means_and_without_types_the_overall_means(split):
    train, test, _ = split
    baseline = make_baseline("task-type").fit(train)
    quality, cost = baseline.predict_quality_cost(test.features)
    for j, category in enumerate(["chit-chat", "maths", "coding"]):
        rows = test.categories == category
        # the clusters are far apart, so the type is recognised; 10 pseudo-queries at the mean barely move ~200 rows
        np.testing.assert_allclose(quality[rows].mean(axis=0), SKILL[j], atol=0.03)
        np.testing.assert_allclose(cost[rows].mean(axis=0), train.cost[train.categories == category].mean(axis=0), rtol=0.02)
    untyped = LabelledSet.from_arrays(train.features, train.quality, train.cost, train.candidates)
    quality, cost = make_baseline("task-type").fit(untyped).predict_quality_cost(test.features[:5])
    np.testing.assert_allclose(quality, np.tile(train.quality.mean(axis=0), (5, 1)))
    np.testing.assert_allclose(cost, np.tile(train.cost.mean(axis=0), (5, 1)))


def test_classifier_gives_never_best_candidates_zero_probability():
    skill = np.array([[0.9, 0.2, 0.3], [0.2, 0.9, 0.3]])  # premium is never the best
    train = make_data(200, seed=4, skill=skill)
    baseline = make_baseline("classifier").fit(train)
    probability, _ = baseline.predict_quality_cost(train.features[:5])
    assert probability.shape == (5, 3) and np.all(probability[:, 2] == 0)
    np.testing.assert_allclose(probability.sum(axis=1), 1.0)


def test_compare_adds_routellm_metrics_for_two_candidates():
    pair = {"candidates": CANDIDATES[:2], "skill": SKILL[:, :2]}  # mid is better than budget everywhere
    train, test = make_data(300, seed=6, **pair), make_data(200, seed=7, **pair)
    cost_scale = Policy(CostScale.from_costs(train.cost))
    table = compare(run_baselines(train, test, default_lams(), cost_scale, names=["single", "random", "oracle", "call-every"]), test)
    assert {"apgr", "cpt50", "cpt80", "calls_at_95pct", "estimate"} <= set(table.columns)
    assert table.loc["random", "apgr"] == pytest.approx(0.5)
    assert table.loc["random", "cpt50"] == pytest.approx(0.5)
    weak, strong = np.sort(test.quality.mean(axis=0))  # random mixing's PGR is its strong-call fraction
    assert table.loc["random", "calls_at_95pct"] == pytest.approx((0.95 * strong - weak) / (strong - weak))
    # oracle: maths (gap .55 of .77) first, then coding (.2), then chit-chat (.02): APGR ~ 0.73, CPT(50%) ~ 0.23
    assert table.loc["oracle", "apgr"] > 0.7
    assert table.loc["oracle", "cpt50"] < 0.3
    assert math.isnan(table.loc["call-every", "apgr"])


def test_curve_from_scores_and_category_breakdown(split):
    _, test, cost_scale = split
    curve = curve_from_scores(test.quality, test.cost, test, [0.0, 1.0], cost_scale)
    assert list(curve.columns) == ["lam", "cost", "quality", "share_budget", "share_mid", "share_premium"]
    assert curve["quality"].iloc[0] == pytest.approx(test.quality.max(axis=1).mean())  # λ=0: best per query
    breakdown = category_breakdown(test.quality, test.cost, test, 0.0, cost_scale)
    assert breakdown["n"].sum() == test.n_queries
    coding = breakdown.set_index("category").loc["coding"]
    assert coding["best_single"] == "premium" and coding["quality"] >= coding["best_single_quality"]
    shares = breakdown[[f"share_{c}" for c in CANDIDATES]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)


def test_labelled_set_from_arrays_validates_and_subsets(split):
    test = split[1]
    with pytest.raises(RouterInputError, match="quality has shape"):
        LabelledSet.from_arrays(test.features, test.quality[:, :2], test.cost, CANDIDATES)
    with pytest.raises(RouterInputError, match="quality at query 0"):
        LabelledSet.from_arrays(test.features, test.quality + 2, test.cost, CANDIDATES)
    with pytest.raises(RouterInputError, match="output_tokens"):
        LabelledSet.from_arrays(test.features, test.quality, test.cost, CANDIDATES, output_tokens=test.output_tokens[:, :1])
    part = test.subset(np.arange(10))
    assert part.n_queries == 10 and part.categories.shape == (10,) and part.output_tokens.shape == (10, 3)


def test_every_row_of_a_comparison_is_described_for_the_dashboard():
    from router_core.evaluation.baselines import DESCRIPTIONS

    named = {n for n in BASELINES if n != "single"} | {"cross-attention", "single:<model>"}
    assert set(DESCRIPTIONS) == named and all(len(text) > 20 for text in DESCRIPTIONS.values())


def test_cached_predictions_reprice_to_the_curve_a_refit_at_the_new_prices_gives(split):
    from router_core.data.catalog import Candidate, Catalog
    from router_core.evaluation.baselines import repriced_curve

    train, test, _ = split
    # premium's price cut by 80%: the choices change, so an unchanged cost column would not pass
    new = Catalog(tuple(Candidate(name, f"test/{name}", float(pin), float(pout)) for name, pin, pout in
                        zip(CANDIDATES, PRICE_IN * [1, 1, 0.2], PRICE_OUT * [1, 1, 0.2])))
    train_new, test_new = train.repriced(new), test.repriced(new)
    assert not np.allclose(test_new.cost, test.cost)
    policy_new = Policy(CostScale.from_costs(train_new.cost))
    predictions = {}
    run_baselines(train, test, default_lams(), Policy(CostScale.from_costs(train.cost)), names=PREDICTIVE,
                  predictions=predictions)
    assert set(predictions) == set(PREDICTIVE)
    refit = run_baselines(train_new, test_new, default_lams(), policy_new, names=PREDICTIVE)
    for name in PREDICTIVE:
        cheap = repriced_curve(name, predictions[name], test_new, new, default_lams(), policy_new)
        pd.testing.assert_frame_equal(cheap, refit[name], check_exact=False, rtol=1e-9, atol=1e-12)


def test_a_set_without_token_counts_gives_no_price_free_predictions(split):
    train, test, _ = split
    bare = LabelledSet.from_arrays(train.features, train.quality, train.cost, train.candidates)
    assert make_baseline("knn").fit(bare).predictions(test) is None
