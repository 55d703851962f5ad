"""The budget controller replayed on the bundled request log: does each day end near its budget, at how much of the
quality the best constant λ in hindsight would give, and does it hold under a traffic surge?

    .venv/bin/python benchmarks/budget_controller.py [--share 0.6] [--surge-day 2026-10-14] [--surge-hour 10]

The daily budget is --share of what sending every request to the dearest model would cost per day (predicted). The
same controller code the server runs (router_core.live.budget) is fed minute by minute in simulated time; each
request is charged the cost of the model picked (the log's measured cost where it called that model, else predicted).
The surge copies every request of two hours of one weekday twice (3× traffic); beside the controller, the constant λ
fitted on the seven days before that day (its mean spend per day equals the budget) is replayed on the same day.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from results_io import Table, command_line, write_result

ROOT = Path(__file__).resolve().parent.parent

from router_core import Router  # noqa: E402
from router_core.demo.views import scored_log_path  # noqa: E402
from router_core.live.budget import GRID  # noqa: E402
from router_core.live.policy import Budget, LambdaPolicy  # noqa: E402
from router_core.traffic.replay import replay  # noqa: E402
from router_core.traffic.scored_log import ScoredLog  # noqa: E402
from router_core.traffic.simulate import prepare_log  # noqa: E402


def with_surge(log: ScoredLog, day: str, hour: int, hours: int = 2, factor: int = 3) -> ScoredLog:
    """The log with every request of `hours` hours from `hour` on `day` (UTC) sent `factor` times."""
    times = pd.DatetimeIndex(log.timestamps)
    window = np.flatnonzero((times.normalize() == pd.Timestamp(day, tz="UTC")) & (times.hour >= hour) & (times.hour < hour + hours))
    extra = np.concatenate([window] * (factor - 1))
    offsets = np.concatenate([np.full(len(window), k + 1) for k in range(factor - 1)])
    index = np.r_[np.arange(len(times)), extra]
    stamps = pd.Series(np.r_[times, times[extra] + pd.to_timedelta(offsets, unit="s")])

    def pick(series):
        return None if series is None else series.iloc[index].reset_index(drop=True)

    return dataclasses.replace(log, timestamps=stamps, prompt_index=log.prompt_index[index], logged_model=pick(log.logged_model),
                               logged_cost=pick(log.logged_cost),
                               groups={k: pick(v) for k, v in log.groups.items()} if log.groups else None)


def constant_fitted_before(log: ScoredLog, rule, budget: float, day: str) -> float:
    """The constant λ whose charged spend per day over the seven days before `day` is closest to the budget from below."""
    days = pd.DatetimeIndex(log.timestamps).normalize()
    start = pd.Timestamp(day, tz="UTC") - pd.Timedelta(days=7)
    mask = np.asarray((days >= start) & (days < pd.Timestamp(day, tz="UTC")))
    before = dataclasses.replace(log, timestamps=log.timestamps[mask].reset_index(drop=True), prompt_index=log.prompt_index[mask],
                                 logged_model=None if log.logged_model is None else log.logged_model[mask].reset_index(drop=True),
                                 logged_cost=None if log.logged_cost is None else log.logged_cost[mask].reset_index(drop=True),
                                 groups=None)
    for lam in GRID:  # spend falls as λ rises: the first λ within budget keeps the most quality
        spend = replay(before, LambdaPolicy(lam=float(lam)), rule).days()["spend_usd"].mean()
        if spend <= budget:
            return float(lam)
    return 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--share", type=float, default=0.6, help="daily budget as a share of the all-to-dearest cost (default 0.6)")
    parser.add_argument("--surge-day", default="2026-10-14", help="the weekday (UTC) with the surge (default 2026-10-14)")
    parser.add_argument("--surge-hour", type=int, default=10, help="first hour of the two-hour surge (default 10)")
    args = parser.parse_args()
    started = time.perf_counter()
    router = Router.load(ROOT / "sample_data" / "router")
    log = prepare_log(router, scored_log_path(router, router.catalog, ROOT / "sample_data") or ROOT / "sample_data" / "request_log.csv",
                      router.catalog).scored
    rule = router.policy("linear")
    dearest = int(np.argmax(log.cost.mean(axis=0)))
    budget = args.share * float(log.cost[log.prompt_index, dearest].sum()) / log.n_days
    policy = LambdaPolicy(budget=Budget(budget))
    columns = ["day", "requests", "budget_usd", "spend_usd", "spend_vs_budget", "quality", "hindsight_quality",
               "quality_vs_hindsight", "mean_lam", "hindsight_lam"]

    plain = replay(log, policy, rule).days()
    surged_log = with_surge(log, args.surge_day, args.surge_hour)
    surged = replay(surged_log, policy, rule).days()
    constant_lam = constant_fitted_before(log, rule, budget, args.surge_day)
    constant = replay(surged_log, LambdaPolicy(lam=constant_lam), rule).days(budget)
    unsurged = replay(log, LambdaPolicy(lam=constant_lam), rule).days(budget)
    unsurged_row = unsurged[unsurged.day == args.surge_day].iloc[0]
    surge_row = surged[surged.day == args.surge_day].iloc[0]
    constant_row = constant[constant.day == args.surge_day].iloc[0]
    comparison = pd.DataFrame([
        {"on the surge day": "budget controller", "requests": surge_row.requests, "spend_usd": surge_row.spend_usd,
         "spend_vs_budget": surge_row.spend_vs_budget, "quality": surge_row.quality},
        {"on the surge day": f"constant λ = {constant_lam:g} (fitted on the 7 days before)", "requests": constant_row.requests,
         "spend_usd": constant_row.spend_usd, "spend_vs_budget": constant_row.spend_vs_budget, "quality": constant_row.quality},
        {"on the surge day": f"constant λ = {constant_lam:g}, the same day without the surge", "requests": unsurged_row.requests,
         "spend_usd": unsurged_row.spend_usd, "spend_vs_budget": unsurged_row.spend_vs_budget, "quality": unsurged_row.quality},
    ]).set_index("on the surge day")

    reachable = plain[plain.hindsight_lam > 0]  # days where even λ = 0 spends less than the budget cannot reach it
    notes = [f"daily budget ${budget:.4f} = {args.share:.0%} of sending every request to {log.candidates[dearest]} (predicted); "
             f"{len(log.prompt_index):,} requests over {log.n_days:.0f} days",
             f"days the budget can be reached (the best constant λ in hindsight is above 0): {len(reachable)} of {len(plain)}; "
             f"on them spend is within {reachable.spend_vs_budget.abs().max():.1%} of the budget (target ±5%)",
             f"days where even λ = 0 (every request to its best predicted model) spends less than the budget: "
             f"{len(plain) - len(reachable)} (weekends); there the controller should sit at λ = 0",
             f"lowest quality against the best constant λ in hindsight: {plain.quality_vs_hindsight.min():.3f} (target ≥ 0.98)",
             f"surge: {args.surge_day} {args.surge_hour:02d}:00–{args.surge_hour + 2:02d}:00 UTC at 3× traffic"]
    for title, frame in (("Bundled request log", plain[columns]), ("With a 3× surge for two hours", surged[columns]),
                         ("The surge day", comparison)):
        print(f"\n## {title}")
        print(frame.to_string(float_format=lambda x: f"{x:.4f}"))
    for line in notes:
        print(f"- {line}")
    write_result("budget_controller", command_line(),
                 [Table("Budget controller on the bundled request log (per day)", plain[columns].set_index("day")),
                  Table("The same log with a 3× surge for two hours", surged[columns].set_index("day")),
                  Table("The surge day: the controller against the constant λ fitted on the week before", comparison)],
                 notes=notes, seconds=time.perf_counter() - started,
                 summary={"days": len(plain), "reachable days": len(reachable),
                          "worst spend gap on reachable days": float(reachable.spend_vs_budget.abs().max()),
                          "lowest quality vs hindsight": float(plain.quality_vs_hindsight.min()),
                          "surge day spend vs budget, controller": float(surge_row.spend_vs_budget),
                          "surge day spend vs budget, constant λ": float(constant_row.spend_vs_budget)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
