"""The hull guard: λ ranges over which the router sends every request to one model, because on the cross-fitted folds
that model alone did better than routing at its own cost.

A router's λ curve can pass under a single model: at that model's mean cost, the hull of the router's (cost, quality)
points is lower than the model's quality. Routing everything to that model over a short λ range puts the model's own
point on the curve, so the curve is never below it at its cost, on the folds and (the point being the model's own) on
new data alike. Each range goes where routing on either side of it spends about what its model costs, so the
slider steps into and out of it without a cliff and λ keeps its meaning (a cheap model never takes λ = 0). Ranges sit on a 0.05 grid of λ, each [λ − 0.025, λ + 0.025], so every sweep of 21 or 41 points meets
them. A guard applies to hard routing with the linear rule only; soft routing and the other rules ignore it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router_core.policy.metrics import aiq, upper_hull

STEP = 0.05  # the grid the ranges sit on
HALF = STEP / 2
SWEEP = np.linspace(0.0, 1.0, 41)  # the λ sweep a guard is fitted on: its points fall on and between the ranges' centres
TOLERANCE = 1e-9


@dataclass(frozen=True)
class GuardRange:
    """λ in [low, high] (both ends included) goes to `model`."""

    low: float
    high: float
    model: str

    def to_json(self) -> dict:
        return {"low": self.low, "high": self.high, "model": self.model}


def as_indices(guard: tuple[GuardRange, ...], candidates) -> tuple[tuple[float, float, int], ...]:
    """The ranges with each model as its index among `candidates` (a model the router no longer has is dropped)."""
    names = list(candidates)
    return tuple((g.low, g.high, names.index(g.model)) for g in guard if g.model in names)


def guarded_index(ranges: tuple[tuple[float, float, int], ...], lam: float) -> int | None:
    """The index of the model the ranges send λ to, or None where no range covers λ."""
    for low, high, model in ranges:
        if low - TOLERANCE <= lam <= high + TOLERANCE:
            return model
    return None


def _hull_quality_at(cost: np.ndarray, quality: np.ndarray, at: float) -> float:
    hull_cost, hull_quality = upper_hull(cost, quality)
    return 0.0 if at < hull_cost[0] - TOLERANCE else float(np.interp(at, hull_cost, hull_quality))


def fit_guard(choices: np.ndarray, true_quality: np.ndarray, true_cost: np.ndarray,
              candidates: list[str]) -> tuple[tuple[GuardRange, ...], dict]:
    """The ranges that keep the router's measured curve on or above every single model at that model's cost.

    Args:
        choices: (len(SWEEP), Q) the router's choice per λ of SWEEP on rows it never trained on (cross-fitted).
        true_quality, true_cost: (Q, M) the labels of those rows.
    Returns:
        the ranges (none where the router already clears every model), and a record: each model the router passed
        under and by how much, and the curve's AIQ before and after.
    """
    rows = np.arange(choices.shape[1])
    router_cost = np.array([true_cost[rows, c].mean() for c in choices])
    router_quality = np.array([true_quality[rows, c].mean() for c in choices])
    single_cost, single_quality = true_cost.mean(axis=0), true_quality.mean(axis=0)
    low, high = float(single_cost.min()), float(single_cost.max())
    centres = np.round(np.arange(0.0, 1.0 + TOLERANCE, STEP), 4)
    assigned: dict[float, int] = {}

    def curve(extra: dict[float, int]) -> tuple[np.ndarray, np.ndarray]:
        cost, quality = router_cost.copy(), router_quality.copy()
        for centre, model in extra.items():
            covered = np.abs(SWEEP - centre) <= HALF + TOLERANCE
            cost[covered], quality[covered] = single_cost[model], single_quality[model]
        return cost, quality

    before = aiq(router_cost, router_quality, low, high)
    under = {}
    for model in [m for _ in range(3) for m in np.argsort(single_cost)]:  # a range placed later can undo an earlier fix
        cost, quality = curve(assigned)
        gap = single_quality[model] - _hull_quality_at(cost, quality, single_cost[model])
        if gap <= TOLERANCE:
            continue
        under.setdefault(candidates[model], round(float(gap), 6))
        best = None
        for centre in centres:
            if centre in assigned:
                continue
            trial = {**assigned, float(centre): int(model)}
            cost, quality = curve(trial)
            if single_quality[model] - _hull_quality_at(cost, quality, single_cost[model]) > TOLERANCE:
                continue
            # where routing on either side spends about what the model costs: the slider steps into and out of the
            # range without a cliff, and λ keeps its meaning (0: quality first, 1: cost first)
            sides = [router_cost[np.argmin(np.abs(SWEEP - side))] for side in (centre - STEP, centre + STEP) if 0 <= side <= 1]
            jump = round(max(abs(float(side) - float(single_cost[model])) for side in sides), 12)
            key = (jump, -aiq(cost, quality, low, high))
            if best is None or key < best[0]:
                best = (key, float(centre))
        if best is not None:
            assigned[best[1]] = int(model)
    cost, quality = curve(assigned)
    guard = tuple(GuardRange(round(max(0.0, c - HALF), 4), round(min(1.0, c + HALF), 4), candidates[m])
                  for c, m in sorted(assigned.items()))
    record = {"models_the_curve_passed_under": under, "ranges": [g.to_json() for g in guard],
              "cross_fitted_aiq_unguarded": round(float(before), 5),
              "cross_fitted_aiq_guarded": round(float(aiq(cost, quality, low, high)), 5)}
    return guard, record
