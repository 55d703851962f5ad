"""Reference routers that read the test set's categories (router_core/ceilings.py)."""
import numpy as np
import pytest

from benchmarks.ceilings import (
    CategoryKnown,
    CategoryKnownResidual,
    CategoryOracle,
    CategoryOracleTrueCost,
    run_ceilings,
)
from router_core.data.labelled import LabelledSet
from router_core.errors import RouterInputError
from router_core.policy.curves import compare, default_lams
from router_core.policy.rule import CostScale, Policy

CANDIDATES = ["budget", "premium"]
COST = np.array([1e-5, 1e-4])  # USD per call


def make(skill: dict, n: int, seed: int, slope: float = 0.0) -> LabelledSet:
    """Quality = the category's skill per candidate (+ slope × feature 0 for the budget model, within category)."""
    rng = np.random.default_rng(seed)
    names = np.array(list(skill))
    categories = names[rng.integers(0, len(names), n)]
    features = rng.normal(size=(n, 4))
    quality = np.array([skill[c] for c in categories], dtype=float)
    quality[:, 0] = np.clip(quality[:, 0] + slope * features[:, 0], 0, 1)
    return LabelledSet.from_arrays(features, quality, np.tile(COST, (n, 1)), CANDIDATES, categories)


def aiq(curves: dict, test: LabelledSet) -> dict:
    return compare(curves, test)["aiq"].to_dict()


def test_with_quality_fixed_by_category_knowing_it_routes_like_the_oracle():
    skill = {"chat": (0.9, 0.9), "maths": (0.2, 0.8)}
    train, test = make(skill, 200, 0), make(skill, 100, 1)
    scale = Policy(CostScale.from_costs(train.cost))
    table = compare(run_ceilings(train, test, default_lams(), scale), test)
    oracle = CategoryOracle().fit(train).curve(test, default_lams(), scale)
    share_maths = float(np.mean(test.categories == "maths"))
    best = 0.9 * (1 - share_maths) + 0.8 * share_maths  # λ = 0: chat ties and goes to budget, maths to premium
    assert oracle["quality"].iloc[0] == pytest.approx(best) and oracle["share_premium"].iloc[0] == pytest.approx(share_maths)
    assert table.loc["category-known", "aiq"] == pytest.approx(table.loc["category-oracle", "aiq"])
    assert table.loc["category-known", "max_quality"] == pytest.approx(best)


def test_category_oracle_uses_the_test_folds_own_means_so_a_shifted_test_set_separates_them():
    train = make({"chat": (0.9, 0.8), "maths": (0.2, 0.8)}, 200, 0)
    test = make({"chat": (0.5, 0.8), "maths": (0.2, 0.8)}, 100, 1)  # budget got worse on chat since training
    scale = Policy(CostScale.from_costs(train.cost))
    known = CategoryKnown().fit(train).curve(test, default_lams(), scale)
    oracle = CategoryOracle().fit(train).curve(test, default_lams(), scale)
    # Trained on the old means, λ = 0 still sends chat to budget (0.9 > 0.8); the oracle knows it is now 0.5.
    assert known["share_budget"].iloc[0] == pytest.approx(float(np.mean(test.categories == "chat")))
    assert oracle["share_premium"].iloc[0] == pytest.approx(1.0) and oracle["quality"].iloc[0] == pytest.approx(0.8)
    scores = aiq({"known": known, "oracle": oracle}, test)
    assert scores["oracle"] > scores["known"] + 0.03


def test_residual_row_picks_up_within_category_signal_in_the_features():
    skill = {"chat": (0.5, 0.7), "maths": (0.3, 0.7)}
    train, test = make(skill, 600, 0, slope=0.3), make(skill, 300, 1, slope=0.3)
    scale = Policy(CostScale.from_costs(train.cost))
    scores = aiq({name: cls().fit(train).curve(test, default_lams(), scale)
                  for name, cls in (("known", CategoryKnown), ("residual", CategoryKnownResidual))}, test)
    assert scores["residual"] > scores["known"] + 0.02


def test_a_test_category_unseen_in_training_falls_back_to_the_overall_mean():
    train = make({"chat": (0.9, 0.8)}, 50, 0)
    test = make({"chat": (0.9, 0.8), "poetry": (0.1, 0.9)}, 40, 1)
    quality, cost = CategoryKnown().fit(train).known(test)
    assert np.allclose(quality[test.categories == "poetry"], train.quality.mean(axis=0))
    assert np.allclose(cost, COST)


def test_without_a_category_column_the_error_says_so():
    data = make({"chat": (0.9, 0.8)}, 20, 0)
    bare = LabelledSet.from_arrays(data.features, data.quality, data.cost, CANDIDATES)
    with pytest.raises(RouterInputError, match="category"):
        CategoryKnown().fit(bare)
    with pytest.raises(RouterInputError, match="category"):
        CategoryOracle().fit(data).curve(bare, default_lams(), Policy(CostScale.from_costs(data.cost)))


def test_true_cost_row_sends_the_queries_where_budget_costs_as_much_as_premium_to_premium():
    skill = {"chat": (0.7, 0.8)}
    train, test = make(skill, 100, 0), make(skill, 100, 1)
    long_answers = np.arange(test.n_queries) % 2 == 0  # budget writes 10× more here: as dear as premium
    test.cost[long_answers, 0] = COST[1]
    scale = Policy(CostScale.from_costs(train.cost))
    lams = default_lams()
    mean_cost = CategoryOracle().fit(train).curve(test, lams, scale)
    true_cost = CategoryOracleTrueCost().fit(train).curve(test, lams, scale)
    # Somewhere mid-slider, the category's mean cost sends every query one way; its true cost splits them.
    assert set(np.round(mean_cost["share_premium"], 6)) <= {0.0, 1.0}
    assert np.isclose(true_cost["share_premium"], 0.5).any()
    scores = aiq({"mean": mean_cost, "true": true_cost}, test)
    assert scores["true"] > scores["mean"] + 0.01
