"""simulate(): a log replayed under a schedule spec, on a hand-made scored log and on a tiny fitted router; and one
check that every consumer of scores decides the same way for the same scores, λ and policy."""

import os

import numpy as np
import pandas as pd
import pytest

from router_core.config import RouterConfig
from router_core.data.labelled import labelled_from_frame
from router_core.errors import RouterInputError
from router_core.live.schedule import Schedule
from router_core.policy.curves import curve_from_scores
from router_core.router import Router
from router_core.traffic.replay import fit_constant_lam, replay
from router_core.traffic.scored_log import ScoredLog
from router_core.traffic.simulate import ScheduleReport, prepare_log, simulate


def test_constant_zero_sends_everything_to_the_best_model_and_constant_one_to_the_cheapest(log, policy):
    quality_first = simulate(None, log, "constant:0", policy=policy)
    assert isinstance(quality_first, ScheduleReport) and quality_first.constant_lam == 0.0
    assert quality_first.requests["model"].tolist() == ["big"] * 8
    assert quality_first.totals["predicted_cost_usd"] == pytest.approx(0.08)
    assert quality_first.totals["cost_per_day_usd"] == pytest.approx(0.04)
    assert quality_first.totals["predicted_quality"] == pytest.approx(0.90)

    cost_first = simulate(None, log, "constant:1", policy=policy)
    assert cost_first.requests["model"].tolist() == ["small"] * 8
    assert cost_first.totals["predicted_cost_usd"] == pytest.approx(0.008)
    assert cost_first.totals["predicted_quality"] == pytest.approx((0.88 + 0.40) / 2)
    assert cost_first.model_mix.to_dict() == {"big": 0.0, "small": 1.0}
    # what the log itself paid does not depend on the schedule
    assert cost_first.totals["logged_cost_usd"] == quality_first.totals["logged_cost_usd"] == pytest.approx(0.08)


def test_business_hours_is_the_seed_preset(log, policy):
    report = simulate(None, log, " Business-Hours ", policy=policy)
    assert report.schedule == Schedule.business_hours() and report.constant_lam is None
    expected = replay(log, Schedule.business_hours(), policy).requests
    pd.testing.assert_frame_equal(report.requests, expected.drop(columns=["time", "prompt", "charged_usd"]).assign(
        logged_model=log.logged_model.to_numpy(), logged_cost_usd=log.logged_cost.to_numpy(dtype=float)))
    assert report.by_hour.loc[10, "requests"] == 4 and report.by_day["requests"].tolist() == [4, 4]


def test_a_fitted_budget_uses_the_lam_fit_constant_lam_finds(log, policy):
    report = simulate(None, log, "fitted-budget:0.022", policy=policy)
    assert report.constant_lam == fit_constant_lam(log, 0.022, policy)
    assert report.constant_lam == pytest.approx(0.02 / 1.02, abs=2e-4)
    assert report.daily_usd == 0.022
    assert report.totals["cost_per_day_usd"] <= 0.022
    assert report.requests["model"].tolist() == ["small", "big"] * 4  # the easy prompt moved to small, the hard one stayed
    assert simulate(None, log, "fitted-budget:$0.022", policy=policy).constant_lam == report.constant_lam
    assert report.summary_lines()[0] == ("λ policy: daily budget $0.022 (constant λ=0.020), decision rule linear: the lowest "
                                         "λ whose spend fits the budget (charged at the log's measured cost where it called "
                                         "that model, else predicted)")


def test_a_budget_spec_runs_the_live_controller_as_a_policy_file_does(log, policy):
    from router_core.live.policy import read_policy

    report = simulate(None, log, "budget:0.022", policy=policy)
    assert report.lambda_policy == read_policy("budget: {daily_usd: 0.022}") and report.daily_usd == 0.022
    assert report.trace is not None and len(report.trace) > 0  # the controller updated λ as it went
    assert report.summary_lines()[0] == "λ policy: budget $0.022/day, λ in [0, 1] (UTC), decision rule linear"
    replayed = replay(log, read_policy("budget: {daily_usd: 0.022}"), policy).requests
    assert report.requests["lam"].tolist() == replayed["lam"].tolist()


@pytest.mark.parametrize("spec, reason", [
    ("weekly", "policy 'weekly': not understood; use business-hours, constant:LAM"),
    ("constant:", "policy 'constant:': not understood; use business-hours, constant:LAM"),
    ("business-hours:2", "policy 'business-hours:2': not understood"),
    ("constant:abc", "policy 'constant:abc': 'abc' is not a number"),
    ("constant:1.5", "policy 'constant:1.5': λ in [0, 1] must be a number in [0, 1], got 1.5"),
    ("budget:nan", "policy 'budget:nan': 'nan' is not a number"),
    ("budget:-3", "policy 'budget:-3': USD per day must be a number in [0, 1e+12], got -3.0"),
    ("fitted-budget:0", "the daily budget must be a positive USD amount"),
    ("fitted-budget:0.001", "below the cheapest routing of this traffic"),
    ("missing.yaml", "missing.yaml: cannot be read"),
    (None, "policy None: expected a λ policy, a Schedule, a λ or one of business-hours"),
])
def test_a_bad_spec_is_refused_naming_it(log, policy, spec, reason):
    with pytest.raises(RouterInputError) as caught:
        simulate(None, log, spec, policy=policy)
    assert reason in str(caught.value)


def test_write_csv_writes_what_to_frame_holds_and_leaves_nothing_half_written(log, policy, tmp_path, monkeypatch):
    report = simulate(None, log, "business-hours", policy=policy)
    path = report.write_csv(tmp_path / "out" / "report.csv")
    frame = report.to_frame()
    assert path.read_text() == frame.to_csv(index=False)
    back = pd.read_csv(path)
    assert list(back.columns) == ["timestamp", "lam", "model", "predicted_cost_usd", "predicted_quality", "logged_model", "logged_cost_usd"]
    assert back["model"].tolist() == frame["model"].tolist()
    np.testing.assert_allclose(back["predicted_cost_usd"], frame["predicted_cost_usd"])
    hourly = report.write_csv(tmp_path / "out" / "hourly.csv", by="hour")
    assert hourly.read_text() == report.to_frame("hour").to_csv(index=False)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["hourly.csv", "report.csv"]
    with pytest.raises(RouterInputError, match="report view 'week': choose one of request, hour, day"):
        report.to_frame("week")

    class HalfWritten:  # the disk fills after the first bytes of the temporary file
        def __init__(self, handle, *args, **kwargs):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            os.close(self.handle)

        def write(self, text):
            os.write(self.handle, text[:12].encode())
            raise OSError("disk full")

    before = path.read_text()
    monkeypatch.setattr("router_core.files.os.fdopen", HalfWritten)
    with pytest.raises(OSError, match="disk full"):
        report.write_csv(path)
    assert path.read_text() == before  # the old file stays whole, and no temporary file is left behind
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["hourly.csv", "report.csv"]


def test_summary_lines_say_what_is_predicted_and_what_is_measured(log, policy):
    lines = simulate(None, log, "constant:0", policy=policy).summary_lines()
    text = "\n".join(lines)
    assert lines[:2] == ["λ policy: constant λ = 0, decision rule linear",
                         "Log: 8 requests from a scored log over 2 days; 2 distinct prompts scored"]
    assert "Cost, predicted by the router: $0.08 for the log, $0.04 per day, $1.22 per month" in text
    assert "Quality, predicted by the router: 0.900 mean per request" in text
    assert "Model mix, predicted: big 100%, small 0%" in text
    assert "Spend recorded in the log, measured: $0.08 for the log, $0.04 per day, $1.22 per month (8 requests with a cost)" in text
    assert "Model mix recorded in the log, measured: big 100%" in text
    assert "Savings vs the logged spend (measured spend minus predicted cost): $0 per month" in text
    assert "Cost calibration on 8 logged calls to a candidate: measured $0.08, predicted $0.08 (measured ÷ predicted = 1.00)" in text
    unlogged = ScoredLog(log.timestamps, log.prompt_index, log.candidates, log.quality, log.cost, log.weights)
    assert not any("measured" in line for line in simulate(None, unlogged, "constant:0", policy=policy).summary_lines())


def test_without_a_router_a_policy_name_or_a_log_to_score_is_refused(log, policy):
    with pytest.raises(RouterInputError, match="a router is needed to make the 'linear' policy"):
        simulate(None, log, "constant:0")
    with pytest.raises(RouterInputError, match="a router is needed to score a request log"):
        simulate(None, pd.DataFrame({"timestamp": ["2026-10-05T10:00Z"], "prompt": ["hi"]}), "constant:0", policy=policy)
    with pytest.raises(RouterInputError, match="the log must be a file path, its bytes, a table, a RequestLog or a ScoredLog, got int"):
        simulate(None, 42, "constant:0", policy=policy)


# ---------------------------------------------------------------- with a tiny fitted router

QUERIES = ["prove theorem step by step", "hello how are you", "write a python function that sorts list", "thanks"]


@pytest.fixture(scope="module")
def trained(tiny_encoder):
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from conftest import CANDIDATES, make_tiny_table

    from router_core.data.catalog import Candidate, Catalog

    catalog = Catalog(tuple(Candidate(n, pid, pin, pout, 200) for n, (pid, pin, pout) in CANDIDATES.items()))
    data = labelled_from_frame(make_tiny_table(40), catalog)
    router = Router(RouterConfig.of(epochs=40, seed=3)).fit(data, catalog, encoder=tiny_encoder, show_bar=False)
    return router, data, catalog


def write_log(path, rows):
    pd.DataFrame(rows, columns=["created_at", "prompt", "model", "spend"]).to_csv(path, index=False)
    return path


def test_a_log_file_is_read_scored_and_replayed_like_route_would(trained, tmp_path):
    router, _, catalog = trained
    rows = [(f"2026-10-05T{h:02d}:00:00Z", QUERIES[h % 4], "premium", 0.002) for h in range(12)]
    rows.insert(1, ("not a time", "hello", "premium", 0.002))
    path = write_log(tmp_path / "log.csv", rows)
    quality_first = simulate(router, path, "constant:0")
    assert quality_first.requests["model"].tolist() == [d.candidate for d in router.route([r[1] for r in rows if r[0] != "not a time"], 0.0)]
    assert quality_first.n_prompts == 4 and quality_first.totals["requests"] == 12
    assert quality_first.n_rejected == 1 and "timestamp not understood" in quality_first.first_rejection
    assert quality_first.source.endswith("log.csv")
    assert simulate(router, path, "constant:0", name="last week's traffic").source == "last week's traffic"
    assert quality_first.totals["logged_cost_usd"] == pytest.approx(12 * 0.002)  # the rejected row's spend is not counted
    assert any(line.startswith("Unusable rows left out: 1") for line in quality_first.summary_lines())
    assert set(simulate(router, path, "constant:1").requests["model"]) == {"budget"}
    # prices are the caller's: make the cheapest model the dearest and λ = 1 no longer picks it
    dear = catalog.with_prices("budget", input_usd_per_1m=100.0, output_usd_per_1m=100.0)
    assert "budget" not in set(simulate(router, path, "constant:1", catalog=dear).requests["model"])


def test_a_table_with_other_column_names_is_mapped(trained):
    router, _, _ = trained
    frame = pd.DataFrame({"when": ["2026-10-05T10:00Z", "2026-10-05T11:00Z"], "body": QUERIES[:2]})
    with pytest.raises(RouterInputError, match="no column for timestamp, prompt"):
        simulate(router, frame, "business-hours")
    report = simulate(router, frame, "business-hours", mapping={"timestamp": "when", "prompt": "body"}, name="mine.csv")
    assert report.source == "mine.csv" and report.totals["requests"] == 2 and report.policy == "linear"
    assert "logged_cost_usd" not in report.totals and report.logged_cost_by_hour is None


def test_a_score_log_file_gives_the_same_report_as_the_log_itself(trained, tmp_path):
    from router_core.traffic.log_scoring import score_log

    router, _, _ = trained
    path = write_log(tmp_path / "log.csv", [(f"2026-10-0{5 + h // 24}T{h % 24:02d}:30:00Z", QUERIES[h % 4], "mid", 0.001)
                                            for h in range(48)])
    score_log(path, router, tmp_path / "log.parquet")
    from_csv = simulate(router, path, "business-hours")
    from_parquet = simulate(router, tmp_path / "log.parquet", "business-hours")
    assert from_parquet.source == "log.parquet (scored by score-log from log.csv)"
    assert from_parquet.requests["model"].tolist() == from_csv.requests["model"].tolist()
    assert from_parquet.totals["monthly_cost_usd"] == pytest.approx(from_csv.totals["monthly_cost_usd"])
    assert from_parquet.totals["logged_cost_usd"] == pytest.approx(48 * 0.001)
    from_bytes = simulate(router, (tmp_path / "log.parquet").read_bytes(), "business-hours", name="upload.parquet")
    assert from_bytes.requests["model"].tolist() == from_csv.requests["model"].tolist()


def test_every_consumer_makes_the_same_decision_for_the_same_scores_lam_and_policy(trained):
    """Router.decide and .sweep, evaluate's curve shares, schedule.replay and simulate agree, for every policy."""
    router, data, _ = trained
    scores = router.scores(data.queries)
    lams = np.linspace(0.0, 1.0, 11)
    n, rows = len(data.queries), np.arange(len(data.queries))
    # One request per labelled query, an hour apart: the replay routes each at its hour's λ.
    times = pd.Series(pd.date_range("2026-10-05", periods=n, freq="h", tz="UTC"))
    scored = ScoredLog(times, rows, list(scores.candidates), scores.quality, scores.cost, scores.weights)
    from_text = prepare_log(router, pd.DataFrame({"timestamp": times, "prompt": data.queries}))
    for name in ("linear", "exponential", "paper"):
        policy = router.policy(name)
        sweep = router.sweep(scores, lams, policy)
        curve = curve_from_scores(scores.quality, scores.cost, data, lams, policy, weights=scores.weights)
        switches = 0
        for t, lam in enumerate(lams):
            decided = np.array([scores.candidates.index(d.candidate) for d in router.decide(scores, lam, policy=policy)])
            switches += int((decided != sweep.choices[0]).sum())
            np.testing.assert_array_equal(sweep.choices[t], decided, err_msg=f"{name} λ={lam}: sweep vs decide")
            shares = np.bincount(decided, minlength=len(scores.candidates)) / n
            np.testing.assert_allclose(curve.loc[t, [f"share_{c}" for c in data.candidates]].to_numpy(dtype=float), shares,
                                       err_msg=f"{name} λ={lam}: evaluate's shares")
            names = np.asarray(scores.candidates)[decided].tolist()
            assert replay(scored, Schedule.constant(lam), policy).requests["model"].tolist() == names, f"{name} λ={lam}: replay"
            assert simulate(router, from_text, f"constant:{lam}", policy=name).requests["model"].tolist() == names, \
                f"{name} λ={lam}: simulate from the texts"
        assert switches > 0, f"{name}: λ never changed a decision, so the comparison above proved little"


def test_simulate_reads_the_schedule_on_the_chosen_clocks_and_refuses_an_unknown_zone(log, policy):
    tokyo = simulate(None, log, "business-hours", policy=policy, timezone="Asia/Tokyo")
    assert tokyo.summary_lines()[0] == "λ policy: schedule business hours (seed) (Asia/Tokyo), decision rule linear"
    assert sorted(tokyo.by_hour.index) == [12, 19]  # 03:00 and 10:00 UTC on Tokyo's clocks
    with pytest.raises(RouterInputError, match="time zone 'Tokyo': not an IANA time zone name"):
        simulate(None, log, "business-hours", policy=policy, timezone="Tokyo")
