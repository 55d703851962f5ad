"""Hull, AIQ, summary and RouteLLM metrics against values computed by hand (in the comments)."""
import math

import numpy as np
import pytest

from router_core.policy.metrics import (
    aiq,
    apgr,
    calls_at_strong_share,
    cpt,
    paired_gap,
    summarize,
    upper_hull,
)

# Three points with a concave corner: slopes 0.3 then 0.05.
CORNER_COST = [1.0, 2.0, 4.0]
CORNER_QUALITY = [0.5, 0.8, 0.9]


def test_upper_hull_keeps_a_concave_corner():
    cost, quality = upper_hull([4.0, 1.0, 2.0], [0.9, 0.5, 0.8])  # unsorted input
    np.testing.assert_allclose(cost, CORNER_COST)
    np.testing.assert_allclose(quality, CORNER_QUALITY)


def test_upper_hull_drops_points_below_after_best_and_duplicates():
    cost = CORNER_COST + [3.0, 1.5, 5.0, 2.0, 2.0]
    quality = CORNER_QUALITY + [
        0.7,   # chord (2, .8)-(4, .9) is 0.85 at cost 3: below
        0.6,   # chord (1, .5)-(2, .8) is 0.65 at cost 1.5: below
        0.85,  # dearer than the best point and worse: cut by the non-decreasing rule
        0.6,   # same cost as (2, .8), lower quality
        0.8,   # exact duplicate of (2, .8)
    ]
    hull_cost, hull_quality = upper_hull(cost, quality)
    np.testing.assert_allclose(hull_cost, CORNER_COST)
    np.testing.assert_allclose(hull_quality, CORNER_QUALITY)


def test_upper_hull_removes_a_convex_middle_point():
    # chord (1, .5)-(3, .9) is 0.7 at cost 2, above 0.55
    cost, quality = upper_hull([1, 2, 3], [0.5, 0.55, 0.9])
    np.testing.assert_allclose(cost, [1, 3])
    np.testing.assert_allclose(quality, [0.5, 0.9])


def test_upper_hull_of_collinear_and_flat_points():
    cost, quality = upper_hull([1, 2, 3, 4], [0.2, 0.4, 0.6, 0.6])  # collinear, then flat at the top
    np.testing.assert_allclose(cost, [1, 3])
    np.testing.assert_allclose(quality, [0.2, 0.6])


def test_upper_hull_single_point_and_cheapest_best():
    assert upper_hull([2.0], [0.7]) == (pytest.approx([2.0]), pytest.approx([0.7]))
    cost, quality = upper_hull([1.0, 2.0], [0.9, 0.5])  # the cheapest is also the best: one point
    np.testing.assert_allclose(cost, [1.0])
    np.testing.assert_allclose(quality, [0.9])


def test_upper_hull_rejects_nan_and_mismatched_lengths():
    with pytest.raises(ValueError, match="NaN"):
        upper_hull([1.0, np.nan], [0.5, 0.6])
    with pytest.raises(ValueError, match="same length"):
        upper_hull([1.0, 2.0], [0.5])


def test_aiq_of_the_corner_with_flat_extension():
    # [1,2]: (0.5+0.8)/2 = 0.65; [2,4]: (0.8+0.9)/2*2 = 1.7; [4,5]: flat 0.9 -> total 3.25 over width 4
    assert aiq(CORNER_COST, CORNER_QUALITY, 1.0, 5.0) == pytest.approx(0.8125)


def test_aiq_loses_the_area_left_of_the_hull():
    # hull starts at cost 2: [1,2] adds 0; [2,4]: 1.7 -> 1.7 / 3
    assert aiq([2.0, 4.0], [0.8, 0.9], 1.0, 4.0) == pytest.approx(1.7 / 3)


def test_aiq_holds_the_hull_flat_to_the_right():
    # [1,2]: 0.65; [2,4]: 0.8 * 2 = 1.6 -> 2.25 / 3
    assert aiq([1.0, 2.0], [0.5, 0.8], 1.0, 4.0) == pytest.approx(0.75)


def test_aiq_interpolates_inside_the_window():
    # h(1) = 0.3, h(3) = 0.5 on the line (0, .2)-(4, .6): mean height 0.4
    assert aiq([0.0, 4.0], [0.2, 0.6], 1.0, 3.0) == pytest.approx(0.4)


def test_aiq_ignores_points_below_the_hull_and_handles_an_empty_window():
    assert aiq(CORNER_COST + [3.0], CORNER_QUALITY + [0.1], 1.0, 5.0) == pytest.approx(0.8125)
    assert aiq(CORNER_COST, CORNER_QUALITY, 3.0, 3.0) == pytest.approx(0.85)  # hull value at cost 3
    assert aiq(CORNER_COST, CORNER_QUALITY, 0.5, 0.5) == 0.0  # left of the hull
    with pytest.raises(ValueError):
        aiq(CORNER_COST, CORNER_QUALITY, 2.0, 1.0)


def test_summarize_by_hand():
    # single models: cheap (cost 1, quality .5), best (cost 4, quality .85)
    summary = summarize(CORNER_COST, CORNER_QUALITY, [1.0, 4.0], [0.5, 0.85])
    assert summary["aiq"] == pytest.approx(2.35 / 3)  # [1,2]: 0.65 + [2,4]: 1.7, over width 3
    assert summary["max_quality"] == pytest.approx(0.9)
    # 0.85 is halfway from (2, .8) to (4, .9): cost 3, which is 3/4 of the best model's cost
    assert summary["cost_at_best_single"] == pytest.approx(0.75)
    assert summary["quality_at_cheapest"] == pytest.approx(0.5)


def test_summarize_when_targets_are_missed():
    summary = summarize([1.5, 2.0], [0.6, 0.7], [1.0, 4.0], [0.5, 0.85])
    assert math.isnan(summary["cost_at_best_single"])  # never reaches 0.85
    assert math.isnan(summary["quality_at_cheapest"])  # starts right of cost 1
    # [1,1.5]: 0; [1.5,2]: 0.65*0.5 = 0.325; [2,4]: 0.7*2 = 1.4 -> 1.725 / 3
    assert summary["aiq"] == pytest.approx(1.725 / 3)


def test_summarize_when_the_first_hull_point_already_beats_the_best():
    summary = summarize([2.0], [0.9], [1.0, 4.0], [0.5, 0.85])
    assert summary["cost_at_best_single"] == pytest.approx(0.5)  # cost 2 of 4


# Two-model example: weak 0.5, strong 0.9 (gap 0.4); PGR at fractions 0, .25, .5, 1 is 0, .5, .75, 1.
FRACTION = [0.0, 0.25, 0.5, 1.0]
QUALITY = [0.5, 0.7, 0.8, 0.9]


def test_apgr_by_hand_and_as_routellm_computes_it():
    # trapezoids: .25*.25 + .625*.25 + .875*.5 = 0.0625 + 0.15625 + 0.4375
    assert apgr(FRACTION, QUALITY, 0.5, 0.9) == pytest.approx(0.65625)
    # RouteLLM: (AUC - weak_auc) / (strong_auc - weak_auc) with AUC = trapz(accuracy, strong fraction)
    auc = np.sum((np.array(QUALITY[1:]) + QUALITY[:-1]) / 2 * np.diff(FRACTION))
    assert apgr(FRACTION, QUALITY, 0.5, 0.9) == pytest.approx((auc - 0.5) / (0.9 - 0.5))


def test_apgr_closes_a_short_curve_with_the_single_models():
    assert apgr([0.25, 0.5], [0.7, 0.8], 0.5, 0.9) == pytest.approx(0.65625)
    assert apgr([0.0, 1.0], [0.5, 0.9], 0.5, 0.9) == pytest.approx(0.5)  # random mixing


def test_apgr_averages_repeated_fractions():
    # PGR at 0.5 is the mean of .5 and .75 = .625: .3125*.5 + .8125*.5
    assert apgr([0.0, 0.5, 0.5, 1.0], [0.5, 0.7, 0.8, 0.9], 0.5, 0.9) == pytest.approx(0.5625)


def test_apgr_rejects_bad_input():
    with pytest.raises(ValueError):
        apgr([0.0, 1.5], [0.5, 0.9], 0.5, 0.9)
    with pytest.raises(ValueError):
        apgr([0.0, 1.0], [0.5, 0.9], 0.7, 0.7)


def test_cpt_by_hand():
    assert cpt(FRACTION, QUALITY, 0.5, 0.9, 0.5) == pytest.approx(0.25)  # exactly at a point
    assert cpt(FRACTION, QUALITY, 0.5, 0.9, 0.8) == pytest.approx(0.6)  # (.5,.75)-(1,1): 0.2 of the way
    assert cpt(FRACTION, QUALITY, 0.5, 0.9, 0.6) == pytest.approx(0.35)  # (.25,.5)-(.5,.75): 0.4 of the way
    assert cpt(FRACTION, QUALITY, 0.5, 0.9, 0.0) == pytest.approx(0.0)


def test_cpt_is_nan_when_the_curve_never_reaches_the_target():
    assert math.isnan(cpt([0.25, 0.5], [0.7, 0.8], 0.5, 0.9, 0.8))  # best PGR 0.75


def test_calls_at_strong_share_by_hand():
    # 95% of 0.9 is 0.855, PGR (0.855 - 0.5) / 0.4 = 0.8875: on (.5, .75)-(1, 1), 0.55 of the way
    assert calls_at_strong_share(FRACTION, QUALITY, 0.5, 0.9) == pytest.approx(0.775)
    assert calls_at_strong_share(FRACTION, QUALITY, 0.5, 0.9, share=0.5) == pytest.approx(0.0)  # 0.45: weak already
    assert math.isnan(calls_at_strong_share([0.25, 0.5], [0.7, 0.8], 0.5, 0.9))  # never reaches 0.855


def test_paired_gap_by_hand():
    theirs = np.array([0.70, 0.72, 0.68, 0.71, 0.69])
    ours = theirs + np.array([0.01, 0.02, 0.00, 0.01, 0.01])
    gap = paired_gap(ours, theirs)
    # differences: mean 0.01, sample std sqrt(0.0002 / 4), so SE 0.00316 and t = 3.162 on 4 degrees of freedom
    assert gap["gap"] == pytest.approx(0.01)
    assert gap["standard_error"] == pytest.approx(math.sqrt(0.00005 / 5))
    assert gap["p_value"] == pytest.approx(0.0341, abs=5e-4)
    assert (gap["ahead"], gap["level"], gap["behind"], gap["folds"]) == (4, 1, 0, 5)


def test_paired_gap_sees_through_fold_spread_and_rejects_bad_input():
    # the same 0.001 lead on every fold is certain even though the folds spread by 0.1; a lead that flips is not
    steady = paired_gap([0.6011, 0.7009, 0.5012, 0.6510, 0.5508], [0.6, 0.7, 0.5, 0.65, 0.55])
    flipping = paired_gap([0.61, 0.69, 0.51, 0.64, 0.56], [0.6, 0.7, 0.5, 0.65, 0.55])
    assert steady["p_value"] < 0.001 and steady["ahead"] == 5
    assert flipping["p_value"] > 0.5 and (flipping["ahead"], flipping["behind"]) == (3, 2)
    assert math.isnan(paired_gap([0.6, 0.7], [0.5, 0.6])["p_value"])  # the same difference on every fold
    with pytest.raises(ValueError, match="equal-length"):
        paired_gap([0.6, 0.7, 0.8], [0.6, 0.7])


def test_paired_gap_counts_the_same_routes_summed_in_another_order_as_level():
    # 0.1 + 0.2 is 0.30000000000000004: a fold where both routers made the same routes is a tie, not a loss
    gap = paired_gap([0.1 + 0.2, 0.71, 0.62], [0.3, 0.70, 0.60])
    assert (gap["ahead"], gap["level"], gap["behind"]) == (2, 1, 0)
