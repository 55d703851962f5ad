"""The one replay engine: every request of a scored log routed under a λ policy, in simulated time.

A constant λ, a schedule or a fitted budget decide in one vectorised pass per distinct λ; a budget runs the server's
BudgetController minute by minute. Every request is charged what the chosen model cost: the log's measured cost
where the log called that model, else the router's predicted cost. Everything is arithmetic over cached scores, and
every decision goes through the router's `Policy`, so a replay decides exactly as the router would.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from router_core.errors import RouterInputError
from router_core.live.budget import GRID, BudgetController, cost_at_grid, lowest_lam_within
from router_core.live.policy import LambdaPolicy, as_policy
from router_core.live.schedule import local_times
from router_core.policy.rule import Policy, check_lam
from router_core.traffic.scored_log import ScoredLog
from router_core.units import usd


def check_rule(rule) -> Policy:
    # A name here would need its own cost scale and α, which could disagree with the router's: take its Policy.
    if not isinstance(rule, Policy):
        raise RouterInputError(f"replay: expected a decision rule such as router.policy('linear'), got {rule!r}")
    return rule


def charged(log: ScoredLog, rows: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """USD per request (rows of the log): the log's measured cost where it called the chosen model, else predicted."""
    predicted = log.cost[log.prompt_index[rows], choice]
    if log.logged_model is None or log.logged_cost is None:
        return predicted
    logged = log.logged_model.to_numpy()[rows]
    measured = pd.to_numeric(log.logged_cost, errors="coerce").to_numpy(dtype=float)[rows]
    same = (logged == np.asarray(log.candidates, dtype=object)[choice]) & np.isfinite(measured)
    return np.where(same, measured, predicted)


def choices_at(log: ScoredLog, lam: float, rule: Policy) -> np.ndarray:
    """(P,) the candidate the rule picks for each distinct prompt at one λ."""
    return check_rule(rule).choose(log.quality, log.cost, check_lam(lam), log.weights)


def spend_per_day(log: ScoredLog, lam: float, rule: Policy) -> float:
    """USD per day if every request were routed at one λ, charged as a replay charges it."""
    rows = np.arange(len(log.prompt_index))
    return float(charged(log, rows, choices_at(log, lam, rule)[log.prompt_index]).sum() / log.n_days)


def fit_constant_lam(log: ScoredLog, daily_usd: float, rule: Policy) -> float:
    """A fitted budget: the lowest constant λ (most quality) whose spend per day on this log fits `daily_usd`.

    Raises:
        RouterInputError when even λ = 1 (always the cheapest model) spends more than the budget.
    """
    check_rule(rule)
    if not daily_usd > 0:
        raise RouterInputError(f"daily budget must be a positive USD amount, got {daily_usd}")
    spend = np.array([spend_per_day(log, float(lam), rule) for lam in GRID])
    lam = lowest_lam_within(GRID, spend, daily_usd, spend_at=lambda x: spend_per_day(log, x, rule))
    if lam is None:
        raise RouterInputError(f"a budget of {usd(daily_usd)}/day is below the cheapest routing of this traffic "
                               f"({usd(spend[-1])}/day at λ = 1, every request to its cheapest model)")
    return lam


def resolve(log: ScoredLog, policy: LambdaPolicy, rule: Policy) -> LambdaPolicy:
    """`policy` with a fitted budget fitted on this log (a constant λ); other kinds as they are."""
    if policy.fitted_budget is None:
        return policy
    lam = fit_constant_lam(log, policy.fitted_budget, rule)
    return policy.fixed(lam, f"daily budget {usd(policy.fitted_budget)} (constant λ={lam:.3f})")


@dataclass(frozen=True, eq=False)
class Replay:
    """A log replayed under a policy. `requests` is in the log's own order: timestamp (UTC), time (local), prompt (score
    row), lam, model, charged_usd, predicted_cost_usd, predicted_quality."""

    log: ScoredLog
    policy: LambdaPolicy  # as replayed: a fitted budget is resolved to its constant λ
    rule: Policy
    requests: pd.DataFrame
    trace: pd.DataFrame  # per controller update: time, lam, target (empty for the other kinds)
    _choice: np.ndarray = field(repr=False, default=None)

    @property
    def constant_lam(self) -> float | None:
        lams = self.requests["lam"].to_numpy()
        return float(lams[0]) if len(lams) and np.all(lams == lams[0]) else None

    def days(self, budget_usd: float | None = None) -> pd.DataFrame:
        """Per local day: requests, spend, predicted quality and mean λ; with a budget (default the policy's, if any)
        also the spend against it and the best constant λ in hindsight (the lowest whose charged spend that day fits)."""
        budget_usd = budget_usd if budget_usd is not None else (
            self.policy.budget.daily_usd if self.policy.budget is not None else None)
        log, requests = self.log, self.requests
        day = pd.DatetimeIndex(requests["time"]).normalize()
        prompts = requests["prompt"].to_numpy()
        rows = np.arange(len(prompts))
        choices = self.rule.choose_each(log.quality[prompts], log.cost[prompts], GRID, log.weights[prompts])  # (G, R)
        spend_at = np.stack([charged(log, rows, c) for c in choices], axis=1)  # (R, G)
        quality_at = np.take_along_axis(log.quality[prompts], choices.T, axis=1)  # (R, G)
        out = []
        for when in pd.unique(day):
            mask = np.asarray(day == when)
            row = {"day": pd.Timestamp(when).date().isoformat(), "requests": int(mask.sum()),
                   "spend_usd": float(requests["charged_usd"].to_numpy()[mask].sum()),
                   "quality": float(requests["predicted_quality"].to_numpy()[mask].mean()),
                   "mean_lam": float(requests["lam"].to_numpy()[mask].mean())}
            if budget_usd is not None:
                spend_grid, quality_grid = spend_at[mask].sum(axis=0), quality_at[mask].mean(axis=0)
                lam = lowest_lam_within(GRID, spend_grid, budget_usd)
                best = len(GRID) - 1 if lam is None else int(np.flatnonzero(GRID == lam)[0])
                row.update(budget_usd=budget_usd, spend_vs_budget=row["spend_usd"] / budget_usd - 1,
                           hindsight_lam=float(GRID[best]), hindsight_spend_usd=float(spend_grid[best]),
                           hindsight_quality=float(quality_grid[best]),
                           quality_vs_hindsight=row["quality"] / float(quality_grid[best]))
            out.append(row)
        return pd.DataFrame(out)


def replay(log: ScoredLog, policy, rule: Policy, timezone: str | None = None, update_seconds: float = 60.0) -> Replay:
    """Route every request of `log` under `policy` in simulated time.

    Args:
        policy: a LambdaPolicy, a Schedule, a λ, or a short form such as `budget:50` (live.policy.as_policy).
        rule: the router's decision rule (router.policy("linear")).
        timezone: the clocks a Schedule (or a λ or short form) follows; a LambdaPolicy carries its own.
    """
    check_rule(rule)
    policy = as_policy(policy, timezone or "UTC")
    if timezone is not None and policy.timezone != timezone:
        policy = LambdaPolicy(policy.lam, policy.schedule, policy.budget, policy.fitted_budget, timezone, policy.name)
    policy = resolve(log, policy, rule)
    local = local_times(log.timestamps, policy.timezone)
    n = len(local)
    lam = np.empty(n)
    choice = np.empty(n, dtype=int)
    prompts = log.prompt_index
    trace: list = []
    if policy.budget is None:
        lam[:] = policy.lam if policy.lam is not None else policy.schedule.lam_at(pd.Series(local), policy.timezone)
        for value in np.unique(lam):  # at most 7 × 24 distinct values; each is one vectorised pass
            rows = lam == value
            p = prompts[rows]
            choice[rows] = rule.choose(log.quality[p], log.cost[p], float(value), log.weights[p])
    else:
        order = np.argsort(local.asi8, kind="stable")
        controller = BudgetController(policy.budget, rule)
        at_grid = cost_at_grid(rule, log.quality, log.cost, log.weights)  # (P, G): priced once per distinct prompt
        minutes = local[order].floor("min")
        starts = np.flatnonzero(np.r_[True, minutes[1:] != minutes[:-1]])
        ends = np.r_[starts[1:], n]
        next_update = None
        for start, end in zip(starts, ends):
            when = minutes[start]
            if next_update is None or when >= next_update:
                controller.update(when)
                next_update = when + pd.Timedelta(seconds=update_seconds)
            rows = order[start:end]
            p = prompts[rows]
            lam[rows] = controller.lam
            choice[rows] = rule.choose(log.quality[p], log.cost[p], controller.lam, log.weights[p])
            controller.observe_priced(when, at_grid[p])
            controller.charge(when, float(charged(log, rows, choice[rows]).sum()), float(log.cost[p, choice[rows]].sum()))
        trace = controller.trace
    everyone = np.arange(n)
    requests = pd.DataFrame({"timestamp": log.timestamps.to_numpy(), "time": local, "prompt": prompts, "lam": lam,
                             "model": np.asarray(log.candidates)[choice], "charged_usd": charged(log, everyone, choice),
                             "predicted_cost_usd": log.cost[prompts, choice],
                             "predicted_quality": log.quality[prompts, choice]})
    return Replay(log, policy, rule, requests, pd.DataFrame(trace, columns=["time", "lam", "target"]), choice)
