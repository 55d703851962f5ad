"""The Monitoring page's queries: the per-minute rollup the writer keeps gives what a pass over every decision gives."""
import time

import numpy as np
import pandas as pd
import pytest

from router_core.decisionlog import queries as mon
from router_core.decisionlog.store import DecisionLog


def write_log(folder, n=500, seed=0):
    rng = np.random.default_rng(seed)
    log = DecisionLog(folder)
    start = time.time() - 3 * 86400
    for i in range(n):
        ok = rng.random() > 0.05
        log.append({"ts": start + i * 517.3, "request_id": f"r{i}", "status": "ok" if ok else "error",
                    "model": str(rng.choice(["a", "b", "c"])) if ok else None, "lam": float(rng.random()),
                    "lam_source": str(rng.choice(["fixed", "budget"])), "top_k": int(rng.choice([1, 1, 2])),
                    "cost_usd": float(rng.random() / 100) if ok else None, "team": str(rng.choice(["x", "y"])),
                    "predicted_cost_usd": float(rng.random() / 100) if rng.random() > 0.1 else None,
                    "routing_ms": float(rng.uniform(1, 50)),
                    "fallback_reason": "b failed (boom)" if rng.random() < 0.1 else None})
        if i % 97 == 0:
            time.sleep(0.06)  # several writer batches, each adding to the rollup
    log.close()


@pytest.mark.parametrize("width", [60, 3600, 86400])
def test_the_rollup_gives_what_a_scan_of_every_decision_gives(tmp_path, width):
    write_log(tmp_path)
    connection = mon.connect(tmp_path)
    assert mon._rollup_complete(connection)
    first, last, n = mon.span(connection)
    for filters in (mon.Filters(), mon.Filters(start=first + 86400), mon.Filters(model="b")):
        rolled = mon.scan(connection, filters, width).sort_values(["t", "model", "source"]).reset_index(drop=True)
        scanned = mon.scan(connection, filters, width, prefer_rollup=False).sort_values(["t", "model", "source"]).reset_index(drop=True)
        if filters.start is not None:  # the rollup starts at a whole minute: drop the partial first minute from both
            rolled, scanned = rolled[rolled.t >= first + 86400 + 60], scanned[scanned.t >= first + 86400 + 60]
        columns = ["t", "model", "source", "requests", "failed", "fell_back", "spend_usd", "lam_sum", "lam_n", "priced",
                   "priced_predicted", "priced_measured"]
        pd.testing.assert_frame_equal(rolled[columns].reset_index(drop=True), scanned[columns].reset_index(drop=True),
                                      check_dtype=False, atol=1e-9)
    totals = mon.over_time(mon.scan(connection, mon.Filters(), 86400))
    assert totals.requests.sum() == n == 500


def test_a_team_filter_reads_the_decisions_and_counts_only_that_team(tmp_path):
    import sqlite3

    write_log(tmp_path, n=200, seed=1)
    connection = mon.connect(tmp_path)
    expected = sqlite3.connect(tmp_path / "decisions.sqlite").execute("SELECT COUNT(*) FROM decisions WHERE team = 'x'").fetchone()[0]
    assert mon.over_time(mon.scan(connection, mon.Filters(team="x"), 3600)).requests.sum() == expected
    latency = mon.routing_latency(connection, mon.Filters())
    assert 1 <= latency["p50_ms"] <= 50 * 1.06 and latency["p50_ms"] <= latency["p99_ms"]


def test_the_summary_says_when_no_decision_was_timed_and_small_budgets_keep_their_digits(tmp_path):
    from router_core.decisionlog.schema import DecisionRecord
    from router_core.live.policy import Budget, LambdaPolicy

    log = DecisionLog(tmp_path)
    for i in range(3):  # decisions handed to LiteLLM by a replay: no routing time recorded
        log.append(DecisionRecord(f"r{i}", lam=0.5, called=["a"], model="a", status="routed",
                                  candidates={"a": {"predicted_quality": 0.5, "predicted_cost_usd": 0.001, "utility": 0.1}}))
    log.close()
    lines, _ = mon.summarise(mon.read_since(tmp_path, None))
    assert lines[-1] == "routing latency: not recorded for these decisions" and "nan" not in " ".join(lines)
    assert LambdaPolicy(budget=Budget(0.001)).describe().startswith("budget $0.001/day")  # never "$0.00/day"


def test_a_fresh_log_gets_second_buckets_every_empty_bucket_and_whole_hours(tmp_path):
    from router_core.dashboard_views.monitoring import mix_over_time_figure, traffic_figure, weights_figure

    log = DecisionLog(tmp_path)
    now = time.time()
    for i, offset in enumerate([0.0, 1.0, 2.0, 250.0, 251.0, 299.0]):  # a server five minutes old, quiet in between
        log.append({"ts": now - 300 + offset, "request_id": f"r{i}", "status": "ok", "model": "a", "lam": 0.2,
                    "lam_source": "budget", "top_k": 1, "cost_usd": 0.01, "routing_ms": 3.0})
    log.close()
    connection = mon.connect(tmp_path)
    first, last, n = mon.span(connection)
    width = mon.bucket_seconds(first, last + 1)
    assert width == 5  # seconds for a log minutes old, never one bucket for everything
    scanned = mon.scan(connection, mon.Filters(start=first), width)
    buckets = mon.over_time(scanned)
    assert buckets.requests.sum() == n == 6
    steps = buckets["time"].diff().dropna().dt.total_seconds()
    assert (steps == width).all() and (buckets.requests == 0).sum() > 40  # the quiet stretch is there, as zeros
    traffic = traffic_figure(buckets)
    assert traffic.data[0].width == width * 900 and traffic.layout.xaxis.tickformat == "%H:%M:%S"
    mix = mix_over_time_figure(mon.model_mix(scanned))
    assert all(trace.type == "bar" for trace in mix.data)  # bars: nothing drawn across empty buckets
    weights = weights_figure(pd.DataFrame({"model": ["a", "a"], "hour": [17, 18], "weight": [0.5, 0.7]}))
    assert weights.layout.xaxis.type == "category"  # hour 17, never 17.6
