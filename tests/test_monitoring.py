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
