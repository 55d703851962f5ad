"""A λ that holds a daily budget under changing traffic.

Every update (each minute while serving) the controller takes the spend so far today, the time left, and the traffic
it expects for the rest of the day, and chooses the lowest λ (most quality) whose predicted spend for the rest of the
day fits what is left of the budget; λ moves a share (`smoothing`) of the way to that target, so it does not
oscillate. What a λ would cost is arithmetic over the recent requests' stored predictions: each request's chosen
model's predicted cost is kept for every λ of a grid when it is observed.

Expected traffic: a per-hour profile of requests learned from the days seen (the same weekday's, once one has been
seen, else the average day), scaled by how busy today has been against that profile so far, trusted in proportion to
how much of the day's expected traffic has passed (so a surge early in the day does not look like a busy day). Predicted
costs are calibrated by today's measured spend against the predicted cost of what was called.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from router_core.live.policy import Budget
from router_core.policy.rule import Policy

GRID = np.linspace(0.0, 1.0, 41)
LEVEL_BOUNDS = (1 / 3, 3.0)  # today's traffic against the profile, as far as it may scale the rest of the day
CALIBRATION_MIN_REQUESTS = 50


def lowest_lam_within(lams: np.ndarray, spend: np.ndarray, allowance: float, floor: float = 0.0, ceiling: float = 1.0,
                      spend_at=None, tolerance: float = 1e-4) -> float | None:
    """The budget solver: the lowest λ in [floor, ceiling] whose spend fits `allowance`, None when none does.

    Used by the live controller (spend: the rest of today's predicted spend at each λ of GRID), the offline fitted
    budget and the hindsight column of a replay (a day's charged spend at each λ). Spend is taken not to rise with λ,
    as under the linear policy. With `spend_at` (callable λ -> spend), the answer is refined by bisection between the
    first λ that fits and the one below it, to `tolerance`.
    """
    lams, spend = np.asarray(lams, dtype=float), np.asarray(spend, dtype=float)
    allowed = (lams >= floor - 1e-12) & (lams <= ceiling + 1e-12)
    fits = allowed & (spend <= allowance * (1 + 1e-9))
    if not fits.any():
        return None
    first = int(np.flatnonzero(fits)[0])
    below = np.flatnonzero(allowed[:first])
    if spend_at is None or not len(below):
        return float(lams[first])
    low, high = float(lams[below[-1]]), float(lams[first])  # spend(low) > allowance >= spend(high)
    while high - low > tolerance:
        middle = (low + high) / 2
        if spend_at(middle) <= allowance * (1 + 1e-9):
            high = middle
        else:
            low = middle
    return high


def cost_at_grid(policy: Policy, quality: np.ndarray, cost: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(n, len(GRID)): each request's predicted cost under the model the policy picks at each λ of GRID."""
    quality, cost = np.atleast_2d(quality), np.atleast_2d(cost)
    choice = policy.choose_each(quality, cost, GRID, None if weights is None else np.atleast_2d(weights))  # (G, n)
    return np.take_along_axis(cost, choice.T, axis=1)


@dataclass
class BudgetController:
    budget: Budget
    policy: Policy  # the router's decision rule (its cost scale included)
    window: int = 2000  # recent requests whose predictions price a λ
    lam: float | None = None  # None until the first update
    day: pd.Timestamp | None = None
    spent: float = 0.0  # measured USD today
    predicted_spent: float = 0.0  # the predicted cost of what was called today
    counts: np.ndarray = field(default_factory=lambda: np.zeros(24))  # requests today, per local hour
    profile: np.ndarray | None = None  # expected requests per local hour (24,), None until a day has been seen
    days_seen: int = 0
    weekday_profiles: dict = field(default_factory=dict)  # weekday -> (summed counts (24,), days)
    calibration: float = 1.0  # measured / predicted cost, carried from the last day
    _costs: deque = field(default_factory=deque)  # per recent request: (len(GRID),) predicted cost of the choice at each λ
    _cost_sum: np.ndarray = field(default_factory=lambda: np.zeros(len(GRID)))
    trace: list = field(default_factory=list)  # (time, λ, target) per update

    def _roll(self, when: pd.Timestamp) -> None:
        day = when.normalize()
        if self.day is None:
            self.day = day
            return
        if day == self.day:
            return
        if self.counts.sum() > 0:  # a finished day teaches the profile and the calibration
            self.profile = self.counts.copy() if self.profile is None else (
                (self.profile * self.days_seen + self.counts) / (self.days_seen + 1))
            self.days_seen += 1
            total, n = self.weekday_profiles.get(self.day.dayofweek, (np.zeros(24), 0))
            self.weekday_profiles[self.day.dayofweek] = (total + self.counts, n + 1)
            if self.predicted_spent > 0 and self.counts.sum() >= CALIBRATION_MIN_REQUESTS:
                self.calibration = float(np.clip(self.spent / self.predicted_spent, 0.25, 4.0))
        self.day, self.spent, self.predicted_spent, self.counts = day, 0.0, 0.0, np.zeros(24)

    def observe(self, when: pd.Timestamp, quality: np.ndarray, cost: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Requests arriving (all at `when`, local time): (n, M) predicted quality and cost, for pricing λ later."""
        self.observe_priced(when, cost_at_grid(self.policy, quality, cost, weights))

    def observe_priced(self, when: pd.Timestamp, at_grid: np.ndarray) -> None:
        """As observe, with each request's predicted cost at every λ of GRID already computed (n, len(GRID))."""
        self._roll(when)
        at_grid = np.atleast_2d(at_grid)
        for row in at_grid:
            self._costs.append(row)
            self._cost_sum += row
            if len(self._costs) > self.window:
                self._cost_sum -= self._costs.popleft()
        self.counts[when.hour] += len(at_grid)

    def charge(self, when: pd.Timestamp, measured_usd: float, predicted_usd: float) -> None:
        """What the called models cost (measured) and what they were predicted to cost."""
        self._roll(when)
        self.spent += measured_usd
        self.predicted_spent += predicted_usd

    def expected_remaining(self, when: pd.Timestamp) -> float:
        """Requests expected from `when` to the end of its day."""
        hour = when.hour
        left_of_hour = 1.0 - (when.minute * 60 + when.second) / 3600.0
        seen = self.counts.sum()
        if self.profile is None:  # no finished day yet: today's rate so far, carried on
            elapsed = hour + (1.0 - left_of_hour)
            return seen / max(elapsed, 0.25) * (24 - elapsed)
        total, n = self.weekday_profiles.get(when.dayofweek, (None, 0))
        profile = total / n if n else self.profile
        rest = profile[hour] * left_of_hour + profile[hour + 1:].sum()
        so_far = profile[:hour].sum() + profile[hour] * (1.0 - left_of_hour)
        if so_far < 1:
            return rest
        level = float(np.clip(seen / so_far, *LEVEL_BOUNDS))
        trust = min(1.0, so_far / max(profile.sum(), 1e-9))  # how much of the expected day has passed
        return rest * (1.0 + trust * (level - 1.0))

    def _calibration(self) -> float:
        if self.predicted_spent > 0 and self.counts.sum() >= CALIBRATION_MIN_REQUESTS:
            return float(np.clip(self.spent / self.predicted_spent, 0.25, 4.0))
        return self.calibration

    def target(self, when: pd.Timestamp) -> float:
        """The lowest λ within [floor, ceiling] whose predicted spend for the rest of the day fits the budget left."""
        left = self.budget.daily_usd - self.spent
        if left <= 0 or not self._costs:
            return self.budget.ceiling if left <= 0 else self.budget.floor
        per_request = self._cost_sum / len(self._costs) * self._calibration()  # (G,)
        lam = lowest_lam_within(GRID, per_request * self.expected_remaining(when), left, self.budget.floor, self.budget.ceiling)
        return self.budget.ceiling if lam is None else lam

    def update(self, when: pd.Timestamp) -> float:
        self._roll(when)
        target = self.target(when)
        self.lam = target if self.lam is None else self.lam + self.budget.smoothing * (target - self.lam)
        self.lam = float(np.clip(self.lam, self.budget.floor, self.budget.ceiling))
        self.trace.append((when, self.lam, target))
        return self.lam
