"""Replaying a timestamped log through a λ policy in simulated time: the same BudgetController the server runs, fed
minute by minute, each request charged the cost of the model picked (measured where the log recorded that model's
cost, else predicted). Per day: spend against budget, predicted quality, and the best constant λ in hindsight."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .budget_controller import GRID, BudgetController, cost_at_grid
from .lambda_policy import LambdaPolicy
from .policy import Policy
from .schedule import ScoredLog, local_times


@dataclass
class ReplayResult:
    requests: pd.DataFrame  # per request, in time order: log_row, prompt (score row), time (local), lam, model,
    # charged_usd, predicted_cost_usd, predicted_quality
    days: pd.DataFrame  # per local day: requests, budget_usd, spend_usd, spend_vs_budget, quality, hindsight_lam, hindsight_quality, ...
    trace: pd.DataFrame  # per controller update: time, lam, target (empty for a constant or a schedule)


def _charged(log: ScoredLog, rows: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """USD per request: the log's measured cost where it called the chosen model, else the predicted cost."""
    predicted = log.cost[log.prompt_index[rows], choice]
    if log.logged_model is None or log.logged_cost is None:
        return predicted
    logged = log.logged_model.to_numpy()[rows]
    measured = pd.to_numeric(log.logged_cost, errors="coerce").to_numpy(dtype=float)[rows]
    same = (logged == np.asarray(log.candidates, dtype=object)[choice]) & np.isfinite(measured)
    return np.where(same, measured, predicted)


def replay_policy(log: ScoredLog, policy: LambdaPolicy, rule: Policy, update_seconds: float = 60.0,
                  budget_usd: float | None = None) -> ReplayResult:
    """Route every request of `log` under `policy` (a constant, a schedule or a budget) in simulated time.

    Args:
        rule: the router's decision rule (router.policy("linear")).
        budget_usd: the daily budget the day table compares spend with (default: the policy's budget, if any).
    """
    local = local_times(log.timestamps, policy.timezone)
    order = np.argsort(local.asi8, kind="stable")
    local = local[order]
    prompts = log.prompt_index[order]
    quality, cost, weights = log.quality, log.cost, log.weights
    lam = np.empty(len(order))
    choice = np.empty(len(order), dtype=int)
    trace = []
    if policy.budget is None:
        lam[:] = policy.lam if policy.lam is not None else policy.schedule.lam_at(pd.Series(local), policy.timezone)
        for value in np.unique(lam):
            rows = lam == value
            choice[rows] = rule.choose(quality[prompts[rows]], cost[prompts[rows]], float(value), weights[prompts[rows]])
    else:
        controller = BudgetController(policy.budget, rule)
        at_grid = cost_at_grid(rule, quality, cost, weights)  # (P, G): priced once per distinct prompt
        minutes = local.floor("min")
        starts = np.flatnonzero(np.r_[True, minutes[1:] != minutes[:-1]])
        ends = np.r_[starts[1:], len(order)]
        next_update = None
        for start, end in zip(starts, ends):
            when = minutes[start]
            if next_update is None or when >= next_update:
                controller.update(when)
                next_update = when + pd.Timedelta(seconds=update_seconds)
            rows = np.arange(start, end)
            p = prompts[rows]
            lam[rows] = controller.lam
            choice[rows] = rule.choose(quality[p], cost[p], controller.lam, weights[p])
            controller.observe_priced(when, at_grid[p])
            controller.charge(when, float(_charged(log, order[rows], choice[rows]).sum()), float(cost[p, choice[rows]].sum()))
        trace = controller.trace
        budget_usd = policy.budget.daily_usd if budget_usd is None else budget_usd
    requests = pd.DataFrame({"log_row": order, "prompt": prompts, "time": local, "lam": lam, "model": np.asarray(log.candidates)[choice],
                             "charged_usd": _charged(log, order, choice), "predicted_cost_usd": cost[prompts, choice],
                             "predicted_quality": quality[prompts, choice]})
    days = _day_table(log, order, local, prompts, requests, rule, budget_usd)
    return ReplayResult(requests, days, pd.DataFrame(trace, columns=["time", "lam", "target"]))


def _day_table(log: ScoredLog, order, local, prompts, requests: pd.DataFrame, rule: Policy, budget_usd: float | None) -> pd.DataFrame:
    """Per local day: spend and quality of the replay, and of the best constant λ in hindsight (most quality whose
    charged spend that day fits the budget)."""
    day = local.normalize()
    choices = rule.choose_each(log.quality[prompts], log.cost[prompts], GRID, log.weights[prompts])  # (G, R)
    spend_at = np.stack([_charged(log, order, c) for c in choices], axis=1)  # (R, G)
    quality_at = np.take_along_axis(log.quality[prompts], choices.T, axis=1)  # (R, G)
    rows = []
    for when in pd.unique(day):
        mask = np.asarray(day == when)
        spend_grid, quality_grid = spend_at[mask].sum(axis=0), quality_at[mask].mean(axis=0)
        row = {"day": pd.Timestamp(when).date().isoformat(), "requests": int(mask.sum()),
               "spend_usd": float(requests["charged_usd"][mask].sum()),
               "quality": float(requests["predicted_quality"][mask].mean()),
               "mean_lam": float(requests["lam"][mask].mean())}
        if budget_usd is not None:
            fits = spend_grid <= budget_usd * (1 + 1e-9)
            best = int(np.argmax(np.where(fits, quality_grid, -np.inf))) if fits.any() else len(GRID) - 1
            row.update(budget_usd=budget_usd, spend_vs_budget=row["spend_usd"] / budget_usd - 1,
                       hindsight_lam=float(GRID[best]), hindsight_spend_usd=float(spend_grid[best]),
                       hindsight_quality=float(quality_grid[best]),
                       quality_vs_hindsight=row["quality"] / float(quality_grid[best]))
        rows.append(row)
    return pd.DataFrame(rows)
