"""The one decision path: a `Policy` turns predicted quality and cost into choices at a given λ.

λ in [0, 1]: 0 puts quality first, 1 puts cost first. Pure numpy over cached score arrays, never re-encodes.
Everything that decides (Router.route/sweep, evaluate's curves, schedule replay and budget fits, the dashboard)
takes a Policy, so the same scores, λ and policy give the same decision everywhere.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace

import numpy as np

from router_core.errors import RouterInputError
from router_core.policy.guard import guarded_index

POLICIES = ("linear", "paper", "exponential")


@dataclass(frozen=True)
class CostScale:
    """Log-cost min-max normalisation: the cheapest candidate's typical cost maps to 0, the dearest's to 1.

    Log, not linear: prices span ~50x, and a linear scale would crowd every model but the dearest near 0,
    so the slider would do nothing until λ≈0.9 and then jump (a cliff).
    Per-query costs outside the catalog's typical range fall a little outside [0, 1]; we keep them unclipped so
    the normalisation stays strictly monotone and λ=1 always picks the cheapest predicted cost.

    `weight` (κ) scales the result. Quality gaps between candidates are often ~0.05 while their log-cost gaps
    are ~0.3, so with κ = 1 every switch happens below λ≈0.2 and the rest of the slider does nothing (a cliff).
    Any κ > 0 traces the same decisions (u ∝ quality − t·cost for t from 0 to ∞); κ only spreads them evenly over λ.
    """

    log_min: float
    log_max: float
    weight: float = 1.0

    def __post_init__(self):
        values = (self.log_min, self.log_max, self.weight)
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v) for v in values):
            raise RouterInputError(f"cost scale: log_min, log_max and weight must be finite numbers, got {values}")
        if not (self.log_max > self.log_min and self.weight > 0):
            raise RouterInputError(f"cost scale: needs log_max > log_min and weight > 0, got {values}")

    @classmethod
    def from_costs(cls, cost: np.ndarray) -> "CostScale":
        """Fit on a (Q, M) USD cost matrix, using each candidate's mean cost."""
        mean_cost = np.nanmean(np.asarray(cost, dtype=float), axis=0)
        mean_cost = np.maximum(mean_cost, 1e-12)
        log_min, log_max = float(np.log(mean_cost.min())), float(np.log(mean_cost.max()))
        if log_max - log_min < 1e-9:  # all candidates cost the same: cost cannot separate them
            log_max = log_min + 1.0
        return cls(log_min, log_max)

    def normalise(self, cost: np.ndarray) -> np.ndarray:
        unit = (np.log(np.maximum(np.asarray(cost, dtype=float), 1e-12)) - self.log_min) / (self.log_max - self.log_min)
        return self.weight * unit

    def with_even_steps(self, quality: np.ndarray, cost: np.ndarray, n_lams: int = 41) -> "CostScale":
        """The κ whose λ sweep over these predictions moves mean cost most evenly (smallest largest step).

        Args:
            quality, cost: (Q, M) predicted quality and USD on the training queries.
        """
        rows = np.arange(len(quality))
        best_weight, best_jump = 1.0, np.inf
        for weight in np.geomspace(0.01, 1.0, 41):
            norm = CostScale(self.log_min, self.log_max, float(weight)).normalise(cost)
            mean_cost = np.array([cost[rows, hard_choice(utilities(quality, norm, lam), norm)].mean()
                                  for lam in np.linspace(0.0, 1.0, n_lams)])
            span = mean_cost[0] - mean_cost[-1]
            jump = np.max(np.abs(np.diff(mean_cost))) / span if span > 0 else 0.0
            if jump < best_jump - 1e-9:
                best_weight, best_jump = float(weight), jump
        return CostScale(self.log_min, self.log_max, best_weight)


@dataclass(frozen=True)
class Policy:
    """A decision rule: `name` (linear, paper, exponential), the cost scale κ, α and τ. Get one from `router.policy()`.

    Methods take predicted USD cost and normalise it here, so no caller keeps a normalised copy that could disagree.
    """

    cost_scale: CostScale
    name: str = "linear"
    alpha: float = 5.0  # decay rate of the `exponential` policy
    tau: float = 0.05  # soft routing: merge weights softmax(u / τ) over the top k
    guard: tuple[tuple[float, float, int], ...] = ()  # (λ low, λ high, model index): hard routing sends λ there (guard.py)

    def __post_init__(self):
        if self.name not in POLICIES:
            raise RouterInputError(f"unknown policy {self.name!r}; choose one of {', '.join(POLICIES)}")
        if not self.tau > 0:
            raise RouterInputError(f"soft-routing temperature tau must be > 0, got {self.tau}")
        if not self.alpha >= 0:
            raise RouterInputError(f"exponential policy alpha must be >= 0, got {self.alpha}")

    def normalised_cost(self, cost: np.ndarray) -> np.ndarray:
        """(Q, M) USD -> the cost term the policy subtracts.

        The comparison policies were written for cost on a [0, 1] scale, so for them the even-steps weight κ is undone.
        """
        scale = self.cost_scale if self.name == "linear" else replace(self.cost_scale, weight=1.0)
        return scale.normalise(cost)

    def utilities(self, quality: np.ndarray, cost: np.ndarray, lam: float, weights: np.ndarray | None = None) -> np.ndarray:
        """(Q, M) utility per candidate, higher is better. `weights` (attention) only for the `paper` policy."""
        return utilities(quality, self.normalised_cost(cost), lam, self.name, weights, self.alpha)

    def choose(self, quality: np.ndarray, cost: np.ndarray, lam: float, weights: np.ndarray | None = None) -> np.ndarray:
        """(Q,) index of each query's candidate at λ; exact ties go to the cheaper one."""
        return self.utilities_and_choice(quality, cost, lam, weights)[1]

    def utilities_and_choice(self, quality: np.ndarray, cost: np.ndarray, lam: float, weights: np.ndarray | None = None,
                             allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(Q, M) utilities and the (Q,) choice they make, from one normalisation (what a decision record shows).

        Args:
            allowed: (Q, M) bool, the candidates each query may use (at least one per query); others are never chosen.
        """
        norm = self.normalised_cost(cost)
        utility = utilities(quality, norm, lam, self.name, weights, self.alpha)
        return utility, self._guarded(hard_choice(_masked(utility, allowed), norm), lam, allowed)

    def _guarded(self, choice: np.ndarray, lam: float, allowed: np.ndarray | None = None) -> np.ndarray:
        """Choices with a guarded λ sent to its model, wherever the query may use it."""
        model = guarded_index(self.guard, lam) if self.guard and self.name == "linear" else None
        if model is None:
            return choice
        may = np.ones(len(choice), dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)[:, model]
        return np.where(may, model, choice)

    def choose_each(self, quality: np.ndarray, cost: np.ndarray, lams, weights: np.ndarray | None = None) -> np.ndarray:
        """(T, Q) choices for every λ in `lams`, normalising cost once (the sweep's fast path)."""
        norm = self.normalised_cost(cost)
        lams = np.atleast_1d(np.asarray(lams, dtype=float))
        if lams.size == 0:
            raise RouterInputError("the λ grid (lams) is empty; give at least one λ in [0, 1]")
        return np.stack([self._guarded(hard_choice(utilities(quality, norm, lam, self.name, weights, self.alpha), norm), lam)
                         for lam in lams])

    def top_k(self, quality: np.ndarray, cost: np.ndarray, lam: float, k: int, weights: np.ndarray | None = None,
              allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Soft routing: the k best candidates per query (Q, k), best first, and their merge weights (Q, k).

        Args:
            allowed: (Q, M) bool, the candidates each query may call (at least k per query); the aggregator is left
                out of them, so no model is called twice for one request.
        """
        if allowed is not None and (np.asarray(allowed).sum(axis=1) < k).any():
            raise RouterInputError(f"soft routing needs {k} models a request may call besides the aggregator")
        return soft_top_k(_masked(self.utilities(quality, cost, lam, weights), allowed), k, self.tau)


def _masked(utility: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """Utilities with the candidates a query may not use set below every other (never chosen)."""
    return utility if allowed is None else np.where(np.asarray(allowed, dtype=bool), utility, -np.inf)


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def check_lam(lam, where: str = "λ (lam)") -> float:
    """`lam` as a float in [0, 1], else RouterInputError naming `where`: the one λ check of every entry point."""
    number = math.nan
    if not isinstance(lam, (bool, np.bool_, str, bytes)):
        try:
            number = float(lam)
        except (TypeError, ValueError, OverflowError):
            pass
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        shown = repr(lam) if len(repr(lam)) <= 60 else repr(lam)[:57] + "..."
        raise RouterInputError(f"{where} must be in [0, 1] (0 = quality first, 1 = cost first), got {shown}")
    return number


def utilities(quality: np.ndarray, cost_norm: np.ndarray, lam: float, policy: str = "linear",
              weights: np.ndarray | None = None, alpha: float = 5.0) -> np.ndarray:
    """Per-candidate utility, higher is better.

    Args:
        quality: (Q, M) predicted quality in [0, 1].
        cost_norm: (Q, M) normalised cost (CostScale.normalise of predicted USD).
        weights: (Q, M) routing weights from attention; needed by the `paper` policy only.
        alpha: decay rate of the `exponential` policy.
    Returns:
        (Q, M) utilities.
    """
    lam = check_lam(lam)
    if policy == "linear":
        return (1.0 - lam) * quality - lam * cost_norm
    if policy == "paper":
        if weights is None:
            raise RouterInputError("policy 'paper' needs routing weights; this scorer has none (use 'linear')")
        # The seed's formula: softmax(w − λ·softmax(costs)). Softmax over normalised costs, because raw USD
        # figures (~1e-4) would make softmax(costs) uniform and λ would have no effect at all.
        return _softmax(weights - lam * _softmax(cost_norm, axis=1), axis=1)
    if policy == "exponential":
        # Clip only inside the decay so a query cheaper than the catalog's cheapest does not get a bonus > 1.
        return quality * np.exp(-alpha * lam * np.clip(cost_norm, 0.0, None))
    raise RouterInputError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")


def hard_choice(utility: np.ndarray, cost_norm: np.ndarray) -> np.ndarray:
    """Index of the best candidate per query; exact ties go to the cheaper candidate.

    Args:
        utility, cost_norm: (Q, M).
    Returns:
        (Q,) candidate indices.
    """
    best = utility.max(axis=1, keepdims=True)
    tied = np.isclose(utility, best, rtol=0.0, atol=1e-12)
    return np.where(tied, cost_norm, np.inf).argmin(axis=1)


def soft_top_k(utility: np.ndarray, k: int, tau: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """The k best candidates per query and their merge weights softmax(u/τ) renormalised over the k.

    Returns:
        indices (Q, k) best first, weights (Q, k) summing to 1.
    """
    n_candidates = utility.shape[1]
    if not 1 <= k <= n_candidates:
        raise RouterInputError(f"top-k must be between 1 and the number of candidates ({n_candidates}), got {k}")
    if tau <= 0:
        raise RouterInputError(f"soft-routing temperature tau must be > 0, got {tau}")
    indices = np.argsort(-utility, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(utility, indices, axis=1)
    return indices, _softmax(top / tau, axis=1)


def soft_cost(cost: np.ndarray, indices: np.ndarray, input_tokens: np.ndarray, answer_tokens: np.ndarray,
              aggregator_price_in: float, aggregator_price_out: float, aggregator_output_tokens: float) -> np.ndarray:
    """USD of a soft-routed request: the k calls, plus the aggregator reading the prompt and the k answers.

    Args:
        cost: (Q, M) USD per candidate call.
        indices: (Q, k) called candidates.
        input_tokens: (Q,) prompt tokens.
        answer_tokens: (Q, M) answer tokens per candidate (typical lengths when not yet generated).
        aggregator_price_in/out: USD per 1M tokens.
    Returns:
        (Q,) USD. With k = 1 there is nothing to merge and no aggregator call.
    """
    calls = np.take_along_axis(cost, indices, axis=1).sum(axis=1)
    if indices.shape[1] == 1:
        return calls
    merged_input = np.asarray(input_tokens, dtype=float) + np.take_along_axis(answer_tokens, indices, axis=1).sum(axis=1)
    return calls + (merged_input * aggregator_price_in + aggregator_output_tokens * aggregator_price_out) / 1e6


def soft_quality_band(quality: np.ndarray, indices: np.ndarray, merge_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Estimated quality band of a merged answer: (weighted mean of the k, best of the k).

    Offline data holds each model's own quality, never the merged answer's, so this is an estimate only.
    """
    chosen = np.take_along_axis(quality, indices, axis=1)
    return (chosen * merge_weights).sum(axis=1), chosen.max(axis=1)
