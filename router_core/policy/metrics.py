"""Routing-quality metrics over measured (cost, quality) curves. numpy (scipy for one t-test), no I/O.

RouterBench: the non-decreasing upper convex hull of a λ sweep and AIQ, the mean height of that hull over the
single models' cost range. RouteLLM (two-candidate sets): APGR and CPT over the fraction of strong-model calls.
"""
from __future__ import annotations

import numpy as np

_QUALITY_TOLERANCE = 1e-12  # means of the same numbers summed in another order differ by ~1e-16


def _as_points(cost, quality) -> tuple[np.ndarray, np.ndarray]:
    cost = np.asarray(cost, dtype=float).ravel()
    quality = np.asarray(quality, dtype=float).ravel()
    if cost.shape != quality.shape:
        raise ValueError(f"cost and quality must have the same length, got {cost.size} and {quality.size}")
    if cost.size == 0:
        raise ValueError("a curve needs at least one (cost, quality) point, got none")
    if np.isnan(cost).any() or np.isnan(quality).any():
        raise ValueError("cost and quality must not contain NaN")
    if not (np.isfinite(cost).all() and np.isfinite(quality).all()):
        raise ValueError("cost and quality must be finite")
    return cost, quality


def upper_hull(cost, quality) -> tuple[np.ndarray, np.ndarray]:
    """Non-decreasing upper convex hull of (cost, quality) points, cheapest first.

    The upper concave hull, cut after its (first) maximum quality: the same as the upper hull of the points plus
    (+inf, max quality), since spending more for less quality is never a point worth reaching.

    Returns:
        hull_cost, hull_quality: (H,) arrays, cost strictly increasing and quality strictly increasing.
    """
    cost, quality = _as_points(cost, quality)
    order = np.lexsort((-quality, cost))  # by cost, best quality first within a cost
    cost, quality = cost[order], quality[order]
    first_at_cost = np.r_[True, np.diff(cost) > 0]  # at a repeated cost only the best quality can be on the hull
    cost, quality = cost[first_at_cost], quality[first_at_cost]

    hull: list[int] = []  # Andrew's monotone chain; curves hold ~41 points, so a Python loop is cheap
    for i in range(cost.size):
        while len(hull) >= 2:
            o, a = hull[-2], hull[-1]
            rise = (cost[a] - cost[o]) * (quality[i] - quality[o])
            run = (quality[a] - quality[o]) * (cost[i] - cost[o])
            # Relative slack so points collinear up to rounding (0.6 - 0.2 != 2 * 0.2) count as collinear.
            if rise - run < -1e-12 * (abs(rise) + abs(run)):  # a lies strictly above the chord o -> i: keep it
                break
            hull.pop()  # a is on or below the chord, so it is not a corner of the upper hull
        hull.append(i)
    hull_index = np.asarray(hull)
    top = int(np.argmax(quality[hull_index]))  # first maximum: the cheapest way to the best quality
    hull_index = hull_index[: top + 1]
    return cost[hull_index], quality[hull_index]


def _hull_at(hull_cost: np.ndarray, hull_quality: np.ndarray, at) -> np.ndarray:
    """Hull quality at a cost: linear between hull points, flat right of the last, 0 left of the first."""
    at = np.asarray(at, dtype=float)
    return np.where(at < hull_cost[0], 0.0, np.interp(at, hull_cost, hull_quality))


def aiq(cost, quality, cost_low: float, cost_high: float) -> float:
    """Average improvement in quality (RouterBench): area under the hull on [cost_low, cost_high] / the range.

    Args:
        cost, quality: (P,) the curve's points, USD and quality in [0, 1].
        cost_low, cost_high: the cheapest and the dearest single model's mean cost (USD).
    Returns:
        Mean hull quality over the window. A hull that starts right of cost_low adds nothing there; a hull that
        ends left of cost_high is held flat at its best quality. With cost_low == cost_high, the hull's value there.
    """
    if not cost_high >= cost_low:
        raise ValueError(f"cost_high ({cost_high}) must be >= cost_low ({cost_low})")
    hull_cost, hull_quality = upper_hull(cost, quality)
    if cost_high == cost_low:
        return float(_hull_at(hull_cost, hull_quality, cost_low))
    # Between these knots the hull is linear, and each piece lies wholly left or right of the hull's start,
    # so trapezoids are exact and the jump from 0 to the first quality is not smeared across a piece.
    knots = np.unique(np.clip(np.r_[cost_low, hull_cost, cost_high], cost_low, cost_high))
    left, right = knots[:-1], knots[1:]
    covered = left >= hull_cost[0]
    heights = (np.interp(left, hull_cost, hull_quality) + np.interp(right, hull_cost, hull_quality)) / 2
    area = float(np.sum(np.where(covered, heights * (right - left), 0.0)))
    return area / (cost_high - cost_low)


def summarize(curve_cost, curve_quality, single_cost, single_quality) -> dict:
    """Headline numbers of a curve against the single models.

    Args:
        curve_cost, curve_quality: (P,) the router's λ sweep.
        single_cost, single_quality: (M,) each single model's mean cost (USD) and mean quality on the same set.
    Returns:
        aiq; max_quality (top of the hull); cost_at_best_single (hull cost where it first reaches the best single
        model's quality, interpolated, divided by that model's mean cost; NaN if never); quality_at_cheapest (hull
        quality at the cheapest model's mean cost; NaN if the hull starts right of it).
    """
    single_cost, single_quality = _as_points(single_cost, single_quality)
    hull_cost, hull_quality = upper_hull(curve_cost, curve_quality)
    cheapest = float(single_cost.min())
    best = int(np.lexsort((single_cost, -single_quality))[0])  # best quality, ties to the cheaper model
    target = single_quality[best]

    reached = np.flatnonzero(hull_quality >= target - _QUALITY_TOLERANCE)
    if reached.size == 0:
        cost_at_best_single = np.nan
    else:
        i = int(reached[0])
        if i == 0:
            cost_needed = hull_cost[0]
        else:  # the hull is increasing, so the crossing lies on the segment ending at the first point above target
            step = (target - hull_quality[i - 1]) / (hull_quality[i] - hull_quality[i - 1])
            cost_needed = hull_cost[i - 1] + step * (hull_cost[i] - hull_cost[i - 1])
        cost_at_best_single = float(cost_needed / single_cost[best])

    starts_right = hull_cost[0] > cheapest * (1 + 1e-9)  # relative slack: the λ=1 point often IS the cheapest model
    quality_at_cheapest = np.nan if starts_right else float(np.interp(cheapest, hull_cost, hull_quality))
    return {
        "aiq": aiq(curve_cost, curve_quality, cheapest, float(single_cost.max())),
        "max_quality": float(hull_quality[-1]),
        "cost_at_best_single": cost_at_best_single,
        "quality_at_cheapest": quality_at_cheapest,
    }


def _pgr_points(strong_fraction, quality, weak_quality: float, strong_quality: float):
    """Performance gap recovered per distinct strong-call fraction, sorted by that fraction."""
    fraction, quality = _as_points(strong_fraction, quality)
    if fraction.min() < -1e-12 or fraction.max() > 1 + 1e-12:
        raise ValueError(f"strong-call fractions must lie in [0, 1], got {fraction.min()} .. {fraction.max()}")
    gap = float(strong_quality) - float(weak_quality)
    if not np.isfinite(gap) or gap == 0:
        raise ValueError(f"PGR needs strong quality != weak quality, got strong {strong_quality}, weak {weak_quality}")
    pgr = (quality - weak_quality) / gap
    # Several λ can send the same fraction of calls to the strong model with different results; their order
    # along the curve is arbitrary (RouteLLM leaves it to an unstable sort), so we average them.
    distinct, group = np.unique(np.clip(fraction, 0.0, 1.0), return_inverse=True)
    return distinct, np.bincount(group, weights=pgr) / np.bincount(group)


def apgr(curve_strong_fraction, curve_quality, weak_quality: float, strong_quality: float) -> float:
    """Average performance gap recovered (RouteLLM): area under PGR(strong-call fraction) on [0, 1].

    Matches RouteLLM's routellm/evals/evaluate.py `apgr_metric`: trapezoid rule over the raw curve (no hull),
    PGR = (quality − weak) / (strong − weak), all qualities measured on the same set. RouteLLM's sweep always spans
    fractions 0..1 (its thresholds are quantiles of the router's scores, both ends included) and it divides by the
    span it has; a λ sweep may not reach 0 or 1, so where the curve stops short we close it with the single models
    (0, PGR 0) and (1, PGR 1). Those are exact at the ends, and the straight line to them is what randomly mixing
    the router with that single model achieves. Repeated fractions are averaged.

    Args:
        curve_strong_fraction: (P,) fraction of queries sent to the strong model per λ point, in [0, 1].
        curve_quality: (P,) mean measured quality per λ point.
    Returns:
        APGR, 0.5 for random mixing, 1 for a router as good as the strong model at every fraction.
    """
    fraction, pgr = _pgr_points(curve_strong_fraction, curve_quality, weak_quality, strong_quality)
    if fraction[0] > 0:
        fraction, pgr = np.r_[0.0, fraction], np.r_[0.0, pgr]
    if fraction[-1] < 1:
        fraction, pgr = np.r_[fraction, 1.0], np.r_[pgr, 1.0]
    return float(np.sum((pgr[1:] + pgr[:-1]) / 2 * np.diff(fraction)))


def cpt(curve_strong_fraction, curve_quality, weak_quality: float, strong_quality: float, target: float) -> float:
    """Call-performance threshold (RouteLLM's CPT(x%)): the fewest strong calls reaching PGR >= target.

    RouteLLM computes `np.interp(target quality, accuracy, strong_percentage)`, which assumes quality rises with
    the strong fraction and silently clamps to the curve's ends. We walk the measured points by increasing strong
    fraction and interpolate on the first segment that crosses the target; for a monotone curve spanning 0..1
    this equals RouteLLM's value. Unlike APGR, no single-model end points are added: a router whose sweep never
    reaches the target gets NaN rather than a value borrowed from mixing in the strong model.

    Returns:
        Strong-call fraction in [0, 1] (RouteLLM prints percent), or NaN if the curve never reaches the target.
    """
    fraction, pgr = _pgr_points(curve_strong_fraction, curve_quality, weak_quality, strong_quality)
    reached = np.flatnonzero(pgr >= target - _QUALITY_TOLERANCE)
    if reached.size == 0:
        return float("nan")
    i = int(reached[0])
    if i == 0:
        return float(fraction[0])
    step = (target - pgr[i - 1]) / (pgr[i] - pgr[i - 1])
    return float(fraction[i - 1] + step * (fraction[i] - fraction[i - 1]))


def calls_at_strong_share(curve_strong_fraction, curve_quality, weak_quality: float, strong_quality: float,
                          share: float = 0.95) -> float:
    """Fewest strong calls at which the router reaches `share` of the strong model's own quality.

    RouteLLM's headline ("95% of GPT-4's performance" at a cost cut of 45% on MMLU and 35% on GSM8K) is, on our
    reading, this figure with share 0.95: a quality ratio, not a share of the gap. It is CPT at the gap share that
    quality stands for, (share · strong − weak) / (strong − weak), floored at 0: when the weak model alone already
    reaches it, the strong calls of the curve's first point at or above the weak model (0 if the curve starts there).

    Returns:
        Strong-call fraction in [0, 1], or NaN if the curve never reaches that quality.
    """
    target = (share * float(strong_quality) - float(weak_quality)) / (float(strong_quality) - float(weak_quality))
    return cpt(curve_strong_fraction, curve_quality, weak_quality, strong_quality, max(target, 0.0))


def paired_gap(ours, theirs) -> dict:
    """How far one router is ahead of another over the same folds, and whether fold-to-fold noise could explain it.

    Folds differ far more from each other than two routers on one fold do (llmrouter: ± 0.02 AIQ between folds), so
    the gap is measured fold by fold (a paired t-test over the per-fold differences) rather than between the means.

    Returns:
        gap (mean of ours − theirs), its standard error, folds ahead / level / behind, and the two-sided p-value of
        the paired t-test (NaN when every fold gives the same difference).
    """
    from scipy.stats import (
        ttest_rel,  # scipy.stats is slow to import; only benchmarks pair folds
    )

    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    if ours.shape != theirs.shape or ours.ndim != 1 or len(ours) < 2:
        raise ValueError(f"paired_gap needs two equal-length sequences of at least 2 folds, got shapes {ours.shape} and {theirs.shape}")
    diff = ours - theirs
    p = float(ttest_rel(ours, theirs).pvalue) if np.ptp(diff) > _QUALITY_TOLERANCE else float("nan")
    level = np.abs(diff) <= _QUALITY_TOLERANCE  # the same routes summed in another order are level, not behind
    return {"gap": float(diff.mean()), "standard_error": float(diff.std(ddof=1) / np.sqrt(len(diff))),
            "ahead": int((~level & (diff > 0)).sum()), "level": int(level.sum()), "behind": int((~level & (diff < 0)).sum()),
            "folds": len(diff), "p_value": p}
