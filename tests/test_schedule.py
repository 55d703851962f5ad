"""Schedule replay, totals and the daily-budget solve, on a hand-made scored log."""
import dataclasses

import pandas as pd
import pytest

from router_core.errors import RouterInputError
from router_core.live.schedule import Schedule
from router_core.policy.rule import Policy
from router_core.traffic.replay import fit_constant_lam as fit_daily_budget
from router_core.traffic.replay import replay as run_replay
from router_core.traffic.report import summarise, totals


def replay(log, schedule, policy, timezone=None):
    """The replay engine's per-request table, as these tests read it."""
    return run_replay(log, schedule, policy, timezone).requests


def test_business_hours_preset_matches_the_seed():
    table = Schedule.business_hours().table
    assert table.shape == (7, 24)
    assert table[0, 9] == table[4, 17] == 0.05
    assert table[2, 18] == table[2, 22] == 0.2
    assert table[6, 23] == table[6, 0] == table[0, 8] == 0.5


def test_schedule_refuses_values_outside_unit_interval():
    hourly = [0.1] * 24
    hourly[13] = 1.4
    with pytest.raises(RouterInputError, match=r"λ at Mon 13:00 is 1.4"):
        Schedule.daily(hourly)
    with pytest.raises(RouterInputError, match="needs 24 hourly"):
        Schedule.daily([0.1] * 23)


def test_replay_uses_each_requests_hour(log, policy):
    # 10:00 -> λ 0.05: utilities big 0.855-0.05=0.805 vs small 0.836 (easy) / 0.38 (hard): easy->small, hard->big.
    # 03:00 -> λ 0.5: big 0.45-0.5=-0.05, small 0.44 / 0.2: both -> small.
    schedule = Schedule.daily([0.05 if 9 <= h < 18 else 0.5 for h in range(24)])
    requests = replay(log, schedule, policy)
    assert requests["model"].tolist() == ["small", "big", "small", "small"] * 2
    assert requests["lam"].tolist() == [0.05, 0.05, 0.5, 0.5] * 2
    by_hour = summarise(requests, "hour")
    assert by_hour.loc[10, "requests"] == 4 and by_hour.loc[3, "requests"] == 4
    assert by_hour.loc[10, "predicted_cost_usd"] == pytest.approx(2 * (0.001 + 0.01))
    assert by_hour.loc[3, "predicted_cost_usd"] == pytest.approx(4 * 0.001)
    assert by_hour.loc[10, "share_big"] == 0.5 and by_hour.loc[3, "share_small"] == 1.0
    by_day = summarise(requests, "day")
    assert len(by_day) == 2 and by_day["predicted_cost_usd"].iloc[0] == pytest.approx(0.013)


def test_totals_compare_with_everything_to_the_best_model(log, policy):
    requests = replay(log, Schedule.daily([0.05 if 9 <= h < 18 else 0.5 for h in range(24)]), policy)
    result = totals(log, requests)
    # per day: routed $0.013 (0.001 + 0.01 + 0.001 + 0.001), all-to-big $0.04; month = 30.44 days
    assert result["days"] == 2 and result["best_model"] == "big"
    assert result["cost_per_day_usd"] == pytest.approx(0.013)
    assert result["monthly_cost_usd"] == pytest.approx(0.013 * 30.44)
    assert result["savings_vs_best_fraction"] == pytest.approx(1 - 0.013 / 0.04)
    # predicted quality: routed mean of (0.88, 0.90, 0.88, 0.40) = 0.765; all-to-big 0.90
    assert result["predicted_quality"] == pytest.approx(0.765)
    assert result["predicted_quality_change"] == pytest.approx(-0.135)
    assert result["predicted_cost_usd"] == pytest.approx(2 * 0.013)
    assert result["logged_cost_usd"] == pytest.approx(0.08) and result["logged_cost_per_day_usd"] == pytest.approx(0.04)
    assert result["logged_monthly_cost_usd"] == pytest.approx(0.04 * 30.44)
    assert result["savings_vs_logged_usd"] == pytest.approx((0.04 - 0.013) * 30.44)
    assert result["savings_vs_logged_fraction"] == pytest.approx(1 - 0.013 / 0.04)
    assert result["cost_per_1k_requests_usd"] == pytest.approx(1000 * 0.026 / 8)
    assert result["logged_cost_per_1k_requests_usd"] == pytest.approx(10.0)


def test_cost_calibration_compares_the_logged_calls_with_their_predicted_cost(log):
    from router_core.traffic.report import cost_calibration

    calibration = cost_calibration(log)  # every request called big: predicted $0.01 each, logged $0.01 each
    assert calibration == {"requests": 8, "measured_usd": pytest.approx(0.08), "predicted_usd": pytest.approx(0.08),
                           "ratio": pytest.approx(1.0)}
    dearer = dataclasses.replace(log, logged_cost=pd.Series([0.015] * 4 + [None] * 4),
                                 logged_model=pd.Series(["big", "big", "other", "big"] * 2))
    assert cost_calibration(dearer) == {"requests": 3, "measured_usd": pytest.approx(0.045),
                                        "predicted_usd": pytest.approx(0.03), "ratio": pytest.approx(1.5)}
    assert cost_calibration(dataclasses.replace(log, logged_model=None)) is None


def test_the_budget_starts_below_what_the_log_spent_per_day(log):
    from router_core.traffic.report import suggested_daily_budget

    assert suggested_daily_budget(log) == round(0.7 * 0.04, 2)  # the log spent $0.04 a day
    assert suggested_daily_budget(dataclasses.replace(log, logged_cost=None)) == round(0.04 / 3, 2)


def test_a_constant_lambda_that_beats_a_schedule_is_found(log, policy):
    from router_core.traffic.report import better_constant

    # A schedule that pays for big on the easy prompt by day and saves on the hard one at night does worse than a
    # constant λ that keeps the hard prompt on big: same cost, more quality.
    wasteful = replay(log, Schedule.daily([0.0 if 9 <= h < 18 else 0.9 for h in range(24)]), policy)
    result = totals(log, wasteful)
    found = better_constant(log, policy, result["cost_per_day_usd"], result["predicted_quality"])
    assert found is not None and found["predicted_quality"] > result["predicted_quality"]
    assert found["cost_per_day_usd"] <= result["cost_per_day_usd"]
    at_zero = totals(log, replay(log, Schedule.constant(0.0), policy))
    assert better_constant(log, policy, at_zero["cost_per_day_usd"], at_zero["predicted_quality"]) is None


def test_budget_solve_finds_the_smallest_lam_within_budget(log, policy):
    # Per day at λ=0: all big = $0.04. The easy prompt moves to small once 0.9-λ(0.9+1) < 0.88(1-λ) -> λ > 0.02/1.02;
    # the hard one once 0.9-1.9λ < 0.4(1-λ) -> λ > 0.5/1.5 = 1/3.
    assert fit_daily_budget(log, 0.05, policy) == 0.0
    assert fit_daily_budget(log, 0.022, policy) == pytest.approx(0.02 / 1.02, abs=2e-4)  # $0.022 = 2 × (0.001 + 0.01)
    assert fit_daily_budget(log, 0.004, policy) == pytest.approx(1 / 3, abs=2e-4)
    with pytest.raises(RouterInputError, match=r"below the cheapest routing of this traffic \(\$0.004/day at λ = 1"):
        fit_daily_budget(log, 0.001, policy)
    with pytest.raises(RouterInputError, match="daily budget must be a positive USD amount"):
        fit_daily_budget(log, 0.0, policy)


def test_replay_decides_with_the_policy_it_is_given(log, policy):
    # The exponential policy with α = 0 ignores cost: every request goes to the higher predicted quality (big).
    requests = replay(log, Schedule.constant(0.9), Policy(policy.cost_scale, "exponential", alpha=0.0))
    assert set(requests["model"]) == {"big"}
    # The linear policy at λ = 0.9 sends everything to small.
    assert set(replay(log, Schedule.constant(0.9), policy)["model"]) == {"small"}


def test_a_policy_name_is_refused_because_it_could_disagree_with_the_router(log):
    with pytest.raises(RouterInputError, match=r"expected a decision rule such as router.policy\('linear'\), got 'linear'"):
        replay(log, Schedule.business_hours(), "linear")
    with pytest.raises(RouterInputError, match="expected a decision rule"):
        fit_daily_budget(log, 0.01, "linear")


def test_logged_cost_is_summed_per_hour_of_day(log):
    from router_core.traffic.report import logged_cost_by_hour

    hourly = logged_cost_by_hour(log)
    assert len(hourly) == 24
    assert hourly[10] == pytest.approx(0.04) and hourly[3] == pytest.approx(0.04)  # 4 requests × $0.01 each hour
    assert hourly.drop([3, 10]).sum() == 0


def test_a_schedule_survives_its_policy_export_and_bad_files_are_named():
    from router_core.live.policy import LambdaPolicy, read_policy

    weekday = [0.05 if 9 <= h < 18 else 0.5 for h in range(24)]
    schedule = Schedule(tuple(tuple(weekday) if d < 5 else tuple([0.7] * 24) for d in range(7)), "weekdays")
    exported = LambdaPolicy(schedule=schedule, timezone="Europe/Berlin", name="weekdays").to_yaml()
    again = read_policy(exported, "policy.yaml")
    assert again.schedule.table.tolist() == schedule.table.tolist() and again.timezone == "Europe/Berlin"
    assert read_policy(exported.replace("weekdays:", "weekdays:", 1)).name == "weekdays"
    legacy = "name: night\nlambda_by_weekday_hour: [" + ", ".join(["0.3"] * 24) + "]"  # what older dashboards exported
    assert read_policy(legacy).schedule == Schedule.daily([0.3] * 24, "night")
    for text, expected in [("a: [", "mine.yaml: not a readable YAML file"),
                           ("- 1", "mine.yaml: expected a mapping with one of lambda, schedule, budget, fitted_budget"),
                           ("lambda_by_weekday_hour: {Mon: [0.1]}", "must name each of mon, tue"),
                           ("lambda_by_weekday_hour: [" + ", ".join(["2"] * 24) + "]", r"lambda_by_weekday_hour\[0\] must be a number in \[0, 1\], got 2"),
                           ("lambda_by_weekday_hour: [" + ", ".join(["x"] * 24) + "]", r"must be a number in \[0, 1\], got 'x'")]:
        with pytest.raises(RouterInputError, match=expected):
            read_policy(text, "mine.yaml")


def test_a_catalog_survives_its_litellm_export():
    import yaml

    from router_core.data.catalog import (
        Candidate,
        Catalog,
        catalog_from_litellm_config,
        catalog_to_litellm_config,
    )

    catalog = Catalog((Candidate("big", "openai/gpt-4o", 2.5, 10.0, 400), Candidate("small", "openai/gpt-4o-mini", 0.15, 0.6, 250)))
    again = catalog_from_litellm_config(yaml.safe_load(catalog_to_litellm_config(catalog)))
    assert [(c.name, c.provider_model_id, c.typical_output_tokens) for c in again.candidates] == \
        [("big", "openai/gpt-4o", 400), ("small", "openai/gpt-4o-mini", 250)]
    assert [(c.input_usd_per_1m, c.output_usd_per_1m) for c in again.candidates] == [pytest.approx((2.5, 10.0)), pytest.approx((0.15, 0.6))]


def test_a_schedules_hours_follow_the_chosen_time_zone(log, policy):
    from router_core.live.schedule import check_timezone

    # The log's 10:00 UTC requests are 12:00 in Berlin (summer time) and 03:00 UTC is 05:00 there.
    night_saver = Schedule.daily([0.9 if h < 8 else 0.0 for h in range(24)])
    in_utc = replay(log, night_saver, policy)
    in_berlin = replay(log, night_saver, policy, "Europe/Berlin")
    assert in_utc["lam"].tolist() == [0.0, 0.0, 0.9, 0.9] * 2
    assert in_berlin["lam"].tolist() == [0.0, 0.0, 0.9, 0.9] * 2  # 05:00 Berlin is still night
    early_saver = Schedule.daily([0.9 if h in (3, 4) else 0.0 for h in range(24)])
    assert replay(log, early_saver, policy)["lam"].tolist() == [0.0, 0.0, 0.9, 0.9] * 2
    assert replay(log, early_saver, policy, "Europe/Berlin")["lam"].tolist() == [0.0] * 8  # 03:00 UTC is 05:00 there
    assert summarise(replay(log, early_saver, policy, "Europe/Berlin"), "hour", "Europe/Berlin").index.tolist() == [5, 12]
    with pytest.raises(RouterInputError, match="time zone 'Mars/Olympus': not an IANA time zone name"):
        check_timezone("Mars/Olympus")


def test_costs_break_down_by_team_with_the_logged_spend(log, policy):
    from router_core.traffic.report import by_group

    requests = replay(log, Schedule.constant(0.0), policy)  # every request to big: $0.01 predicted, $0.01 logged
    requests["logged_cost_usd"] = log.logged_cost.to_numpy()
    requests["team"] = ["search", "search", "ads", None] * 2
    table = by_group(requests, "team", log.n_days)
    assert table.index.tolist() == ["search", "(not given)", "ads"] and table["requests"].tolist() == [4, 2, 2]
    assert table.loc["search", "monthly cost (predicted)"] == pytest.approx(0.04 / 2 * 30.44)
    assert table.loc["ads", "logged spend per month (measured)"] == pytest.approx(0.02 / 2 * 30.44)
    assert table["saving per month"].tolist() == pytest.approx([0.0, 0.0, 0.0])


def test_money_reads_as_people_write_it():
    from router_core.units import spend_change, usd

    assert usd(-1.77) == "-$1.77" and usd(-0.11) == "-$0.11" and usd(1234.5) == "$1,234.50" and usd(0.00123) == "$0.00123"
    assert spend_change(0.48) == "-48% spend" and spend_change(-0.95) == "+95% spend"


def test_calibration_scales_each_model_by_what_the_log_measured_for_it():
    import numpy as np

    from router_core.traffic.report import calibrated, calibration_factors
    from router_core.traffic.scored_log import ScoredLog

    n = 30
    cost = np.array([[0.01, 0.001]])  # one prompt: "big" predicted $0.01, "small" $0.001
    logged_model = pd.Series(["big"] * 20 + ["small"] * 5 + [None] * 5)
    logged_cost = pd.Series([0.02] * 20 + [0.001] * 5 + [0.5] * 5)  # big costs twice its prediction; small as predicted
    log = ScoredLog(pd.Series(pd.date_range("2026-10-05", periods=n, freq="h", tz="UTC")), np.zeros(n, dtype=int),
                    ["big", "small"], np.array([[0.9, 0.5]]), cost, np.array([[0.5, 0.5]]), logged_model, logged_cost)
    factors = calibration_factors(log)
    pooled = (20 * 0.02 + 5 * 0.001) / (20 * 0.01 + 5 * 0.001)
    assert factors["big"] == pytest.approx(2.0)  # 20 calls: its own factor
    assert factors["small"] == pytest.approx(pooled)  # 5 calls, under ten: the log's pooled factor
    np.testing.assert_allclose(calibrated(log, factors).cost, [[0.02, 0.001 * pooled]])
    assert calibration_factors(dataclasses.replace(log, logged_cost=None)) is None


def test_simulate_and_replay_agree_on_a_budget_on_the_same_log(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    log = root / "sample_data" / "request_log.csv"

    def run(*args):
        done = subprocess.run([sys.executable, "-m", "router_core", *args], cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    simulated = run("simulate", "--log", str(log), "--schedule", "budget:1", "--out", str(tmp_path / "sim.csv"))
    replayed = run("replay", "--log", str(log), "--policy", "budget:1", "--out", str(tmp_path / "rep.csv"))
    assert "Predicted costs calibrated to the log" in simulated and "Predicted costs calibrated to the log" in replayed
    sim, rep = pd.read_csv(tmp_path / "sim.csv"), pd.read_csv(tmp_path / "rep.csv")
    assert len(sim) == len(rep) == 6071
    assert sim["lam"].to_numpy() == pytest.approx(rep["lam"].to_numpy())  # one controller, one calibration: same λ
