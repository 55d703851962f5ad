"""Turn per-query scores into measured λ curves, per-category tables and a comparison table.

Scores decide; the labelled set's MEASURED quality and cost of the chosen candidate are what gets averaged.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from router_core.data.labelled import LabelledSet
from router_core.errors import RouterInputError
from router_core.policy import metrics
from router_core.policy.rule import Policy, soft_cost, soft_quality_band


def default_lams(n: int = 41) -> np.ndarray:
    """The λ grid of a sweep: n evenly spaced points on [0, 1] (41 by default, so curves keep their bends)."""
    return np.linspace(0.0, 1.0, n)


def curve_frame(lams, cost, quality, shares, candidates: list[str], **extra) -> pd.DataFrame:
    """Assemble a curve table: columns lam, cost, quality, share_<candidate>, then any `extra` columns.

    Args:
        lams, cost, quality: (P,) one value per point; cost in USD.
        shares: (P, M) fraction of queries sent to each candidate.
    """
    frame = pd.DataFrame({"lam": np.asarray(lams, dtype=float), "cost": cost, "quality": quality})
    shares = np.asarray(shares, dtype=float).reshape(len(frame), len(candidates))  # (P, M)
    for j, name in enumerate(candidates):
        frame[f"share_{name}"] = shares[:, j]
    for column, values in extra.items():
        frame[column] = values
    return frame


def _check_scores(quality_hat, cost_hat, data: LabelledSet) -> tuple[np.ndarray, np.ndarray]:
    quality_hat = np.asarray(quality_hat, dtype=float)
    cost_hat = np.asarray(cost_hat, dtype=float)
    for field, values in (("quality_hat", quality_hat), ("cost_hat", cost_hat)):
        if values.shape != data.quality.shape:
            raise RouterInputError(f"{field} has shape {values.shape}, expected (queries, candidates) = {data.quality.shape}")
    return quality_hat, cost_hat


def curve_from_scores(quality_hat, cost_hat, data: LabelledSet, lams, policy: Policy, weights=None) -> pd.DataFrame:
    """Hard-route every query at each λ and average the chosen candidates' measured quality and cost.

    Args:
        quality_hat, cost_hat: (Q, M) predicted quality and USD, columns in data.candidates order.
        lams: (L,) λ values in [0, 1].
        weights: (Q, M) routing weights, for the `paper` policy only.
    Returns:
        One row per λ: lam, cost (mean USD), quality (mean), share_<candidate>.
    """
    quality_hat, cost_hat = _check_scores(quality_hat, cost_hat, data)
    lams = np.atleast_1d(np.asarray(lams, dtype=float))
    choices = policy.choose_each(quality_hat, cost_hat, lams, weights)  # (L, Q)
    rows = np.arange(data.n_queries)
    n_candidates = len(data.candidates)
    cost, quality, shares = [], [], []
    for choice in choices:  # per λ the work is vectorised over queries
        cost.append(data.cost[rows, choice].mean())
        quality.append(data.quality[rows, choice].mean())
        shares.append(np.bincount(choice, minlength=n_candidates) / data.n_queries)
    return curve_frame(lams, cost, quality, np.array(shares), data.candidates)


def category_breakdown(quality_hat, cost_hat, data: LabelledSet, lam: float, policy: Policy, weights=None) -> pd.DataFrame:
    """Per category at one λ: n, routed mean quality and cost, the best single model there, and shares.

    Returns:
        One row per category: category, n, quality, cost (mean USD), best_single, best_single_quality,
        share_<candidate>.
    """
    if data.categories is None:
        raise RouterInputError("category breakdown needs categories; this routing set has no `category` column")
    quality_hat, cost_hat = _check_scores(quality_hat, cost_hat, data)
    choice = policy.choose(quality_hat, cost_hat, lam, weights)  # (Q,)
    rows = np.arange(data.n_queries)
    routed = pd.DataFrame({"category": data.categories, "quality": data.quality[rows, choice],
                           "cost": data.cost[rows, choice]}).groupby("category")
    single = pd.DataFrame(data.quality, columns=data.candidates).groupby(data.categories).mean()  # (C, M)
    table = pd.DataFrame({"n": routed.size(), "quality": routed["quality"].mean(), "cost": routed["cost"].mean(),
                          "best_single": single.idxmax(axis=1), "best_single_quality": single.max(axis=1)})
    one_hot = np.eye(len(data.candidates))[choice]  # (Q, M)
    shares = pd.DataFrame(one_hot, columns=[f"share_{c}" for c in data.candidates]).groupby(data.categories).mean()
    return table.join(shares).rename_axis("category").reset_index()


# compare's columns in print order: the CLI and the benchmarks show these (the pair ones only on two-model sets).
COMPARE_METRICS = ("aiq", "max_quality", "cost_at_best_single", "quality_at_cheapest", "apgr", "cpt50", "cpt80", "calls_at_95pct")


def compare(curves: dict[str, pd.DataFrame], data: LabelledSet) -> pd.DataFrame:
    """One row per router or baseline: metrics.summarize against the single models of `data`.

    Two-candidate sets also get RouteLLM's apgr, cpt50 and cpt80, and calls_at_95pct (the strong-call fraction at
    95% of the strong model's quality, RouteLLM's headline figure), with the strong model the one of higher mean
    quality; these are NaN for estimated curves (their quality is a band, not a measurement) and for curves
    without a share column for the strong model.

    Returns:
        Indexed by name: aiq, max_quality, cost_at_best_single, quality_at_cheapest, [apgr, cpt50, cpt80, calls_at_95pct],
        estimate, fit_seconds (from curve.attrs, NaN when absent).
    """
    single_cost = data.cost.mean(axis=0)  # (M,)
    single_quality = data.quality.mean(axis=0)  # (M,)
    pair = len(data.candidates) == 2
    strong = int(np.argmax(single_quality))
    strong_quality = single_quality[strong]
    weak_quality = single_quality[1 - strong] if pair else np.nan
    strong_share = f"share_{data.candidates[strong]}"
    rows = []
    for name, curve in curves.items():
        missing = [c for c in ("cost", "quality") if c not in curve.columns]
        if missing:
            raise RouterInputError(f"curve {name!r} lacks column(s) {', '.join(missing)}; expected lam, cost, quality, share_<candidate>")
        estimate = bool(curve["estimate"].any()) if "estimate" in curve.columns else False
        row = {"name": name, **metrics.summarize(curve["cost"], curve["quality"], single_cost, single_quality)}
        if pair:
            usable = not estimate and strong_share in curve.columns and strong_quality != weak_quality
            fraction = curve[strong_share] if usable else None
            row["apgr"] = metrics.apgr(fraction, curve["quality"], weak_quality, strong_quality) if usable else np.nan
            for target in (50, 80):
                row[f"cpt{target}"] = (metrics.cpt(fraction, curve["quality"], weak_quality, strong_quality, target / 100)
                                       if usable else np.nan)
            row["calls_at_95pct"] = (metrics.calls_at_strong_share(fraction, curve["quality"], weak_quality, strong_quality)
                                     if usable else np.nan)
        row["estimate"] = estimate
        row["fit_seconds"] = float(curve.attrs.get("fit_seconds", np.nan))
        rows.append(row)
    return pd.DataFrame(rows).set_index("name")


def soft_curve(quality_hat, cost_hat, data: LabelledSet, lams, policy: Policy, k: int, aggregator: int,
               aggregator_prices: tuple[float, float], aggregator_output_tokens: float) -> pd.DataFrame:
    """Soft routing (top-k + aggregator) per λ: measured cost, and quality as an ESTIMATED band.

    Offline data holds each candidate's own quality, not the merged answer's, so `quality_low` is the
    merge-weighted mean of the k measured qualities and `quality` the best of them; `estimate` is True.
    Args:
        aggregator: column index of the aggregating candidate; aggregator_prices: its USD per 1M (input, output).
    """
    quality_hat, cost_hat = _check_scores(quality_hat, cost_hat, data)
    input_tokens = np.zeros(data.n_queries) if data.input_tokens is None else data.input_tokens
    answers = (np.full_like(data.cost, aggregator_output_tokens) if data.output_tokens is None else data.output_tokens)
    cost, low, high, shares = [], [], [], []
    answerers = np.ones_like(data.cost, dtype=bool)
    answerers[:, aggregator] = False  # the aggregator merges; it never also answers (no model called twice)
    for lam in np.atleast_1d(np.asarray(lams, dtype=float)):
        indices, merge = policy.top_k(quality_hat, cost_hat, lam, k, allowed=answerers)  # (Q, k)
        cost.append(soft_cost(data.cost, indices, input_tokens, answers, *aggregator_prices, aggregator_output_tokens).mean())
        band = soft_quality_band(data.quality, indices, merge)
        low.append(band[0].mean())
        high.append(band[1].mean())
        called = np.zeros_like(data.cost)
        np.put_along_axis(called, indices, 1.0, axis=1)
        shares.append(called.mean(axis=0))
    return curve_frame(lams, cost, high, np.array(shares), data.candidates, quality_low=low, estimate=True)


def measure(quality_hat, cost_hat, data: LabelledSet, policy: Policy, lams=None, weights=None) -> tuple[pd.DataFrame, dict]:
    """A router's measured λ curve on `data` and its summary (aiq, max_quality, cost_at_best_single, ...).

    The one place predictions become a router's measured figures: validation, the ONNX gate and comparisons use it.
    """
    curve = curve_from_scores(quality_hat, cost_hat, data, default_lams() if lams is None else lams, policy, weights)
    row = compare({"router": curve}, data).loc["router"]
    return curve, {k: float(row[k]) for k in COMPARE_METRICS if k in row and np.isfinite(row[k])}
