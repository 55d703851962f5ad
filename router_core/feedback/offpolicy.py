"""Off-policy estimates: how another policy (another λ, another router, a λ schedule) would have done on logged
traffic, from the feedback on what was routed, without new calls.

For each logged request i: the model routed to (a_i), the probability with which the logging policy chose each model
(p_i, from exploration; 1 for the router's choice without it), the feedback score r_i on the answer, the logging
router's predicted quality of every model (q̂_i), and the model the other policy would choose (b_i).

- inverse propensity (IPS): mean of 1[b_i = a_i] / p_i(a_i) · r_i: unbiased wherever the other policy's choice could
  have been logged (p_i(b_i) > 0), noisy when few requests agree;
- doubly robust (DR): mean of q̂_i(b_i) + 1[b_i = a_i] / p_i(a_i) · (r_i − q̂_i(a_i)): the router's prediction corrected
  by the feedback where the choices agree; unbiased when either the propensities or the predictions are right.

Intervals are normal 95% intervals over requests (1.96 standard errors of the mean of the per-request terms). Where the
other policy chooses models the logging policy never would (support below 1), IPS cannot see those requests' quality
and DR leans on the predictions there: the support is reported beside every estimate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Z95 = 1.959964
MIN_AGREEING = 10  # below this many requests where the other policy chose the logged model, the feedback cannot
# tell its quality: the interval is the whole score range, never the narrow one the predictions alone would give


@dataclass(frozen=True)
class Estimate:
    method: str
    value: float
    low: float
    high: float
    n: int

    def to_dict(self) -> dict:
        return {"method": self.method, "value": self.value, "low": self.low, "high": self.high, "requests": self.n}


def _interval(method: str, terms: np.ndarray) -> Estimate:
    n = len(terms)
    mean = float(terms.mean()) if n else float("nan")
    se = float(terms.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return Estimate(method, mean, mean - Z95 * se, mean + Z95 * se, n)


@dataclass(frozen=True)
class OffPolicy:
    """Estimates of a policy's mean quality on logged requests, its predicted cost, and how far the log supports it."""

    ips: Estimate
    dr: Estimate
    support: float  # share of requests whose other-policy choice the logging policy could have made
    agreement: float  # share of requests where the other policy chose the logged model
    predicted_cost_usd: float  # mean predicted cost of the other policy's choices (the logging router's prediction)
    logged_quality: float  # mean feedback score of what was routed
    logged_cost_usd: float  # mean measured cost of what was routed

    def to_dict(self) -> dict:
        return {"ips": self.ips.to_dict(), "dr": self.dr.to_dict(), "support": self.support, "agreement": self.agreement,
                "predicted_cost_usd": self.predicted_cost_usd, "logged_quality": self.logged_quality,
                "logged_cost_usd": self.logged_cost_usd}


def estimate(rewards, logged, probabilities, target, predicted_quality, predicted_cost, measured_cost) -> OffPolicy:
    """Estimates for the other policy.

    Args:
        rewards: (N,) feedback score of each logged answer, in [0, 1].
        logged: (N,) index of the model each request was routed to.
        probabilities: (N, M) the logging policy's probability of each model.
        target: (N,) index of the model the other policy chooses.
        predicted_quality, predicted_cost: (N, M) the logging router's predictions.
        measured_cost: (N,) USD each logged request cost.
    """
    rewards, logged, target = np.asarray(rewards, float), np.asarray(logged, int), np.asarray(target, int)
    probabilities, predicted_quality = np.asarray(probabilities, float), np.asarray(predicted_quality, float)
    rows = np.arange(len(rewards))
    p_logged = probabilities[rows, logged]
    agree = target == logged
    weight = np.where(agree, 1.0 / np.maximum(p_logged, 1e-12), 0.0)
    ips = weight * rewards
    dr = predicted_quality[rows, target] + weight * (rewards - predicted_quality[rows, logged])
    intervals = [_interval("inverse propensity", ips), _interval("doubly robust", dr)]
    if int(agree.sum()) < MIN_AGREEING:
        intervals = [Estimate(e.method, float(np.clip(e.value, 0.0, 1.0)), 0.0, 1.0, e.n) for e in intervals]
    return OffPolicy(*intervals,
                     float((probabilities[rows, target] > 0).mean()), float(agree.mean()),
                     float(np.asarray(predicted_cost, float)[rows, target].mean()), float(rewards.mean()),
                     float(np.asarray(measured_cost, float).mean()))
