"""The Pareto page's one-sentence verdict: rank by AIQ among learned routers, and the single models the router falls
below at their own cost."""
import pandas as pd

from router_core.evaluation.comparison import ROUTER_ROW
from router_core.evaluation.standing import quality_at_cost, standing_sentence


def curve(points):
    return pd.DataFrame(points, columns=["cost", "quality"]).assign(lam=range(len(points)))


CURVES = {ROUTER_ROW: curve([(1.0, 0.5), (2.0, 0.7), (4.0, 0.9)]),
          "knn": curve([(1.0, 0.5), (4.0, 0.92)]),
          "single:cheap": curve([(1.0, 0.5)]),
          "single:mid": curve([(3.0, 0.85)]),
          "single:dear": curve([(4.0, 0.88)])}


def test_quality_at_a_cost_reads_the_hull_between_points():
    router = CURVES[ROUTER_ROW]
    assert quality_at_cost(router, 3.0) == 0.8  # halfway between (2, 0.7) and (4, 0.9)
    assert quality_at_cost(router, 0.5) != quality_at_cost(router, 0.5)  # NaN: cheaper than any λ reaches


def test_the_sentence_names_the_rank_the_best_other_and_the_models_it_falls_below():
    table = pd.DataFrame({"aiq": [0.80, 0.82, 0.9, 0.6, 0.5, 0.5, 0.5]},
                         index=[ROUTER_ROW, "knn", "oracle", "random", "single:cheap", "single:mid", "single:dear"])
    text = standing_sentence(table, CURVES, ROUTER_ROW)
    assert text.startswith("CrossRoute is 2nd of 2 learned routers by AIQ (0.800); the best, knn, reaches 0.820.")
    assert "falls below mid (0.850 vs 0.800)." in text and "cheap" not in text.split("falls below")[1]
    assert "dear" not in text  # 0.9 at cost 4 beats dear's 0.88


def test_a_router_that_leads_says_so():
    table = pd.DataFrame({"aiq": [0.85, 0.82]}, index=[ROUTER_ROW, "knn"])
    curves = {ROUTER_ROW: CURVES[ROUTER_ROW], "single:cheap": CURVES["single:cheap"]}
    text = standing_sentence(table, curves, ROUTER_ROW)
    assert text.startswith("CrossRoute has the highest AIQ of 2 learned routers (0.850; next, knn, 0.820).")
    assert "At each single model's own cost it matches or beats that model's quality." in text


def test_the_best_baseline_is_the_strongest_learned_router_other_than_ours():
    from router_core.evaluation.standing import best_baseline

    table = pd.DataFrame({"aiq": [0.80, 0.82, 0.9, 0.81]}, index=[ROUTER_ROW, "knn", "oracle", "mlp"])
    assert best_baseline(table, ROUTER_ROW) == "knn"  # the oracle is a bound, not a router
    assert best_baseline(table.loc[[ROUTER_ROW, "oracle"]], ROUTER_ROW) is None


def test_tables_shown_as_text_never_say_none():
    import math

    from router_core.dashboard_views.figures import as_text

    frame = pd.DataFrame({"share": [0.25, math.nan], "cost": [1.5, 2.0], "name": ["a", "b"]})
    shown = as_text(frame, {"share": "{:.0%}", "cost": "${:.2f}"}, missing="never")
    assert shown.to_dict("list") == {"share": ["25%", "never"], "cost": ["$1.50", "$2.00"], "name": ["a", "b"]}
