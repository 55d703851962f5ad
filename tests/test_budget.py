"""λ policies from a file, the budget controller and the replay harness, on generated logs."""
import dataclasses

import numpy as np
import pandas as pd
import pytest

from router_core.errors import RouterInputError
from router_core.live.budget import BudgetController
from router_core.live.policy import Budget, LambdaPolicy, read_policy
from router_core.policy.rule import CostScale, Policy
from router_core.traffic.replay import replay
from router_core.traffic.scored_log import ScoredLog

CANDIDATES = ["premium", "mid", "budget"]


def test_the_minimal_policy_forms_parse():
    assert read_policy("lambda: 0.3").lam == 0.3 and read_policy("lambda: 0.3").source == "fixed"
    business = read_policy("schedule: business-hours")
    assert business.source == "schedule" and business.schedule.table[0, 10] == 0.05
    hours = read_policy("schedule: {hours: [" + ", ".join(["0.1"] * 12 + ["0.9"] * 12) + "]}\ntimezone: Europe/Berlin")
    assert hours.schedule.table[3, 13] == 0.9 and hours.timezone == "Europe/Berlin"
    days = "schedule:\n  weekdays:\n" + "".join(f"    {d}: [{', '.join([str(i / 10)] * 24)}]\n"
                                                  for i, d in enumerate(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]))
    assert read_policy(days).schedule.table[6, 0] == 0.6
    budget = read_policy("budget: {daily_usd: 50, floor: 0.1, ceiling: 0.8}").budget
    assert (budget.daily_usd, budget.floor, budget.ceiling) == (50.0, 0.1, 0.8)


@pytest.mark.parametrize("text, says", [
    ("lambda: 1.5", "lambda must be a number in [0, 1]"),
    ("lambda: 0.3\nbudget: {daily_usd: 5}", "needs exactly one of"),
    ("schedule: weekends", "unknown preset 'weekends'"),
    ("schedule: {hours: [0.1, 0.2]}", "list of 24"),
    ("budget: {daily_usd: -5}", "daily_usd must be a number"),
    ("budget: {daily_usd: 5, floor: 0.9, ceiling: 0.1}", "floor 0.9 is above ceiling 0.1"),
    ("lambda: 0.3\ntimezone: Mars/Olympus", "Mars/Olympus"),
    ("lamda: 0.3", "unknown key(s) lamda"),
    ("{", "not a readable YAML file"),
])
def test_a_broken_policy_file_is_refused_naming_the_file_and_the_fault(text, says):
    with pytest.raises(RouterInputError) as error:
        read_policy(text, "policy.yaml")
    assert str(error.value).startswith("policy.yaml") and says in str(error.value)


def synthetic_log(days: int = 6, per_hour=None, seed: int = 0, surge: tuple | None = None) -> ScoredLog:
    """Requests with a daytime peak; three models whose predicted cost and quality fall together."""
    rng = np.random.default_rng(seed)
    per_hour = per_hour if per_hour is not None else np.r_[np.full(8, 4), np.full(10, 30), np.full(6, 10)]
    stamps = []
    for day in range(days):
        for hour, n in enumerate(per_hour):
            n = n * (3 if surge and (day, hour) in surge else 1)
            start = pd.Timestamp("2026-11-02", tz="UTC") + pd.Timedelta(days=day, hours=hour)
            stamps += list(start + pd.to_timedelta(np.sort(rng.uniform(0, 3600, n)), unit="s"))
    n_prompts = 400
    difficulty = rng.uniform(0, 1, n_prompts)
    quality = np.column_stack([0.95 - 0.1 * difficulty, 0.9 - 0.4 * difficulty, 0.85 - 0.7 * difficulty])
    cost = np.column_stack([np.full(n_prompts, 0.01), np.full(n_prompts, 0.003), np.full(n_prompts, 0.0005)])
    cost = cost * rng.uniform(0.8, 1.2, (n_prompts, 3))
    return ScoredLog(pd.Series(stamps), rng.integers(0, n_prompts, len(stamps)), CANDIDATES, quality, cost, np.full((n_prompts, 3), 1 / 3))


def rule(log: ScoredLog) -> Policy:
    return Policy(CostScale.from_costs(log.cost))


def test_the_controller_ends_each_day_near_its_budget_and_near_the_hindsight_quality():
    log = synthetic_log()
    premium_per_day = log.cost[log.prompt_index, 0].sum() / log.n_days
    result = replay(log, LambdaPolicy(budget=Budget(0.5 * premium_per_day)), rule(log))
    days = result.days().iloc[1:]  # the first day has no profile to expect traffic from
    assert (days.spend_vs_budget.abs() <= 0.05).all(), days
    assert (days.quality_vs_hindsight >= 0.98).all(), days
    assert result.trace.lam.between(0, 1).all() and len(result.trace) > 1000  # an update per simulated minute


def test_under_a_surge_the_controller_holds_the_day_while_a_constant_lambda_overspends():
    calm = synthetic_log()
    budget = 0.5 * calm.cost[calm.prompt_index, 0].sum() / calm.n_days
    surged = synthetic_log(surge={(5, 11), (5, 12)})
    controlled = replay(surged, LambdaPolicy(budget=Budget(budget)), rule(surged)).days().iloc[5]
    # the constant λ that spent the budget on the calm days
    lams = np.linspace(0, 1, 41)
    spend = [replay(calm, LambdaPolicy(lam=float(x)), rule(calm)).days().spend_usd.iloc[:5].mean() for x in lams]
    constant_lam = float(lams[np.argmax(np.array(spend) <= budget)])
    constant = replay(surged, LambdaPolicy(lam=constant_lam), rule(surged)).days(budget).iloc[5]
    assert abs(controlled.spend_vs_budget) <= 0.05
    assert constant.spend_vs_budget > 0.10


def test_a_restarted_controller_rebuilds_the_same_lambda_from_what_it_is_told_again():
    log = synthetic_log(days=2)
    policy = rule(log)
    budget = Budget(0.4 * log.cost[log.prompt_index, 0].sum() / log.n_days)
    times = pd.DatetimeIndex(log.timestamps)

    def run(controller, rows):
        for i in rows:
            p = log.prompt_index[i]
            controller.observe(times[i], log.quality[p], log.cost[p])
            controller.charge(times[i], float(log.cost[p, 1]), float(log.cost[p, 1]))
        return controller.update(times[rows[-1]])

    whole = run(BudgetController(budget, policy), np.arange(len(times)))
    again = run(BudgetController(budget, policy), np.arange(len(times)))  # state is only what it was told
    assert whole == pytest.approx(again)


def test_budget_bounds_hold():
    log = synthetic_log(days=2)
    tight = replay(log, LambdaPolicy(budget=Budget(1e-6, floor=0.2, ceiling=0.7)), rule(log))
    assert tight.requests.lam.between(0.2, 0.7).all() and tight.requests.lam.max() == pytest.approx(0.7)
    assert dataclasses.replace(Budget(5.0), smoothing=1.0).smoothing == 1.0
