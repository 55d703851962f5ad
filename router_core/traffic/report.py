"""What a replayed log comes to: cost, predicted quality and model mix per hour, day, user and team; savings against
sending everything to the best model and against what the log itself spent; constant λ values to compare with."""
from __future__ import annotations

import numpy as np
import pandas as pd

from router_core.live.schedule import local_times
from router_core.policy.rule import Policy
from router_core.traffic.replay import choices_at
from router_core.traffic.scored_log import ScoredLog
from router_core.units import DAYS_PER_MONTH


def constant_frontier(log: ScoredLog, policy: Policy, lams=None) -> pd.DataFrame:
    """Predicted cost per day and mean quality of every request routed at one λ, for each λ of a grid (default 0,
    0.05, …, 1): what a schedule is compared with. Per distinct prompt, weighted by how often the log sends it."""
    lams = np.linspace(0.0, 1.0, 21) if lams is None else np.asarray(lams, dtype=float)
    requests_per_prompt = np.bincount(log.prompt_index, minlength=len(log.cost))  # (P,)
    rows = []
    for lam in lams:
        choice = choices_at(log, float(lam), policy)  # (P,)
        prompts = np.arange(len(log.cost))
        rows.append({"lam": float(lam),
                     "cost_per_day_usd": float(requests_per_prompt @ log.cost[prompts, choice] / log.n_days),
                     "predicted_quality": float(requests_per_prompt @ log.quality[prompts, choice] / requests_per_prompt.sum())})
    return pd.DataFrame(rows)


def better_constant(log: ScoredLog, policy: Policy, cost_per_day_usd: float, quality: float, margin: float = 1e-3,
                    frontier: pd.DataFrame | None = None) -> dict | None:
    """The constant λ with the most predicted quality at no more than a schedule's predicted cost per day, if it beats
    the schedule's quality by more than `margin`; None when the schedule is as good as any constant λ.

    Args:
        frontier: constant_frontier(log, policy), when the caller keeps it across schedules.
    """
    frontier = constant_frontier(log, policy) if frontier is None else frontier
    affordable = frontier[frontier["cost_per_day_usd"] <= cost_per_day_usd * (1 + 1e-9)]
    if affordable.empty:
        return None
    best = affordable.loc[affordable["predicted_quality"].idxmax()]
    return best.to_dict() if best["predicted_quality"] > quality + margin else None


def summarise(requests: pd.DataFrame, by: str = "hour", timezone: str = "UTC") -> pd.DataFrame:
    """Per hour of day (summed over days) or per calendar day, on the clocks of `timezone`: requests, predicted cost,
    mean predicted quality, model mix."""
    times = local_times(requests["timestamp"], timezone)
    key = times.hour if by == "hour" else times.normalize().date if by == "day" else None
    if key is None:
        raise ValueError(f"by must be 'hour' or 'day', got {by!r}")
    grouped = requests.groupby(np.asarray(key))
    table = pd.DataFrame({"requests": grouped.size(), "predicted_cost_usd": grouped["predicted_cost_usd"].sum(),
                          "predicted_quality": grouped["predicted_quality"].mean(), "mean_lam": grouped["lam"].mean()})
    mix = pd.crosstab(np.asarray(key), requests["model"].to_numpy(), normalize="index")
    table = table.join(mix.add_prefix("share_"))
    table.index.name = by
    return table


def logged_cost_by_hour(log: ScoredLog, timezone: str = "UTC") -> pd.Series | None:
    """USD the log itself recorded per hour of day, summed over days (measured); None when it has no cost column."""
    if not has_logged_cost(log):
        return None
    hours = local_times(log.timestamps, timezone).hour
    return log.logged_cost.groupby(np.asarray(hours)).sum().reindex(range(24), fill_value=0.0)


def all_to_best(log: ScoredLog) -> tuple[str, np.ndarray, np.ndarray]:
    """The candidate with the highest mean predicted quality over the log, and its per-request cost and quality."""
    best = int(log.quality[log.prompt_index].mean(axis=0).argmax())
    return log.candidates[best], log.cost[log.prompt_index, best], log.quality[log.prompt_index, best]


def has_logged_cost(log: ScoredLog) -> bool:
    return log.logged_cost is not None and bool(log.logged_cost.notna().any())


def totals(log: ScoredLog, requests: pd.DataFrame) -> dict:
    """Projected monthly cost and savings against sending everything to the best model (all predicted), plus what the
    log itself recorded (`logged_*`, measured) when it has a cost column."""
    best_name, best_cost, best_quality = all_to_best(log)
    total = float(requests["predicted_cost_usd"].sum())
    per_day = total / log.n_days
    best_per_day = best_cost.sum() / log.n_days
    result = {"days": log.n_days, "requests": len(requests), "predicted_cost_usd": total, "cost_per_day_usd": per_day,
              "monthly_cost_usd": per_day * DAYS_PER_MONTH, "best_model": best_name,
              "best_model_monthly_cost_usd": best_per_day * DAYS_PER_MONTH,
              "savings_vs_best_usd": (best_per_day - per_day) * DAYS_PER_MONTH,
              "savings_vs_best_fraction": 1.0 - per_day / best_per_day if best_per_day > 0 else np.nan,
              "predicted_quality": float(requests["predicted_quality"].mean()),
              "best_model_predicted_quality": float(best_quality.mean())}
    result["predicted_quality_change"] = result["predicted_quality"] - result["best_model_predicted_quality"]
    result["cost_per_1k_requests_usd"] = 1000 * total / max(len(requests), 1)
    if has_logged_cost(log):
        logged = float(log.logged_cost.sum())
        logged_monthly = logged / log.n_days * DAYS_PER_MONTH
        result.update(logged_cost_usd=logged, logged_cost_per_day_usd=logged / log.n_days,
                      logged_monthly_cost_usd=logged_monthly,
                      logged_requests_with_cost=int(log.logged_cost.notna().sum()),
                      logged_cost_per_1k_requests_usd=1000 * logged / max(int(log.logged_cost.notna().sum()), 1),
                      savings_vs_logged_usd=logged_monthly - result["monthly_cost_usd"],
                      savings_vs_logged_fraction=1.0 - result["monthly_cost_usd"] / logged_monthly if logged_monthly > 0 else np.nan)
    return result


def by_group(requests: pd.DataFrame, column: str, n_days: float) -> pd.DataFrame:
    """Per user or team (a column of a report's requests): requests, predicted cost per month under the schedule,
    the logged spend per month (measured, where the log has costs), the saving, and mean predicted quality."""
    groups = requests[column].fillna("(not given)")
    grouped = requests.groupby(groups.to_numpy())
    table = pd.DataFrame({"requests": grouped.size(),
                          "monthly cost (predicted)": grouped["predicted_cost_usd"].sum() / n_days * DAYS_PER_MONTH,
                          "quality (predicted)": grouped["predicted_quality"].mean()})
    if "logged_cost_usd" in requests and requests["logged_cost_usd"].notna().any():
        table["logged spend per month (measured)"] = grouped["logged_cost_usd"].sum() / n_days * DAYS_PER_MONTH
        table["saving per month"] = table["logged spend per month (measured)"] - table["monthly cost (predicted)"]
    table.index.name = column
    return table.sort_index().sort_values("requests", ascending=False, kind="stable")  # ties in name order


def cost_calibration(log: ScoredLog) -> dict | None:
    """How the router's predicted cost compares with what the log measured, on the requests whose logged model is a
    candidate and whose cost is recorded: the predicted cost of the model that was called against its logged cost.

    Returns:
        None when no request qualifies, else {"requests", "measured_usd", "predicted_usd", "ratio"} (measured / predicted).
    """
    if not has_logged_cost(log) or log.logged_model is None:
        return None
    column = {name: j for j, name in enumerate(log.candidates)}
    called = log.logged_model.map(column)
    usable = (called.notna() & log.logged_cost.notna()).to_numpy()
    if not usable.any():
        return None
    rows = log.prompt_index[usable]
    predicted = float(log.cost[rows, called[usable].astype(int).to_numpy()].sum())
    measured = float(log.logged_cost[usable].sum())
    return {"requests": int(usable.sum()), "measured_usd": measured, "predicted_usd": predicted,
            "ratio": measured / predicted if predicted > 0 else np.nan}


SUGGESTED_SHARE = 0.7  # a starting budget below what the log spent, so a fitted λ and the controller have work to do


MIN_CALIBRATION_CALLS = 10  # below this many logged calls a model takes the log's pooled factor


def calibration_factors(log: ScoredLog) -> dict[str, float] | None:
    """Per candidate, measured ÷ predicted cost over the log's calls to it (where the log records model and cost): the
    factor that turns the router's predicted cost into what this traffic really pays. A model with fewer than
    MIN_CALIBRATION_CALLS calls takes the pooled factor. None when the log has no calls to compare."""
    pooled = cost_calibration(log)
    if pooled is None or not np.isfinite(pooled["ratio"]) or pooled["ratio"] <= 0:
        return None
    column = {name: j for j, name in enumerate(log.candidates)}
    called = log.logged_model.map(column)
    usable = (called.notna() & log.logged_cost.notna()).to_numpy()
    index = called[usable].astype(int).to_numpy()
    predicted = log.cost[log.prompt_index[usable], index]
    measured = log.logged_cost[usable].to_numpy(dtype=float)
    factors = {}
    for j, name in enumerate(log.candidates):
        mine = index == j
        total = predicted[mine].sum()
        factors[name] = float(measured[mine].sum() / total) if mine.sum() >= MIN_CALIBRATION_CALLS and total > 0 \
            else float(pooled["ratio"])
    return factors


def calibrated(log: ScoredLog, factors: dict[str, float]) -> ScoredLog:
    """The log with every predicted cost multiplied by its model's factor."""
    import dataclasses

    scale = np.array([factors.get(name, 1.0) for name in log.candidates])
    return dataclasses.replace(log, cost=log.cost * scale)


def suggested_daily_budget(log: ScoredLog) -> float:
    """A starting budget: 70% of what the log spent per day (measured) where it records costs, else a third of what
    sending every request to its dearest model would cost per day (predicted)."""
    if has_logged_cost(log):
        return round(SUGGESTED_SHARE * float(log.logged_cost.sum()) / log.n_days, 2)
    return round(float(log.cost.max(axis=1)[log.prompt_index].sum() / log.n_days / 3), 2)


def suggested_budget_text(log: ScoredLog) -> str:
    """Where the starting budget comes from, for the page beside it."""
    if has_logged_cost(log):
        return (f"Starts at {SUGGESTED_SHARE:.0%} of what this log spent per day (measured), so the fitted λ and the "
                "controller have something to save; type your own.")
    return ("Starts at a third of sending every request to the dearest model (predicted; the log records no costs); "
            "type your own.")


