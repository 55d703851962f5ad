"""`evaluate-policy`: another λ, λ policy or router, estimated on a decision log's feedback (offpolicy.py).

The log keeps, per request, every model's predicted quality, predicted cost and utility at the request's λ, and (with
exploration) its probability of being chosen. Another λ needs no router: under the linear rule a model's cost term is
((1 − λ)·quality − utility) / λ at the logged λ, a fixed affine function of its log predicted cost, so it is read back
from the log. Another router scores the logged prompts, which the log holds only when the server ran with
--log-prompts.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from router_core.errors import RouterInputError
from router_core.feedback.offpolicy import OffPolicy, estimate
from router_core.feedback.store import scored_decisions


@dataclass
class LoggedFeedback:
    """A decision log's answered, hard-routed requests that have feedback, as arrays over `candidates`."""

    candidates: list[str]
    rewards: np.ndarray  # (N,)
    logged: np.ndarray  # (N,) index of the routed model
    probabilities: np.ndarray  # (N, M)
    quality: np.ndarray  # (N, M) predicted
    cost: np.ndarray  # (N, M) predicted USD
    utility: np.ndarray  # (N, M) at the logged λ
    lam: np.ndarray  # (N,)
    ts: np.ndarray  # (N,) unix seconds
    measured_cost: np.ndarray  # (N,)
    prompts: list[str | None]
    shadow: list[str | None]  # the model a router in shadow chose, where one did
    left_out: dict[str, int] = field(default_factory=dict)  # why some scored requests were left out, and how many

    def __len__(self) -> int:
        return len(self.rewards)


def read_logged(log: str | Path, sources: tuple[str, ...] | None = None) -> LoggedFeedback:
    """The log's requests with feedback, answered by the model they were routed to (a fallback's answer is another
    model's, so it says nothing of the routed one) and decided by the linear rule with every model scored."""
    rows = scored_decisions(log, sources)
    left_out = {"answered by a fallback": 0, "decided without scores": 0, "another rule": 0}
    kept, candidates = [], None
    for row in rows:
        called = json.loads(row["called"] or "[]")
        scored = json.loads(row["candidates"] or "null")
        if not scored or row["degraded"]:
            left_out["decided without scores"] += 1
        elif row["policy"] not in (None, "linear"):
            left_out["another rule"] += 1
        elif not called or called[0] != row["model"]:
            left_out["answered by a fallback"] += 1
        else:
            names = list(scored)
            if candidates is None:
                candidates = names
            if sorted(names) != sorted(candidates):
                raise RouterInputError(f"{log}: the log's requests were routed over different models "
                                       f"({', '.join(candidates)} and {', '.join(names)}); evaluate one router's at a time")
            kept.append((row, scored, called[0]))
    if not kept:
        raise RouterInputError(f"{log}: no answered, scored request with feedback to evaluate on "
                               f"({len(rows)} with feedback; left out: {left_out})")
    def matrix(key: str, default: float = np.nan) -> np.ndarray:
        return np.array([[float(s[c].get(key, default)) for c in candidates] for _, s, _ in kept])

    probabilities = matrix("probability", np.nan)
    logged = np.array([candidates.index(c) for _, _, c in kept])
    missing = np.isnan(probabilities).all(axis=1)  # a log written before propensities: the router's choice, surely
    probabilities[missing] = 0.0
    probabilities[np.flatnonzero(missing), logged[missing]] = 1.0
    return LoggedFeedback(
        candidates, np.array([r["score"] for r, _, _ in kept], float), logged, np.nan_to_num(probabilities),
        matrix("predicted_quality"), matrix("predicted_cost_usd"), matrix("utility"),
        np.array([r["lam"] for r, _, _ in kept], float), np.array([r["ts"] for r, _, _ in kept], float),
        np.array([r["cost_usd"] or 0.0 for r, _, _ in kept], float), [r["prompt"] for r, _, _ in kept],
        [r.get("shadow_model") for r, _, _ in kept], {k: v for k, v in left_out.items() if v})


def cost_terms(logged: LoggedFeedback) -> np.ndarray:
    """(N, M) each model's cost term in the linear utility, read back from the logged utilities (see the module)."""
    lam = logged.lam[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = ((1 - lam) * logged.quality - logged.utility) / lam
    usable = (logged.lam > 1e-6)[:, None] & np.isfinite(direct) & (logged.cost > 0)
    if not usable.any():
        raise RouterInputError("every logged request has λ = 0, where utilities say nothing of cost; "
                               "the cost term cannot be read back from this log")
    log_cost = np.log(np.maximum(logged.cost, 1e-12))
    slope, intercept = np.polyfit(log_cost[usable], direct[usable], 1)
    return np.where(usable, direct, intercept + slope * log_cost)


def linear_choices(logged: LoggedFeedback, lams: np.ndarray) -> np.ndarray:
    """(N,) the model the linear rule picks for each request at its λ in `lams`; ties to the cheaper."""
    utility = (1 - lams[:, None]) * logged.quality - lams[:, None] * cost_terms(logged)
    best = utility.max(axis=1, keepdims=True)
    tied = np.isclose(utility, best, rtol=0.0, atol=1e-12)
    return np.where(tied, logged.cost, np.inf).argmin(axis=1)


def policy_lams(logged: LoggedFeedback, policy) -> np.ndarray:
    """λ for each logged request under a λ policy (constant or schedule; a budget's λ depends on spend: use replay)."""
    if policy.lam is not None:
        return np.full(len(logged), float(policy.lam))
    if policy.schedule is not None:
        return policy.schedule.lam_at(pd.Series(pd.to_datetime(logged.ts, unit="s", utc=True)), policy.timezone)
    raise RouterInputError(f"a {policy.kind} policy's λ follows spend, which other choices would change; "
                           "evaluate its λ range with --lam, or replay it on a request log")


def evaluate_policy(log: str | Path, lam: float | None = None, policy=None, router=None,
                    sources: tuple[str, ...] | None = None) -> tuple[OffPolicy, LoggedFeedback]:
    """Estimate another λ (`lam`), λ policy (`policy`) or `router` (at `lam`, the policy's λ, else each request's own)."""
    logged = read_logged(log, sources)
    lams = (np.full(len(logged), float(lam)) if lam is not None else policy_lams(logged, policy) if policy is not None
            else logged.lam)
    if router is None:
        if lam is None and policy is None:
            raise RouterInputError("say what to evaluate: a λ (--lam), a λ policy (--policy) or a router (--router)")
        target = linear_choices(logged, lams)
    else:
        if sorted(router.candidates) != sorted(logged.candidates):
            raise RouterInputError(f"the router routes over {', '.join(router.candidates)}, the log over "
                                   f"{', '.join(logged.candidates)}: a router is evaluated on a log of the same models")
        if any(p is None for p in logged.prompts):
            raise RouterInputError("evaluating another router needs the logged prompts: run the server with "
                                   "--log-prompts (the log keeps only their hash otherwise)")
        scores = router.scores(list(logged.prompts))
        rule = router.policy("linear")
        chosen = np.empty(len(logged), dtype=int)
        for value in np.unique(lams):
            rows = np.flatnonzero(lams == value)
            picks = rule.choose(scores.quality[rows], scores.cost[rows], float(value))
            chosen[rows] = [logged.candidates.index(router.candidates[j]) for j in picks]
        target = chosen
    return estimate(logged.rewards, logged.logged, logged.probabilities, target, logged.quality, logged.cost,
                    logged.measured_cost), logged


def shadow_quality(log: str | Path, sources: tuple[str, ...] | None = None) -> tuple[OffPolicy, int]:
    """The router in shadow's quality, estimated from the feedback on the requests it decided: (estimate, requests)."""
    logged = read_logged(log, sources)
    rows = np.array([s is not None and s in logged.candidates for s in logged.shadow])
    if not rows.any():
        raise RouterInputError(f"{log}: no request with feedback was decided by a router in shadow")
    target = np.array([logged.candidates.index(s) for s, ok in zip(logged.shadow, rows) if ok])
    return estimate(logged.rewards[rows], logged.logged[rows], logged.probabilities[rows], target, logged.quality[rows],
                    logged.cost[rows], logged.measured_cost[rows]), int(rows.sum())
